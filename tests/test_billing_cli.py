"""The ledger and the month-end tick as an operator drives them, on the real
Redis (the embedded one serves only ``subcycle demo``)."""

from __future__ import annotations

import json
import threading

import pytest
import redis

from subcycle.bootstrap import App, build
from subcycle.cli import main
from subcycle.settings import Settings
from tests.support import cancellation, purchase, run
from tests.test_billing import month_end


@pytest.fixture
def real_app(cli_env: redis.Redis) -> App:
    return build(Settings(), client=cli_env)


def test_the_ledger_of_a_month_not_closed_is_refused_with_exit_1(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["charges", "--period", "2026-06", "--csv"]) == 1
    captured = capsys.readouterr()
    assert "period_not_closed" in captured.err
    assert captured.out == ""


def test_a_malformed_period_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["charges", "--period", "2026-6"]) == 2
    assert "--period" in capsys.readouterr().err


def test_charges_json_lists_subscription_phone_period_and_amount(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1", phone="090-1234-5678"), month_end("2026-06"))
    assert main(["charges", "--period", "2026-06", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"subscription_id": "S1", "phone": "+819012345678", "period": "2026-06", "amount_jpy": 550}
    ]


def test_charges_csv_has_a_header_line_for_the_carriers_billing_batch(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1"), purchase("S2", fee=330), month_end("2026-06"))
    assert main(["charges", "--period", "2026-06", "--csv"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header == "subscription_id,phone,period,amount_jpy"
    assert sorted(rows) == ["S1,+819012345678,2026-06,550", "S2,+819012345678,2026-06,330"]


def test_the_charges_table_shows_the_total(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1"), purchase("S2", fee=330), month_end("2026-06"))
    assert main(["charges", "--period", "2026-06"]) == 0
    out = capsys.readouterr().out
    assert "2 charge(s)" in out
    assert "¥880" in out


def test_the_license_page_shows_the_last_billed_period(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1"), cancellation("S1", "2026-06-10T09:00:00+09:00"))
    run(real_app, month_end("2026-06"), month_end("2026-07"))
    assert main(["license", "S1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["last_billed_period"] == "2026-06"


def test_tick_month_end_in_a_script_returns_once_the_close_is_enqueued(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1"))
    assert main(["tick", "month-end", "--now", "2026-07-01T00:00:00+09:00"]) == 0
    assert "closing 2026-06" in capsys.readouterr().out
    run(real_app)
    assert main(["charges", "--period", "2026-06", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_tick_month_end_no_wait_enqueues_the_close_and_a_second_tick_finds_nothing_to_close(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1"))
    assert main(["tick", "month-end", "--now", "2026-07-01T00:00:00+09:00", "--no-wait"]) == 0
    assert "closing 2026-06" in capsys.readouterr().out
    run(real_app)
    assert main(["tick", "month-end", "--now", "2026-07-01T00:00:00+09:00"]) == 0
    assert "nothing to close" in capsys.readouterr().out


def test_tick_month_end_waits_until_the_close_has_finished(
    real_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    run(real_app, purchase("S1"))
    codes: list[int] = []
    argv = ["tick", "month-end", "--now", "2026-07-01T00:00:00+09:00", "--wait", "--timeout", "30"]
    operator = threading.Thread(target=lambda: codes.append(main(argv)))
    operator.start()
    while real_app.store.billing.status("2026-06") is None and operator.is_alive():
        run(real_app)  # the workers pick the close up whenever it arrives
    run(real_app)
    operator.join(timeout=30)
    assert codes == [0]
    assert "closed 2026-06: 1 charge(s)" in capsys.readouterr().out

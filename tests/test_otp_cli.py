"""``subcycle otp verify|status`` as the login page drives them (real Redis:
the embedded one serves only the demo)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from events import JST
from subcycle.bootstrap import App, build
from subcycle.cli import main
from subcycle.settings import Settings
from tests.conftest import Clock
from tests.otp_support import SECRET, ask, customer, last_code, otp
from tests.support import PHONE


@pytest.fixture
def cli_app(cli_env: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> App:
    """The CLI's environment, and an app on the same keys to set the scene."""
    monkeypatch.setenv("SUBCYCLE_OTP_SECRET", SECRET)
    settings = Settings(otp_secret=SecretStr(SECRET))
    # The CLI reads the system clock: the scene is set at the real now.
    app = build(settings, client=cli_env, clock=lambda: datetime.now(JST))
    customer(app)
    return app


def _ask_now(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    ask(app, Clock(datetime.now(JST)))
    capsys.readouterr()  # the scene's own log lines are not the command's output


def test_verify_prints_ok_alone_on_the_first_line_and_exits_0(
    cli_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    _ask_now(cli_app, capsys)

    code = main(["otp", "verify", "--phone", "090-1234-5678", "--code", last_code(cli_app)])

    assert code == 0
    assert capsys.readouterr().out.splitlines()[0] == "ok"


def test_verify_of_a_wrong_code_prints_invalid_code_and_exits_1(
    cli_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    _ask_now(cli_app, capsys)
    wrong = f"{(int(last_code(cli_app)) + 1) % 1_000_000:06d}"

    code = main(["otp", "verify", "--phone", PHONE, "--code", wrong])

    assert code == 1
    assert capsys.readouterr().out.splitlines()[0] == "invalid_code"


@pytest.mark.parametrize("bad", ["12345", "12345x", "１２３４５６"])
def test_a_code_that_is_not_six_ascii_digits_is_a_usage_error_and_not_counted(
    cli_app: App, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    _ask_now(cli_app, capsys)

    code = main(["otp", "verify", "--phone", PHONE, "--code", bad])

    assert code == 2
    assert "--code" in capsys.readouterr().err
    assert otp(cli_app).codes.state(PHONE).wrong == 0


def test_a_voip_number_is_a_usage_error(cli_app: App, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["otp", "verify", "--phone", "050-1234-5678", "--code", "123456"]) == 2
    assert "--phone" in capsys.readouterr().err


def test_verify_without_a_server_secret_fails_clearly(
    cli_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUBCYCLE_OTP_SECRET")
    monkeypatch.setenv("SUBCYCLE_OTP_SECRET_FILE", "")

    assert main(["otp", "verify", "--phone", PHONE, "--code", "123456"]) == 1
    assert "SUBCYCLE_OTP_SECRET" in capsys.readouterr().err


def test_status_prints_where_the_number_stands(
    cli_app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["otp", "status", "--phone", PHONE]) == 0
    before = capsys.readouterr().out.splitlines()[0]
    _ask_now(cli_app, capsys)

    assert main(["otp", "status", "--phone", PHONE, "--history"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (before, out[0]) == ("none", "code_sent")
    assert "sent" in out[1]
    assert "+09:00" in out[1]


def test_the_worker_refuses_the_otp_queue_without_a_server_secret(
    cli_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUBCYCLE_OTP_SECRET")
    monkeypatch.setenv("SUBCYCLE_OTP_SECRET_FILE", "")

    assert main(["worker", "--queues", "otp"]) == 1
    assert "SUBCYCLE_OTP_SECRET" in capsys.readouterr().err


def test_without_the_variable_a_development_secret_is_made_once_and_shared(
    cli_app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from subcycle.otp_config import otp_policy

    monkeypatch.delenv("SUBCYCLE_OTP_SECRET")
    monkeypatch.setenv("SUBCYCLE_OTP_SECRET_FILE", str(tmp_path / "otp-secret"))
    first, second = otp_policy(Settings()), otp_policy(Settings())
    assert first.secret_ok
    assert first.secret == second.secret
    assert (tmp_path / "otp-secret").stat().st_mode & 0o777 == 0o600

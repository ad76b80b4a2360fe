"""The CLI as a user drives it (SPEC section 9). Commands that talk to Redis
run against the real server: the embedded one serves only ``subcycle demo``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from subcycle.cli import main
from tests.conftest import real_redis_or_skip

PURCHASE = {
    "type": "SubscriptionPurchased",
    "event_id": "buy-1",
    "occurred_at": "2026-04-01T10:00:00+09:00",
    "subscription_id": "S1",
    "phone": "090-1234-5678",
    "product": "Mobile Security",
    "plan": "monthly",
    "starts_on": "2026-04-01",
    "monthly_fee_jpy": 550,
}
CANCEL = {
    "type": "CancellationRequested",
    "event_id": "cancel-1",
    "occurred_at": "2026-06-30T15:00:00Z",
    "subscription_id": "S1",
    "kind": "monthly_service",
}


@pytest.fixture
def real_env(cli_env: redis.Redis) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("SUBCYCLE_")}


def lines(*events: dict[str, object]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def queued(unique: str) -> int:
    client = real_redis_or_skip()
    return sum(int(client.llen(f"tq{unique}:{q}")) for q in ("lifecycle", "cancellations"))


def test_a_file_with_a_bad_line_enqueues_nothing_and_names_each_bad_line_and_field(
    real_env: dict[str, str], unique: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_phone = {**PURCHASE, "event_id": "buy-2", "subscription_id": "S2", "phone": "050-1234-5678"}
    naive = {**CANCEL, "event_id": "cancel-2", "occurred_at": "2026-06-30T15:00:00"}
    extra = {**CANCEL, "event_id": "cancel-3", "reason": "too expensive"}
    missing = {k: v for k, v in CANCEL.items() if k != "kind"} | {"event_id": "cancel-4"}
    unknown = {"type": "SubscriptionStolen", "event_id": "x", "occurred_at": "2026-06-30T15:00:00Z"}
    path = tmp_path / "events.jsonl"
    path.write_text(lines(PURCHASE, bad_phone, naive, extra, missing, unknown) + "{not json\n")
    assert main(["publish", str(path)]) == 1
    err = capsys.readouterr().err
    for expected in (
        "line 2: phone:",
        "line 3: occurred_at:",
        "line 4: reason: unknown field",
        "line 5: kind: field required",
        "line 6: type: unknown event type",
        "line 7: event: not valid JSON",
        "nothing enqueued",
    ):
        assert expected in err
    assert "Traceback" not in err
    assert queued(unique) == 0


def test_publish_from_stdin_enqueues_each_event_once(
    real_env: dict[str, str],
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(lines(PURCHASE, CANCEL, PURCHASE)))
    assert main(["publish", "-"]) == 0
    assert "enqueued 2 event(s); 1 duplicate(s) skipped" in capsys.readouterr().out
    assert queued(unique) == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines(PURCHASE)))
    assert main(["publish"]) == 0
    assert queued(unique) == 2


def test_a_reused_event_id_is_refused_at_publish(
    real_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(lines(PURCHASE, {**PURCHASE, "monthly_fee_jpy": 990}))
    assert main(["publish", str(path)]) == 1
    assert "line 2: event_id: event_id_reused" in capsys.readouterr().err


def test_an_id_published_before_with_another_payload_is_refused_naming_its_line(
    real_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(lines(PURCHASE))
    assert main(["publish", str(path)]) == 0
    path.write_text("\n" + lines(CANCEL, {**PURCHASE, "monthly_fee_jpy": 990}))
    assert main(["publish", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 3: event_id: event_id_reused" in err
    assert "nothing enqueued" in err


def test_publish_drain_and_license_cancel_a_monthly_subscription(
    real_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(lines(PURCHASE, CANCEL))
    assert main(["publish", str(path)]) == 0
    assert main(["drain"]) == 0
    # The cancellation may race its purchase and wait for it once: both count.
    assert "dead-lettered 0, refused 0" in capsys.readouterr().out
    assert main(["license", "S1", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["license_type"] == "Cancelled"
    assert view["service_until"] == "2026-07-31"
    assert view["cancelled_at"] == "2026-07-01T00:00:00+09:00"
    assert [h["type"] for h in view["history"]] == [
        "SubscriptionPurchased",
        "CancellationRequested",
    ]
    assert main(["license", "S1"]) == 0
    assert "Cancelled" in capsys.readouterr().out


def test_license_of_an_unknown_subscription_fails_with_the_reason(
    real_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["license", "NOPE"]) == 1
    assert "unknown_subscription" in capsys.readouterr().err


def test_the_embedded_redis_is_refused_outside_the_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUBCYCLE_REDIS_URL", "memory://")
    assert main(["license", "S1"]) == 2
    assert "memory://" in capsys.readouterr().err


def test_an_unreachable_redis_is_a_clear_error_not_a_fallback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["license", "S1", "--redis-url", "redis://127.0.0.1:1/0"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in err
    assert "Traceback" not in err


def test_a_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["license"])
    assert caught.value.code == 2


def test_schema_prints_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert "CancellationRequested" in json.loads(capsys.readouterr().out)["$defs"]


@pytest.mark.slow
def test_a_real_worker_process_consumes_what_publish_enqueued(
    real_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(lines(PURCHASE, CANCEL))
    env = {**os.environ, **real_env}
    cli = [sys.executable, "-m", "subcycle.cli"]
    subprocess.run([*cli, "publish", str(path)], env=env, check=True, capture_output=True)
    worker = subprocess.Popen(
        [*cli, "worker", "--processes", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        view: dict[str, object] = {}
        while time.monotonic() < deadline:
            shown = subprocess.run(
                [*cli, "license", "S1", "--json"], env=env, capture_output=True, text=True
            )
            if shown.returncode == 0:
                view = json.loads(shown.stdout)
                if view["license_type"] == "Cancelled":
                    break
            time.sleep(0.3)
        assert view.get("license_type") == "Cancelled"
        assert view.get("service_until") == "2026-07-31"
    finally:
        worker.terminate()
        worker.wait(timeout=30)

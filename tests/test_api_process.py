"""A real ``subcycle api`` process on a loopback port, driven by curl (a
client that is not Python), over the real Redis: what a point of sale, the
login page, the license page and the carrier's billing do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from subcycle.cli import main
from tests.otp_support import SECRET
from tests.processes import free_port, kill_group, wait_for
from tests.support import cancellation, purchase

pytestmark = pytest.mark.slow


def curl(url: str, *args: str, body: Any = None, key: str | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of one curl call."""
    argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code} %{content_type}", url, *args]
    if key is not None:
        argv += ["-H", f"Authorization: Bearer {key}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    done = subprocess.run(
        argv,
        input=None if body is None else (body if isinstance(body, str) else json.dumps(body)),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    text, _, tail = done.stdout.rpartition("\n")
    status, _, kind = tail.partition(" ")
    return int(status), kind, text


@pytest.fixture
def server(cli_env: redis.Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setenv("SUBCYCLE_OTP_SECRET", SECRET)
    port = free_port()
    log = (tmp_path / "api.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "subcycle.cli", "api", "--port", str(port)],
        env=dict(os.environ),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return curl(f"{url}/healthz")[0] == 200
        except subprocess.CalledProcessError:  # not listening yet
            return False

    try:
        wait_for(up, 30, poll=0.2)
    except TimeoutError:
        kill_group(proc)
        raise AssertionError((tmp_path / "api.log").read_text()[-3000:]) from None
    yield url
    kill_group(proc, signal.SIGTERM)
    # uvicorn finishes the requests in flight, then exits by the signal it got.
    assert proc.returncode in (0, -signal.SIGTERM), (tmp_path / "api.log").read_text()[-3000:]


def key(capsys: pytest.CaptureFixture[str], name: str, *scopes: str) -> str:
    capsys.readouterr()
    argv = ["api-keys", "create", name]
    for scope in scopes:
        argv += ["--scope", scope]
    assert main(argv) == 0
    return capsys.readouterr().out.strip()


def test_a_point_of_sale_publishes_over_http_and_gets_its_answers(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pos = key(capsys, "pos-shibuya", "events:SubscriptionPurchased")
    bought = purchase("SUB-H1", event_id="pos-h1").wire()

    assert curl(f"{server}/v1/events", body=bought, key=pos)[::2] == (
        202,
        '{"event_id":"pos-h1","status":"accepted"}',
    )
    assert json.loads(curl(f"{server}/v1/events", body=bought, key=pos)[2])["status"] == "duplicate"
    status, kind, text = curl(
        f"{server}/v1/events", body=purchase("SUB-H2", event_id="pos-h1").wire(), key=pos
    )
    assert (status, kind, json.loads(text)["type"]) == (
        409,
        "application/problem+json",
        "/problems/event_id_reused",
    )
    batch = [purchase(f"SUB-B{i}").wire() for i in range(3)]
    batch[1] |= {"monthly_fee_jpy": "550"}
    status, _, text = curl(f"{server}/v1/events/batch", body=batch, key=pos)
    assert status == 422
    assert [(e["index"], e["field"]) for e in json.loads(text)["errors"]] == [
        (1, "monthly_fee_jpy")
    ]
    cancel = cancellation("SUB-H1", "2026-06-30T12:00:00+09:00").wire()
    assert curl(f"{server}/v1/events", body=cancel, key=pos)[0] == 403
    assert curl(f"{server}/v1/events", body=bought)[0] == 401
    assert curl(f"{server}/v1/queues", key=pos)[0] == 403

    assert main(["api-keys", "revoke", "pos-shibuya"]) == 0
    assert curl(f"{server}/v1/events", body=bought, key=pos)[0] == 401


def test_the_login_and_license_pages_and_the_ledger_over_http(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = key(capsys, "upstream", "events:*")
    page = key(capsys, "pages", "otp", "subscriptions:read", "charges:read")
    now = time.time()
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now))
    events = [
        purchase("SUB-L1", event_id="pos-l1", starts_on="2026-04-01"),
        cancellation("SUB-L1", "2026-06-30T23:59:59+09:00", event_id="lp-l1"),
    ]
    for e in events:
        assert curl(f"{server}/v1/events", body=e.wire(), key=upstream)[0] == 202
    asked = {
        "type": "OtpRequested",
        "event_id": "login-l1",
        "occurred_at": at,
        "phone": "090-1234-5678",
        "channel": "sms",
    }
    assert curl(f"{server}/v1/events", body=asked, key=upstream)[0] == 202
    assert main(["drain", "--timeout", "60"]) == 0
    close = {
        "type": "BillingCycleClosed",
        "event_id": "close-2026-06",
        "occurred_at": "2026-07-01T00:00:00+09:00",
        "period": "2026-06",
    }
    assert curl(f"{server}/v1/events", body=close, key=upstream)[0] == 202
    assert main(["drain", "--timeout", "60"]) == 0
    capsys.readouterr()
    assert main(["outbox", "--phone", "090-1234-5678", "--json"]) == 0
    [sms] = json.loads(capsys.readouterr().out)
    code = "".join(ch for ch in sms["text"] if ch.isdigit())[:6]

    status, _, text = curl(f"{server}/v1/otp/status", body={"phone": "090-1234-5678"}, key=page)
    assert (status, json.loads(text)) == (200, {"status": "code_sent"})
    status, _, text = curl(
        f"{server}/v1/otp/verify", body={"phone": "090-1234-5678", "code": code}, key=page
    )
    assert (status, json.loads(text)) == (200, {"outcome": "ok"})
    status, _, text = curl(f"{server}/v1/subscriptions/SUB-L1", key=page)
    license_page = json.loads(text)
    assert (status, license_page["license_type"], license_page["service_until"]) == (
        200,
        "Cancelled",
        "2026-06-30",
    )
    status, kind, text = curl(
        f"{server}/v1/charges?period=2026-06", "-H", "Accept: text/csv", key=page
    )
    assert (status, kind.split(";")[0]) == (200, "text/csv")
    assert text.splitlines() == [
        "subscription_id,phone,period,amount_jpy",
        "SUB-L1,+819012345678,2026-06,550",
    ]


def test_sigterm_finishes_the_request_in_flight(
    cli_env: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pos = key(capsys, "pos-slow", "events:SubscriptionPurchased")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "subcycle.cli", "api", "--port", str(port)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return curl(f"{url}/healthz")[0] == 200
        except subprocess.CalledProcessError:
            return False

    wait_for(up, 30, poll=0.2)
    batch = json.dumps([purchase(f"SUB-S{i}").wire() for i in range(600)])
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--limit-rate", "60k"]
    argv += ["-H", f"Authorization: Bearer {pos}", "-H", "Content-Type: application/json"]
    slow = subprocess.Popen(
        [*argv, "--data-binary", "@-", f"{url}/v1/events/batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert slow.stdin is not None
    slow.stdin.write(batch)
    slow.stdin.close()
    time.sleep(1.0)  # the upload takes several seconds at this rate
    os.killpg(proc.pid, signal.SIGTERM)
    assert slow.stdout is not None
    status = slow.stdout.read()
    slow.wait(timeout=60)
    proc.wait(timeout=60)
    assert status == "202"

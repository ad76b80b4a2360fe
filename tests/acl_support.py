"""The shipped ACL users (deploy/redis/users.acl) rendered for a test's own
server, and the customer story run through the CLI as one role."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from events import JST
from subcycle.cli import main

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "redis"
ROLES = ("admin", "worker", "api", "operator")
USERS = {role: "admin" if role == "admin" else f"subcycle-{role}" for role in ROLES}


@dataclass(frozen=True)
class Rendered:
    path: Path
    passwords: dict[str, str]

    def userinfo(self, role: str) -> str:
        return f"{USERS[role]}:{self.passwords[role]}"


def render_acl(directory: Path) -> Rendered:
    """users.acl through render-users.sh, with a fresh password per role."""
    passwords = {role: secrets.token_hex(16) for role in ROLES}
    env = {f"SUBCYCLE_ACL_{role.upper()}_PASSWORD": pw for role, pw in passwords.items()}
    rendered = subprocess.run(
        [str(DEPLOY / "render-users.sh")], env=env, capture_output=True, text=True, check=True
    ).stdout
    for password in passwords.values():
        assert password not in rendered  # only their hashes
    path = directory / "users.acl"
    path.write_text(rendered)
    return Rendered(path, passwords)


def lines(*events: dict[str, object]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


PHONE = "090-1234-5678"
STORY = lines(
    {
        "type": "SubscriptionPurchased",
        "event_id": "pos-1",
        "occurred_at": "2026-04-01T10:00:00+09:00",
        "subscription_id": "SUB-1",
        "phone": "070-1234-5678",
        "product": "Mobile Security",
        "plan": "monthly",
        "starts_on": "2026-04-01",
        "monthly_fee_jpy": 550,
    },
    {
        "type": "CancellationRequested",
        "event_id": "lp-1",
        "occurred_at": "2026-06-30T23:59:59+09:00",
        "subscription_id": "SUB-1",
        "kind": "monthly_service",
    },
    {
        "type": "SubscriptionPurchased",
        "event_id": "pos-2",
        "occurred_at": "2026-07-01T10:00:00+09:00",
        "subscription_id": "SUB-2",
        "phone": PHONE,
        "product": "Mobile Security",
        "plan": "monthly",
        "starts_on": "2026-07-01",
        "monthly_fee_jpy": 550,
    },
    {
        "type": "SubscriptionPurchased",
        "event_id": "pos-3",
        "occurred_at": "2025-08-01T10:00:00+09:00",
        "subscription_id": "SUB-3",
        "phone": "080-2345-6789",
        "product": "Mobile Security",
        "plan": "annual",
        "term_years": 1,
        "starts_on": "2025-08-01",
        "monthly_fee_jpy": 550,
    },
)


def login_request() -> str:
    """A code asked for now (a code lives 10 minutes from its request)."""
    return lines(
        {
            "type": "OtpRequested",
            "event_id": "login-1",
            "occurred_at": datetime.now(JST).isoformat(),
            "phone": PHONE,
            "channel": "sms",
            "resend": False,
        }
    )


As = Callable[[str], None]  # set SUBCYCLE_REDIS_URL to the URL of a role


def run(argv: list[str], capsys: pytest.CaptureFixture[str], *, code: int = 0) -> tuple[str, str]:
    got = main(argv)
    out, err = capsys.readouterr()
    assert got == code, f"subcycle {' '.join(argv)} exited {got}: {err}"
    return out, err


def run_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_role: As, *, verifier: str = "api"
) -> None:
    """publish → worker → expiry tick → month-end close → charges, and a
    verification code verified, each step as the role that does it in
    production."""
    events = tmp_path / "story.jsonl"
    events.write_text(STORY + login_request())
    as_role("api")
    run(["publish", str(events)], capsys)
    as_role("worker")
    out, _ = run(["drain"], capsys)
    assert "dead-lettered 0, refused 0" in out
    run(["tick", "expiry", "--now", "2026-07-01T10:00:00+09:00"], capsys)
    run(["tick", "month-end", "--now", "2026-07-01T00:00:00+09:00", "--no-wait"], capsys)
    out, _ = run(["drain"], capsys)
    assert "dead-lettered 0, refused 0" in out
    as_role("operator")
    out, _ = run(["charges", "--period", "2026-06", "--json"], capsys)
    assert [(c["subscription_id"], c["amount_jpy"]) for c in json.loads(out)] == [("SUB-1", 550)]
    out, _ = run(["charges", "--period", "2026-06"], capsys)
    assert "550" in out
    out, _ = run(["license", "SUB-1", "--json"], capsys)
    assert json.loads(out)["license_type"] == "Cancelled"
    out, _ = run(["metrics", "--once"], capsys)
    assert "subcycle_queue" in out
    out, _ = run(["outbox", "--json"], capsys)
    kinds = sorted(m["kind"] for m in json.loads(out))
    assert kinds == ["renewal_reminder", "verification_code"]
    [sent] = [m for m in json.loads(out) if m["kind"] == "verification_code"]
    code = re.search(r"\b[0-9]{6}\b", sent["text"])
    assert code is not None
    as_role(verifier)
    out, _ = run(["otp", "verify", "--phone", PHONE, "--code", code[0]], capsys)
    assert out.splitlines()[0] == "ok"

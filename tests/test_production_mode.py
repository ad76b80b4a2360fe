"""Production is the default (SPEC section 11): a process that runs actors,
the scheduler or the API, or verifies codes, refuses to start without a
real gateway and secret, naming the variable; development behaviour exists
only when asked for."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import redis

from subcycle.cli import main
from subcycle.otp_config import development_secret, otp_policy
from subcycle.settings import Settings
from tests.processes import run_command

GUARDED = [
    ["worker"],
    ["drain"],
    ["scheduler"],
    ["otp", "verify", "--phone", "090-1234-5678", "--code", "123456"],
]
READY = {
    "SUBCYCLE_GATEWAY": "http",
    "SUBCYCLE_GATEWAY_URL": "https://sms.example.jp/v1/messages",
    "SUBCYCLE_OTP_SECRET": "p" * 32,
}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, cli_env: redis.Redis) -> None:
    monkeypatch.delenv("SUBCYCLE_ENV")  # the default
    for name in READY:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("argv", GUARDED, ids=lambda a: a[0] if len(a) == 1 else " ".join(a[:2]))
def test_production_refuses_to_start_without_gateway_url_and_secret(
    production: None, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    for name in READY:
        assert f"{name}: " in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUBCYCLE_GATEWAY", "outbox"),
        ("SUBCYCLE_GATEWAY_URL", "http://sms.example.jp/v1/messages"),
        ("SUBCYCLE_OTP_SECRET", "s" * 16),
    ],
)
def test_each_missing_piece_is_named_alone(
    production: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    for key, good in READY.items():
        monkeypatch.setenv(key, value if key == name else good)
    assert main(["drain", "--timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("SUBCYCLE_") >= 1
    assert f"{name}: " in err
    assert all(f"{other}: " not in err for other in READY if other != name)


def test_with_a_real_gateway_and_secret_production_starts(
    production: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in READY.items():
        monkeypatch.setenv(key, value)
    assert main(["drain", "--timeout", "5"]) == 0
    assert "processed 0" in capsys.readouterr().out


def test_the_outbox_is_development_only(
    production: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox"]) == 2
    assert "SUBCYCLE_ENV=development" in capsys.readouterr().err


def test_a_worker_process_started_by_hand_refuses_too(production: None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBCYCLE_")}
    done = run_command([sys.executable, "-c", "import subcycle.worker_app"], env)
    assert done.returncode == 2
    assert "SUBCYCLE_OTP_SECRET: " in done.stderr
    assert "Traceback" not in done.stderr


def test_the_generated_secret_exists_only_in_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "otp-secret"
    monkeypatch.delenv("SUBCYCLE_OTP_SECRET", raising=False)
    monkeypatch.setenv("SUBCYCLE_OTP_SECRET_FILE", str(path))
    monkeypatch.setenv("SUBCYCLE_ENV", "production")
    assert not otp_policy(Settings()).secret_ok
    assert not path.exists()
    monkeypatch.setenv("SUBCYCLE_ENV", "development")
    assert otp_policy(Settings()).secret_ok
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_generated_secret_is_written_whole_and_the_first_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "state" / "otp-secret"
    first = development_secret(path)
    assert development_secret(path) == first
    assert len(first) == 64
    assert [p.name for p in path.parent.iterdir()] == ["otp-secret"]  # no temporary left


def test_the_demo_is_always_development(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBCYCLE_")}
    env |= {"SUBCYCLE_ENV": "production", "SUBCYCLE_GATEWAY": "http", "HOME": str(tmp_path)}
    done = run_command([sys.executable, "-m", "subcycle.cli", "demo"], env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "verification code" in done.stdout
    assert not (tmp_path / ".local").exists()  # no secret file was made

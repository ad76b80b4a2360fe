"""``subcycle otp verify|status``: what the login page asks synchronously.

The outcome word is alone on the first line. ``verify`` exits 0 only for
``ok``; input that is not a mobile number or not 6 ASCII digits is a usage
error (exit 2) and counts as no attempt. Time is the system clock here: the
10 minutes of a code are physical time (SPEC section 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from events import JST
from subcycle.bootstrap import codes, system_clock
from subcycle.commands.common import (
    CommandFailed,
    UsageError,
    add_redis_option,
    load_settings,
    open_core,
)
from subcycle.otp_config import otp_policy
from workers.otp import InvalidInput, OtpNotConfigured, parse_code, parse_phone


def register(sub: Any) -> None:
    p = sub.add_parser("otp", help="verification codes: verify a code, or a number's status")
    otp_sub = p.add_subparsers(dest="otp_command", required=True, metavar="ACTION")

    verify = otp_sub.add_parser("verify", help="verify a code; exit 0 only for ok")
    verify.add_argument("--phone", required=True, help="mobile number (090-…, +8190…)")
    verify.add_argument("--code", required=True, help="the 6-digit code the customer entered")
    add_redis_option(verify)
    verify.set_defaults(run=run_verify)

    status = otp_sub.add_parser(
        "status", help="code_sent | registration_required | rate_limited | none"
    )
    status.add_argument("--phone", required=True, help="mobile number (090-…, +8190…)")
    status.add_argument(
        "--history", action="store_true", help="then the number's request and login history"
    )
    add_redis_option(status)
    status.set_defaults(run=run_status)


def _checked(value: str, parse: Any) -> str:
    try:
        parsed: str = parse(value)
    except InvalidInput as e:
        raise UsageError(f"--{e}") from None
    return parsed


def run_verify(args: argparse.Namespace) -> int:
    phone = _checked(args.phone, parse_phone)
    code = _checked(args.code, parse_code)
    settings = load_settings(guarded=True)
    try:
        otp_policy(settings).require_secret()
    except OtpNotConfigured as e:
        raise CommandFailed(str(e)) from None
    verdict = codes(open_core(args, guarded=True)).verify(phone, code, system_clock())
    sys.stdout.write(f"{verdict}\n")
    if verdict != "ok":
        sys.stderr.write(f"subcycle otp verify: {verdict}\n")
        return 1
    return 0


def run_status(args: argparse.Namespace) -> int:
    phone = _checked(args.phone, parse_phone)
    otp = codes(open_core(args))
    sys.stdout.write(f"{otp.status(phone, system_clock())}\n")
    if args.history:
        for line in otp.codes.history(phone):
            extra = " ".join(part for part in (line.channel, line.event_id) if part)
            sys.stdout.write(f"{line.at.astimezone(JST).isoformat()}  {line.outcome}  {extra}\n")
    return 0

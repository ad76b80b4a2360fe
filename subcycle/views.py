"""The documented JSON shapes of what the CLI prints (stable; see README)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from events import JST
from store.base import Ledger
from store.ledger import Charge
from store.records import Subscription

CHARGE_COLUMNS = ("subscription_id", "phone", "period", "amount_jpy")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(JST).isoformat()


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def license_json(sub: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": sub.subscription_id,
        "license_type": sub.license_type,
        "phone": sub.phone,
        "product": sub.product,
        "locale": sub.locale,
        "plan": sub.plan,
        "term_years": sub.term_years,
        "starts_on": _day(sub.starts_on),
        "expires_on": _day(sub.expires_on),
        "monthly_fee_jpy": sub.monthly_fee_jpy,
        "auto_renewal": sub.auto_renewal,
        "renewal_consent_at": _ts(sub.renewal_consent_at),
        "auto_renewal_cancelled_at": _ts(sub.auto_renewal_cancelled_at),
        "monthly_started_on": _day(sub.monthly_started_on),
        "service_until": _day(sub.service_until),
        "cancelled_at": _ts(sub.cancelled_at),
        "last_billed_period": sub.last_billed_period,
        "notice": sub.notice,
        "as_of": _ts(sub.as_of),
        "history": [
            {
                "event_id": h.event_id,
                "type": h.type,
                "at": _ts(h.at),
                "outcome": h.outcome,
                "reason": h.reason,
            }
            for h in sub.history
        ],
    }


def charge_row(charge: Charge) -> tuple[str, str, str, int]:
    """A ledger row in ``CHARGE_COLUMNS`` order (``charges --csv`` and the API)."""
    return (charge.subscription_id, charge.phone, charge.period, charge.amount_jpy)


def charge_json(charge: Charge) -> dict[str, Any]:
    return dict(zip(CHARGE_COLUMNS, charge_row(charge), strict=True))


def closed_ledger(ledger: Ledger, period: str) -> Iterator[Charge]:
    """A closed month's charges, streamed. The refusal of a month not closed
    (``Refusal``) is raised here, before any row, so no surface ever writes
    half an answer."""
    rows = ledger.charges(period)
    first = next(rows, None)
    return _chain(first, rows)


def _chain(first: Charge | None, rest: Iterator[Charge]) -> Iterator[Charge]:
    if first is not None:
        yield first
        yield from rest


def charges_csv(
    rows: Iterator[Charge], phone: Callable[[str], str] = str, chunk: int = 1_000
) -> Iterator[str]:
    """The ledger as CSV with a header line, ``chunk`` rows at a time;
    ``phone`` writes the phone column (the console masks it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHARGE_COLUMNS)
    for i, charge in enumerate(rows):
        subscription_id, number, period, amount = charge_row(charge)
        writer.writerow((subscription_id, phone(number), period, amount))
        if i % chunk == chunk - 1:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()

"""How a subscription is written into its Redis hash and read back.

One hash per subscription, every field and value short, so Redis keeps it
in its compact ``listpack`` encoding (values of at most
``hash-max-listpack-value``, 64 bytes; docs/capacity.md). Fields:

- ``e``: the purchase's event id;
- ``p``: the rest of the purchase, packed: ``time|phone|locale|plan|term|starts_on|fee``;
- ``pr``: the product;
- ``w``: the watermark (the newest ``occurred_at`` known), once a fact moved it;
- ``v``: the record's version (scripts/commit.lua), once a fact was committed;
- ``b``: the billing index level it was created at (store/billing.py,
  ``Layout``); absent in a record written before levels, which is
  ``LEGACY_LEVEL``;
- ``f:<event id>``: one fact, packed: ``type|time|kind|fingerprint``.

A time is packed as whole seconds since the epoch, microseconds when there
are any, and the offset in minutes (``1782831599+540``): it reads back to
the same instant with the same offset. The subscription id is the key's, so
it is not written again. store/legacy.py reads the layout before this one
(``subcycle migrate``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from store.billing import LEGACY_LEVEL
from store.lifecycle import CANCELLATION, CONSENT, TERM_ENDED
from store.records import Fact, Purchase

EVENT, PACKED, PRODUCT, WATERMARK, VERSION, LEVEL = "e", "p", "pr", "w", "v", "b"
FACT_PREFIX = "f:"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME = re.compile(r"(-?[0-9]+)(?:\.([0-9]{6}))?([+-][0-9]+)", re.ASCII)
_TYPES = {CONSENT: "R", CANCELLATION: "C", TERM_ENDED: "T"}
_TYPE_OF = {v: k for k, v in _TYPES.items()}
_KINDS = {"monthly_service": "m", "auto_renewal": "a"}
_KIND_OF = {v: k for k, v in _KINDS.items()}


def dump_time(moment: datetime) -> str:
    offset = moment.utcoffset()
    assert offset is not None, "a stored time has an offset"
    delta = moment - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    micro = f".{delta.microseconds:06d}" if delta.microseconds else ""
    return f"{seconds}{micro}{int(offset.total_seconds()) // 60:+d}"


def load_time(packed: str) -> datetime:
    found = _TIME.fullmatch(packed)
    if found is None:
        raise ValueError(f"not a packed time: {packed!r}")
    seconds, micro, minutes = found.groups()
    tz = timezone(timedelta(minutes=int(minutes)))
    moment = _EPOCH + timedelta(seconds=int(seconds), microseconds=int(micro or 0))
    return moment.astimezone(tz)


def dump_purchase(p: Purchase, level: int | None = None) -> dict[Any, str]:
    """The purchase's fields of a new record (keyed ``Any`` for redis-py's
    ``hset``), created at billing index ``level`` (None: ``LEGACY_LEVEL``,
    written as no field: a record migrated from before levels)."""
    term = "" if p.term_years is None else str(p.term_years)
    plan = "a" if p.plan == "annual" else "m"
    packed = "|".join(
        (
            dump_time(p.occurred_at),
            p.phone,
            p.locale,
            plan,
            term,
            p.starts_on.isoformat(),
            str(p.monthly_fee_jpy),
        )
    )
    fields = {EVENT: p.event_id, PACKED: packed, PRODUCT: p.product}
    if level is not None:
        fields[LEVEL] = str(level)
    return fields


def load_purchase(subscription_id: str, fields: dict[str, str]) -> Purchase:
    at, phone, locale, plan, term, starts_on, fee = fields[PACKED].split("|")
    return Purchase(
        subscription_id=subscription_id,
        event_id=fields[EVENT],
        occurred_at=load_time(at),
        phone=phone,
        product=fields[PRODUCT],
        locale=locale,
        plan="annual" if plan == "a" else "monthly",
        term_years=int(term) if term else None,
        starts_on=date.fromisoformat(starts_on),
        monthly_fee_jpy=int(fee),
    )


def level_of(fields: dict[str, str]) -> int:
    """The billing index level of a record (its bucket: ``store.billing.bucket_of``)."""
    level = fields.get(LEVEL)
    return LEGACY_LEVEL if level is None else int(level)


def phone_of(packed: str) -> str:
    """The phone number in a record's ``p`` field (the ledger's export reads only it)."""
    return packed.split("|", 2)[1]


def fact_field(event_id: str) -> str:
    return FACT_PREFIX + event_id


def dump_fact(fact: Fact, fingerprint: str) -> str:
    kind = "" if fact.kind is None else _KINDS[fact.kind]
    return "|".join((_TYPES[fact.type], dump_time(fact.at), kind, fingerprint))


def load_fact(event_id: str, packed: str) -> tuple[Fact, str]:
    kind_of, at, kind, fingerprint = packed.split("|")
    fact = Fact(event_id, _TYPE_OF[kind_of], load_time(at), _KIND_OF[kind] if kind else None)
    return fact, fingerprint


def facts_of(fields: dict[str, str]) -> dict[str, tuple[Fact, str]]:
    return {
        name[len(FACT_PREFIX) :]: load_fact(name[len(FACT_PREFIX) :], value)
        for name, value in fields.items()
        if name.startswith(FACT_PREFIX)
    }


def watermark_of(fields: dict[str, str]) -> datetime:
    packed = fields.get(WATERMARK)
    return load_time(packed if packed is not None else fields[PACKED].split("|", 1)[0])

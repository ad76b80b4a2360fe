"""The layout before the compact store (docs/capacity.md), read only by
``subcycle migrate`` (store/migrate.py): a subscription hash whose
``purchase`` field is the purchase as JSON, ``watermark`` and ``version``
beside it, and its facts in a second hash, ``sub:{id}:facts``, one JSON
value per event id."""

from __future__ import annotations

import json
from datetime import date, datetime

from store.records import Fact, Purchase

PURCHASE, WATERMARK, VERSION = "purchase", "watermark", "version"


def dump_purchase(p: Purchase) -> str:
    return json.dumps(
        {
            "subscription_id": p.subscription_id,
            "event_id": p.event_id,
            "occurred_at": p.occurred_at.isoformat(),
            "phone": p.phone,
            "product": p.product,
            "locale": p.locale,
            "plan": p.plan,
            "term_years": p.term_years,
            "starts_on": p.starts_on.isoformat(),
            "monthly_fee_jpy": p.monthly_fee_jpy,
        }
    )


def load_purchase(text: str) -> Purchase:
    raw = json.loads(text)
    return Purchase(
        subscription_id=raw["subscription_id"],
        event_id=raw["event_id"],
        occurred_at=datetime.fromisoformat(raw["occurred_at"]),
        phone=raw["phone"],
        product=raw["product"],
        locale=raw["locale"],
        plan=raw["plan"],
        term_years=raw["term_years"],
        starts_on=date.fromisoformat(raw["starts_on"]),
        monthly_fee_jpy=raw["monthly_fee_jpy"],
    )


def dump_fact(fact: Fact, fingerprint: str) -> str:
    return json.dumps(
        {"type": fact.type, "at": fact.at.isoformat(), "kind": fact.kind, "digest": fingerprint}
    )


def load_fact(event_id: str, text: str) -> tuple[Fact, str]:
    raw = json.loads(text)
    fact = Fact(event_id, raw["type"], datetime.fromisoformat(raw["at"]), raw["kind"])
    return fact, raw["digest"]


def load_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


# The billing index and the ledger before the compact store: per shard of 64,
# zsets of subscriptions (``bill:<shard>:starts``, score = start month × FEE_SPAN
# + fee; ``bill:<shard>:ends``, score = the end month), a set of those changed
# since the shard's last close (``bill:<shard>:dirty``), and a month's ledger
# ``charges:<period>:<shard>`` (score as in ``starts``).
SHARDS = 64
FEE_SPAN = 1 << 20


def starts(prefix: str, shard: int) -> str:
    return f"{prefix}bill:{shard}:starts"


def ends(prefix: str, shard: int) -> str:
    return f"{prefix}bill:{shard}:ends"


def dirty(prefix: str, shard: int) -> str:
    return f"{prefix}bill:{shard}:dirty"


def charges(prefix: str, period: str, shard: int) -> str:
    return f"{prefix}charges:{period}:{shard}"

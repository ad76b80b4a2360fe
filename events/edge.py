"""The edge: one set of rules for everything that comes in (SPEC section 11).

``subcycle publish``, the HTTP API and the library's publisher read events
from upstreams with ``parse_upstream_json`` / ``parse_upstream``; an actor
re-validating a message found on a queue uses ``parse_event``. Both apply
the very same models; upstreams are also refused the ids subcycle derives
(``reserved_event_id``), and a message on a queue may carry a derived id
only on the event type that derives it.

JSON is read strictly: a duplicate key is refused (parsers disagree on
which one wins), and so are ``NaN`` and ``Infinity``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from events import ids
from events.base import Event
from events.catalogue import EVENT_ADAPTER
from events.errors import InvalidEvent, Problem
from events.reasons import Reason

RESERVED = Reason.RESERVED_EVENT_ID


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Built once: ``json.loads`` with hooks builds a decoder on every call.
_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _loads(text: str | bytes) -> Any:
    """``json.loads`` with the strict hooks, step for step, on ``_STRICT``."""
    if isinstance(text, bytes):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _STRICT.decode(text)


def read_json(text: str | bytes) -> Any:
    """Decode JSON strictly, or raise ``InvalidEvent`` saying why."""
    try:
        return _loads(text)
    except _DuplicateKey as e:
        raise InvalidEvent([Problem(e.key[:64], "duplicate key")]) from None
    except RecursionError:
        raise InvalidEvent([Problem("event", "nested too deeply")]) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidEvent([Problem("event", f"not valid JSON ({e})")]) from None


def _describe(error: Any) -> Problem:
    loc = [str(part) for part in error["loc"]]
    # The discriminated union puts the type name first (and, for a type with
    # versions, the version's tag next); the reader wants the field.
    if len(loc) > 1 and loc[0][:1].isupper():
        loc = loc[2:] if len(loc) > 2 and loc[1].isdigit() else loc[1:]
    field = ".".join(loc) or "event"
    kind = error["type"]
    if kind == "missing":
        return Problem(field, "field required")
    if kind == "extra_forbidden":
        return Problem(field[:64], "unknown field")
    if kind == "union_tag_invalid":
        return Problem("type", f"unknown event type {str(error['input'].get('type'))[:64]!r}")
    if kind == "union_tag_not_found":
        return Problem("type", "field required")
    message = str(error["msg"]).removeprefix("Value error, ")
    named, sep, rest = message.partition(": ")
    if sep and named in {"term_years"}:
        return Problem(named, rest)
    return Problem(field, message)


def parse_event(raw: object) -> Event:
    """Validate a decoded JSON object into its event model (a message on a queue)."""
    if not isinstance(raw, dict):
        raise InvalidEvent([Problem("event", "must be a JSON object")])
    try:
        event = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as e:
        raise InvalidEvent([_describe(err) for err in e.errors()]) from None
    owner = ids.OWNER_OF_PREFIX.get(ids.reserved_prefix(event.event_id) or "")
    if owner is not None and owner != type(event).__name__:
        raise InvalidEvent([_reserved(event.event_id)], RESERVED)
    return event


def parse_event_json(text: str | bytes) -> Event:
    return parse_event(read_json(text))


def parse_upstream(raw: object) -> Event:
    """An event from an upstream: the models, and no id subcycle derives."""
    event = parse_event(raw)
    refuse_reserved([event])
    return event


def parse_upstream_json(text: str | bytes) -> Event:
    return parse_upstream(read_json(text))


def refuse_reserved(events: Sequence[Event]) -> None:
    """Raise ``InvalidEvent`` (``reserved_event_id``) if any event uses a derived id."""
    for event in events:
        if ids.reserved_prefix(event.event_id) is not None:
            raise InvalidEvent([_reserved(event.event_id)], RESERVED)


def _reserved(event_id: str) -> Problem:
    prefix = ids.reserved_prefix(event_id)
    return Problem(
        "event_id", f"{RESERVED}: ids starting {prefix!r} are derived by subcycle itself"
    )

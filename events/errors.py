"""Refusals of bad input, phrased for the person who sent it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from events.base import Event
from events.catalogue import EVENT_ADAPTER


class InvalidEvent(ValueError):
    """An event that cannot be accepted; ``problems`` name each field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    # The discriminated union puts the type name first; the reader wants the field.
    if len(loc) > 1 and loc[0][:1].isupper():
        loc = loc[1:]
    field = ".".join(loc) or "event"
    kind = error["type"]
    if kind == "missing":
        return f"{field}: field required"
    if kind == "extra_forbidden":
        return f"{field}: unknown field"
    if kind == "union_tag_invalid":
        return f"type: unknown event type {error['input'].get('type')!r}"
    if kind == "union_tag_not_found":
        return "type: field required"
    message = str(error["msg"]).removeprefix("Value error, ")
    if message.split(":", 1)[0] in {"term_years"}:
        return message
    return f"{field}: {message}"


def parse_event(raw: object) -> Event:
    """Validate a decoded JSON object (a dict) into its event model."""
    if not isinstance(raw, dict):
        raise InvalidEvent(["event: must be a JSON object"])
    try:
        return EVENT_ADAPTER.validate_python(raw)
    except ValidationError as e:
        raise InvalidEvent([_describe(err) for err in e.errors()]) from e


def parse_event_json(text: str | bytes) -> Event:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InvalidEvent([f"event: not valid JSON ({e})"]) from e
    return parse_event(raw)

"""Structured logs: JSON in production, console in a terminal; phone numbers
masked on every line, ours and the libraries'.

A traceback is formatted as text before the masking runs, for our lines and
for the libraries' (Dramatiq logs a failed message with its exception), and
never with local variables: the console renderer's rich tracebacks would
print every frame's locals, codes and tokens included (TRAPS).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_E164_JP = re.compile(r"\+81([0-9]{1,2})([0-9]{4})([0-9]{4})\b")
_NATIONAL = re.compile(r"\b0([789]0)-?([0-9]{4})-?([0-9]{4})\b")


def mask_phone(text: str) -> str:
    """``+819012345678`` → ``+81 90-****-5678`` (and national forms alike)."""
    text = _E164_JP.sub(lambda m: f"+81 {m[1]}-****-{m[3]}", text)
    return _NATIONAL.sub(lambda m: f"0{m[1]}-****-{m[3]}", text)


def masked(value: Any) -> Any:
    """``value`` with every phone number in it masked, however deep."""
    if isinstance(value, str):
        return mask_phone(value)
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(masked(v) for v in value)
    return value


def mask_processor(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    return {key: masked(value) for key, value in event_dict.items()}


def safe_defaults() -> None:
    """Until ``configure`` runs, structlog's own default would print a rich
    traceback with every frame's locals: never that, even in a process (a
    test, an embedding) that did not configure logging."""
    if not structlog.is_configured():
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.format_exc_info,
                mask_processor,
                structlog.dev.ConsoleRenderer(
                    colors=False, exception_formatter=structlog.dev.plain_traceback
                ),
            ]
        )


class _LevelFirst(structlog.stdlib.BoundLogger):
    """structlog's stdlib logger that asks the logger's level first when the
    chain would: a debug or info line that ``filter_by_level`` (the chain's
    head) would drop costs one level check instead of the call into the
    chain (``subcycle import`` quiets a line per event). A chain without
    that head (structlog's ``capture_logs``) sees every line, as before."""

    def _dropped(self, level: int) -> bool:
        head = next(iter(self._processors), None)
        return head is structlog.stdlib.filter_by_level and not self._logger.isEnabledFor(level)

    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._dropped(logging.DEBUG):
            return None
        return super().debug(event, *args, **kw)

    def info(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if self._dropped(logging.INFO):
            return None
        return super().info(event, *args, **kw)


def configure(fmt: str = "auto", level: str = "INFO") -> None:
    json_out = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=False),
        structlog.processors.format_exc_info,
        mask_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_out
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    # One processor list for the life of the process, changed in place:
    # loggers cached under an earlier configure() keep a reference to the list
    # they saw, and structlog's capture_logs edits the current list in place.
    processors = structlog.get_config()["processors"]
    # filter_by_level first: a line below the level costs nothing more (the
    # masking regexes run on every value of every line that is kept).
    processors[:] = [
        structlog.stdlib.filter_by_level,
        *shared,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ]
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=_LevelFirst,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared[:-2],
                structlog.stdlib.ExtraAdder(),
                structlog.processors.format_exc_info,
                mask_processor,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

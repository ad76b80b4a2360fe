"""A small harness the demo chapters tell their part of the story with."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from events import Event, InvalidEvent, parse_upstream
from subcycle.bootstrap import App
from subcycle.views import license_json
from workers.drain import drain


class Story:
    def __init__(self, app: App, console: Console) -> None:
        self.app = app
        self.console = console
        self._n = 0

    def chapter(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def say(self, text: str) -> None:
        self.console.print(f"  {text}")

    def publish(self, raw: dict[str, Any], label: str | None = None) -> bool:
        """Publish one event as upstream would; print it on the timeline."""
        self._n += 1
        raw = {"event_id": raw.get("event_id", f"demo-{self._n}"), **raw}
        when = raw.get("occurred_at", "")
        try:
            event = parse_upstream(raw)
        except InvalidEvent as e:
            self.console.print(f"  [red]✗ refused[/red] {raw.get('type')} — {e}")
            return False
        self._enqueued(event, self.app.publisher.publish([event]).enqueued, when, label)
        return True

    def tick(self, event: Event, label: str) -> None:
        """Enqueue a tick as the scheduler would (its id is a derived one)."""
        enqueued = self.app.publisher.publish_derived([event]).enqueued
        self._enqueued(event, enqueued, event.occurred_at.isoformat(), label)

    def _enqueued(self, event: Event, enqueued: int, when: str, label: str | None) -> None:
        text = label or type(event).__name__
        state = "" if enqueued else " [dim](duplicate, skipped)[/dim]"
        self.console.print(f"  [cyan]{when}[/cyan]  → {text}{state}")

    def settle(self) -> None:
        drain(self.app.broker, threads=2, horizon_s=10.0, poll_s=0.01)

    def license(self, subscription_id: str, *fields: str) -> dict[str, Any]:
        sub = self.app.store.subscriptions.get(subscription_id)
        assert sub is not None, subscription_id
        view = license_json(sub)
        shown = {k: view[k] for k in ("license_type", *fields)}
        shown_text = json.dumps(shown, ensure_ascii=False)
        self.console.print(f"  [green]license {subscription_id}[/green] {shown_text}")
        return view

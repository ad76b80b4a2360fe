"""Driving the HTTP API in process (Starlette's TestClient, a real HTTP
client over the ASGI app) on the test's own app and backend."""

from __future__ import annotations

from subcycle.bootstrap import App


def key_for(app: App, name: str, *scopes: str) -> str:
    return app.store.api_keys.create(name, frozenset(scopes), app.deps.clock())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

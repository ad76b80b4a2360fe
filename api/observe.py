"""One log line per request (method, route, status, duration, key name:
never the key, never a body, so never a code or a full number) and
Prometheus request counts and durations by route and status.

A pure ASGI middleware: it sees the route Starlette matched (the template,
``/v1/subscriptions/{subscription_id}``, never the id) and the key name the
auth step left in the request's state. With several ``--workers`` the
metrics live in prometheus-client's multiprocess directory
(``PROMETHEUS_MULTIPROC_DIR``, set by ``subcycle api``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("api")
_made: dict[str, Any] = {}


def _metrics() -> dict[str, Any]:
    if not _made:
        import prometheus_client as prom

        _made["registry"] = registry = prom.CollectorRegistry(auto_describe=True)
        _made["requests"] = prom.Counter(
            "subcycle_api_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        _made["duration"] = prom.Histogram(
            "subcycle_api_request_duration_seconds",
            "Time to answer an HTTP request, by route and method.",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
    return _made


def exposition() -> tuple[bytes, str]:
    import prometheus_client as prom
    from prometheus_client import multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prom.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = _metrics()["registry"]
    return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            metrics = _metrics()
            metrics["requests"].labels(route, method, str(status)).inc()
            metrics["duration"].labels(route, method).observe(seconds)
            log.info(
                "http_request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 2),
                key=scope.get("state", {}).get("key_name"),
            )

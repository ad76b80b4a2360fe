"""Chapter: the same story over HTTP, as upstreams that are not Python drive
it. The API app runs in this process (Starlette's test client: no port):
a point of sale publishes a purchase with its own key, may publish nothing
else, and the license page reads the subscription it made."""

from __future__ import annotations

import json

from subcycle.demo.story import Story

PURCHASE = {
    "type": "SubscriptionPurchased",
    "event_id": "pos-http-1",
    "occurred_at": "2026-07-01T11:00:00+09:00",
    "subscription_id": "SUB-HTTP-1",
    "phone": "070-1234-5678",
    "product": "Mobile Security",
    "plan": "monthly",
    "starts_on": "2026-07-01",
    "monthly_fee_jpy": 550,
}


def tell(story: Story) -> None:
    # Imported here: every other command starts without the web stack.
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.services import Services

    story.chapter("Over HTTP: a point of sale and the license page, each with its own key")
    app = story.app
    now = app.deps.clock()
    pos = app.store.api_keys.create("pos-demo", frozenset({"events:SubscriptionPurchased"}), now)
    page = app.store.api_keys.create("license-page-demo", frozenset({"subscriptions:read"}), now)
    with TestClient(create_app(Services.of(app.core))) as http:
        answer = http.post("/v1/events", json=PURCHASE, headers=_bearer(pos))
        story.say(f"POST /v1/events (the shop's purchase) → {answer.status_code} {answer.text}")
        again = http.post("/v1/events", json=PURCHASE, headers=_bearer(pos))
        story.say(f"the same event again → {again.status_code} {again.json()['status']}")
        cancel = {
            "type": "CancellationRequested",
            "event_id": "pos-http-2",
            "occurred_at": "2026-07-01T11:05:00+09:00",
            "subscription_id": "SUB-HTTP-1",
            "kind": "monthly_service",
        }
        refused = http.post("/v1/events", json=cancel, headers=_bearer(pos))
        detail = refused.json()["detail"]
        story.say(f"the shop's key tries a cancellation → {refused.status_code} {detail}")
        story.settle()
        license_page = http.get("/v1/subscriptions/SUB-HTTP-1", headers=_bearer(page)).json()
        shown = {k: license_page[k] for k in ("license_type", "plan", "monthly_started_on")}
        story.say(f"GET /v1/subscriptions/SUB-HTTP-1 → {json.dumps(shown)}")
    app.store.api_keys.revoke("pos-demo")
    app.store.api_keys.revoke("license-page-demo")


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

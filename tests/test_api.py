"""The HTTP API (SPEC section 12), driven by a real HTTP client over the ASGI
app, on fakeredis and on the real Redis: the same validation, publisher and
store as the CLI, so the same refusals in the same words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from events import InvalidEvent, parse_upstream
from subcycle.bootstrap import App
from subcycle.views import license_json
from tests.api_support import bearer, key_for
from tests.support import cancellation, purchase, run

JSON = {"content-type": "application/json"}
POS = ("events:SubscriptionPurchased",)


def post(client: TestClient, path: str, body: Any, key: str, **headers: str) -> Any:
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, content=text, headers=JSON | bearer(key) | headers)


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def ready(app: App) -> int:
    from workers.transport.inspect import Inspector

    inspector = Inspector(app.client, app.broker.namespace)
    return sum(len(inspector.messages_on(q)) for q in ("lifecycle", "cancellations", "billing"))


def test_an_event_is_accepted_once_and_a_replay_is_a_duplicate(app: App, http: TestClient) -> None:
    key = key_for(app, "pos", *POS)
    bought = purchase("S1").wire()
    first = post(http, "/v1/events", bought, key)
    again = post(http, "/v1/events", bought, key)
    assert (first.status_code, first.json()) == (
        202,
        {"event_id": bought["event_id"], "status": "accepted"},
    )
    assert again.json()["status"] == "duplicate"
    assert ready(app) == 1


def test_an_id_reused_with_another_payload_is_409_naming_the_field(
    app: App, http: TestClient
) -> None:
    key = key_for(app, "pos", *POS)
    post(http, "/v1/events", purchase("S1", event_id="p-1").wire(), key)
    body = problem_of(post(http, "/v1/events", purchase("S2", event_id="p-1").wire(), key), 409)
    assert body["type"] == "/problems/event_id_reused"
    assert [e["field"] for e in body["errors"]] == ["event_id"]


@pytest.mark.parametrize(
    "change",
    [
        {"period": "2026-06"},
        {"starts_on": "２０２６-04-01"},
        {"occurred_at": "2026-04-01T10:00:00"},
        {"monthly_fee_jpy": "550"},
        {"phone": "050-1234-5678"},
        {"event_id": "month-end:2026-06"},
    ],
)
def test_an_invalid_event_is_refused_with_the_words_of_the_edge(
    app: App, http: TestClient, change: dict[str, Any]
) -> None:
    raw = purchase("S1").wire() | change
    with pytest.raises(InvalidEvent) as edge:
        parse_upstream(raw)
    body = problem_of(post(http, "/v1/events", raw, key_for(app, "pos", *POS)), 422)
    assert body["type"] == f"/problems/{edge.value.reason}"
    assert body["errors"] == [{"field": p.field, "message": p.message} for p in edge.value.problems]
    assert ready(app) == 0


def test_a_duplicate_key_in_the_body_is_refused(app: App, http: TestClient) -> None:
    text = json.dumps(purchase("S1").wire())[:-1] + ', "plan": "annual"}'
    body = problem_of(post(http, "/v1/events", text, key_for(app, "pos", *POS)), 422)
    assert body["errors"] == [{"field": "plan", "message": "duplicate key"}]


def test_a_batch_with_one_bad_event_enqueues_nothing_and_names_it_by_index(
    app: App, http: TestClient
) -> None:
    key = key_for(app, "pos", "events:*")
    events = [purchase(f"S{i}").wire() for i in range(5)]
    events[3] = events[3] | {"plan": "yearly"}
    as_array = problem_of(post(http, "/v1/events/batch", events, key), 422)
    ndjson = "\n".join(json.dumps(e) for e in events)
    as_lines = problem_of(
        post(http, "/v1/events/batch", ndjson, key, **{"content-type": "application/x-ndjson"}),
        422,
    )
    for body in (as_array, as_lines):
        assert [(e["index"], e["field"]) for e in body["errors"]] == [(3, "plan")]
    assert ready(app) == 0


def test_a_good_batch_is_accepted_whole_with_each_event_s_status(
    app: App, http: TestClient
) -> None:
    key = key_for(app, "pos", "events:*")
    earlier = purchase("S0")
    post(http, "/v1/events", earlier.wire(), key)
    batch = [
        earlier.wire(),
        purchase("S1").wire(),
        cancellation("S1", "2026-06-30T12:00:00+09:00").wire(),
    ]
    answer = post(http, "/v1/events/batch", batch, key)
    assert answer.status_code == 202
    assert answer.json()["accepted"] == 2
    assert answer.json()["duplicates"] == 1
    assert [r["status"] for r in answer.json()["results"]] == ["duplicate", "accepted", "accepted"]


def test_a_batch_over_a_thousand_events_is_refused(app: App, http: TestClient) -> None:
    batch = [purchase(f"S{i}").wire() for i in range(1_001)]
    body = problem_of(post(http, "/v1/events/batch", batch, key_for(app, "pos", *POS)), 422)
    assert body["type"] == "/problems/batch_too_large"


def test_a_body_over_one_mebibyte_is_refused_before_it_is_read(app: App, http: TestClient) -> None:
    huge = json.dumps(purchase("S1").wire() | {"product": "x" * (1024 * 1024)})
    problem_of(post(http, "/v1/events", huge, key_for(app, "pos", *POS)), 413)


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/xml", "application/json; charset=latin-1"]
)
def test_a_wrong_content_type_is_415(app: App, http: TestClient, kind: str) -> None:
    answer = post(
        http,
        "/v1/events",
        purchase("S1").wire(),
        key_for(app, "pos", *POS),
        **{"content-type": kind},
    )
    problem_of(answer, 415)


def test_without_a_key_or_with_an_unknown_one_it_is_401(app: App, http: TestClient) -> None:
    bought = json.dumps(purchase("S1").wire())
    for headers in ({}, bearer("sc_not-a-key"), {"Authorization": "Basic abc"}):
        answer = http.post("/v1/events", content=bought, headers=JSON | headers)
        problem_of(answer, 401)
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_point_of_sale_publishes_purchases_and_nothing_else(app: App, http: TestClient) -> None:
    key = key_for(app, "pos", *POS)
    run(app, purchase("S1"))
    cancel = cancellation("S1", "2026-06-30T12:00:00+09:00").wire()
    problem_of(post(http, "/v1/events", cancel, key), 403)
    problem_of(post(http, "/v1/events/batch", [purchase("S2").wire(), cancel], key), 403)
    for path in ("/v1/queues", "/v1/subscriptions/S1", "/v1/charges?period=2026-05"):
        problem_of(http.get(path, headers=bearer(key)), 403)
    assert ready(app) == 0


def test_a_revoked_key_stops_at_once(app: App, http: TestClient) -> None:
    key = key_for(app, "pos", *POS)
    assert post(http, "/v1/events", purchase("S1").wire(), key).status_code == 202
    assert app.store.api_keys.revoke("pos")
    problem_of(post(http, "/v1/events", purchase("S2").wire(), key), 401)


def test_the_license_page_reads_exactly_license_json(app: App, http: TestClient) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-30T23:59:59+09:00"))
    key = key_for(app, "page", "subscriptions:read")
    answer = http.get("/v1/subscriptions/S1", headers=bearer(key))
    stored = app.store.subscriptions.get("S1")
    assert stored is not None
    assert answer.json() == json.loads(json.dumps(license_json(stored)))
    earlier = http.get(
        "/v1/subscriptions/S1", params={"at": "2026-05-01T00:00:00+09:00"}, headers=bearer(key)
    )
    assert earlier.json()["license_type"] == "Monthly"
    problem_of(http.get("/v1/subscriptions/S9", headers=bearer(key)), 404)
    bad = problem_of(
        http.get("/v1/subscriptions/S1", params={"at": "yesterday"}, headers=bearer(key)), 422
    )
    assert bad["errors"][0]["field"] == "at"


def test_a_closed_month_s_ledger_as_json_and_as_csv(app: App, http: TestClient) -> None:
    from tests.test_billing import month_end

    run(app, purchase("S1"), month_end("2026-05"))
    key = key_for(app, "billing", "charges:read")
    as_json = http.get("/v1/charges", params={"period": "2026-05"}, headers=bearer(key))
    as_csv = http.get(
        "/v1/charges", params={"period": "2026-05"}, headers=bearer(key) | {"accept": "text/csv"}
    )
    assert as_json.json() == [
        {"subscription_id": "S1", "phone": "+819012345678", "period": "2026-05", "amount_jpy": 550}
    ]
    assert as_csv.text.splitlines() == [
        "subscription_id,phone,period,amount_jpy",
        "S1,+819012345678,2026-05,550",
    ]
    not_closed = problem_of(
        http.get("/v1/charges", params={"period": "2026-06"}, headers=bearer(key)), 409
    )
    assert not_closed["type"] == "/problems/period_not_closed"
    problem_of(http.get("/v1/charges", params={"period": "２０２６-05"}, headers=bearer(key)), 422)


def test_health_and_readiness_need_no_key(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").json() == {"status": "ok"}


def test_a_route_that_does_not_exist_is_a_problem_document(http: TestClient) -> None:
    problem_of(http.get("/v1/nothing-here"), 404)
    problem_of(http.delete("/v1/events"), 405)


def test_every_request_is_counted_by_route_and_status(app: App, http: TestClient) -> None:
    key = key_for(app, "ops", "operator")
    http.get("/v1/queues", headers=bearer(key))
    http.get("/v1/subscriptions/S1")
    exposition = http.get("/metrics", headers=bearer(key)).text
    assert 'subcycle_api_requests_total{method="GET",route="/v1/queues",status="200"}' in exposition
    assert 'route="/v1/subscriptions/{subscription_id}",status="401"' in exposition

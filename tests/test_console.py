"""The operator console (SPEC section 13) over a real HTTP client, on
fakeredis and on the real Redis: signing in and out, CSRF on every change,
every page readable as plain HTML (no script needed), actions confirmed by
count, phone numbers masked. The browser tests are tests/test_console_browser.py."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from subcycle.bootstrap import App
from tests.api_support import key_for
from tests.console_support import csrf_of, listed_ids, sign_in, text_of
from tests.support import cancellation, purchase, run
from tests.test_billing import month_end

PAGES = (
    "/console/queues",
    "/console/dead-letters",
    "/console/billing",
    "/console/scheduler",
    "/console/subscription",
    "/console/subscription?id=S1",
)


def dead_letter(app: App, sub: str, event_id: str | None = None) -> None:
    """A cancellation for a subscription that never comes: dead-lettered."""
    run(app, cancellation(sub, "2026-06-30T12:00:00+09:00", event_id=event_id or f"c-{sub}"))


@pytest.fixture
def operator(app: App, http: TestClient) -> TestClient:
    answer = sign_in(http, key_for(app, "night-shift", "operator"))
    assert answer.status_code == 303, answer.text
    return http


def test_an_operator_key_signs_in_once_into_an_httponly_strict_session(
    app: App, http: TestClient
) -> None:
    answer = sign_in(http, key_for(app, "night-shift", "operator"))
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/queues")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "subcycle_session=" in c)
    attributes = {a.strip().lower() for a in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/console"} <= attributes
    page = http.get("/console/queues")
    assert page.status_code == 200
    assert "night-shift" in page.text


@pytest.mark.parametrize("scopes", [(), ("events:*",), ("otp", "licenses:read")])
def test_a_key_without_the_operator_scope_cannot_sign_in(
    app: App, http: TestClient, scopes: tuple[str, ...]
) -> None:
    answer = sign_in(http, key_for(app, "point-of-sale", *scopes))
    assert answer.status_code == 401
    assert "no operator scope" in text_of(answer.text)
    assert "subcycle_session" not in http.cookies
    assert http.get("/console/queues", follow_redirects=False).headers["location"] == (
        "/console/sign-in"
    )


def test_an_unknown_key_cannot_sign_in_and_the_form_needs_its_token(
    app: App, http: TestClient
) -> None:
    assert sign_in(http, "sk_live_not-a-key").status_code == 401
    forged = http.post("/console/sign-in", data={"key": key_for(app, "ops", "operator")})
    assert forged.status_code == 403
    assert "subcycle_session" not in http.cookies


def test_every_page_asks_to_sign_in_first(http: TestClient) -> None:
    for path in (*PAGES, "/console/billing/2026-06.csv"):
        answer = http.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")
    fragment = http.get("/console/queues?fragment=1", follow_redirects=False)
    assert fragment.status_code == 401  # console.js reloads the page into the sign-in


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(
    operator: TestClient,
) -> None:
    stolen = dict(operator.cookies)
    out = operator.post(
        "/console/sign-out", data={"csrf": csrf_of(operator)}, follow_redirects=False
    )
    assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
    operator.cookies.clear()
    for name, value in stolen.items():
        operator.cookies.set(name, value)
    assert operator.get("/console/queues", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions_at_once(app: App, http: TestClient) -> None:
    key = key_for(app, "temp", "operator")
    sign_in(http, key)
    assert http.get("/console/queues").status_code == 200
    app.store.api_keys.revoke("temp")
    assert http.get("/console/queues", follow_redirects=False).status_code == 303


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    app: App, operator: TestClient
) -> None:
    dead_letter(app, "S1")
    [letter] = listed_ids(operator.get("/console/dead-letters").text)
    for data in ({}, {"csrf": "forged"}):
        for path in ("/console/dead-letters/confirm", "/console/dead-letters/purge"):
            answer = operator.post(
                path, data={**data, "act": "purge:selected", "ids": letter, "confirmed": "yes"}
            )
            assert answer.status_code == 403
            assert "CSRF" in text_of(answer.text)
        signed_out = operator.post("/console/sign-out", data=data, follow_redirects=False)
        assert signed_out.status_code == 403
    assert listed_ids(operator.get("/console/dead-letters").text) == [letter]


def test_every_read_page_is_whole_html_without_a_script(app: App, operator: TestClient) -> None:
    run(app, purchase("S1"), month_end("2026-05"))
    for path in PAGES:
        page = operator.get(path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")
        if path in ("/console/queues", "/console/billing", "/console/scheduler"):
            assert '<noscript><meta http-equiv="refresh"' in page.text  # live without a script
    queues = text_of(operator.get("/console/queues").text)
    assert all(q in queues for q in ("lifecycle", "cancellations", "billing", "otp"))
    assert "2026-05" in text_of(operator.get("/console/billing").text)


def test_pages_load_nothing_from_elsewhere_and_are_never_framed_or_cached(
    operator: TestClient,
) -> None:
    for path in PAGES:
        page = operator.get(path)
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["cache-control"] == "no-store"
        for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert url.startswith(("/", "#", "?", "data:")), (path, url)
    for asset in ("console.css", "console.js"):
        served = operator.get(f"/console/static/{asset}")
        assert served.status_code == 200
        assert "http://" not in served.text
        assert "https://" not in served.text


def test_queues_show_each_queue_and_change_after_a_publish(app: App, operator: TestClient) -> None:
    def ready_on_lifecycle() -> str:
        fragment = operator.get("/console/queues?fragment=1").text
        row = fragment.split('data-queue="lifecycle"')[1].split("</tr>")[0]
        (ready,) = re.findall(r'data-field="ready">(\d+)<', row)
        return ready

    assert ready_on_lifecycle() == "0"
    app.publisher.publish([purchase("S1")])
    assert ready_on_lifecycle() == "1"


def test_a_dead_letter_is_found_by_filter_retried_after_its_confirmation_and_gone(
    app: App, operator: TestClient
) -> None:
    for sub in ("S1", "S2", "S3"):
        dead_letter(app, sub)
    found = operator.get("/console/dead-letters", params={"subscription_id": "S2"})
    [letter] = listed_ids(found.text)
    run(app, purchase("S2"))
    csrf = csrf_of(operator)
    confirmation = operator.post(
        "/console/dead-letters/confirm",
        data={"csrf": csrf, "act": "retry:selected", "ids": letter},
    )
    words = text_of(confirmation.text)
    assert "This will retry 1 dead letter(s)" in words
    assert len(listed_ids(operator.get("/console/dead-letters").text)) == 3  # nothing done yet
    done = operator.post(
        "/console/dead-letters/retry",
        data={"csrf": csrf, "confirmed": "yes", "scope": "selected", "ids": letter},
        follow_redirects=False,
    )
    assert done.status_code == 303
    report = operator.get(done.headers["location"])
    assert "Retry: 1 dead letter(s) touched — 1 published again." in text_of(report.text)
    run(app)
    sub = app.store.subscriptions.get("S2")
    assert sub is not None
    assert sub.license_type == "Cancelled"
    assert letter not in listed_ids(operator.get("/console/dead-letters").text)
    assert len(listed_ids(operator.get("/console/dead-letters").text)) == 2


def test_a_retried_event_still_bad_is_refused_again_and_stays(
    app: App, operator: TestClient
) -> None:
    dead_letter(app, "S1")
    csrf = csrf_of(operator)
    [letter] = listed_ids(operator.get("/console/dead-letters").text)
    operator.post(
        "/console/dead-letters/retry",
        data={"csrf": csrf, "confirmed": "yes", "scope": "selected", "ids": letter},
    )
    run(app)  # S1 still never came: refused again
    [again] = listed_ids(operator.get("/console/dead-letters").text)
    assert "c-S1" in text_of(operator.get("/console/dead-letters").text)
    assert again


def test_purge_of_all_matching_touches_only_the_matching_ones(
    app: App, operator: TestClient
) -> None:
    for sub in ("S1", "S2"):
        dead_letter(app, sub)
    dead_letter(app, "S3", event_id="keep-me")
    csrf = csrf_of(operator)
    confirmation = operator.post(
        "/console/dead-letters/confirm",
        data={"csrf": csrf, "act": "purge:matching", "event_id": "c-S1"},
    )
    assert "This will purge 1 dead letter(s): every one matching the filter" in text_of(
        confirmation.text
    )
    done = operator.post(
        "/console/dead-letters/purge",
        data={
            "csrf": csrf,
            "confirmed": "yes",
            "scope": "matching",
            "event_id": "c-S1",
            "expected": "1",
        },
    )
    assert "Purge: 1 dead letter(s) touched — 1 purged." in text_of(done.text)
    left = text_of(operator.get("/console/dead-letters").text)
    assert "c-S1" not in left
    assert "c-S2" in left
    assert "keep-me" in left


def test_when_more_match_than_were_confirmed_it_asks_again_and_does_nothing(
    app: App, operator: TestClient
) -> None:
    dead_letter(app, "S1")
    csrf = csrf_of(operator)
    form = {"csrf": csrf, "reason": "unknown_subscription", "scope": "matching"}
    operator.post("/console/dead-letters/confirm", data={**form, "act": "purge:matching"})
    dead_letter(app, "S2")  # arrives between the confirmation and the click
    again = operator.post(
        "/console/dead-letters/purge", data={**form, "confirmed": "yes", "expected": "1"}
    )
    words = text_of(again.text)
    assert "changed since you looked: it is now 2. Nothing was done" in words
    assert len(listed_ids(operator.get("/console/dead-letters").text)) == 2


def test_an_action_is_never_done_without_its_confirmation(app: App, operator: TestClient) -> None:
    dead_letter(app, "S1")
    csrf = csrf_of(operator)
    [letter] = listed_ids(operator.get("/console/dead-letters").text)
    for path, data in (
        ("/console/dead-letters/purge", {"scope": "selected", "ids": letter}),
        ("/console/dead-letters/delete", {"confirmed": "yes", "ids": letter}),
        ("/console/dead-letters/confirm", {"act": "drop:selected", "ids": letter}),
    ):
        answer = operator.post(path, data={"csrf": csrf, **data})
        assert answer.status_code == 422, (path, answer.text)
        assert "Traceback" not in answer.text
    assert listed_ids(operator.get("/console/dead-letters").text) == [letter]


def test_a_crafted_report_link_cannot_put_words_on_the_page(operator: TestClient) -> None:
    page = operator.get(
        "/console/dead-letters",
        params={"done": "retry", "touched": "1", "requeued": "call 0120-000-000 now"},
    )
    words = text_of(page.text)
    assert "0120" not in words
    assert "Retry: 1 dead letter(s) touched." in words
    bad = operator.get("/console/dead-letters", params={"done": "INJECTED", "touched": "1"})
    assert "INJECTED" not in text_of(bad.text)


def test_phone_numbers_are_masked_on_every_page(app: App, operator: TestClient) -> None:
    run(app, purchase("S1", phone="090-1234-5678"), month_end("2026-05"))
    dead_letter(app, "S9")
    pages = [operator.get(p).text for p in PAGES]
    pages.append(operator.get("/console/billing/2026-05.csv").text)
    for text in pages:
        assert "1234" not in text
        assert "12345678" not in text
    assert "+81 90-****-5678" in text_of(operator.get("/console/subscription?id=S1").text)


def test_a_subscription_is_looked_up_with_its_license_data_and_history(
    app: App, operator: TestClient
) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-15T20:30:00+09:00"))
    words = text_of(operator.get("/console/subscription", params={"id": "S1"}).text)
    assert "Cancelled" in words
    assert "SubscriptionPurchased" in words
    assert "CancellationRequested" in words
    missing = operator.get("/console/subscription", params={"id": "nope"})
    assert (missing.status_code, "no subscription 'nope'" in text_of(missing.text)) == (404, True)
    bad = operator.get("/console/subscription", params={"id": "a b"})
    assert bad.status_code == 422
    assert "subscription id:" in text_of(bad.text)


def test_billing_shows_each_closed_month_with_count_total_and_a_csv(
    app: App, operator: TestClient
) -> None:
    run(app, purchase("S1"), purchase("S2", fee=880), month_end("2026-05"))
    row = operator.get("/console/billing").text.split('data-period="2026-05"')[1].split("</tr>")[0]
    assert re.search(r'data-field="count">2<', row)
    assert re.search(r'data-field="total">¥1,430<', row)
    csv = operator.get("/console/billing/2026-05.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "subscription_id,phone,period,amount_jpy"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["S1", "S2"]
    not_closed = operator.get("/console/billing/2026-07.csv")
    assert not_closed.status_code == 409
    assert "period_not_closed" in text_of(not_closed.text)
    assert operator.get("/console/billing/2026-13.csv").status_code == 422


def test_the_scheduler_page_says_who_holds_the_lease_and_when_ticks_fire(
    app: App, operator: TestClient
) -> None:
    words = text_of(operator.get("/console/scheduler").text)
    assert "no replica holds the lease" in words
    assert "Next expiry tick" in words
    assert "Next month-end tick" in words


def test_an_unknown_console_page_is_a_page_not_a_trace(operator: TestClient) -> None:
    answer = operator.get("/console/nowhere")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "there is no such page" in text_of(answer.text)

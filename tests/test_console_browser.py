"""The operator console in a real browser (Debian's Chromium, driven by
Playwright) against a real ``subcycle api`` and real Dramatiq workers on the
real Redis, with events published by the real CLI: what an operator with
only a browser and an operator key does. Screenshots are left under
``artifacts/screenshots/`` (``SUBCYCLE_SCREENSHOTS``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.browser_support import ARGS, CONTRAST, SCREENSHOTS, chromium_or_skip, mark_reached
from tests.conftest import REAL_REDIS_URL, delete_prefixed, real_redis_or_skip
from tests.processes import env_for, free_port, kill_group, start_worker, wait_for
from tests.support import cancellation, purchase

pytestmark = pytest.mark.slow

playwright = pytest.importorskip("playwright.sync_api")
Page = Any  # playwright.sync_api.Page; imported lazily so a laptop without it skips


class House:
    """A ``subcycle api`` process and a worker process on the real Redis,
    under a prefix and namespace of their own, and the CLI beside them."""

    def __init__(self, unique: str, logs: Path) -> None:
        self.logs = logs
        self.env = {
            **os.environ,
            **env_for(
                unique,
                REAL_REDIS_URL,
                subcycle_unknown_subscription_retries="0",
                subcycle_scheduler_first_period="2026-05",
                subcycle_otp_secret="browser-tests-secret-" + "x" * 32,
            ),
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def start_api(self) -> None:
        log = (self.logs / "api.log").open("ab")
        self.api = subprocess.Popen(
            [sys.executable, "-m", "subcycle.cli", "api", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    return bool(answer.status == 200)
            except OSError:
                return False

        try:
            wait_for(up, 30, poll=0.2)
        except TimeoutError:
            raise AssertionError((self.logs / "api.log").read_text()[-3000:]) from None

    def start_worker(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            self.worker = start_worker(self.env, log=self.logs / "worker.log")

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            kill_group(self.worker, signal.SIGTERM)
        self.worker = None

    def stop(self) -> None:
        self.stop_worker()
        if self.api is not None:
            kill_group(self.api, signal.SIGTERM)

    def cli(self, *argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "subcycle.cli", *argv],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done.stdout

    def key(self, name: str, *scopes: str) -> str:
        argv = ["api-keys", "create", name]
        for scope in scopes:
            argv += ["--scope", scope]
        return self.cli(*argv).strip()

    def publish(self, *events: Any) -> None:
        self.cli("publish", "-", stdin="".join(json.dumps(e.wire()) + "\n" for e in events))


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Iterator[House]:
    client: redis.Redis = real_redis_or_skip()
    chromium_or_skip()
    unique = os.urandom(4).hex()
    found = House(unique, tmp_path_factory.mktemp("house"))
    found.start_api()
    found.start_worker()
    yield found
    found.stop()
    delete_prefixed(client, f"t{unique}:", f"tq{unique}:")


@pytest.fixture(scope="module")
def browser(house: House) -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium_or_skip(), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def operator_key(house: House) -> str:
    return house.key("night-shift", "operator")


def new_page(browser: Any, house: House, **options: Any) -> Page:
    context = browser.new_context(
        base_url=house.url,
        viewport=options.pop("viewport", {"width": 1280, "height": 900}),
        **options,
    )
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def page(browser: Any, house: House) -> Iterator[Page]:
    opened = new_page(browser, house)
    yield opened
    opened.context.close()
    mark_reached()


def sign_in(page: Page, key: str) -> None:
    page.goto("/console/")
    page.get_by_label("Operator key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def cell(page: Page, queue: str, column: str) -> Any:
    return page.locator(f'tr[data-queue="{queue}"] [data-field="{column}"]')


def eventually(check: Callable[[], bool], timeout: float = 30) -> None:
    wait_for(check, timeout, poll=0.2)


def test_signing_in_shows_every_queue_live_as_events_arrive_and_workers_take_them(
    house: House, page: Page, operator_key: str
) -> None:
    expect = playwright.expect
    sign_in(page, operator_key)
    expect(page).to_have_url(f"{house.url}/console/queues")
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    for queue in ("lifecycle", "cancellations", "billing", "otp", "notifications"):
        expect(page.locator(f'tr[data-queue="{queue}"]')).to_be_visible()
    expect(cell(page, "lifecycle", "workers")).not_to_have_text("0")

    house.stop_worker()
    expect(cell(page, "lifecycle", "workers")).to_have_text("0", timeout=30_000)
    house.publish(purchase("Q1"), purchase("Q2"))
    # No reload: the page refreshes its table by itself.
    expect(cell(page, "lifecycle", "ready")).to_have_text("2")
    shot(page, "queues")
    house.start_worker()
    expect(cell(page, "lifecycle", "ready")).to_have_text("0", timeout=30_000)
    expect(cell(page, "lifecycle", "workers")).not_to_have_text("0")
    shot(page, "queues-drained")


def test_a_bad_event_is_dead_lettered_found_by_filter_and_retried_after_confirming_1(
    house: House, page: Page, operator_key: str
) -> None:
    expect = playwright.expect
    house.start_worker()
    house.publish(cancellation("R1", "2026-06-30T12:00:00+09:00", event_id="late-R1"))
    house.publish(cancellation("R2", "2026-06-30T12:00:00+09:00", event_id="late-R2"))
    sign_in(page, operator_key)
    expect(cell(page, "cancellations", "dead_lettered")).not_to_have_text("0", timeout=30_000)

    page.get_by_role("link", name="Dead letters").first.click()
    expect(page.locator("tbody tr[data-id]").filter(has_text="late-R2")).to_have_count(1)
    shot(page, "dead-letters")
    page.get_by_label("Subscription id").fill("R1")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr[data-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("late-R1")
    expect(rows.first).to_contain_text("unknown_subscription")
    shot(page, "dead-letters-filtered")

    house.publish(purchase("R1"))  # what it waited for has come
    rows.first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Retry selected…").click()
    expect(page.locator(".confirm-count [data-field=count]")).to_have_text("1")
    shot(page, "confirm")
    page.get_by_role("button", name="Retry 1").click()
    expect(page.get_by_role("status")).to_contain_text("1 published again")

    def gone() -> bool:
        page.goto("/console/dead-letters?subscription_id=R1")
        return page.locator("tbody tr[data-id]").count() == 0

    eventually(gone)
    page.goto("/console/subscription?id=R1")
    expect(page.locator('[data-field="license_type"]')).to_have_text("Cancelled")
    page.goto("/console/dead-letters?subscription_id=R2")
    expect(page.locator("tbody tr[data-id]")).to_have_count(1)  # the other one untouched


def test_purging_all_matching_a_filter_touches_only_the_matching_ones(
    house: House, page: Page, operator_key: str
) -> None:
    expect = playwright.expect
    house.start_worker()
    at = "2026-06-30T12:00:00+09:00"
    house.publish(
        cancellation("P1", at, event_id="bulk-P1"),
        cancellation("P1", "2026-06-30T13:00:00+09:00", event_id="bulk-P1-again"),
        cancellation("P2", at, event_id="keep-P2"),
    )
    sign_in(page, operator_key)

    def dead(sub: str, count: int) -> Callable[[], bool]:
        def check() -> bool:
            page.goto(f"/console/dead-letters?subscription_id={sub}")
            return page.locator("tbody tr[data-id]").count() == count

        return check

    eventually(dead("P1", 2))
    eventually(dead("P2", 1))
    page.goto("/console/dead-letters")
    page.get_by_label("Subscription id").fill("P1")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name="Purge all 2 matching…").click()
    expect(page.locator(".confirm-count [data-field=count]")).to_have_text("2")
    expect(page.locator(".confirm-count")).to_contain_text("subscription id = P1")
    page.get_by_role("button", name="Purge 2").click()
    expect(page.get_by_role("status")).to_contain_text("2 purged")
    eventually(dead("P1", 0))
    eventually(dead("P2", 1))


def test_a_month_end_close_is_followed_to_100_percent_with_its_count_and_total(
    house: House, page: Page, operator_key: str
) -> None:
    expect = playwright.expect
    house.start_worker()
    house.publish(purchase("B1", starts_on="2026-05-10"), purchase("B2", starts_on="2026-05-20"))
    sign_in(page, operator_key)
    page.get_by_role("link", name="Billing").click()
    eventually(lambda: house.cli("license", "B2").count("B2") > 0)
    house.cli("tick", "month-end", "--now", "2026-06-01T00:00:00+09:00", "--no-wait")
    row = page.locator('tr[data-period="2026-05"]')
    expect(row.locator('[data-field="close"]')).to_contain_text("100%", timeout=30_000)
    expect(row.locator('[data-field="close"]')).to_contain_text("closed")
    charges = json.loads(house.cli("charges", "--period", "2026-05", "--json"))
    assert {"B1", "B2"} <= {c["subscription_id"] for c in charges}
    # The same count and total as the CLI's ledger.
    expect(row.locator('[data-field="count"]')).to_have_text(f"{len(charges):,}")
    total = sum(c["amount_jpy"] for c in charges)
    expect(row.locator('[data-field="total"]')).to_have_text(f"¥{total:,}")
    expect(page.locator('[data-field="last-closed"]')).to_have_text("2026-05")
    shot(page, "billing")
    with page.expect_download() as download:
        row.get_by_role("link", name="CSV").click()
    saved = Path(download.value.path()).read_text()
    assert saved.splitlines()[0] == "subscription_id,phone,period,amount_jpy"
    assert "****" in saved
    assert "12345678" not in saved


def test_signing_out_refuses_the_pages_after(house: House, page: Page, operator_key: str) -> None:
    expect = playwright.expect
    sign_in(page, operator_key)
    expect(page.locator(".who")).to_have_text("night-shift")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{house.url}/console/sign-in")
    for path in ("/console/queues", "/console/dead-letters", "/console/billing"):
        page.goto(path)
        expect(page).to_have_url(f"{house.url}/console/sign-in")


def test_a_post_without_the_csrf_token_is_refused(
    house: House, page: Page, operator_key: str
) -> None:
    sign_in(page, operator_key)
    page.goto("/console/dead-letters")
    # The browser sends its session cookie (same site), but not the token.
    statuses = page.evaluate(
        """async () => {
          const out = [];
          for (const [path, body] of [
            ["/console/dead-letters/confirm", "act=purge:matching"],
            ["/console/dead-letters/purge", "confirmed=yes&scope=matching&expected=0"],
            ["/console/sign-out", ""],
          ]) {
            const answer = await fetch(path, {method: "POST", body: new URLSearchParams(body)});
            out.push([answer.status, (await answer.text()).includes("CSRF token")]);
          }
          return out;
        }"""
    )
    assert statuses == [[403, True], [403, True], [403, True]]
    page.goto("/console/queues")
    playwright.expect(page.locator(".who")).to_have_text("night-shift")  # still signed in


def test_a_key_without_the_operator_scope_cannot_sign_in(house: House, page: Page) -> None:
    expect = playwright.expect
    sign_in(page, house.key("point-of-sale", "events:*"))
    expect(page.get_by_role("alert")).to_contain_text("no operator scope")
    page.goto("/console/queues")
    expect(page).to_have_url(f"{house.url}/console/sign-in")


def test_every_read_page_works_with_javascript_turned_off(
    browser: Any, house: House, operator_key: str
) -> None:
    expect = playwright.expect
    house.publish(purchase("J1"))
    page = new_page(browser, house, java_script_enabled=False)
    try:
        sign_in(page, operator_key)
        expect(page).to_have_url(f"{house.url}/console/queues")
        expect(page.locator('tr[data-queue="lifecycle"]')).to_be_visible()
        expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(1)
        for link, heading in (
            ("Dead letters", "Dead letters and refused events"),
            ("Billing", "Billing"),
            ("Scheduler", "Scheduler"),
            ("Subscription", "A subscription"),
        ):
            page.get_by_role("link", name=link).first.click()
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        eventually(lambda: house.cli("license", "J1").count("J1") > 0)
        page.get_by_label("Subscription id").fill("J1")
        page.get_by_role("button", name="Look up").click()
        expect(page.locator('[data-field="phone"]')).to_have_text("+81 90-****-5678")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{house.url}/console/sign-in")
    finally:
        page.context.close()
    mark_reached()


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 375, "height": 740})],
)
def test_every_page_fits_the_screen_reads_with_contrast_and_works_from_the_keyboard(
    browser: Any, house: House, operator_key: str, name: str, viewport: dict[str, int]
) -> None:
    expect = playwright.expect
    page = new_page(browser, house, viewport=viewport)
    try:
        sign_in(page, operator_key)
        for path in (
            "/console/queues",
            "/console/dead-letters",
            "/console/billing",
            "/console/scheduler",
            "/console/subscription?id=Q1",
        ):
            page.goto(path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], (path, wide)
            for selector in ("h1", "nav a", "button", "th", "td", ".hint, .who, .count"):
                for element in page.locator(selector).element_handles()[:5]:
                    ratio = element.evaluate(CONTRAST)
                    assert ratio >= 4.5, (path, selector, ratio)
        shot(page, f"subscription-{name}")

        page.goto("/console/queues")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to content"
        for _ in range(6):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Dead letters":
                break
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{house.url}/console/dead-letters")
        page.get_by_label("Event id").focus()
        page.keyboard.type("no-such-event")
        page.keyboard.press("Enter")
        expect(page.locator('[data-field="count"]')).to_contain_text("0 dead letter(s) match")
    finally:
        page.context.close()
    mark_reached()

from subcycle.bootstrap import App
from tests.support import cancellation, purchase, run


def test_a_monthly_cancelled_in_june_is_usable_until_the_end_of_june(app: App) -> None:
    run(app, purchase("S1"), cancellation("S1", "2026-06-15T20:30:00+09:00"))
    sub = app.store.subscriptions.get("S1")
    assert sub is not None
    assert sub.license_type == "Cancelled"
    assert str(sub.service_until) == "2026-06-30"

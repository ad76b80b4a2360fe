"""The demo's login chapter tells the whole login story and ends with ok."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console

from subcycle.bootstrap import App
from subcycle.demo import login
from subcycle.demo.story import Story
from tests.otp_support import with_secret


def test_the_login_chapter_goes_from_a_voice_call_to_ok(make_app: Callable[..., App]) -> None:
    # The demo makes a secret for its run (subcycle/demo); so does this test.
    app = with_secret(make_app)
    out = io.StringIO()

    login.tell(Story(app, Console(file=out, width=200)))

    text = out.getvalue()
    assert text.count("voice →") == 3
    assert "status: registration_required" in text
    assert text.count("sms →") == 1
    assert "verify: invalid_code" in text
    assert text.rstrip().splitlines()[-2].endswith("verify: ok")

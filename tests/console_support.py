"""Driving the console as a browser would, without one: a real HTTP client
(Starlette's TestClient keeps cookies) that reads the tokens off the pages."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def sign_in(client: TestClient, key: str) -> Any:
    """Open the sign-in page and send the key with its form's token."""
    form = client.get("/console/sign-in")
    (token,) = _TOKEN.findall(form.text)
    return client.post(
        "/console/sign-in", data={"token": token, "key": key}, follow_redirects=False
    )


def csrf_of(client: TestClient, path: str = "/console/queues") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = _CSRF.findall(page.text)
    assert found, page.text
    return found[0]


def text_of(page: str) -> str:
    """A page's words, tags dropped and entities read."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def listed_ids(page: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', page)

"""A real browser for the console's tests: Debian's Chromium driven by
Playwright for Python, never a downloaded browser (TRAPS: no ``playwright
install``). Where no Chromium is installed the browser tests skip, except
in CI (``SUBCYCLE_REQUIRE_BROWSER=1``), where they fail; and a CI run in
which no browser test passed fails (tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SUBCYCLE_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("SUBCYCLE_REQUIRE_BROWSER") == "1"
# Where the tests leave their screenshots (CI keeps them as artifacts).
SCREENSHOTS = Path(os.environ.get("SUBCYCLE_SCREENSHOTS", "artifacts/screenshots"))
# Chromium without these keeps dialling out (updates, sync, field trials).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Tests that got a browser and passed, whichever fixture gave it.
REACHED_BROWSER: set[str] = set()


def chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists():
        why = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"a browser is required (SUBCYCLE_REQUIRE_BROWSER=1) but {why}")
        pytest.skip(why)
    return CHROMIUM


def mark_reached() -> None:
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    REACHED_BROWSER.add(current.rsplit(" (", 1)[0])


# WCAG's contrast ratio of an element's text against the first opaque
# background behind it, computed in the page.
CONTRAST = """
(element) => {
  function rgb(text) {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    const parts = m[1].split(",").map((p) => parseFloat(p));
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  }
  function luminance(c) {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  let node = element;
  let back = null;
  while (node && node.nodeType === 1) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.a === 1) { back = c; break; }
    node = node.parentElement;
  }
  back = back || { r: 255, g: 255, b: 255, a: 1 };
  const fore = rgb(getComputedStyle(element).color);
  const [hi, lo] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
"""

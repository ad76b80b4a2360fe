"""Ajv, JavaScript's JSON Schema validator, run by Node.js on the schema and
documents a test hands it (tests/js/validate.mjs).

Skipped when Node.js or tests/js/node_modules is missing, except in CI
(``SUBCYCLE_REQUIRE_NODE=1``, set by .ci/run after ``npm ci``), where it
fails instead: the same rule as the real-Redis tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parent / "js"
REQUIRE_NODE = os.environ.get("SUBCYCLE_REQUIRE_NODE") == "1"


def node_or_skip() -> str:
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "no node on PATH"
    elif not (JS / "node_modules" / "ajv" / "package.json").is_file():
        problem = f"Ajv is not installed: run npm ci in {JS}"
    if problem is not None:
        if REQUIRE_NODE:
            pytest.fail(f"Ajv required (SUBCYCLE_REQUIRE_NODE=1) but {problem}")
        pytest.skip(problem)
    assert node is not None
    return node


def ajv(schema: Any, documents: list[Any] | None = None, strict: str = "default") -> dict[str, Any]:
    """Compile ``schema`` with Ajv 2020 and judge each document.

    Returns ``{"compiled", "error", "warnings", "verdicts": [{"valid", "errors"}]}``.
    """
    request = json.dumps({"schema": schema, "documents": documents or [], "strict": strict})
    done = subprocess.run(
        [node_or_skip(), str(JS / "validate.mjs")],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result

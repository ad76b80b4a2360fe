"""``subcycle schema [--against FILE]``: the contract, and what changed since
an earlier one. A user mistake is a clear message and exit 2, never a
stack trace; a change that breaks publishers is exit 1 with the list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events import json_schema
from subcycle.cli import main

RELEASED = Path(__file__).resolve().parent.parent / "schema" / "events.v1.json"


def test_schema_prints_a_json_schema_2020_12_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json_schema()
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_against_the_released_schema_nothing_breaks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--against", str(RELEASED)]) == 0
    assert "breaking " not in capsys.readouterr().out


def test_a_change_that_breaks_publishers_exits_1_listing_it_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An earlier schema with a field today's models no longer have.
    earlier = json_schema()
    consent = earlier["$defs"]["RenewalConsentGiven"]
    consent["properties"]["channel"] = {"type": "string"}
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(earlier))
    assert main(["schema", "--against", str(path)]) == 1
    out = capsys.readouterr().out
    assert "breaking  RenewalConsentGiven.channel: field removed" in out
    assert out.endswith("1 breaking change(s) for publishers, 0 safe\n")


def test_safe_changes_are_listed_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = json_schema()
    earlier["oneOf"] = [b for b in earlier["oneOf"] if not b["$ref"].endswith("/ExpiryTick")]
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(earlier))
    assert main(["schema", "--against", str(path)]) == 0
    assert (
        capsys.readouterr().out
        == "safe      ExpiryTick: new event type\n0 breaking change(s) for publishers, 1 safe\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        ("[]", "not an event catalogue"),
        ('{"oneOf": [{"$ref": "#/$defs/Gone"}]}', "points nowhere"),
    ],
)
def test_a_file_that_cannot_be_compared_is_a_usage_error_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "earlier.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["schema", "--against", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err

"""The patterns the exported JSON Schema declares, so an upstream's validator
judges a value as subcycle does wherever a regular expression can.

They are written for both engines that read them: ECMAScript with the ``u``
flag (Ajv) and Python's ``re`` (``jsonschema``). So: ``[0-9]``, never
``\\d``; no escape that unicode-mode ECMAScript refuses (``\\-`` outside a
class); ``(?:…)`` and ``(?!…)`` only.

subcycle's own readers (``events.types``) keep their looser shapes and
their specific messages (``offset must be a whole minute within ±14:00``);
these are the contract. tests/test_schema_patterns.py proves each one
against the reader it describes: where a pattern says valid, subcycle
accepts, except for what only subcycle can judge (a 30 February, the
calendar's edges in a timestamp's own offset), and where subcycle accepts,
the pattern says valid (for phones: on the shapes the pattern covers).
"""

from __future__ import annotations

from events import ids

# Years 2000–2199: the calendar (SPEC section 11) is exact for a date and a month.
_YEAR = "2[01][0-9]{2}"
_MONTH = "(?:0[1-9]|1[0-2])"
_DAY = "(?:0[1-9]|[12][0-9]|3[01])"

DAY = f"^{_YEAR}-{_MONTH}-{_DAY}$"
PERIOD = f"^{_YEAR}-{_MONTH}$"

# A timestamp's JST date must be in the calendar; its own offset moves the
# written year one either way (1999-12-31T23:00Z is 2000-01-01 in Tokyo), so
# the pattern admits 1999 and 2200 and subcycle judges those edges.
_OFFSET = "(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
TIMESTAMP = (
    f"^(?:1999|{_YEAR}|2200)-{_MONTH}-{_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]"
    f"(?::[0-5][0-9](?:\\.[0-9]{{1,6}})?)?{_OFFSET}$"
)

# The ids subcycle derives are refused from upstreams (reserved_event_id).
# Every prefix is lower-case letters and hyphens ending in ':', so it needs
# no escaping in either engine (asserted when the module loads).
assert all(p[:-1].replace("-", "").isalpha() and p.endswith(":") for p in ids.RESERVED_PREFIXES)
UPSTREAM_EVENT_ID = "^(?!(?:" + "|".join(ids.RESERVED_PREFIXES) + "))[A-Za-z0-9._:@-]{1,128}$"

# Free text (a product name): no control character, which is Unicode's
# category Cc, exactly these two ranges.
TEXT = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"

# Japanese mobile numbers as phonenumbers' JP metadata classes them: the
# national significant number is [6-9]0[1-9] and seven digits (060, 070, 080,
# 090); 050 is VoIP, 020 a pager, the rest fixed lines or special services.
# Three shapes, each digit, '+' and '-' also full-width (shop terminals send
# them; subcycle normalises them): 09012345678, 090-1234-5678, +819012345678.
_D = "[0-9０-９]"
_LEAD = "[6-9６-９][0０][1-9１-９]"
_ZERO = "[0０]"
_HYPHEN = "[-－]"
PHONE = (
    f"^(?:(?:[+＋][8８][1１]|{_ZERO}){_LEAD}{_D}{{7}}"
    f"|{_ZERO}[6-9６-９][0０]{_HYPHEN}[1-9１-９]{_D}{{3}}{_HYPHEN}{_D}{{4}})$"
)

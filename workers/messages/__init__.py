"""Message templates, one module per kind, one template per locale.

Every template is tested for length: an SMS segment holds 160 characters of
plain ASCII (GSM-7) but only 70 once any Japanese character is in it (UCS-2).
"""

from __future__ import annotations

GSM_SEGMENT = 160
UCS2_SEGMENT = 70


def segment_limit(text: str) -> int:
    """How many characters one SMS segment can hold for ``text``."""
    return GSM_SEGMENT if text.isascii() else UCS2_SEGMENT


def fits_one_segment(text: str) -> bool:
    return len(text) <= segment_limit(text)

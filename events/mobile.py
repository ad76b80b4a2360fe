"""phonenumbers' number type for +81 numbers, its metadata's patterns compiled once.

``phonenumbers.number_type`` looks the region up, rebuilds the national
number and goes through its own regex cache for each of eleven patterns on
every call: a third of ``subcycle publish``'s time for a file of purchases.
This asks the very same metadata, in the very same order
(``phonenumberutil._number_type_helper``), with the patterns compiled when
the module loads. tests/test_events.py checks it against
``phonenumbers.number_type``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneNumberDesc, PhoneNumberType

_Match = Callable[[str], bool]


def _matcher(desc: PhoneNumberDesc | None) -> _Match:
    """``_is_number_matching_desc``: the lengths first, then a full match."""
    if desc is None or not desc.national_number_pattern:
        return lambda nsn: False
    lengths = frozenset(desc.possible_length)
    pattern = re.compile(desc.national_number_pattern)

    def matches(nsn: str) -> bool:
        if lengths and len(nsn) not in lengths:
            return False
        return pattern.fullmatch(nsn) is not None

    return matches


def _classifier() -> Callable[[str], int]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("JP")
    assert metadata is not None
    valid = _matcher(metadata.general_desc)
    # Checked in this order; the first that matches names the type.
    special = [
        (_matcher(metadata.premium_rate), PhoneNumberType.PREMIUM_RATE),
        (_matcher(metadata.toll_free), PhoneNumberType.TOLL_FREE),
        (_matcher(metadata.shared_cost), PhoneNumberType.SHARED_COST),
        (_matcher(metadata.voip), PhoneNumberType.VOIP),
        (_matcher(metadata.personal_number), PhoneNumberType.PERSONAL_NUMBER),
        (_matcher(metadata.pager), PhoneNumberType.PAGER),
        (_matcher(metadata.uan), PhoneNumberType.UAN),
        (_matcher(metadata.voicemail), PhoneNumberType.VOICEMAIL),
    ]
    fixed_line, mobile = _matcher(metadata.fixed_line), _matcher(metadata.mobile)
    same = bool(metadata.same_mobile_and_fixed_line_pattern)

    def number_type(nsn: str) -> int:
        if not valid(nsn):
            return PhoneNumberType.UNKNOWN
        for matches, kind in special:
            if matches(nsn):
                return kind
        if fixed_line(nsn):
            if same or mobile(nsn):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not same and mobile(nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN

    return number_type


japan_number_type = _classifier()
"""The ``PhoneNumberType`` of a +81 national significant number (ASCII digits)."""

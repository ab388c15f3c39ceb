"""Event times: RFC 3339 date-times with an offset, within the years every reader can hold.

One parser for the codec's full way, its generated fast path and the typed endpoints, so
that what one accepts the others accept. Python's `fromisoformat` alone is wider (it takes
`20260101T000000Z`, `2026-01-01 00:00:00` and dates without a time, none of which is an
RFC 3339 date-time, the JSON Schema `format` the contract names) and narrower (it refuses
the lowercase `t` and `z` that RFC 3339 allows).
"""

from __future__ import annotations

import re
from datetime import datetime

from schemas.events.bounds import MAX_YEAR, MIN_YEAR

RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                     r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})")


def parse_time(text: str) -> datetime:
    """The aware datetime `text` names; ValueError saying why when it names none we take."""
    if RFC3339.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time with an offset")
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:  # a 13th month, a 61st second (a leap second is not representable)
        raise ValueError(f"{text!r} is not a date-time that exists") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"{text!r} is not in the years {MIN_YEAR}..{MAX_YEAR}")
    return parsed

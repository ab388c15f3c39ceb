"""Copies of a base event corpus that are new aggregates (pure, bytes in, bytes out).

The simulator makes ~3,000 events/s here; a million-event log would take minutes
to generate. Copy `k` of an encoded event rewrites every UUID (event, conversation,
message and survey ids) and the seed prefix of agent and customer ids, so each copy
is the same realistic traffic on distinct conversations and agents.
"""

from __future__ import annotations

import re

HEX = "0123456789abcdef"
VERSIONS = "012356789abcdef"
"""Every version nibble but 4: a copy's ids can never equal an original UUID4."""
MAX_VARIANTS = 1 + len(VERSIONS) * len(HEX)
# The simulator's ids are UUID4s: version nibble 4 and variant nibble 8, 9, a or b.
_UUID4 = re.compile(rb"([0-9a-f]{8}-[0-9a-f]{4}-)4([0-9a-f]{3}-)[89ab]([0-9a-f]{3}-[0-9a-f]{12})")


def rewrite(raw: bytes, variant: int, seed_prefix: bytes) -> bytes:
    """Copy `variant` (0 = the original) of one encoded event; `seed_prefix` is e.g. b"sim7-"."""
    if not 0 <= variant < MAX_VARIANTS:
        raise ValueError(f"variant must be within [0, {MAX_VARIANTS})")
    if variant == 0:
        return raw
    index = variant - 1
    version, var = VERSIONS[index // len(HEX)].encode(), HEX[index % len(HEX)].encode()
    # Distinct (version, variant) nibble pairs per copy: copies never share an id.
    out = _UUID4.sub(rb"\g<1>" + version + rb"\g<2>" + var + rb"\g<3>", raw)
    return out.replace(seed_prefix, seed_prefix[:-1] + b"v" + str(variant).encode() + b"-")


def rewrite_subject(subject: str, variant: int, seed_prefix: str) -> str:
    """The Kafka key (aggregate id) of copy `variant`, consistent with `rewrite`."""
    return rewrite(subject.encode(), variant, seed_prefix.encode()).decode()

"""The bounds of every value an event carries, stated once as JSON Schema keywords.

Every store downstream must hold whatever passes: PostgreSQL `integer` and `jsonb` (which
refuses a NUL character), JavaScript numbers on the dashboard, Kafka keys in logs and
terminals. So integers have ranges, strings have lengths, identifiers have no control
characters and free text has no NUL.

"Contains none of these characters" is written `not: {pattern: "[...]"}` rather than an
anchored `^[^...]*$`: JSON Schema patterns search, and Python's `$` (used by the
validators here and by the fuzzers that generate from the OpenAPI document) also matches
before a trailing newline, so the anchored form would let `"id\\n"` through.
"""

from __future__ import annotations

from typing import Any

from schemas.events.vocabulary import CHANNELS

CONTROL_CHARACTERS = "[\u0000-\u001f\u007f-\u009f]"
"""C0 and C1 control characters and DEL: none may appear in an identifier."""

NUL = "\u0000"
"""The one character PostgreSQL's jsonb cannot store: none may appear in any string."""

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer a JavaScript reader holds exactly (and well inside `bigint`)."""

MIN_YEAR, MAX_YEAR = 1970, 9000
"""Times fall in these years: old enough for any backfill, far enough from year 1 and 9999
that a UTC offset never overflows Python's or PostgreSQL's dates. JSON Schema cannot
compare times, so the codec checks this (and the ingest a clock skew) after the schema."""

Schema = dict[str, Any]


def contains(pattern: str) -> Schema:
    """A string in which `pattern` occurs (used under `not`; a non-string is left to the
    `type` keyword, so it is reported once)."""
    return {"type": "string", "pattern": pattern}


def identifier(max_length: int = 200) -> Schema:
    """An id or a name (agent, queue, skill, message): 1..max_length, no control characters."""
    return {"type": "string", "minLength": 1, "maxLength": max_length,
            "not": contains(CONTROL_CHARACTERS)}


def text(max_length: int, min_length: int = 0) -> Schema:
    """Free text (a reason, a message, a comment): bounded length, no NUL."""
    schema: Schema = {"type": "string", "maxLength": max_length, "not": contains(NUL)}
    return {**schema, "minLength": min_length} if min_length else schema


def integer(minimum: int, maximum: int) -> Schema:
    """An integer in [minimum, maximum]."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


ID = identifier()
QUEUE = identifier(100)
SKILL = identifier(100)
LANGUAGE_TAG = {**identifier(16), "minLength": 2}
CODE = identifier(100)
"""A resolution or disposition code."""
PRIORITY = integer(0, 10)
PROFICIENCY = integer(1, 10)
SLOTS = integer(0, 100)
"""Conversations an agent may hold at once on one channel (about 8 for messaging)."""

SKILLS: Schema = {"type": "object", "maxProperties": 100, "propertyNames": SKILL,
                  "additionalProperties": PROFICIENCY}
"""Skill -> proficiency (an agent's) or minimum proficiency (a conversation's need)."""

CAPACITY: Schema = {"type": "object", "propertyNames": {"type": "string",
                                                        "enum": sorted(CHANNELS)},
                    "additionalProperties": SLOTS}
"""Channel -> concurrent conversations."""

LANGUAGES: Schema = {"type": "array", "maxItems": 20, "items": LANGUAGE_TAG}

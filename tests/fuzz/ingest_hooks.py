"""Schemathesis hooks for the ingest's fuzzing suite (loaded through SCHEMATHESIS_HOOKS).

One rule of the contract needs a clock and two need calendar arithmetic, which JSON Schema
cannot state: an event's time (and a period's bounds in a query) is at most the allowed
skew ahead of the ingest's clock, in the years 1970..9000, and not a leap second (which
no reader can represent). The OpenAPI document says so in words; here a generated time
that is a real RFC 3339 date-time but breaks one of those rules is moved to now, so a
schema-valid request stays valid under the rules the schema cannot say. A time the
schema itself refuses is left as generated.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

TIME_KEYS = frozenset({"time", "expires_at"})
SKEW = timedelta(minutes=4)  # inside the ingest's default 5 minutes
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                     r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def in_rules(value: str) -> str:
    """`value`, or now when it is a real date-time outside what the rules allow."""
    match = RFC3339.fullmatch(value)
    if match is None:
        return value
    text = value.upper()
    if match.group(3) == "60":  # a leap second: valid RFC 3339, no reader can hold it
        return datetime.now(UTC).isoformat()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return value  # not a real date: the schema's `format` refuses it too
    if not 1970 <= parsed.year <= 9000 or parsed > datetime.now(UTC) + SKEW:
        return datetime.now(UTC).isoformat()
    return value


def within_rules(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: in_rules(v) if k in TIME_KEYS and isinstance(v, str) else within_rules(v)
                for k, v in body.items()}
    if isinstance(body, list):
        return [within_rules(v) for v in body]
    return body


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    return within_rules(body)


QUERY_TIME_KEYS = frozenset({"from", "to"})


@schemathesis.hook
def map_query(ctx: Any, query: Any) -> Any:
    """The same rules for the times of a query (`GET /v1/kpis?from=&to=`)."""
    if not isinstance(query, dict):
        return query
    return {k: in_rules(v) if k in QUERY_TIME_KEYS and isinstance(v, str) else v
            for k, v in query.items()}

"""Values JSON cannot carry: found by path, so a request names them and a reader skips them.

orjson refuses an integer beyond 64 bits and a string holding a lone surrogate (Python's
`json` accepts both); a request body or a stored row may hold either.
"""

from __future__ import annotations

from typing import Any

import orjson


def encodable(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """`value` with each part orjson cannot write replaced by None (a map key that cannot
    be written drops its entry), and the JSON Pointers of those parts."""
    try:
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        return value, []
    except orjson.JSONEncodeError:
        pass
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        found: list[str] = []
        for key, child in value.items():
            where = f"{path}/{_escape(key)}"
            if encodable(key)[1]:
                found.append(where)
                continue
            out[key], inner = encodable(child, where)
            found.extend(inner)
        return out, found
    if isinstance(value, list | tuple):
        parts = [encodable(child, f"{path}/{i}") for i, child in enumerate(value)]
        return [p for p, _ in parts], [where for _, inner in parts for where in inner]
    return None, [path]


def _escape(key: Any) -> str:
    text = key if isinstance(key, str) else str(key)
    # a lone surrogate is written as its escape, or the path itself could not be sent
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("~", "~0").replace("/", "~1")

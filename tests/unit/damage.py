"""A JSON value damaged at any depth: the inputs that decoders and loaders must treat
exactly as their reference implementation does."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

MAX_DEPTH = 3


@st.composite
def damaged(draw: st.DrawFn, obj: Any, junk: st.SearchStrategy[Any],
            extra_keys: tuple[str, ...], depth: int = 0) -> Any:
    """`obj` with keys dropped, given `junk`, or damaged deeper, and now and then one of
    `extra_keys` added (an unknown key, or a known one out of place)."""
    deeper = depth < MAX_DEPTH
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            action = draw(st.sampled_from(("keep", "keep", "keep", "drop", "junk", "deep")))
            if action == "keep":
                out[k] = v
            elif action == "junk":
                out[k] = draw(junk)
            elif action == "deep" and deeper:
                out[k] = draw(damaged(v, junk, extra_keys, depth + 1))
        if draw(st.integers(0, 3)) == 0:
            out[draw(st.sampled_from(extra_keys))] = draw(junk)
        return out
    if isinstance(obj, list) and deeper:
        return ([draw(damaged(x, junk, extra_keys, depth + 1)) for x in obj]
                + draw(st.lists(junk, max_size=1)))
    return draw(junk) if draw(st.integers(0, 2)) == 0 else obj

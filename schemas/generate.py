"""Write the JSON Schema files under schemas/json/ and schemas/asyncapi.json from the catalog.

Run `python -m schemas.generate` after changing an event class.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.asyncapi import document
from schemas.events import EVENT_TYPES
from schemas.json_schema import ENVELOPE_SCHEMA, event_schema

JSON_DIR = Path(__file__).parent / "json"
ASYNCAPI = Path(__file__).parent / "asyncapi.json"
_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def rendered_asyncapi() -> bytes:
    """Exact bytes of the AsyncAPI document."""
    return orjson.dumps(document(), option=_OPTS)


def rendered() -> dict[str, bytes]:
    """File name -> exact bytes of every schema file."""
    files = {"envelope.json": orjson.dumps(ENVELOPE_SCHEMA, option=_OPTS)}
    for wire_type, cls in sorted(EVENT_TYPES.items()):
        files[f"{wire_type}.json"] = orjson.dumps(event_schema(wire_type, cls), option=_OPTS)
    return files


def main() -> None:
    JSON_DIR.mkdir(exist_ok=True)
    for stale in JSON_DIR.glob("*.json"):
        stale.unlink()
    for name, body in rendered().items():
        (JSON_DIR / name).write_bytes(body)
    ASYNCAPI.write_bytes(rendered_asyncapi())
    print(f"wrote {len(rendered())} schema files to {JSON_DIR} and {ASYNCAPI.name}")


if __name__ == "__main__":
    main()

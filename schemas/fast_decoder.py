"""A fast path for the codec: one generated function per event type that decodes an event
only when it is certainly valid, and otherwise declines (returns None).

The codec validates with a compiled JSON Schema validator, parses the times, then builds
the payload and the envelope: four generic passes over every event. For a well-formed
event, which is nearly every one, this does it in one straight pass generated from the
type's own JSON Schema. Its checks are stricter than the schema's (an `int` where the
schema takes any integer-valued number, a `list` where it takes any array), so whatever
it accepts the validators accept too, and it builds exactly what the codec builds from it.
Everything it declines goes the codec's full way, which then accepts or rejects the event
with its usual error and JSON-Pointer paths.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from schemas.envelope import Envelope
from schemas.events import EventData
from schemas.slots import init_setters
from schemas.times import parse_time

FastDecoder = Callable[[dict[str, Any]], "Envelope[EventData] | None"]

_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "format"})
"""Keywords that constrain nothing here: `format` (date-time) is checked by parsing."""


class Unsupported(ValueError):
    """A schema keyword the generator does not translate: that type has no fast path."""


class _Code:
    """Lines of the generated function and the constants they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.scope: dict[str, Any] = {}
        self._names = 0

    def name(self, prefix: str, *value: Any) -> str:
        """A fresh name; bound to `value` in the function's scope when one is given."""
        self._names += 1
        name = f"{prefix}_{self._names}"
        if value:
            (self.scope[name],) = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _check(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    """Lines that `return None` unless the value in `var` certainly satisfies `schema`."""
    keys = schema.keys() - _ANNOTATIONS
    if "anyOf" in keys:
        _check_nullable(code, schema, var, indent)
        return
    if "const" in keys:
        _check_const(code, schema, var, indent)
        return
    kind = schema.get("type")
    if kind == ["number"]:
        kind = "number"
    checks = {"string": _check_string, "integer": _check_number, "number": _check_number,
              "boolean": _check_boolean, "object": _check_object, "array": _check_array}
    if not isinstance(kind, str) or kind not in checks:
        raise Unsupported(f"type {kind!r}")
    checks[kind](code, schema, var, indent)


def _only(schema: dict[str, Any], *allowed: str) -> None:
    extra = schema.keys() - _ANNOTATIONS - {"type", *allowed}
    if extra:
        raise Unsupported(f"keywords {sorted(extra)}")


def _check_nullable(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema, "anyOf")
    options = schema["anyOf"]
    if "type" in schema or len(options) != 2 or options[1] != {"type": "null"}:
        raise Unsupported(f"anyOf {options!r}")
    code.emit(indent, f"if {var} is not None:")
    _check(code, options[0], var, indent + 1)


def _check_const(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema, "const")
    if "type" in schema or not isinstance(schema["const"], str):
        raise Unsupported(f"const {schema['const']!r}")
    code.emit(indent, f"if type({var}) is not str or {var} != {schema['const']!r}:")
    code.emit(indent + 1, "return None")


def _check_string(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema, "minLength", "maxLength", "enum", "not")
    code.emit(indent, f"if type({var}) is not str:")
    code.emit(indent + 1, "return None")
    if "not" in schema:  # only "contains none of": {"not": {"type": "string", "pattern": ...}}
        if schema["not"].keys() != {"type", "pattern"} or schema["not"]["type"] != "string":
            raise Unsupported(f"not {schema['not']!r}")
        search = code.name("search", re.compile(schema["not"]["pattern"]).search)
        code.emit(indent, f"if {search}({var}) is not None:")
        code.emit(indent + 1, "return None")
    if "enum" in schema:
        if not all(isinstance(v, str) for v in schema["enum"]):
            raise Unsupported(f"enum {schema['enum']!r}")
        code.emit(indent, f"if {var} not in {code.name('enum', frozenset(schema['enum']))}:")
        code.emit(indent + 1, "return None")
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None or high is not None:
        bounds = f"{int(low)} <= len({var})" if low is not None else f"len({var})"
        bounds += f" <= {int(high)}" if high is not None else ""
        code.emit(indent, f"if not {bounds}:")
        code.emit(indent + 1, "return None")


def _check_number(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema, "minimum", "maximum")
    # bool is an int subclass but no JSON number; only exact int (and float for "number").
    allowed = "(int_, float_)" if schema["type"] != "integer" else "(int_,)"
    code.scope.update(int_=int, float_=float)
    code.emit(indent, f"if type({var}) not in {allowed}:")
    code.emit(indent + 1, "return None")
    for key, op in (("minimum", "<"), ("maximum", ">")):
        if key in schema:
            limit = schema[key]
            if type(limit) is not int:
                raise Unsupported(f"{key} {limit!r}")
            code.emit(indent, f"if {var} {op} {limit}:")
            code.emit(indent + 1, "return None")


def _check_boolean(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema)
    code.emit(indent, f"if type({var}) is not bool:")
    code.emit(indent + 1, "return None")


def _check_object(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    code.scope["dict_"] = dict
    code.emit(indent, f"if type({var}) is not dict_:")
    code.emit(indent + 1, "return None")
    if "properties" not in schema:  # a map: every key and every value of one schema
        _check_map(code, schema, var, indent)
        return
    _only(schema, "properties", "required", "additionalProperties")
    if schema.get("additionalProperties") is not False:
        raise Unsupported("properties without additionalProperties: false")
    properties: dict[str, Any] = schema["properties"]
    required = set(schema.get("required", ()))
    if not required <= properties.keys():
        raise Unsupported("a required property with no schema")
    allowed = code.name("keys", frozenset(properties))
    needed = code.name("required", frozenset(required))
    code.emit(indent, f"if not ({var}.keys() <= {allowed} and {needed} <= {var}.keys()):")
    code.emit(indent + 1, "return None")
    for name, sub in properties.items():
        value = code.name("v")
        if name in required:
            code.emit(indent, f"{value} = {var}[{name!r}]")
            _check(code, sub, value, indent)
        else:
            code.emit(indent, f"if {name!r} in {var}:")
            code.emit(indent + 1, f"{value} = {var}[{name!r}]")
            _check(code, sub, value, indent + 1)


def _check_map(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema, "additionalProperties", "propertyNames", "maxProperties")
    values = schema.get("additionalProperties")
    if not isinstance(values, dict):
        raise Unsupported("an object with neither properties nor a value schema")
    _check_size(code, schema, var, indent, "minProperties", "maxProperties")
    key, item = code.name("k"), code.name("v")
    code.emit(indent, f"for {key}, {item} in {var}.items():")
    if "propertyNames" in schema:
        _check(code, {"type": "string", **schema["propertyNames"]}, key, indent + 1)
    _check(code, values, item, indent + 1)


def _check_size(code: _Code, schema: dict[str, Any], var: str, indent: int,
                low_key: str, high_key: str) -> None:
    low, high = schema.get(low_key), schema.get(high_key)
    if low is not None:
        code.emit(indent, f"if len({var}) < {int(low)}:")
        code.emit(indent + 1, "return None")
    if high is not None:
        code.emit(indent, f"if len({var}) > {int(high)}:")
        code.emit(indent + 1, "return None")


def _check_array(code: _Code, schema: dict[str, Any], var: str, indent: int) -> None:
    _only(schema, "items", "minItems", "maxItems")
    code.scope["list_"] = list
    code.emit(indent, f"if type({var}) is not list_:")
    code.emit(indent + 1, "return None")
    _check_size(code, schema, var, indent, "minItems", "maxItems")
    if "items" in schema:
        item = code.name("v")
        code.emit(indent, f"for {item} in {var}:")
        _check(code, schema["items"], item, indent + 1)


def _parse_time(code: _Code, source: str, target: str, indent: int) -> None:
    """Lines that parse the RFC 3339 string in `source` as the codec does, or decline."""
    code.emit(indent, "try:")
    code.emit(indent + 1, f"{target} = parse_time({source})")
    code.emit(indent, "except ValueError:")
    code.emit(indent + 1, "return None")


def _build(code: _Code, cls: Any, target: str, values: dict[str, str], indent: int) -> None:
    """Lines that build `cls` into `target` from `values` (field -> expression) as its
    `__init__` would: a value that `d`, the payload, lacks takes the field's default."""
    klass = code.name("cls", cls)
    setters = init_setters(cls)
    fields = dataclasses.fields(cls)
    exprs = []
    for f in fields:
        value = values[f.name]
        if value.startswith("d["):
            if f.default is not dataclasses.MISSING:
                value = f"({value} if {f.name!r} in d else {code.name('default', f.default)})"
            elif f.default_factory is not dataclasses.MISSING:
                factory = code.name("factory", f.default_factory)
                value = f"({value} if {f.name!r} in d else {factory}())"
        exprs.append(value)
    if setters is None:
        args = ", ".join(f"{f.name}={e}" for f, e in zip(fields, exprs, strict=True))
        code.emit(indent, f"{target} = {klass}({args})")
        return
    code.scope["new_"] = object.__new__
    code.emit(indent, f"{target} = new_({klass})")
    for setter, expr in zip(setters, exprs, strict=True):
        code.emit(indent, f"{code.name('set', setter)}({target}, {expr})")


def compile_decoder(wire_type: str, cls: type[EventData], schema: dict[str, Any],
                    time_fields: tuple[str, ...]) -> FastDecoder:
    """The fast path of one type: its envelope and payload checked against `schema`, the
    times parsed, `cls` (whose fields `time_fields` hold datetimes) and the envelope built
    as `codec.from_obj` builds them. Raises `Unsupported` for a schema it cannot check."""
    code = _Code()
    code.scope.update(parse_time=parse_time, dict_=dict)
    code.emit(0, "def decode(o):")
    _check(code, schema, "o", 1)
    _parse_time(code, "o['time']", "time", 1)
    code.emit(1, "d = dict_(o['data'])" if time_fields else "d = o['data']")
    for name in time_fields:
        code.emit(1, f"if {name!r} in d:")
        _parse_time(code, f"d[{name!r}]", f"d[{name!r}]", 2)
    _build(code, cls, "data", {f.name: f"d[{f.name!r}]" for f in dataclasses.fields(cls)}, 1)
    _build(code, Envelope, "event", {
        "id": "o['id']", "source": "o['source']", "type": repr(wire_type),
        "subject": "o['subject']", "time": "time", "data": "data",
        "sequence": "o.get('sequence')", "correlationid": "o.get('correlationid')",
        "causationid": "o.get('causationid')"}, 1)
    code.emit(1, "return event")
    exec("\n".join(code.lines), code.scope)  # noqa: S102 - generated from our own schemas
    decoder: FastDecoder = code.scope["decode"]
    return decoder

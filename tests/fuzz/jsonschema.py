"""Values of a JSON Schema, as hypothesis strategies: the subset pydantic writes for the
contract's models (schemas/*.json): objects with properties, required and
additionalProperties, $ref into $defs, anyOf, enum, const, strings with a pattern, a length or
the date-time format, numbers with bounds, arrays with a size, booleans and null.

hypothesis-jsonschema does this in general, but its object strategy uses an internal API of
hypothesis that the pinned hypothesis no longer has (AttributeError: 'many' object has no
attribute 'more'); the contract's schemas need only this much.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=20)
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def from_json_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    root = root if root is not None else schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return from_json_schema(root["$defs"][name], root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_json_schema(s, root) for s in schema[key]])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return from_json_schema(schema["allOf"][0], root)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_json_schema({**schema, "type": k}, root) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(
            schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False
        )
    if kind == "string":
        return _string(schema)
    if kind == "array":
        items = from_json_schema(schema.get("items", {}), root)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=min(schema.get("maxItems", 4), low + 4))
    if kind == "object":
        return _object(schema, root)
    return ANY_JSON


def _string(schema: dict[str, Any]) -> Any:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if schema.get("format") == "date-time":
        return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)).flatmap(
            lambda d: st.sampled_from(OFFSETS).map(lambda tz: d.replace(tzinfo=tz).isoformat())
        )
    if "pattern" in schema:
        strategy = st.from_regex(schema["pattern"], fullmatch=True)
        return strategy.filter(lambda s: low <= len(s) <= (high if high is not None else 10**9))
    return st.text(min_size=low, max_size=min(high if high is not None else 30, low + 30))


def _object(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    strategies = {name: from_json_schema(sub, root) for name, sub in properties.items()}
    optional = sorted(set(properties) - required)
    extra = schema.get("additionalProperties")

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out = {name: draw(strategies[name]) for name in sorted(required)}
        for name in optional:
            if draw(st.booleans()):
                out[name] = draw(strategies[name])
        if isinstance(extra, dict):
            more = draw(
                st.dictionaries(
                    st.text(min_size=1, max_size=12), from_json_schema(extra, root), max_size=3
                )
            )
            out.update({k: v for k, v in more.items() if k not in out})
        return out

    return build()

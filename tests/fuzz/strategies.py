"""Hostile inputs: events from the contract's JSON Schemas, and mutations of them.

A mutation changes one place of a valid value: a wrong type, a missing field, an extreme
date, a huge string, non-ASCII text, deep nesting or an unknown key; or the envelope
itself. The valid value comes from the schema (jsonschema.py), so every mutation is one step
from a fact a producer could send.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from hypothesis import strategies as st

from talentops.models import detail_types
from tests.fuzz.jsonschema import from_json_schema
from tests.support.cfn import ROOT

SCHEMAS = ROOT / "schemas"
INBOUND = tuple(sorted(detail_types.INBOUND))  # every detail-type the system consumes

EXTREME_DATES = (
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999+14:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-12:00",
    "1970-01-01T00:00:00Z",
    "2038-01-19T03:14:08Z",
    "2076-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-01T00:00:00",  # naive
    "2026-11-01",
    "yesterday",
    "",
    "+275760-09-13T00:00:00Z",
    "2026-11-01T25:61:61Z",
)
ODD_TEXT = (
    "müller@example.de",
    "ada@exämple.de",
    "Ada\u202eevil",
    "\x00",
    "line\r\nBcc: x@evil.example",
    "\udcff",
    "\U0001d518\U0001d52b",  # mathematical letters, outside the BMP
    "Ǆ" * 300,
    "{{ 7*7 }}",
    "<script>alert(1)</script>",
    "c_" + "a" * 40,
    "UK",
    "ZZ",
    "../../etc/passwd",
)
WRONG_TYPES: tuple[Any, ...] = (
    0,
    -1,
    10**30,
    1e308,
    float("-inf"),
    True,
    None,
    [],
    {},
    "x",
    [None],
    {"": None},
)


def schema(detail_type: str) -> dict[str, Any]:
    name = detail_type.lower().replace(" ", "-") + ".json"
    return json.loads((SCHEMAS / name).read_text())


@cache
def detail_of(detail_type: str) -> st.SearchStrategy[Any]:
    return from_json_schema(schema(detail_type))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    target = value
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return value


def _delete(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return value
    target = value
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return value


def nested(depth: int) -> Any:
    value: Any = "deep"
    for n in range(depth):
        value = [value] if n % 2 else {"d": value}
    return value


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """One valid value from `base`, then one mutation at one of its places."""
    value = copy.deepcopy(draw(base))
    path = draw(st.sampled_from(_paths(value)))
    kind = draw(
        st.sampled_from(
            ["type", "delete", "date", "huge", "text", "nest", "unknown", "unicode", "none"]
        )
    )
    if kind == "type":
        return _set(value, path, draw(st.sampled_from(WRONG_TYPES)))
    if kind == "delete":
        return _delete(value, path)
    if kind == "date":
        return _set(value, path, draw(st.sampled_from(EXTREME_DATES)))
    if kind == "huge":
        size = draw(st.sampled_from([10_000, 300_000]))
        return _set(value, path, draw(st.sampled_from(["A", "é", "@", "[", "9"])) * size)
    if kind == "text":
        return _set(value, path, draw(st.sampled_from(ODD_TEXT)))
    if kind == "unicode":
        return _set(value, path, draw(st.text(max_size=40)))
    if kind == "nest":
        return _set(value, path, nested(draw(st.sampled_from([3, 40, 400]))))
    if kind == "unknown":
        target = value
        for part in path:
            target = target[part]
        if isinstance(target, dict):
            target[draw(st.sampled_from(["zz_unknown", "ada@example.org", ""]))] = 1
        return value
    return value  # "none": the valid value itself


def envelope(detail_type: str, detail: Any, source: str = "fuzz.producer") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "00000000-0000-4000-8000-000000000001",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


@st.composite
def hostile_envelope(draw: st.DrawFn, detail_type: str) -> dict[str, Any]:
    """An EventBridge event of `detail_type`: its detail valid or mutated, and now and then
    the envelope itself broken."""
    detail = draw(st.one_of(detail_of(detail_type), mutated(detail_of(detail_type))))
    event = envelope(detail_type, detail)
    event["id"] = draw(
        st.one_of(st.just(event["id"]), st.uuids().map(str), st.text(min_size=1, max_size=80))
    )
    broken = draw(st.sampled_from(["no", "no", "no", "no", "envelope"]))
    if broken == "envelope":
        return draw(mutated(st.just(event)))
    return event


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"r-{n}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764151200000",
                    "SenderId": "fuzz",
                    "ApproximateFirstReceiveTimestamp": "1764151200000",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:fuzz",
                "awsRegion": "eu-west-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def body_of(model: Any) -> st.SearchStrategy[str]:
    """SQS bodies: the model's JSON (valid or mutated), or text that is not JSON."""
    base = from_json_schema(model.model_json_schema(mode="validation"))
    as_json = st.one_of(base, mutated(base)).map(lambda v: json.dumps(v, allow_nan=True))
    return st.one_of(as_json, as_json, as_json, st.text(max_size=200), st.just(""))

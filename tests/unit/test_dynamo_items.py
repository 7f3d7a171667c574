"""How the repositories read DynamoDB items (adapters/dynamo.py ``from_item``): the values
boto3's TypeDeserializer reads, numbers as int (whole) or float, sets as lists, without the
deserializer on the way. boto3's reading is the oracle."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer
from hypothesis import given
from hypothesis import strategies as st

from talentops.adapters.dynamo import from_item, query_all, to_item


def _boto3_reading(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | set):
            return [plain(v) for v in value]
        return value

    deserializer = TypeDeserializer()
    return {k: plain(deserializer.deserialize(v)) for k, v in item.items()}


_values = st.recursive(
    st.one_of(
        st.text(max_size=5),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: abs(f) < 1e9),
        st.booleans(),
        st.none(),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=5))
def test_items_are_read_as_boto3_reads_them(data):
    item = to_item(data)
    assert from_item(item) == _boto3_reading(item)


@pytest.mark.parametrize(
    "text", ["1E+23", "12345678901234567890.0", "9007199254740993.0", "1.5", "-0.0", "1e-7"]
)
def test_numbers_are_read_exactly_as_boto3_reads_them(text):
    item = {"n": {"N": text}, "l": {"L": [{"N": text}]}, "m": {"M": {"x": {"N": text}}}}
    assert from_item(item) == _boto3_reading(item)


def test_sets_and_binary_are_read_as_boto3_reads_them():
    item = {
        "ss": {"SS": ["b", "a", "c"]},
        "ns": {"NS": ["1", "2.5", "1E+2"]},
        "b": {"B": b"\x00\x01"},
        "bs": {"BS": [b"x", b"y"]},
    }
    ours, theirs = from_item(item), _boto3_reading(item)
    assert ours["ss"] == ["b", "a", "c"]  # in the order stored (boto3's set has none)
    for name in ("ss", "ns", "bs"):
        assert sorted(ours[name], key=repr) == sorted(theirs[name], key=repr)
    assert ours["b"] == theirs["b"] == Binary(b"\x00\x01")


def test_a_query_yields_its_items_read_so_page_after_page():
    pages = [
        {"Items": [{"pk": {"S": "a"}, "n": {"N": "1"}}], "LastEvaluatedKey": {"pk": {"S": "a"}}},
        {"Items": [{"pk": {"S": "b"}, "n": {"N": "2.5"}}]},
    ]
    asked: list[dict[str, Any]] = []

    class Client:
        def query(self, **kwargs: Any) -> dict[str, Any]:
            asked.append(dict(kwargs))
            return pages[len(asked) - 1]

    got = list(query_all(Client(), "reading", TableName="t"))
    assert got == [{"pk": "a", "n": 1}, {"pk": "b", "n": 2.5}]
    assert "ExclusiveStartKey" not in asked[0]
    assert asked[1]["ExclusiveStartKey"] == {"pk": {"S": "a"}}

"""DynamoDB (de)serialization shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SER = TypeSerializer()
_DESER = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        from decimal import Decimal

        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _serialize(v) for k, v in data.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    return _serialize(value)


_LARGEST_EXACT = 10**38  # DynamoDB numbers: 38 digits; beyond, boto3 refuses (Inexact)


def _serialize(value: Any) -> dict[str, Any]:
    """``TypeSerializer().serialize(_plain(value))`` without its type probing for the types
    a decision or a profile holds (str, bool, int, None, dict, list); anything else (floats,
    Decimal, sets, bytes, a str subclass, a very large int) goes through boto3 as before."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int and -_LARGEST_EXACT < value < _LARGEST_EXACT:
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    if kind is dict:
        return {"M": {k: _serialize(v) for k, v in value.items()}}
    if kind is list:
        return {"L": [_serialize(v) for v in value]}
    return _SER.serialize(_plain(value))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item's attribute values as plain Python values: numbers as int, or float when not
    whole; sets as lists; what boto3's TypeDeserializer reads, without it and the Decimal of
    every number on the way (several times faster on a profile: every item a repository
    reads goes through here). A text, the most common value by far, is taken where it is
    met, without a call. tests/unit/test_dynamo_items.py holds it to boto3's reading."""
    return {k: v["S"] if "S" in v else _typed(v) for k, v in item.items()}


def _plain_value(kind: str, value: Any) -> Any:
    if kind in {"S", "BOOL"}:
        return value
    if kind == "M":
        return {k: v["S"] if "S" in v else _typed(v) for k, v in value.items()}
    if kind == "N":
        return _number(value)
    if kind == "L":
        return [v["S"] if "S" in v else _typed(v) for v in value]
    if kind == "NULL":
        return None
    if kind == "SS":
        return list(value)
    if kind == "NS":
        return [_number(v) for v in value]
    return _binary(_DESER.deserialize({kind: value}))  # binary (B, BS): as boto3 reads it


def _binary(value: Any) -> Any:
    """boto3's Binary (bytes-like), or a set of them as a list."""
    return list(value) if isinstance(value, set) else value


def _typed(typed: dict[str, Any]) -> Any:
    # The kinds a profile is made of first (an attribute value holds one kind).
    if "S" in typed:
        return typed["S"]
    if "M" in typed:
        return {k: v["S"] if "S" in v else _typed(v) for k, v in typed["M"].items()}
    for kind, value in typed.items():
        return _plain_value(kind, value)
    raise ValueError("an attribute value without a type")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        from decimal import Decimal  # as boto3 reads it (imported when a number needs it)

        # Exact while whole: "1E+23" is 10**23, not the integer of the float nearest to it.
        number = Decimal(text)
        return int(number) if number == number.to_integral_value() else float(number)


def cancellation_codes(exc: Exception) -> list[str]:
    response = getattr(exc, "response", {}) or {}
    return [r.get("Code", "None") for r in response.get("CancellationReasons", [])]


BATCH_WRITE_LIMIT = 25  # requests per BatchWriteItem


def batch_write(ddb: Any, table: str, requests: Sequence[dict[str, Any]], *, what: str) -> None:
    """BatchWriteItem, 25 requests a call, retrying with capped backoff what DynamoDB leaves
    unprocessed; ``what`` names the work in errors."""
    import time

    from botocore.exceptions import ClientError

    from ..errors import StorageError

    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table: list(requests[start : start + BATCH_WRITE_LIMIT])}
        for attempt in range(10):
            try:
                resp = ddb.batch_write_item(RequestItems=pending)
            except ClientError as exc:
                raise StorageError(f"{what} failed") from exc
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.02 * 2**attempt, 1.0))
        else:
            raise StorageError(f"{what}: DynamoDB left some unprocessed")


def query_all(ddb: Any, what: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page by page, as plain Python values (``from_item``: a
    candidate's Query returns every journey instance of theirs)."""
    from botocore.exceptions import ClientError

    from ..errors import StorageError

    while True:
        try:
            resp = ddb.query(**kwargs)
        except ClientError as exc:
            raise StorageError(f"{what} failed") from exc
        for item in resp.get("Items", []):
            yield from_item(item)
        if "LastEvaluatedKey" not in resp:
            return
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

"""DynamoDB request units of the calls a bench counts, by DynamoDB's published rules.

A request is not the unit DynamoDB bills: on demand, it bills read request units (one per
4 KB of item read strongly consistent, half that eventually consistent, twice that in a
transaction) and write request units (one per 1 KB of the larger of the item's images before
and after the write, twice that in a transaction), and every global secondary index an item
is in is written as well (one per 1 KB of its projected entry; a change of the index's key is
a delete and a put). moto answers ``ConsumedCapacity`` with constants, so the units are
computed here from the items moto holds before and after each call:

- item size: each attribute's name and value in UTF-8; a number one byte for every two
  significant digits and one more; a boolean or null one byte; a list or map 3 bytes and one
  more per element; a set the sum of its elements;
- GetItem, BatchGetItem, TransactGetItems: each item rounded up to 4 KB on its own (an item
  not found counts as the smallest read);
- Query, Scan: the items read (the base table's whole items, or an index's projected
  entries), summed and then rounded up to 4 KB once per request (no call measured here has a
  filter, which would read more than it returns);
- PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems (ConditionCheck
  included): each item rounded up to 1 KB on its own, at least one unit, a write whose
  condition failed counted as a write of the item as it was. The index writes are counted
  apart, standard (not doubled in a transaction).

Prices are left out: they differ by region and change; multiply by the on-demand price of
the region (docs/performance.md).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

READ_UNIT = 4096
WRITE_UNIT = 1024

_READS = {"GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def value_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts of one attribute value (DynamoDB JSON), without its name."""
    [(kind, inner)] = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(_octets(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(_octets(b)) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"not a DynamoDB attribute value: {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB bills of an item: each attribute's name and value."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def _number_size(text: str) -> int:
    digits = text.lstrip("-").lower().split("e")[0].replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def _octets(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return base64.b64decode(value)


@dataclass
class Units:
    """Request units: reads, writes of the table, writes of its indexes."""

    read: float = 0.0
    write: float = 0.0
    index_write: float = 0.0

    def add(self, other: Units) -> None:
        self.read += other.read
        self.write += other.write
        self.index_write += other.index_write

    def copy(self) -> Units:
        return Units(self.read, self.write, self.index_write)

    def minus(self, other: Units) -> Units:
        return Units(
            self.read - other.read, self.write - other.write, self.index_write - other.index_write
        )

    def as_dict(self) -> dict[str, float]:
        return {"read": self.read, "write": self.write, "index_write": self.index_write}


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY, INCLUDE
    included: tuple[str, ...] = ()


class Table:
    """A table's keys and global secondary indexes, from create_table's arguments."""

    def __init__(self, name: str, definition: Mapping[str, Any]):
        self.name = name
        self.keys = tuple(k["AttributeName"] for k in definition["KeySchema"])
        self.indexes = {
            g["IndexName"]: Index(
                g["IndexName"],
                tuple(k["AttributeName"] for k in g["KeySchema"]),
                g["Projection"]["ProjectionType"],
                tuple(g["Projection"].get("NonKeyAttributes", ())),
            )
            for g in definition.get("GlobalSecondaryIndexes", ())
        }

    def entry(self, index: Index, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The index's entry of ``item``, or None when the item is not in the index."""
        if item is None or any(k not in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        names = {*self.keys, *index.keys, *index.included}
        return {k: v for k, v in item.items() if k in names}

    def index_writes(
        self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> float:
        """Units written to the indexes when an item goes from ``before`` to ``after``."""
        units = 0.0
        for index in self.indexes.values():
            old, new = self.entry(index, before), self.entry(index, after)
            if old is None and new is None:
                continue
            if old is None:
                units += _write_units(new)
            elif new is None:
                units += _write_units(old)
            elif any(old[k] != new[k] for k in index.keys):
                units += _write_units(old) + _write_units(new)
            elif old != new:
                units += _write_units(new)
        return units


def _write_units(item: Mapping[str, Any] | None) -> float:
    return max(1, math.ceil(item_size(item or {}) / WRITE_UNIT))


def _read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


class Unmetered(Exception):
    """A call whose units the meter cannot give (the reason)."""


class CapacityMeter:
    """Request units of every DynamoDB call of the clients it is attached to, on one table
    held by moto in this process. ``units`` grows while ``active``."""

    def __init__(self, table: Table, region: str):
        self.table = table
        self.region = region
        self.active = False
        self.units = Units()
        self.by_operation: dict[str, Units] = {}
        # Calls whose units these rules cannot give (operation: why). The hooks never raise
        # into the code measured (that would change what it does); the counting window
        # that saw one fails instead (bench/account.py), so that no figure leaves it out.
        self.unmetered: dict[str, str] = {}

    def attach(self, events: Any) -> None:
        me = id(self)
        events.register(
            "before-parameter-build.dynamodb.*", self._before, unique_id=f"bench-units-{me}"
        )
        events.register("after-call.dynamodb.*", self._after, unique_id=f"bench-units-after-{me}")

    # -- moto's items --------------------------------------------------------------------

    def _moto_table(self) -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region].get_table(self.table.name)

    def _image(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._moto_table()
        hash_key = DynamoType(key[self.table.keys[0]])
        range_key = DynamoType(key[self.table.keys[1]]) if len(self.table.keys) > 1 else None
        try:
            found = table.get_item(hash_key, range_key)
        except KeyError:
            return None
        if found is None:
            return None
        return found.to_json()["Attributes"]  # type: ignore[no-any-return]

    def _key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.table.keys}

    # -- the hooks -----------------------------------------------------------------------

    def _writes_of(self, operation: str, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
        """(key, factor) of each item of this meter's table that ``operation`` writes or
        checks (the items of other tables are not read: their keys may be named otherwise)."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            if params["TableName"] == self.table.name:
                yield params.get("Key") or self._key_of(params["Item"]), 1
        elif operation == "BatchWriteItem":
            for r in params["RequestItems"].get(self.table.name, ()):
                if "PutRequest" in r:
                    yield self._key_of(r["PutRequest"]["Item"]), 1
                else:
                    yield r["DeleteRequest"]["Key"], 1
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                [(_, action)] = entry.items()
                if action["TableName"] == self.table.name:
                    yield action.get("Key") or self._key_of(action["Item"]), 2

    def _before(self, params: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
        if not self.active or model is None or context is None:
            return
        if model.name in _READS:
            context["bench_units_params"] = params
        elif model.name in _WRITES:
            try:
                context["bench_units_before"] = [
                    (key, factor, self._image(key))
                    for key, factor in self._writes_of(model.name, params)
                ]
            except (KeyError, TypeError, ValueError) as exc:  # parameters botocore refuses
                self.unmetered[model.name] = f"its parameters: {type(exc).__name__}"

    def _after(self, parsed: Any = None, model: Any = None, context: Any = None, **_: Any) -> None:
        if not self.active or model is None or parsed is None or context is None:
            return
        try:
            if model.name in _WRITES and "bench_units_before" in context:
                units = self._write(context.pop("bench_units_before"))
            elif model.name in _READS and "bench_units_params" in context:
                units = self._read(model.name, parsed, context.pop("bench_units_params"))
            else:
                return
        except Unmetered as exc:
            self.unmetered[model.name] = str(exc)
            return
        self.units.add(units)
        self.by_operation.setdefault(model.name, Units()).add(units)

    def _write(self, images: list[tuple[Any, int, Any]]) -> Units:
        units = Units()
        for key, factor, before in images:
            after = self._image(key)
            units.write += factor * max(_write_units(before), _write_units(after))
            units.index_write += self.table.index_writes(before, after)
        return units

    def _read(self, operation: str, parsed: Mapping[str, Any], params: Mapping[str, Any]) -> Units:
        units = Units()
        if operation == "GetItem":
            if params["TableName"] == self.table.name:
                units.read += _read_units(
                    item_size(self._image(params["Key"]) or {}),
                    consistent=bool(params.get("ConsistentRead")),
                )
        elif operation == "BatchGetItem":
            asked = params["RequestItems"].get(self.table.name)
            # Keys DynamoDB left unprocessed (past 16 MB, or throttled) are read, and billed,
            # by the request that asks for them again.
            left = (parsed.get("UnprocessedKeys") or {}).get(self.table.name) or {}
            unprocessed = [dict(k) for k in left.get("Keys", ())]
            for key in (asked or {}).get("Keys", ()):
                if dict(key) in unprocessed:
                    continue
                units.read += _read_units(
                    item_size(self._image(key) or {}),
                    consistent=bool(asked.get("ConsistentRead")),
                )
        elif operation == "TransactGetItems":
            for entry in params["TransactItems"]:
                get = entry["Get"]
                if get["TableName"] == self.table.name:
                    size = item_size(self._image(get["Key"]) or {})
                    units.read += _read_units(size, consistent=True, transactional=True)
        elif params["TableName"] == self.table.name:  # Query, Scan
            # DynamoDB bills the items a Query or a Scan reads, before its filter: the items
            # it returns are all this meter sees.
            if "Items" not in parsed:
                raise Unmetered("Select=COUNT returns no items to size")
            if parsed.get("ScannedCount", parsed.get("Count")) != parsed.get("Count"):
                raise Unmetered("a filter left out items that were read and billed")
            index = self.table.indexes.get(params.get("IndexName", ""))
            size = 0
            for returned in parsed["Items"]:
                if any(k not in returned for k in self.table.keys):
                    raise Unmetered("its projection left out the table's keys")
                whole = self._image(self._key_of(returned)) or {}
                read = whole if index is None else self.table.entry(index, whole)
                size += item_size(read or {})
            units.read += _read_units(size, consistent=bool(params.get("ConsistentRead")))
        return units

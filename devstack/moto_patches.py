"""moto's DynamoDB, made fast enough for a talent pool of 10,000 on one machine.

1. TransactWriteItems, without copying the whole table for every item.

moto 5 backs up a table before a transaction by deep-copying it once per item of the
transaction (in `DynamoDBBackend.transact_write_items`), so a transaction costs
O(items x table size): a 100-item transaction on a table of a few thousand candidates takes
seconds, and a bulk import or a job-alert fan-out slows down quadratically. `install()`
keeps moto's own implementation (conditions, errors, CancellationReasons) and changes only
the backup: the items the transaction touches are copied before it and put back when it is
cancelled, which is what a rollback needs.

2. Item sizes (the 400 KB item limit, the 1 MB page of a Query or Scan): moto recomputes
them recursively, building a wrapper object per nested value, on every put, every attribute
set and every item a Scan returns; for profiles (nested maps of fields with value, source
and observed_at) that is most of a Scan's time. `_fast_size` computes the same number
without the wrappers.

3. Responses: moto answers DynamoDB through its generic serializer, walking botocore's shape
of every attribute value (about 10 ms a profile item). DynamoDB's wire format is the JSON
moto already holds; it is answered as such (bytes base64-encoded, as DynamoDB sends them).

Installed by the local stack before it serves, and by the job-alert, identity, import and
campaign tests.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from typing import Any

_LOCK = threading.RLock()


def install() -> Any:
    """Patch moto; returns a function that undoes the patch."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_touched_items_only", False):
        return lambda: None

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            snapshot: list[tuple[Any, Any, Any, Any]] = []
            tables: dict[int, Any] = {}
            for entry in transact_items[:100]:
                _, op = next(iter(entry.items()))
                table = self.tables.get(op.get("TableName"))
                if table is None:
                    continue
                key = op.get("Item") if "Item" in op else op.get("Key")
                if not key or table.hash_key_attr not in key:
                    continue
                hash_key = DynamoType(key[table.hash_key_attr])
                range_key = None
                if table.range_key_attr is not None:
                    if table.range_key_attr not in key:
                        continue
                    range_key = DynamoType(key[table.range_key_attr])
                current = table.get_item(hash_key, range_key)
                snapshot.append((table, hash_key, range_key, copy.deepcopy(current)))
                tables[id(table)] = table
            for table in tables.values():
                table.__deepcopy__ = lambda memo, t=table: t  # moto's backup: no copy
            try:
                return original(self, transact_items)  # type: ignore[no-any-return]
            except Exception:
                for table, hash_key, range_key, before in reversed(snapshot):
                    if before is None:
                        table.delete_item(hash_key, range_key)
                    elif range_key is not None:
                        table.items[hash_key][range_key] = before
                    else:
                        table.items[hash_key] = before
                raise
            finally:
                for table in tables.values():
                    del table.__deepcopy__

    transact_write_items._touched_items_only = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    undo_size = _install_fast_size()
    undo_json = _install_plain_json()

    def uninstall() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        undo_size()
        undo_json()

    return uninstall


def _size(value: Any) -> int:
    """moto's DynamoType.size(), iteratively over the wrapped tree it already holds."""
    kind, inner = value.type, value.value
    if kind == "M":
        return sum(len(k.encode("utf-8")) + _size(v) for k, v in inner.items())
    if kind == "L":
        return sum(_size(v) for v in inner)
    if kind == "N":
        return len(str(inner))
    if kind in ("SS", "BS"):
        return sum(len(v if isinstance(v, bytes) else v.encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(len(str(v)) for v in inner)
    if isinstance(inner, bool):
        return 1
    return len(inner if isinstance(inner, bytes) else str(inner).encode("utf-8"))


def _install_fast_size() -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoType.size
    if getattr(original, "_fast", False):
        return lambda: None

    def size(self: Any) -> int:
        return _size(self)

    size._fast = True  # type: ignore[attr-defined]
    size._original = original  # type: ignore[attr-defined]
    DynamoType.size = size  # type: ignore[method-assign]

    def uninstall() -> None:
        DynamoType.size = original  # type: ignore[method-assign]

    return uninstall


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


def _install_plain_json() -> Any:
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if getattr(original, "_plain", False):
        return lambda: None

    def execute_result(self: Any, context: Any) -> tuple[int, dict[str, str], str]:
        body = json.dumps(self.result, default=_json_default)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    execute_result._plain = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]

    def uninstall() -> None:
        DynamoResult.execute_result = original  # type: ignore[method-assign]

    return uninstall

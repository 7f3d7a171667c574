"""moto's TransactWriteItems, without copying the whole table for every item.

moto 5 backs up a table before a transaction by deep-copying it once per item of the
transaction (in `DynamoDBBackend.transact_write_items`), so a transaction costs
O(items x table size): a 100-item transaction on a table of a few thousand candidates takes
seconds, and a bulk import or a job-alert fan-out slows down quadratically. `install()`
keeps moto's own implementation (conditions, errors, CancellationReasons) and changes only
the backup: the items the transaction touches are copied before it and put back when it is
cancelled, which is what a rollback needs.

Installed by the local stack before it serves, and by the job-alert, identity and import tests.
"""

from __future__ import annotations

import copy
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

    def uninstall() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]

    return uninstall

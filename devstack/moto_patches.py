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
Before that, moto converts the answer's typed values to plain ones, asking every string of
an item whether it has a ``to_json`` (a failed attribute lookup each); the plain parts are
now taken as they are, and everything else converted by moto.

4. Queries: moto answers a Query by sorting every item of the table and filtering them by
the partition key (an index by comparing each item's attribute), so a candidate's read costs
O(table) and slows down as the pool grows. A Query of a table's partition now reads that
partition; a Query of a global secondary index reads the items an index of the index's
partition attribute names (kept up to date by every write path: put, update, delete,
transactions and their rollback). moto's own query code still filters, sorts, pages and
projects those items, so the answer is the one it gave before.

5. SQS and EventBridge: every SendMessage computed all of a queue's attributes (three passes
over its messages for the approximate counts) to read one flag, every received message did
so again for its retention period, every ReceiveMessage read the clock twice per message of
the queue (a backlog of thousands after an import), and every rule target re-built jsonpath
parsers (a parser generator run) for the eight paths of an event; a target without an input
transformer (every rule of the stack) reads those eight paths from the event's dict, and
the whole event is no longer serialized for a placeholder the default template lacks. An
UpdateItem parsed its expression and deep-copied the tree for each validation; the tree of an
expression is now parsed once and each validation gets a fresh copy of it from its pickled
form; the validation's count of clauses (recounted for every nested node of the tree:
quadratic in the clauses) counts each node once, and its traversals stop rebuilding their
dispatch tables at every node. The same values and errors, computed once.

6. One lock (`LOCK`) around every request moto serves and every read of its backends the
stack makes itself (schedules, outbox, faults). moto's backends are plain dicts and lists,
not safe for threads: a Query iterating a table while another request wrote it raised
`RuntimeError: dictionary changed size during iteration`. A long poll (ReceiveMessage with
WaitTimeSeconds) lets go of the lock while it waits.

7. Recursion headroom (`deep_expressions`). moto parses an expression into a tree one level
deep per clause and copies and walks it recursively (deepcopy, pickle, its validators), so an
UpdateExpression that DynamoDB accepts (up to 4 KB: the ledger's prune removes up to
`MAX_REMOVALS` = 250 traces in one write) needs more than Python's default 1,000 frames: a
`RecursionError` that moto reports as a cancelled transaction. The limit is raised, never
lowered, for the process (the tests raise it as well, for plain moto).

8. A request's fixed costs paid once: the backend of a host, traversal lookups, random ids.

9. Names converted once: moto's `camelcase_to_underscores` (every action name, every SQS
attribute name at every SendMessage / GetQueueAttributes) answered from a cache.

10. An item's size summed once as it is built. moto checks the 400 KB limit at every
attribute it puts in an item's dict by summing the sizes of every attribute already there, so
building an item (every put, every transaction's put, every answer it converts) costs
O(attributes^2) size computations of nested profiles. The item is built with a running sum
(the sizes are never negative, so the sum passes the limit at the same attribute as moto's
check does, with the same error); an attribute set on an existing item is checked as moto
checks it, the sum taken over the dict without building lists.

11. An UpdateItem's copies of the item, made only when read. moto deep-copies the item twice
for every update: the backend for the table's stream (it has none: the copy is never read),
and the UpdateItem answer for ReturnValues (ALL_OLD, UPDATED_OLD and UPDATED_NEW read it;
NONE, the default, and ALL_NEW do not). A deep copy of a profile (nested maps of wrapped
values) is as costly as the update itself. Each copy is now made only for the readers that
use it, and the answer is the one moto gave before.

12. Condition expressions parsed once. moto parses the ConditionExpression of every write
that has one (a lexer, then a dozen passes over its tokens: 50-140 us a condition, about
17 % of the stack's CPU in `make import`). The tree depends on the call's values only at its
value leaves (each an ``AttributeValue`` of the value as given), so it is parsed once per
expression, names and value names and types with stand-in values, and each parse returns the
tree with the call's values at those leaves: new nodes on the way from the root to each leaf,
the rest shared with the cached tree (moto only evaluates a condition's tree; a
``copy.deepcopy`` of all of it cost 15-40 us, 8 % of the stack's CPU in `make import`).
Anything else (names that are not a dict, a value that is not one typed value) is parsed as
moto parses it; a parse that fails fails as it did, every time.

13. JSON parsed by functions made once per shape, both ways. moto parses every request of a
JSON service (DynamoDB, EventBridge, SQS, Firehose), and botocore every answer the stack's
functions get, by walking botocore's shape of it value by value: a method looked up by name
for each value, and for each typed attribute value of an item all ten members of
``AttributeValue`` tried one by one (moto's side was 10 % of the stack's CPU in `make
import`). Each shape of a model is now turned once into a function that does the same
conversions (blobs decoded, timestamps parsed, and on moto's side integers and floats too;
members renamed, unknown and null members dropped, the model's order kept; on botocore's
side a null in a list kept and tagged unions checked as botocore checks them); a typed
value, which has one member, is converted by looking that member up. A function is made
whole under a lock before any thread can call it. A parser configured otherwise (another
dict type, other blob or timestamp parsers, a subclass) parses as before.

14. A rule's pattern tried on what it names first. moto offers every event to every rule of
the bus, and each rule serializes and parses the whole event, then flattens it, before it
compares a field (the stack's bus has 8 rules; most events match one or two). A
pattern whose `detail-type` or `source` is a list of plain strings matches only an event
whose string value is among them, whatever else it says (moto's own comparison), so an event
whose value is not is refused before that work; every other event is matched by moto.

Installed by the local stack before it serves, and by the job-alert, identity, import and
campaign tests.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import json
import pickle
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# The one lock of moto's state in this process (6. above). Reentrant: a request's handling may
# reach code that takes it again (fault hooks in SES, the stack's own backend reads).
LOCK = threading.RLock()
_LOCK = LOCK


# Frames moto needs for the deepest expression DynamoDB accepts (7. above), with room for the
# caller's own stack: 250 removals take about 1,500.
RECURSION_LIMIT = 20_000


def deep_expressions() -> None:
    """Raise the process's recursion limit to RECURSION_LIMIT (never lower it)."""
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


def install() -> Any:
    """Patch moto; returns a function that undoes the patch."""
    from moto.dynamodb.models import DynamoDBBackend

    deep_expressions()

    if getattr(DynamoDBBackend.transact_write_items, "_touched_items_only", False):
        return lambda: None
    undo = [
        _install_touched_transactions(),
        _install_fast_size(),
        _install_plain_json(),
        _install_partition_query(),
        _install_sqs_attributes(),
        _install_jsonpath_cache(),
        _install_default_event_input(),
        _install_update_expression_cache(),
        _install_condition_cache(),
        _install_compiled_requests(),
        _install_compiled_responses(),
        _install_cheaper_validation(),
        _install_lean_traversal(),
        _install_backend_lookup_cache(),
        _install_cheaper_random_strings(),
        _install_schedule_state_default(),
        _install_name_conversion_cache(),
        _install_item_size_once(),
        _install_unread_copies(),
        _install_rule_prefilter(),
        _install_lock(),
    ]

    def uninstall() -> None:
        for step in reversed(undo):
            step()

    return uninstall


def _install_touched_transactions() -> Any:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.transact_write_items

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
                # Put and Delete replace or remove the item object, which stays as it was;
                # only Update changes it in place: that one is copied.
                kind = next(iter(entry))
                before = copy.deepcopy(current) if kind == "Update" else current
                snapshot.append((table, hash_key, range_key, before))
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
                    _reindex(table, hash_key, range_key)
                raise
            finally:
                for table in tables.values():
                    del table.__deepcopy__

    transact_write_items._touched_items_only = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def uninstall() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]

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


# The types whose values moto's `dynamo_to_dict` returns as they are (none has a `to_json`).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _install_plain_json() -> Any:
    from moto.dynamodb import responses
    from moto.dynamodb.models import utilities

    result_cls = responses.DynamoResult
    original = result_cls.execute_result
    original_to_dict = utilities.dynamo_to_dict
    if getattr(original, "_plain", False):
        return lambda: None

    def execute_result(self: Any, context: Any) -> tuple[int, dict[str, str], str]:
        body = json.dumps(self.result, default=_json_default)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    def dynamo_to_dict(obj: Any) -> Any:
        """moto's conversion of an answer, with its plain parts (dicts, lists, strings,
        numbers) taken without its checks: a string costs moto a failed ``hasattr(obj,
        "to_json")``. Anything else (typed values, datetimes, subclasses) is moto's; its
        recursion comes back here."""
        kind = type(obj)
        if kind in _PLAIN:
            return obj
        if kind is dict:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(item) for item in obj]
        return original_to_dict(obj)

    execute_result._plain = True  # type: ignore[attr-defined]
    dynamo_to_dict.__wrapped__ = original_to_dict  # type: ignore[attr-defined]
    result_cls.execute_result = execute_result  # type: ignore[method-assign]
    utilities.dynamo_to_dict = dynamo_to_dict
    responses.dynamo_to_dict = dynamo_to_dict  # type: ignore[attr-defined]

    def uninstall() -> None:
        result_cls.execute_result = original  # type: ignore[method-assign]
        utilities.dynamo_to_dict = original_to_dict
        responses.dynamo_to_dict = original_to_dict  # type: ignore[attr-defined]

    return uninstall


# -- 4. queries of a partition, and of an index by its partition attribute ---------------------


class _Restriction(threading.local):
    table: Any = None
    items: list[Any] | None = None


_RESTRICT = _Restriction()


class _GsiIndex:
    """Item keys by the value of one attribute (a global secondary index's partition key)."""

    def __init__(self, table: Any, attribute: str):
        self.attribute = attribute
        self.by_value: dict[Any, dict[tuple[Any, Any], None]] = {}
        self.by_key: dict[tuple[Any, Any], Any] = {}
        for item in _every_item(table):
            self.update((item.hash_key, item.range_key), item)

    def update(self, key: tuple[Any, Any], item: Any) -> None:
        old = self.by_key.pop(key, None)
        if old is not None:
            keys = self.by_value.get(old)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self.by_value[old]
        value = item.attrs.get(self.attribute) if item is not None else None
        if value is None or value.type not in ("S", "N", "B"):
            return
        self.by_key[key] = value
        self.by_value.setdefault(value, {})[key] = None


def _every_item(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


def _indexes(table: Any) -> dict[str, _GsiIndex]:
    """The table's index structures, built on first use (attribute name -> index)."""
    found = table.__dict__.get("_devstack_gsi")
    if found is None:
        found = {}
        for index in getattr(table, "global_indexes", None) or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if len(hashes) == 1 and hashes[0] not in found:
                found[hashes[0]] = _GsiIndex(table, hashes[0])
        table.__dict__["_devstack_gsi"] = found
    return found  # type: ignore[no-any-return]


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    indexes = table.__dict__.get("_devstack_gsi")
    if not indexes:
        return
    partition = table.items.get(hash_key)
    if table.range_key_attr:
        item = partition.get(range_key) if isinstance(partition, dict) else None
    else:
        item = partition
    for index in indexes.values():
        index.update((hash_key, range_key if table.range_key_attr else None), item)


def _sort_like_moto(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _query_candidates(table: Any, hash_key: Any, index_name: Any, conditions: Any) -> Any:
    """The items a Query can answer with (sorted as moto sorts a table), or None: every item."""
    if not index_name:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)  # .get: items is a defaultdict
        if partition is None:
            return []
        found = list(partition.values()) if table.range_key_attr else [partition]
        return _sort_like_moto(found)
    if not conditions or len(conditions) != 1:
        return None
    attribute, value = conditions[0]
    index = _indexes(table).get(attribute)
    if index is None or getattr(value, "type", None) not in ("S", "N", "B"):
        return None
    found = []
    for key_hash, key_range in index.by_value.get(value, {}):
        partition = table.items.get(key_hash)
        item = partition.get(key_range) if table.range_key_attr and partition else partition
        if item is not None:
            found.append(item)
    return _sort_like_moto(found)


def _install_partition_query() -> Any:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    originals: dict[str, Any] = {
        "query": Table.query,
        "all_items": Table.all_items,
        "put_item": Table.put_item,
        "delete_item": Table.delete_item,
        "update_item": DynamoDBBackend.update_item,
    }
    if getattr(originals["query"], "_partition", False):
        return lambda: None

    def all_items(self: Any) -> list[Any]:
        if _RESTRICT.table is self and _RESTRICT.items is not None:
            return list(_RESTRICT.items)
        return originals["all_items"](self)  # type: ignore[no-any-return]

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name")
        if index_name is None and len(args) >= 7:
            index_name = args[6]
        restricted = _query_candidates(
            self, hash_key, index_name, kwargs.get("hash_key_conditions")
        )
        if restricted is None:
            return originals["query"](self, hash_key, *args, **kwargs)
        previous = (_RESTRICT.table, _RESTRICT.items)
        _RESTRICT.table, _RESTRICT.items = self, restricted
        try:
            return originals["query"](self, hash_key, *args, **kwargs)
        finally:
            _RESTRICT.table, _RESTRICT.items = previous

    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = originals["put_item"](self, item_attrs, *args, **kwargs)
        _reindex(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = originals["delete_item"](self, hash_key, range_key)
        _reindex(self, hash_key, range_key)
        return item

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kw: Any) -> Any:
        from moto.dynamodb.models.dynamo_type import DynamoType

        try:
            return originals["update_item"](self, table_name, key, *args, **kw)
        finally:
            table = self.tables.get(table_name)
            if table is not None and table.hash_key_attr in key:
                range_key = (
                    DynamoType(key[table.range_key_attr])
                    if table.range_key_attr and table.range_key_attr in key
                    else None
                )
                _reindex(table, DynamoType(key[table.hash_key_attr]), range_key)

    query._partition = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign,assignment]
    Table.all_items = all_items  # type: ignore[method-assign,assignment]
    Table.put_item = put_item  # type: ignore[method-assign,assignment]
    Table.delete_item = delete_item  # type: ignore[method-assign,assignment]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        Table.query = originals["query"]  # type: ignore[method-assign]
        Table.all_items = originals["all_items"]  # type: ignore[method-assign]
        Table.put_item = originals["put_item"]  # type: ignore[method-assign]
        Table.delete_item = originals["delete_item"]  # type: ignore[method-assign]
        DynamoDBBackend.update_item = originals["update_item"]  # type: ignore[method-assign]

    return uninstall


# -- 5. SQS attributes and jsonpath parsers, computed once -------------------------------------


class _CheapAttributes(threading.local):
    active: bool = False


_CHEAP = _CheapAttributes()
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _install_sqs_attributes() -> Any:
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    original_attributes = Queue.attributes
    original_messages = Queue.messages
    original_send = SQSBackend.send_message
    original_valid = SQSBackend.is_message_valid_based_on_retention_period
    if getattr(original_send, "_cheap", False):
        return lambda: None
    getter = original_attributes.fget  # type: ignore[attr-defined]

    def attributes(self: Any) -> dict[str, Any]:
        if not _CHEAP.active:
            return getter(self)  # type: ignore[no-any-return]
        # SendMessage reads one setting: the counts (passes over every message) are left out.
        saved = self.BASE_ATTRIBUTES
        self.BASE_ATTRIBUTES = [name for name in saved if name not in _COUNTS]
        try:
            return getter(self)  # type: ignore[no-any-return]
        finally:
            del self.BASE_ATTRIBUTES

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        previous = _CHEAP.active
        _CHEAP.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            _CHEAP.active = previous

    def messages(self: Any) -> list[Any]:
        # moto's own test (visible and not delayed), with one clock reading for the whole
        # queue instead of two per message: a queue with a backlog is read at every receive.
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def is_valid(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    send_message._cheap = True  # type: ignore[attr-defined]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    Queue.messages = property(messages)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = is_valid  # type: ignore[method-assign]

    def uninstall() -> None:
        Queue.attributes = original_attributes  # type: ignore[method-assign]
        Queue.messages = original_messages  # type: ignore[method-assign]
        SQSBackend.send_message = original_send  # type: ignore[method-assign]
        SQSBackend.is_message_valid_based_on_retention_period = original_valid  # type: ignore[method-assign]

    return uninstall


def _install_default_event_input() -> Any:
    from moto.events.utils import EventTemplateParser

    original = EventTemplateParser.__dict__["parse"]
    if getattr(original.__func__, "_default_input", False):
        return lambda: None
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    fields = tuple(EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP.items())
    simple = all(path == f"$.{name}" for name, path in fields)
    stringify = EventTemplateParser._stringify

    def parse(input_template: Any, input_paths_map: Any, event: Any) -> Any:
        """A target without an input transformer gets the default template, filled the way
        moto fills it (the same string, then parsed), with each "$.name" read from the
        event's dict instead of through a JSONPath, and the whole event not serialized for
        a placeholder the default template does not have."""
        if input_template or input_paths_map or not simple or type(event) is not dict:
            return original.__func__(input_template, input_paths_map, event)
        filled = template
        for name, _ in fields:
            if name in event:
                result = stringify(event[name])
                if result:
                    filled = filled.replace(f"<{name}>", result)
        _ = event["ingestion-time"]  # moto reads it: a KeyError without it
        if "<aws.events.event." in filled:  # a value spelled a placeholder: moto's way
            return original.__func__(input_template, input_paths_map, event)
        return json.loads(filled)

    parse._default_input = True  # type: ignore[attr-defined]
    parse.__wrapped__ = original.__func__  # type: ignore[attr-defined]
    EventTemplateParser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        EventTemplateParser.parse = original  # type: ignore[method-assign]

    return uninstall


def _install_jsonpath_cache() -> Any:
    from jsonpath_ng import ext

    original = ext.parse
    if getattr(original, "cache_info", None) is not None:
        return lambda: None
    cached = functools.lru_cache(maxsize=512)(original)
    ext.parse = cached  # type: ignore[assignment]

    def uninstall() -> None:
        ext.parse = original  # type: ignore[assignment]

    return uninstall


_PICKLED = "_devstack_pickled"


def _fresh_copy(value: Any) -> Any:
    """What moto's validators deep-copy: a parsed expression (from its pickled form when it
    came from the cache below), else anything, as copy.deepcopy copies it."""
    pickled = getattr(value, _PICKLED, None) if not isinstance(value, type) else None
    if isinstance(pickled, bytes):
        return pickle.loads(pickled)  # noqa: S301 - bytes this process pickled itself
    return copy.deepcopy(value)


def _install_update_expression_cache() -> Any:
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]
        UpdateExpressionParser,
    )

    original_make = UpdateExpressionParser.make
    original_copy = validators.deepcopy
    if getattr(original_make, "_cached", False):
        return lambda: None
    parsed = original_make.__func__  # type: ignore[attr-defined]

    @functools.lru_cache(maxsize=1024)
    def pickled_tree(cls: Any, expression: str) -> bytes:
        return pickle.dumps(parsed(cls, expression), pickle.HIGHEST_PROTOCOL)

    def make(cls: Any, expression_str: str) -> Any:
        if not isinstance(expression_str, str):
            return parsed(cls, expression_str)
        data = pickled_tree(cls, expression_str)
        tree = pickle.loads(data)  # noqa: S301 - bytes this process pickled itself
        with contextlib.suppress(AttributeError):
            setattr(tree, _PICKLED, data)
        return tree

    make._cached = True  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(make)  # type: ignore[assignment,method-assign]
    validators.deepcopy = _fresh_copy  # type: ignore[attr-defined,assignment]

    def uninstall() -> None:
        UpdateExpressionParser.make = original_make  # type: ignore[method-assign]
        validators.deepcopy = original_copy  # type: ignore[attr-defined]

    return uninstall


_STAND_IN = "\x00stand-in:"


def _children(node: Any) -> Iterable[Any]:
    """The parts of a node of a condition's tree (an op's operands, a function's arguments,
    the items of their lists and tuples); none for anything else."""
    if type(node) in (list, tuple):
        return node  # type: ignore[no-any-return]
    if hasattr(node, "__dict__") and not isinstance(node, type):
        return vars(node).values()
    return ()


def _value_leaves(node: Any, leaf_type: type) -> Iterator[Any]:
    """Every ``leaf_type`` object in a condition's tree (its ops, functions and operands)."""
    if isinstance(node, leaf_type):
        yield node
    else:
        for child in _children(node):
            yield from _value_leaves(child, leaf_type)


def _install_condition_cache() -> Any:
    from moto.dynamodb.comparisons import AttributeValue, ConditionExpressionParser

    original_parse = ConditionExpressionParser.parse
    if getattr(original_parse, "_cached", False):
        return lambda: None

    @functools.lru_cache(maxsize=1024)
    def template(
        expression: str,
        names: tuple[tuple[str, str], ...] | None,
        shapes: tuple[tuple[str, str], ...] | None,
    ) -> tuple[Any, dict[int, str], frozenset[int], list[str], list[str]]:
        stand_ins = None if shapes is None else {n: {t: _STAND_IN + n} for n, t in shapes}
        parser = ConditionExpressionParser(
            expression, None if names is None else dict(names), stand_ins
        )
        tree = original_parse(parser)
        leaves = {
            id(leaf): leaf.value.removeprefix(_STAND_IN)
            for leaf in _value_leaves(tree, AttributeValue)
            if isinstance(leaf.value, str) and leaf.value.startswith(_STAND_IN)
        }
        holders: set[int] = set()
        _holders(tree, leaves, holders)
        paths = frozenset(holders)
        return tree, leaves, paths, parser.expr_attr_names_found, parser.expr_attr_values_found

    def parse(self: Any) -> Any:
        expression = self.condition_expression
        names = self.expression_attribute_names
        values = self.expression_attribute_values
        if (
            not isinstance(expression, str)
            or not expression
            or (names is not None and not isinstance(names, dict))
            or (values is not None and not _typed_values(values))
        ):
            return original_parse(self)
        tree, leaves, paths, names_found, values_found = template(
            expression,
            None if names is None else tuple(sorted(names.items())),
            None if values is None else tuple(sorted((n, *v) for n, v in values.items())),
        )
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return _with_values(tree, leaves, paths, values, AttributeValue)

    parse._cached = True  # type: ignore[attr-defined]
    parse.__wrapped__ = original_parse  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]

    def uninstall() -> None:
        ConditionExpressionParser.parse = original_parse  # type: ignore[method-assign]

    return uninstall


def _holders(node: Any, leaves: dict[int, str], found: set[int]) -> bool:
    """Whether ``node`` is a stand-in leaf or holds one at any depth; adds to ``found`` the
    ids of the nodes that hold one (ops, functions, their lists and tuples): the nodes a parse
    with the call's values copies."""
    if id(node) in leaves:
        return True
    holds = False
    for child in _children(node):
        holds = _holders(child, leaves, found) or holds
    if holds:
        found.add(id(node))
    return holds


def _with_values(
    node: Any, leaves: dict[int, str], paths: frozenset[int], values: Any, leaf_type: type
) -> Any:
    """A condition's tree with the call's values at its stand-in leaves. Only the nodes on
    the way to a leaf are new (as ``copy.deepcopy`` would make them: the same class, the same
    attributes); the rest of the tree is shared with the cached one, which nothing changes
    after the parse (moto only evaluates a condition's tree)."""
    name = leaves.get(id(node))
    if name is not None:
        return leaf_type(values[name])
    if id(node) not in paths:
        return node
    if type(node) is list:
        return [_with_values(c, leaves, paths, values, leaf_type) for c in node]
    if type(node) is tuple:
        return tuple(_with_values(c, leaves, paths, values, leaf_type) for c in node)
    copied = object.__new__(type(node))
    copied.__dict__.update(
        (k, _with_values(v, leaves, paths, values, leaf_type)) for k, v in vars(node).items()
    )
    return copied


def _install_compiled_requests() -> Any:
    from moto.core import parse

    parser_cls = parse.JSONParser
    original = parser_cls._parse_json_body
    if getattr(original, "_compiled", False):
        return lambda: None
    rules = _Conversions(
        blob=parse.default_blob_parser,
        timestamp=parse.default_timestamp_parser,
        undefined=parse.UNDEFINED,
        sparse_lists=False,
        unions=None,
        name="_devstack_request_parse",
    )

    def parse_json_body(self: Any, raw_body: Any, shape: Any) -> Any:
        if (
            type(self) is not parser_cls
            or self.MAP_TYPE is not dict
            or self._blob_parser is not parse.default_blob_parser
            or self._timestamp_parser is not parse.default_timestamp_parser
        ):
            return original(self, raw_body, shape)
        return rules.of(shape)(self._parse_body_as_json(raw_body))

    parse_json_body._compiled = True  # type: ignore[attr-defined]
    parse_json_body.__wrapped__ = original  # type: ignore[attr-defined]
    parser_cls._parse_json_body = parse_json_body

    def uninstall() -> None:
        parser_cls._parse_json_body = original

    return uninstall


def _install_compiled_responses() -> Any:
    import logging

    from botocore import parsers

    parser_cls = parsers.JSONParser
    original = parser_cls._handle_json_body
    if getattr(original, "_compiled", False):
        return lambda: None
    default_blob = parsers.ResponseParser._default_blob_parser
    log = logging.getLogger(parsers.__name__)

    def unknown_member(shape: Any, value: Any, names: frozenset[str]) -> Any:
        """botocore's check of a tagged union (exactly one member set) and its answer for
        a member the model does not know; None when the member is known."""
        cleaned = {k: v for k, v in value.items() if k != "__type" and v is not None}
        if len(cleaned) != 1:
            raise parsers.ResponseParserError(
                f"Invalid service response: {shape.name} must have one and only one member set."
            )
        tag = next(iter(cleaned))
        if tag in names:
            return None
        log.info(
            "Received a tagged union response with member unknown to client: %s. "
            "Please upgrade SDK for full response support.",
            tag,
        )
        return {"SDK_UNKNOWN_MEMBER": {"name": tag}}

    rules = _Conversions(
        blob=base64.b64decode,
        timestamp=parsers.DEFAULT_TIMESTAMP_PARSER,
        undefined=None,
        sparse_lists=True,
        unions=unknown_member,
        name="_devstack_response_parse",
    )

    def handle_json_body(self: Any, raw_body: Any, shape: Any) -> Any:
        blob = self._blob_parser
        if (
            type(self) is not parser_cls
            or getattr(blob, "__func__", None) is not default_blob
            or self._timestamp_parser is not parsers.DEFAULT_TIMESTAMP_PARSER
            or shape is None
        ):
            return original(self, raw_body, shape)
        return rules.of(shape)(self._parse_body_as_json(raw_body))

    handle_json_body._compiled = True  # type: ignore[attr-defined]
    handle_json_body.__wrapped__ = original  # type: ignore[attr-defined]
    parser_cls._handle_json_body = handle_json_body

    def uninstall() -> None:
        parser_cls._handle_json_body = original

    return uninstall


class _Conversions:
    """A JSON parse of a value of a botocore shape (moto's request parse, botocore's
    response parse) as one function, made once per shape of a service: structures, lists
    and maps convert their parts, blobs are decoded, timestamps parsed (and, where
    ``undefined`` is given, integers and floats: moto's request parse); anything else is
    the value itself. The parsers differ in three ways, given here: botocore keeps a null in
    a list (``sparse_lists``) and checks tagged unions (``unions``: the answer for a member
    the model does not know, or None), moto does neither."""

    def __init__(
        self,
        *,
        blob: Callable[[Any], Any],
        timestamp: Callable[[Any], Any],
        undefined: Any,
        sparse_lists: bool,
        unions: Callable[[Any, Any, frozenset[str]], Any] | None,
        name: str,
    ):
        self.blob, self.timestamp, self.undefined = blob, timestamp, undefined
        self.sparse_lists, self.unions = sparse_lists, unions
        self._attribute = name  # where a shape keeps its function
        # Functions by shape name, for each model's shapes (a model's resolver): a shape of a
        # given name is one definition in one model. Filled under the lock: a function is
        # known (for the recursion of shapes that contain themselves) before its parts are.
        self._known: weakref.WeakKeyDictionary[Any, dict[str, Callable[[Any], Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def of(self, shape: Any) -> Callable[[Any], Any]:
        """The function of ``shape``, made whole before any thread can call it, and kept on
        the shape (an operation's input or output shape lives as long as its model)."""
        found = shape.__dict__.get(self._attribute)
        if found is None:
            with self._lock:
                found = self._of(shape)
            shape.__dict__[self._attribute] = found
        return found  # type: ignore[no-any-return]

    def _of(self, shape: Any) -> Callable[[Any], Any]:
        kind = shape.type_name
        if kind == "structure" and shape.is_document_type:
            return _as_is
        if kind not in ("structure", "list", "map"):
            return self._scalar(kind)
        known = self._known.setdefault(shape._shape_resolver, {}) if shape.name else {}
        found = known.get(shape.name)
        if found is not None:
            return found
        if kind == "list":
            return self._list(shape, known)
        if kind == "map":
            return self._map(shape, known)
        return self._structure(shape, known)

    def _scalar(self, kind: str) -> Callable[[Any], Any]:
        if kind == "blob":
            return self.blob
        if kind == "timestamp":
            return self.timestamp
        undefined = self.undefined
        if undefined is not None and kind in ("float", "double"):
            return lambda value: value if value is undefined else float(value)
        if undefined is not None and kind in ("integer", "byte", "short", "long"):
            return lambda value: value if value is undefined else int(value)
        return _as_is

    def _list(self, shape: Any, known: dict[str, Any]) -> Callable[[Any], Any]:
        member: list[Callable[[Any], Any]] = []
        sparse = self.sparse_lists

        def convert(node: Any) -> Any:
            one = member[0]
            if sparse:
                return [None if item is None else one(item) for item in node]
            return [one(item) for item in node]

        known[shape.name] = convert
        member.append(self._of(shape.member))
        return convert

    def _map(self, shape: Any, known: dict[str, Any]) -> Callable[[Any], Any]:
        parts: list[Callable[[Any], Any]] = []

        def convert(value: Any) -> Any:
            key_of, value_of = parts
            return {key_of(k): value_of(v) for k, v in value.items()}

        known[shape.name] = convert
        parts += (self._of(shape.key), self._of(shape.value))
        return convert

    def _structure(self, shape: Any, known: dict[str, Any]) -> Callable[[Any], Any]:
        members: list[tuple[str, str, Callable[[Any], Any]]] = []
        by_json_name: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        union = self.unions if shape.is_tagged_union else None
        names: frozenset[str] = frozenset()

        def convert(value: Any) -> Any:
            if value is None:
                return None
            if union is not None:
                unknown = union(shape, value, names)
                if unknown is not None:
                    return unknown
            if len(value) == 1 and by_json_name:  # one member given (a typed value)
                ((json_name, raw),) = value.items()
                found = by_json_name.get(json_name)
                if found is None or raw is None:
                    return {}
                return {found[0]: found[1](raw)}
            parsed = {}
            for name, json_name, convert_member in members:
                raw = value.get(json_name)
                if raw is not None:
                    parsed[name] = convert_member(raw)
            return parsed

        known[shape.name] = convert
        for name, member_shape in shape.members.items():
            json_name = member_shape.serialization.get("name", name)
            convert_member = self._of(member_shape)
            members.append((name, json_name, convert_member))
            by_json_name.setdefault(json_name, (name, convert_member))
        names = frozenset(json_name for _, json_name, _ in members)
        if len(by_json_name) < len(members):  # two members read one name: the full loop
            by_json_name.clear()
        return convert


def _as_is(value: Any) -> Any:
    return value


def _typed_values(values: Any) -> bool:
    """Expression attribute values each given as one typed value (``{"S": "..."}``), their
    names and types strings: what a stand-in can take the place of."""
    return isinstance(values, dict) and all(
        isinstance(n, str)
        and isinstance(v, dict)
        and len(v) == 1
        and isinstance(next(iter(v)), str)
        for n, v in values.items()
    )


def _clause_count(node: Any, kind: type, memo: dict[tuple[int, type], int], walk: Any) -> int:
    """``len(node.find_clauses([kind]))``, each subtree counted once."""
    key = (id(node), kind)
    found = memo.get(key)
    if found is None:
        found = 0
        for child in node.children or []:
            if type(child) is kind:
                found += 1
            elif isinstance(child, walk):
                found += _clause_count(child, kind, memo, walk)
        memo[key] = found
    return found


def _install_cheaper_validation() -> Any:
    from moto.core import responses as core_responses
    from moto.dynamodb.exceptions import TooManyClauses
    from moto.dynamodb.parsing import ast_nodes as nodes_module
    from moto.dynamodb.parsing import validators

    ast_nodes: Any = nodes_module
    traverser = ast_nodes.DepthFirstTraverser
    original_nodes = traverser.nodes_to_be_processed
    original_process = traverser.process
    original_count = validators.ActionCountValidator.traverse
    original_names = core_responses.method_names_from_class
    if getattr(original_nodes, "_cached", False):
        return lambda: None
    walk = (ast_nodes.Expression, ast_nodes.UpdateExpressionFunction)
    kinds = (
        (ast_nodes.UpdateExpressionAddClause, "ADD"),
        (ast_nodes.UpdateExpressionRemoveClause, "REMOVE"),
        (ast_nodes.UpdateExpressionSetClause, "SET"),
    )

    def processing_map(self: Any) -> dict[Any, Any]:
        found = self.__dict__.get("_devstack_map")
        if found is None:
            found = self._processing_map()
            self.__dict__["_devstack_map"] = found
        return found  # type: ignore[no-any-return]

    def nodes_to_be_processed(self: Any) -> tuple[Any, ...]:
        found = self.__dict__.get("_devstack_nodes")
        if found is None:
            found = tuple(processing_map(self))
            self.__dict__["_devstack_nodes"] = found
        return found  # type: ignore[no-any-return]

    def process(self: Any, node: Any) -> Any:
        for class_key, processor in processing_map(self).items():
            if isinstance(node, class_key):
                return processor(node)
        return None

    def count_actions(self: Any, node: Any) -> Any:
        # The order moto checks in: children before their parent (depth first), and in a
        # node ADD, then REMOVE, then SET.
        memo: dict[tuple[int, type], int] = {}

        def visit(current: Any) -> None:
            if not isinstance(current, ast_nodes.Node):
                return
            for child in current.children or []:
                visit(child)
            if isinstance(current, ast_nodes.UpdateExpression):
                for kind, name in kinds:
                    if _clause_count(current, kind, memo, walk) > 1:
                        raise TooManyClauses(name)

        visit(node)
        return node

    names_cache: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        found = names_cache.get(clazz)
        if found is None:
            found = names_cache[clazz] = original_names(clazz)
        return list(found)

    nodes_to_be_processed._cached = True  # type: ignore[attr-defined]
    traverser.nodes_to_be_processed = nodes_to_be_processed  # type: ignore[method-assign]
    traverser.process = process  # type: ignore[method-assign]
    validators.ActionCountValidator.traverse = count_actions  # type: ignore[method-assign]
    core_responses.method_names_from_class = method_names_from_class

    def uninstall() -> None:
        traverser.nodes_to_be_processed = original_nodes  # type: ignore[method-assign]
        traverser.process = original_process  # type: ignore[method-assign]
        validators.ActionCountValidator.traverse = original_count  # type: ignore[method-assign]
        core_responses.method_names_from_class = original_names

    return uninstall


# -- 8. a request's fixed costs: its backend found once, its traversals lean --------------------


_MISSING = object()


def _install_lean_traversal() -> Any:
    """moto's DepthFirstTraverser, node for node, with what it looked up at every node of every
    pass (is this node's class processed? by which processor? is there a child hook?) looked
    up once per class. Ten passes over the tree of every UpdateExpression."""
    from moto.dynamodb.parsing import ast_nodes as nodes_module

    ast_nodes: Any = nodes_module
    traverser = ast_nodes.DepthFirstTraverser
    node_class = ast_nodes.Node
    original = traverser.traverse_node_recursively
    if getattr(original, "_lean", False):
        return lambda: None
    base_hook = traverser.pre_processing_of_child
    # (traverser class, node class) -> the key of the processing map that processes it, or None
    keys: dict[tuple[type, type], Any] = {}

    def key_for(self: Any, kind: type) -> Any:
        found = keys.get((type(self), kind), _MISSING)
        if found is _MISSING:
            processed = self.nodes_to_be_processed()
            found = None
            if issubclass(kind, processed):
                found = next(k for k in self._processing_map() if issubclass(kind, k))
            keys[(type(self), kind)] = found
        return found

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        hook = self.pre_processing_of_child
        if getattr(hook, "__func__", None) is base_hook:
            hook = None
        processors = self._processing_map()
        handlers: dict[type, Any] = {}

        def walk(current: Any, index: int) -> Any:
            if not isinstance(current, node_class):
                return current
            parent = current.parent
            children = current.children
            if children is not None:
                for i, child in enumerate(children):
                    if hook is not None:
                        hook(current, i)
                    walk(child, i)
            kind = type(current)
            handler = handlers.get(kind, _MISSING)
            if handler is _MISSING:
                key = key_for(self, kind)
                handler = handlers[kind] = None if key is None else processors[key]
            if handler is not None:
                current = handler(current)
                current.parent = parent
                if parent:
                    parent.children[index] = current
            return current

        return walk(node, child_id)

    traverse_node_recursively._lean = True  # type: ignore[attr-defined]
    traverser.traverse_node_recursively = traverse_node_recursively  # type: ignore[method-assign]

    def uninstall() -> None:
        traverser.traverse_node_recursively = original  # type: ignore[method-assign]

    return uninstall


def _install_backend_lookup_cache() -> Any:
    """moto's server finds the backend of every request by listing its own package's folders
    (a listdir and a stat per service) and matching the host against some 200 patterns. The
    answer for a host never changes: it is found once per host."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.get_backend_for_host
    if getattr(original, "_cached", False):
        return lambda: None
    found: dict[str, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host is None:
            return None
        backend = found.get(host, _MISSING)
        if backend is _MISSING:
            backend = original(self, host)
            if len(found) < 1024:
                found[host] = backend
        return backend

    get_backend_for_host._cached = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]

    def uninstall() -> None:
        DomainDispatcherApplication.get_backend_for_host = original  # type: ignore[method-assign]

    return uninstall


def _install_schedule_state_default() -> Any:
    """UpdateSchedule without `State` enables the schedule on AWS (the API's default, as on
    CreateSchedule); moto's leaves it empty, so that GetSchedule, ListSchedules and the
    stack's ticker saw a schedule in no state."""
    from moto.scheduler.models import Schedule

    original = Schedule.update
    if getattr(original, "_state_default", False):
        return lambda: None

    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.state = self.state or "ENABLED"

    update._state_default = True  # type: ignore[attr-defined]
    Schedule.update = update  # type: ignore[method-assign]

    def uninstall() -> None:
        Schedule.update = original  # type: ignore[method-assign]

    return uninstall


def _install_cheaper_random_strings() -> Any:
    """moto draws every request id (52 characters) and every SQS receipt handle (185) one
    `random.choice` at a time; `choices` draws them from the same generator (so moto's seeding
    still applies) in one call."""
    import string

    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs import models as sqs_models

    original_string = MotoRandom.get_random_string
    original_handle = sqs_models.generate_receipt_handle
    if getattr(original_string, "_choices", False):
        return lambda: None

    def get_random_string(
        self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        pool = string.ascii_letters + string.digits if include_digits else string.ascii_letters
        drawn = "".join(self.choices(pool, k=length))
        return drawn.lower() if lower_case else drawn

    def generate_receipt_handle() -> str:
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    get_random_string._choices = True  # type: ignore[attr-defined]
    MotoRandom.get_random_string = get_random_string  # type: ignore[method-assign]
    sqs_models.generate_receipt_handle = generate_receipt_handle

    def uninstall() -> None:
        MotoRandom.get_random_string = original_string  # type: ignore[method-assign]
        sqs_models.generate_receipt_handle = original_handle

    return uninstall


# -- 9. attribute and action names converted once ------------------------------------------------


_NAME_MODULES = (
    "moto.core.utils",
    "moto.core.responses",
    "moto.sqs.models",
    "moto.sns.models",
    "moto.sns.responses",
)


# moto's item size limit (LimitedSizeDict.__setitem__): "between 409 and 410KB" by its tests.
ITEM_SIZE_LIMIT = 405000


def _install_item_size_once() -> Any:
    """10. above: an Item built with a running sum of its size; a set checked without lists."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    original_init = Item.__init__
    original_setitem = LimitedSizeDict.__setitem__
    if getattr(original_init, "_summed_once", False):
        return lambda: None

    def entry_size(entry: Any) -> int:
        # moto's `item.size() if type(item) is DynamoType else bytesize(str(item))`, for a key
        # and for a value
        if type(entry) is DynamoType:
            return entry.size()  # type: ignore[no-any-return]
        text = str(entry)
        return len(text) if text.isascii() else len(text.encode("utf-8"))

    def setitem(self: Any, key: str, value: Any) -> None:
        current = 0
        for name, held in dict.items(self):
            current += entry_size(name) + entry_size(held)
        if current + entry_size(key) + entry_size(value) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(built)
        total = 0
        for key, value in attrs.items():
            wrapped = DynamoType(value)
            total += entry_size(key) + entry_size(wrapped)
            if total > ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            dict.__setitem__(built, key, wrapped)
        self.attrs = built

    init._summed_once = True  # type: ignore[attr-defined]
    Item.__init__ = init  # type: ignore[method-assign]
    LimitedSizeDict.__setitem__ = setitem  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        Item.__init__ = original_init  # type: ignore[method-assign]
        LimitedSizeDict.__setitem__ = original_setitem  # type: ignore[method-assign]

    return uninstall


def _install_name_conversion_cache() -> Any:
    """moto's `camelcase_to_underscores`, a pure function of a short string, answered from a
    cache: SQS converts the name of every queue attribute at every SendMessage and
    GetQueueAttributes (13 names a call), and every request converts its action name; about a
    twentieth of the stack's CPU per event went to re-deriving the same few dozen names."""
    import importlib

    from moto.core import utils as core_utils

    original = core_utils.camelcase_to_underscores
    if getattr(original, "_cached", False):
        return lambda: None
    remembered = functools.lru_cache(maxsize=4096)(original)

    def cached(argument: Any) -> Any:
        return remembered(argument) if type(argument) is str else original(argument)

    cached._cached = True  # type: ignore[attr-defined]
    patched = []
    for name in _NAME_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "camelcase_to_underscores", None) is original:
            module.camelcase_to_underscores = cached  # type: ignore[attr-defined]
            patched.append(module)

    def uninstall() -> None:
        for module in patched:
            module.camelcase_to_underscores = original  # type: ignore[attr-defined]

    return uninstall


# -- 6. one lock ----------------------------------------------------------------------------------


def locked(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` run under the lock of moto's state."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return function(*args, **kwargs)

    return wrapper


class _UnreadCopies(threading.local):
    """Set while an UpdateItem runs whose item copies nobody reads."""

    stream: bool = False  # the backend's copy for a table without a stream: the item itself
    answer: bool = False  # the answer's copy when ReturnValues reads no old values: none


_UNREAD = _UnreadCopies()


class _CopyModule:
    """``copy`` as moto's DynamoDB modules see it: ``deepcopy`` skips the copies _UNREAD
    names; everything else is the standard module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if _UNREAD.stream:
            return value  # moto's backend: `orig_item`, read only by a table's stream
        if _UNREAD.answer:
            return None  # moto's answer: `existing_item`, read only for old values
        return copy.deepcopy(value, memo)


_COPY_READERS = ("ALL_OLD", "UPDATED_OLD", "UPDATED_NEW")


def _install_unread_copies() -> Any:
    import moto.dynamodb.models as backend_module
    import moto.dynamodb.responses as answer_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    backend_update, answer_update = DynamoDBBackend.update_item, DynamoHandler.update_item
    if getattr(backend_update, "_unread_copies", False):
        return lambda: None

    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(table_name)
        previous = (_UNREAD.stream, _UNREAD.answer)
        _UNREAD.stream = table is not None and table.stream_shard is None
        _UNREAD.answer = False  # the answer's flag is not the backend's
        try:
            return backend_update(self, table_name, *args, **kwargs)
        finally:
            _UNREAD.stream, _UNREAD.answer = previous

    def answer(self: Any) -> Any:
        previous = _UNREAD.answer
        _UNREAD.answer = self.body.get("ReturnValues", "NONE") not in _COPY_READERS
        try:
            return answer_update(self)
        finally:
            _UNREAD.answer = previous

    update_item._unread_copies = True  # type: ignore[attr-defined]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    DynamoHandler.update_item = answer  # type: ignore[method-assign]
    backend_module.copy = answer_module.copy = _CopyModule()  # type: ignore[assignment]

    def uninstall() -> None:
        DynamoDBBackend.update_item = backend_update  # type: ignore[method-assign]
        DynamoHandler.update_item = answer_update  # type: ignore[method-assign]
        backend_module.copy = answer_module.copy = copy  # type: ignore[attr-defined]

    return uninstall


# The top-level fields a pattern is tried on before moto matches it (14. above).
_PREFILTERED = ("detail-type", "source")


def _install_rule_prefilter() -> Any:
    from moto.events.models import EventPattern

    original = EventPattern.matches_event
    if getattr(original, "_prefiltered", False):
        return lambda: None
    plain: dict[int, tuple[Any, tuple[tuple[str, frozenset[str]], ...]]] = {}

    def wanted(pattern: Any) -> tuple[tuple[str, frozenset[str]], ...]:
        """The prefiltered fields whose filters are all plain strings, with those strings
        (kept with the pattern they were read from: a pattern dict's id may be reused)."""
        found = plain.get(id(pattern))
        if found is None or found[0] is not pattern:
            names = tuple(
                (name, frozenset(filters))
                for name in _PREFILTERED
                if type(filters := pattern.get(name)) is list
                and filters
                and all(type(f) is str for f in filters)
            )
            found = (pattern, names)
            plain[id(pattern)] = found
        return found[1]

    def matches_event(self: Any, event: Any) -> bool:
        pattern = self._pattern
        if pattern and type(pattern) is dict and type(event) is dict:
            for name, strings in wanted(pattern):
                value = event.get(name)
                if type(value) is str and value not in strings:
                    return False
        return original(self, event)  # type: ignore[no-any-return]

    matches_event._prefiltered = True  # type: ignore[attr-defined]
    matches_event.__wrapped__ = original  # type: ignore[attr-defined]
    EventPattern.matches_event = matches_event  # type: ignore[method-assign]

    def uninstall() -> None:
        EventPattern.matches_event = original  # type: ignore[method-assign]

    return uninstall


def _install_lock() -> Any:
    from moto.core.responses import BaseResponse
    from moto.sqs.models import Queue

    original_dispatch = BaseResponse._dispatch
    original_wait = Queue.wait_for_messages
    if getattr(original_dispatch, "_locked", False):
        return lambda: None

    def dispatch(self: Any, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return original_dispatch(self, *args, **kwargs)

    def wait_for_messages(self: Any, timeout: int) -> None:
        # A long poll waits without the lock (SendMessage must get in to wake it up). The
        # lock is reentrant: its whole hold count is given back and taken again.
        if not LOCK._is_owned():  # type: ignore[attr-defined]
            return original_wait(self, timeout)  # type: ignore[no-any-return]
        state = LOCK._release_save()  # type: ignore[attr-defined]
        try:
            original_wait(self, timeout)
        finally:
            LOCK._acquire_restore(state)  # type: ignore[attr-defined]
        return None

    dispatch._locked = True  # type: ignore[attr-defined]
    BaseResponse._dispatch = dispatch  # type: ignore[method-assign]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]

    def uninstall() -> None:
        BaseResponse._dispatch = original_dispatch  # type: ignore[method-assign]
        Queue.wait_for_messages = original_wait  # type: ignore[method-assign]

    return uninstall

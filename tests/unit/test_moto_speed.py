"""devstack/moto_patches.py: the local stack's faster moto answers as moto does, and its one
lock makes concurrent requests safe (a long poll waits without holding it)."""

from __future__ import annotations

import base64
import json
import random
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from devstack.moto_patches import install

REGION = "eu-west-1"


@pytest.fixture
def aws() -> Iterator[None]:
    undo = install()
    try:
        with mock_aws():
            yield
    finally:
        undo()


def _table(ddb: Any, name: str = "t", **extra: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "email")
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        **extra,
    )


def _scan(ddb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": "t"}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _keys(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((i["pk"]["S"], i["sk"]["S"]) for i in items)


def _check_queries(ddb: Any) -> None:
    """Every partition and every address answers exactly what a Scan holds."""
    items = _scan(ddb)
    for pk in {i["pk"]["S"] for i in items} | {"P-none"}:
        answer = ddb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": pk}},
        )["Items"]
        assert _keys(answer) == _keys([i for i in items if i["pk"]["S"] == pk])
        assert [i["sk"]["S"] for i in answer] == sorted(i["sk"]["S"] for i in answer)
    for email in {i["email"]["S"] for i in items if "email" in i} | {"nobody@example.org"}:
        answer = ddb.query(
            TableName="t",
            IndexName="by_email",
            KeyConditionExpression="email = :e",
            ExpressionAttributeValues={":e": {"S": email}},
        )["Items"]
        expected = [i for i in items if i.get("email", {}).get("S") == email]
        assert _keys(answer) == _keys(expected)


def test_queries_answer_what_the_table_holds_through_every_write_path(aws: None) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    _table(ddb)
    rng = random.Random(7)
    emails = [f"c{i}@example.org" for i in range(6)]
    for step in range(120):
        pk, sk = f"P{rng.randrange(8)}", f"S{rng.randrange(4)}"
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        action = rng.choice(["put", "update", "remove", "delete", "batch", "tx", "tx_fail"])
        if action == "put":
            ddb.put_item(TableName="t", Item={**key, "email": {"S": rng.choice(emails)}})
        elif action == "update":
            ddb.update_item(
                TableName="t",
                Key=key,
                UpdateExpression="SET email = :e ADD n :one",
                ExpressionAttributeValues={":e": {"S": rng.choice(emails)}, ":one": {"N": "1"}},
            )
        elif action == "remove":
            ddb.update_item(TableName="t", Key=key, UpdateExpression="REMOVE email")
        elif action == "delete":
            ddb.delete_item(TableName="t", Key=key)
        elif action == "batch":
            ddb.batch_write_item(
                RequestItems={
                    "t": [
                        {"PutRequest": {"Item": {**key, "email": {"S": rng.choice(emails)}}}},
                        {"DeleteRequest": {"Key": {"pk": {"S": "P9"}, "sk": {"S": sk}}}},
                    ]
                }
            )
        else:
            # Two writes; when the second's condition fails, the first is rolled back.
            other = {"pk": {"S": f"P{rng.randrange(8)}"}, "sk": {"S": "TX"}}
            items = [
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key,
                        "UpdateExpression": "SET email = :e",
                        "ExpressionAttributeValues": {":e": {"S": rng.choice(emails)}},
                    }
                },
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {**other, "email": {"S": rng.choice(emails)}},
                        **(
                            {"ConditionExpression": "attribute_exists(nothing_has_this)"}
                            if action == "tx_fail"
                            else {}
                        ),
                    }
                },
            ]
            before = _scan(ddb)
            if action == "tx_fail":
                with pytest.raises(ClientError, match="TransactionCanceled"):
                    ddb.transact_write_items(TransactItems=items)
                assert sorted(map(str, _scan(ddb))) == sorted(map(str, before))
            elif key != other:
                ddb.transact_write_items(TransactItems=items)
        if step % 10 == 9:
            _check_queries(ddb)
    _check_queries(ddb)


def test_update_expressions_are_validated_as_moto_validates_them(aws: None) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    _table(ddb)
    key = {"pk": {"S": "P"}, "sk": {"S": "S"}}
    expression = "SET a = :a, b = if_not_exists(b, :z) ADD n :one REMOVE c"
    values = {":a": {"S": "A"}, ":z": {"N": "0"}, ":one": {"N": "1"}}
    for _ in range(3):  # the cached tree of the expression serves every call
        ddb.update_item(
            TableName="t", Key=key, UpdateExpression=expression, ExpressionAttributeValues=values
        )
    item = ddb.get_item(TableName="t", Key=key)["Item"]
    assert item["n"] == {"N": "3"} and item["a"] == {"S": "A"} and item["b"] == {"N": "0"}
    for twice, section, names in (
        ("SET a = :a ADD n :one SET b = :a", "SET", (":a", ":one")),
        ("ADD n :one ADD m :one", "ADD", (":one",)),
    ):
        with pytest.raises(ClientError, match=f'The "{section}" section can only be used once'):
            ddb.update_item(
                TableName="t",
                Key=key,
                UpdateExpression=twice,
                ExpressionAttributeValues={
                    name: value
                    for name, value in {":a": {"S": "A"}, ":one": {"N": "1"}}.items()
                    if name in names
                },
            )


def test_concurrent_writes_and_reads_never_see_a_table_changing_under_them(aws: None) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    _table(ddb)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        try:
            for i in range(150):
                ddb.put_item(
                    TableName="t",
                    Item={
                        "pk": {"S": f"W{n}-{i}"},
                        "sk": {"S": "PROFILE"},
                        "email": {"S": f"w{n}.{i % 5}@example.org"},
                    },
                )
                ddb.get_item(TableName="t", Key={"pk": {"S": f"W{n}-{i}x"}, "sk": {"S": "X"}})
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                ddb.scan(TableName="t")
                ddb.query(
                    TableName="t",
                    IndexName="by_email",
                    KeyConditionExpression="email = :e",
                    ExpressionAttributeValues={":e": {"S": "w0.1@example.org"}},
                )
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as on a loaded machine
    try:
        for thread in writers + readers:
            thread.start()
        for thread in writers:
            thread.join()
        stop.set()
        for thread in readers:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(_scan(ddb)) == 450


def test_a_long_poll_waits_without_holding_the_lock(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    received: list[list[dict[str, Any]]] = []
    waiting = threading.Event()

    def poll() -> None:
        waiting.set()
        received.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", []))

    poller = threading.Thread(target=poll)
    poller.start()
    waiting.wait()
    sqs.send_message(QueueUrl=url, MessageBody="wake up")  # blocked if the poll held the lock
    poller.join()
    assert [m["Body"] for m in received[0]] == ["wake up"]


# Update expressions that exercise every pass moto's validator makes over the tree: names and
# values resolved, functions, arithmetic, nested paths, and each error it raises.
_UPDATES: list[tuple[str, dict[str, str] | None, dict[str, Any] | None]] = [
    (
        "SET a = :s, n = if_not_exists(n, :zero) + :one",
        None,
        {":s": {"S": "x"}, ":zero": {"N": "0"}, ":one": {"N": "1"}},
    ),
    ("SET m = :map", None, {":map": {"M": {"k": {"S": "v"}, "deep": {"M": {"x": {"N": "2"}}}}}}),
    (
        "SET #m.#k = :s, l = list_append(if_not_exists(l, :empty), :list)",
        {"#m": "m", "#k": "k"},
        {":s": {"S": "w"}, ":empty": {"L": []}, ":list": {"L": [{"S": "e"}]}},
    ),
    ("SET m.deep.x = m.deep.x - :one REMOVE a", None, {":one": {"N": "1"}}),
    ("ADD tags :set", None, {":set": {"SS": ["a", "b"]}}),
    ("DELETE tags :gone", None, {":gone": {"SS": ["a"]}}),
    ("SET l[0] = :s, n = n + :one", None, {":s": {"S": "first"}, ":one": {"N": "1"}}),
    ("SET nothere.path = :s", None, {":s": {"S": "x"}}),  # the document path does not exist
    ("SET n = n + :s", None, {":s": {"S": "x"}}),  # an operand of the wrong type
    ("SET pk = :s", None, {":s": {"S": "x"}}),  # a key attribute
    ("SET m = :s, m.k = :s", None, {":s": {"S": "x"}}),  # overlapping paths
    ("SET a = :undefined", None, {":s": {"S": "x"}}),  # a value not supplied
    ("SET a = :s ADD n :one SET b = :s", None, {":s": {"S": "x"}, ":one": {"N": "1"}}),
]


def _apply_updates(ddb: Any) -> list[Any]:
    outcomes: list[Any] = []
    key = {"pk": {"S": "U"}, "sk": {"S": "S"}}
    ddb.put_item(TableName="t", Item={**key, "n": {"N": "5"}})
    for expression, names, values in _UPDATES:
        kwargs: dict[str, Any] = {"TableName": "t", "Key": key, "UpdateExpression": expression}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            ddb.update_item(**kwargs)
            outcomes.append(ddb.get_item(TableName="t", Key=key)["Item"])
        except ClientError as exc:
            outcomes.append(exc.response["Error"])
    ddb.delete_item(TableName="t", Key=key)
    return outcomes


def test_lean_traversals_validate_and_apply_updates_as_moto_does(aws: None) -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    ddb = boto3.client("dynamodb", region_name=REGION)
    _table(ddb)
    lean = _apply_updates(ddb)
    current = DepthFirstTraverser.traverse_node_recursively
    assert getattr(current, "_lean", False)
    DepthFirstTraverser.traverse_node_recursively = _MOTO_TRAVERSE  # type: ignore[method-assign]
    try:
        motos = _apply_updates(ddb)
    finally:
        DepthFirstTraverser.traverse_node_recursively = current  # type: ignore[method-assign]
    assert lean == motos
    errors = [o for o in lean if "Code" in o]
    assert len(errors) == 6  # each refused update is refused by both, with moto's message


def _moto_traverse(self: Any, node: Any, child_id: int = -1) -> Any:
    """moto 5's DepthFirstTraverser.traverse_node_recursively, as published."""
    from moto.dynamodb.parsing.ast_nodes import Node

    if isinstance(node, Node):
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        if isinstance(node, self.nodes_to_be_processed()):
            node = self.process(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
    return node


_MOTO_TRAVERSE = _moto_traverse


def test_request_ids_and_receipt_handles_keep_their_form(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="forms")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="m")
    request_id = sent["ResponseMetadata"]["RequestId"]
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    handle = message["ReceiptHandle"]
    assert len(handle) == 185 and handle.isalpha() and handle.islower()
    assert request_id and request_id.isalnum()
    again = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    assert again.get("Messages", []) == []  # still in flight under its first handle
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)


def test_names_converted_from_a_cache_as_moto_converts_them(aws: None) -> None:
    from moto.core import utils as core_utils
    from moto.sqs import models as sqs_models

    convert = sqs_models.camelcase_to_underscores
    assert getattr(convert, "_cached", False)
    for name in ("ApproximateNumberOfMessagesNotVisible", "ReceiveMessage", "KmsMasterKeyId", ""):
        assert convert(name) == convert(name) == core_utils.camelcase_to_underscores(name)
    assert convert("ReceiveMessage") == "receive_message"
    assert convert("KmsMasterKeyId") == "kms_master_key_id"

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "7"
    assert attributes["ApproximateNumberOfMessages"] == "1"


def _random_attribute(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kind = rng.choice(["S", "N", "B", "BOOL", "NULL", "SS", "L", "M"] if depth < 3 else ["S", "N"])
    if kind == "S":
        return {"S": rng.choice(["", "é", "straße", "x" * rng.randint(1, 40_000)])}
    if kind == "N":
        return {"N": str(rng.randint(-(10**6), 10**6))}
    if kind == "B":
        return {"B": bytes(rng.randint(1, 300))}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "SS":
        return {"SS": [f"v{i}ü" for i in range(rng.randint(1, 5))]}
    if kind == "L":
        return {"L": [_random_attribute(rng, depth + 1) for _ in range(rng.randint(0, 4))]}
    return {"M": {f"k{i}": _random_attribute(rng, depth + 1) for i in range(rng.randint(0, 4))}}


def test_items_are_built_and_set_within_the_size_limit_as_moto_checks_it() -> None:
    """An item built with a running sum of its size (and an attribute set on it) is what moto's
    own check builds, and is refused (ItemSizeTooLarge) exactly when moto's refuses it."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    rng = random.Random(7)
    cases = []
    for _ in range(150):
        attrs = {f"a{i}é": _random_attribute(rng) for i in range(rng.randint(0, 30))}
        for j in range(rng.randint(0, 5)):
            attrs[f"big{j}"] = {"S": "y" * rng.randint(0, 150_000)}
        cases.append((attrs, f"new{rng.randint(0, 3)}", _random_attribute(rng)))

    def outcome(build: Any) -> tuple[str, Any]:
        try:
            return ("ok", build())
        except ItemSizeTooLarge:
            return ("too large", None)

    def run() -> list[tuple[str, Any]]:
        answers = []
        for attrs, name, value in cases:
            status, item = outcome(
                lambda attrs=attrs: Item(DynamoType({"S": "h"}), None, attrs)  # type: ignore[misc]
            )
            answers.append((status, item and item.to_json()))
            for key in [name, *list(attrs)[:1]]:  # a new attribute, then an existing one

                def put(item: Any = item, key: str = key, value: Any = value) -> Any:
                    item.attrs[key] = DynamoType(value)
                    return item.to_json()

                if item is not None:
                    answers.append(outcome(put))
        return answers

    theirs = run()
    undo = install()
    try:
        assert getattr(Item.__init__, "_summed_once", False)
        ours = run()
    finally:
        undo()
    assert not getattr(Item.__init__, "_summed_once", False)
    assert ours == theirs
    refused = [status for status, _ in theirs].count("too large")
    assert 0 < refused < len(theirs) / 2


def _answers_and_stream_records() -> dict[str, Any]:
    """Each update of _UPDATES under each ReturnValues, on a table with a stream (old and new
    images) and one without: the answers, the items left and the stream's records."""
    out: dict[str, Any] = {}
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        _table(ddb)
        _table(
            ddb,
            "s",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        key = {"pk": {"S": "U"}, "sk": {"S": "S"}}
        for table in ("t", "s"):
            for returns in ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"):
                ddb.put_item(TableName=table, Item={**key, "n": {"N": "5"}})
                for expression, names, values in _UPDATES:
                    kwargs: dict[str, Any] = {
                        "TableName": table,
                        "Key": key,
                        "UpdateExpression": expression,
                        "ReturnValues": returns,
                        **({"ExpressionAttributeNames": names} if names else {}),
                        **({"ExpressionAttributeValues": values} if values else {}),
                    }
                    try:
                        answer = ddb.update_item(**kwargs)
                        answer.pop("ResponseMetadata")
                    except ClientError as exc:
                        answer = exc.response["Error"]
                    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
                    out[f"{table} {returns} {expression}"] = (answer, item)
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["s"].stream_shard
        out["stream"] = [
            (
                r.record["eventName"],
                r.record["dynamodb"].get("OldImage"),
                r.record["dynamodb"].get("NewImage"),
            )
            for r in shard.items
        ]
    return out


def test_updates_answer_and_stream_as_plain_moto_without_unread_copies() -> None:
    """Patch 11 skips the copies of an updated item that nothing reads: every ReturnValues
    answer, every item and every stream record (old and new images) stay plain moto's."""
    from moto.dynamodb.models import DynamoDBBackend

    assert not getattr(DynamoDBBackend.update_item, "_unread_copies", False), "installed"
    plain = _answers_and_stream_records()
    undo = install()
    try:
        assert getattr(DynamoDBBackend.update_item, "_unread_copies", False)
        patched = _answers_and_stream_records()
    finally:
        undo()
    assert len(plain["stream"]) > len(_UPDATES)  # the stream saw the updates, old images too
    assert any(old for _, old, _ in plain["stream"])
    assert patched == plain


CONDITIONS = [
    ("attribute_not_exists(pk)", None, None),
    ("attribute_exists(pk)", None, None),
    ("attribute_not_exists(pk) OR candidate_id = :id", None, {":id": {"S": "c_1"}}),
    ("attribute_not_exists(pk) OR candidate_id = :id", None, {":id": {"S": "c_2"}}),
    ("#v = :v", {"#v": "version"}, {":v": {"N": "3"}}),
    ("#v = :v", {"#v": "version"}, {":v": {"N": "4"}}),
    (
        "#v = :v AND (#s = :open OR begins_with(#s, :p))",
        {"#v": "version", "#s": "status"},
        {":v": {"N": "3"}, ":open": {"S": "open"}, ":p": {"S": "dec"}},
    ),
    ("lease_until < :now AND NOT attribute_exists(done)", None, {":now": {"S": "2026-12-07"}}),
    ("size(tags) > :n AND contains(tags, :t)", None, {":n": {"N": "1"}, ":t": {"S": "b"}}),
    (
        "#v IN (:a, :b) AND #v BETWEEN :a AND :b",
        {"#v": "version"},
        {":a": {"N": "2"}, ":b": {"N": "3"}},
    ),
    ("tags = :set", None, {":set": {"SS": ["a", "b"]}}),
    ("attribute_type(pk, :t)", None, {":t": {"S": "S"}}),
]
ITEMS = [
    None,
    {
        "pk": {"S": "CAND#1"},
        "candidate_id": {"S": "c_1"},
        "version": {"N": "3"},
        "status": {"S": "open"},
        "lease_until": {"S": "2026-12-06"},
        "tags": {"SS": ["a", "b"]},
    },
    {
        "pk": {"S": "CAND#2"},
        "candidate_id": {"S": "c_2"},
        "version": {"N": "4"},
        "status": {"S": "decided"},
        "done": {"BOOL": True},
        "tags": {"SS": ["b"]},
    },
]


def _outcome(parse: Any, expression: str, names: Any, values: Any, item: Any) -> Any:
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    parser = ConditionExpressionParser(expression, names, values)
    try:
        op = parse(parser)
        held = op.expr(None if item is None else Item(DynamoType(item["pk"]), None, item))
    except Exception as exc:  # the same error (parsing or evaluating), whatever it is
        return type(exc).__name__, str(exc)
    return held, repr(op), parser.expr_attr_names_found, parser.expr_attr_values_found


def test_conditions_parsed_once_hold_as_moto_parses_them(aws: None) -> None:
    """The cached parse against moto's own, twice over (the second time from the cache),
    for every condition on every item: the same verdict, tree, names and values found, or the
    same error; a value that differs between two calls of one expression is read each time."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    cached = ConditionExpressionParser.parse
    assert getattr(cached, "_cached", False)  # install() put it there
    original = cached.__wrapped__
    broken = [
        ("#v = :v", None, {":v": {"N": "1"}}),  # a name not given
        ("#v = :missing", {"#v": "version"}, {":v": {"N": "1"}}),  # a value not given
        ("#v = :v", {"#v": "version"}, None),
        ("#v = = :v", {"#v": "version"}, {":v": {"N": "1"}}),  # not an expression
        ("#v = :v", {"#v": "version"}, {":v": {}}),  # not one typed value: moto's own parse
    ]
    for _ in range(2):
        for expression, names, values in CONDITIONS + broken:
            for item in ITEMS:
                mine = _outcome(cached, expression, names, values, item)
                assert mine == _outcome(original, expression, names, values, item)
    verdicts = [
        _outcome(cached, "#v = :v", {"#v": "version"}, {":v": {"N": n}}, ITEMS[2])[0]
        for n in ("3", "4", "3")
    ]
    assert verdicts == [False, True, False]


_BLOB = b"\x00\xffbytes\x80"
_NESTED = {
    "M": {
        "s": {"S": "text ü"},
        "n": {"N": "-1.5e3"},
        "b": {"B": _BLOB},
        "sets": {"L": [{"SS": ["a", "b"]}, {"NS": ["1", "2"]}, {"BS": [_BLOB, b""]}]},
        "flags": {"M": {"yes": {"BOOL": True}, "no": {"BOOL": False}, "none": {"NULL": True}}},
        "empty": {"M": {}},
    }
}
# (service, operation, parameters): every kind of value moto's JSON parser converts.
_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": {"S": "p"}, "sk": {"S": "s"}, "doc": _NESTED},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "t"}},
                        "UpdateExpression": "SET #a = :a ADD #n :n",
                        "ExpressionAttributeNames": {"#a": "a", "#n": "n"},
                        "ExpressionAttributeValues": {":a": _NESTED, ":n": {"N": "1"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "u"}}}},
            ],
            "ClientRequestToken": "token",
        },
    ),
    (
        "dynamodb",
        "Query",
        {
            "TableName": "t",
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":a": {"S": "A"}, ":b": {"S": "B"}},
            "ExclusiveStartKey": {"pk": {"S": "p"}, "sk": {"B": _BLOB}},
            "Limit": 25,
            "ConsistentRead": True,
            "ScanIndexForward": False,
        },
    ),
    (
        "dynamodb",
        "BatchWriteItem",
        {
            "RequestItems": {
                "t": [
                    {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"S": "v"}, "d": _NESTED}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"S": "w"}}}},
                ]
            }
        },
    ),
    (
        "events",
        "PutEvents",
        {
            "Entries": [
                {
                    "Source": "talent.ats",
                    "DetailType": "Candidate Profile Changed",
                    "Detail": '{"a": 1}',
                    "EventBusName": "talent-events",
                    "Time": datetime(2026, 12, 7, 15, 30, 1, tzinfo=UTC),
                    "Resources": ["r"],
                },
                {"Source": "s", "DetailType": "d", "Detail": "{}"},
            ]
        },
    ),
    (
        "sqs",
        "SendMessageBatch",
        {
            "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            "Entries": [
                {
                    "Id": "1",
                    "MessageBody": "body",
                    "DelaySeconds": 5,
                    "MessageAttributes": {
                        "bin": {"DataType": "Binary", "BinaryValue": _BLOB},
                        "num": {"DataType": "Number", "StringValue": "2.5"},
                    },
                }
            ],
        },
    ),
    (
        "firehose",
        "PutRecordBatch",
        {"DeliveryStreamName": "lake", "Records": [{"Data": _BLOB}, {"Data": b"{}\n"}]},
    ),
]


def _request_parse(service: str, operation: str, body: bytes, parse_body: Any) -> Any:
    from moto.core import parse
    from moto.core.utils import get_service_model

    operation_model = get_service_model(service).operation_model(operation)
    parser = parse.JSONParser(operation_model)
    return parse_body(parser, body, operation_model.input_shape)


def _serialized(service: str, operation: str, params: dict[str, Any]) -> bytes:
    """The request body botocore sends for ``params`` (what moto parses)."""
    from botocore.serialize import create_serializer

    client = boto3.client(service, region_name=REGION)  # the model only; nothing is sent
    operation_model = client.meta.service_model.operation_model(operation)
    body = create_serializer("json").serialize_to_request(params, operation_model)["body"]
    return body if isinstance(body, bytes) else body.encode()


def test_requests_are_parsed_as_moto_parses_them(aws: None) -> None:
    """The compiled JSON parse against moto's own for requests of every kind of value
    (blobs and sets of them, numbers, timestamps, integers, nested maps and lists), twice
    (the second time from the compiled functions), and for bodies that are not what botocore
    sends (unknown and null members, two members of a typed value): the same result, its
    types and key order included (compared by repr)."""
    from moto.core import parse

    compiled = parse.JSONParser._parse_json_body
    assert getattr(compiled, "_compiled", False)  # install() put it there
    original = compiled.__wrapped__
    bodies = [(s, o, _serialized(s, o, p)) for s, o, p in _REQUESTS]
    odd = json.dumps(
        {
            "TableName": "t",
            "Unknown": 1,
            "ConsistentRead": None,
            "Key": {"pk": {"S": "p", "N": "1"}, "sk": {"NULL": None}, "x": {"Z": "?"}},
            "AttributesToGet": ["a", "b"],
        }
    ).encode()
    bodies += [
        ("dynamodb", "GetItem", odd),
        ("dynamodb", "GetItem", b""),
        ("sqs", "GetQueueUrl", b"{}"),
    ]
    for _ in range(2):
        for service, operation, body in bodies:
            mine = _request_parse(service, operation, body, compiled)
            theirs = _request_parse(service, operation, body, original)
            assert repr(mine) == repr(theirs), (service, operation)
    put = _request_parse("dynamodb", "TransactWriteItems", bodies[0][2], compiled)
    assert put["TransactItems"][0]["Put"]["Item"]["doc"]["M"]["b"] == {"B": _BLOB}
    entries = _request_parse("events", "PutEvents", bodies[3][2], compiled)["Entries"]
    assert entries[0]["Time"] == datetime(2026, 12, 7, 15, 30, 1)  # naive UTC, as moto keeps it


_attribute_values = st.recursive(
    st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=5)),
        st.builds(lambda n: {"N": str(n)}, st.integers()),
        st.builds(lambda b: {"B": b}, st.binary(max_size=5)),
        st.builds(lambda b: {"BOOL": b}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(
            lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=3), min_size=1, max_size=3)
        ),
        st.builds(
            lambda s: {"BS": sorted(s)}, st.sets(st.binary(max_size=3), min_size=1, max_size=3)
        ),
    ),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"L": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(item=st.dictionaries(st.text(min_size=1, max_size=4), _attribute_values, max_size=4))
def test_any_item_is_parsed_as_moto_parses_it(aws: None, item: dict[str, Any]) -> None:
    from moto.core import parse

    compiled = parse.JSONParser._parse_json_body
    body = _serialized("dynamodb", "PutItem", {"TableName": "t", "Item": item})
    mine = _request_parse("dynamodb", "PutItem", body, compiled)
    assert repr(mine) == repr(_request_parse("dynamodb", "PutItem", body, compiled.__wrapped__))
    assert mine["Item"] == item


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_WIRE_VALUE = {
    "M": {
        "s": {"S": "text ü"},
        "n": {"N": "-1.5e3"},
        "b": {"B": _b64(_BLOB)},
        "sets": {"L": [{"SS": ["a", "b"]}, {"NS": ["1", "2"]}, {"BS": [_b64(_BLOB), ""]}]},
        "flags": {"M": {"yes": {"BOOL": True}, "none": {"NULL": True}}},
    }
}
# (service, operation, response body as the service sends it)
_RESPONSES: list[tuple[str, str, dict[str, Any]]] = [
    ("dynamodb", "GetItem", {"Item": {"pk": {"S": "p"}, "doc": _WIRE_VALUE}}),
    (
        "dynamodb",
        "Query",
        {
            "Items": [{"pk": {"S": "p"}, "b": {"B": _b64(b"x")}}, {"pk": {"S": "q"}}],
            "Count": 2,
            "ScannedCount": 2,
            "LastEvaluatedKey": {"pk": {"S": "q"}},
            "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.5},
        },
    ),
    (
        "dynamodb",
        "DescribeTable",
        {"Table": {"TableName": "t", "CreationDateTime": 1765120201.5, "ItemCount": 3}},
    ),
    ("dynamodb", "TransactWriteItems", {}),
    (
        "sqs",
        "ReceiveMessage",
        {
            "Messages": [
                {
                    "MessageId": "m",
                    "Body": "body",
                    "MessageAttributes": {
                        "bin": {"DataType": "Binary", "BinaryValue": _b64(_BLOB)},
                        "n": {"DataType": "Number", "StringValue": "2"},
                    },
                    "Attributes": {"SentTimestamp": "1765120201000"},
                }
            ]
        },
    ),
    ("events", "PutEvents", {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}, None]}),
]
# A model of shapes the services above do not answer with: a tagged union, a document, a
# member read under another name, and a structure that holds itself.
_MODEL = {
    "metadata": {"protocol": "json", "apiVersion": "2026-12-07", "jsonVersion": "1.0"},
    "operations": {
        "Get": {
            "name": "Get",
            "http": {"method": "POST", "requestUri": "/"},
            "output": {"shape": "Out"},
        }
    },
    "shapes": {
        "Out": {
            "type": "structure",
            "members": {
                "Choice": {"shape": "Choice"},
                "Choices": {"shape": "ChoiceList"},
                "Doc": {"shape": "Doc"},
                "Renamed": {"shape": "Text", "locationName": "wireName"},
                "Tree": {"shape": "Tree"},
                "At": {"shape": "Time"},
                "Blobs": {"shape": "BlobList"},
            },
        },
        "Choice": {
            "type": "structure",
            "union": True,
            "members": {"A": {"shape": "Text"}, "B": {"shape": "Blob"}},
        },
        "ChoiceList": {"type": "list", "member": {"shape": "Choice"}},
        "Doc": {"type": "structure", "members": {}, "document": True},
        "Tree": {
            "type": "structure",
            "members": {"Name": {"shape": "Text"}, "Children": {"shape": "TreeList"}},
        },
        "TreeList": {"type": "list", "member": {"shape": "Tree"}},
        "BlobList": {"type": "list", "member": {"shape": "Blob"}},
        "Text": {"type": "string"},
        "Blob": {"type": "blob"},
        "Time": {"type": "timestamp"},
    },
}
_MODEL_BODIES = [
    {
        "Choice": {"B": _b64(b"bytes")},
        "Choices": [{"A": "a"}, {"Z": "unknown"}, None, {"__type": "x", "A": "b"}],
        "Doc": {"any": ["thing", 1, None]},
        "wireName": "renamed",
        "Renamed": "not read",
        "Tree": {"Name": "root", "Children": [{"Name": "leaf", "Children": []}, None]},
        "At": "2026-12-07T16:00:00Z",
        "Blobs": [_b64(b"one"), None],
    },
    {"Choice": {"A": "a", "B": _b64(b"b")}},  # a union with two members: an error
    {"Choice": {"__type": "only"}},  # and with none
]


def _repr_or_error(call: Any, *args: Any) -> str:
    """What ``call(*args)`` answers, or the error it raises, whatever it is, as text."""
    try:
        return repr(call(*args))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def test_responses_are_parsed_as_botocore_parses_them(aws: None) -> None:
    """The compiled JSON response parse against botocore's own, twice: DynamoDB items with
    every kind of value, counts and capacities, timestamps, SQS binary attributes, a null in
    a list (of structures, of blobs), and a model with a tagged union (known, unknown and broken members), a document,
    a renamed member and a structure that holds itself; compared by repr, errors included."""
    from botocore import parsers
    from botocore.model import ServiceModel

    compiled = parsers.JSONParser._handle_json_body
    assert getattr(compiled, "_compiled", False)  # install() put it there
    original = compiled.__wrapped__
    cases = []
    for service, operation, body in _RESPONSES:
        model = boto3.client(service, region_name=REGION).meta.service_model
        shape = model.operation_model(operation).output_shape
        cases.append((shape, json.dumps(body).encode()))
    shape = ServiceModel(_MODEL, "devstack-test").operation_model("Get").output_shape
    cases += [(shape, json.dumps(body).encode()) for body in _MODEL_BODIES]
    parser = parsers.JSONParser()
    seen = set()
    for _ in range(2):
        for shape, body in cases:
            mine = _repr_or_error(compiled, parser, body, shape)
            assert mine == _repr_or_error(original, parser, body, shape), shape.name
            seen.add(mine.split(":")[0])
    assert "ResponseParserError" in seen  # the broken unions were refused, as botocore does
    item = compiled(parser, cases[0][1], cases[0][0])["Item"]
    assert item["doc"]["M"]["b"] == {"B": _BLOB}
    custom = parsers.JSONParser(blob_parser=lambda value: value)  # botocore's own way
    assert compiled(custom, cases[0][1], cases[0][0])["Item"]["doc"]["M"]["b"] == {"B": _b64(_BLOB)}


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(item=st.dictionaries(st.text(min_size=1, max_size=4), _attribute_values, max_size=4))
def test_answers_are_converted_as_moto_converts_them(aws: None, item: dict[str, Any]) -> None:
    """moto's conversion of an answer (typed values to plain ones) and the one that takes
    plain parts as they are: the same result for an item's typed values, the item itself,
    and an answer that holds them beside plain values, a datetime and a dict subclass."""
    from collections import OrderedDict

    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    fast = utilities.dynamo_to_dict
    original = fast.__wrapped__
    typed = {name: DynamoType(value) for name, value in item.items()}
    stored = Item(DynamoType({"S": "p"}), None, {"pk": {"S": "p"}, **item})
    answers = [
        typed,
        stored,
        stored.describe_attrs(attributes=None),
        {
            "Items": [typed, stored.to_json()],
            "Count": 2,
            "Ratio": 0.5,
            "Flag": True,
            "None": None,
            "At": datetime(2026, 12, 7, 16, 0),
            "Ordered": OrderedDict(a=DynamoType({"B": b"\x00"}), b=[1, "x"]),
            "Bytes": b"raw",
        },
    ]

    def moto_alone(answer: Any) -> Any:  # moto's recursion into moto's function
        utilities.dynamo_to_dict = original
        try:
            return original(answer)
        finally:
            utilities.dynamo_to_dict = fast

    for answer in answers:
        assert repr(fast(answer)) == repr(moto_alone(answer))


def _event(**changes: Any) -> dict[str, Any]:
    """An event as moto's put_events hands it to a rule's target."""
    event = {
        "version": "0",
        "id": "5a6d-1",
        "detail-type": "Candidate Profile Changed",
        "source": "talent.ats",
        "account": "123456789012",
        "time": 1765123201.0,
        "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/r"],
        "detail": {"candidate_id": "c_1", "changed": ["city"], "note": 'a "quoted" ü \\ text'},
        "ingestion-time": 1765123201.5,
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not _DROP}


_DROP = object()


def test_events_reach_targets_as_moto_fills_their_input(aws: None) -> None:
    """A target without an input transformer: the default template filled from the event's
    dict against moto's JSONPath way, for ordinary events, empty and missing fields, values
    that break the template's JSON or spell one of its placeholders, and an event without
    its ingestion time: the same event or the same error. A target with an input transformer
    goes moto's way."""
    from moto.events.utils import EventTemplateParser

    fast = EventTemplateParser.parse
    original = fast.__wrapped__  # type: ignore[attr-defined]
    events = [
        _event(),
        _event(resources=[], detail={}),
        _event(source="", account=_DROP),
        _event(detail={"nested": {"list": [1, 2.5, None, True]}}),
        _event(**{"detail-type": 'broken "type'}),
        _event(detail={"text": "<aws.events.event.json>"}),
        _event(**{"ingestion-time": _DROP}),
        _event(time=0),
    ]
    for event in events:
        mine = _repr_or_error(fast, None, {}, dict(event))
        assert mine == _repr_or_error(original, None, {}, dict(event)), event
    transformer = ('{"from": "<src>"}', {"src": "$.source"})
    assert (
        fast(*transformer, _event()) == original(*transformer, _event()) == {"from": "talent.ats"}
    )


_PATTERNS = [
    {"source": ["talent.ats"], "detail-type": ["Candidate Event Attended", "Job Opened"]},
    {"source": [{"anything-but": "talent.personalization"}], "detail-type": ["Job Opened"]},
    {
        "detail-type": ["Candidate Profile Changed"],
        "detail": {"changed": {"city": [{"exists": True}]}},
    },
    {"source": ["talent.ats", {"prefix": "talent."}]},
    {"detail-type": []},
    {"detail-type": ["Job Opened"], "$or": [{"source": ["talent.ats"]}, {"source": ["x"]}]},
    {"detail-type": [None, "Job Opened"]},
    {"account": ["123456789012"], "detail-type": ["Job Opened"]},
    {},
]


@given(
    detail_type=st.one_of(
        st.sampled_from(["Job Opened", "Candidate Event Attended", "Candidate Profile Changed"]),
        st.text(max_size=8),
        st.lists(st.sampled_from(["Job Opened", "x"]), max_size=2),
        st.none(),
        st.integers(),
        st.just(_DROP),
    ),
    source=st.one_of(
        st.sampled_from(["talent.ats", "talent.personalization", "talent.crm", "x"]),
        st.just(_DROP),
        st.none(),
    ),
    detail=st.one_of(st.just({}), st.just({"changed": {"city": {"value": "Berlin"}}})),
)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_rules_match_events_as_moto_matches_them(
    aws: None, detail_type: Any, source: Any, detail: dict[str, Any]
) -> None:
    """A pattern tried on its plain `detail-type` and `source` first refuses only what moto
    refuses, and leaves every other event to moto: the same answer for every pattern shape
    the template uses (anything-but, prefix, exists, $or, empty and non-string filters)."""
    from moto.events.models import EventPattern

    fast = EventPattern.matches_event
    original = fast.__wrapped__  # type: ignore[attr-defined]
    event = _event(**{"detail-type": detail_type, "source": source, "detail": detail})
    for raw in _PATTERNS:
        pattern = EventPattern(json.dumps(raw), raw)
        assert fast(pattern, dict(event)) == original(pattern, dict(event)), (raw, event)

"""devstack/moto_patches.py: the local stack's faster moto answers as moto does, and its one
lock makes concurrent requests safe (a long poll waits without holding it)."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
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


def _table(ddb: Any) -> None:
    ddb.create_table(
        TableName="t",
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

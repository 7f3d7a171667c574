"""bench/capacity.py: DynamoDB's request units of a call, from the items moto holds."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.capacity import CapacityMeter, Table, item_size, value_size
from tests.support.cfn import table_definition

REGION = "eu-west-1"
TABLE = "units"


def test_an_items_size_counts_names_and_values_by_dynamodbs_rules() -> None:
    assert item_size({"pk": {"S": "C#1"}}) == 2 + 3
    assert item_size({"name": {"S": "Zoë"}}) == 4 + 4  # UTF-8 octets
    assert value_size({"N": "123"}) == 3  # two digits a byte, one more
    assert value_size({"N": "-0.00120"}) == 2  # significant digits: 12
    assert value_size({"N": "12345678901234567890"}) == 11
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"B": b"\x00\x01\x02"}) == 3
    assert value_size({"SS": ["ab", "c"]}) == 3
    assert value_size({"L": []}) == value_size({"M": {}}) == 3
    # a list: 3, and per element 1 plus its value; a map's element adds its name
    assert value_size({"L": [{"S": "ab"}, {"BOOL": False}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"at": {"S": "x"}}}) == 3 + 1 + 2 + 1
    with pytest.raises(ValueError, match="not a DynamoDB attribute value"):
        value_size({"X": 1})


@pytest.fixture
def metered(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    definition = table_definition()
    meter = CapacityMeter(Table(TABLE, definition), REGION)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(TableName=TABLE, **definition)
        meter.attach(ddb.meta.events)
        meter.active = True
        yield ddb, meter


def _profile(candidate: str, filler: int, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": f"C#{candidate}"},
        "sk": {"S": "PROFILE"},
        "filler": {"S": "x" * filler},
        **extra,
    }


def _taken(meter: CapacityMeter) -> tuple[float, float, float]:
    units = meter.units
    meter.units = type(units)()
    return units.read, units.write, units.index_write


def test_writes_count_the_larger_image_per_kb_twice_in_a_transaction(metered) -> None:  # type: ignore[no-untyped-def]
    ddb, meter = metered
    ddb.put_item(TableName=TABLE, Item=_profile("1", 2500))  # about 2.5 KB
    assert _taken(meter) == (0, 3, 0)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "C#1"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET filler = :f",
        ExpressionAttributeValues={":f": {"S": "y"}},
    )
    assert _taken(meter) == (0, 3, 0)  # the image before is the larger
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _profile("2", 1500)}},
            {"Put": {"TableName": TABLE, "Item": _profile("3", 10)}},
        ]
    )
    assert _taken(meter) == (0, 2 * 2 + 2 * 1, 0)
    with pytest.raises(ClientError):
        ddb.put_item(
            TableName=TABLE, Item=_profile("2", 10), ConditionExpression="attribute_not_exists(pk)"
        )
    assert _taken(meter) == (0, 2, 0)  # a failed condition: the item as it was
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "C#2"}, "sk": {"S": "PROFILE"}})
    assert _taken(meter) == (0, 2, 0)


def test_an_item_in_an_index_writes_its_entry_too(metered) -> None:  # type: ignore[no-untyped-def]
    ddb, meter = metered
    addressed = _profile("1", 1500, email_norm={"S": "a@example.org"})
    ddb.put_item(TableName=TABLE, Item=addressed)  # by_email projects every attribute
    assert _taken(meter) == (0, 2, 2)
    key = {"pk": {"S": "C#1"}, "sk": {"S": "PROFILE"}}

    def update(expression: str, **values: dict[str, str]) -> None:
        ddb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression=expression,
            **({"ExpressionAttributeValues": values} if values else {}),
        )

    update("SET email_norm = :e", **{":e": {"S": "b@example.org"}})
    assert _taken(meter) == (0, 2, 4)  # the index key moved: a delete and a put
    update("SET lease_shard = :s, lease_until = :u", **{":s": {"S": "3"}, ":u": {"S": "2026"}})
    assert _taken(meter) == (0, 2, 2 + 1)  # by_email rewritten; by_lease: keys only, 1 KB
    update("REMOVE lease_shard, lease_until")
    assert _taken(meter) == (0, 2, 2 + 1)
    update("REMOVE email_norm")
    assert _taken(meter) == (0, 2, 2)  # out of by_email: its entry deleted


def test_reads_count_per_4_kb_half_when_eventually_consistent(metered) -> None:  # type: ignore[no-untyped-def]
    ddb, meter = metered
    for i in range(3):
        ddb.put_item(TableName=TABLE, Item={**_profile("1", 2000), "sk": {"S": f"J#{i}"}})
    _taken(meter)
    key = {"pk": {"S": "C#1"}, "sk": {"S": "J#0"}}
    ddb.get_item(TableName=TABLE, Key=key)
    assert _taken(meter) == (0.5, 0, 0)
    ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)
    assert _taken(meter) == (1, 0, 0)
    ddb.get_item(TableName=TABLE, Key={**key, "sk": {"S": "none"}}, ConsistentRead=True)
    assert _taken(meter) == (1, 0, 0)  # nothing found: the smallest read
    query = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "C#1"}},
    }
    ddb.query(**query)  # three items of about 2 KB: summed, then rounded up once
    assert _taken(meter) == (1.0, 0, 0)
    ddb.query(**query, ConsistentRead=True)
    assert _taken(meter) == (2, 0, 0)
    ddb.batch_get_item(RequestItems={TABLE: {"Keys": [key, {**key, "sk": {"S": "J#1"}}]}})
    assert _taken(meter) == (1.0, 0, 0)  # each item rounded up on its own
    ddb.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}}])
    assert _taken(meter) == (2, 0, 0)


def test_a_call_the_meter_cannot_size_is_recorded_never_raised_into_the_code(metered) -> None:  # type: ignore[no-untyped-def]
    """A filter (DynamoDB bills the items read before it), Select=COUNT, a projection
    without the keys: the call answers as it would unmetered, and the meter records it
    (bench/account.py fails the counting window that saw one). A write to another table
    (keys named otherwise) and parameters botocore refuses reach the code as they would."""
    ddb, meter = metered
    for i in range(3):
        ddb.put_item(TableName=TABLE, Item={**_profile("1", 10), "sk": {"S": f"J#{i}"}})
    _taken(meter)
    query = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "C#1"}, ":j": {"S": "J#0"}},
    }
    assert ddb.query(**query, FilterExpression="sk = :j")["Count"] == 1
    assert "Query" in meter.unmetered and "filter" in meter.unmetered["Query"]
    meter.unmetered.clear()
    del query["ExpressionAttributeValues"][":j"]
    assert ddb.query(**query, Select="COUNT")["Count"] == 3
    assert "Select=COUNT" in meter.unmetered["Query"]
    meter.unmetered.clear()
    assert len(ddb.query(**query, ProjectionExpression="filler")["Items"]) == 3
    assert "projection" in meter.unmetered["Query"]
    meter.unmetered.clear()
    ddb.create_table(
        TableName="other",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="other", Item={"id": {"S": "1"}})
    assert _taken(meter) == (0, 0, 0) and meter.unmetered == {}
    with pytest.raises(ClientError):  # moto refuses an item without its sort key
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "C#2"}})
    assert meter.unmetered == {"PutItem": "its parameters: KeyError"}


def test_keys_left_unprocessed_are_billed_by_the_request_that_reads_them(metered) -> None:  # type: ignore[no-untyped-def]
    ddb, meter = metered
    ddb.put_item(TableName=TABLE, Item=_profile("1", 10))
    ddb.put_item(TableName=TABLE, Item=_profile("2", 10))
    one, two = ({"pk": {"S": f"C#{c}"}, "sk": {"S": "PROFILE"}} for c in "12")
    asked = {"RequestItems": {TABLE: {"Keys": [one, two], "ConsistentRead": True}}}
    parsed = {"Responses": {}, "UnprocessedKeys": {TABLE: {"Keys": [two]}}}
    assert meter._read("BatchGetItem", parsed, asked).read == 1
    assert meter._read("BatchGetItem", {"Responses": {}}, asked).read == 2


def test_a_counting_window_that_saw_an_unmetered_call_fails() -> None:
    from bench.account import RequestCounter

    meter = CapacityMeter(Table(TABLE, table_definition()), REGION)
    counter = RequestCounter(meter)
    with pytest.raises(RuntimeError, match="cannot size"), counter.window():
        meter.unmetered["Query"] = "a filter left out items"
    assert meter.unmetered == {}

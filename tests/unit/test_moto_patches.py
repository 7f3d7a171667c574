"""devstack/moto_patches.py: the fast item size is moto's own number."""

from __future__ import annotations

from decimal import Decimal

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType

from devstack.moto_patches import _size

VALUES = [
    {"S": "Zoë"},
    {"N": "12.50"},
    {"B": b"\x00\x01\x02"},
    {"BOOL": True},
    {"NULL": True},
    {"SS": ["a", "bé"]},
    {"NS": ["1", "22.5"]},
    {"BS": [b"ab", b"c"]},
    {"L": [{"S": "x"}, {"N": "3"}, {"M": {"k": {"S": "v"}}}]},
    {
        "M": {
            "fields": {
                "M": {
                    "city": {
                        "M": {
                            "value": {"S": "Köln"},
                            "source": {"S": "talent.ats"},
                            "observed_at": {"S": "2026-11-01T09:00:00+00:00"},
                        }
                    },
                    "skills": {"L": [{"S": "sql"}, {"S": "python"}]},
                    "score": {"N": str(Decimal("0.5"))},
                }
            }
        }
    },
]


@pytest.mark.parametrize("value", VALUES, ids=[next(iter(v)) for v in VALUES])
def test_fast_size_equals_motos_size(value: dict) -> None:
    wrapped = DynamoType(value)
    motos = getattr(DynamoType.size, "_original", DynamoType.size)  # even when patched here
    assert _size(wrapped) == motos(wrapped)


def test_an_expression_as_long_as_the_ledger_prunes_is_served_from_deep_in_a_stack() -> None:
    """A ledger write removes up to MAX_REMOVALS traces in one UpdateExpression; moto copies
    and walks its tree one frame per clause. Served from 700 frames down (a test runner's,
    a handler's stack), it must not end in a RecursionError (a cancelled transaction)."""
    import boto3
    from moto import mock_aws

    from devstack.moto_patches import deep_expressions
    from talentops.delivery.ledger import MAX_REMOVALS

    deep_expressions()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        traces = {f"k{i}": {"S": "x"} for i in range(MAX_REMOVALS + 1)}
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "recent": {"M": traces}})
        names = {"#r": "recent"} | {f"#p{i}": f"k{i}" for i in range(MAX_REMOVALS)}
        removals = ", ".join(f"#r.#p{i}" for i in range(MAX_REMOVALS))
        update = {
            "TableName": "t",
            "Key": {"pk": {"S": "a"}},
            "UpdateExpression": "REMOVE " + removals,
            "ExpressionAttributeNames": names,
        }

        def deep(n: int) -> None:
            if n:
                return deep(n - 1)
            ddb.transact_write_items(TransactItems=[{"Update": update}])

        deep(700)
        item = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
        assert set(item["recent"]["M"]) == {f"k{MAX_REMOVALS}"}

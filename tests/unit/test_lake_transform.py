"""functions/lake_transform: Firehose's data transformation of the event lake, through the
handler under moto (the lake keys in the talent pool table): each record is answered by its
id, a fact becomes one lake row under its candidate's lake key with its day as the partition
key, what is not a fact is Dropped, and no id, address, name or token reaches the output."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import TABLE, load_handler

ADDRESS = "ada.lovelace@example.org"


def record(n: int, payload: Any) -> dict[str, Any]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "recordId": f"49546986683135544286507457936321625675700192471156785154-{n}",
        "approximateArrivalTimestamp": 1764842400000,
        "data": base64.b64encode(data).decode(),
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    """Firehose's invocation of a Lambda processor."""
    return {
        "invocationId": "invocation-1",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/lake",
        "region": "eu-west-1",
        "records": list(records),
    }


def fact(detail_type: str, detail: dict[str, Any], source: str = "talent.personalization"):
    return {
        "version": "0",
        "id": f"evt-{detail_type.replace(' ', '-').lower()}",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-12-04T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture
def handler(aws):
    return load_handler("lake_transform").handler


def profile(aws, candidate_id: str) -> None:
    aws.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"CAND#{candidate_id}"},
            "sk": {"S": "PROFILE"},
            "email_norm": {"S": ADDRESS},
            "first_name": {"S": "Ada"},
        },
    )


def rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(base64.b64decode(r["data"])) for r in answer["records"] if "data" in r]


def test_facts_become_rows_under_the_lake_key_and_the_rest_is_dropped(aws, handler, context):
    profile(aws, "c_ada")
    sent = fact(
        "Message Sent",
        {
            "candidate_id": "c_ada",
            "message_id": "m1",
            "template": "event_reminder",
            "variant": "b",
            "purpose": "events",
            "at": "2026-12-03T09:15:00Z",
            # What a producer might add: it must not reach the lake.
            "email": ADDRESS,
            "first_name": "Ada",
        },
    )
    viewed = fact(
        "Candidate Page Viewed",
        {
            "candidate": {"id": "c_ada", "email": ADDRESS},
            "observed_at": "2026-12-04T08:00:00Z",
            "url": "https://careers.example.com/jobs?t=v2.k0.payload.signature&utm_source=email",
        },
        source="talent.careers-site",
    )
    by_email = fact(
        "Candidate Application Submitted",
        {"candidate": {"ref": "ats:A-1", "email": ADDRESS}, "observed_at": "2026-12-02T09:40Z"},
        source="talent.ats",
    )
    records = [
        record(0, sent),
        record(1, b"\x00\x01 not json"),
        record(2, viewed),
        record(3, {"detail-type": "Message Sent"}),  # no detail, no date: not a fact
        record(4, by_email),
    ]
    answer = handler(batch(*records), context)

    assert [(r["recordId"], r["result"]) for r in answer["records"]] == [
        (records[0]["recordId"], "Ok"),
        (records[1]["recordId"], "Dropped"),
        (records[2]["recordId"], "Ok"),
        (records[3]["recordId"], "Dropped"),
        (records[4]["recordId"], "Ok"),
    ]
    ok = [r for r in answer["records"] if r["result"] == "Ok"]
    assert [r["metadata"]["partitionKeys"] for r in ok] == [
        {"day": "2026-12-03"},
        {"day": "2026-12-04"},
        {"day": "2026-12-02"},
    ]
    for r in ok:  # one JSON line a record, as Firehose concatenates them into the object
        assert base64.b64decode(r["data"]).decode().count("\n") == 1
    message, page, application = rows(answer)
    item = aws.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": "CAND#c_ada"}, "sk": {"S": "LAKE"}}
    )["Item"]
    key = item["key"]["S"]
    assert key.startswith("k_") and message["candidate_key"] == page["candidate_key"] == key
    assert (message["detail_type"], message["template"], message["variant"]) == (
        "Message Sent",
        "event_reminder",
        "b",
    )
    assert message["occurred_at"] == "2026-12-03 09:15:00" and message["day"] == "2026-12-03"
    assert page["url"] == "https://careers.example.com/jobs?utm_source=email"
    assert application["candidate_key"] is None  # named by email and ref only
    text = json.dumps(rows(answer))
    for personal in ("c_ada", ADDRESS, "Ada", "ats:A-1", "v2.k0.payload.signature"):
        assert personal not in text


def test_the_key_is_kept_and_an_erased_candidate_gets_none(aws, handler, context):
    profile(aws, "c_bob")
    first = rows(handler(batch(record(0, fact("Message Opened", opened("c_bob")))), context))
    again = rows(handler(batch(record(0, fact("Message Opened", opened("c_bob")))), context))
    assert first[0]["candidate_key"] == again[0]["candidate_key"] is not None
    # Erasure deletes the candidate's partition, the lake key with it.
    ddb = aws.client("dynamodb")
    for sk in ("PROFILE", "LAKE"):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "CAND#c_bob"}, "sk": {"S": sk}})
    after = handler(batch(record(0, fact("Message Opened", opened("c_bob")))), context)
    assert after["records"][0]["result"] == "Ok"
    assert rows(after)[0]["candidate_key"] is None
    assert "Item" not in ddb.get_item(
        TableName=TABLE, Key={"pk": {"S": "CAND#c_bob"}, "sk": {"S": "LAKE"}}
    )


def test_a_batchs_new_candidates_get_their_keys_in_one_request(aws, handler, context):
    """Three new candidates: one transaction creates their keys. A batch holding a candidate
    without a profile and one whose key exists is cancelled and goes one by one: each gets
    what a lone creation gives it."""
    from talentops.adapters.lake_keys import LakeKeys

    for c in ("c_1", "c_2", "c_3", "c_4"):
        profile(aws, c)
    calls: list[str] = []
    ddb = aws.client("dynamodb")
    ddb.meta.events.register(
        "before-call.dynamodb.TransactWriteItems", lambda **_: calls.append("transact")
    )
    keys = LakeKeys(TABLE, ddb)
    first = keys.create_many(["c_1", "c_2", "c_3", "c_2"])
    assert calls == ["transact"]
    assert set(first) == {"c_1", "c_2", "c_3"} and len(set(first.values())) == 3
    assert keys.existing(["c_1", "c_2", "c_3"]) == first

    calls.clear()
    second = keys.create_many(["c_4", "c_gone", "c_1"])
    assert second["c_gone"] is None and second["c_1"] == first["c_1"]
    assert second["c_4"] is not None and keys.existing(["c_4"]) == {"c_4": second["c_4"]}
    assert calls == ["transact"] * 4  # the cancelled group, then one each


def test_an_empty_batch_answers_no_records(aws, handler, context):
    assert handler(batch(), context) == {"records": []}


def opened(candidate_id: str) -> dict[str, Any]:
    return {"candidate_id": candidate_id, "message_id": "m9", "at": "2026-12-04T09:00:00Z"}

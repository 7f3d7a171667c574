"""Helpers of the privacy integration tests (issue #4): seeding, mails, links, signed calls,
and a full table scan."""

from __future__ import annotations

import email
import json
from email import policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3

from tests.conftest import BUS, REGION, TABLE
from tests.support.apigw import http_event
from tests.support.events import behaviour, consent, profile


def seed(
    handlers,
    context,
    address,
    *,
    country="DE",
    status="granted",
    purpose="events",
    observed_at="2026-11-01T09:00:00Z",
    **fields,
):
    handlers["ingest_profile"].handler(
        profile(
            address,
            observed_at=observed_at,
            first_name="Ada",
            country=country,
            seniority="mid",
            role_family="data",
            **fields,
        ),
        context,
    )
    if status:
        handlers["ingest_profile"].handler(
            consent(address, status, purpose=purpose, observed_at=observed_at), context
        )


def mails(aws) -> list[email.message.EmailMessage]:
    out = []
    for m in aws.sent_emails():
        raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
        out.append(email.message_from_bytes(raw, policy=policy.default))
    return out


def attend(handlers, context, address, event_id=None, **kwargs):
    return handlers["journeys"].handler(
        behaviour("Attended", address, event_id=event_id, **kwargs), context
    )


def unsubscribe_url(message) -> str:
    header = str(message["List-Unsubscribe"])
    return header.split(",", maxsplit=1)[0].strip().strip("<>")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def api_call(api, context, method, path, *, query=None, headers=None, body=None, iam=False):
    event = http_event(method, path, query=query, headers=headers, body=body)
    if iam:
        event["requestContext"]["authorizer"] = {
            "iam": {
                "accessKey": "AKIDEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "userArn": "arn:aws:iam::123456789012:user/ops",
                "userId": "AIDAEXAMPLE",
            }
        }
    return api.handler(event, context)


def body_text(response: dict[str, Any]) -> str:
    import base64

    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return body


def scan_table() -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE}
    while True:
        resp = ddb.scan(**kwargs)
        items.extend(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def consent_items(candidate_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in scan_table()
        if i["pk"]["S"] == f"CAND#{candidate_id}" and i["sk"]["S"].startswith("CONSENT#")
    ]


def candidate_id_of(address: str) -> str:
    ddb = boto3.client("dynamodb", region_name=REGION)
    item = ddb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"ALIAS#email#{address.lower()}"}, "sk": {"S": "ALIAS"}}
    )["Item"]
    return item["candidate_id"]["S"]


def capture_source(name: str, source: str):
    """A queue that receives the bus events of one source; returns a drain function."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        out = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return drain

"""Issue 13 end to end on the local stack: `POST /_local/engage` publishes SES's delivery,
open and click events for a message the stack's SES sent, and the system turns them into
`Message Delivered` / `Opened` / `Clicked` on its bus, tied to the message's decision (the
tags of the send), the click's URL without its link token. An unknown message is a 404, a
bad body a 400, and nothing reaches the bus for them."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

FACTS = ["Message Sent", "Message Delivered", "Message Opened", "Message Clicked"]


@pytest.fixture(scope="module")
def facts(stack: LocalStack) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """The message facts on the system's bus, through a rule that this client adds."""
    sqs, events = stack.client("sqs"), stack.client("events")
    name = f"engage-e2e-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name, EventBusName="talent-events", EventPattern=json.dumps({"detail-type": FACTS})
    )
    events.put_targets(Rule=name, EventBusName="talent-events", Targets=[{"Id": "q", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def received(wait: int = 1) -> list[dict[str, Any]]:
        """Every fact received so far (this module's messages only: filter by message)."""
        while True:
            msgs = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
            ).get("Messages", [])
            if not msgs:
                return list(seen)
            for m in msgs:
                seen.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            wait = 0

    yield received
    events.remove_targets(Rule=name, EventBusName="talent-events", Ids=["q"])
    events.delete_rule(Name=name, EventBusName="talent-events")


def _table(stack: LocalStack) -> str:
    return str(
        stack.client("cloudformation").describe_stack_resource(
            StackName="local", LogicalResourceId="TalentPoolTable"
        )["StackResourceDetail"]["PhysicalResourceId"]
    )


def _item(stack: LocalStack, pk: str, sk: str) -> dict[str, Any] | None:
    return (
        stack.client("dynamodb")
        .get_item(TableName=_table(stack), Key={"pk": {"S": pk}, "sk": {"S": sk}})
        .get("Item")
    )


@pytest.fixture(scope="module")
def sent(stack: LocalStack, facts: Callable[..., list[dict[str, Any]]]) -> dict[str, Any]:
    """A candidate registers for an event; the stack's SES sends the confirmation. Returns
    the outbox entry and the `Message Sent` fact of that email."""
    run = uuid.uuid4().hex[:10]
    address = f"engage-{run}@example.org"
    now = datetime.fromisoformat(stack.now())
    observed = (now - timedelta(minutes=5)).isoformat()
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address},
            "observed_at": observed,
            "fields": {"email": address, "first_name": "Lin", "country": "DE", "city": "Berlin"},
        },
        source="talent.crm",
    )
    stack.put_event(
        "Candidate Consent Changed",
        {
            "candidate": {"email": address},
            "observed_at": observed,
            "channel": "email",
            "purpose": "events",
            "status": "granted",
        },
        source="talent.careers-site",
    )

    def consented() -> bool:
        alias = _item(stack, f"ALIAS#email#{address}", "ALIAS")
        profile = alias and _item(stack, f"CAND#{alias['candidate_id']['S']}", "PROFILE")
        return "events" in (profile or {}).get("consent", {}).get("M", {})

    stack.wait_for(consented, timeout=20)
    event = {
        "id": f"evt-{run}",
        "name": f"Engagement Night {run}",
        "city": "Berlin",
        "starts_at": (now + timedelta(days=12)).isoformat(),
    }
    stack.put_event(
        "Candidate Event Registered",
        {"candidate": {"email": address}, "observed_at": now.isoformat(), "event": event},
        source="talent.events-platform",
    )
    mail = stack.wait_for(
        lambda: next((m for m in stack.outbox() if address in m["to"]), None), timeout=30
    )
    message_id = mail["message_id"].split("@", 1)[0]

    def sent_fact() -> dict[str, Any] | None:
        return next(
            (
                f
                for f in facts(wait=1)
                if f["detail-type"] == "Message Sent" and f["detail"]["message_id"] == message_id
            ),
            None,
        )

    return {"mail": mail, "message_id": message_id, "sent": stack.wait_for(sent_fact, 30)}


def engage(stack: LocalStack, **body: Any) -> Any:
    return stack.post("/_local/engage", json=body)


def test_the_outbox_keeps_the_tags_and_configuration_set_of_each_send(
    sent: dict[str, Any],
) -> None:
    mail, fact = sent["mail"], sent["sent"]["detail"]
    assert mail["configuration_set"]
    assert mail["tags"]["candidate_id"] == fact["candidate_id"]
    assert mail["tags"]["decision_id"] == mail["headers"]["X-TalentOps-Decision"]
    assert fact["message_id"] == f"m_{mail['tags']['decision_id']}"


def test_delivery_open_and_click_become_the_message_facts_on_the_bus(
    stack: LocalStack, sent: dict[str, Any], facts: Callable[..., list[dict[str, Any]]]
) -> None:
    mail, message_id = sent["mail"], sent["message_id"]
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', mail["html"])]
    careers = next(h for h in links if "t" in parse_qs(urlsplit(h).query))

    before = datetime.fromisoformat(stack.now())
    answers = {
        "delivery": engage(stack, message_id=message_id, kind="delivery"),
        # The outbox's own ids name the message too.
        "open": engage(stack, message_id=mail["ses_message_id"], kind="open"),
        "click": engage(stack, message_id=mail["message_id"], kind="click", url=careers),
    }
    expected = {"delivery": "Email Delivered", "open": "Email Opened", "click": "Email Clicked"}
    for kind, answer in answers.items():
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "published"
        assert answer.json()["detail_type"] == expected[kind]
        assert answer.json()["ses_message_id"] == mail["ses_message_id"]

    def engaged() -> dict[str, dict[str, Any]] | None:
        found = {
            f["detail-type"]: f["detail"]
            for f in facts(wait=1)
            if f["detail"].get("message_id") == message_id and f["detail-type"] != "Message Sent"
        }
        return found if len(found) == 3 else None

    found = stack.wait_for(engaged, timeout=30, interval=0.5)
    assert set(found) == {"Message Delivered", "Message Opened", "Message Clicked"}
    sent_detail = sent["sent"]["detail"]
    for detail in found.values():
        assert detail["candidate_id"] == sent_detail["candidate_id"]
        assert detail["template"] == sent_detail["template"]
        assert detail["variant"] == sent_detail["variant"]
        assert detail["decision_id"] == mail["tags"]["decision_id"]
        # SES's time of the engagement: the stack's clock when it was engaged.
        at = datetime.fromisoformat(detail["at"].replace("Z", "+00:00"))
        assert before - timedelta(seconds=1) <= at <= before + timedelta(minutes=5)
    clicked = found["Message Clicked"]["url"]
    assert "t" not in parse_qs(urlsplit(clicked).query), "the link token never reaches the bus"
    assert clicked.split("?", 1)[0] == careers.split("?", 1)[0]


def test_an_unknown_message_is_404_and_a_bad_body_is_400_and_nothing_is_published(
    stack: LocalStack, sent: dict[str, Any], facts: Callable[..., list[dict[str, Any]]]
) -> None:
    facts(wait=0)
    seen = len(facts(wait=0))
    unknown = engage(stack, message_id="m_0000000000000000000000000000dead", kind="open")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_message"
    assert unknown.json()["error"]["message"]

    message_id = sent["message_id"]
    for body, problem in (
        ({"message_id": message_id, "kind": "bounce"}, "kind must be one of"),
        ({"message_id": message_id, "kind": "click"}, "a click needs url"),
        ({"message_id": message_id, "kind": "click", "url": "/careers"}, "absolute http(s)"),
        ({"message_id": message_id, "kind": "open", "url": "https://x.example"}, "click only"),
        ({"kind": "open"}, "message_id must be"),
        ({"message_id": message_id, "kind": "open", "extra": 1}, "unknown field"),
    ):
        answer = engage(stack, **body)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["code"] == "bad_request"
        assert problem in answer.json()["error"]["message"], body
    not_json = stack.post("/_local/engage", data=b"{", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400
    assert stack.get("/_local/engage").status_code == 405
    assert len(facts(wait=3)) == seen, "a refused engagement publishes nothing"

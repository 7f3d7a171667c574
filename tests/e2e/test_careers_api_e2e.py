"""Issue #5 end to end on the local stack, through the public contract only: a token from a
sent email gets the candidate's variant and an anonymous visitor another; the jobs and events
of Job Opened and the event messages are what the blocks list; unknown slot 404 and bad
token 401 with error bodies; POST /track turns a job view into a candidate event on the bus
(202) and refuses malformed, unknown and oversized input with a 4xx and no event."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

SITE_SOURCE = "talent.careers-site"


@pytest.fixture(scope="module")
def site_events(stack: LocalStack) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The events of source talent.careers-site, through a rule that this client adds."""
    sqs, events = stack.client("sqs"), stack.client("events")
    name = f"careers-e2e-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name, EventBusName="talent-events", EventPattern=json.dumps({"source": [SITE_SOURCE]})
    )
    events.put_targets(Rule=name, EventBusName="talent-events", Targets=[{"Id": "q", "Arn": arn}])

    def drain(wait: int = 1) -> list[dict[str, Any]]:
        out = []
        while True:
            msgs = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
            ).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            wait = 0

    yield drain
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


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[-2]  # v2.<kid>.<payload>.<signature>
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.fixture(scope="module")
def candidate(stack: LocalStack) -> dict[str, Any]:
    """A senior data candidate in Berlin who registered for an event, with the link token of
    the confirmation email the stack sent them."""
    run = uuid.uuid4().hex[:10]
    address = f"careers-{run}@example.org"
    now = datetime.fromisoformat(stack.now())
    observed = (now - timedelta(minutes=5)).isoformat()
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address},
            "observed_at": observed,
            "fields": {
                "email": address,
                "first_name": "Grace",
                "country": "DE",
                "city": "Berlin",
                "seniority": "senior",
                "role_family": "data",
                "language": "en",
            },
        },
        source="talent.crm",
    )
    for purpose in ("events", "job_alerts"):
        stack.put_event(
            "Candidate Consent Changed",
            {
                "candidate": {"email": address},
                "observed_at": observed,
                "channel": "email",
                "purpose": purpose,
                "status": "granted",
                "evidence": "careers e2e",
            },
            source="talent.careers-site",
        )

    # Facts on different rules may be handled in any order: register once the profile and
    # its consent are in (else the confirmation would be suppressed, rightly).
    def consented() -> bool:
        alias = _item(stack, f"ALIAS#email#{address}", "ALIAS")
        profile = alias and _item(stack, f"CAND#{alias['candidate_id']['S']}", "PROFILE")
        consent = (profile or {}).get("consent", {}).get("M", {})
        return all(p in consent for p in ("events", "job_alerts"))

    stack.wait_for(consented, timeout=20)
    event = {
        "id": f"evt-{run}",
        "name": f"Careers Night {run}",
        "city": "Berlin",
        "starts_at": (now + timedelta(days=14)).isoformat(),
    }
    stack.put_event(
        "Candidate Event Registered",
        {"candidate": {"email": address}, "observed_at": now.isoformat(), "event": event},
        source="talent.events-platform",
    )

    def sent() -> dict[str, Any] | None:
        return next((m for m in stack.outbox() if address in m["to"]), None)

    mail = stack.wait_for(sent, timeout=30)
    tokens = re.findall(r"[?&]t=([A-Za-z0-9._-]+)", mail["html"])
    assert tokens, "the email carries no careers-site link with t="
    token = tokens[0]
    return {
        "address": address,
        "token": token,
        "id": _claims(token)["c"],
        "event": event,
        "run": run,
    }


def content(stack: LocalStack, slot: str, token: str | None = None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return stack.get(f"/content/{slot}", headers=headers)


# -- personalized blocks --------------------------------------------------------------------


def test_a_token_from_a_sent_email_gets_a_different_variant_than_an_anonymous_visitor(
    stack: LocalStack, candidate: dict[str, Any]
) -> None:
    anonymous = content(stack, "hero")
    known = content(stack, "hero", candidate["token"])
    assert anonymous.status_code == known.status_code == 200
    assert anonymous.json()["variant"] == "anonymous"
    assert known.json()["slot"] == "hero" and known.json()["variant"] == "senior"
    assert "Grace" in known.json()["html"] and "Grace" not in anonymous.json()["html"]
    assert known.headers["Cache-Control"] == "private, no-store"


def test_the_events_block_lists_the_event_of_the_event_messages(
    stack: LocalStack, candidate: dict[str, Any]
) -> None:
    event = candidate["event"]
    stack.wait_for(lambda: _item(stack, f"EVENT#{event['id']}", "EVENT"), timeout=20)

    def listed() -> Any:
        block = content(stack, "events", candidate["token"]).json()
        return block if event["name"] in block["html"] else None

    block = stack.wait_for(listed, timeout=45, interval=1)  # a process may hold a stale listing
    assert block["variant"] == "nearby"  # the candidate's city
    assert event["name"] in content(stack, "events").json()["html"]


def test_the_jobs_block_lists_a_job_of_job_opened_that_fits_the_candidate(
    stack: LocalStack, candidate: dict[str, Any]
) -> None:
    job_id = f"job-{candidate['run']}"
    now = datetime.fromisoformat(stack.now())
    stack.put_event(
        "Job Opened",
        {
            "observed_at": now.isoformat(),
            "job": {
                "id": job_id,
                "title": "Principal Data Engineer",
                "role_family": "data",
                "seniority": "lead",
                "city": "Berlin",
                "country": "DE",
                "remote": False,
                "url": f"https://careers.example.com/jobs/{job_id}",
            },
        },
    )
    stack.wait_for(lambda: _item(stack, f"JOB#{job_id}", "JOB"), timeout=20)

    def listed() -> Any:
        block = content(stack, "jobs", candidate["token"]).json()
        return block if f'data-job-id="{job_id}"' in block["html"] else None

    block = stack.wait_for(listed, timeout=45, interval=1)
    assert block["variant"] == "matching"


def test_the_decision_is_recorded_under_the_candidate_with_its_reasons(
    stack: LocalStack, candidate: dict[str, Any]
) -> None:
    content(stack, "hero", candidate["token"])
    items = stack.client("dynamodb").query(
        TableName=_table(stack),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={
            ":pk": {"S": f"CAND#{candidate['id']}"},
            ":d": {"S": "DECISION#"},
        },
    )["Items"]
    hero = [
        i for i in items if i.get("kind", {}).get("S") == "content" and i["template"]["S"] == "hero"
    ]
    assert len(hero) == 1 and hero[0]["variant"]["S"] == "senior"
    reasons = [r["S"] for r in hero[0]["reasons"]["L"]]
    assert reasons[-1] == "variant senior: candidate.seniority seniority_at_least 'senior'"


# -- errors ---------------------------------------------------------------------------------


def test_unknown_slot_is_404_and_bad_tokens_are_401_with_error_bodies(
    stack: LocalStack, candidate: dict[str, Any]
) -> None:
    missing = content(stack, "sidebar", candidate["token"])
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "unknown_slot", "message": "there is no content slot 'sidebar'"}
    }
    token = candidate["token"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (tampered, "v1.abc.def", "garbage"):
        answer = content(stack, "hero", bad)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_token"
        assert answer.json()["error"]["message"]
    basic = content(stack, "hero", Authorization=f"Basic {token}")
    assert basic.status_code == 401


# -- tracking -------------------------------------------------------------------------------


def test_a_job_view_is_accepted_and_becomes_the_candidates_event_on_the_bus(
    stack: LocalStack, candidate: dict[str, Any], site_events: Callable[..., Any]
) -> None:
    site_events(wait=0)
    answer = stack.post(
        "/track",
        json={
            "type": "job_viewed",
            "job": {"id": "job-42", "title": "Data Engineer"},
            "url": "https://careers.example.com/jobs/job-42",
        },
        headers={"Authorization": f"Bearer {candidate['token']}"},
    )
    assert answer.status_code == 202
    assert answer.json()["detail_type"] == "Candidate Job Viewed"
    events = site_events(wait=5)
    assert [e["detail-type"] for e in events] == ["Candidate Job Viewed"]
    assert events[0]["id"] == answer.json()["event_id"]
    assert events[0]["detail"]["candidate"] == {"id": candidate["id"]}
    # The job travels on as its id only (issue 11): emails show jobs from the listings.
    assert events[0]["detail"]["job"] == {"id": "job-42"}


def test_an_anonymous_job_view_names_a_visitor_not_a_candidate(
    stack: LocalStack, site_events: Callable[..., Any]
) -> None:
    site_events(wait=0)
    answer = stack.post(
        "/track",
        json={"type": "job_viewed", "job": {"id": "job-7"}, "anonymous_id": "e2e-visitor-1"},
    )
    assert answer.status_code == 202 and answer.json()["anonymous_id"] == "e2e-visitor-1"
    [event] = site_events(wait=5)
    assert event["detail-type"] == "Visitor Job Viewed"
    assert event["detail"]["visitor"] == {"anonymous_id": "e2e-visitor-1"}


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ('{"type": "job_viewed", "job": {"id": ', "application/json", 400, "malformed_json"),
        ('{"type": "job_clicked", "job": {"id": "j"}}', "application/json", 400, "invalid_request"),
        ('{"type": "job_viewed"}', "application/json", 400, "invalid_request"),
        (
            '{"type": "job_viewed", "job": {"id": "j", "title": "' + "x" * 10_000 + '"}}',
            "application/json",
            413,
            "payload_too_large",
        ),
        (
            '{"type": "page_viewed", "url": "https://x.example"}',
            "text/plain",
            415,
            "unsupported_media_type",
        ),
        ("type=page_viewed", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (
            '{"type": "job_viewed", "job": {"id": "j"}, "token": "v1.AAAA.BBBB"}',
            "application/json",
            401,
            "invalid_token",
        ),
    ],
)
def test_bad_track_input_is_a_4xx_with_an_error_body_and_puts_nothing_on_the_bus(
    stack: LocalStack,
    site_events: Callable[..., Any],
    data: str,
    content_type: str,
    status: int,
    code: str,
) -> None:
    site_events(wait=0)
    answer = stack.post("/track", data=data.encode(), headers={"Content-Type": content_type})
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]
    assert site_events(wait=2) == []


# -- the OpenAPI document --------------------------------------------------------------------


def test_swagger_ui_is_served_at_docs_without_the_internet(stack: LocalStack) -> None:
    page = stack.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert not re.search(r"""(src|href)=["']https?://""", page.text)
    spec = stack.get("/docs", params={"format": "json"}).json()
    assert {"/content/{slot}", "/track"} <= set(spec["paths"])

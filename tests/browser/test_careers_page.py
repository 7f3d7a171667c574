"""The demo careers page (examples/careers-site, served by the local stack at /careers/) in
headless Chromium: the link of a sent email shows the candidate's variant, not the anonymous
one, from one `GET /content?slots=` call whose blocks carry their data (title, the jobs and
their links), and a job view is reported to POST /track; Swagger UI at /docs renders offline.
Screenshots land in out/browser/."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import PageLog
from tests.e2e.conftest import LocalStack

SITE_SOURCE = "talent.careers-site"
SLOTS = ("hero", "jobs", "events")


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
def site_events(stack: LocalStack) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    sqs, events = stack.client("sqs"), stack.client("events")
    name = f"careers-page-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name, EventBusName="talent-events", EventPattern=json.dumps({"source": [SITE_SOURCE]})
    )
    events.put_targets(Rule=name, EventBusName="talent-events", Targets=[{"Id": "q", "Arn": arn}])

    def drain(wait: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
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


@pytest.fixture(scope="module")
def sent_email(stack: LocalStack) -> dict[str, Any]:
    """A senior data candidate in Berlin registers for an event; a job that fits them opens.
    Returns the confirmation email the stack sent them, the event and the job."""
    run = uuid.uuid4().hex[:8]
    address = f"page-{run}@example.org"
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
            },
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
        "name": f"Data Meetup {run}",
        "city": "Berlin",
        "starts_at": (now + timedelta(days=10)).isoformat(),
    }
    stack.put_event(
        "Candidate Event Registered",
        {"candidate": {"email": address}, "observed_at": now.isoformat(), "event": event},
        source="talent.events-platform",
    )
    job = {
        "id": f"job-{run}",
        "title": "Senior Data Engineer",
        "role_family": "data",
        "seniority": "senior",
        "city": "Berlin",
        "country": "DE",
        "remote": False,
        "url": f"https://careers.example.com/jobs/job-{run}",
    }
    stack.put_event("Job Opened", {"observed_at": now.isoformat(), "job": job})
    mail = stack.wait_for(
        lambda: next((m for m in stack.outbox() if address in m["to"]), None), timeout=30
    )
    stack.wait_for(lambda: _item(stack, f"EVENT#{event['id']}", "EVENT"), timeout=20)
    stack.wait_for(lambda: _item(stack, f"JOB#{job['id']}", "JOB"), timeout=20)
    return {"mail": mail, "event": event, "job": job}


def careers_link(stack: LocalStack, mail: dict[str, Any]) -> str:
    """The email's link to the careers site, on the local stack's demo page."""
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', mail["html"])]
    link = next(
        h
        for h in links
        if re.search(r"[?&]t=", h) and "/unsubscribe" not in h and "/preferences" not in h
    )
    parts = urlsplit(link)
    if link.startswith(f"{stack.api_url}/careers/"):
        return link
    # The stack's emails point at the configured careers site; the demo page stands in.
    return f"{stack.api_url}/careers/?{parts.query}"


def wait_ready(page: Any) -> None:
    page.wait_for_selector("body[data-state=ready]")


def variants(page: Any) -> dict[str, str]:
    return {slot: page.get_attribute(f"#{slot}", "data-variant") for slot in SLOTS}


def content_calls(page: Any) -> list[str]:
    """The paths and queries of the page's calls to GET /content..., as they are made."""
    calls: list[str] = []

    def seen(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.path.startswith("/content"):
            calls.append(f"{parts.path}?{parts.query}")

    page.on("request", seen)
    return calls


def titles(page: Any) -> dict[str, tuple[str | None, str]]:
    """Per slot: the title the block's data gives (data-title) and the heading it shows."""
    return {
        slot: (
            page.get_attribute(f"#{slot}", "data-title"),
            " ".join((page.text_content(f"#{slot} h1, #{slot} h2") or "").split()),
        )
        for slot in SLOTS
    }


def assert_clean(log: PageLog) -> None:
    assert log.page_errors == [], log.page_errors
    assert log.console_errors == [], log.console_errors
    assert log.blocked == [], f"the page tried to reach other hosts: {log.blocked}"


def test_the_link_from_a_sent_email_shows_the_candidates_variant_and_reports_a_job_view(
    stack: LocalStack,
    page: Any,
    page_log: PageLog,
    screenshot: Callable[[str], Any],
    sent_email: dict[str, Any],
    site_events: Callable[..., list[dict[str, Any]]],
) -> None:
    link = careers_link(stack, sent_email["mail"])
    calls = content_calls(page)
    page.goto(link)
    wait_ready(page)

    assert page.get_attribute("body", "data-visitor") == "candidate"
    assert variants(page) == {"hero": "senior", "jobs": "matching", "events": "nearby"}
    # One call for the whole page, and every block's data is what the block shows.
    assert calls == ["/content?slots=hero%2Cjobs%2Cevents"]
    for slot, (title, heading) in titles(page).items():
        assert title and title == heading, slot
    assert titles(page)["hero"][0] == "Grace, lead what we build next"
    assert "Grace" in page.inner_text("#hero")
    assert sent_email["event"]["name"] in page.inner_text("#events")
    assert sent_email["job"]["title"] in page.inner_text("#jobs")
    assert "t=" not in page.url, "the token stays out of the address bar"
    shot = screenshot("careers-page-candidate")
    assert shot.stat().st_size > 10_000

    site_events(wait=0)
    page.click(f'[data-job-id="{sent_email["job"]["id"]}"] .to-job-link')
    page.wait_for_selector("#track-status[data-event-id]")
    assert page.get_attribute("#track-status", "data-detail-type") == "Candidate Job Viewed"
    assert page.is_visible("#job-detail")
    # The detail shows the job as the jobs block's data lists it, its link included.
    assert page.inner_text("#job-detail-title") == sent_email["job"]["title"]
    assert page.get_attribute("#job-detail-apply", "href") == sent_email["job"]["url"]
    screenshot("careers-page-job-view")

    def job_viewed() -> list[dict[str, Any]]:
        return [e for e in site_events(wait=1) if e["detail-type"] == "Candidate Job Viewed"]

    [event] = stack.wait_for(job_viewed, timeout=15)
    assert event["detail"]["job"]["id"] == sent_email["job"]["id"]
    assert event["id"] == page.get_attribute("#track-status", "data-event-id")
    assert set(event["detail"]["candidate"]) == {"id"}
    assert_clean(page_log)


def test_an_anonymous_visitor_sees_the_anonymous_variants(
    stack: LocalStack,
    page: Any,
    page_log: PageLog,
    screenshot: Callable[[str], Any],
    sent_email: dict[str, Any],
    site_events: Callable[..., list[dict[str, Any]]],
) -> None:
    calls = content_calls(page)
    page.goto(f"{stack.api_url}/careers/")
    wait_ready(page)
    assert page.get_attribute("body", "data-visitor") == "anonymous"
    assert variants(page) == {"hero": "anonymous", "jobs": "anonymous", "events": "anonymous"}
    assert calls == ["/content?slots=hero%2Cjobs%2Cevents"]
    for slot, (title, heading) in titles(page).items():
        assert title and title == heading, slot
    assert "Grace" not in page.inner_text("main")
    screenshot("careers-page-anonymous")

    site_events(wait=0)
    page.click(f'[data-job-id="{sent_email["job"]["id"]}"] .to-job-link')
    page.wait_for_selector("#track-status[data-event-id]")
    assert page.get_attribute("#track-status", "data-detail-type") == "Visitor Job Viewed"
    [event] = stack.wait_for(
        lambda: [e for e in site_events(wait=1) if e["detail-type"] == "Visitor Job Viewed"],
        timeout=15,
    )
    anonymous_id = page.evaluate("window.localStorage.getItem('talentops.anonymous_id')")
    assert event["detail"]["visitor"] == {"anonymous_id": anonymous_id}
    assert_clean(page_log)


def test_a_tampered_link_falls_back_to_the_anonymous_page_with_a_notice(
    stack: LocalStack,
    page: Any,
    page_log: PageLog,
    sent_email: dict[str, Any],
) -> None:
    link = careers_link(stack, sent_email["mail"])
    page.goto(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    wait_ready(page)
    assert page.get_attribute("body", "data-visitor") == "anonymous"
    assert variants(page)["hero"] == "anonymous"
    assert page.is_visible("#notice") and "expired" in page.inner_text("#notice")
    # The browser logs the 401 of the first attempt; nothing else may go wrong.
    page_log.console_errors[:] = [e for e in page_log.console_errors if "401" not in e]
    assert_clean(page_log)


def test_swagger_ui_renders_at_docs_without_the_internet(
    stack: LocalStack,
    page: Any,
    page_log: PageLog,
    screenshot: Callable[[str], Any],
) -> None:
    page.goto(f"{stack.api_url}/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/content/{slot}" in p for p in paths) and any("/track" in p for p in paths)
    assert "/content" in [re.sub(r"[^!-~]", "", p) for p in paths]  # zero-width spaces
    screenshot("swagger-ui")
    assert page_log.blocked == [], f"Swagger UI tried to reach other hosts: {page_log.blocked}"
    assert page_log.page_errors == []

"""Issue 11's phishing attack, played through the real handlers under moto: a candidate's link
token, `POST /track` with a job the listings do not know and a hostile title and URL, the
`Candidate Job Viewed` it puts on the bus into the journeys function, and the job nurture's
timer three days later. Nothing with the hostile title or URL is ever sent; the nurture's
message is suppressed `unknown_job` and announced. A job the listings do know is shown as
they hold it, whatever the tracking call said; an event page and a job page off the allowed
origins are replaced by the careers site's lists."""

from __future__ import annotations

import email
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from talentops import wiring
from talentops.clock import SYSTEM_CLOCK
from talentops.models.events import JobInfo
from talentops.tokens import TokenSigner
from tests.conftest import BUS, REGION, Aws, FakeContext, load_handler
from tests.support.apigw import http_event, json_body
from tests.support.events import EVENT, behaviour, consent, profile
from tests.support.job_alerts import JobAlertRig, consent_fact, job_opened, profile_fact
from tests.support.timers import fire_due

KEY = b"0123456789abcdef0123456789abcdef"  # the `aws` fixture's SSM token key
SITE_SOURCE = "talent.careers-site"
VIEWED_AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
NUDGE_AT = VIEWED_AT + timedelta(days=3)
ALLOWED = {("https", "careers.example.com", 443), ("http", "127.0.0.1", 3000)}
ATTACK_JOB = {
    "id": "no-such-job",
    "title": "URGENT: your account is locked",
    "url": "https://evil.example/login",
}
LISTED = JobInfo(
    id="job-data-eng",
    title="Data Engineer",
    role_family="data",
    seniority="mid",  # type: ignore[arg-type]
    city="Berlin",
    country="DE",
    url="https://careers.example.com/jobs/job-data-eng",
)


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], None]]:
    offset = SYSTEM_CLOCK.offset
    SYSTEM_CLOCK.offset = timedelta(0)
    SYSTEM_CLOCK.fixed = VIEWED_AT

    def move(moment: datetime) -> None:
        SYSTEM_CLOCK.fixed = moment

    yield move
    SYSTEM_CLOCK.fixed = None
    SYSTEM_CLOCK.offset = offset


@pytest.fixture(scope="module")
def api() -> Any:
    return load_handler("api")


@pytest.fixture
def site_events(aws: Aws) -> Callable[[], list[dict[str, Any]]]:
    """Events the careers-site API put on the bus (a rule on its source into a queue)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="site-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="site-capture", EventBusName=BUS, EventPattern=json.dumps({"source": [SITE_SOURCE]})
    )
    events.put_targets(Rule="site-capture", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        out = []
        while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return out

    return drain


def _seed(handlers: dict[str, Any], context: FakeContext, address: str) -> str:
    ingest = handlers["ingest_profile"].handler
    result = ingest(
        profile(
            address,
            first_name="Ada",
            country="DE",
            city="Berlin",
            timezone="Europe/Berlin",
            seniority="mid",
            role_family="data",
        ),
        context,
    )
    for purpose in ("events", "marketing"):
        ingest(consent(address, purpose=purpose), context)
    return str(result["candidate_id"])


def _token(candidate_id: str) -> str:
    return TokenSigner(KEY).issue(
        candidate_id=candidate_id,
        purpose="marketing",
        message_id="m_earlier",
        scope="link",
        now=VIEWED_AT - timedelta(days=1),
        ttl=timedelta(days=90),
    )


def _track_job_view(
    api: Any,
    context: FakeContext,
    handlers: dict[str, Any],
    site_events: Callable[[], list[dict[str, Any]]],
    candidate_id: str,
    job: dict[str, Any],
) -> dict[str, Any]:
    """The attack as sent: POST /track with the token; then the event it put on the bus,
    as EventBridge delivers it to the journeys function."""
    body = {"type": "job_viewed", "token": _token(candidate_id), "job": job}
    response = api.handler(http_event("POST", "/track", body=body), context)
    assert response["statusCode"] == 202, response  # the route still accepts the behaviour
    assert json_body(response)["detail_type"] == "Candidate Job Viewed"
    [event] = site_events()
    handlers["journeys"].handler(event, context)
    return event


def _mails(aws: Aws, to: str) -> list[EmailMessage]:
    out = []
    for m in aws.sent_emails():
        raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if to in str(message["To"]):
            out.append(message)
    return out


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("href", "src") and v is not None]


def _parts(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert isinstance(html, EmailMessage) and isinstance(text, EmailMessage)
    return str(html.get_content()), str(text.get_content())


def _assert_links_allowed(message: EmailMessage) -> list[str]:
    html, text = _parts(message)
    parser = _Hrefs()
    parser.feed(html)
    urls = parser.urls + [w for w in text.split() if "://" in w]
    assert urls
    for url in urls:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname, parts.port or 443)
        assert "@" not in parts.netloc and origin in ALLOWED, url
    return urls


def test_the_track_attack_makes_the_nurture_send_nothing(
    aws: Aws,
    handlers: dict[str, Any],
    context: FakeContext,
    api: Any,
    site_events: Callable[[], list[dict[str, Any]]],
    clock: Callable[[datetime], None],
) -> None:
    wiring.listings().put_job(LISTED, VIEWED_AT - timedelta(days=2))
    candidate = _seed(handlers, context, "target@example.org")
    aws.drain()

    event = _track_job_view(api, context, handlers, site_events, candidate, ATTACK_JOB)
    # The hostile title and URL stop at the edge: the bus carries the job's id only.
    assert event["detail"]["job"] == {"id": "no-such-job"}
    assert "evil.example" not in json.dumps(event) and "URGENT" not in json.dumps(event)

    clock(NUDGE_AT)
    assert fire_due(handlers["journey_timer"], context, NUDGE_AT) == 1
    assert _mails(aws, "target@example.org") == []
    for message in aws.sent_emails():  # nobody got anything with the attacker's words
        assert "evil.example" not in str(message.raw_data) and "URGENT" not in str(message.raw_data)
    [decision] = [
        d for d in wiring.repository().decisions(candidate) if d.template == "job_nurture"
    ]
    assert decision.outcome == "suppress" and decision.reason == "unknown_job"
    assert decision.status == "suppressed"
    assert any("not among the listings" in r for r in decision.reasons)
    [announced] = [e for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert announced["detail"]["reason"] == "unknown_job"
    assert announced["detail"]["template"] == "job_nurture"
    assert announced["detail"]["candidate_id"] == candidate


def test_a_listed_job_is_shown_as_the_listings_hold_it_whatever_the_tracking_call_said(
    aws: Aws,
    handlers: dict[str, Any],
    context: FakeContext,
    api: Any,
    site_events: Callable[[], list[dict[str, Any]]],
    clock: Callable[[datetime], None],
) -> None:
    wiring.listings().put_job(LISTED, VIEWED_AT - timedelta(days=2))
    candidate = _seed(handlers, context, "viewer@example.org")
    _track_job_view(api, context, handlers, site_events, candidate, {**ATTACK_JOB, "id": LISTED.id})

    clock(NUDGE_AT)
    assert fire_due(handlers["journey_timer"], context, NUDGE_AT) == 1
    [nudge] = _mails(aws, "viewer@example.org")
    assert str(nudge["Subject"]) == "Still thinking about Data Engineer?"
    html, text = _parts(nudge)
    for part in (str(nudge["Subject"]), html, text):
        assert "URGENT" not in part and "evil.example" not in part
    urls = _assert_links_allowed(nudge)
    assert str(LISTED.url) in urls  # the page the listings hold
    [decision] = [
        d for d in wiring.repository().decisions(candidate) if d.template == "job_nurture"
    ]
    assert decision.outcome == "send" and decision.status == "sent"


def test_an_event_page_off_the_allowed_origins_is_replaced_by_the_careers_sites(
    aws: Aws, handlers: dict[str, Any], context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _seed(handlers, context, "guest@example.org")
    hostile = {**EVENT, "url": "https://careers.example.com@evil.example/register"}
    handlers["journeys"].handler(
        behaviour("Registered", "guest@example.org", "2026-11-30T09:00:00Z", event=hostile),
        context,
    )
    [confirmation] = _mails(aws, "guest@example.org")
    urls = _assert_links_allowed(confirmation)
    assert any(u.startswith("https://careers.example.com/events?t=") for u in urls)
    assert "evil.example" not in str(confirmation)


@pytest.fixture
def rig(aws: Aws, context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[JobAlertRig]:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="job-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    monkeypatch.setenv("JOB_ALERT_QUEUE_URL", url)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.job_alerts import wiring as alert_wiring

    alert_wiring.reset()
    handlers = {n: load_handler(n) for n in ("ingest_profile", "job_fanout", "job_alert_worker")}
    yield JobAlertRig(aws, handlers, context, url, arn)
    alert_wiring.reset()


def test_a_job_alert_for_a_job_page_off_the_allowed_origins_links_to_the_careers_site(
    rig: JobAlertRig,
) -> None:
    observed = "2026-10-01T09:00:00Z"
    rig.ingest(
        profile_fact(
            email_address="ada@example.org",
            observed_at=observed,
            first_name="Ada",
            country="DE",
            role_family="data",
            seniority="mid",
            city="Berlin",
        )
    )
    rig.ingest(consent_fact("ada@example.org", status="granted", observed_at=observed))
    rig.open_job(job_opened({"url": "https://careers.example.com@evil.example/apply"}))
    rig.drain()
    [alert] = rig.mails_to("ada@example.org")
    assert isinstance(alert, EmailMessage)
    urls = _assert_links_allowed(alert)
    assert "evil.example" not in str(alert)
    assert any(u.startswith("https://careers.example.com/jobs?t=") for u in urls)

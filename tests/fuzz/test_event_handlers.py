"""Every event handler under moto (tables of template.yaml), fed events generated from the
contract's JSON Schemas and one-step mutations of them. The property: a handler returns, or
refuses the event with InvalidEventError, or UnknownCandidateError for a fact that names an
id the system never issued (Lambda retries it, then parks it in the DLQ with its reason);
nothing else escapes, and a refusal's reason quotes no input. SQS handlers never
raise: each record succeeds or is a batch item failure, for a validation error or a domain
error of the project, never a crash of its own code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from talentops.errors import InvalidEventError, TalentOpsError, UnknownCandidateError
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.jsonschema import from_json_schema
from tests.fuzz.strategies import (
    body_of,
    detail_of,
    envelope,
    hostile_envelope,
    mutated,
    sqs_event,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

KNOWN = ("ada@example.org", "bob@example.org")
# Input that a refusal's reason must never quote (personal data, hostile text).
NEVER_QUOTED = ("ada@example.org", "müller", "exämple", "evil.example", "Ada\u202e")


def _recent() -> str:
    return (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def pool(aws, functions, context, monkeypatch) -> None:
    """Two candidates the generated events can name, with every purpose granted; the queues
    of the job alerts and the campaigns."""
    from talentops.campaigns import wiring as campaign_wiring
    from talentops.job_alerts import wiring as alert_wiring

    sqs = aws.client("sqs")
    for name, prefix in (("job-alerts", "JOB_ALERT_QUEUE"), ("campaigns", "CAMPAIGN_QUEUE")):
        url = sqs.create_queue(QueueName=f"fuzz-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        monkeypatch.setenv(f"{prefix}_URL", url)
        monkeypatch.setenv(f"{prefix}_ARN", arn["Attributes"]["QueueArn"])
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", "talentops-timers")
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/fuzz")
    alert_wiring.reset()
    campaign_wiring.reset()
    for address in KNOWN:
        functions["ingest_profile"].handler(
            envelope(
                "Candidate Profile Updated",
                {
                    "candidate": {"email": address},
                    "observed_at": _recent(),
                    "fields": {"email": address, "first_name": "Ada", "country": "DE"},
                },
                source="talent.crm",
            ),
            context,
        )
        for purpose in ("marketing", "job_alerts", "events"):
            functions["ingest_profile"].handler(
                envelope(
                    "Candidate Consent Changed",
                    {
                        "candidate": {"email": address},
                        "observed_at": _recent(),
                        "purpose": purpose,
                        "status": "granted",
                    },
                    source="talent.careers-site",
                ),
                context,
            )


def _aimed(event: dict[str, Any], who: int, date: bool) -> dict[str, Any]:
    """Most generated candidates and dates match nothing: aim some at the known pool."""
    if not isinstance(event, dict):
        return event
    detail = event.get("detail")
    if isinstance(detail, dict):
        if isinstance(detail.get("candidate"), dict):
            detail["candidate"] = {"email": KNOWN[who % len(KNOWN)]}
        if date and "observed_at" in detail:
            detail["observed_at"] = _recent()
    return event


def events_of(*detail_types: str) -> st.SearchStrategy[dict[str, Any]]:
    raw = st.sampled_from(detail_types).flatmap(hostile_envelope)
    aimed = st.builds(_aimed, raw, st.integers(0, 3), st.booleans())
    return st.one_of(raw, aimed)


def call(function: Any, event: Any, context: Any) -> None:
    try:
        function.handler(event, context)
    except (InvalidEventError, UnknownCandidateError) as exc:  # refused: retried, then the DLQ
        reason = str(exc)
        assert not any(text in reason for text in NEVER_QUOTED), reason
        assert "input_value" not in reason


def sqs_call(function: Any, event: dict[str, Any], context: Any) -> None:
    """An SQS handler answers a batch report; each failed record failed for a reason of the
    project (a validation error, a domain error), never a crash of its own code."""
    answer = function.handler(event, context)
    assert set(answer) == {"batchItemFailures"}
    for _, exc, _ in function.processor.exceptions:
        if not isinstance(exc, (InvalidEventError, ValidationError, TalentOpsError)):
            raise exc


PROFILE_FACTS = ("Candidate Profile Updated", "Candidate Consent Changed")
BEHAVIOURS = (
    "Candidate Event Registered",
    "Candidate Event Attended",
    "Candidate Event No-Show",
    "Candidate Job Viewed",
    "Candidate Application Submitted",
)


@fuzz_settings(300)
@given(event=events_of(*PROFILE_FACTS))
def test_ingest_profile(pool, functions, context, event):
    call(functions["ingest_profile"], event, context)


@fuzz_settings(300)
@given(event=events_of(*BEHAVIOURS))
def test_journeys_behaviours(pool, functions, context, event):
    call(functions["journeys"], event, context)


def _own(detail: Any) -> dict[str, Any]:
    return envelope("Candidate Profile Changed", detail, source="talent.personalization")


@fuzz_settings(100)
@given(
    event=st.one_of(
        detail_of("Candidate Profile Changed"), mutated(detail_of("Candidate Profile Changed"))
    ).map(_own)
)
def test_journeys_profile_changed(pool, functions, context, event):
    call(functions["journeys"], event, context)


@fuzz_settings(150)
@given(event=events_of(*BEHAVIOURS[:3]))
def test_record_event(pool, functions, context, event):
    call(functions["record_event"], event, context)


@fuzz_settings(150)
@given(event=events_of("Candidate Erasure Requested"))
def test_candidate_erasure(pool, functions, context, event):
    call(functions["candidate_erasure"], event, context)


@fuzz_settings(150)
@given(event=events_of("Job Opened"))
def test_job_fanout(pool, functions, context, event):
    call(functions["job_fanout"], event, context)


def _ses_events() -> st.SearchStrategy[Any]:
    # The records' shape, from the pydantic models the product read them with before.
    from tests.support.ses_reference import SesEvent

    base = from_json_schema(SesEvent.model_json_schema(mode="validation", by_alias=True))
    return st.one_of(base, mutated(base), base.map(_ses_aimed))


def _ses_aimed(event: dict[str, Any]) -> dict[str, Any]:
    """A permanent bounce or a complaint of a known address, the rest as generated."""
    detail = event["detail"]
    recipients = [{"emailAddress": KNOWN[0]}]
    if detail.get("eventType") == "Complaint" or detail.get("complaint"):
        detail["eventType"] = "Complaint"
        detail["complaint"] = {
            **(detail.get("complaint") or {}),
            "complainedRecipients": recipients,
        }
    else:
        detail["eventType"] = "Bounce"
        bounce = detail.get("bounce") or {}
        detail["bounce"] = {**bounce, "bounceType": "Permanent", "bouncedRecipients": recipients}
    return event


@fuzz_settings(150)
@given(event=_ses_events())
def test_ses_feedback(pool, functions, context, event):
    call(functions["ses_feedback"], event, context)


@fuzz_settings(40)
@given(facts=st.lists(events_of(*PROFILE_FACTS), max_size=4), event=st.sampled_from([{}, None, []]))
def test_retention_sweeper(pool, functions, context, facts, event):
    """The daily sweep over a pool that hostile facts have written to (what ingest let in)."""
    for fact in facts:
        call(functions["ingest_profile"], fact, context)
    scheduled = envelope("Scheduled Event", event, source="aws.events")
    answer = functions["retention_sweeper"].handler(scheduled, context)
    assert isinstance(answer, dict)


# -- SQS handlers: the bodies of their queues, valid, mutated, or not JSON at all ------------


def _alert_batch() -> Any:
    from talentops.job_alerts.messages import AlertBatch

    return AlertBatch


def _campaign_message() -> Any:
    from talentops.campaigns.launch import CampaignMessage

    return CampaignMessage


@fuzz_settings(250)
@given(data=st.data())
def test_job_alert_worker(pool, functions, context, data):
    bodies = data.draw(st.lists(body_of(_alert_batch()), min_size=1, max_size=3))
    sqs_call(functions["job_alert_worker"], sqs_event(*bodies), context)


@fuzz_settings(250)
@given(data=st.data())
def test_campaign_worker(pool, functions, context, data):
    bodies = data.draw(st.lists(body_of(_campaign_message()), min_size=1, max_size=3))
    sqs_call(functions["campaign_worker"], sqs_event(*bodies), context)


@fuzz_settings(200)
@given(data=st.data())
def test_journey_timer(pool, functions, context, data):
    model = functions["journey_timer"].TimerMessage
    bodies = data.draw(st.lists(body_of(model), min_size=1, max_size=3))
    sqs_call(functions["journey_timer"], sqs_event(*bodies), context)

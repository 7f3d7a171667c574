"""Realistic data for the benchmarks: candidate personas, their stored profile items, and
contract events as EventBridge delivers them to Lambda."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EVENT: dict[str, Any] = {
    "id": "evt-summit-2026",
    "name": "Data & AI Careers Summit",
    "starts_at": "2026-12-03T17:30:00Z",
    "city": "Berlin",
    "url": "https://careers.example.com/events/summit-2026",
}

# detail-type -> catalogue message it triggers (templates/catalogue.yaml)
BEHAVIOURS = {
    "Candidate Event Registered": "event_registration_confirmation",
    "Candidate Event Attended": "event_attended_followup",
    "Candidate Event No-Show": "event_no_show_followup",
}

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Persona:
    key: str
    fields: dict[str, Any]
    consent: dict[str, str] = field(default_factory=dict)  # purpose -> status
    expected_variant: str = "default"


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "ada",
        {
            "first_name": "Ada",
            "last_name": "Schneider",
            "city": "Berlin",
            "country": "DE",
            "seniority": "mid",
            "role_family": "data",
            "skills": ["python", "sql", "spark", "airflow", "dbt"],
            "language": "de-DE",
            "timezone": "Europe/Berlin",
        },
        {"events": "granted", "job_alerts": "granted"},
        "de",
    ),
    Persona(
        "sam",
        {
            "first_name": "Sam",
            "last_name": "Okafor",
            "city": "Austin",
            "country": "US",
            "seniority": "senior",
            "role_family": "software_engineering",
            "skills": ["go", "kubernetes", "aws", "terraform"],
            "language": "en-US",
            "timezone": "America/Chicago",
        },
        {},
        "senior",
    ),
    Persona(
        "priya",
        {
            "first_name": "Priya",
            "last_name": "Raman",
            "city": "London",
            "country": "GB",
            "seniority": "junior",
            "role_family": "product-design",
            "skills": ["figma", "user research", "prototyping"],
            "language": "en-GB",
            "timezone": "Europe/London",
        },
        {"events": "granted"},
        "default",
    ),
    Persona(
        "liam",
        {
            "first_name": "Liam",
            "last_name": "O'Connor",
            "city": "Dublin",
            "country": "IE",
            "seniority": "lead",
            "role_family": "data",
            "skills": ["ml", "python", "leadership"],
            "language": "en-IE",
            "timezone": "Europe/Dublin",
        },
        {"events": "granted", "marketing": "granted"},
        "senior",
    ),
)


def email_of(persona: Persona, n: int = 0) -> str:
    return f"{persona.key}.{n}@example.org"


def profile_data(
    persona: Persona,
    candidate_id: str,
    email: str,
    *,
    recent_sends: int = 3,
    behaviours: int = 2,
) -> dict[str, Any]:
    """A stored profile as the talent pool holds it (Profile.model_dump(mode="json"))."""
    observed = (NOW - timedelta(days=30)).isoformat()
    fields = {
        name: {"value": value, "source": "talent.crm", "observed_at": observed}
        for name, value in {**persona.fields, "email": email}.items()
    }
    consent = {
        purpose: {
            "status": status,
            "source": "talent.careers-site",
            "observed_at": observed,
            "evidence": f"careers-site signup form, checkbox '{purpose}'",
            "lawful_basis": "consent",
        }
        for purpose, status in persona.consent.items()
    }
    recent = {
        f"{i:032x}": {
            "at": (NOW - timedelta(hours=6 * (i + 1))).isoformat(),
            "purpose": ("events", "job_alerts", "marketing")[i % 3],
            "template": "event_registration_confirmation",
        }
        for i in range(recent_sends)
    }
    kinds = ("event_registered", "job_viewed", "event_attended", "application_submitted")
    behaviour = {
        kinds[i % len(kinds)]: {
            "at": (NOW - timedelta(days=i + 1)).isoformat(),
            "subject_id": f"subject-{i}",
            "event_id": str(uuid.UUID(int=i)),
        }
        for i in range(behaviours)
    }
    return {
        "candidate_id": candidate_id,
        "version": 4,
        "fields": fields,
        "consent": consent,
        "recent": recent,
        "behaviours": behaviour,
        "aliases": [f"email:{email}"],
        "suppressed": False,
        "created_at": (NOW - timedelta(days=90)).isoformat(),
    }


def profile_item(data: dict[str, Any]) -> dict[str, Any]:
    """The DynamoDB item of a profile (typed attribute values), keys included, with the
    summary of the candidate's journeys a profile is created with (none counted, the list
    known: adapters/pool/profiles.py), as every profile the product writes carries it."""
    from talentops.adapters.dynamo import to_item
    from talentops.adapters.talent_pool import PROFILE_SK, cand_pk
    from talentops.models.state import JOURNEYS_LISTED

    email = data["fields"]["email"]["value"]
    return to_item(
        {
            "pk": cand_pk(data["candidate_id"]),
            "sk": PROFILE_SK,
            **data,
            "email_norm": email.strip().lower(),
            "journey_items": 0,
            "journey_listens": {JOURNEYS_LISTED},
        }
    )


def envelope(
    detail_type: str,
    detail: dict[str, Any],
    *,
    source: str = "talent.events-platform",
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-12-03T20:00:05Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def behaviour_event(
    detail_type: str,
    candidate: dict[str, str],
    *,
    observed_at: str = "2026-12-03T20:00:00Z",
    event_id: str | None = None,
    event: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return envelope(
        detail_type,
        {"candidate": candidate, "observed_at": observed_at, "event": event or EVENT},
        event_id=event_id,
    )


def profile_event(
    candidate: dict[str, str], fields: dict[str, Any], observed_at: str = "2026-11-01T09:00:00Z"
) -> dict[str, Any]:
    return envelope(
        "Candidate Profile Updated",
        {"candidate": candidate, "observed_at": observed_at, "fields": fields},
        source="talent.crm",
    )


def consent_event(
    candidate: dict[str, str],
    purpose: str,
    status: str = "granted",
    observed_at: str = "2026-11-01T09:00:00Z",
) -> dict[str, Any]:
    return envelope(
        "Candidate Consent Changed",
        {
            "candidate": candidate,
            "observed_at": observed_at,
            "channel": "email",
            "purpose": purpose,
            "status": status,
            "evidence": f"careers-site signup form, checkbox '{purpose}'",
        },
        source="talent.careers-site",
    )


@dataclass
class FakeContext:
    """The Lambda context object, as much of it as Powertools reads."""

    function_name: str = "bench-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "bench-request"
    log_group_name: str = "/aws/lambda/bench"
    log_stream_name: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000

"""Builders of contract events as EventBridge delivers them to Lambda."""

from __future__ import annotations

import uuid
from typing import Any

EVENT = {
    "id": "evt-summit-2026",
    "name": "Data & AI Careers Summit",
    "starts_at": "2026-12-03T17:30:00Z",
    "city": "Berlin",
    "url": "https://careers.example.com/events/summit-2026",
}


def envelope(
    detail_type: str,
    detail: dict[str, Any],
    *,
    source: str = "talent.ats",
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def profile(email: str, observed_at: str = "2026-11-01T09:00:00Z", **fields: Any) -> dict[str, Any]:
    return envelope(
        "Candidate Profile Updated",
        {
            "candidate": {"email": email},
            "observed_at": observed_at,
            "fields": {"email": email, **fields},
        },
        source="talent.crm",
    )


def consent(
    email: str,
    status: str = "granted",
    purpose: str = "events",
    observed_at: str = "2026-11-01T09:00:00Z",
) -> dict[str, Any]:
    return envelope(
        "Candidate Consent Changed",
        {
            "candidate": {"email": email},
            "observed_at": observed_at,
            "channel": "email",
            "purpose": purpose,
            "status": status,
            "evidence": "careers-site signup form, checkbox 'events'",
        },
        source="talent.careers-site",
    )


def behaviour(
    kind: str,
    email: str,
    observed_at: str = "2026-12-03T20:00:00Z",
    event: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return envelope(
        f"Candidate Event {kind}",
        {"candidate": {"email": email}, "observed_at": observed_at, "event": event or EVENT},
        source="talent.events-platform",
        event_id=event_id,
    )

"""The render context of a message: candidate, subject (event or job), links, brand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ..tokens import TokenSigner

PURPOSE_LABELS = {
    "events": "events and meetups",
    "job_alerts": "job openings that match your profile",
    "marketing": "news about careers at the company",
    "transactional": "your application",
}


@dataclass(frozen=True)
class Brand:
    company_name: str
    sender_name: str
    sender_address: str
    postal_address: str
    careers_site_url: str
    api_base_url: str
    unsubscribe_mailto: str | None = None


def with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def format_when(starts_at: datetime, timezone: str | None) -> str:
    tz = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    local = starts_at.astimezone(tz)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()}"


@dataclass(frozen=True)
class Links:
    careers: str
    jobs: str
    event: str
    unsubscribe: str
    preferences: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def build_links(
    *,
    brand: Brand,
    signer: TokenSigner,
    candidate_id: str,
    purpose: str,
    message_id: str,
    now: datetime,
    ttl: timedelta,
    event_url: str | None = None,
) -> Links:
    link_token = signer.issue(
        candidate_id=candidate_id,
        purpose=purpose,
        message_id=message_id,
        scope="link",
        now=now,
        ttl=ttl,
    )
    unsub_token = signer.issue(
        candidate_id=candidate_id,
        purpose=purpose,
        message_id=message_id,
        scope="unsub",
        now=now,
        ttl=ttl,
    )
    careers = brand.careers_site_url.rstrip("/")
    event = event_url or f"{careers}/events"
    if event.startswith(careers):
        event = with_query(event, t=link_token)
    api = brand.api_base_url.rstrip("/")
    return Links(
        careers=with_query(f"{careers}/", t=link_token),
        jobs=with_query(f"{careers}/jobs", t=link_token),
        event=event,
        unsubscribe=with_query(f"{api}/unsubscribe", token=unsub_token),
        preferences=with_query(f"{api}/preferences", token=unsub_token),
    )


def render_context(
    *,
    candidate: Mapping[str, Any],
    payload: Mapping[str, Any],
    links: Links,
    brand: Brand,
    purpose: str,
    template: str,
    variant: str,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "candidate": candidate,
        "links": links.as_dict(),
        "brand": {
            "company_name": brand.company_name,
            "sender_name": brand.sender_name,
            "postal_address": brand.postal_address,
            "careers_site_url": brand.careers_site_url,
        },
        "message": {"purpose": purpose, "template": template, "variant": variant},
        "purpose_label": PURPOSE_LABELS.get(purpose, purpose),
    }
    event = payload.get("event")
    if event is not None:
        starts_at = event["starts_at"]
        context["event"] = {
            "id": event["id"],
            "name": event["name"],
            "city": event.get("city"),
            "url": event.get("url"),
            "starts_at": starts_at,
            "when": format_when(starts_at, candidate.get("timezone")),
        }
    if "job" in payload:
        context["job"] = dict(payload["job"])
    if "jobs" in payload:  # the job nurture: open jobs that fit the candidate now
        context["jobs"] = dict(payload["jobs"])
    return context

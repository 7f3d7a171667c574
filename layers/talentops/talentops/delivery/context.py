"""The render context of a message: candidate, subject (event or job), links, brand.

A subject's own page (an event's or a job's ``url``) is used only when links.py's rule
allows it (the careers site, the API, ``LINK_ORIGINS``); otherwise it is dropped and the
email links to the careers site's list of events or jobs. Only careers-site links carry the
candidate's link token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..tokens import TokenSigner
from .links import LinkRule, query_of, with_encoded_query

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
    # Origins besides the careers site's and the API's that emails may link to
    # (LINK_ORIGINS, e.g. the events platform's pages): "https://host[:port]" each.
    link_origins: tuple[str, ...] = ()

    @cached_property
    def pages(self) -> tuple[str, str]:
        """The careers site's and the API's base URLs without a final "/"."""
        return self.careers_site_url.rstrip("/"), self.api_base_url.rstrip("/")

    @cached_property
    def link_rule(self) -> LinkRule:
        return LinkRule.of(self.careers_site_url, self.api_base_url, self.link_origins)


@lru_cache(maxsize=1024)  # an event's start in its attendees' few timezones
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
    careers, api = brand.pages
    rule = brand.link_rule
    event = event_url if event_url and rule.allows(event_url) else f"{careers}/events"
    link = query_of({"t": link_token})  # each token encoded once for all its links
    unsub = query_of({"token": unsub_token})
    if rule.on_careers_site(event):
        event = with_encoded_query(event, link)
    return Links(
        careers=with_encoded_query(f"{careers}/", link),
        jobs=with_encoded_query(f"{careers}/jobs", link),
        event=event,
        unsubscribe=with_encoded_query(f"{api}/unsubscribe", unsub),
        preferences=with_encoded_query(f"{api}/preferences", unsub),
    )


def untracked_links(*, brand: Brand, event_url: str | None = None) -> Links:
    """A message's links without any token (test sends and renders, delivery/proofs.py):
    the same pages as build_links gives, but nothing in them names the candidate or the
    message, so opening one records nothing and acts for no one. The unsubscribe and
    preference links open the API's pages, which without a token change nothing (they answer
    400: the token is missing)."""
    careers = brand.careers_site_url.rstrip("/")
    event = event_url if event_url and brand.link_rule.allows(event_url) else f"{careers}/events"
    api = brand.api_base_url.rstrip("/")
    return Links(
        careers=f"{careers}/",
        jobs=f"{careers}/jobs",
        event=event,
        unsubscribe=f"{api}/unsubscribe",
        preferences=f"{api}/preferences",
    )


# A full stop or an at sign followed by a letter: where a mail client's linkifier sees a
# domain ("evil.com/login": every domain ends in a full stop and letters) or an address
# ("support@evil.com") in running text. It needs none of the link gate's markers (a scheme,
# "www."), so a value a candidate or a producer wrote could make a link elsewhere in our
# email.
_LINKABLE = re.compile(r"([.@\u3002\uff0e\uff61])(?=[^\W\d_])")
# Kept as written: what links.py's rule checked (a page's url and link), and identifiers.
_AS_WRITTEN = frozenset({"url", "link", "id"})


def inert(value: Any) -> Any:
    """``value`` as a linkifier reads no domain or address in it: a zero-width non-joiner
    after each full stop or at sign that a letter follows (invisible; the way email
    developers keep clients from making links of text). Strings in mappings and lists are
    made inert, but not a mapping's ``url``, ``link`` or ``id``."""
    if isinstance(value, str):
        return (
            _LINKABLE.sub("\\1\u200c", value)
            if ("." in value or "@" in value or not value.isascii())
            else value
        )
    if isinstance(value, Mapping):
        return {k: v if k in _AS_WRITTEN else inert(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [inert(v) for v in value]
    return value


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
    # What candidates and producers wrote is shown inert (no link can be made of it); the
    # links, the brand and the labels are ours.
    context: dict[str, Any] = {
        "candidate": inert(candidate),
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
    rule = brand.link_rule
    event = payload.get("event")
    if event is not None:
        starts_at = event["starts_at"]
        context["event"] = {
            "id": event["id"],
            "name": inert(event["name"]),
            "city": inert(event.get("city")),
            "url": _allowed(rule, event.get("url")),
            "starts_at": starts_at,
            "when": format_when(starts_at, candidate.get("timezone")),
        }
    if "job" in payload:
        context["job"] = inert(job_block(rule, payload["job"], links))
    if "jobs" in payload:  # the job nurture: open jobs that fit the candidate now
        jobs = dict(payload["jobs"])
        if "similar" in jobs:
            jobs["similar"] = [job_block(rule, j, links) for j in jobs["similar"] or ()]
        context["jobs"] = inert(jobs)
    return context


def _allowed(rule: LinkRule, url: Any) -> str | None:
    return url if isinstance(url, str) and rule.allows(url) else None


def job_block(rule: LinkRule, job: Mapping[str, Any], links: Links) -> dict[str, Any]:
    """A job as a message shows it: its ``url`` only when allowed; its ``link`` (the page
    the button opens) the careers site's job list when its own page is not allowed."""
    block = dict(job)
    if "url" in block:
        block["url"] = _allowed(rule, block["url"])
    if "link" in block:
        link = _allowed(rule, block["link"])
        block["link"] = link if link and (block.get("url") or "url" not in job) else links.jobs
    return block

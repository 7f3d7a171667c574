"""Renders and test sends of a catalogue message (`POST /admin/messages/{name}/render` and
`/test`): what a candidate would get, shown or mailed to a seed address, recording nothing.

- The message is made by the code that makes every email (delivery/compose.py:
  ``render_email``, the catalogue's templates, the link rule), for a candidate of the pool
  or, without one, a sample profile (content/check.py's complete profile).
- What the message's trigger would carry is a sample, derived from what sends the message
  (``message_trigger``): its catalogue trigger, else the journey that sends it (its entry
  event), else the job alerts (``Job Opened``), else a campaign. An event brings a sample
  event a week ahead, a job a sample job on the careers site (and the job nurture's
  ``jobs.similar`` a similar one), a consent expiry or a campaign nothing.
- Without a variant, the one the rules would choose for the candidate (decide.variant_for:
  the variant's rules, the freshness of the fields it requires), whether or not the message
  would be sent to them now (consent, suppression and the budget are not looked at: a
  render is not a decision).
- No link carries a token (context.untracked_links): nothing in a rendered or test email
  tracks its reader or acts for the candidate.
- A test send goes to addresses of the deployment's seed list only (TEST_SEED_LIST), at
  most MAX_TEST_RECIPIENTS, one SES send each: the subject after ``[TEST] ``, no
  List-Unsubscribe, no decision header or tags, and without the configuration set, so SES
  adds no open pixel, rewrites no link and publishes no event for it (no engagement, no
  suppression from a seed's bounce). No decision is recorded, the contact budget and the
  candidate's send ledger are not touched, nothing is announced on the bus.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..campaigns.counting import CAMPAIGN_TRIGGER
from ..content.catalogue import Catalogue, MessageSpec, Variant
from ..content.check import PROFILE_KINDS, SAMPLE_SUBJECTS
from ..content.render import RenderedMessage
from ..errors import SendRefusedError, TalentOpsError, UnknownCandidateError
from ..job_alerts.messages import JOB_OPENED
from ..job_alerts.messages import TEMPLATE as JOB_ALERT_MESSAGE
from ..journeys.fields import CANDIDATE_EVENTS
from ..models.state import ConsentState, FieldValue, Profile
from .compose import build_test_mime, render_email
from .context import Brand, Links, untracked_links
from .decide import variant_for

if TYPE_CHECKING:
    from ..adapters.ses import SesSender
    from ..journeys.model import Journey

MAX_TEST_RECIPIENTS = 10
SAMPLE_CANDIDATE_ID = "c_sample000000"
_CANDIDATE_ID = re.compile(r"^c_[A-Za-z0-9]{6,40}$")


class UnknownMessageError(TalentOpsError):
    code = "unknown_message"


class UnknownVariantError(TalentOpsError):
    code = "unknown_variant"


class NotASeedAddressError(TalentOpsError):
    code = "not_a_seed_address"


@dataclass(frozen=True)
class MessageTrigger:
    """What sends a message, and so what its render context holds besides the candidate."""

    detail_type: str
    sent_by: str  # "catalogue", "journey <name>", "job alerts" or "campaign"
    subject: str | None  # "event", "job" or None
    similar_jobs: bool = False  # a journey about a job: jobs.similar (journeys/runtime.py)


def message_trigger(name: str, spec: MessageSpec, journeys: Iterable[Journey]) -> MessageTrigger:
    """The catalogue message's own trigger, else the entry of the journey that sends it,
    else Job Opened for the job alert, else a campaign (the messages nothing else sends)."""
    for detail_type in spec.triggers:
        return MessageTrigger(detail_type, "catalogue", CANDIDATE_EVENTS.get(detail_type))
    for journey in journeys:
        if any(getattr(step, "send", None) == name for step in journey.steps):
            entry = journey.entry.event or "Candidate Profile Updated"  # a segment joined
            subject = CANDIDATE_EVENTS.get(entry)
            return MessageTrigger(entry, f"journey {journey.name}", subject, subject == "job")
    if name == JOB_ALERT_MESSAGE:
        return MessageTrigger(JOB_OPENED, "job alerts", "job")
    return MessageTrigger(CAMPAIGN_TRIGGER, "campaign", None)


def sample_event(brand: Brand, now: datetime) -> dict[str, Any]:
    start = (now + timedelta(days=7)).replace(hour=17, minute=0, second=0, microsecond=0)
    careers = brand.careers_site_url.rstrip("/")
    return {**SAMPLE_SUBJECTS["event"], "starts_at": start, "url": f"{careers}/events/sample"}


def sample_job(brand: Brand, job_id: str = "job-1", title: str | None = None) -> dict[str, Any]:
    careers = brand.careers_site_url.rstrip("/")
    job = {**SAMPLE_SUBJECTS["job"], "id": job_id, "url": f"{careers}/jobs/{job_id}"}
    return {**job, "title": title} if title else job


def sample_subject(
    trigger: MessageTrigger, brand: Brand, now: datetime
) -> tuple[str | None, Callable[[Links], Mapping[str, Any]]]:
    """The subject's page URL and its payload from the links, as the sender of the message
    builds them (delivery/service.py, journeys/runtime.py, job_alerts/worker.py)."""
    if trigger.subject == "event":
        event = sample_event(brand, now)
        return event["url"], lambda _links: {"event": event}
    if trigger.subject == "job" and trigger.similar_jobs:
        job = sample_job(brand)
        similar = sample_job(brand, "job-2", "Analytics Engineer")
        return None, lambda _links: {"job": job, "jobs": {"similar": [similar]}}
    if trigger.subject == "job":
        job = sample_job(brand)
        return job["url"], lambda links: {"job": {**job, "link": links.event}}
    return None, lambda _links: {}


def sample_profile(now: datetime) -> Profile:
    """A made-up candidate with every field (content/check.py's complete profile), fresh and
    with every purpose granted: what a render without a candidate shows."""
    profile = Profile(candidate_id=SAMPLE_CANDIDATE_ID, created_at=now)
    for name, value in PROFILE_KINDS[0].fields.items():
        profile.fields[name] = FieldValue(value=value, source="sample", observed_at=now)
    for purpose in ("events", "marketing", "job_alerts"):
        profile.consent[purpose] = ConsentState(status="granted", source="sample", observed_at=now)
    return profile


def parse_seed_list(value: str) -> frozenset[str]:
    """TEST_SEED_LIST (comma or space separated addresses) as lower-case addresses."""
    return frozenset(a.strip().lower() for a in value.replace(",", " ").split() if "@" in a)


def seed_addresses(to: Sequence[str], seeds: frozenset[str]) -> list[str]:
    """``to`` without repeats, in order; NotASeedAddressError naming the first address that
    is not on the seed list (that address only)."""
    out: list[str] = []
    for index, address in enumerate(to):
        clean = address.strip()
        if clean.lower() not in seeds:
            where = "the seed list is empty" if not seeds else "not on the test seed list"
            raise NotASeedAddressError(f"to[{index}]: {clean[:254]!r}: {where}")
        if clean.lower() not in (a.lower() for a in out):
            out.append(clean)
    if len(out) > MAX_TEST_RECIPIENTS:
        raise NotASeedAddressError(f"at most {MAX_TEST_RECIPIENTS} addresses a test")
    return out


@dataclass(frozen=True)
class Proof:
    message: str
    variant: str
    candidate_id: str | None  # None: the sample profile
    trigger: MessageTrigger
    rendered: RenderedMessage

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "variant": self.variant,
            "candidate_id": self.candidate_id,
            "trigger": {"detail_type": self.trigger.detail_type, "sent_by": self.trigger.sent_by},
            "subject": self.rendered.subject,
            "text": self.rendered.text,
            "html": self.rendered.html,
        }


@dataclass
class MessageProofs:
    catalogue: Catalogue
    brand: Brand
    profile: Callable[[str], Profile | None]  # by id (a merged id: the survivor)
    sender: Callable[[], SesSender]  # without the configuration set
    journeys: Callable[[], Sequence[Journey]]
    now: Callable[[], datetime]
    seeds: frozenset[str] = frozenset()
    freshness: Mapping[str, timedelta] | None = None

    def render(
        self, name: str, *, variant: str | None = None, candidate_id: str | None = None
    ) -> Proof:
        """The message as ``candidate_id`` (or the sample profile) would get it; 404-like
        errors for an unknown message or candidate, UnknownVariantError, RenderError."""
        spec = self.catalogue.messages.get(name)
        if spec is None:
            raise UnknownMessageError(f"the catalogue has no message {name[:64]!r}")
        now = self.now()
        profile = sample_profile(now) if candidate_id is None else self._candidate(candidate_id)
        chosen = _variant(spec, variant) if variant is not None else None
        trigger = message_trigger(name, spec, self.journeys())
        page_url, payload = sample_subject(trigger, self.brand, now)
        links = untracked_links(brand=self.brand, event_url=page_url)
        subject = payload(links)
        if chosen is None:
            chosen = variant_for(spec, profile, subject, now=now, freshness=self.freshness)
        rendered = render_email(
            catalogue=self.catalogue,
            brand=self.brand,
            links=links,
            variant=chosen,
            profile=profile,
            purpose=spec.purpose,
            template=name,
            payload=subject,
        )
        return Proof(
            name,
            chosen.name,
            None if candidate_id is None else profile.candidate_id,
            trigger,
            rendered,
        )

    def send_test(
        self,
        name: str,
        *,
        to: Sequence[str],
        variant: str | None = None,
        candidate_id: str | None = None,
    ) -> tuple[Proof, list[dict[str, str]]]:
        """Render, then send to each seed address in ``to`` (checked first: nothing is sent
        when one is not a seed). Per address its SES message id, or SES's refusal code;
        DeliveryError when SES could not be reached or refused for the account."""
        addresses = seed_addresses(to, self.seeds)
        proof = self.render(name, variant=variant, candidate_id=candidate_id)
        sender = self.sender()
        results: list[dict[str, str]] = []
        for address in addresses:
            raw = build_test_mime(
                brand=self.brand,
                rendered=proof.rendered,
                to=address,
                message_id=f"test-{uuid.uuid4().hex}",
                sent_at=self.now(),
            )
            try:
                ses_id = sender.send_raw(sender=self.brand.sender_address, to=address, raw=raw)
            except SendRefusedError as exc:
                results.append({"to": address, "refused": exc.ses_code})
            else:
                results.append({"to": address, "ses_message_id": ses_id})
        return proof, results

    def _candidate(self, candidate_id: str) -> Profile:
        found = self.profile(candidate_id) if _CANDIDATE_ID.match(candidate_id) else None
        if found is None:
            raise UnknownCandidateError("no candidate has this id")
        return found


def _variant(spec: MessageSpec, name: str) -> Variant:
    for variant in spec.variants:
        if variant.name == name:
            return variant
    known = ", ".join(v.name for v in spec.variants)
    raise UnknownVariantError(f"variant {name[:64]!r} is not one of this message's: {known}")

"""Careers-site content slots (`GET /content/{slot}`).

The variant of a block is chosen by the catalogue's rules, the machinery that chooses email
variants, over the same candidate fields plus the candidate's behaviours and the data the
slot lists; it is rendered by the same sandboxed Jinja2 environment. A visitor without a
token gets the slot's anonymous variant. For a known candidate the decision, with its
reasons, is recorded like an email decision: under the candidate's partition, one record per
candidate, slot, variant and day (so that page views do not grow the partition).

A block is answered twice over: as HTML, and as data (`block_data`) for a site that renders
blocks with its own design system. Both come from one rendering of the variant's template:
the template sets, at its top level, `title`, `text`, `actions`, `items` and `missed_event`,
and shows those values in its HTML, so the two never disagree.

Everything above `ContentService` is pure: context in, choice out.

Requests per call (one slot, or several at once): one profile read (known candidates only),
one decision write per block (known candidates only), and each slot's listing (jobs or
events) from a per-process cache that a Query refreshes every `listing_ttl` seconds.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jinja2
import markupsafe

from ..adapters.content_decisions import ContentDecisionRepository
from ..adapters.listings import EVENT_FIELDS, JOB_FIELDS, ListingsRepository
from ..adapters.talent_pool import TalentPoolRepository
from ..errors import RenderError, TokenError, UnknownCandidateError
from ..models.events import SENIORITY_LEVELS
from ..models.state import Decision, Profile
from ..observability import logger
from ..tokens import TokenSigner
from .catalogue import Catalogue, Selection, SlotSpec, SlotVariant, choose_variant
from .render import environment, single_line

CONTENT_TRIGGER = "Content Requested"
CONTENT_PURPOSE = "content"
DECISION_RETENTION = timedelta(days=400)
# How far back the events listing reaches, so that a recent no-show's event can be named.
MISSED_EVENT_WINDOW = timedelta(days=60)
LISTING_FETCH = 100

# What a slot may show of a candidate: no email address, no last name.
SLOT_PROFILE_FIELDS = (
    "first_name",
    "city",
    "country",
    "seniority",
    "role_family",
    "skills",
    "language",
    "timezone",
)


@dataclass(frozen=True)
class ContentBlock:
    slot: str
    variant: str
    html: str
    reasons: list[str]
    decision: Decision | None = None
    # What the block says, as data (`block_data`): title, text, actions, jobs, events, ...
    data: dict[str, Any] = field(default_factory=dict)


# -- pure ----------------------------------------------------------------------------------


def candidate_fields(profile: Profile | None) -> dict[str, Any]:
    return {
        name: (profile.value(name) if profile is not None else None) for name in SLOT_PROFILE_FIELDS
    }


def _same_city(a: Any, b: Any) -> bool:
    return bool(a) and bool(b) and str(a).strip().casefold() == str(b).strip().casefold()


def job_fits(job: Mapping[str, Any], candidate: Mapping[str, Any]) -> bool:
    """The fit of job alerts (docs/contract.md section 1): same role family, seniority within one
    level of the job's, same city unless the job is remote."""
    if not candidate.get("role_family") or job.get("role_family") != candidate["role_family"]:
        return False
    mine, theirs = candidate.get("seniority"), job.get("seniority")
    if mine not in SENIORITY_LEVELS or theirs not in SENIORITY_LEVELS:
        return False
    if abs(SENIORITY_LEVELS.index(mine) - SENIORITY_LEVELS.index(theirs)) > 1:
        return False
    return bool(job.get("remote")) or _same_city(job.get("city"), candidate.get("city"))


def _complete(item: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    # Templates run with StrictUndefined: every field is present, None when unknown.
    return {name: item.get(name) for name in names}


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _event_view(item: Mapping[str, Any], timezone: str | None) -> dict[str, Any] | None:
    from ..delivery.context import format_when

    event = _complete(item, EVENT_FIELDS)
    starts_at = _parse_time(event["starts_at"])
    if starts_at is None or not event["id"] or not event["name"]:
        return None
    event["starts_at"] = starts_at
    try:
        event["when"] = format_when(starts_at, timezone)
    except (ValueError, KeyError):
        event["when"] = format_when(starts_at, None)
    return event


def jobs_data(
    jobs: Sequence[Mapping[str, Any]], candidate: Mapping[str, Any], limit: int
) -> dict[str, Any]:
    listed = [_complete(j, JOB_FIELDS) for j in jobs if j.get("id") and j.get("title")]
    return {
        "recent": listed[:limit],
        "matching": [j for j in listed if job_fits(j, candidate)][:limit],
    }


def events_data(
    events: Sequence[Mapping[str, Any]],
    candidate: Mapping[str, Any],
    behaviours: Mapping[str, Any],
    now: datetime,
    limit: int,
) -> dict[str, Any]:
    views = [v for v in (_event_view(e, candidate.get("timezone")) for e in events) if v]
    upcoming = sorted((v for v in views if v["starts_at"] >= now), key=lambda v: v["starts_at"])
    missed_id = (behaviours.get("event_no_show") or {}).get("subject_id")
    missed = next((v for v in views if missed_id and v["id"] == missed_id), None)
    return {
        "upcoming": upcoming[:limit],
        "nearby": [v for v in upcoming if _same_city(v["city"], candidate.get("city"))][:limit],
        "missed": missed,
    }


def slot_context(
    *,
    slot: str,
    spec: SlotSpec,
    profile: Profile | None,
    listings: Sequence[Mapping[str, Any]],
    now: datetime,
    brand: Mapping[str, str],
) -> dict[str, Any]:
    """What the rules see and the template renders: the candidate (all None when anonymous),
    their behaviours, whether the visitor is known, and the slot's data."""
    candidate = candidate_fields(profile)
    behaviours: dict[str, Any] = dict(profile.behaviours) if profile is not None else {}
    context: dict[str, Any] = {
        "slot": slot,
        "visitor": {"known": profile is not None},
        "candidate": candidate,
        "behaviours": behaviours,
        "brand": dict(brand),
        "jobs": {"recent": [], "matching": []},
        "events": {"upcoming": [], "nearby": [], "missed": None},
    }
    if spec.data == "jobs":
        context["jobs"] = jobs_data(listings, candidate, spec.limit)
    elif spec.data == "events":
        context["events"] = events_data(listings, candidate, behaviours, now, spec.limit)
    return context


def choose_slot_variant(
    spec: SlotSpec, context: Mapping[str, Any], *, known: bool, now: datetime
) -> Selection[SlotVariant]:
    if not known:
        return Selection(spec.anonymous, [f"variant {spec.anonymous.name}: no token (anonymous)"])
    return choose_variant(spec.variants, context, now=now)


def content_decision_id(candidate_id: str, slot: str, variant: str, now: datetime) -> str:
    """One record per candidate, slot, variant and day."""
    identity = "|".join(("content", candidate_id, slot, variant, now.date().isoformat()))
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def content_decision(
    *,
    candidate_id: str,
    slot: str,
    selection: Selection[SlotVariant],
    now: datetime,
    request_id: str,
    message_id: str | None = None,
) -> Decision:
    trigger = {"detail_type": CONTENT_TRIGGER, "event_id": request_id}
    if message_id:
        # The email whose link brought the candidate here (the link token's message).
        trigger["message_id"] = message_id
    return Decision(
        decision_id=content_decision_id(candidate_id, slot, selection.variant.name, now),
        kind="content",
        candidate_id=candidate_id,
        trigger=trigger,
        template=slot,
        purpose=CONTENT_PURPOSE,
        outcome="show",
        variant=selection.variant.name,
        reasons=selection.reasons,
        decided_at=now,
        status="shown",
    )


# The names a slot template sets at its top level for the block's data.
BLOCK_FIELDS = ("title", "text", "actions", "items", "missed_event")


@dataclass(frozen=True)
class RenderedBlock:
    html: str
    fields: dict[str, Any]  # what the template set of BLOCK_FIELDS (absent when it set none)


def render_block(
    catalogue: Catalogue, variant: SlotVariant, context: Mapping[str, Any]
) -> RenderedBlock:
    """The variant's HTML and the values its template set for the block's data, from one
    rendering (a template module: its body is the HTML, its top-level names the values)."""
    try:
        template = environment(str(catalogue.root)).get_template(variant.html)
        module = template.make_module(dict(context))
        html = str(module)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{type(exc).__name__}: {exc.message or ''}"[:300]) from exc
    fields = {name: getattr(module, name) for name in BLOCK_FIELDS if hasattr(module, name)}
    return RenderedBlock(html, fields)


def render_slot(catalogue: Catalogue, variant: SlotVariant, context: Mapping[str, Any]) -> str:
    return render_block(catalogue, variant, context).html


def plain_text(value: Any) -> str | None:
    """A value a template set, as plain text on one line: the HTML the template made of it
    (escaped values, a link) becomes its text, for a site that escapes what it shows itself."""
    if value is None:
        return None
    # Markup (what an autoescaped template made): unescape entities, drop tags, one line.
    markup = isinstance(value, markupsafe.Markup)
    text = value.striptags() if markup else single_line(str(value))
    return text or None


def _listed(item: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: item.get(name) for name in names}


def block_data(data_kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The block's data (pure): its title, text and actions as plain text, and the jobs or
    events it lists (all of their fields, links included) as the template listed them."""
    actions = []
    for action in fields.get("actions") or ():
        if isinstance(action, Mapping) and action.get("label") and action.get("href"):
            actions.append(
                {"label": plain_text(action["label"]), "href": str(action["href"]).strip()}
            )
    items = [i for i in fields.get("items") or () if isinstance(i, Mapping)]
    missed = fields.get("missed_event")
    return {
        "title": plain_text(fields.get("title")) or "",
        "text": plain_text(fields.get("text")),
        "actions": actions,
        "jobs": [_listed(i, JOB_FIELDS) for i in items] if data_kind == "jobs" else [],
        "events": (
            [_listed(i, (*EVENT_FIELDS, "when")) for i in items] if data_kind == "events" else []
        ),
        "missed_event": (
            _listed(missed, (*EVENT_FIELDS, "when")) if isinstance(missed, Mapping) else None
        ),
    }


# -- service -------------------------------------------------------------------------------


@dataclass
class _Cached:
    fetched: float
    items: list[dict[str, Any]]


@dataclass
class ContentService:
    repo: TalentPoolRepository
    listings: ListingsRepository
    decisions: ContentDecisionRepository
    catalogue: Catalogue
    signer: Callable[[], TokenSigner]
    now: Callable[[], datetime]
    brand: Mapping[str, str]
    listing_ttl: float = 30.0
    _cache: dict[str, _Cached] = field(default_factory=dict)

    def candidate_for(self, token: str | None) -> tuple[Profile | None, str | None]:
        """The candidate a link token names and the message whose link carried it (None,
        None without a token); TokenError when the token is bad, expired, of another scope,
        or its candidate is gone."""
        if token is None:
            return None, None
        claims = self.signer().verify(token, now=self.now(), scope="link")
        profile = self.repo.get_profile(claims.candidate_id, consistent=False)
        if profile is None:
            raise TokenError("the token's candidate is not known")
        return profile, claims.message_id

    def _listing(self, kind: str) -> list[dict[str, Any]]:
        cached = self._cache.get(kind)
        if cached is not None and time.monotonic() - cached.fetched < self.listing_ttl:
            return cached.items
        if kind == "jobs":
            items = self.listings.recent_jobs(LISTING_FETCH)
        else:
            items = self.listings.events_since(self.now() - MISSED_EVENT_WINDOW, LISTING_FETCH)
        self._cache[kind] = _Cached(time.monotonic(), items)
        return items

    def block(self, slot: str, token: str | None, *, request_id: str) -> ContentBlock:
        return self.blocks([slot], token, request_id=request_id)[0]

    def blocks(
        self, slots: Sequence[str], token: str | None, *, request_id: str
    ) -> list[ContentBlock]:
        """The blocks of `slots`, in that order, for the token's candidate (anonymous
        without one): the slots are checked first (UnknownSlotError names every unknown one;
        it needs no secret), then the token, once for all of them."""
        specs = self.catalogue.slots_named(slots)
        profile, via_message = self.candidate_for(token)
        now = self.now()
        return [
            self._block(slot, spec, profile, via_message, now=now, request_id=request_id)
            for slot, spec in zip(slots, specs, strict=True)
        ]

    def _block(
        self,
        slot: str,
        spec: SlotSpec,
        profile: Profile | None,
        via_message: str | None,
        *,
        now: datetime,
        request_id: str,
    ) -> ContentBlock:
        listings = self._listing(spec.data) if spec.data != "none" else []
        context = slot_context(
            slot=slot, spec=spec, profile=profile, listings=listings, now=now, brand=self.brand
        )
        selection = choose_slot_variant(spec, context, known=profile is not None, now=now)
        rendered = render_block(self.catalogue, selection.variant, context)
        decision = None
        if profile is not None:
            decision = content_decision(
                candidate_id=profile.candidate_id,
                slot=slot,
                selection=selection,
                now=now,
                request_id=request_id,
                message_id=via_message,
            )
            expires = int((now + DECISION_RETENTION).timestamp())
            try:
                self.decisions.record(decision, expires_at=expires)
            except UnknownCandidateError as exc:
                raise TokenError("the token's candidate is not known") from exc
        logger.info(
            "content decision",
            slot=slot,
            variant=selection.variant.name,
            known=profile is not None,
            decision_id=decision.decision_id if decision else None,
        )
        return ContentBlock(
            slot,
            selection.variant.name,
            rendered.html,
            selection.reasons,
            decision,
            data=block_data(spec.data, rendered.fields),
        )

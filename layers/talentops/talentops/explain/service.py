"""Explanations as operations ask for them (GET /admin/candidates/{id}/explain, scripts/
explain.py): load the candidate and the subject, call the pure explainers, write nothing and
send nothing.

A subject is one of: a catalogue ``message`` (as a trigger would send it: the delivery's
one decision with its caps), a ``campaign`` (its preview's and launch's own decision, at
``send_at`` when that is still to come and no moment is asked for), a ``journey`` (entered
or would enter, and what its next step would do) or a ``job`` (its alert: matching, the
decision with the weekly cap, the contact budget). Unknown candidates and subjects raise
errors the API answers 404.

``why_not`` runs the same explanation over the addressable pool (the profiles with an
address, read as the campaign preview reads them) and breaks it down by first reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..adapters.campaigns import CampaignRecord, CampaignRepository
from ..adapters.journeys import JourneyRepository
from ..adapters.listings import EVENT_FIELDS, ListingsRepository
from ..adapters.talent_pool import TalentPoolRepository
from ..campaigns.exclusions import Exclusions, load_exclusions, received_for
from ..campaigns.model import Campaign
from ..campaigns.service import CAMPAIGN_ID
from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue, MessageSpec
from ..delivery.budget import ContactPolicy
from ..delivery.decide import FrequencyCap, behaviour_kind
from ..errors import TalentOpsError, UnknownCandidateError
from ..journeys.engine import JourneyInstance, SendMessage, render_payload
from ..journeys.model import Journey
from ..models.state import Profile
from .campaign import explain_campaign
from .candidate import candidate_step, not_yet_in_pool
from .journey import EntryFact, explain_journey
from .message import Explanation, Step, explain_job, explain_message
from .population import WhyNot

SUBJECT_KINDS = ("message", "campaign", "journey", "job")
_CAMPAIGN_ID = re.compile(CAMPAIGN_ID)
JOB_TEMPLATE = "job_alert"


class UnknownSubjectError(TalentOpsError):
    """No message, campaign, journey or job of that name: ``code`` says which
    (unknown_message, ...)."""

    def __init__(self, kind: str, name: str):
        super().__init__(f"no {kind} {name[:64]!r} is known")
        self.code = f"unknown_{kind}"
        self.kind = kind


@dataclass(frozen=True)
class Subject:
    """A subject as loaded: what the explainers need of it."""

    kind: str
    name: str
    spec: MessageSpec | None = None
    campaign: Campaign | None = None
    record: CampaignRecord | None = None
    exclusions: Exclusions | None = None
    journey: Journey | None = None
    job: Mapping[str, Any] | None = None

    def default_at(self, now: datetime) -> datetime:
        """The moment explained when none is asked for: now; a campaign's send_at when it is
        still to come (as its preview decides)."""
        if self.campaign is not None and self.campaign.send_at is not None:
            return max(self.campaign.send_at, now)
        return now


@dataclass
class ExplainService:
    pool: TalentPoolRepository
    journeys: JourneyRepository
    listings: ListingsRepository
    campaigns: CampaignRepository
    catalogue: Catalogue
    consent: ConsentPolicy
    contact: ContactPolicy
    journey_list: Sequence[Journey]
    now: Callable[[], datetime]
    caps: Mapping[str, FrequencyCap]
    job_cap: FrequencyCap
    job_band: int = 1
    freshness: Mapping[str, timedelta] | None = None
    # The content versions loaded now (wiring.content_versions): compared with a recorded
    # decision's.
    versions: Mapping[str, str] | None = None

    # -- loading ----------------------------------------------------------------------------

    def subject(self, kind: str, name: str) -> Subject:
        if kind == "message":
            spec = self.catalogue.messages.get(name)
            if spec is None:
                raise UnknownSubjectError(kind, name)
            return Subject(kind, name, spec=spec)
        if kind == "campaign":
            record = self.campaigns.get(name) if _CAMPAIGN_ID.match(name) else None
            if record is None:
                raise UnknownSubjectError(kind, name)
            campaign = Campaign.model_validate(record.definition)
            spec = self.catalogue.message(campaign.content.template)
            exclusions = load_exclusions(campaign, self.campaigns.get, now=self.now())
            return Subject(
                kind, name, spec=spec, campaign=campaign, record=record, exclusions=exclusions
            )
        if kind == "journey":
            journey = next((j for j in self.journey_list if j.name == name), None)
            if journey is None:
                raise UnknownSubjectError(kind, name)
            return Subject(kind, name, journey=journey)
        if kind == "job":
            from ..listings.service import listed_job_fields

            listed = self.listings.get_job(name)
            if listed is None:
                raise UnknownSubjectError(kind, name)
            return Subject(
                kind, name, spec=self.catalogue.message(JOB_TEMPLATE), job=listed_job_fields(listed)
            )
        raise ValueError(f"not a subject kind: {kind!r}")

    def candidate(self, candidate_id: str) -> Profile:
        """The candidate's profile; an id merged into another answers the survivor's."""
        profile = self.pool.get_profile(candidate_id, consistent=False)
        if profile is None:
            survivor = self.pool.alias_owner("id", candidate_id)
            if survivor:
                profile = self.pool.get_profile(survivor, consistent=False)
        if profile is None:
            raise UnknownCandidateError("no candidate has this id")
        return profile

    def instances(self, profile: Profile) -> list[JourneyInstance]:
        if profile.journey_items == 0:
            return []  # the profile counts none: nothing to read
        stored = self.journeys.instances(profile.candidate_id)
        return [JourneyInstance.model_validate(s.data) for s in stored]

    # -- explaining -------------------------------------------------------------------------

    def explain(
        self, candidate_id: str, kind: str, name: str, at: datetime | None = None
    ) -> dict[str, Any]:
        subject = self.subject(kind, name)
        profile = self.candidate(candidate_id)
        now = self.now()
        when = at or subject.default_at(now)
        instances = self.instances(profile) if kind == "journey" else []
        received = self._received(subject, [profile.candidate_id], when)
        return self.judge(subject, profile, instances, when, now, received=received).as_dict()

    def explain_recorded(self, candidate_id: str, decision_id: str) -> dict[str, Any]:
        """A recorded decision of the candidate explained at its time with its recorded
        inputs, and which inputs differ now (explain/decision.py)."""
        from ..campaigns.counting import CAMPAIGN_TRIGGER
        from ..campaigns.model import restricted_spec
        from .decision import explain_decision

        profile = self.candidate(candidate_id)
        decision = self.pool.get_decision(profile.candidate_id, decision_id)
        if decision is None or decision.kind != "message":
            raise UnknownSubjectError("decision", decision_id)
        spec = self.catalogue.messages.get(decision.template)
        if spec is None:
            raise UnknownSubjectError("message", decision.template)
        caps: Mapping[str, FrequencyCap] | None = self.caps
        if decision.trigger.get("detail_type") == CAMPAIGN_TRIGGER:
            caps = None  # a campaign's decision has no cap (its budget comes after)
            record = self.campaigns.get(decision.trigger.get("event_id", ""))
            if record is not None:
                spec = restricted_spec(Campaign.model_validate(record.definition), spec)
        elif decision.template == JOB_TEMPLATE:
            caps = {spec.purpose: self.job_cap}
        return explain_decision(
            decision=decision,
            profile=profile,
            spec=spec,
            policy=self.consent,
            caps=caps,
            freshness=self.freshness,
            versions=self.versions,
        )

    def why_not(
        self, kind: str, name: str, at: datetime | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """The addressable pool explained for the subject, by first reason (and an example
        of each). ``limit``: stop after about that many profiles (whole pages)."""
        subject = self.subject(kind, name)
        now = self.now()
        when = at or subject.default_at(now)
        tally = WhyNot()
        cursor: dict[str, Any] | None = None
        while True:
            loaded, cursor = self.campaigns.pool_page(cursor)
            received = self._received(subject, [i.profile.candidate_id for i in loaded], when)
            for item in loaded:
                profile = item.profile
                instances = self.instances(profile) if kind == "journey" else []
                tally.add(self.judge(subject, profile, instances, when, now, received=received))
            if not cursor or (limit is not None and tally.scanned >= limit):
                break
        return {
            "subject": {"kind": kind, "name": name},
            "at": when.isoformat(),
            "complete": not cursor,
            **tally.as_dict(),
        }

    def _received(
        self, subject: Subject, candidate_ids: Sequence[str], at: datetime
    ) -> Mapping[str, set[str]]:
        """The excluded campaigns these candidates' decision records show (read only for
        an excluded campaign older than the send ledger: campaigns.exclusions)."""
        if subject.exclusions is None:
            return {}
        return received_for(subject.exclusions, candidate_ids, at, self.pool.get_decisions)

    def judge(
        self,
        subject: Subject,
        profile: Profile,
        instances: Sequence[JourneyInstance],
        at: datetime,
        now: datetime,
        *,
        received: Mapping[str, set[str]] | None = None,
    ) -> Explanation:
        """One candidate and one subject at ``at``: pure, given what was loaded (``received``:
        the excluded campaigns the decision records show, by candidate)."""
        first = candidate_step(profile, at, now)
        if not first.passed:
            return not_yet_in_pool(profile, {subject.kind: subject.name}, at, first)
        got = (received or {}).get(profile.candidate_id, set())
        found = self._judge(subject, profile, instances, at, got)
        found.steps.insert(0, first)
        return found

    def _judge(
        self,
        subject: Subject,
        profile: Profile,
        instances: Sequence[JourneyInstance],
        at: datetime,
        received: set[str],
    ) -> Explanation:
        if subject.kind == "message":
            assert subject.spec is not None
            return explain_message(
                profile=profile,
                template=subject.name,
                spec=subject.spec,
                policy=self.consent,
                at=at,
                caps=self.caps,
                freshness=self.freshness,
            )
        if subject.kind == "campaign":
            assert subject.campaign and subject.record and subject.spec
            return explain_campaign(
                campaign=subject.campaign,
                campaign_id=subject.record.campaign_id,
                created_at=subject.record.created_at,
                profile=profile,
                spec=subject.spec,
                consent=self.consent,
                contact=self.contact,
                at=at,
                freshness=self.freshness,
                exclusions=subject.exclusions,
                received=received,
            )
        if subject.kind == "job":
            return self._job(subject, profile, at)
        assert subject.journey is not None
        return explain_journey(
            journey=subject.journey,
            profile=profile,
            instances=instances,
            version_of=self._version_of(subject.journey),
            at=at,
            contact=self.contact,
            entry=self._entry(subject.journey, profile),
            explain_send=self._send_explainer(profile),
        )

    def _job(self, subject: Subject, profile: Profile, at: datetime) -> Explanation:
        from ..job_alerts.matching import fits
        from ..job_alerts.worker import job_alert_verdict

        assert subject.spec is not None and subject.job is not None
        found = explain_job(
            profile=profile,
            job=subject.job,
            template=JOB_TEMPLATE,
            spec=subject.spec,
            policy=self.consent,
            at=at,
            band=self.job_band,
            matches=fits,
            caps={subject.spec.purpose: self.job_cap},
            freshness=self.freshness,
        )
        if found.outcome != "send":
            return found
        # As the alert worker: the contact budget, without quiet hours (an alert does not
        # wait for morning); over the budget, the alert is suppressed.
        verdict = job_alert_verdict(replace(self.contact, quiet_hours=None), profile, at)
        found.steps.insert(
            len(found.steps) - 1, Step("contact budget", verdict.allowed, verdict.explanation)
        )
        if not verdict.allowed:
            found.outcome, found.reason, found.variant = "suppress", "frequency_cap", None
            found.steps = [s for s in found.steps if s.check != "variant"]
        return found

    def _version_of(self, journey: Journey) -> Callable[[str], Journey | None]:
        def version_of(version: str) -> Journey | None:
            if version == journey.version:
                return journey
            return self.journeys.load_version(journey.name, version)

        return version_of

    def _send_explainer(self, profile: Profile) -> Callable[[SendMessage, datetime], Explanation]:
        def explain_send(effect: SendMessage, moment: datetime) -> Explanation:
            return explain_message(
                profile=profile,
                template=effect.template,
                spec=self.catalogue.message(effect.template),
                policy=self.consent,
                at=moment,
                caps=self.caps,
                freshness=self.freshness,
                payload=render_payload(effect.payload),
            )

        return explain_send

    def _entry(self, journey: Journey, profile: Profile) -> EntryFact:
        """What the journey's entry event would be about: the subject of the candidate's
        last such event, with its listing's details."""
        event = journey.entry.event
        what = journey.entry.subject
        if event is None:
            return EntryFact()
        seen = profile.behaviours.get(behaviour_kind(event)) or {}
        subject_id = seen.get("subject_id")
        if what is None or not subject_id:
            known = f"the candidate's last one was at {seen['at']}" if seen.get("at") else ""
            return EntryFact(why=known or f"no earlier {event} is known: one now")
        subject_id = str(subject_id)
        listed = (
            self.listings.get_event(subject_id)
            if what == "event"
            else self.listings.get_job(subject_id)
        )
        if listed is None:
            return EntryFact(
                subject_id, {}, f"about {what} {subject_id}, which the listings do not hold"
            )
        if what == "event":
            details = {k: listed.get(k) for k in EVENT_FIELDS}
        else:
            from ..listings.service import listed_job_fields

            details = listed_job_fields(listed)
        return EntryFact(
            subject_id, {what: details}, f"about {what} {subject_id}, the candidate's last one"
        )

"""Retention: per-country limits after the last real interaction, enforced by a daily sweep.

TTL alone cannot enforce a limit (DynamoDB deletes expired items up to about 48 hours late,
and only single items, not a candidate's partition, aliases and suppression entry), so the
sweeper erases every candidate whose limit has passed through the same erasure as an access
request. While it reads the pool it also asks candidates whose grant is about to lapse to
renew it (the re-permission message).

A *real* interaction is something the candidate did: a behaviour the system recorded
(registering for or attending an event, viewing a job, applying; not a no-show, and not an
open: opens say more about mail clients than about people), a consent change they made, or
a profile change from a source where candidates enter data themselves. Messages the system
sent, and imports from the ATS or CRM, do not count. Until any of those happen, the profile's
creation counts as the interaction.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..adapters.privacy import PrivacyRepository
from ..adapters.talent_pool import TalentPoolRepository
from ..consent.policy import ConsentPolicy
from ..models.events import CandidateRef
from ..models.state import Profile
from ..observability import logger, metrics
from .erasure import ErasureService
from .screening import PRIVACY_SOURCE

DEFAULT_COUNTRY_MONTHS: Mapping[str, int] = {"DE": 6, "FR": 24}
DEFAULT_MONTHS = 24
# Behaviours that are not the candidate's own doing.
DEFAULT_NOT_INTERACTIONS = frozenset(
    {"event_no_show", "email_opened", "email_delivered", "message_sent", "consent_expiring"}
)
# Sources where the candidate enters data themselves.
DEFAULT_CANDIDATE_SOURCES = frozenset({"talent.careers-site", "talent.preference-centre"})
SYSTEM_SOURCES = frozenset({"talent.personalization", PRIVACY_SOURCE})


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamping the day (31 Aug + 6 months = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long after the last real interaction a candidate is kept, by country (months).

    ``default_months`` applies to every other country and to an unknown one; None there (or
    for a country) means no limit.
    """

    countries: Mapping[str, int | None] = field(default_factory=lambda: DEFAULT_COUNTRY_MONTHS)
    default_months: int | None = DEFAULT_MONTHS
    not_interactions: frozenset[str] = DEFAULT_NOT_INTERACTIONS
    candidate_sources: frozenset[str] = DEFAULT_CANDIDATE_SOURCES

    @classmethod
    def from_json(cls, text: str) -> RetentionPolicy:
        if not text.strip():
            return cls()
        raw = json.loads(text)
        unknown = set(raw) - {
            "countries",
            "default_months",
            "not_interactions",
            "candidate_sources",
        }
        if unknown:
            raise ValueError(f"unknown retention policy keys: {sorted(unknown)}")
        countries = {str(k).upper(): _months(v) for k, v in raw.get("countries", {}).items()}
        return cls(
            countries=countries,
            default_months=_months(raw.get("default_months", DEFAULT_MONTHS)),
            not_interactions=frozenset(raw.get("not_interactions", DEFAULT_NOT_INTERACTIONS)),
            candidate_sources=frozenset(raw.get("candidate_sources", DEFAULT_CANDIDATE_SOURCES)),
        )

    def months_for(self, country: str | None) -> int | None:
        if country and country.upper() in self.countries:
            return self.countries[country.upper()]
        return self.default_months

    def last_interaction(self, profile: Profile) -> datetime | None:
        moments: list[datetime] = []
        if profile.created_at is not None:
            moments.append(profile.created_at)
        for kind, detail in profile.behaviours.items():
            if _kind(kind) in self.not_interactions:
                continue
            at = _parse(detail.get("at") if isinstance(detail, Mapping) else None)
            if at is not None:
                moments.append(at)
        for state in profile.consent.values():
            if state.source not in SYSTEM_SOURCES:
                moments.append(state.observed_at)
        for fv in profile.fields.values():
            if fv.source in self.candidate_sources:
                moments.append(fv.observed_at)
        return max(moments) if moments else None

    def expires_at(self, profile: Profile) -> datetime | None:
        months = self.months_for(profile.value("country"))
        last = self.last_interaction(profile)
        if months is None or last is None:
            return None
        return add_months(last, months)


def _months(value: object) -> int | None:
    if value is None:
        return None
    months = int(value)  # type: ignore[call-overload]
    if months <= 0:
        raise ValueError("retention must be a positive number of months (or null)")
    return months


def _kind(kind: str) -> str:
    # Behaviour kinds come from detail-types ("Candidate Event Attended" -> event_attended);
    # the re-permission trigger's kind carries its purpose after a colon.
    return kind.split(":", 1)[0]


def _parse(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


REPERMISSION_TRIGGER = "Candidate Consent Expiring"


def repermission_trigger(purpose: str) -> str:
    """The internal trigger of the re-permission message for ``purpose`` (catalogue)."""
    return f"{REPERMISSION_TRIGGER}: {purpose}"


@dataclass
class SweepReport:
    scanned: int = 0
    erased: list[str] = field(default_factory=list)
    repermission_asked: list[tuple[str, str]] = field(default_factory=list)


PROFILE_ATTRIBUTES = (
    "candidate_id",
    "fields",
    "consent",
    "behaviours",
    "created_at",
    "suppressed",
    "version",
)


@dataclass
class RetentionSweeper:
    repo: TalentPoolRepository
    privacy: PrivacyRepository
    erasure: ErasureService
    retention: RetentionPolicy
    consent: ConsentPolicy
    ask: Callable[[Profile, str, datetime], bool]  # send the re-permission message
    now: Callable[[], datetime]

    def sweep(self) -> SweepReport:
        report = SweepReport()
        now = self.now()
        for item in self.privacy.scan_profiles(PROFILE_ATTRIBUTES):
            if "candidate_id" not in item:
                continue
            report.scanned += 1
            profile = Profile.model_validate(item)
            due = self.retention.expires_at(profile)
            if due is not None and now >= due:
                # Read again before erasing: an interaction may have landed since the scan.
                fresh = self.repo.get_profile(profile.candidate_id)
                due = self.retention.expires_at(fresh) if fresh else None
                if fresh is not None and due is not None and now >= due:
                    self.erasure.erase(profile.candidate_id, reason="retention")
                    report.erased.append(profile.candidate_id)
                continue
            if self.consent.regime(profile.value("country")) != "opt_in" or profile.suppressed:
                continue
            for purpose, state in sorted(profile.consent.items()):
                if self.consent.needs_repermission(state, now) and self.ask(
                    profile, purpose, state.observed_at
                ):
                    report.repermission_asked.append((profile.candidate_id, purpose))
        metrics.add_metric(name="RetentionErased", unit="Count", value=len(report.erased))
        metrics.add_metric(
            name="RepermissionAsked", unit="Count", value=len(report.repermission_asked)
        )
        logger.info(
            "retention sweep done",
            scanned=report.scanned,
            erased=len(report.erased),
            repermission_asked=len(report.repermission_asked),
        )
        return report


def repermission_asker(delivery: object) -> Callable[[Profile, str, datetime], bool]:
    """Send the re-permission message for one grant through the delivery service (decide,
    render, the send ledger): at most one per grant, because the fact that triggers it is
    identified by the grant's observed_at, and the ledger is checked before deciding."""
    from ..delivery.decide import TriggerFact, decision_id

    def ask(profile: Profile, purpose: str, granted_at: datetime) -> bool:
        detail_type = repermission_trigger(purpose)
        templates = delivery.catalogue.for_trigger(detail_type)  # type: ignore[attr-defined]
        if not templates:
            return False
        fact = TriggerFact(
            detail_type=detail_type,
            event_id=f"repermission:{profile.candidate_id}:{purpose}:{granted_at.isoformat()}",
            candidate_key=f"id:{profile.candidate_id}",
            observed_at=granted_at,
            subject_id=purpose,
        )
        repo = delivery.repo  # type: ignore[attr-defined]
        if all(
            repo.get_decision(profile.candidate_id, decision_id(fact, t, profile.candidate_id))
            for t in templates
        ):
            return False  # already asked for this grant
        decisions = delivery.handle_trigger(fact, CandidateRef(id=profile.candidate_id))  # type: ignore[attr-defined]
        return any(d.outcome == "send" for d in decisions)

    return ask

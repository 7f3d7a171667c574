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
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import MAXYEAR, UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ..adapters.privacy import PrivacyRepository
from ..adapters.talent_pool import TalentPoolRepository
from ..consent.policy import ConsentPolicy
from ..models.countries import country_code
from ..models.events import CandidateRef, max_ahead
from ..models.state import Profile, shift
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
    """Calendar months, clamping the day (31 Aug + 6 months = 28/29 Feb); past the end of the
    calendar (a stored 9999-12-31), the end of the calendar."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    if year > MAXYEAR:
        return datetime.max.replace(tzinfo=moment.tzinfo)
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
        countries: dict[str, int | None] = {}
        for key, value in raw.get("countries", {}).items():
            code = country_code(key)
            if code is None:
                raise ValueError(f"retention countries: not an ISO 3166-1 alpha-2 code: {key!r}")
            countries[code] = _months(value)
        return cls(
            countries=countries,
            default_months=_months(raw.get("default_months", DEFAULT_MONTHS)),
            not_interactions=frozenset(raw.get("not_interactions", DEFAULT_NOT_INTERACTIONS)),
            candidate_sources=frozenset(raw.get("candidate_sources", DEFAULT_CANDIDATE_SOURCES)),
        )

    def months_for(self, country: object) -> int | None:
        code = country_code(country)  # a stored value that is no country: the default
        if code is not None and code in self.countries:
            return self.countries[code]
        return self.default_months

    def last_interaction(self, profile: Profile, now: datetime | None = None) -> datetime | None:
        """The latest real interaction. With ``now``, dates beyond the clock skew ingest
        allows are ignored: a behaviour dated 2076 (stored before dates were bounded) must
        not keep a candidate from erasure."""
        moments = self._moments(profile)
        if now is not None:
            latest = shift(now, max_ahead())
            moments = [m for m in moments if m <= latest]
        return max(moments) if moments else None

    def _moments(self, profile: Profile) -> list[datetime]:
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
        return [_aware(m) for m in moments]

    def expires_at(self, profile: Profile, now: datetime | None = None) -> datetime | None:
        months = self.months_for(profile.value("country"))
        last = self.last_interaction(profile, now)
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


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _parse(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


REPERMISSION_TRIGGER = "Candidate Consent Expiring"


def repermission_trigger(purpose: str) -> str:
    """The internal trigger of the re-permission message for ``purpose`` (catalogue)."""
    return f"{REPERMISSION_TRIGGER}: {purpose}"


@dataclass
class SweepReport:
    """What one invocation did. ``status``: ``done`` (the pass over the pool finished),
    ``paused`` (stopped near the invocation's deadline; the next run goes on from the saved
    cursor), ``idle`` (today's pass finished already), ``busy`` (another invocation holds
    the sweep's lease)."""

    scanned: int = 0
    erased: list[str] = field(default_factory=list)
    repermission_asked: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (candidate id, reason)
    status: str = "done"

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "scanned": self.scanned,
            "erased": len(self.erased),
            "repermission_asked": len(self.repermission_asked),
            "failed": len(self.failed),
        }


PROFILE_ATTRIBUTES = (
    "candidate_id",
    "fields",
    "consent",
    "behaviours",
    "created_at",
    "suppressed",
    "version",
)
SWEEP_NAME = "retention"
SWEEP_COUNTS = ("scanned", "erased", "failed", "repermission_asked")
PAGE_SIZE = 500
# Stop this long before the invocation's deadline (one candidate's erasure and the state
# write fit in it many times over); the next run continues from the cursor.
DEFAULT_MARGIN_MS = 20_000
_CANDIDATE_ID = re.compile(r"^c_[A-Za-z0-9]{6,40}$")


def _safe_id(value: object) -> str:
    """A candidate id for logs and reports, or "?" (a damaged item's value is not logged)."""
    return value if isinstance(value, str) and _CANDIDATE_ID.match(value) else "?"


def _reason(exc: Exception) -> str:
    """Why a candidate could not be decided: the error's kind and, for a validation error,
    where (never the values: they may be personal data)."""
    if isinstance(exc, ValidationError):
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        return f"ValidationError at {', '.join(where[:3])}"
    return type(exc).__name__


@dataclass
class RetentionSweeper:
    """The sweep is resumable: its cursor (the key to scan on from), lease and counts live
    in one state item (``SWEEP#retention``). An invocation continues a pass in progress, or
    starts one when none has started yet on the current UTC day; it stops ``margin_ms``
    before its deadline and saves the cursor, and the next scheduled run (hourly) goes on
    from there. A candidate whose data cannot be decided is recorded as failed (reason,
    metric) and the sweep goes on. See docs/privacy.md."""

    repo: TalentPoolRepository
    privacy: PrivacyRepository
    erasure: ErasureService
    retention: RetentionPolicy
    consent: ConsentPolicy
    ask: Callable[[Profile, str, datetime], bool]  # send the re-permission message
    now: Callable[[], datetime]
    margin_ms: int = DEFAULT_MARGIN_MS
    page_size: int = PAGE_SIZE

    def sweep(
        self, remaining_ms: Callable[[], int] | None = None, *, restart: bool = False
    ) -> SweepReport:
        """Run the sweep until the pool is done or ``remaining_ms()`` (the invocation's time
        left) falls under the margin. ``restart``: begin a new pass even if today's is done."""
        remaining = remaining_ms or (lambda: 900_000)
        report = SweepReport(status="running")
        now = self.now()
        stored = self.privacy.sweep_state(SWEEP_NAME) or {}
        seq = int(stored.get("seq", 0))
        lease = _parse(stored.get("lease_until"))
        if lease is not None and lease > now:
            report.status = "busy"
            logger.info("retention sweep busy elsewhere")
            return report
        state = {k: v for k, v in stored.items() if k != "seq"}
        if restart or state.get("status") != "running":
            started = _parse(state.get("started_at"))
            if not restart and started is not None and started.date() >= now.date():
                report.status = "idle"  # today's pass is done
                return report
            state = {"status": "running", "started_at": now.isoformat(), "cursor": None}
        base = {name: int(state.get(name) or 0) for name in SWEEP_COUNTS}
        state["lease_until"] = shift(now, timedelta(milliseconds=remaining())).isoformat()
        if not self.privacy.save_sweep_state(SWEEP_NAME, state, seq):
            report.status = "busy"
            return report
        seq += 1
        cursor = state.get("cursor")
        while report.status == "running":
            items, after = self.privacy.scan_profiles_page(
                PROFILE_ATTRIBUTES, cursor, self.page_size
            )
            for item in items:
                if remaining() < self.margin_ms:
                    report.status = "paused"
                    break
                if "candidate_id" in item:
                    self._decide(item, now, report)
                cursor = {"pk": str(item["pk"]), "sk": str(item["sk"])}
            else:
                cursor = after
                if cursor is None:
                    report.status = "done"
                elif remaining() < self.margin_ms:
                    report.status = "paused"
                else:  # a page done: its progress is saved, the lease kept
                    seq = self._save(state, base, cursor, report, seq, holding=True)
                    if seq < 0:
                        report.status = "busy"  # the lease ran out; another run took over
        if report.status != "busy":
            self._save(state, base, cursor, report, seq, holding=False)
        self._announce(report, state)
        return report

    def _save(
        self,
        state: dict[str, Any],
        base: Mapping[str, int],
        cursor: dict[str, str] | None,
        report: SweepReport,
        seq: int,
        *,
        holding: bool,
    ) -> int:
        """Save the cursor and the pass's counts so far (``holding``: keep the lease); the
        new seq, or -1 when another invocation wrote the state meanwhile."""
        totals = report.summary()
        for name in SWEEP_COUNTS:
            state[name] = base[name] + int(totals[name])
        state["cursor"] = cursor
        state["status"] = "running" if cursor is not None else "done"
        if cursor is None:
            state["finished_at"] = self.now().isoformat()
        if not holding:
            state["lease_until"] = None  # the next run may go on at once
        return seq + 1 if self.privacy.save_sweep_state(SWEEP_NAME, state, seq) else -1

    def _decide(self, item: dict[str, Any], now: datetime, report: SweepReport) -> None:
        """One candidate: erase past the limit, else ask for re-permission where due. Any
        error is this candidate's alone: recorded as failed, and the sweep goes on."""
        candidate_id = _safe_id(item.get("candidate_id"))
        report.scanned += 1
        try:
            profile = Profile.model_validate(item)
            due = self.retention.expires_at(profile, now)
            if due is not None and now >= due:
                # Read again before erasing: an interaction may have landed since the scan.
                fresh = self.repo.get_profile(profile.candidate_id)
                due = self.retention.expires_at(fresh, now) if fresh else None
                if fresh is not None and due is not None and now >= due:
                    self.erasure.erase(profile.candidate_id, reason="retention")
                    report.erased.append(profile.candidate_id)
                return
            if self.consent.regime(profile.value("country")) != "opt_in" or profile.suppressed:
                return
            for purpose, state in sorted(profile.consent.items()):
                if self.consent.needs_repermission(state, now) and self.ask(
                    profile, purpose, state.observed_at
                ):
                    report.repermission_asked.append((profile.candidate_id, purpose))
        except Exception as exc:  # one bad record never stops the sweep
            reason = _reason(exc)
            report.failed.append((candidate_id, reason))
            logger.warning(
                "retention: candidate not decided", candidate_id=candidate_id, reason=reason
            )

    @staticmethod
    def _announce(report: SweepReport, state: dict[str, Any]) -> None:
        metrics.add_metric(name="RetentionErased", unit="Count", value=len(report.erased))
        metrics.add_metric(
            name="RepermissionAsked", unit="Count", value=len(report.repermission_asked)
        )
        metrics.add_metric(name="RetentionFailed", unit="Count", value=len(report.failed))
        logger.info(
            "retention sweep ran",
            status=report.status,
            scanned=report.scanned,
            erased=len(report.erased),
            repermission_asked=len(report.repermission_asked),
            failed=len(report.failed),
            pass_started_at=state.get("started_at"),
        )


def repermission_asker(
    delivery_service: Callable[[], object],
) -> Callable[[Profile, str, datetime], bool]:
    """Send the re-permission message for one grant through the delivery service (decide,
    render, the send ledger): at most one per grant, because the fact that triggers it is
    identified by the grant's observed_at, and the ledger is checked before deciding. The
    service is asked of `delivery_service` when a grant first needs it (a cached builder):
    a sweep that asks nobody loads no catalogue and no templates."""

    def ask(profile: Profile, purpose: str, granted_at: datetime) -> bool:
        from ..delivery.decide import TriggerFact, decision_id

        delivery = delivery_service()
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

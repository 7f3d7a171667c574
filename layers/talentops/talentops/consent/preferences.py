"""The preference centre and one-click unsubscribe, behind the signed links of emails.

A change is applied at once through the same merge as ingest (so the very next trigger sees
it), with its evidence in the consent history, and then published on the bus as a
`Candidate Consent Changed` fact from ``talent.preference-centre`` so that the systems around
learn of it (ingest receives it too and finds nothing new: the merge is idempotent).

Saving what is already recorded changes nothing and publishes nothing, with one exception:
saving a purpose "on" whose grant is about to lapse (or has lapsed) records a fresh grant.
That is how a candidate answers the re-permission message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.facts import FactPublisher
from ..adapters.talent_pool import TalentPoolRepository
from ..errors import UnknownCandidateError
from ..models.events import CandidateRef, ConsentChanged, ConsentStatus, Purpose
from ..models.state import Profile
from ..observability import logger, metrics
from ..talent_pool.service import TalentPoolService
from ..tokens import TokenClaims, TokenSigner
from .policy import PURPOSES, ConsentPolicy

PREFERENCE_SOURCE = "talent.preference-centre"
TOKEN_SCOPE = "unsub"  # noqa: S105 (a token scope, not a secret)

PURPOSE_TITLES = {
    "job_alerts": "Job alerts",
    "events": "Events and meetups",
    "marketing": "News about careers with us",
}
PURPOSE_DESCRIPTIONS = {
    "job_alerts": "New openings that match your role, seniority and city.",
    "events": "Invitations to events and meetups, and follow-ups after them.",
    "marketing": "Stories, guides and news about working with us.",
}


@dataclass(frozen=True)
class PurposeState:
    purpose: str
    title: str
    description: str
    on: bool
    recorded: str | None  # "granted" / "withdrawn" / None (nothing recorded)
    since: datetime | None
    lapses_at: datetime | None
    renew: bool  # a grant that lapses soon (or did): saving "on" renews it

    def as_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "title": self.title,
            "on": self.on,
            "recorded": self.recorded,
            "since": self.since.isoformat() if self.since else None,
            "lapses_at": self.lapses_at.isoformat() if self.lapses_at else None,
            "renew": self.renew,
        }


@dataclass(frozen=True)
class Change:
    purpose: str
    status: str


@dataclass
class PreferenceService:
    repo: TalentPoolRepository
    talent_pool: TalentPoolService
    facts: FactPublisher
    policy: ConsentPolicy
    signer: Callable[[], TokenSigner]
    now: Callable[[], datetime]

    # -- tokens ----------------------------------------------------------------------------

    def claims(self, token: str) -> TokenClaims:
        """Verify a link token (signature, expiry, scope); TokenError says why not."""
        return self.signer().verify(token, now=self.now(), scope=TOKEN_SCOPE)

    def _profile(self, claims: TokenClaims) -> Profile:
        # The id of the link, or the candidate it was merged into since the mail was sent.
        current = self.repo.resolve_id(CandidateRef(id=claims.candidate_id))
        profile = self.repo.get_profile(current) if current else None
        if profile is None:
            raise UnknownCandidateError("nothing is held for this link any more")
        return profile

    # -- reading ---------------------------------------------------------------------------

    def states(self, profile: Profile) -> list[PurposeState]:
        now = self.now()
        out = []
        for purpose in PURPOSES:
            state = profile.consent.get(purpose)
            verdict = self.policy.evaluate(profile, purpose, now)
            renew = state is not None and (
                self.policy.needs_repermission(state, now) or self.policy.is_lapsed(state, now)
            )
            out.append(
                PurposeState(
                    purpose=purpose,
                    title=PURPOSE_TITLES[purpose],
                    description=PURPOSE_DESCRIPTIONS[purpose],
                    on=verdict.allowed,
                    recorded=state.status if state else None,
                    since=state.observed_at if state else None,
                    lapses_at=self.policy.lapses_at(state) if state else None,
                    renew=renew,
                )
            )
        return out

    def view(self, token: str) -> tuple[TokenClaims, list[PurposeState]]:
        claims = self.claims(token)
        return claims, self.states(self._profile(claims))

    # -- changing --------------------------------------------------------------------------

    def save(
        self, token: str, wanted: Mapping[str, bool], *, how: str
    ) -> tuple[TokenClaims, list[Change], list[PurposeState]]:
        """Record the purposes the candidate switched (``how`` goes into the evidence)."""
        unknown = set(wanted) - set(PURPOSES)
        if unknown:
            raise ValueError(f"unknown purposes: {sorted(unknown)}")
        claims = self.claims(token)
        profile = self._profile(claims)
        now = self.now()
        changes: list[Change] = []
        for purpose, on in wanted.items():
            state = profile.consent.get(purpose)
            if on:
                renew = state is not None and (
                    self.policy.needs_repermission(state, now) or self.policy.is_lapsed(state, now)
                )
                if state is None or state.status != "granted" or renew:
                    changes.append(Change(purpose, "granted"))
            elif state is None or state.status != "withdrawn":
                changes.append(Change(purpose, "withdrawn"))
        evidence = f"{how}; link of message {claims.message_id}"
        self._record(profile.candidate_id, changes, evidence, now)
        profile = self._profile(claims) if changes else profile
        return claims, changes, self.states(profile)

    def unsubscribe(self, token: str, *, how: str) -> tuple[TokenClaims, list[Change]]:
        """Withdraw the purpose of the message that carried the link (RFC 8058 one-click).
        A link of a message without a known purpose withdraws every purpose."""
        claims = self.claims(token)
        profile = self._profile(claims)
        purposes = [claims.purpose] if claims.purpose in PURPOSES else list(PURPOSES)
        changes = [
            Change(p, "withdrawn")
            for p in purposes
            if (s := profile.consent.get(p)) is None or s.status != "withdrawn"
        ]
        evidence = f"{how}; link of message {claims.message_id}"
        self._record(profile.candidate_id, changes, evidence, self.now())
        return claims, changes

    def _record(
        self, candidate_id: str, changes: list[Change], evidence: str, now: datetime
    ) -> None:
        for change in changes:
            fact = ConsentChanged(
                candidate=CandidateRef(id=candidate_id),
                observed_at=now,
                channel="email",
                purpose=Purpose(change.purpose),
                status=ConsentStatus(change.status),
                evidence=evidence[:1000],
            )
            # At once, through the same merge as ingest: the next trigger must see it. It is
            # received when the candidate asked: a producer's fact observed before that never
            # undoes it (talent_pool/merge.py).
            self.talent_pool.apply_consent(fact, PREFERENCE_SOURCE, received_at=now)
            try:
                self.facts.publish(PREFERENCE_SOURCE, "Candidate Consent Changed", fact)
            except Exception:  # the change holds; the bus copy is for the systems around
                logger.exception("consent fact not published", candidate_id=candidate_id)
                metrics.add_metric(name="ConsentFactNotPublished", unit="Count", value=1)
            logger.info(
                "consent changed by the candidate",
                candidate_id=candidate_id,
                purpose=change.purpose,
                status=change.status,
            )

"""Ingest: profile and consent facts into the talent pool, then `Candidate Profile Changed`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..adapters.bus import EventPublisher
from ..adapters.talent_pool import IdentityConflictError, TalentPoolRepository
from ..errors import ConcurrencyError
from ..models.events import (
    OWN_SOURCE,
    CandidateProfileChanged,
    CandidateRef,
    ChangedField,
    ConsentChanged,
    ProfileUpdated,
    normalize_email,
)
from ..models.state import ConsentState, FieldValue, Profile
from ..observability import logger
from .identity import IdentityMerger
from .merge import MergePolicy, merge_consent, merge_fields
from .policy import default_policy

Mutation = tuple[dict[str, FieldValue], list[tuple[str, ConsentState]]]

MAX_ATTEMPTS = 6


def new_candidate_id() -> str:
    return "c_" + secrets.token_hex(10)


def _aliases_of(ref: CandidateRef, email: str | None) -> list[tuple[str, str]]:
    aliases: list[tuple[str, str]] = []
    if ref.ref:
        aliases.append(("ref", ref.ref))
    for address in (ref.email, email):
        if address:
            aliases.append(("email", normalize_email(address)))
    return list(dict.fromkeys(aliases))


@dataclass
class IngestResult:
    candidate_id: str
    changed: dict[str, FieldValue]
    consent_changed: bool = False
    merged: list[str] = field(default_factory=list)  # candidate ids folded into this one


def profile_changed(
    candidate_id: str, changed: Mapping[str, FieldValue]
) -> CandidateProfileChanged:
    """`Candidate Profile Changed`: only the fields whose value changed, with their new value,
    source and observed_at, so that the ATS and the CRM can stay in sync."""
    return CandidateProfileChanged(
        candidate_id=candidate_id,
        changed={
            name: ChangedField(value=fv.value, source=fv.source, observed_at=fv.observed_at)
            for name, fv in changed.items()
        },
    )


@dataclass
class TalentPoolService:
    repo: TalentPoolRepository
    publisher: EventPublisher
    now: Callable[[], datetime]
    # Per-field source precedence: the talent pool policy (policy.yaml, TALENT_POOL_POLICY).
    merge_policy: MergePolicy = field(default_factory=lambda: default_policy().merge)
    # Issue #4 (privacy) hook: consulted when a fact sets the address; marks the profile
    # suppressed (bounce, complaint) or withdraws every purpose as of an erasure, and returns
    # the consent history to record. Built in wiring (talentops.privacy.screening).
    screen: Callable[..., list[tuple[str, ConsentState]]] | None = None

    @property
    def merger(self) -> IdentityMerger:
        return IdentityMerger(self.repo, self.merge_policy)

    def _announce(self, candidate_id: str, changed: Mapping[str, FieldValue]) -> None:
        if changed:
            self.publisher.publish(
                [("Candidate Profile Changed", profile_changed(candidate_id, changed))]
            )

    def _load_or_new(self, ref: CandidateRef, target: str | None = None) -> tuple[Profile, int]:
        candidate_id = target or self.repo.resolve_id(ref)
        profile = self.repo.get_profile(candidate_id) if candidate_id else None
        if profile is None:
            if ref.id and not (ref.ref or ref.email):
                # An id the system never issued: nothing to attach the fact to.
                from ..errors import UnknownCandidateError

                raise UnknownCandidateError("no candidate has this id")
            return Profile(candidate_id=new_candidate_id(), created_at=self.now()), 0
        return profile, profile.version

    def _apply(self, ref: CandidateRef, mutate: Callable[[Profile], Mutation]) -> IngestResult:
        target: str | None = None  # the candidate an address or ref of the fact belongs to
        merged: list[str] = []
        for attempt in range(MAX_ATTEMPTS):
            profile, version = self._load_or_new(ref, target)
            before = profile.model_dump(mode="json")
            changed, history = mutate(profile)
            if self.screen is not None:  # issue #4 hook: the suppression list (see above)
                history = [*history, *self.screen(profile, changed)]
            wanted = [
                a
                for a in _aliases_of(ref, profile.email)
                if f"{a[0]}:{a[1]}" not in profile.aliases
            ]
            # A fact that replaces an observation without changing its value (the authority
            # confirming a value, say) is still written: provenance must not depend on the
            # order facts arrive in. Only value changes are announced.
            dirty = bool(changed) or profile.model_dump(mode="json") != before
            if not dirty and not history and not wanted and version:
                return IngestResult(profile.candidate_id, {})
            profile.aliases = sorted({*profile.aliases, *(f"{k}:{v}" for k, v in wanted)})
            try:
                self.repo.save_profile(
                    profile, expected_version=version, new_aliases=wanted, consent_history=history
                )
            except ConcurrencyError:
                logger.info("profile write raced, retrying", attempt=attempt + 1)
                continue
            except IdentityConflictError:
                # The fact links this candidate to an address or ref of another one: they are
                # one person. A new candidate simply becomes that one; two existing ones merge.
                owners = {
                    owner
                    for kind, value in wanted
                    if (owner := self.repo.alias_owner(kind, value))
                    and owner != profile.candidate_id
                }
                if not owners:
                    continue  # the alias moved meanwhile: try again
                if not version:
                    target = sorted(owners)[0]
                    continue
                for owner in sorted(owners):
                    result = self.merger.merge(profile.candidate_id, owner)
                    if result is not None:
                        merged.append(result.loser_id)
                        self._announce(result.survivor_id, result.changed)
                target = None
                continue
            return IngestResult(profile.candidate_id, changed, bool(history), merged)
        raise ConcurrencyError(f"gave up after {MAX_ATTEMPTS} attempts")

    def apply_profile_update(self, fact: ProfileUpdated, source: str) -> IngestResult:
        incoming = fact.fields.model_dump(mode="json", exclude_unset=True)

        def mutate(profile: Profile) -> Mutation:
            return merge_fields(
                profile,
                incoming,
                source=source,
                observed_at=fact.observed_at,
                policy=self.merge_policy,
            ), []

        result = self._apply(fact.candidate, mutate)
        self._announce(result.candidate_id, result.changed)
        logger.info(
            "profile fact applied", candidate_id=result.candidate_id, changed=sorted(result.changed)
        )
        return result

    def apply_consent(
        self, fact: ConsentChanged, source: str, received_at: datetime | None = None
    ) -> IngestResult:
        """``received_at``: when the system received the fact (default now). The preference
        centre passes the moment of the candidate's request, which is also its observed_at."""
        received_at = received_at or self.now()
        state = ConsentState(
            status=fact.status.value,
            source=source,
            observed_at=fact.observed_at,
            evidence=fact.evidence,
            received_at=received_at,
        )

        def mutate(profile: Profile) -> Mutation:
            # Ordered by observed_at, but never later than received: a producer's fact
            # observed before the candidate's own withdrawal was received never undoes it.
            merge_consent(profile, fact.purpose.value, state, now=received_at)
            return {}, [(fact.purpose.value, state)]

        result = self._apply(fact.candidate, mutate)
        logger.info(
            "consent fact applied",
            candidate_id=result.candidate_id,
            purpose=fact.purpose.value,
            status=fact.status.value,
        )
        return result

    def ingest(self, detail: ProfileUpdated | ConsentChanged, source: str) -> IngestResult:
        if source == OWN_SOURCE:
            # Never re-ingest the system's own events (the ingest rule excludes them too):
            # `Candidate Profile Changed` going round through the bus would be a loop.
            logger.warning("own event not ingested", source=source)
            return IngestResult("", {})
        if isinstance(detail, ProfileUpdated):
            return self.apply_profile_update(detail, source)
        return self.apply_consent(detail, source)

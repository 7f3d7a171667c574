"""Ingest: profile and consent facts into the talent pool, then `Candidate Profile Changed`."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..adapters.bus import EventPublisher
from ..adapters.talent_pool import IdentityConflictError, TalentPoolRepository
from ..errors import ConcurrencyError
from ..models.events import (
    CandidateProfileChanged,
    CandidateRef,
    ChangedField,
    ConsentChanged,
    ProfileUpdated,
    normalize_email,
)
from ..models.state import ConsentState, FieldValue, Profile
from ..observability import logger
from .merge import DEFAULT_MERGE_POLICY, MergePolicy, merge_consent, merge_fields

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


@dataclass
class TalentPoolService:
    repo: TalentPoolRepository
    publisher: EventPublisher
    now: Callable[[], datetime]
    merge_policy: MergePolicy = DEFAULT_MERGE_POLICY

    def _load_or_new(self, ref: CandidateRef) -> tuple[Profile, int]:
        candidate_id = self.repo.resolve_id(ref)
        profile = self.repo.get_profile(candidate_id) if candidate_id else None
        if profile is None:
            if ref.id and not (ref.ref or ref.email):
                # An id the system never issued: nothing to attach the fact to.
                from ..errors import UnknownCandidateError

                raise UnknownCandidateError("no candidate has this id")
            return Profile(candidate_id=new_candidate_id(), created_at=self.now()), 0
        return profile, profile.version

    def _apply(self, ref: CandidateRef, mutate: Callable[[Profile], Mutation]) -> IngestResult:
        for attempt in range(MAX_ATTEMPTS):
            profile, version = self._load_or_new(ref)
            changed, history = mutate(profile)
            wanted = [
                a
                for a in _aliases_of(ref, profile.email)
                if f"{a[0]}:{a[1]}" not in profile.aliases
            ]
            if not changed and not history and not wanted and version:
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
                # Identity merge belongs to the talent-pool work; keep the fact, drop the link.
                logger.warning(
                    "alias belongs to another candidate; link not made",
                    candidate_id=profile.candidate_id,
                )
                profile.aliases = sorted(set(profile.aliases) - {f"{k}:{v}" for k, v in wanted})
                try:
                    self.repo.save_profile(
                        profile, expected_version=version, consent_history=history
                    )
                except ConcurrencyError:
                    continue
            return IngestResult(profile.candidate_id, changed, bool(history))
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
        if result.changed:
            self.publisher.publish(
                [
                    (
                        "Candidate Profile Changed",
                        CandidateProfileChanged(
                            candidate_id=result.candidate_id,
                            changed={
                                name: ChangedField(
                                    value=fv.value, source=fv.source, observed_at=fv.observed_at
                                )
                                for name, fv in result.changed.items()
                            },
                        ),
                    )
                ]
            )
        logger.info(
            "profile fact applied", candidate_id=result.candidate_id, changed=sorted(result.changed)
        )
        return result

    def apply_consent(self, fact: ConsentChanged, source: str) -> IngestResult:
        state = ConsentState(
            status=fact.status.value,
            source=source,
            observed_at=fact.observed_at,
            evidence=fact.evidence,
        )

        def mutate(profile: Profile) -> Mutation:
            merge_consent(profile, fact.purpose.value, state)
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
        if isinstance(detail, ProfileUpdated):
            return self.apply_profile_update(detail, source)
        return self.apply_consent(detail, source)

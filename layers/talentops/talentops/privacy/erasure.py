"""Erasure: remove a candidate from everything the system stores, keep only the hash of its
address on the suppression list, and announce `Candidate Erased`.

Order matters, because other functions may be writing while it runs:

1. the address hash goes on the suppression list as "erased" (so an ingest that re-creates
   the candidate from a re-import, even one racing with this erasure, needs a new opt-in);
2. the profile item goes (every writer to the partition conditions on it, so from here on
   nothing new is added to the partition);
3. the aliases (email, ref) that point at the candidate go, if they still do;
4. every other item of the partition (consent history, decisions - the send ledger and its
   durable dedupe records -, journey instances, anything other capabilities keep there),
   then the partition is read again and whatever a write in flight added is removed too;
   the schedules of the journey timers its running journeys waited on are deleted (a timer
   that fires anyway finds no candidate and does nothing);
5. the campaign deferral timers of the candidate are deleted: nothing in the partition
   records them, so they are found by the name prefix every one of them carries (a digest
   of the candidate id, adapters.scheduler.campaign_timer_name) with one ListSchedules; a
   deferral created by a campaign page running at that very moment fires, finds no profile
   and sends nothing, and its schedule deletes itself after firing;
6. `Candidate Erased` is published, so the producers that fed the candidate in erase too.

Running it again is harmless: with nothing left to remove it deletes the campaign timers
that a partial run left (if any) and re-announces the erasure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.bus import EventPublisher
from ..adapters.privacy import PrivacyRepository
from ..adapters.scheduler import campaign_timers_prefix
from ..adapters.suppression import SuppressionRepository
from ..adapters.talent_pool import PROFILE_SK, TalentPoolRepository
from ..models.events import CandidateErased, CandidateRef, normalize_email
from ..observability import logger, metrics


@dataclass
class ErasureResult:
    candidate_id: str
    items_deleted: int
    aliases_deleted: int
    addresses_suppressed: int


def _addresses_and_aliases(items: list[dict[str, Any]]) -> tuple[set[str], set[tuple[str, str]]]:
    addresses: set[str] = set()
    aliases: set[tuple[str, str]] = set()
    for item in items:
        if isinstance(item.get("merged_from"), str):
            # Moved here by an identity merge: the merged id's alias points at this candidate.
            aliases.add(("id", item["merged_from"]))
        if item.get("sk") != PROFILE_SK:
            continue
        email = (item.get("fields") or {}).get("email", {}).get("value")
        if isinstance(email, str) and email:
            addresses.add(normalize_email(email))
        if isinstance(item.get("email_norm"), str):
            addresses.add(item["email_norm"])
        for alias in item.get("aliases") or []:
            kind, _, value = str(alias).partition(":")
            if value:
                aliases.add((kind, value))
                if kind == "email":
                    addresses.add(normalize_email(value))
    return addresses, aliases


def _pending_timers(items: list[dict[str, Any]]) -> list[str]:
    """The names of the journey timers the candidate's running journeys wait on: their
    schedules carry the candidate id until they fire, so erasure deletes them."""
    names = []
    for item in items:
        if not str(item.get("sk", "")).startswith("JOURNEY#"):
            continue
        try:
            instance = json.loads(str(item.get("instance") or "{}"))
        except ValueError:
            continue
        waiting = instance.get("waiting") or {}
        if instance.get("status") == "active" and waiting.get("timer_id"):
            names.append(str(waiting["timer_id"]))
    return names


@dataclass
class ErasureService:
    repo: TalentPoolRepository
    privacy: PrivacyRepository
    suppression: SuppressionRepository
    publisher: EventPublisher
    now: Callable[[], datetime]
    cancel_timer: Callable[[str], None] | None = None  # deletes a journey timer by name
    # Deletes every timer whose name starts with a prefix (campaign deferrals); the count.
    cancel_timers_prefixed: Callable[[str], int] | None = None

    def erase(self, candidate_id: str, *, reason: str = "request") -> ErasureResult | None:
        """Erase one candidate; None when nothing is stored under this id."""
        items = self.privacy.partition(candidate_id)
        if not items:
            return None
        addresses, aliases = _addresses_and_aliases(items)
        at = self.now()
        for address in sorted(addresses):
            self.suppression.suppress(address, kind="erased", at=at, reason=reason)
        self.privacy.delete_profile(candidate_id)
        for kind, value in sorted(aliases):
            self.privacy.delete_alias(kind, value, candidate_id)
        keys = [(i["pk"], i["sk"]) for i in items if i["sk"] != PROFILE_SK]
        deleted = 1 + self.privacy.delete_keys(keys)
        stragglers = [(i["pk"], i["sk"]) for i in self.privacy.partition(candidate_id)]
        if stragglers:
            deleted += self.privacy.delete_keys(stragglers)
        if self.cancel_timer is not None:
            for name in _pending_timers(items):
                self.cancel_timer(name)
        campaign_timers = self.cancel_campaign_timers(candidate_id)
        self.announce(candidate_id)
        metrics.add_metric(name="CandidatesErased", unit="Count", value=1)
        logger.info(
            "candidate erased",
            candidate_id=candidate_id,
            reason=reason,
            items=deleted,
            aliases=len(aliases),
            addresses=len(addresses),
            campaign_timers=campaign_timers,
        )
        return ErasureResult(candidate_id, deleted, len(aliases), len(addresses))

    def cancel_campaign_timers(self, candidate_id: str) -> int:
        """Delete the candidate's campaign deferral timers (their input names the candidate)."""
        if self.cancel_timers_prefixed is None:
            return 0
        return self.cancel_timers_prefixed(campaign_timers_prefix(candidate_id))

    def announce(self, candidate_id: str) -> None:
        self.publisher.publish([("Candidate Erased", CandidateErased(candidate_id=candidate_id))])

    def handle_request(self, ref: CandidateRef, *, request_id: str | None = None) -> str | None:
        """`Candidate Erasure Requested`: resolve the reference, erase. An address that no
        candidate holds still goes on the list (the person asked not to be mailed); an id
        with nothing left is re-announced (a retry after a partial run)."""
        candidate_id = self.repo.resolve_id(ref) or (ref.id if ref.id else None)
        if candidate_id is None:
            if ref.email_normalized:
                self.suppression.suppress(
                    ref.email_normalized, kind="erased", at=self.now(), reason="request"
                )
            logger.info("erasure request for no known candidate", request_id=request_id)
            return None
        if self.erase(candidate_id) is None:
            self.cancel_campaign_timers(candidate_id)  # left by a run that stopped half-way
            self.announce(candidate_id)
            logger.info("erasure re-announced", candidate_id=candidate_id, request_id=request_id)
        return candidate_id

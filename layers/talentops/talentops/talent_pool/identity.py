"""Identity merge: when one fact links a ref (or an id) and an email that belonged to two
candidates, they are one person, and become one candidate.

The candidate the system knew first survives; the newer-linked one is folded into it:
fields by the merge rules (each keeps its highest-ranking observation), consent by its
rules, sends and behaviours as a union; its consent history and decisions move into the
survivor's partition; its aliases point at the survivor, and ``ALIAS#id#<loser>`` as well
(links already sent carry the loser's id). Then the loser's profile goes.

Concurrency-safe and resumable: aliases are repointed and items moved first (each step
idempotent, in transactions of at most 100 items), and the last step writes the survivor and
deletes the loser in one transaction conditional on both versions. A merge that loses a race
starts again from fresh reads; a merge that died half-way is completed by the next fact that
meets the conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..adapters.talent_pool import TalentPoolRepository
from ..errors import ConcurrencyError
from ..models.state import FieldValue
from ..observability import logger
from .merge import DEFAULT_MERGE_POLICY, MergePolicy, merge_profiles, survivor_of

MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class MergeResult:
    survivor_id: str
    loser_id: str
    changed: dict[str, FieldValue]
    moved_items: int


def _alias_pairs(aliases: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for alias in aliases:
        kind, _, value = alias.partition(":")
        if kind and value:
            pairs.append((kind, value))
    return pairs


@dataclass
class IdentityMerger:
    repo: TalentPoolRepository
    policy: MergePolicy = DEFAULT_MERGE_POLICY

    def merge(self, first_id: str, second_id: str) -> MergeResult | None:
        """Merge two candidates into one; None when one of them is gone already (another
        merge of the same pair finished first)."""
        if first_id == second_id:
            return None
        for attempt in range(MAX_ATTEMPTS):
            first = self.repo.get_profile(first_id)
            second = self.repo.get_profile(second_id)
            if first is None or second is None:
                return None
            survivor, loser = survivor_of(first, second)
            survivor_version, loser_version = survivor.version, loser.version
            merged = survivor.model_copy(deep=True)
            changed = merge_profiles(merged, loser, self.policy)
            merged.aliases = sorted({*merged.aliases, f"id:{loser.candidate_id}"})
            map_entries: dict[str, dict[str, Any]] = {
                "recent": {
                    k: v.model_dump(mode="json")
                    for k, v in loser.recent.items()
                    if k not in survivor.recent
                },
                "behaviours": {
                    k: v for k, v in merged.behaviours.items() if survivor.behaviours.get(k) != v
                },
            }
            self.repo.repoint_aliases(
                _alias_pairs(loser.aliases), loser.candidate_id, survivor.candidate_id
            )
            moved = self.repo.move_items(
                self.repo.partition_items(loser.candidate_id), survivor.candidate_id
            )
            try:
                self.repo.finish_merge(
                    merged,
                    expected_version=survivor_version,
                    loser_id=loser.candidate_id,
                    loser_version=loser_version,
                    map_entries=map_entries,
                )
            except ConcurrencyError:
                logger.info("identity merge raced, retrying", attempt=attempt + 1)
                continue
            # Anything written to the loser's partition while it was being merged.
            stragglers = self.repo.partition_items(loser.candidate_id)
            if stragglers:
                moved += self.repo.move_items(stragglers, survivor.candidate_id)
            logger.info(
                "candidates merged",
                survivor_id=survivor.candidate_id,
                loser_id=loser.candidate_id,
                moved_items=moved,
                changed=sorted(changed),
            )
            return MergeResult(survivor.candidate_id, loser.candidate_id, changed, moved)
        raise ConcurrencyError(f"identity merge gave up after {MAX_ATTEMPTS} attempts")

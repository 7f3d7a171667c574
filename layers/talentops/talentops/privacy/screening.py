"""The suppression list, consulted when ingest sets a profile's address.

Called from the ingest hook in talent_pool/service.py, inside the same optimistic write as
the fact that sets the address, so the result is saved with the profile:

- a hard entry (bounce, complaint): the profile is marked ``suppressed`` (decide() then
  suppresses every message, transactional too, with ``suppressed_address``);
- an erasure (``erased_at``): every purpose is recorded as withdrawn at the moment of the
  erasure, by ``talent.privacy``. The ordinary consent merge then does the rest: only a grant
  observed after the erasure beats that withdrawal, so a re-import from the ATS (with its old
  grants, or none, in an opt-out country) does not make the address mailable again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..adapters.suppression import SuppressionRepository
from ..consent.policy import PURPOSES
from ..models.state import ConsentState, FieldValue, Profile
from ..observability import logger
from ..talent_pool.merge import merge_consent

PRIVACY_SOURCE = "talent.privacy"
ERASED_EVIDENCE = "address erased earlier; mail only after a new opt-in observed after erasure"


def erased_withdrawals(profile: Profile, erased_at: object) -> list[tuple[str, ConsentState]]:
    """Withdraw every purpose as of the erasure (merge order keeps newer grants)."""
    history: list[tuple[str, ConsentState]] = []
    for purpose in PURPOSES:
        state = ConsentState(
            status="withdrawn",
            source=PRIVACY_SOURCE,
            observed_at=erased_at,  # type: ignore[arg-type]
            evidence=ERASED_EVIDENCE,
            lawful_basis="consent",
        )
        merge_consent(profile, purpose, state)
        history.append((purpose, state))
    return history


@dataclass
class AddressScreen:
    suppression: SuppressionRepository

    def __call__(
        self, profile: Profile, changed: Mapping[str, FieldValue]
    ) -> list[tuple[str, ConsentState]]:
        """Apply the list to ``profile`` in place; return consent history to record."""
        if "email" not in changed or not profile.email:
            return []
        entry = self.suppression.get(profile.email)
        profile.suppressed = bool(entry and entry.hard)
        if entry is None:
            return []
        logger.info(
            "address is on the suppression list",
            candidate_id=profile.candidate_id,
            kind=entry.kind,
            erased=entry.erased_at is not None,
        )
        if entry.erased_at is None:
            return []
        return erased_withdrawals(profile, entry.erased_at)

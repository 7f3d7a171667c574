"""The send reconciler's run (functions/send_reconciler, every five minutes): read the
``by_lease`` index for claims whose lease ran out, and resolve each (delivery/leases.py).

The resolver (the talent pool's stores, consent, SES, the bus and the models they read) is
built only when a lease ran out. The usual run finds none, and then reads the index and
imports nothing else: its cold start stays near a bare handler's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import ReconcileError, UnknownDictionaryError
from ..observability import logger

if TYPE_CHECKING:
    from .leases import LeaseResolver


@dataclass
class Reconciler:
    # (candidate id, decision id) of the claims whose lease ran out before a moment, at most
    # a number of them (adapters/pool/lease_index.expired_leases).
    expired: Callable[[datetime, int], Sequence[tuple[str, str]]]
    resolver: Callable[[], LeaseResolver]
    now: Callable[[], datetime]

    def sweep(self, limit: int = 500) -> dict[str, int]:
        """Resolve the claims whose lease ran out: found, sent by the resolver, recorded sent
        because SES had accepted them, other outcomes (suppressed, failed), left open because
        this release cannot read their copy (unreadable), and not resolved because of an
        error (errors).

        One claim never keeps the others waiting: whatever resolving it raises, the run goes
        on with the rest, logs the claim's decision id with the error's type (its text may
        quote a value), and fails at the end (ReconcileError), so that the function's error
        alarm sees it. A claim whose lease was taken over before the error is tried again
        when that lease runs out; one that failed before is tried by the next run."""
        tally = {"found": 0, "sent": 0, "accepted": 0, "other": 0, "unreadable": 0, "errors": 0}
        keys = self.expired(self.now(), limit)
        resolver = self.resolver() if keys else None
        for candidate_id, decision_id in keys:
            assert resolver is not None
            try:
                claim = resolver.repo.open_claim(candidate_id, decision_id)
                if claim is None:
                    continue  # resolved since the index was read
                tally["found"] += 1
                before = claim.accepted or None
                resolved = resolver.resolve(claim)
            except UnknownDictionaryError as exc:
                # A rollback past the release that packed its copy: the claim stays open
                # (its lease taken over, so tried again after it) and the others go on.
                tally["unreadable"] += 1
                logger.error("claim unreadable", decision_id=decision_id, error=str(exc))
                continue
            except Exception as exc:  # any error: the other claims go on
                tally["errors"] += 1
                logger.error(
                    "claim not resolved", decision_id=decision_id, error_type=type(exc).__name__
                )
                continue
            if resolved is None:
                continue
            if resolved.status == "sent":
                tally["accepted" if before else "sent"] += 1
            else:
                tally["other"] += 1
        (logger.info if tally["found"] or tally["errors"] else logger.debug)(
            "claims reconciled",
            found=tally["found"],
            sent=tally["sent"],
            accepted=tally["accepted"],
            other=tally["other"],
            unreadable=tally["unreadable"],
            errors=tally["errors"],
        )
        if tally["errors"]:
            raise ReconcileError(
                f"{tally['errors']} of the claims whose lease ran out were not resolved "
                "(logged with their decision ids); the others were"
            )
        return tally

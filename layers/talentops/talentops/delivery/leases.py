"""A claim is a lease: no message lost, none sent twice (docs/decisions.md, 2026-12-04).

Every send is claimed before SES is called (the decision record, the durable dedupe). The
claim of a send holds a lease, ``lease_until``: the latest moment its sender can still be
alive (the invocation's deadline, from Lambda's context; the function's longest run, 15
minutes, outside an invocation), plus a margin for SES's send event to come back, and it
keeps the message as composed (``raw``, compressed) so that whoever resolves it sends
exactly that. The send carries the decision id (SES tag ``decision_id`` and header
``X-TalentOps-Decision``). A sender that finishes completes the claim (status sent or
failed; the lease and the message are dropped). A claim whose lease ran out unresolved is
resolved here, by the next delivery of the same fact or by the reconciler
(functions/send_reconciler, every five minutes, off the sparse ``by_lease`` index):

1. take the claim over (a conditional write on the lease read: one resolver wins);
2. did SES accept it? The configuration set's ``Send`` event for the decision id, recorded
   on the claim by the feedback function (``ses_accepted_at``), or, on the local stack, the
   emulator's sent mail by header (``ACCEPTANCE_LOOKUPS``). Then it is recorded sent;
3. else the hard stops are asked again (the candidate erased, the address suppressed, the
   purpose withdrawn: recorded suppressed, the budget room given back), and the message is
   sent, then recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from email.utils import getaddresses
from typing import Any

from ..adapters.bus import EventPublisher
from ..adapters.pool.lease_index import expired_leases, lease_shard
from ..adapters.ses import SesSender
from ..adapters.talent_pool import OpenClaim, TalentPoolRepository
from ..consent.policy import ConsentPolicy
from ..errors import DamagedCopyError, DeliveryError, SendRefusedError
from ..invocation import remaining
from ..models.events import normalize_email
from ..models.state import Decision, Profile
from ..observability import count, logger
from .mime import pack, unpack

# The longest a sender runs (Lambda's limit: the lease when the invocation's deadline is not
# known) and the time SES's Send event may take back.
LEASE = timedelta(minutes=15)
MARGIN = timedelta(minutes=5)

# The local stack registers a lookup of its emulator's sent mail here (decision id -> SES
# message id, or None); nothing is registered in AWS, where the Send event is the record.
ACCEPTANCE_LOOKUPS: list[Callable[[str], str | None]] = []


def lease_until(now: datetime) -> datetime:
    """The claim's lease: until the running invocation's deadline (at most Lambda's limit),
    plus the margin for SES's Send event; `now` is the system's clock, the deadline is
    counted on the process's own."""
    left = remaining()
    alive = LEASE if left is None else min(left, LEASE)
    return now + alive + MARGIN


def lease_attributes(decision_id: str, now: datetime, raw: bytes) -> dict[str, Any]:
    """What a send's claim carries beside the decision (DynamoDB form)."""
    return {
        "lease_until": {"S": lease_until(now).isoformat()},
        "lease_shard": {"S": lease_shard(decision_id)},
        # Its base64 bodies as the text they encode, compressed (delivery/mime.py, ``pack``).
        "raw": {"B": pack(raw)},
    }


def _kept_copy(claim: OpenClaim) -> tuple[bytes | None, str | None]:
    """The message the claim kept and, when it does not read back whole, why (nothing of a
    damaged copy is ever sent). UnknownDictionaryError, a copy this release cannot read,
    goes up: the claim stays open (delivery/reconcile.py)."""
    if not claim.raw:
        return None, None
    try:
        return unpack(claim.raw), None
    except DamagedCopyError as exc:
        return None, str(exc)


def recipient(raw: bytes) -> str | None:
    parsed = message_from_bytes(raw)
    found = [address for _, address in getaddresses(parsed.get_all("To", [])) if address]
    return found[0] if found else None


def _looked_up(decision_id: str) -> str | None:
    for lookup in ACCEPTANCE_LOOKUPS:
        found = lookup(decision_id)
        if found:
            return found
    return None


@dataclass
class LeaseResolver:
    repo: TalentPoolRepository
    sender: SesSender
    publisher: EventPublisher
    policy: ConsentPolicy
    sender_address: str
    now: Callable[[], datetime]
    # Told of every claim resolved (e.g. a campaign's counters).
    observers: Sequence[Callable[[Decision], None]] = ()

    def resolve(self, claim: OpenClaim) -> Decision | None:
        """Resolve one claim whose lease ran out; None when it was not to resolve (resolved
        meanwhile, its lease still running, or another resolver took it)."""
        now = self.now()
        if claim.lease_until is None or claim.lease_until > now:
            return None
        if not self.repo.take_over(claim, lease_until(now)):
            return None
        decision = claim.decision
        accepted = claim.accepted or _looked_up(decision.decision_id)
        if accepted:
            sent = decision.model_copy(update={"status": "sent"})
            self.repo.complete_decision(sent)
            self._announce(sent, "accepted by SES before its sender died")
            return sent
        profile = self.repo.get_profile(str(decision.candidate_id))
        if profile is None:
            return None  # erased meanwhile: nothing to send, nothing to announce about them
        # The hard stops first: they need no message, so a copy this release cannot read
        # never keeps a suppressed or withdrawn candidate's claim open.
        stop = self._hard_stop(profile, decision.purpose, now)
        raw, damaged = (None, None) if stop is not None else _kept_copy(claim)
        to = recipient(raw) if raw else None
        if to is not None and normalize_email(to) != normalize_email(profile.email or ""):
            stop = "stale_profile"  # the address changed since the claim: not the old one
        if stop is not None:
            held = decision.suppressed(stop, [*decision.reasons, f"resolving its claim: {stop}"])
            self.repo.fail_decisions([held])
            self._announce(held, "hard stop when resolving")
            return held
        if raw is None or to is None:
            why, how = "no message kept", "no message kept"
            if damaged:
                logger.error("claim's copy damaged", decision_id=decision.decision_id)
                why, how = f"the message kept is damaged: {damaged}", "message kept damaged"
            held = decision.suppressed("render_error", [*decision.reasons, why])
            self.repo.fail_decisions([held])
            self._announce(held, how)
            return held
        try:
            self.sender.send_raw(
                sender=self.sender_address,
                to=to,
                raw=raw,
                decision_id=decision.decision_id,
                candidate_id=decision.candidate_id,
            )
        except SendRefusedError as exc:
            from .service import undeliverable

            failed = undeliverable(decision, exc.ses_code)
            self.repo.fail_decisions([failed])
            self._announce(failed, "refused")
            return failed
        except DeliveryError:
            logger.warning("claim resolution: send failed, the lease runs again")
            return None
        sent = decision.model_copy(update={"status": "sent"})
        self.repo.complete_decision(sent)
        self._announce(sent, "sent by the resolver")
        return sent

    def _hard_stop(self, profile: Profile, purpose: str, now: datetime) -> str | None:
        """Why a claim may no longer be sent to ``profile``: suppressed, or its consent."""
        if profile.suppressed:
            return "suppressed_address"
        verdict = self.policy.evaluate(profile, purpose, now)
        return None if verdict.allowed else verdict.reason or "no_consent"

    def sweep(self, limit: int = 500) -> dict[str, int]:
        """Resolve the claims whose lease ran out (delivery/reconcile.py, the reconciler's run,
        with this resolver)."""
        from .reconcile import Reconciler

        def expired(now: datetime, most: int) -> list[tuple[str, str]]:
            return expired_leases(self.repo.ddb, self.repo.table, now, most)

        return Reconciler(expired=expired, resolver=lambda: self, now=self.now).sweep(limit)

    def _announce(self, decision: Decision, how: str) -> None:
        from .service import announcement

        self.publisher.publish([announcement(decision)])
        for observer in self.observers:
            observer(decision)
        count(decision.outcome, decision.reason)
        logger.info(
            "claim resolved",
            how=how,
            outcome=decision.outcome,
            reason=decision.reason,
            decision_id=decision.decision_id,
        )

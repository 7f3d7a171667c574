"""Send claims: a decision record of a send taken before SES is called, holding a lease
(``lease_until``, the sparse ``by_lease`` index over ``lease_shard``) and the message as
composed, until its sender (or the resolver, delivery/leases.py) records it sent or failed.
Batches (job alerts, campaigns) claim up to 100 items a transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ...errors import StorageError
from ...models.state import Decision, SentRecord
from ..dynamo import cancellation_codes, from_item, to_item, to_value
from .base import PROFILE_SK, TRANSACTION_LIMIT, TableStore, _strip_keys, cand_pk
from .decisions import _removals
from .lease_index import expired_leases

_LEASE_FIELDS = ("lease_until", "lease_shard", "raw", "ses_accepted")


@dataclass
class Claim:
    """One candidate's claim in a batch: the decision record, and for a send the trace on the
    profile, conditional on the profile being as it was read."""

    decision: Decision
    sent: SentRecord | None
    expected_version: int
    alert_seq: int
    lease: dict[str, Any] | None = None  # a send's lease and message (delivery.leases)
    prune: Sequence[str] = ()  # traces of the ledger to remove (delivery.ledger)


@dataclass
class OpenClaim:
    """A claimed send not yet recorded sent or failed: its decision, lease and message."""

    decision: Decision
    lease_until: datetime | None
    raw: bytes | None
    accepted: str | None  # SES's message id, when its Send event was recorded


@dataclass
class ClaimResult:
    claimed: list[Claim] = field(default_factory=list)
    duplicates: list[Claim] = field(default_factory=list)  # decided before (the dedupe held)
    conflicts: list[Claim] = field(default_factory=list)  # the profile changed since read


class ClaimStore(TableStore):
    def _claim_items(self, claim: Claim) -> list[dict[str, Any]]:
        decision = claim.decision
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **to_item(
                            {
                                "pk": pk,
                                "sk": f"DECISION#{decision.decision_id}",
                                **decision.model_dump(mode="json"),
                            }
                        ),
                        **(claim.lease or {}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if claim.sent is not None:
            values: dict[str, Any] = {
                ":r": to_value(claim.sent.model_dump(mode="json")),
                ":one": {"N": "1"},
                ":v": {"N": str(claim.expected_version)},
            }
            if claim.alert_seq:
                seq_condition = "alert_seq = :s"
                values[":s"] = {"N": str(claim.alert_seq)}
            else:
                seq_condition = "attribute_not_exists(alert_seq)"
            names = {"#r": "recent", "#k": decision.decision_id, "#v": "version"}
            removals = _removals([k for k in claim.prune if k != decision.decision_id], names)
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": f"SET #r.#k = :r{removals} ADD alert_seq :one",
                        "ConditionExpression": f"#v = :v AND {seq_condition}",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return items

    def claim_decisions(self, claims: Sequence[Claim]) -> ClaimResult:
        """The durable dedupe of a batch: each decision record is put only if this fact was
        never decided for this candidate, and each send's trace goes on its profile only if
        the profile is as it was read (its version and its send counter), so that two
        fan-outs cannot both use a candidate's last alert of the week. Up to 100 items a
        transaction; a cancelled transaction names the items that failed their condition
        (CancellationReasons): those are sorted out, the rest is written again."""
        result = ClaimResult()
        pending = list(claims)
        attempts = 0
        while pending:
            group: list[Claim] = []
            items: list[dict[str, Any]] = []
            spans: list[tuple[int, int]] = []
            for claim in pending:
                claim_items = self._claim_items(claim)
                if len(items) + len(claim_items) > TRANSACTION_LIMIT:
                    break
                spans.append((len(items), len(items) + len(claim_items)))
                items += claim_items
                group.append(claim)
            pending = pending[len(group) :]
            try:
                self.ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                codes = cancellation_codes(exc)
                if not codes:
                    raise StorageError("claiming decisions failed") from exc
                retry: list[Claim] = []
                for claim, (lo, hi) in zip(group, spans, strict=True):
                    own = codes[lo:hi]
                    if own[0] == "ConditionalCheckFailed":
                        result.duplicates.append(claim)
                    elif "ConditionalCheckFailed" in own:
                        result.conflicts.append(claim)
                    else:
                        retry.append(claim)
                if "ConditionalCheckFailed" not in codes:
                    attempts += 1
                    if attempts > 8:
                        raise StorageError(
                            "claiming decisions: transactions kept conflicting"
                        ) from exc
                    time.sleep(min(0.02 * 2**attempts, 1.0))
                pending = retry + pending
                continue
            result.claimed += group
        return result

    def complete_decisions(self, decisions: Sequence[Decision]) -> None:
        """Record claimed sends SES accepted (status sent), up to 100 a transaction. Each
        write is conditional on its claim, as ``complete_decision`` is, so that a candidate
        erased between the claim and this write stays erased; a transaction that one erasure
        cancels is redone item by item."""
        items = [_completion(self.table, d) for d in decisions]
        for start in range(0, len(items), TRANSACTION_LIMIT):
            chunk = decisions[start : start + TRANSACTION_LIMIT]
            try:
                self.ddb.transact_write_items(
                    TransactItems=items[start : start + TRANSACTION_LIMIT]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise StorageError("recording sends failed") from exc
                for decision in chunk:
                    self.complete_decision(decision)

    def decision_or_claim(
        self, candidate_id: str, decision_id: str, item: dict[str, Any] | None = None
    ) -> tuple[Decision | None, OpenClaim | None]:
        """A decision record (``item`` when the caller has it, else one consistent read), and
        its claim when it is a send still unresolved (status decided, with its lease)."""
        if item is None:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
                ConsistentRead=True,
            )
            item = resp.get("Item")
        if not item:
            return None, None
        claim = _open_claim(item)
        if claim is not None:
            return claim.decision, claim
        data = from_item({k: v for k, v in item.items() if k not in _LEASE_FIELDS})
        return Decision.model_validate(_strip_keys(data)), None

    def open_claim(self, candidate_id: str, decision_id: str) -> OpenClaim | None:
        """The claim of a send still unresolved (status decided), else None."""
        resp = self.ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return _open_claim(item) if item else None

    def expired_claims(self, now: datetime, limit: int) -> list[OpenClaim]:
        """Claims whose lease ran out before ``now``, from the sparse by_lease index (only
        unresolved claims carry its keys), at most ``limit``."""
        found = (self.open_claim(*key) for key in expired_leases(self.ddb, self.table, now, limit))
        return [claim for claim in found if claim is not None]

    def take_over(self, claim: OpenClaim, until: datetime) -> bool:
        """Extend an expired lease to ``until`` if it is still the one read (one resolver
        wins); False when another resolved or took it meanwhile."""
        decision = claim.decision
        assert claim.lease_until is not None
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={
                    "pk": {"S": cand_pk(str(decision.candidate_id))},
                    "sk": {"S": f"DECISION#{decision.decision_id}"},
                },
                UpdateExpression="SET lease_until = :new",
                ConditionExpression="lease_until = :old AND #st = :open",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":new": {"S": until.isoformat()},
                    ":old": {"S": claim.lease_until.isoformat()},
                    ":open": {"S": "decided"},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("taking over a claim failed") from exc
        return True

    def complete_decision(self, decision: Decision) -> None:
        """Record one claimed send's outcome (status ``sent``): the lease, the message kept
        for it and the index keys go. Conditional on the claim existing, so that a
        candidate erased meanwhile stays erased."""
        try:
            self.ddb.update_item(**_completion(self.table, decision)["Update"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # erased meanwhile
            raise StorageError("recording a send failed") from exc

    def record_accepted(self, candidate_id: str, decision_id: str, message_id: str) -> bool:
        """SES's Send event for a claim still open: what a resolver reads as accepted."""
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
                UpdateExpression="SET ses_accepted = :m",
                ConditionExpression="#st = :open",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":m": {"S": message_id}, ":open": {"S": "decided"}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # recorded by its sender already, or no such claim
            raise StorageError("recording an accepted send failed") from exc
        return True

    def release_claims(self, decisions: Sequence[Decision]) -> None:
        """Undo claims whose send failed (decision record and send trace), so that the retry
        of their batch can send; 50 candidates a transaction."""
        items: list[dict[str, Any]] = []
        for decision in decisions:
            pk = cand_pk(str(decision.candidate_id))
            items.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": f"DECISION#{decision.decision_id}"}},
                    }
                }
            )
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": "REMOVE #r.#k ADD alert_seq :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#r": "recent", "#k": decision.decision_id},
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            )
        for start in range(0, len(items), TRANSACTION_LIMIT):
            try:
                self.ddb.transact_write_items(
                    TransactItems=items[start : start + TRANSACTION_LIMIT]
                )
            except ClientError as exc:
                raise StorageError("releasing claims failed") from exc


def _completion(table: str, decision: Decision) -> dict[str, Any]:
    """The conditional write that records a claimed send's outcome: its status (``sent``),
    the lease, the message kept for it and the index keys removed. The claim holds the rest
    of the decision already (a send's outcome changes nothing else of it; a refusal, which
    does, is ``fail_decisions``'), so nothing else is written: a small update expression,
    and nothing recorded on the item since the claim (SES's Send event) is written over."""
    names = {"#st": "status"}
    names.update({f"#l{i}": k for i, k in enumerate(_LEASE_FIELDS)})
    removes = ", ".join(f"#l{i}" for i in range(len(_LEASE_FIELDS)))
    return {
        "Update": {
            "TableName": table,
            "Key": {
                "pk": {"S": cand_pk(str(decision.candidate_id))},
                "sk": {"S": f"DECISION#{decision.decision_id}"},
            },
            "UpdateExpression": f"SET #st = :st REMOVE {removes}",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":st": {"S": decision.status}},
        }
    }


def _open_claim(item: dict[str, Any]) -> OpenClaim | None:
    if item.get("status", {}).get("S") != "decided" or "lease_until" not in item:
        return None
    raw = item.get("raw", {}).get("B")
    data = from_item({k: v for k, v in item.items() if k not in ("raw",)})
    until = datetime.fromisoformat(str(data.pop("lease_until")))
    accepted = data.pop("ses_accepted", None)
    return OpenClaim(
        decision=Decision.model_validate(_strip_keys(data)),
        lease_until=until,
        raw=bytes(raw) if raw is not None else None,
        accepted=str(accepted) if accepted else None,
    )

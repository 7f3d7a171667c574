"""Decision records: ``CAND#<id>`` / ``DECISION#<decision id>``. The conditional put of a
record is the durable dedupe of a fact (one decision per fact, message and candidate); with
a send it notes the send's trace on the profile in the same transaction, conditional on the
profile's send counter (the contact budget holds across senders), and removes the traces
the ledger no longer needs (delivery/ledger.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ...errors import ConcurrencyError, DuplicateError, StorageError
from ...models.state import Decision, SentRecord
from ..dynamo import cancellation_codes, from_item, to_item, to_value
from .base import PROFILE_SK, TableStore, _strip_keys, cand_pk


class DecidedBeforeError(DuplicateError):
    """This fact was decided for this candidate before: the record found, as the failed
    conditional write returned it (None when DynamoDB did not)."""

    def __init__(self, decision_id: str, item: dict[str, Any] | None):
        super().__init__(decision_id)
        self.item = item


class DecisionStore(TableStore):
    def decisions(self, candidate_id: str) -> list[Decision]:
        return [
            Decision.model_validate(_strip_keys(i))
            for i in self._query_partition(candidate_id, "DECISION#")
        ]

    def get_decision(self, candidate_id: str, decision_id: str) -> Decision | None:
        resp = self.ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return Decision.model_validate(_strip_keys(from_item(item))) if item else None

    def get_decisions(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Decision]:
        """Decision records by (candidate id, decision id), keyed by decision id."""
        items = self.get_items([(cand_pk(c), f"DECISION#{d}") for c, d in pairs], True)
        return {
            i["sk"]["S"].removeprefix("DECISION#"): Decision.model_validate(
                _strip_keys(from_item(i))
            )
            for i in items
        }

    def record_decision(
        self,
        decision: Decision,
        *,
        sent: SentRecord | None,
        behaviour: tuple[str, dict[str, Any]] | None,
        send_seq: int | None = None,
        lease: dict[str, Any] | None = None,
        prune: Sequence[str] = (),
    ) -> None:
        """The durable dedupe: put the decision if this fact was never decided for this
        candidate, and note the send and the behaviour on the profile, in one request.
        ``send_seq``: the profile's send counter as read; a send's trace is then written only
        if no other send changed the profile's traces since (ConcurrencyError: read again and
        decide again), and the counter moves on. ``prune``: traces of the ledger that fell
        out of its window (delivery.ledger), removed in the same write (only with a send and
        its counter: the traces removed are those read)."""
        parts = self.decision_parts(
            decision,
            sent=sent,
            behaviour=behaviour,
            send_seq=send_seq,
            lease=lease,
            prune=prune,
        )
        items: list[dict[str, Any]] = [parts.put]
        if parts.profile is not None:
            items.append(parts.profile.item(self.table, parts.pk))
        try:
            if len(items) == 1:
                self.ddb.put_item(**items[0]["Put"])
            else:
                self.ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            codes = cancellation_codes(exc)
            if code == "ConditionalCheckFailedException" or (
                codes and codes[0] == "ConditionalCheckFailed"
            ):
                reasons = exc.response.get("CancellationReasons") or [exc.response]
                found = reasons[0].get("Item")
                raise DecidedBeforeError(decision.decision_id, found) from exc
            if "ConditionalCheckFailed" in codes:
                if send_seq is not None and sent is not None:
                    raise ConcurrencyError("the profile's sends changed since it was read") from exc
                raise StorageError("the candidate was removed while deciding") from exc
            if "TransactionConflict" in codes:
                raise ConcurrencyError("a concurrent transaction on the profile") from exc
            raise StorageError("recording a decision failed") from exc

    def decision_parts(
        self,
        decision: Decision,
        *,
        sent: SentRecord | None,
        behaviour: tuple[str, dict[str, Any]] | None = None,
        send_seq: int | None = None,
        lease: dict[str, Any] | None = None,
        prune: Sequence[str] = (),
    ) -> DecisionParts:
        """What ``record_decision`` writes, as parts of a transaction: the conditional put of
        the record, and the profile's update (the send's trace, its counter, the ledger's
        removals, the behaviour), None when it notes nothing on the profile. A caller that
        writes more of the candidate's partition in the same transaction (a journey's
        instance) merges its own changes of the profile into ``profile``."""
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        record = decision.model_dump(mode="json")
        put = {
            "Put": {
                "TableName": self.table,
                "Item": {
                    **to_item({"pk": pk, "sk": f"DECISION#{decision.decision_id}", **record}),
                    **(lease or {}),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
                # A duplicate gets the record it met back: no read to find it.
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        update = ProfileUpdate()
        if sent is not None:
            update.sets.append("#r.#k = :r")
            update.names.update({"#r": "recent", "#k": decision.decision_id})
            update.values[":r"] = to_value(sent.model_dump(mode="json"))
        if behaviour is not None:
            update.note_behaviour(behaviour)
        if sent is not None and send_seq is not None:
            update.removes += _removal_paths(
                [k for k in prune if k != decision.decision_id], update.names
            )
            update.adds.append("alert_seq :one")
            update.values[":one"] = {"N": "1"}
            if send_seq:
                update.conditions.append("alert_seq = :seq")
                update.values[":seq"] = {"N": str(send_seq)}
            else:
                update.conditions.append("attribute_not_exists(alert_seq)")
            update.counted = True
        return DecisionParts(pk=pk, put=put, profile=update if update.sets else None)

    def release_decision(self, decision: Decision) -> None:
        """Undo a claim whose send failed, so that the retry can send."""
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        try:
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": {
                                "pk": {"S": pk},
                                "sk": {"S": f"DECISION#{decision.decision_id}"},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                            "UpdateExpression": "REMOVE #r.#k ADD alert_seq :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeNames": {
                                "#r": "recent",
                                "#k": decision.decision_id,
                            },
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if "ConditionalCheckFailed" in cancellation_codes(exc):
                return  # the candidate was erased meanwhile
            raise StorageError("releasing a claim failed") from exc

    def fail_decisions(self, decisions: Sequence[Decision]) -> None:
        """Record claimed sends that SES refused for good (status failed) and give their room
        in the contact budget back: the decision record and the removal of its send trace in
        one transaction per candidate (the send counter moves on, as on every change of the
        traces). A candidate erased meanwhile is left erased."""
        for decision in decisions:
            pk = cand_pk(str(decision.candidate_id))
            items = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": f"DECISION#{decision.decision_id}",
                                **decision.model_dump(mode="json"),
                            }
                        ),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": "REMOVE #r.#k ADD alert_seq :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#r": "recent", "#k": decision.decision_id},
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
            try:
                self.ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if "ConditionalCheckFailed" in cancellation_codes(exc):
                    continue  # erased meanwhile
                raise StorageError("recording a refused send failed") from exc


def _removals(prune: Sequence[str], names: dict[str, str]) -> str:
    """`` REMOVE #r.#p0, ...``: the ledger's traces in ``prune`` (``#r`` is ``recent``), their
    names added to ``names``; empty when there is nothing to remove."""
    if not prune:
        return ""
    names["#r"] = "recent"
    names.update({f"#p{i}": key for i, key in enumerate(prune)})
    return " REMOVE " + ", ".join(f"#r.#p{i}" for i in range(len(prune)))


def _removal_paths(prune: Sequence[str], names: dict[str, str]) -> list[str]:
    """The paths ``_removals`` lists, for an update that assembles its own expression."""
    if not prune:
        return []
    names["#r"] = "recent"
    names.update({f"#p{i}": key for i, key in enumerate(prune)})
    return [f"#r.#p{i}" for i in range(len(prune))]


@dataclass
class ProfileUpdate:
    """An update of the candidate's profile assembled from several writers' parts (a
    decision's trace and counter, a journey's count of instances, a behaviour), so that one
    transaction touches the profile once (DynamoDB allows one operation an item)."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    conditions: list[str] = field(default_factory=lambda: ["attribute_exists(pk)"])
    counted: bool = False  # conditional on the send counter (a failure may be a race)

    def note_behaviour(self, behaviour: tuple[str, dict[str, Any]]) -> None:
        self.sets.append("#b.#bk = :b")
        self.names.update({"#b": "behaviours", "#bk": behaviour[0]})
        self.values[":b"] = to_value(behaviour[1])

    def expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        return " ".join(parts)

    def item(self, table: str, pk: str) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
            "UpdateExpression": self.expression(),
            "ConditionExpression": " AND ".join(self.conditions),
            "ExpressionAttributeValues": self.values,
        }
        if self.names:
            update["ExpressionAttributeNames"] = self.names
        return {"Update": update}


@dataclass(frozen=True)
class DecisionParts:
    """A decision's write as parts of a transaction (``DecisionStore.decision_parts``)."""

    pk: str
    put: dict[str, Any]
    profile: ProfileUpdate | None

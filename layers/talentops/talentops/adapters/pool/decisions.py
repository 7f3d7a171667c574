"""Decision records: ``CAND#<id>`` / ``DECISION#<decision id>``. The conditional put of a
record is the durable dedupe of a fact (one decision per fact, message and candidate); with
a send it notes the send's trace on the profile in the same transaction, conditional on the
profile's send counter (the contact budget holds across senders), and removes the traces
the ledger no longer needs (delivery/ledger.py)."""

from __future__ import annotations

from collections.abc import Sequence
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
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        record = decision.model_dump(mode="json")
        items: list[dict[str, Any]] = [
            {
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
        ]
        sets, names, values = [], {}, {}
        if sent is not None:
            sets.append("#r.#k = :r")
            names.update({"#r": "recent", "#k": decision.decision_id})
            values[":r"] = to_value(sent.model_dump(mode="json"))
        if behaviour is not None:
            sets.append("#b.#bk = :b")
            names.update({"#b": "behaviours", "#bk": behaviour[0]})
            values[":b"] = to_value(behaviour[1])
        condition = "attribute_exists(pk)"
        update = "SET " + ", ".join(sets) if sets else ""
        if sent is not None and send_seq is not None:
            update += _removals([k for k in prune if k != decision.decision_id], names)
            update += " ADD alert_seq :one"
            values[":one"] = {"N": "1"}
            if send_seq:
                condition += " AND alert_seq = :seq"
                values[":seq"] = {"N": str(send_seq)}
            else:
                condition += " AND attribute_not_exists(alert_seq)"
        if sets:
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": update,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
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

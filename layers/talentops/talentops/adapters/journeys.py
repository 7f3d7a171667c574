"""Journey state in the talent-pool table, with the candidate.

- ``CAND#<id>`` / ``JOURNEY#<instance id>``: one instance, its ``seq`` (the condition of
  every write) and its ``outbox``: the effects of its last transition that are not yet
  carried out. A running instance is stored in full. An ended one keeps here only what a
  trigger decides from (re-entry policies, the owner of a late event: the instance's key,
  subject, status and dates, ``ENDED_FIELDS``) with its outbox: every trigger about the
  candidate reads this range, and it must not grow with the trail of every journey they
  went through.
- ``CAND#<id>`` / ``JEND#<instance id>``: an ended instance in full (its context, inbox and
  trail), written with its end and never again; it sorts outside the range a trigger
  reads (``JEND#`` < ``JOURNEY#``). The access export reads it (``in_full``).
- ``JVER#<journey>`` / ``V#<version>``: each journey version that an instance started on, as
  canonical JSON, so that a run finishes on its version after the file changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ConcurrencyError, StorageError
from ..journeys.model import Journey
from ..models.state import Decision, Profile
from .aws import client
from .dynamo import cancellation_codes, query_all
from .pool.claims import _completion
from .pool.decisions import DecidedBeforeError, DecisionParts, ProfileUpdate
from .talent_pool import PROFILE_SK, cand_pk

JOURNEY_PREFIX = "JOURNEY#"
ENDED_PREFIX = "JEND#"
# What an ended instance keeps where triggers read: what ``engine.start`` (the instance id a
# fact started, the key's instances, their status and end), the runtime's ``_followed``
# (subject, journey and version) and explanations (the dates, the end's reason) read.
ENDED_FIELDS = (
    "instance_id",
    "journey",
    "version",
    "candidate_id",
    "key",
    "subject_id",
    "status",
    "step",
    "seq",
    "step_seq",
    "started_at",
    "updated_at",
    "ended_at",
    "end_reason",
)


class CandidateGoneError(StorageError):
    """The candidate was erased (or merged away) while their journeys were moving."""


def version_key(name: str, version: str) -> dict[str, Any]:
    return {"pk": {"S": f"JVER#{name}"}, "sk": {"S": f"V#{version}"}}


@dataclass(frozen=True)
class StoredInstance:
    """An instance as stored: its JSON and the effects still to carry out."""

    data: dict[str, Any]
    outbox: list[dict[str, Any]]
    seq: int


def _stored(item: dict[str, Any]) -> StoredInstance:
    outbox = item.get("outbox") or "[]"
    return StoredInstance(
        data=json.loads(item["instance"]),
        outbox=[] if outbox == "[]" else json.loads(outbox),  # most are carried out
        seq=int(item["seq"]),
    )


def instance_items(
    candidate_id: str,
    instance_id: str,
    data: dict[str, Any],
    seq: int,
    *,
    outbox: Sequence[dict[str, Any]],
    ended: bool,
) -> list[dict[str, Any]]:
    """The items an instance (``data``: its JSON form) is stored as at ``seq``: a running
    one, its item in full with its outbox; an ended one, its summary where triggers read
    (with the outbox) and its item in full outside that range (without)."""

    def item(
        sk: str, data: dict[str, Any], outbox: Sequence[dict[str, Any]] | None
    ) -> dict[str, Any]:
        written: dict[str, Any] = {
            "pk": {"S": cand_pk(candidate_id)},
            "sk": {"S": f"{sk}{instance_id}"},
            "journey": {"S": str(data["journey"])},
            "status": {"S": "ended" if ended else "active"},
            "seq": {"N": str(seq)},
            "instance": {"S": json.dumps(data, separators=(",", ":"), sort_keys=True)},
        }
        if outbox is not None:
            written["outbox"] = {"S": json.dumps(list(outbox), separators=(",", ":"))}
        return written

    if not ended:
        return [item(JOURNEY_PREFIX, data, outbox)]
    summary = {name: data.get(name) for name in ENDED_FIELDS}
    return [item(JOURNEY_PREFIX, summary, outbox), item(ENDED_PREFIX, data, None)]


def in_full(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A partition's items (plain values) with each ended instance's summary replaced by
    its item in full (kept under ``JOURNEY#``, as a running one is); instances that ended
    before summaries existed are in full already."""
    full = {
        str(i["sk"]).removeprefix(ENDED_PREFIX): i
        for i in items
        if str(i["sk"]).startswith(ENDED_PREFIX)
    }
    out = []
    for item in items:
        sk = str(item["sk"])
        ended = full.get(sk.removeprefix(JOURNEY_PREFIX)) if sk.startswith(JOURNEY_PREFIX) else None
        if ended is not None:
            out.append({**ended, "sk": sk, "outbox": item.get("outbox")})
        elif not sk.startswith(ENDED_PREFIX):
            out.append(item)
    return out


class JourneyRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def instances(self, candidate_id: str) -> list[StoredInstance]:
        """Every journey instance of the candidate as triggers read them, ended ones as
        their summaries (one Query, consistent)."""
        items = query_all(
            self.ddb,
            "reading journeys",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={
                ":pk": {"S": cand_pk(candidate_id)},
                ":p": {"S": JOURNEY_PREFIX},
            },
            ConsistentRead=True,
        )
        return [_stored(item) for item in items]

    def candidate(self, candidate_id: str) -> tuple[Profile | None, list[StoredInstance]]:
        """The candidate's profile and journey instances in one consistent Query: they sort
        next to each other in the partition (``JOURNEY#...`` < ``PROFILE``)."""
        items = query_all(
            self.ddb,
            "reading a candidate's journeys",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": cand_pk(candidate_id)},
                ":first": {"S": JOURNEY_PREFIX},
                ":last": {"S": PROFILE_SK},
            },
            ConsistentRead=True,
        )
        profile, stored = None, []
        for item in items:  # plain values (query_all)
            sk = str(item["sk"])
            if sk == PROFILE_SK:
                profile = Profile.model_validate(item)
            elif sk.startswith(JOURNEY_PREFIX):
                stored.append(_stored(item))
        return profile, stored

    def save(
        self,
        candidate_id: str,
        instance_id: str,
        data: dict[str, Any],
        seq: int,
        *,
        expected_seq: int | None,
        outbox: Sequence[dict[str, Any]],
        ended: bool,
        behaviour: tuple[str, dict[str, Any]] | None = None,
        decision: DecisionParts | None = None,
        version: Journey | None = None,
        listens: Iterable[str] = (),
    ) -> None:
        """Write an instance at ``seq`` if it is still at ``expected_seq`` (None: if it does
        not exist yet); ConcurrencyError when another transition got there first.
        ``behaviour``: what the candidate did, noted on the profile in the same request.
        ``decision``: the decision of the transition's send, written in the same transaction
        (its record, its trace on the profile and the send counter it is conditional on):
        ConcurrencyError when another send moved the counter, DecidedBeforeError when the
        record exists already (then nothing is written). ``version``: the journey version
        the instance runs, kept in the same request (the first instance of a version a
        process writes). ``listens``: what a new instance listens to beyond its subject
        (journeys.engine.listens_of), added to the profile's ``journey_listens`` beside its
        count."""
        pk = cand_pk(candidate_id)
        item, *full = instance_items(
            candidate_id, instance_id, data, seq, outbox=outbox, ended=ended
        )
        put: dict[str, Any] = {"TableName": self.table, "Item": item}
        if expected_seq is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "seq = :expected"
            put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_seq)}}
        profile = decision.profile if decision is not None else None
        if expected_seq is None:
            # A new instance only beside a profile (an erasure that ran since the read must
            # not be followed by a journey item nothing would delete), counted on it
            # (Profile.journey_items) and listed (Profile.journey_listens).
            profile = profile or ProfileUpdate()
            profile.adds.append("journey_items :one")
            profile.values[":one"] = {"N": "1"}
            if listens := sorted(set(listens)):
                profile.adds.append("journey_listens :listens")
                profile.values[":listens"] = {"SS": listens}
        if behaviour is not None:
            profile = profile or ProfileUpdate()
            profile.note_behaviour(behaviour)
        items: list[dict[str, Any]] = []
        if profile is not None:
            update = profile.item(self.table, pk)
            if profile.counted:
                # An existing profile that failed: its send counter moved (not an erasure).
                update["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            items.append(update)
        items.append({"Put": put})
        # An ended instance in full, outside the triggers' range: unconditional (it is
        # written once, with the end; the summary's condition guards the transaction).
        items += [{"Put": {"TableName": self.table, "Item": i}} for i in full]
        if version is not None:
            items.append(self.version_put(version))
        if decision is not None:
            items.append(decision.put)
        try:
            if len(items) == 1:
                self.ddb.put_item(**put)
            else:
                self.ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            raise _save_failed(exc, candidate_id, instance_id, profile, decision) from exc

    def complete_send(self, decision: Decision, instance_id: str, seq: int) -> None:
        """Record a journey's send sent (``ClaimStore.complete_decision``) and clear the
        outbox of the transition that decided it, in one request: the completion is written
        anyway, and the outbox's effects are carried out by then. An instance that moved on
        meanwhile keeps its own outbox (the completion is then written alone); a candidate
        erased meanwhile stays erased."""
        completion = _completion(self.table, decision)
        try:
            self.ddb.transact_write_items(
                TransactItems=[completion, _outbox_cleared(self.table, decision, instance_id, seq)]
            )
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if not codes:
                raise StorageError("recording a journey send failed") from exc
            if codes[0] == "ConditionalCheckFailed":
                return  # erased meanwhile
            try:
                self.ddb.update_item(**completion["Update"])
            except ClientError as again:
                if again.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    return
                raise StorageError("recording a journey send failed") from again
            if codes[1] != "ConditionalCheckFailed":
                self.clear_outbox(str(decision.candidate_id), instance_id, seq)

    def clear_outbox(self, candidate_id: str, instance_id: str, seq: int) -> None:
        """The effects of transition ``seq`` are carried out. A later transition that wrote
        its own outbox meanwhile keeps it (the condition on seq)."""
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={
                    "pk": {"S": cand_pk(candidate_id)},
                    "sk": {"S": f"{JOURNEY_PREFIX}{instance_id}"},
                },
                UpdateExpression="SET outbox = :empty",
                ConditionExpression="seq = :seq",
                ExpressionAttributeValues={":empty": {"S": "[]"}, ":seq": {"N": str(seq)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return
            raise StorageError("clearing a journey outbox failed") from exc

    # -- versions -------------------------------------------------------------------------

    def version_put(self, journey: Journey) -> dict[str, Any]:
        """The write (a transaction's item) that keeps this version: unconditional, since a
        version never changes (its name is its content's digest), so writing it twice writes
        the same item."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    **version_key(journey.name, journey.version),
                    "definition": {"S": journey.canonical_json()},
                },
            }
        }

    def load_version(self, name: str, version: str) -> Journey | None:
        try:
            resp = self.ddb.get_item(TableName=self.table, Key=version_key(name, version))
        except ClientError as exc:
            raise StorageError("reading a journey version failed") from exc
        item = resp.get("Item")
        if item is None:
            return None
        return Journey.from_canonical_json(item["definition"]["S"])


def _outbox_cleared(table: str, decision: Decision, instance_id: str, seq: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {
                "pk": {"S": cand_pk(str(decision.candidate_id))},
                "sk": {"S": f"{JOURNEY_PREFIX}{instance_id}"},
            },
            "UpdateExpression": "SET outbox = :empty",
            "ConditionExpression": "seq = :seq",
            "ExpressionAttributeValues": {":empty": {"S": "[]"}, ":seq": {"N": str(seq)}},
        }
    }


def _save_failed(
    exc: ClientError,
    candidate_id: str,
    instance_id: str,
    profile: ProfileUpdate | None,
    decision: DecisionParts | None,
) -> Exception:
    """What a failed write of an instance means: the items of its transaction are the
    profile's update (if any), the instance, its item in full when it ended and its journey
    version (if any: neither fails a condition), the decision (if any), in that order."""
    code = exc.response.get("Error", {}).get("Code")
    codes = cancellation_codes(exc)
    reasons = exc.response.get("CancellationReasons") or []
    failed = "ConditionalCheckFailed"
    at_instance = 0 if profile is None else 1
    if codes and profile is not None and codes[0] == failed:
        if profile.counted and reasons and reasons[0].get("Item"):
            return ConcurrencyError("the profile's sends changed since it was read")
        return CandidateGoneError(candidate_id)
    if code == "ConditionalCheckFailedException" or (
        len(codes) > at_instance and codes[at_instance] == failed
    ):
        return ConcurrencyError(f"journey instance {instance_id} moved on")
    if decision is not None and codes and codes[-1] == failed:
        found = reasons[-1].get("Item") if reasons else None
        sk = decision.put["Put"]["Item"]["sk"]["S"]
        return DecidedBeforeError(sk.removeprefix("DECISION#"), found)
    if "TransactionConflict" in codes:
        return ConcurrencyError("a concurrent transaction on the candidate")
    return StorageError("writing a journey instance failed")

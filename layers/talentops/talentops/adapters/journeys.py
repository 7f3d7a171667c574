"""Journey state in the talent-pool table, with the candidate.

- ``CAND#<id>`` / ``JOURNEY#<instance id>``: one instance (running or ended: ended ones are
  what re-entry policies read), its ``seq`` (the condition of every write) and its
  ``outbox``: the effects of its last transition that are not yet carried out. Erasure
  deletes the partition, and with it every journey of the candidate.
- ``JVER#<journey>`` / ``V#<version>``: each journey version that an instance started on, as
  canonical JSON, so that a run finishes on its version after the file changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ConcurrencyError, StorageError
from ..journeys.model import Journey
from ..models.state import Profile
from .aws import client
from .dynamo import cancellation_codes, query_all, to_value
from .talent_pool import PROFILE_SK, cand_pk

JOURNEY_PREFIX = "JOURNEY#"


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
    return StoredInstance(
        data=json.loads(item["instance"]),
        outbox=json.loads(item.get("outbox") or "[]"),
        seq=int(item["seq"]),
    )


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
        """Every journey instance of the candidate (one Query, consistent)."""
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
    ) -> None:
        """Write an instance at ``seq`` if it is still at ``expected_seq`` (None: if it does
        not exist yet); ConcurrencyError when another transition got there first.
        ``behaviour``: what the candidate did, noted on the profile in the same request."""
        item: dict[str, Any] = {
            "pk": {"S": cand_pk(candidate_id)},
            "sk": {"S": f"{JOURNEY_PREFIX}{instance_id}"},
            "journey": {"S": str(data["journey"])},
            "status": {"S": "ended" if ended else "active"},
            "seq": {"N": str(seq)},
            "instance": {"S": json.dumps(data, separators=(",", ":"), sort_keys=True)},
            "outbox": {"S": json.dumps(list(outbox), separators=(",", ":"))},
        }
        noted = ""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":one": {"N": "1"}}
        if behaviour is not None:
            noted = "SET #b.#k = :b "
            names = {"#b": "behaviours", "#k": behaviour[0]}
            values[":b"] = to_value(behaviour[1])
        profile_key = {"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}}
        try:
            if expected_seq is None:
                # A new instance only beside a profile: an erasure that ran since the read
                # must not be followed by a journey item nothing would delete.
                self.ddb.transact_write_items(
                    TransactItems=[
                        {
                            # ... and counted on the profile (Profile.journey_items).
                            "Update": {
                                "TableName": self.table,
                                "Key": profile_key,
                                "UpdateExpression": f"{noted}ADD journey_items :one",
                                "ConditionExpression": "attribute_exists(pk)",
                                **({"ExpressionAttributeNames": names} if names else {}),
                                "ExpressionAttributeValues": values,
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": item,
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
            elif behaviour is not None:
                del values[":one"]
                self.ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.table,
                                "Key": profile_key,
                                "UpdateExpression": noted.strip(),
                                "ConditionExpression": "attribute_exists(pk)",
                                "ExpressionAttributeNames": names,
                                "ExpressionAttributeValues": values,
                            }
                        },
                        {
                            "Put": {
                                "TableName": self.table,
                                "Item": item,
                                "ConditionExpression": "seq = :expected",
                                "ExpressionAttributeValues": {
                                    ":expected": {"N": str(expected_seq)}
                                },
                            }
                        },
                    ]
                )
            else:
                self.ddb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="seq = :expected",
                    ExpressionAttributeValues={":expected": {"N": str(expected_seq)}},
                )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise CandidateGoneError(candidate_id) from exc
            if code == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in codes:
                raise ConcurrencyError(f"journey instance {instance_id} moved on") from exc
            raise StorageError("writing a journey instance failed") from exc

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

    def remember_version(self, journey: Journey) -> None:
        """Keep this version (once; a version never changes)."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item={
                    **version_key(journey.name, journey.version),
                    "definition": {"S": journey.canonical_json()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return
            raise StorageError("storing a journey version failed") from exc

    def load_version(self, name: str, version: str) -> Journey | None:
        try:
            resp = self.ddb.get_item(TableName=self.table, Key=version_key(name, version))
        except ClientError as exc:
            raise StorageError("reading a journey version failed") from exc
        item = resp.get("Item")
        if item is None:
            return None
        return Journey.from_canonical_json(item["definition"]["S"])

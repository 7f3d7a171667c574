"""Partition-wide reads and deletes of the talent pool table, for access requests, erasure
and retention (the talent-pool repository reads and writes single items; this one sees a
candidate, or the whole pool, at once).

Product code never Scans, except :meth:`PrivacyRepository.scan_profiles_page`, which only
the retention sweeper calls, page by page from its saved cursor (see docs/privacy.md for why
a Scan and not an index).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client
from .dynamo import batch_write, from_item, query_all, to_item
from .pool.base import PROFILE_SK, alias_pk, cand_pk
from .pool.matching import MATCH_ATTRIBUTES

Key = tuple[str, str]


class PrivacyRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    # -- reads -----------------------------------------------------------------------------

    def partition(self, candidate_id: str) -> list[dict[str, Any]]:
        """Every item of the candidate's partition (profile, consent history, decisions, and
        whatever else other capabilities keep there), deserialized, keys included."""
        return list(self._query({"pk": cand_pk(candidate_id)}))

    def _query(self, key: dict[str, str]) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": key["pk"]}},
            "ConsistentRead": True,
        }
        yield from query_all(self.ddb, "reading a candidate's partition", **kwargs)

    def candidates_with_address(self, email_norm: str) -> set[str]:
        """Every candidate id that holds this (normalized) address: the profiles the by_email
        index finds, and the owner of the address alias."""
        ids: set[str] = set()
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_email",
            "KeyConditionExpression": "email_norm = :e",
            "ExpressionAttributeValues": {":e": {"S": email_norm}},
            "ProjectionExpression": "candidate_id",
        }
        try:
            while True:
                resp = self.ddb.query(**kwargs)
                ids.update(i["candidate_id"]["S"] for i in resp.get("Items", []))
                if "LastEvaluatedKey" not in resp:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
            alias = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": alias_pk("email", email_norm)}, "sk": {"S": "ALIAS"}},
                ConsistentRead=True,
            ).get("Item")
        except ClientError as exc:
            raise StorageError("looking up an address failed") from exc
        if alias:
            ids.add(alias["candidate_id"]["S"])
        return ids

    def scan_profiles_page(
        self,
        attributes: Iterable[str],
        start: dict[str, str] | None = None,
        page_size: int = 500,
    ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of profile items (``pk`` and ``sk`` included, with ``attributes``),
        starting after the key ``start`` ({"pk", "sk"} of an item, or a page's end), and the
        key to continue from (None: the pool is done). Retention sweeper only: its cursor."""
        wanted = dict.fromkeys(["pk", "sk", *attributes])
        names = {f"#a{i}": name for i, name in enumerate(wanted)}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "sk = :p",
            "ExpressionAttributeValues": {":p": {"S": PROFILE_SK}},
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
            "Limit": page_size,
        }
        if start:
            kwargs["ExclusiveStartKey"] = {"pk": {"S": start["pk"]}, "sk": {"S": start["sk"]}}
        try:
            resp = self.ddb.scan(**kwargs)
        except ClientError as exc:
            raise StorageError("scanning profiles failed") from exc
        last = resp.get("LastEvaluatedKey")
        after = {"pk": last["pk"]["S"], "sk": last["sk"]["S"]} if last else None
        return [from_item(item) for item in resp.get("Items", [])], after

    def sweep_state(self, name: str) -> dict[str, Any] | None:
        """The stored state of a sweep over the pool (its cursor, lease and counts)."""
        try:
            item = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": f"SWEEP#{name}"}, "sk": {"S": "STATE"}},
                ConsistentRead=True,
            ).get("Item")
        except ClientError as exc:
            raise StorageError("reading a sweep's state failed") from exc
        if not item:
            return None
        return {k: v for k, v in from_item(item).items() if k not in ("pk", "sk")}

    def save_sweep_state(self, name: str, state: dict[str, Any], expected_seq: int) -> bool:
        """Write a sweep's state if nobody did since it was read (``seq`` moves on by one);
        False when another invocation did."""
        condition = "attribute_not_exists(pk)" if expected_seq == 0 else "seq = :s"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Item": to_item(
                {"pk": f"SWEEP#{name}", "sk": "STATE", **state, "seq": expected_seq + 1}
            ),
            "ConditionExpression": condition,
        }
        if expected_seq:
            kwargs["ExpressionAttributeValues"] = {":s": {"N": str(expected_seq)}}
        try:
            self.ddb.put_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("saving a sweep's state failed") from exc
        return True

    # -- writes ----------------------------------------------------------------------------

    def mark_suppressed(self, candidate_id: str) -> bool:
        """Set the profile's ``suppressed`` flag, moving its version on so that a concurrent
        ingest (optimistic versioning) rereads instead of writing the flag back, and drop its
        job-alert matching keys (a suppressed profile is in no fan-out's pool). False when
        the profile does not exist."""
        remove = ", ".join(MATCH_ATTRIBUTES)
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}},
                UpdateExpression=f"SET #s = :t REMOVE {remove} ADD #v :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "suppressed", "#v": "version"},
                ExpressionAttributeValues={":t": {"BOOL": True}, ":one": {"N": "1"}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("marking a profile suppressed failed") from exc
        return True

    def delete_profile(self, candidate_id: str) -> None:
        """Delete the profile item first: every writer's condition on it then fails, so no
        new item is added to the partition while the rest is removed."""
        self.delete_keys([(cand_pk(candidate_id), PROFILE_SK)])

    def delete_alias(self, kind: str, value: str, candidate_id: str) -> None:
        """Delete an alias only if it still belongs to this candidate."""
        try:
            self.ddb.delete_item(
                TableName=self.table,
                Key={"pk": {"S": alias_pk(kind, value)}, "sk": {"S": "ALIAS"}},
                ConditionExpression="attribute_not_exists(pk) OR candidate_id = :id",
                ExpressionAttributeValues={":id": {"S": candidate_id}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return
            raise StorageError("deleting an alias failed") from exc

    def delete_keys(self, keys: Iterable[Key]) -> int:
        """Delete items by (pk, sk), 25 a request, retrying what DynamoDB leaves unprocessed."""
        unique = list(dict.fromkeys(keys))
        requests = [
            {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in unique
        ]
        batch_write(self.ddb, self.table, requests, what="deleting items")
        return len(unique)

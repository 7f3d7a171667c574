"""Identity merges (talent_pool/identity.py): a candidate's partition moved into another's,
its aliases repointed, the survivor written and the loser's profile deleted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ...errors import ConcurrencyError, StorageError
from ...models.state import Profile
from ..dynamo import cancellation_codes, to_item
from .base import PROFILE_SK, TRANSACTION_LIMIT, alias_pk, cand_pk
from .profiles import ProfileStore


class MergeStore(ProfileStore):
    def partition_items(self, candidate_id: str) -> list[dict[str, Any]]:
        """Every item of a candidate's partition except its profile, in DynamoDB form."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": cand_pk(candidate_id)}},
            "ConsistentRead": True,
        }
        while True:
            try:
                resp = self.ddb.query(**kwargs)
            except ClientError as exc:
                raise StorageError("reading a candidate's partition failed") from exc
            items += [i for i in resp.get("Items", []) if i["sk"]["S"] != PROFILE_SK]
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def move_items(self, items: Sequence[dict[str, Any]], to_candidate: str) -> int:
        """Move partition items (consent history, decisions, ...) to another candidate: a put
        under the new partition and a delete of the old item in one transaction, 50 moves a
        transaction (the 100-item limit). Idempotent: a move done twice puts the same item.
        Journey instances moved make the survivor's count of them and what they listen to
        unknown first (a trigger then reads its journeys)."""
        if any(i["sk"]["S"].startswith("JOURNEY#") for i in items):
            self.forget_journey_count(to_candidate)
        moves: list[dict[str, Any]] = []
        for item in items:
            moved = dict(item)
            old_pk = item["pk"]["S"]
            moved["pk"] = {"S": cand_pk(to_candidate)}
            if "candidate_id" in moved:
                moved["candidate_id"] = {"S": to_candidate}
                moved["merged_from"] = {"S": old_pk.removeprefix("CAND#")}
            moves.append({"Put": {"TableName": self.table, "Item": moved}})
            moves.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": old_pk}, "sk": item["sk"]},
                    }
                }
            )
        for start in range(0, len(moves), TRANSACTION_LIMIT):
            try:
                self.ddb.transact_write_items(
                    TransactItems=moves[start : start + TRANSACTION_LIMIT]
                )
            except ClientError as exc:
                raise StorageError("moving a candidate's items failed") from exc
        return len(items)

    def finish_merge(
        self,
        survivor: Profile,
        *,
        expected_version: int,
        loser_id: str,
        loser_version: int,
        map_entries: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Write the merged survivor and delete the loser's profile in one transaction, both
        conditional on their versions, and leave ALIAS#id#<loser> pointing at the survivor
        (links already sent carry the loser's id). ConcurrencyError: either changed."""
        items = [
            self._profile_update(survivor, expected_version, map_entries=map_entries),
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": cand_pk(loser_id)}, "sk": {"S": PROFILE_SK}},
                    "ConditionExpression": "#v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": str(loser_version)}},
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(
                        {
                            "pk": alias_pk("id", loser_id),
                            "sk": "ALIAS",
                            "candidate_id": survivor.candidate_id,
                        }
                    ),
                }
            },
        ]
        try:
            self.ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise ConcurrencyError("a merged profile changed during the merge") from exc
            raise StorageError("finishing a merge failed") from exc

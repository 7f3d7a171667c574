"""The candidate's lake key: a random pseudonym kept in the candidate's own partition.

The event lake never holds a candidate id: each row names the candidate by this key, which
only the talent pool can map back to the candidate. Erasure deletes the partition, key
included, so the rows of an erased candidate can no longer be linked to anyone, while the
counts of the reports made from them stay right (docs/privacy.md). A key is created the
first time a fact of the candidate reaches the lake, and only while the candidate's profile
exists: a fact about a candidate erased meanwhile gets no key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client
from .pool.base import PROFILE_SK, cand_pk

LAKE_SK = "LAKE"
BATCH_GET_LIMIT = 100
# Keys created in one transaction: a condition check and a put each (100 items at most).
CREATE_LIMIT = 50


def new_lake_key() -> str:
    return "k_" + secrets.token_hex(12)


class LakeKeys:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def existing(self, candidate_ids: Iterable[str]) -> dict[str, str]:
        """The keys of the candidates that have one (BatchGetItem, 100 a request)."""
        ids = list(dict.fromkeys(candidate_ids))
        found: dict[str, str] = {}
        for start in range(0, len(ids), BATCH_GET_LIMIT):
            keys = [
                {"pk": {"S": cand_pk(c)}, "sk": {"S": LAKE_SK}}
                for c in ids[start : start + BATCH_GET_LIMIT]
            ]
            request: dict[str, Any] = {self.table: {"Keys": keys}}
            while request:
                try:
                    resp = self.ddb.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    raise StorageError("reading lake keys failed") from exc
                for item in resp.get("Responses", {}).get(self.table, []):
                    found[item["pk"]["S"].removeprefix("CAND#")] = item["key"]["S"]
                request = resp.get("UnprocessedKeys") or {}
        return found

    def create_many(self, candidate_ids: Iterable[str]) -> dict[str, str | None]:
        """``create`` for each candidate, up to CREATE_LIMIT in one transaction: a batch of
        the lake's new candidates in one request, not one each. A group whose transaction is
        cancelled (a profile gone, a key another writer created, a conflict) wrote nothing
        and goes one by one, so each candidate gets exactly what ``create`` gives it."""
        ids = list(dict.fromkeys(candidate_ids))
        created: dict[str, str | None] = {}
        for start in range(0, len(ids), CREATE_LIMIT):
            group = ids[start : start + CREATE_LIMIT]
            if len(group) == 1:
                created[group[0]] = self.create(group[0])
                continue
            keys = {c: new_lake_key() for c in group}
            try:
                self.ddb.transact_write_items(
                    TransactItems=[i for c in group for i in self._create_items(c, keys[c])]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise StorageError("creating lake keys failed") from exc
                created.update({c: self.create(c) for c in group})
                continue
            created.update(keys)
        return created

    def _create_items(self, candidate_id: str, key: str) -> list[dict[str, Any]]:
        pk = {"S": cand_pk(candidate_id)}
        return [
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": {"pk": pk, "sk": {"S": PROFILE_SK}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {"pk": pk, "sk": {"S": LAKE_SK}, "key": {"S": key}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def create(self, candidate_id: str) -> str | None:
        """A new key for a candidate whose profile exists (None when it does not); the key
        another writer created first when there is one."""
        key = new_lake_key()
        try:
            self.ddb.transact_write_items(TransactItems=self._create_items(candidate_id, key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StorageError("creating a lake key failed") from exc
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return None  # no profile: erased, or never known
            return self.existing([candidate_id]).get(candidate_id)
        return key

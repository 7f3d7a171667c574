"""What every store of the talent pool table shares: its keys, the partition of a candidate,
reads by key in batches, and the table and its client (which the repository gives them:
adapters/talent_pool.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ...errors import StorageError
from ..dynamo import batch_write, from_item, query_all

if TYPE_CHECKING:
    from ...models.state import Profile

PROFILE_SK = "PROFILE"
TRANSACTION_LIMIT = 100  # items per TransactWriteItems
BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def cand_pk(candidate_id: str) -> str:
    return f"CAND#{candidate_id}"


def alias_pk(kind: str, value: str) -> str:
    return f"ALIAS#{kind}#{value}"


class TableStore:
    """A store in the talent pool table: ``table`` and ``ddb`` (the client) are the
    repository's."""

    table: str

    @property
    def ddb(self) -> Any:
        raise NotImplementedError

    def _query_partition(self, candidate_id: str, prefix: str) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": cand_pk(candidate_id)}, ":p": {"S": prefix}},
        }
        yield from query_all(self.ddb, "querying a candidate", **kwargs)

    def get_items(self, keys: Sequence[tuple[str, str]], consistent: bool) -> list[dict]:
        """Items by (pk, sk), 100 keys a request, retrying what DynamoDB leaves unprocessed."""
        found: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [
                        {"pk": {"S": pk}, "sk": {"S": sk}}
                        for pk, sk in unique[start : start + BATCH_GET_LIMIT]
                    ],
                    "ConsistentRead": consistent,
                }
            }
            for attempt in range(10):
                try:
                    resp = self.ddb.batch_get_item(RequestItems=request)
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "unknown")
                    raise StorageError(f"reading items in a batch failed ({code})") from exc
                found += resp.get("Responses", {}).get(self.table, [])
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.02 * 2**attempt, 1.0))
            else:
                raise StorageError("reading items in a batch: DynamoDB left keys unprocessed")
        return found

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        batch_write(self.ddb, self.table, requests, what="writing items in a batch")


def encode_key(key: dict[str, Any] | None) -> str | None:
    """A DynamoDB key (LastEvaluatedKey) as text, for a cursor stored on an item."""
    return json.dumps(key, sort_keys=True) if key else None


def decode_key(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


def profile_from_item(item: dict[str, Any]) -> Profile:
    # Imported here: the stores that only need the keys above import no model.
    from ...models.state import Profile

    data = from_item(item)
    return Profile.model_validate(data)

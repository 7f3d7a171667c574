"""Aliases: ``ALIAS#<kind>#<value>`` / ``ALIAS`` -> the candidate id an email or a ref
belongs to (unique, read consistently); kind ``id``: a candidate merged into another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ...errors import StorageError
from ..dynamo import cancellation_codes, to_item
from .base import TRANSACTION_LIMIT, TableStore, alias_pk


class IdentityConflictError(StorageError):
    """An alias (email or ref) already belongs to another candidate."""

    code = "identity_conflict"


class AliasStore(TableStore):
    def alias_owner(self, kind: str, value: str) -> str | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": alias_pk(kind, value)}, "sk": {"S": "ALIAS"}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise StorageError("reading an alias failed") from exc
        item = resp.get("Item")
        return item["candidate_id"]["S"] if item else None

    def alias_owners(self, aliases: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(kind, value) -> candidate id for the aliases that exist, 100 a request."""
        items = self.get_items([(alias_pk(k, v), "ALIAS") for k, v in aliases], True)
        owners: dict[tuple[str, str], str] = {}
        for item in items:
            _, kind, value = item["pk"]["S"].split("#", 2)
            owners[(kind, value)] = item["candidate_id"]["S"]
        return owners

    def _alias_put(self, kind: str, value: str, candidate_id: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(
                    {"pk": alias_pk(kind, value), "sk": "ALIAS", "candidate_id": candidate_id}
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR candidate_id = :id",
                "ExpressionAttributeValues": {":id": {"S": candidate_id}},
            }
        }

    def repoint_aliases(
        self, aliases: Sequence[tuple[str, str]], from_candidate: str, to_candidate: str
    ) -> int:
        """Point aliases of ``from_candidate`` at ``to_candidate`` (100 a transaction); an
        alias that meanwhile belongs to a third candidate is left alone."""
        pending = list(dict.fromkeys(aliases))
        moved = 0
        while pending:
            group = pending[:TRANSACTION_LIMIT]
            pending = pending[TRANSACTION_LIMIT:]
            items = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(
                            {"pk": alias_pk(k, v), "sk": "ALIAS", "candidate_id": to_candidate}
                        ),
                        "ConditionExpression": (
                            "attribute_not_exists(pk) OR candidate_id = :from OR candidate_id = :to"
                        ),
                        "ExpressionAttributeValues": {
                            ":from": {"S": from_candidate},
                            ":to": {"S": to_candidate},
                        },
                    }
                }
                for k, v in group
            ]
            try:
                self.ddb.transact_write_items(TransactItems=items)
                moved += len(group)
            except ClientError as exc:
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" not in codes:
                    raise StorageError("repointing aliases failed") from exc
                pending = [
                    a
                    for a, code in zip(group, codes, strict=True)
                    if code != "ConditionalCheckFailed"
                ] + pending
        return moved

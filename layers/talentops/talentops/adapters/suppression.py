"""The suppression list: addresses that must not be mailed, held only as a hash.

  pk=SUPPRESS#<sha256 of the normalized address>  sk=SUPPRESS
      kind        "bounce" | "complaint" (hard: no mail at all, transactional included)
                  or "erased" (the candidate was erased: mail only after a new opt-in)
      at          when the address was first put on the list (RFC 3339)
      erased_at   the latest erasure of a candidate with this address, if any
      reasons     a few machine words (bounce sub-type, complaint type, "request", ...)

A hard kind is never downgraded: an erased address that had bounced stays "bounce", and an
erasure records ``erased_at`` beside it. Nothing here holds the address in clear text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from ..models.values import normalize_email
from .aws import client

SUPPRESS_SK = "SUPPRESS"
HARD_KINDS = frozenset({"bounce", "complaint"})
KINDS = HARD_KINDS | {"erased"}


def address_hash(address: str) -> str:
    """sha256 of the normalized (trimmed, lower-case) address, hex."""
    return hashlib.sha256(normalize_email(address).encode("utf-8")).hexdigest()


def suppress_pk(address: str) -> str:
    return f"SUPPRESS#{address_hash(address)}"


@dataclass(frozen=True)
class SuppressionEntry:
    address_hash: str
    kind: str
    at: datetime
    erased_at: datetime | None = None
    reasons: tuple[str, ...] = ()

    @property
    def hard(self) -> bool:
        """Bounced or complained: nothing is sent, whatever the purpose."""
        return self.kind in HARD_KINDS


def _entry(item: dict[str, Any]) -> SuppressionEntry:
    erased = item.get("erased_at", {}).get("S")
    return SuppressionEntry(
        address_hash=item["pk"]["S"].removeprefix("SUPPRESS#"),
        kind=item["kind"]["S"],
        at=datetime.fromisoformat(item["at"]["S"]),
        erased_at=datetime.fromisoformat(erased) if erased else None,
        reasons=tuple(item.get("reasons", {}).get("SS", ())),
    )


class SuppressionRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def get(self, address: str) -> SuppressionEntry | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": suppress_pk(address)}, "sk": {"S": SUPPRESS_SK}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise StorageError("reading the suppression list failed") from exc
        item = resp.get("Item")
        return _entry(item) if item else None

    def suppress(self, address: str, *, kind: str, at: datetime, reason: str) -> None:
        """Put the address on the list as ``kind`` (idempotent; a hard kind is never
        replaced by "erased", and "erased" only moves ``erased_at`` forward)."""
        if kind not in KINDS:
            raise ValueError(f"unknown suppression kind {kind!r}")
        names = {"#k": "kind", "#at": "at", "#r": "reasons"}
        values: dict[str, Any] = {
            ":k": {"S": kind},
            ":at": {"S": at.isoformat()},
            ":r": {"SS": [reason]},
        }
        if kind == "erased":
            update = "SET #k = if_not_exists(#k, :k), #at = if_not_exists(#at, :at), #e = :at"
            names["#e"] = "erased_at"
            # Only ever forward: a late retry of an older erasure does not move it back.
            condition = "attribute_not_exists(#e) OR #e < :at"
        else:
            # A hard kind wins over "erased" and over the other hard kind seen first.
            update = "SET #at = if_not_exists(#at, :at), #k = :k"
            condition = "attribute_not_exists(#k) OR #k = :erased"
            values[":erased"] = {"S": "erased"}
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": suppress_pk(address)}, "sk": {"S": SUPPRESS_SK}},
                UpdateExpression=update + " ADD #r :r",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # already on the list at least as strongly
            raise StorageError("writing the suppression list failed") from exc

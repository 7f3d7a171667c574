"""Saved segments in the talent pool table (campaigns.segments).

  pk=SEGMENT#<id>     sk=V#<version, 6 digits>  a version: the name, the definition (JSON:
                                                name, description, segment), created_at;
                                                written once, never changed
  pk=SEGMENT#INDEX    sk=<id>                    the list's entry of a segment: its name,
                                                latest version and when it was made

The latest version is one Query (newest sort key first, Limit 1); the list is one Query of
the index partition (segments are an operator's handful, not the pool). Every key begins
with ``SEGMENT#``: the API's IAM statement can be held to those partitions. No segment holds
a candidate's data: conditions only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client
from .dynamo import from_item, query_all, to_item

INDEX_PK = "SEGMENT#INDEX"


def segment_pk(segment_id: str) -> str:
    return f"SEGMENT#{segment_id}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


class VersionExistsError(StorageError):
    code = "segment_version_exists"


@dataclass(frozen=True)
class SegmentRecord:
    segment_id: str
    name: str
    version: int
    definition: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SegmentRecord:
        return cls(
            segment_id=str(data["segment_id"]),
            name=str(data["name"]),
            version=int(data["version"]),
            definition=json.loads(data["definition"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
        )


@dataclass(frozen=True)
class SegmentEntry:
    segment_id: str
    name: str
    version: int
    updated_at: datetime


class SegmentRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def put_version(
        self,
        segment_id: str,
        version: int,
        *,
        name: str,
        definition: Mapping[str, Any],
        created_at: datetime,
    ) -> SegmentRecord:
        """Write version ``version`` (VersionExistsError when it exists), then move the
        list's entry to it (unless a later version got there first)."""
        item = {
            "pk": segment_pk(segment_id),
            "sk": version_sk(version),
            "segment_id": segment_id,
            "name": name,
            "version": version,
            "definition": json.dumps(definition, separators=(",", ":"), sort_keys=True),
            "created_at": created_at.isoformat(),
        }
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise VersionExistsError(f"segment {segment_id} has version {version}") from exc
            raise StorageError("saving a segment failed") from exc
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": INDEX_PK}, "sk": {"S": segment_id}},
                UpdateExpression="SET segment_id = :id, #n = :n, version = :v, updated_at = :t",
                ConditionExpression="attribute_not_exists(version) OR version < :v",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":id": {"S": segment_id},
                    ":n": {"S": name},
                    ":v": {"N": str(version)},
                    ":t": {"S": created_at.isoformat()},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StorageError("listing a segment failed") from exc
        return SegmentRecord.from_data(item)

    def latest(self, segment_id: str) -> SegmentRecord | None:
        try:
            resp = self.ddb.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
                ExpressionAttributeValues={
                    ":pk": {"S": segment_pk(segment_id)},
                    ":v": {"S": "V#"},
                },
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise StorageError("reading a segment failed") from exc
        items = resp.get("Items", [])
        return SegmentRecord.from_data(from_item(items[0])) if items else None

    def get(self, segment_id: str, version: int) -> SegmentRecord | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": segment_pk(segment_id)}, "sk": {"S": version_sk(version)}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise StorageError("reading a segment failed") from exc
        item = resp.get("Item")
        return SegmentRecord.from_data(from_item(item)) if item else None

    def entries(self) -> Iterator[SegmentEntry]:
        for data in query_all(
            self.ddb,
            "listing the segments",
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": INDEX_PK}},
        ):
            yield SegmentEntry(
                segment_id=str(data["segment_id"]),
                name=str(data["name"]),
                version=int(data["version"]),
                updated_at=datetime.fromisoformat(str(data["updated_at"])),
            )

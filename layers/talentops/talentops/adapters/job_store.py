"""Opened jobs: ``pk=JOB#<job id> sk=JOB``.

The careers site's listing of the job (its fields, ``listing``, ``listed_at``,
``observed_at``) is written by adapters/listings.py (``put_job``). The fan-out adds
``opened_at`` and ``event_id`` of the first Job Opened, the job as fanned out
(``fanout_job``), and its progress: ``fanout_status`` (``running`` | ``done``),
``fanout_cursor`` (the matching index's LastEvaluatedKey, as JSON), ``fanout_pages``,
``fanout_enqueued``. A rerun of the fan-out continues from the cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client
from .dynamo import from_item, to_value

JOB_SK = "JOB"
JOB_FIELDS = ("id", "title", "role_family", "seniority", "city", "country", "remote", "url")


def job_pk(job_id: str) -> str:
    return f"JOB#{job_id}"


class JobRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def start_fanout(
        self, job: dict[str, Any], *, opened_at: datetime, event_id: str, now: datetime
    ) -> tuple[dict[str, Any], bool]:
        """Mark the job's fan-out as started, unless it was before: (the item, True when this
        call started it). One request either way (the existing item comes back with the
        failed condition). The job as fanned out is kept in ``fanout_job``, so that a resumed
        fan-out reads the same index partition even if a later Job Opened changed the job."""
        values = {
            ":running": to_value("running"),
            ":job": to_value({k: job.get(k) for k in JOB_FIELDS}),
            ":oa": to_value(opened_at.isoformat()),
            ":eid": to_value(event_id),
            ":zero": to_value(0),
            ":now": to_value(now.isoformat()),
        }
        try:
            resp = self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": job_pk(str(job["id"]))}, "sk": {"S": JOB_SK}},
                UpdateExpression=(
                    "SET fanout_status = :running, fanout_job = :job, opened_at = :oa, "
                    "event_id = :eid, fanout_pages = :zero, fanout_enqueued = :zero, "
                    "fanout_started_at = :now"
                ),
                ConditionExpression="attribute_not_exists(fanout_status)",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                existing = exc.response.get("Item")
                if existing:
                    return from_item(existing), False
                found = self.get(str(job["id"]))
                if found is not None:
                    return found, False
            raise StorageError("starting a job's fan-out failed") from exc
        return from_item(resp.get("Attributes", {})), True

    def get(self, job_id: str) -> dict[str, Any] | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": job_pk(job_id)}, "sk": {"S": JOB_SK}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise StorageError("reading a job failed") from exc
        item = resp.get("Item")
        return from_item(item) if item else None

    def save_progress(
        self, job_id: str, *, cursor: str | None, enqueued: int, now: datetime
    ) -> None:
        """After a page is on the queue: where to go on from (no cursor: done)."""
        names = {"#p": "fanout_pages", "#e": "fanout_enqueued"}
        values: dict[str, Any] = {
            ":one": {"N": "1"},
            ":n": {"N": str(enqueued)},
            ":now": {"S": now.isoformat()},
        }
        if cursor:
            update = "SET fanout_cursor = :c, fanout_updated_at = :now ADD #p :one, #e :n"
            values[":c"] = {"S": cursor}
        else:
            update = (
                "SET #s = :done, fanout_finished_at = :now, fanout_updated_at = :now "
                "REMOVE fanout_cursor ADD #p :one, #e :n"
            )
            values[":done"] = {"S": "done"}
            names["#s"] = "fanout_status"
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": job_pk(job_id)}, "sk": {"S": JOB_SK}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            raise StorageError("saving fan-out progress failed") from exc

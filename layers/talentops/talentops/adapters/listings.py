"""What the careers site lists: jobs and events, in the talent pool table.

  pk=JOB#<job id>     sk=JOB    a job of `Job Opened` (written by the job fan-out)
  pk=EVENT#<event id> sk=EVENT  an event of the event messages (written by record_event)

Both items carry `listing` ("JOB" / "EVENT") and `listed_at` (UTC, `YYYY-MM-DDTHH:MM:SSZ`, so
that text order is time order: a job's opening, an event's start), the keys of the sparse
GSI `by_listing`. One Query returns the newest jobs or the coming events; nothing scans.
The attributes beside the keys are the contract's job and event fields, flat, plus
`observed_at` of the fact that wrote them: a write never replaces a newer observation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from ..models.events import EventInfo, JobInfo
from .aws import client
from .dynamo import from_item, to_value

LISTING_INDEX = "by_listing"
JOB_FIELDS = ("id", "title", "role_family", "seniority", "city", "country", "remote", "url")
EVENT_FIELDS = ("id", "name", "starts_at", "city", "url")
# Past events stay readable for a while (a no-show's catch-up names the event it missed).
EVENT_RETENTION = timedelta(days=180)


def listing_time(value: datetime) -> str:
    """The sortable text form of a time used for `listed_at` and `observed_at`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "JOB"}}


def event_key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}}


def _listing(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in from_item(item).items() if k not in ("pk", "sk")}


class ListingsRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    # -- writes ----------------------------------------------------------------------------

    def _upsert(
        self,
        key: dict[str, Any],
        kind: str,
        listed_at: str,
        values: dict[str, Any],
        observed: str,
        *,
        whole: bool = False,
    ) -> bool:
        """Write a listing unless a newer observation is stored. ``whole``: the item holds
        nothing but the listing (an event), so it is put whole, a PutItem with no update
        expression to evaluate; a job's item also holds its fan-out's progress
        (adapters/job_store.py), so only the listing's attributes are updated."""
        condition = "attribute_not_exists(pk) OR #o <= :o"
        try:
            if whole:
                item = {**key, "observed_at": {"S": observed}, "listing": {"S": kind}}
                item["listed_at"] = {"S": listed_at}
                item.update({n: to_value(v) for n, v in values.items() if v is not None})
                self.ddb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#o": "observed_at"},
                    ExpressionAttributeValues={":o": {"S": observed}},
                )
                return True
            names = {"#o": "observed_at", "#l": "listing", "#la": "listed_at"}
            exprs = {":o": {"S": observed}, ":l": {"S": kind}, ":la": {"S": listed_at}}
            sets = ["#o = :o", "#l = :l", "#la = :la"]
            removes = []
            for i, (name, value) in enumerate(values.items()):
                names[f"#f{i}"] = name
                if value is None:
                    removes.append(f"#f{i}")
                else:
                    exprs[f":f{i}"] = to_value(value)
                    sets.append(f"#f{i} = :f{i}")
            update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
            self.ddb.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=exprs,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # a newer observation is stored already
            raise StorageError(f"writing a {kind.lower()} listing failed") from exc
        return True

    def put_job(self, job: JobInfo, opened_at: datetime) -> bool:
        """Store a job of `Job Opened` (or its newer state); False when a newer one is held."""
        data = job.model_dump(mode="json")
        values = {name: data.get(name) for name in JOB_FIELDS}
        return self._upsert(
            job_key(job.id), "JOB", listing_time(opened_at), values, listing_time(opened_at)
        )

    def put_event(self, event: EventInfo, observed_at: datetime) -> bool:
        """Store an event as the newest event message names it; False when a newer one is held."""
        data = event.model_dump(mode="json")
        values: dict[str, Any] = {name: data.get(name) for name in EVENT_FIELDS}
        values["starts_at"] = listing_time(event.starts_at)
        values["expires_at"] = int((event.starts_at + EVENT_RETENTION).timestamp())
        return self._upsert(
            event_key(event.id),
            "EVENT",
            listing_time(event.starts_at),
            values,
            listing_time(observed_at),
            whole=True,
        )

    # -- reads -----------------------------------------------------------------------------

    def _query(self, kind: str, *, since: str | None, newest_first: bool, limit: int) -> list:
        condition = "listing = :l"
        values: dict[str, Any] = {":l": {"S": kind}}
        if since is not None:
            condition += " AND listed_at >= :s"
            values[":s"] = {"S": since}
        try:
            resp = self.ddb.query(
                TableName=self.table,
                IndexName=LISTING_INDEX,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ScanIndexForward=not newest_first,
                Limit=limit,
            )
        except ClientError as exc:
            raise StorageError(f"reading {kind.lower()} listings failed") from exc
        return [_listing(item) for item in resp.get("Items", [])]

    def recent_jobs(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest jobs, newest first (closed ones included; the caller filters)."""
        return self._query("JOB", since=None, newest_first=True, limit=limit)

    def events_since(self, since: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Events that start at or after `since`, soonest first."""
        return self._query("EVENT", since=listing_time(since), newest_first=False, limit=limit)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        try:
            resp = self.ddb.get_item(TableName=self.table, Key=event_key(event_id))
        except ClientError as exc:
            raise StorageError("reading an event failed") from exc
        item = resp.get("Item")
        return _listing(item) if item else None

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        try:
            resp = self.ddb.get_item(TableName=self.table, Key=job_key(job_id))
        except ClientError as exc:
            raise StorageError("reading a job failed") from exc
        item = resp.get("Item")
        return _listing(item) if item else None

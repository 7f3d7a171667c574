"""Campaigns in the talent pool table.

  pk=CAMPAIGN#<id>  sk=META      the definition (JSON), its fingerprint, created_at, status
                                 (draft | scheduled | launching | launched), the launch state
                                 (pages queued, candidates queued, profiles scanned, the scan
                                 cursor while the fan-out runs) and the counters of what the
                                 worker did (sent, suppressed by reason, deferred by reason,
                                 waiting, failed, left_segment, missing), each an atomic ADD.

What a campaign did to one candidate is the decision record in the candidate's own partition
(pk=CAND#<id>, sk=DECISION#<decision id>, written by the claim of the send path): its id
derives from the campaign and the candidate (campaigns.preview.campaign_fact), so it is the
durable dedupe, and erasing the candidate removes it with the partition. The META item holds
counts only, never a candidate id or address, except the scan cursor during a fan-out (the
by_email index's key of the last profile read), which is removed when the fan-out ends.

The pool is read through the by_email index (projection ALL): it holds exactly the profiles
with an address (every other item of the table, consent history, decisions, aliases, jobs,
is not in it), so a campaign reads each addressable profile once and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ConcurrencyError, StorageError
from .aws import client
from .dynamo import from_item, to_item
from .talent_pool import LoadedProfile, profile_from_item

META_SK = "META"
POOL_INDEX = "by_email"
COUNT_MAPS = ("suppressed", "deferred")
COUNT_NUMBERS = (
    "sent",
    "failed",
    "waiting",
    "left_segment",
    "missing",
    "messages_done",
    "held_out",
)


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


class CampaignExistsError(StorageError):
    code = "campaign_exists"


@dataclass
class CampaignRecord:
    """The META item as plain values."""

    campaign_id: str
    definition: dict[str, Any]
    fingerprint: str
    created_at: datetime
    status: str
    launched_at: str | None = None
    pages: int = 0
    queued: int = 0
    scanned: int = 0
    messages: int = 0
    cursor: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> CampaignRecord:
        data = from_item(dict(item))
        counts: dict[str, Any] = {k: int(data.get(k, 0)) for k in COUNT_NUMBERS}
        for name in COUNT_MAPS:
            counts[name] = {k: int(v) for k, v in (data.get(name) or {}).items() if int(v)}
        return cls(
            campaign_id=str(data["campaign_id"]),
            definition=json.loads(data["definition"]),
            fingerprint=str(data["fingerprint"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            status=str(data["status"]),
            launched_at=data.get("launched_at"),
            pages=int(data.get("fanout_pages", 0)),
            queued=int(data.get("queued", 0)),
            scanned=int(data.get("scanned", 0)),
            messages=int(data.get("messages", 0)),
            cursor=data.get("fanout_cursor"),
            counts=counts,
        )


@dataclass
class CampaignCounts:
    """What one message of the worker adds to the META item's counters."""

    sent: int = 0
    failed: int = 0
    waiting: int = 0  # deferrals scheduled minus deferred recipients decided again
    left_segment: int = 0
    missing: int = 0
    messages_done: int = 0
    held_out: int = 0  # would have been sent, held out by a holdout (not in suppressed)
    suppressed: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)

    def empty(self) -> bool:
        numbers = (
            self.sent,
            self.failed,
            self.waiting,
            self.left_segment,
            self.missing,
            self.held_out,
        )
        return (
            not any(numbers)
            and not self.messages_done
            and not self.suppressed
            and not self.deferred
        )


class CampaignRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def _key(self, campaign_id: str) -> dict[str, Any]:
        return {"pk": {"S": campaign_pk(campaign_id)}, "sk": {"S": META_SK}}

    # -- the META item ----------------------------------------------------------------------

    def create(
        self, campaign_id: str, *, definition: str, fingerprint: str, created_at: datetime
    ) -> CampaignRecord:
        """Put a new campaign (status draft, counters zero). CampaignExistsError when the id
        is taken."""
        item = {
            "pk": campaign_pk(campaign_id),
            "sk": META_SK,
            "campaign_id": campaign_id,
            "definition": definition,
            "fingerprint": fingerprint,
            "created_at": created_at.isoformat(),
            "status": "draft",
            "queued": 0,
            "scanned": 0,
            "messages": 0,
            "fanout_pages": 0,
            **{name: 0 for name in COUNT_NUMBERS},
            **{name: {} for name in COUNT_MAPS},
        }
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise CampaignExistsError(f"campaign {campaign_id} exists") from exc
            raise StorageError("creating a campaign failed") from exc
        return CampaignRecord.from_item(to_item(item))

    def get(self, campaign_id: str) -> CampaignRecord | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table, Key=self._key(campaign_id), ConsistentRead=True
            )
        except ClientError as exc:
            raise StorageError("reading a campaign failed") from exc
        item = resp.get("Item")
        return CampaignRecord.from_item(item) if item else None

    def set_status(
        self, campaign_id: str, status: str, *, allowed_from: tuple[str, ...], now: datetime
    ) -> bool:
        """Move the campaign to ``status`` if it is in one of ``allowed_from``; False when it
        was not (another caller moved it first)."""
        values: dict[str, Any] = {":s": {"S": status}, ":now": {"S": now.isoformat()}}
        for i, name in enumerate(allowed_from):
            values[f":f{i}"] = {"S": name}
        allowed = ", ".join(f":f{i}" for i in range(len(allowed_from)))
        update = "SET #s = :s, status_at = :now"
        if status in ("scheduled", "launching"):
            update += ", launched_at = if_not_exists(launched_at, :now)"
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(pk) AND #s IN ({allowed})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("changing a campaign's status failed") from exc
        return True

    def save_progress(
        self,
        campaign_id: str,
        *,
        expected_pages: int,
        cursor: str | None,
        queued: int,
        scanned: int,
        messages: int,
        now: datetime,
    ) -> None:
        """After a page of candidates is on the queue: where to go on from (no cursor: the
        fan-out is done). Conditional on the page count being ``expected_pages``, so that two
        fan-outs of one campaign (a launch called again while one runs) cannot both count a
        page: the one that loses gets ConcurrencyError and stops."""
        names = {"#p": "fanout_pages", "#q": "queued", "#n": "scanned", "#m": "messages"}
        values: dict[str, Any] = {
            ":one": {"N": "1"},
            ":q": {"N": str(queued)},
            ":n": {"N": str(scanned)},
            ":m": {"N": str(messages)},
            ":now": {"S": now.isoformat()},
            ":expected": {"N": str(expected_pages)},
        }
        if cursor:
            update = "SET fanout_cursor = :c, fanout_at = :now ADD #p :one, #q :q, #n :n, #m :m"
            values[":c"] = {"S": cursor}
        else:
            update = (
                "SET #s = :done, fanout_at = :now, fanout_finished_at = :now "
                "REMOVE fanout_cursor ADD #p :one, #q :q, #n :n, #m :m"
            )
            values[":done"] = {"S": "launched"}
            names["#s"] = "status"
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #p = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConcurrencyError("another fan-out of this campaign saved this page") from exc
            raise StorageError("saving a campaign's fan-out progress failed") from exc

    def add_counts(self, campaign_id: str, counts: CampaignCounts) -> None:
        """Add one message's outcomes to the counters (a single UpdateItem of ADDs)."""
        if counts.empty():
            return
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        adds: list[str] = []
        for i, name in enumerate(COUNT_NUMBERS):
            amount = int(getattr(counts, name))
            if amount:
                names[f"#c{i}"] = name
                values[f":c{i}"] = {"N": str(amount)}
                adds.append(f"#c{i} :c{i}")
        for m, name in enumerate(COUNT_MAPS):
            entries: dict[str, int] = getattr(counts, name)
            if entries:
                names[f"#m{m}"] = name
            for k, (reason, amount) in enumerate(sorted(entries.items())):
                names[f"#m{m}k{k}"] = reason
                values[f":m{m}k{k}"] = {"N": str(amount)}
                adds.append(f"#m{m}.#m{m}k{k} :m{m}k{k}")
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression="ADD " + ", ".join(adds),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            raise StorageError("counting a campaign's outcomes failed") from exc

    # -- the pool ---------------------------------------------------------------------------

    def pool_page(
        self, start_key: dict[str, Any] | None, limit: int | None = None
    ) -> tuple[list[LoadedProfile], dict[str, Any] | None]:
        """One page of the addressable pool (a Scan of the by_email index): the profiles and
        the key to go on from (None: the last page)."""
        kwargs: dict[str, Any] = {"TableName": self.table, "IndexName": POOL_INDEX}
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        try:
            resp = self.ddb.scan(**kwargs)
        except ClientError as exc:
            raise StorageError("reading the talent pool failed") from exc
        profiles = []
        for item in resp.get("Items", []):
            if item.get("sk", {}).get("S") != "PROFILE":
                continue
            seq = int(item.get("alert_seq", {}).get("N", "0"))
            profiles.append(LoadedProfile(profile_from_item(item), seq))
        return profiles, resp.get("LastEvaluatedKey")

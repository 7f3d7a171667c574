"""Campaigns in the talent pool table.

  pk=CAMPAIGN#<id>  sk=META      the definition (JSON), its fingerprint, created_at, status
                                 (draft | scheduled | launching | launched | paused |
                                 cancelled; ``paused_from`` while paused), the launch state
                                 (pages queued, candidates queued, profiles scanned, the scan
                                 cursor while the fan-out runs) and the counters of what the
                                 worker did (sent, suppressed by reason, deferred by reason,
                                 waiting, failed, left_segment, missing), each an atomic ADD.

  pk=CAMPAIGN#<id>  sk=PREVIEW#<run>          a preview's result (JSON: counts, the examples held
                                             back, the rendered samples)
  pk=CAMPAIGN#<id>  sk=PREVIEW#<run>#<seg>#<n>  what segment <seg> of a preview's parallel Scan
                                             found (chunk <n>: a segment that ran short of
                                             time goes on in another message), removed when
                                             the preview is merged
  pk=CAMPAIGN#<id>  sk=PARKED#<page>#<digest>  a page message that arrived while the campaign
                                             was paused (its body, candidate ids included),
                                             re-queued and removed by resume, removed by
                                             cancel; ``expires_at`` 30 days

The META item carries ``campaign_list`` (always ``CAMPAIGNS``) and ``campaign_order``
(``<created_at, UTC, microseconds>#<id>``): the keys of the sparse GSI ``campaigns_by_created``
that only META items are in, so that GET /admin/campaigns lists the campaigns newest first
with a Query of that one index partition, never a Scan of the table. Campaigns are created a
few a day: the single partition key is no hot spot.

The META item also holds the state of the last preview (campaigns.preview_job): its run id,
running or done, when it started, the moment it decides for, its segments, those done and
the profiles each has scanned. The preview's items hold candidate ids and rendered samples:
they carry ``expires_at`` (the table's TTL, a day) and a new preview deletes the last one's
result, so that they do not outlive the candidates they show by more than a day.

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

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ConcurrencyError, StorageError
from ..models.state import Profile
from .aws import client
from .dynamo import batch_write, cancellation_codes, from_item, query_all, to_item
from .talent_pool import LoadedProfile

META_SK = "META"
POOL_INDEX = "by_email"
# The index's key (email_norm) and the table's: every item of a pool Scan carries them, so
# that a fan-out can save "resume right after this profile" as its cursor.
INDEX_KEY = ("email_norm", "pk", "sk")
# What campaigns.preview.decide_recipient reads of a profile (segment, suppression, consent,
# freshness, variant, quiet hours, the budget's ledger): the preview's Scan projects these.
DECISION_ATTRIBUTES = (
    "candidate_id",
    "version",
    "fields",
    "consent",
    "recent",
    "behaviours",
    "suppressed",
)
# What any segment reads (Campaign.in_segment); a campaign's fan-out projects only the
# fields and behaviours its own segment names (Campaign.segment_attributes).
SEGMENT_ATTRIBUTES = ("candidate_id", "fields", "behaviours")
_NOT_PROFILE = frozenset({"pk", "sk", "email_norm"})
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
# The list of campaigns (GET /admin/campaigns): a sparse GSI of the META items.
LIST_INDEX = "campaigns_by_created"
LIST_KEY = "campaign_list"
LIST_ORDER = "campaign_order"
LIST_PARTITION = "CAMPAIGNS"
PARKED_PREFIX = "PARKED#"
PARKED_TTL = timedelta(days=30)
# What a cancel leaves alone: a campaign that is done (the view's "sent") or cancelled.
CANCELLABLE = ("draft", "scheduled", "launching", "launched", "paused")


def list_order(created_at: datetime, campaign_id: str) -> str:
    """The sort key of a campaign in the list: its creation, in UTC with a fixed width (so
    that the strings sort as the moments), then its id (ties)."""
    moment = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{moment}#{campaign_id}"


def parked_sk(page: int, body: str) -> str:
    """One parked item per message (a message delivered again parks once)."""
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return f"{PARKED_PREFIX}{page:08d}#{digest}"


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def preview_sk(run: str) -> str:
    return f"PREVIEW#{run}"


def preview_part_sk(run: str, segment: int, chunk: int) -> str:
    return f"PREVIEW#{run}#{segment:04d}#{chunk:04d}"


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
    paused_from: str | None = None
    status_at: str | None = None
    pages: int = 0
    queued: int = 0
    scanned: int = 0
    messages: int = 0
    cursor: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    preview: PreviewState | None = None

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
            paused_from=data.get("paused_from"),
            status_at=data.get("status_at"),
            pages=int(data.get("fanout_pages", 0)),
            queued=int(data.get("queued", 0)),
            scanned=int(data.get("scanned", 0)),
            messages=int(data.get("messages", 0)),
            cursor=data.get("fanout_cursor"),
            counts=counts,
            preview=PreviewState.from_data(data),
        )


@dataclass(frozen=True)
class PreviewState:
    """The last preview of a campaign, as its META item has it."""

    run: str
    state: str  # running | done
    started_at: datetime
    at: datetime  # the moment decided for (send_at, or the start)
    segments: int
    done: frozenset[int] = frozenset()
    progress: Mapping[str, int] = field(default_factory=dict)  # segment -> profiles scanned

    @property
    def scanned(self) -> int:
        return sum(self.progress.values())

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PreviewState | None:
        if not data.get("preview_run"):
            return None
        return cls(
            run=str(data["preview_run"]),
            state=str(data.get("preview_state", "running")),
            started_at=datetime.fromisoformat(str(data["preview_started_at"])),
            at=datetime.fromisoformat(str(data["preview_at"])),
            segments=int(data.get("preview_segments", 1)),
            done=frozenset(int(s) for s in data.get("preview_done") or ()),
            progress={str(k): int(v) for k, v in (data.get("preview_progress") or {}).items()},
        )


@dataclass(frozen=True)
class PoolItem:
    """A profile of a pool Scan: the model (only the attributes asked for), its key in the
    by_email index, and its send counter when it was read."""

    profile: Profile
    key: dict[str, Any]
    alert_seq: int = 0


@dataclass(frozen=True)
class PoolPage:
    items: list[PoolItem]
    last_key: dict[str, Any] | None  # None: the segment's last page


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
            LIST_KEY: LIST_PARTITION,
            LIST_ORDER: list_order(created_at, campaign_id),
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
        self,
        campaign_id: str,
        status: str,
        *,
        allowed_from: tuple[str, ...],
        now: datetime,
        paused_from: str | None = None,
        unless_done: bool = False,
    ) -> bool:
        """Move the campaign to ``status`` if it is in one of ``allowed_from``; False when it
        was not (another caller moved it first). ``paused_from``: the status a pause
        remembers (removed by any other move); ``unless_done``: not when the campaign is
        launched and every message and deferred recipient is done (the view's "sent")."""
        values: dict[str, Any] = {":s": {"S": status}, ":now": {"S": now.isoformat()}}
        for i, name in enumerate(allowed_from):
            values[f":f{i}"] = {"S": name}
        allowed = ", ".join(f":f{i}" for i in range(len(allowed_from)))
        update = "SET #s = :s, status_at = :now"
        if status in ("scheduled", "launching"):
            update += ", launched_at = if_not_exists(launched_at, :now)"
        if paused_from is not None:
            update += ", paused_from = :from"
            values[":from"] = {"S": paused_from}
        else:
            update += " REMOVE paused_from"
        condition = f"attribute_exists(pk) AND #s IN ({allowed})"
        if unless_done:
            condition += (
                " AND NOT (#s = :launched AND messages_done >= messages AND waiting <= :zero)"
            )
            values[":launched"] = {"S": "launched"}
            values[":zero"] = {"N": "0"}
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression=update,
                ConditionExpression=condition,
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
        expected_messages: int,
        cursor: str | None,
        queued: int,
        scanned: int,
        messages: int,
        pages: int,
        now: datetime,
    ) -> None:
        """After candidates are on the queue: where to go on from (the by_email key of the
        last profile queued, or of the last page read; no cursor: the fan-out is done), and
        what was queued, scanned and read since the last save. Conditional on the message
        count being ``expected_messages``, so that two fan-outs of one campaign (a launch
        called again while one runs) cannot both count the same messages: the one that loses
        gets ConcurrencyError and stops; and on the status being ``launching``, so that a
        fan-out never saves (nor marks launched) a campaign paused or cancelled meanwhile: it
        gets ConcurrencyError too, and resume goes on from the last cursor saved."""
        names = {"#p": "fanout_pages", "#q": "queued", "#n": "scanned", "#m": "messages"}
        values: dict[str, Any] = {
            ":p": {"N": str(pages)},
            ":q": {"N": str(queued)},
            ":n": {"N": str(scanned)},
            ":m": {"N": str(messages)},
            ":now": {"S": now.isoformat()},
            ":expected": {"N": str(expected_messages)},
            ":launching": {"S": "launching"},
        }
        names["#s"] = "status"
        if cursor:
            update = "SET fanout_cursor = :c, fanout_at = :now ADD #p :p, #q :q, #n :n, #m :m"
            values[":c"] = {"S": cursor}
        else:
            update = (
                "SET #s = :done, fanout_at = :now, fanout_finished_at = :now "
                "REMOVE fanout_cursor ADD #p :p, #q :q, #n :n, #m :m"
            )
            values[":done"] = {"S": "launched"}
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #m = :expected AND #s = :launching",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConcurrencyError(
                    "another fan-out of this campaign saved these messages, or it was paused "
                    "or cancelled"
                ) from exc
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

    def status_of(self, campaign_id: str) -> str | None:
        """The campaign's stored status now (a consistent read of that attribute only)."""
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                ConsistentRead=True,
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "status"},
            )
        except ClientError as exc:
            raise StorageError("reading a campaign's status failed") from exc
        item = resp.get("Item")
        return str(item["status"]["S"]) if item and "status" in item else None

    # -- the list (GSI campaigns_by_created) ------------------------------------------------

    def list_campaigns(
        self,
        *,
        before: str | None,
        limit: int,
        keep: Callable[[CampaignRecord], bool] = lambda _record: True,
        max_read: int = 1000,
    ) -> tuple[list[CampaignRecord], str | None]:
        """Up to ``limit`` campaigns that ``keep``, newest first, from right after the list
        position ``before`` (None: the newest); and the position to go on from (None: the
        end of the list). Reads at most about ``max_read`` campaigns a call: a rare status
        answers fewer than ``limit`` and a position to go on from. The index is eventually
        consistent: a campaign created a moment ago may not be listed yet."""
        found: list[CampaignRecord] = []
        read = 0
        position = before
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": LIST_INDEX,
            "ScanIndexForward": False,
        }
        while True:
            names = {"#k": LIST_KEY}
            values: dict[str, Any] = {":k": {"S": LIST_PARTITION}}
            condition = "#k = :k"
            if position is not None:
                condition += " AND #o < :o"
                names["#o"] = LIST_ORDER
                values[":o"] = {"S": position}
            want = min(100, max(limit - len(found), 1) + 1, max_read - read + 1)
            try:
                resp = self.ddb.query(
                    **kwargs,
                    KeyConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    Limit=want,
                )
            except ClientError as exc:
                raise StorageError("listing the campaigns failed") from exc
            items = resp.get("Items", [])
            more = "LastEvaluatedKey" in resp
            for index, item in enumerate(items):
                record = CampaignRecord.from_item(item)
                position = str(item[LIST_ORDER]["S"])
                read += 1
                if keep(record):
                    found.append(record)
                rest = index + 1 < len(items) or more
                if len(found) >= limit or read >= max_read:
                    return found, position if rest else None
            if not more:
                return found, None

    # -- pages parked while paused ----------------------------------------------------------

    def park(self, campaign_id: str, *, page: int, body: str, now: datetime) -> bool:
        """Keep a page message of a paused campaign on the campaign (resume queues it again):
        one transaction with the check that the campaign is still paused. False when it is
        not (resumed or cancelled meanwhile): nothing was written."""
        item = {
            "pk": campaign_pk(campaign_id),
            "sk": parked_sk(page, body),
            "body": body,
            "parked_at": now.isoformat(),
            "expires_at": int((now + PARKED_TTL).timestamp()),
        }
        try:
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": self._key(campaign_id),
                            "ConditionExpression": "#s = :paused",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {":paused": {"S": "paused"}},
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": to_item(item)}},
                ]
            )
        except ClientError as exc:
            if "ConditionalCheckFailed" in cancellation_codes(exc):
                return False
            raise StorageError("parking a paused campaign's page failed") from exc
        return True

    def parked(self, campaign_id: str) -> list[tuple[str, str]]:
        """The parked messages of the campaign: (sort key, body), in page order."""
        found = query_all(
            self.ddb,
            "reading a campaign's parked pages",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={
                ":pk": {"S": campaign_pk(campaign_id)},
                ":p": {"S": PARKED_PREFIX},
            },
            ConsistentRead=True,
        )
        return [(str(item["sk"]), str(item["body"])) for item in found]

    def remove_parked(self, campaign_id: str, sks: list[str]) -> None:
        pk = campaign_pk(campaign_id)
        requests = [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for sk in sks]
        if requests:
            batch_write(self.ddb, self.table, requests, what="removing parked pages")

    # -- the preview (campaigns.preview_job) ------------------------------------------------

    def start_preview(
        self,
        campaign_id: str,
        *,
        run: str,
        replaces: str | None,
        started_at: datetime,
        at: datetime,
        segments: int,
    ) -> bool:
        """Make ``run`` the campaign's preview, running, if the last one is still
        ``replaces`` (None: there was none); False when another caller started one first."""
        values: dict[str, Any] = {
            ":run": {"S": run},
            ":running": {"S": "running"},
            ":t": {"S": started_at.isoformat()},
            ":at": {"S": at.isoformat()},
            ":n": {"N": str(segments)},
            ":empty": {"M": {}},
        }
        if replaces is None:
            condition = "attribute_exists(pk) AND attribute_not_exists(preview_run)"
        else:
            condition = "attribute_exists(pk) AND preview_run = :old"
            values[":old"] = {"S": replaces}
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression=(
                    "SET preview_run = :run, preview_state = :running, preview_started_at = :t, "
                    "preview_at = :at, preview_segments = :n, preview_progress = :empty "
                    "REMOVE preview_done, preview_finished_at"
                ),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("starting a campaign preview failed") from exc
        if replaces is not None:
            self._delete([(campaign_pk(campaign_id), preview_sk(replaces))])
        return True

    def preview_progress(self, campaign_id: str, run: str, segment: int, scanned: int) -> bool:
        """Profiles segment ``segment`` of ``run`` has scanned so far (SET, not ADD: a
        message delivered again counts its profiles once); False when ``run`` is no longer
        the campaign's preview."""
        update = "SET preview_progress.#s = :n"
        found = self._preview_update(
            campaign_id, run, update, segment=segment, scanned=scanned, last=None
        )
        return found is not None

    def finish_preview_part(
        self,
        campaign_id: str,
        run: str,
        *,
        segment: int,
        chunk: int,
        part: Mapping[str, Any],
        scanned: int,
        last: bool,
        expires_at: datetime,
    ) -> PreviewState | None:
        """Store what chunk ``chunk`` of segment ``segment`` found; with ``last``, count the
        segment done (a set: a message delivered again adds it once). The preview's state
        after it, or None when ``run`` is no longer the campaign's preview."""
        item = {
            "pk": campaign_pk(campaign_id),
            "sk": preview_part_sk(run, segment, chunk),
            "part": json.dumps(part, separators=(",", ":")),
            "expires_at": int(expires_at.timestamp()),
        }
        try:
            self.ddb.put_item(TableName=self.table, Item=to_item(item))
        except ClientError as exc:
            raise StorageError("storing a preview's segment failed") from exc
        update = "SET preview_progress.#s = :n" + (" ADD preview_done :seg" if last else "")
        return self._preview_update(
            campaign_id, run, update, segment=segment, scanned=scanned, last=last
        )

    def _preview_update(
        self,
        campaign_id: str,
        run: str,
        update: str,
        *,
        segment: int,
        scanned: int,
        last: bool | None,
    ) -> PreviewState | None:
        values: dict[str, Any] = {":run": {"S": run}, ":n": {"N": str(scanned)}}
        if last:
            values[":seg"] = {"NS": [str(segment)]}
        try:
            resp = self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression=update,
                ConditionExpression="preview_run = :run",
                ExpressionAttributeNames={"#s": str(segment)},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StorageError("saving a preview's progress failed") from exc
        return PreviewState.from_data(from_item(resp.get("Attributes", {})))

    def preview_parts(self, campaign_id: str, run: str) -> list[tuple[str, dict[str, Any]]]:
        """Every part stored for ``run`` (sort key, part), in segment and chunk order."""
        found = query_all(
            self.ddb,
            "reading a preview's segments",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={
                ":pk": {"S": campaign_pk(campaign_id)},
                ":p": {"S": preview_sk(run) + "#"},
            },
            ConsistentRead=True,
        )
        return [(str(item["sk"]), json.loads(item["part"])) for item in found]

    def save_preview(
        self,
        campaign_id: str,
        run: str,
        result: Mapping[str, Any],
        *,
        parts: list[str],
        now: datetime,
        expires_at: datetime,
    ) -> bool:
        """Store the merged result of ``run``, mark the preview done and remove its parts.
        False when ``run`` is no longer the campaign's preview (its result is removed)."""
        pk = campaign_pk(campaign_id)
        item = {
            "pk": pk,
            "sk": preview_sk(run),
            "result": json.dumps(result, separators=(",", ":"), default=str),
            "expires_at": int(expires_at.timestamp()),
        }
        try:
            self.ddb.put_item(TableName=self.table, Item=to_item(item))
            self.ddb.update_item(
                TableName=self.table,
                Key=self._key(campaign_id),
                UpdateExpression="SET preview_state = :done, preview_finished_at = :t",
                ConditionExpression="preview_run = :run",
                ExpressionAttributeValues={
                    ":run": {"S": run},
                    ":done": {"S": "done"},
                    ":t": {"S": now.isoformat()},
                },
            )
            saved = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StorageError("storing a preview failed") from exc
            saved = False
        gone = [(pk, sk) for sk in parts] + ([] if saved else [(pk, preview_sk(run))])
        self._delete(gone)
        return saved

    def preview_result(self, campaign_id: str, run: str) -> dict[str, Any] | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": campaign_pk(campaign_id)}, "sk": {"S": preview_sk(run)}},
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise StorageError("reading a preview failed") from exc
        item = resp.get("Item")
        return json.loads(item["result"]["S"]) if item else None

    def _delete(self, keys: list[tuple[str, str]]) -> None:
        requests = [
            {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in keys
        ]
        if requests:
            batch_write(self.ddb, self.table, requests, what="removing preview items")

    # -- the pool ---------------------------------------------------------------------------

    def pool_page(
        self, start_key: dict[str, Any] | None, limit: int | None = None
    ) -> tuple[list[LoadedProfile], dict[str, Any] | None]:
        """One page of the addressable pool (a Scan of the by_email index, every attribute):
        the profiles and the key to go on from (None: the last page)."""
        page = self.pool_scan(start_key=start_key, limit=limit, attributes=None)
        return [LoadedProfile(p.profile, p.alert_seq) for p in page.items], page.last_key

    def pool_scan(
        self,
        *,
        start_key: dict[str, Any] | None = None,
        segment: int = 0,
        segments: int = 1,
        limit: int | None = None,
        attributes: tuple[str, ...] | None = DECISION_ATTRIBUTES,
    ) -> PoolPage:
        """One page of segment ``segment`` of ``segments`` of the addressable pool (a parallel
        Scan of the by_email index), with only ``attributes`` of each profile (None: all;
        a name may be a document path, ``fields.country``) and
        the index key of each (a cursor can resume right after any item). No ``limit``: the
        page is DynamoDB's 1 MB."""
        kwargs: dict[str, Any] = {"TableName": self.table, "IndexName": POOL_INDEX}
        if segments > 1:
            kwargs["Segment"] = segment
            kwargs["TotalSegments"] = segments
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        if attributes is not None:
            # A name may be a document path (fields.country): each of its parts aliased.
            aliases: dict[str, str] = {}
            paths = []
            for path in dict.fromkeys((*INDEX_KEY, *attributes)):
                parts = []
                for part in path.split("."):
                    alias = next((a for a, n in aliases.items() if n == part), None)
                    if alias is None:
                        alias = f"#a{len(aliases)}"
                        aliases[alias] = part
                    parts.append(alias)
                paths.append(".".join(parts))
            kwargs["ProjectionExpression"] = ", ".join(paths)
            kwargs["ExpressionAttributeNames"] = aliases
        try:
            resp = self.ddb.scan(**kwargs)
        except ClientError as exc:
            raise StorageError("reading the talent pool failed") from exc
        items = []
        for item in resp.get("Items", []):
            if item.get("sk", {}).get("S") != "PROFILE":
                continue
            key = {name: item[name] for name in INDEX_KEY if name in item}
            seq = int(item.get("alert_seq", {}).get("N", "0"))
            data = from_item({k: v for k, v in item.items() if k not in _NOT_PROFILE})
            items.append(PoolItem(Profile.model_validate(data), key, seq))
        return PoolPage(items, resp.get("LastEvaluatedKey"))

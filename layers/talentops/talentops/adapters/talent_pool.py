"""The talent pool table: one partition per candidate.

  pk=CAND#<id>  sk=PROFILE                  fields (value, source, observed_at), consent,
                                            recent sends, behaviours, version, alert_seq,
                                            matching keys (below)
  pk=CAND#<id>  sk=CONSENT#<at>#<purpose>#n append-only consent history (proof of consent)
  pk=CAND#<id>  sk=DECISION#<decision id>   decision record; its conditional put is the
                                            durable dedupe of the send ledger
  pk=ALIAS#<kind>#<value> sk=ALIAS          email / ref -> candidate id (unique, consistent);
                                            kind "id": a candidate merged into another

Indexes:
  by_email      email_norm                         projection ALL: a trigger that names a
                                                   candidate by address reads it in one query
  by_role_city  match_city (role_family#city key), KEYS_ONLY: the job-alert pool of a local
                match_level (seniority level)      job, a band of levels, page by page
  by_role       match_role (role_family),          KEYS_ONLY: the pool of a remote job
                match_level

The matching keys are sparse: ingest writes them only on profiles that could receive a job
alert at all (an address, role family and seniority, not suppressed, job alerts not
withdrawn), so a fan-out reads exactly the candidates of the right role family, city and
seniority band and never Scans. Consent regime, cap and freshness are decided per candidate
at send time. A trigger reads one item and writes one transaction.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ConcurrencyError, DuplicateError, StorageError
from ..models.events import SENIORITY_LEVELS, CandidateRef, normalize_email
from ..models.state import ConsentState, Decision, Profile, SentRecord
from .aws import client
from .dynamo import batch_write, cancellation_codes, from_item, query_all, to_item, to_value

PROFILE_SK = "PROFILE"
INDEX_ROLE_CITY = "by_role_city"
INDEX_ROLE = "by_role"
INDEX_LEASE = "by_lease"  # sparse: unresolved send claims (lease_shard, lease_until)
MATCH_ATTRIBUTES = ("match_city", "match_role", "match_level")
TRANSACTION_LIMIT = 100  # items per TransactWriteItems
BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def cand_pk(candidate_id: str) -> str:
    return f"CAND#{candidate_id}"


def alias_pk(kind: str, value: str) -> str:
    return f"ALIAS#{kind}#{value}"


def city_key(city: str) -> str:
    """The form under which cities match: accents dropped, case folded, spaces collapsed
    ("  Zürich " and "zurich" are one city; "Munich" and "München" are not)."""
    decomposed = unicodedata.normalize("NFKD", city)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def match_attributes(profile: Profile) -> dict[str, Any]:
    """The job-alert matching keys of a profile, or {} when it cannot get a job alert at all
    (then the index leaves it out)."""
    role = profile.value("role_family")
    seniority = profile.value("seniority")
    consent = profile.consent.get("job_alerts")
    if (
        not role
        or seniority not in SENIORITY_LEVELS
        or not profile.email
        or profile.suppressed
        or (consent is not None and consent.status == "withdrawn")
    ):
        return {}
    keys: dict[str, Any] = {
        "match_role": str(role),
        "match_level": SENIORITY_LEVELS.index(str(seniority)),
    }
    city = profile.value("city")
    if city and city_key(str(city)):
        keys["match_city"] = f"{role}#{city_key(str(city))}"
    return keys


@dataclass
class LoadedProfile:
    """A profile as read for a fan-out: the model and the counters its claim conditions on."""

    profile: Profile
    alert_seq: int = 0


@dataclass
class Claim:
    """One candidate's claim in a batch: the decision record, and for a send the trace on the
    profile, conditional on the profile being as it was read."""

    decision: Decision
    sent: SentRecord | None
    expected_version: int
    alert_seq: int
    lease: dict[str, Any] | None = None  # a send's lease and message (delivery.leases)
    prune: Sequence[str] = ()  # traces of the ledger to remove (delivery.ledger)


@dataclass
class OpenClaim:
    """A claimed send not yet recorded sent or failed: its decision, lease and message."""

    decision: Decision
    lease_until: datetime | None
    raw: bytes | None
    accepted: str | None  # SES's message id, when its Send event was recorded


@dataclass
class ProfileWrite:
    """One profile of a bulk write, as save_profile would write it."""

    profile: Profile
    expected_version: int
    new_aliases: list[tuple[str, str]] = field(default_factory=list)
    consent_history: list[tuple[str, ConsentState]] = field(default_factory=list)


@dataclass
class ClaimResult:
    claimed: list[Claim] = field(default_factory=list)
    duplicates: list[Claim] = field(default_factory=list)  # decided before (the dedupe held)
    conflicts: list[Claim] = field(default_factory=list)  # the profile changed since read


class DecidedBeforeError(DuplicateError):
    """This fact was decided for this candidate before: the record found, as the failed
    conditional write returned it (None when DynamoDB did not)."""

    def __init__(self, decision_id: str, item: dict[str, Any] | None):
        super().__init__(decision_id)
        self.item = item


class IdentityConflictError(StorageError):
    """An alias (email or ref) already belongs to another candidate."""

    code = "identity_conflict"


class TalentPoolRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    # -- reads -----------------------------------------------------------------------------

    def get_profile(self, candidate_id: str, *, consistent: bool = True) -> Profile | None:
        try:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}},
                ConsistentRead=consistent,
            )
        except ClientError as exc:
            raise StorageError("reading a profile failed") from exc
        item = resp.get("Item")
        return profile_from_item(item) if item else None

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

    def find_by_email(self, email_norm: str) -> Profile | None:
        """One read through the by_email index (eventually consistent)."""
        try:
            resp = self.ddb.query(
                TableName=self.table,
                IndexName="by_email",
                KeyConditionExpression="email_norm = :e",
                ExpressionAttributeValues={":e": {"S": email_norm}},
                Limit=1,
            )
        except ClientError as exc:
            raise StorageError("querying by email failed") from exc
        items = resp.get("Items", [])
        return profile_from_item(items[0]) if items else None

    def resolve(self, ref: CandidateRef) -> Profile | None:
        """By id, else by ref, else by normalized email (CONTRACT.md section 1). An id that
        was merged into another candidate resolves to the survivor (one more read, only
        then)."""
        if ref.id:
            found = self.get_profile(ref.id, consistent=False)
            if found is None:
                survivor = self.alias_owner("id", ref.id)
                if survivor:
                    return self.get_profile(survivor, consistent=False)
            return found
        if ref.ref:
            owner = self.alias_owner("ref", ref.ref)
            if owner:
                return self.get_profile(owner, consistent=False)
        if ref.email_normalized:
            found = self.find_by_email(ref.email_normalized)
            if found:
                return found
            owner = self.alias_owner("email", ref.email_normalized)
            if owner:
                return self.get_profile(owner)
        return None

    def resolve_id(self, ref: CandidateRef) -> str | None:
        """Strongly consistent resolution to an id (for writers)."""
        if ref.id:
            if self.get_profile(ref.id):
                return ref.id
            return self.alias_owner("id", ref.id)
        if ref.ref:
            owner = self.alias_owner("ref", ref.ref)
            if owner:
                return owner
        if ref.email_normalized:
            return self.alias_owner("email", ref.email_normalized)
        return None

    def _query_partition(self, candidate_id: str, prefix: str) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": cand_pk(candidate_id)}, ":p": {"S": prefix}},
        }
        yield from query_all(self.ddb, "querying a candidate", **kwargs)

    def consent_history(self, candidate_id: str) -> list[dict[str, Any]]:
        return [_strip_keys(i) for i in self._query_partition(candidate_id, "CONSENT#")]

    def decisions(self, candidate_id: str) -> list[Decision]:
        return [
            Decision.model_validate(_strip_keys(i))
            for i in self._query_partition(candidate_id, "DECISION#")
        ]

    def get_decision(self, candidate_id: str, decision_id: str) -> Decision | None:
        resp = self.ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return Decision.model_validate(_strip_keys(from_item(item))) if item else None

    # -- writes ----------------------------------------------------------------------------

    def _profile_update(
        self,
        profile: Profile,
        expected_version: int,
        *,
        map_entries: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The conditional Update of a profile item (optimistic versioning), with its
        by_email and matching index keys kept in step with its fields. ``map_entries`` adds
        entries to the ``recent`` / ``behaviours`` maps key by key (an identity merge), so
        that entries written meanwhile by a send are kept."""
        pk = cand_pk(profile.candidate_id)
        data = profile.model_dump(mode="json")
        email = profile.email
        names = {
            "#f": "fields",
            "#c": "consent",
            "#v": "version",
            "#a": "aliases",
            "#s": "suppressed",
            "#id": "candidate_id",
            "#r": "recent",
            "#b": "behaviours",
            "#ca": "created_at",
        }
        values = {
            ":f": to_value(data["fields"]),
            ":c": to_value(data["consent"]),
            ":nv": {"N": str(expected_version + 1)},
            ":a": to_value(data["aliases"]),
            ":s": {"BOOL": profile.suppressed},
            ":id": {"S": profile.candidate_id},
            ":empty": {"M": {}},
            ":ca": {"S": data["created_at"] or ""},
        }
        sets = [
            "#f = :f",
            "#c = :c",
            "#v = :nv",
            "#a = :a",
            "#s = :s",
            "#id = :id",
            "#ca = if_not_exists(#ca, :ca)",
        ]
        for attribute, name in (("recent", "#r"), ("behaviours", "#b")):
            entries = (map_entries or {}).get(attribute)
            if not entries:
                sets.append(f"{name} = if_not_exists({name}, :empty)")
                continue
            for i, (key, value) in enumerate(sorted(entries.items())):
                names[f"{name}{i}"] = key
                values[f":{name[1:]}{i}"] = to_value(value)
                sets.append(f"{name}.{name}{i} = :{name[1:]}{i}")
        removes = []
        if email:
            sets.append("email_norm = :e")
            values[":e"] = {"S": normalize_email(email)}  # the form lookups use
        else:
            removes.append("email_norm")
        keys = match_attributes(profile)
        for attribute in MATCH_ATTRIBUTES:
            if attribute in keys:
                sets.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = to_value(keys[attribute])
            else:
                removes.append(attribute)
        update = "SET " + ", ".join(sets)
        if removes:
            update += " REMOVE " + ", ".join(removes)
        if expected_version == 0:
            condition = "attribute_not_exists(pk)"
            # A new candidate has no journeys yet: counted from here (adapters/journeys.py).
            update = update.replace("SET ", "SET journey_items = :zero, ", 1)
            values[":zero"] = {"N": "0"}
        else:
            condition = "#v = :ev"
            values[":ev"] = {"N": str(expected_version)}
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

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

    def _consent_put(self, candidate_id: str, purpose: str, state: ConsentState) -> dict[str, Any]:
        # The key is the fact itself, so a redelivered fact rewrites its own record.
        record = state.model_dump(mode="json")
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(
                    {
                        "pk": cand_pk(candidate_id),
                        "sk": f"CONSENT#{record['observed_at']}#{purpose}#{state.status}",
                        "purpose": purpose,
                        **record,
                    }
                ),
            }
        }

    def _profile_items(
        self,
        profile: Profile,
        expected_version: int,
        new_aliases: Sequence[tuple[str, str]],
        consent_history: Sequence[tuple[str, ConsentState]],
    ) -> list[dict[str, Any]]:
        items = [self._profile_update(profile, expected_version)]
        items += [self._alias_put(k, v, profile.candidate_id) for k, v in new_aliases]
        items += [self._consent_put(profile.candidate_id, p, c) for p, c in consent_history]
        return items

    def save_profile(
        self,
        profile: Profile,
        *,
        expected_version: int,
        new_aliases: list[tuple[str, str]] = (),  # type: ignore[assignment]
        consent_history: list[tuple[str, ConsentState]] = (),  # type: ignore[assignment]
    ) -> None:
        """Write the profile if nobody else did since it was read (optimistic versioning),
        with its new aliases and consent history, in one transaction."""
        items = self._profile_items(profile, expected_version, new_aliases, consent_history)
        try:
            self.ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise ConcurrencyError("profile changed since it was read") from exc
            if "ConditionalCheckFailed" in codes:
                raise IdentityConflictError("an alias belongs to another candidate") from exc
            if (
                exc.response.get("Error", {}).get("Code") == "TransactionCanceledException"
                and "TransactionConflict" in codes
            ):
                raise ConcurrencyError("concurrent transaction on the profile") from exc
            raise StorageError("writing a profile failed") from exc

    def save_profiles(self, entries: Sequence[ProfileWrite]) -> list[int]:
        """Write many profiles (bulk import) in as few transactions as fit: each entry as
        save_profile would write it. Returns the indexes of the entries that could not be
        written because a condition failed (the profile changed since read, or an alias
        belongs to another candidate): the caller takes those through the one-by-one path.
        Entries of a cancelled transaction whose own conditions held are written again."""
        failed: list[int] = []
        pending = list(range(len(entries)))
        attempts = 0
        while pending:
            group: list[int] = []
            items: list[dict[str, Any]] = []
            spans: list[tuple[int, int]] = []
            for index in pending:
                entry = entries[index]
                entry_items = self._profile_items(
                    entry.profile, entry.expected_version, entry.new_aliases, entry.consent_history
                )
                if len(entry_items) > TRANSACTION_LIMIT:
                    failed.append(index)  # too many aliases / records: one-by-one path
                    continue
                if len(items) + len(entry_items) > TRANSACTION_LIMIT:
                    break
                spans.append((len(items), len(items) + len(entry_items)))
                items += entry_items
                group.append(index)
            done = set(group) | set(failed)
            pending = [i for i in pending if i not in done]
            if not items:
                continue
            try:
                self.ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                codes = cancellation_codes(exc)
                if not codes:
                    raise StorageError("writing profiles failed") from exc
                retry = []
                for index, (lo, hi) in zip(group, spans, strict=True):
                    if "ConditionalCheckFailed" in codes[lo:hi]:
                        failed.append(index)
                    else:
                        retry.append(index)
                if "ConditionalCheckFailed" not in codes:
                    attempts += 1
                    if attempts > 8:
                        raise StorageError(
                            "writing profiles: transactions kept conflicting"
                        ) from exc
                    time.sleep(min(0.02 * 2**attempts, 1.0))
                pending = retry + pending
        return sorted(failed)

    def record_decision(
        self,
        decision: Decision,
        *,
        sent: SentRecord | None,
        behaviour: tuple[str, dict[str, Any]] | None,
        send_seq: int | None = None,
        lease: dict[str, Any] | None = None,
        prune: Sequence[str] = (),
    ) -> None:
        """The durable dedupe: put the decision if this fact was never decided for this
        candidate, and note the send and the behaviour on the profile, in one request.
        ``send_seq``: the profile's send counter as read; a send's trace is then written only
        if no other send changed the profile's traces since (ConcurrencyError: read again and
        decide again), and the counter moves on. ``prune``: traces of the ledger that fell
        out of its window (delivery.ledger), removed in the same write (only with a send and
        its counter: the traces removed are those read)."""
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        record = decision.model_dump(mode="json")
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **to_item({"pk": pk, "sk": f"DECISION#{decision.decision_id}", **record}),
                        **(lease or {}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                    # A duplicate gets the record it met back: no read to find it.
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        sets, names, values = [], {}, {}
        if sent is not None:
            sets.append("#r.#k = :r")
            names.update({"#r": "recent", "#k": decision.decision_id})
            values[":r"] = to_value(sent.model_dump(mode="json"))
        if behaviour is not None:
            sets.append("#b.#bk = :b")
            names.update({"#b": "behaviours", "#bk": behaviour[0]})
            values[":b"] = to_value(behaviour[1])
        condition = "attribute_exists(pk)"
        update = "SET " + ", ".join(sets) if sets else ""
        if sent is not None and send_seq is not None:
            update += _removals([k for k in prune if k != decision.decision_id], names)
            update += " ADD alert_seq :one"
            values[":one"] = {"N": "1"}
            if send_seq:
                condition += " AND alert_seq = :seq"
                values[":seq"] = {"N": str(send_seq)}
            else:
                condition += " AND attribute_not_exists(alert_seq)"
        if sets:
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": update,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            if len(items) == 1:
                self.ddb.put_item(**items[0]["Put"])
            else:
                self.ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            codes = cancellation_codes(exc)
            if code == "ConditionalCheckFailedException" or (
                codes and codes[0] == "ConditionalCheckFailed"
            ):
                reasons = exc.response.get("CancellationReasons") or [exc.response]
                found = reasons[0].get("Item")
                raise DecidedBeforeError(decision.decision_id, found) from exc
            if "ConditionalCheckFailed" in codes:
                if send_seq is not None and sent is not None:
                    raise ConcurrencyError("the profile's sends changed since it was read") from exc
                raise StorageError("the candidate was removed while deciding") from exc
            if "TransactionConflict" in codes:
                raise ConcurrencyError("a concurrent transaction on the profile") from exc
            raise StorageError("recording a decision failed") from exc

    def record_behaviour(self, candidate_id: str, kind: str, value: dict[str, Any]) -> None:
        """Note what the candidate did (``behaviours.<kind>``: at, subject_id, event_id) on the
        profile. The caller passes only a fact newer than the one held."""
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}},
                UpdateExpression="SET #b.#k = :v",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#b": "behaviours", "#k": kind},
                ExpressionAttributeValues={":v": to_value(value)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # the candidate was erased meanwhile
            raise StorageError("recording a behaviour failed") from exc

    def release_decision(self, decision: Decision) -> None:
        """Undo a claim whose send failed, so that the retry can send."""
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        try:
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": {
                                "pk": {"S": pk},
                                "sk": {"S": f"DECISION#{decision.decision_id}"},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                            "UpdateExpression": "REMOVE #r.#k ADD alert_seq :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeNames": {
                                "#r": "recent",
                                "#k": decision.decision_id,
                            },
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if "ConditionalCheckFailed" in cancellation_codes(exc):
                return  # the candidate was erased meanwhile
            raise StorageError("releasing a claim failed") from exc

    # -- batches (job alerts, bulk import) --------------------------------------------------

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
                    raise StorageError("reading items in a batch failed") from exc
                found += resp.get("Responses", {}).get(self.table, [])
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.02 * 2**attempt, 1.0))
            else:
                raise StorageError("reading items in a batch: DynamoDB left keys unprocessed")
        return found

    def get_profiles(self, candidate_ids: Sequence[str]) -> dict[str, LoadedProfile]:
        """Profiles by id, 100 a request, strongly consistent; absent ids are left out."""
        items = self.get_items([(cand_pk(c), PROFILE_SK) for c in candidate_ids], True)
        loaded: dict[str, LoadedProfile] = {}
        for item in items:
            profile = profile_from_item(item)
            seq = int(item.get("alert_seq", {}).get("N", "0"))
            loaded[profile.candidate_id] = LoadedProfile(profile, seq)
        return loaded

    def alias_owners(self, aliases: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(kind, value) -> candidate id for the aliases that exist, 100 a request."""
        items = self.get_items([(alias_pk(k, v), "ALIAS") for k, v in aliases], True)
        owners: dict[tuple[str, str], str] = {}
        for item in items:
            _, kind, value = item["pk"]["S"].split("#", 2)
            owners[(kind, value)] = item["candidate_id"]["S"]
        return owners

    def get_decisions(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Decision]:
        """Decision records by (candidate id, decision id), keyed by decision id."""
        items = self.get_items([(cand_pk(c), f"DECISION#{d}") for c, d in pairs], True)
        return {
            i["sk"]["S"].removeprefix("DECISION#"): Decision.model_validate(
                _strip_keys(from_item(i))
            )
            for i in items
        }

    def matching_page(
        self,
        *,
        index: str,
        partition: str,
        levels: tuple[int, int],
        start_key: dict[str, Any] | None,
        limit: int,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """One page of the matching index: candidate ids of one partition (role family and
        city, or role family) within a band of seniority levels, and the key to go on from."""
        attribute = "match_city" if index == INDEX_ROLE_CITY else "match_role"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p AND match_level BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#p": attribute},
            "ExpressionAttributeValues": {
                ":p": {"S": partition},
                ":lo": {"N": str(levels[0])},
                ":hi": {"N": str(levels[1])},
            },
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        try:
            resp = self.ddb.query(**kwargs)
        except ClientError as exc:
            raise StorageError("reading the matching index failed") from exc
        ids = [
            i["pk"]["S"].removeprefix("CAND#")
            for i in resp.get("Items", [])
            if i["pk"]["S"].startswith("CAND#")
        ]
        return ids, resp.get("LastEvaluatedKey")

    def _claim_items(self, claim: Claim) -> list[dict[str, Any]]:
        decision = claim.decision
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **to_item(
                            {
                                "pk": pk,
                                "sk": f"DECISION#{decision.decision_id}",
                                **decision.model_dump(mode="json"),
                            }
                        ),
                        **(claim.lease or {}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if claim.sent is not None:
            values: dict[str, Any] = {
                ":r": to_value(claim.sent.model_dump(mode="json")),
                ":one": {"N": "1"},
                ":v": {"N": str(claim.expected_version)},
            }
            if claim.alert_seq:
                seq_condition = "alert_seq = :s"
                values[":s"] = {"N": str(claim.alert_seq)}
            else:
                seq_condition = "attribute_not_exists(alert_seq)"
            names = {"#r": "recent", "#k": decision.decision_id, "#v": "version"}
            removals = _removals([k for k in claim.prune if k != decision.decision_id], names)
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": f"SET #r.#k = :r{removals} ADD alert_seq :one",
                        "ConditionExpression": f"#v = :v AND {seq_condition}",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return items

    def claim_decisions(self, claims: Sequence[Claim]) -> ClaimResult:
        """The durable dedupe of a batch: each decision record is put only if this fact was
        never decided for this candidate, and each send's trace goes on its profile only if
        the profile is as it was read (its version and its send counter), so that two
        fan-outs cannot both use a candidate's last alert of the week. Up to 100 items a
        transaction; a cancelled transaction names the items that failed their condition
        (CancellationReasons): those are sorted out, the rest is written again."""
        result = ClaimResult()
        pending = list(claims)
        attempts = 0
        while pending:
            group: list[Claim] = []
            items: list[dict[str, Any]] = []
            spans: list[tuple[int, int]] = []
            for claim in pending:
                claim_items = self._claim_items(claim)
                if len(items) + len(claim_items) > TRANSACTION_LIMIT:
                    break
                spans.append((len(items), len(items) + len(claim_items)))
                items += claim_items
                group.append(claim)
            pending = pending[len(group) :]
            try:
                self.ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                codes = cancellation_codes(exc)
                if not codes:
                    raise StorageError("claiming decisions failed") from exc
                retry: list[Claim] = []
                for claim, (lo, hi) in zip(group, spans, strict=True):
                    own = codes[lo:hi]
                    if own[0] == "ConditionalCheckFailed":
                        result.duplicates.append(claim)
                    elif "ConditionalCheckFailed" in own:
                        result.conflicts.append(claim)
                    else:
                        retry.append(claim)
                if "ConditionalCheckFailed" not in codes:
                    attempts += 1
                    if attempts > 8:
                        raise StorageError(
                            "claiming decisions: transactions kept conflicting"
                        ) from exc
                    time.sleep(min(0.02 * 2**attempts, 1.0))
                pending = retry + pending
                continue
            result.claimed += group
        return result

    def complete_decisions(self, decisions: Sequence[Decision]) -> None:
        """Record the outcome of claimed sends (status sent or failed), up to 100 a
        transaction. Each write is conditional on its claim, as ``complete_decision`` is, so
        that a candidate erased between the claim and this write stays erased; a transaction
        that one erasure cancels is redone item by item."""
        items = [_completion(self.table, d) for d in decisions]
        for start in range(0, len(items), TRANSACTION_LIMIT):
            chunk = decisions[start : start + TRANSACTION_LIMIT]
            try:
                self.ddb.transact_write_items(
                    TransactItems=items[start : start + TRANSACTION_LIMIT]
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise StorageError("recording sends failed") from exc
                for decision in chunk:
                    self.complete_decision(decision)

    # -- leases (delivery.leases) ---------------------------------------------------------

    def decision_or_claim(
        self, candidate_id: str, decision_id: str, item: dict[str, Any] | None = None
    ) -> tuple[Decision | None, OpenClaim | None]:
        """A decision record (``item`` when the caller has it, else one consistent read), and
        its claim when it is a send still unresolved (status decided, with its lease)."""
        if item is None:
            resp = self.ddb.get_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
                ConsistentRead=True,
            )
            item = resp.get("Item")
        if not item:
            return None, None
        claim = _open_claim(item)
        if claim is not None:
            return claim.decision, claim
        data = from_item({k: v for k, v in item.items() if k not in _LEASE_FIELDS})
        return Decision.model_validate(_strip_keys(data)), None

    def open_claim(self, candidate_id: str, decision_id: str) -> OpenClaim | None:
        """The claim of a send still unresolved (status decided), else None."""
        resp = self.ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return _open_claim(item) if item else None

    def expired_claims(self, now: datetime, shards: int, limit: int) -> list[OpenClaim]:
        """Claims whose lease ran out before ``now``, from the sparse by_lease index (only
        unresolved claims carry its keys), at most ``limit``."""
        found: list[OpenClaim] = []
        for shard in range(shards):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": INDEX_LEASE,
                "KeyConditionExpression": "lease_shard = :s AND lease_until < :now",
                "ExpressionAttributeValues": {
                    ":s": {"S": f"L#{shard}"},
                    ":now": {"S": now.isoformat()},
                },
            }
            for key in query_all(self.ddb, "reading expired claims", **kwargs):
                if len(found) >= limit:
                    return found
                pk, sk = (k if isinstance(k, str) else k["S"] for k in (key["pk"], key["sk"]))
                claim = self.open_claim(pk.removeprefix("CAND#"), sk.removeprefix("DECISION#"))
                if claim is not None:
                    found.append(claim)
        return found

    def take_over(self, claim: OpenClaim, until: datetime) -> bool:
        """Extend an expired lease to ``until`` if it is still the one read (one resolver
        wins); False when another resolved or took it meanwhile."""
        decision = claim.decision
        assert claim.lease_until is not None
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={
                    "pk": {"S": cand_pk(str(decision.candidate_id))},
                    "sk": {"S": f"DECISION#{decision.decision_id}"},
                },
                UpdateExpression="SET lease_until = :new",
                ConditionExpression="lease_until = :old AND #st = :open",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":new": {"S": until.isoformat()},
                    ":old": {"S": claim.lease_until.isoformat()},
                    ":open": {"S": "decided"},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError("taking over a claim failed") from exc
        return True

    def complete_decision(self, decision: Decision) -> None:
        """Record one claimed send's outcome (status ``sent``): the lease, the message kept
        for it and the index keys go. Conditional on the claim existing, so that a
        candidate erased meanwhile stays erased."""
        try:
            self.ddb.update_item(**_completion(self.table, decision)["Update"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return  # erased meanwhile
            raise StorageError("recording a send failed") from exc

    def record_accepted(self, candidate_id: str, decision_id: str, message_id: str) -> bool:
        """SES's Send event for a claim still open: what a resolver reads as accepted."""
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": f"DECISION#{decision_id}"}},
                UpdateExpression="SET ses_accepted = :m",
                ConditionExpression="#st = :open",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":m": {"S": message_id}, ":open": {"S": "decided"}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # recorded by its sender already, or no such claim
            raise StorageError("recording an accepted send failed") from exc
        return True

    def fail_decisions(self, decisions: Sequence[Decision]) -> None:
        """Record claimed sends that SES refused for good (status failed) and give their room
        in the contact budget back: the decision record and the removal of its send trace in
        one transaction per candidate (the send counter moves on, as on every change of the
        traces). A candidate erased meanwhile is left erased."""
        for decision in decisions:
            pk = cand_pk(str(decision.candidate_id))
            items = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": f"DECISION#{decision.decision_id}",
                                **decision.model_dump(mode="json"),
                            }
                        ),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": "REMOVE #r.#k ADD alert_seq :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#r": "recent", "#k": decision.decision_id},
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
            try:
                self.ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if "ConditionalCheckFailed" in cancellation_codes(exc):
                    continue  # erased meanwhile
                raise StorageError("recording a refused send failed") from exc

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        batch_write(self.ddb, self.table, requests, what="writing items in a batch")

    def release_claims(self, decisions: Sequence[Decision]) -> None:
        """Undo claims whose send failed (decision record and send trace), so that the retry
        of their batch can send; 50 candidates a transaction."""
        items: list[dict[str, Any]] = []
        for decision in decisions:
            pk = cand_pk(str(decision.candidate_id))
            items.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": f"DECISION#{decision.decision_id}"}},
                    }
                }
            )
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": "REMOVE #r.#k ADD alert_seq :one",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#r": "recent", "#k": decision.decision_id},
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            )
        for start in range(0, len(items), TRANSACTION_LIMIT):
            try:
                self.ddb.transact_write_items(
                    TransactItems=items[start : start + TRANSACTION_LIMIT]
                )
            except ClientError as exc:
                raise StorageError("releasing claims failed") from exc

    # -- identity merge ---------------------------------------------------------------------

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
        Journey instances moved make the survivor's count of them unknown first (a trigger
        then reads its journeys)."""
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

    def forget_journey_count(self, candidate_id: str) -> None:
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}},
                UpdateExpression="REMOVE journey_items",
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StorageError("updating a profile failed") from exc

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


_LEASE_FIELDS = ("lease_until", "lease_shard", "raw", "ses_accepted")


def _removals(prune: Sequence[str], names: dict[str, str]) -> str:
    """`` REMOVE #r.#p0, ...``: the ledger's traces in ``prune`` (``#r`` is ``recent``), their
    names added to ``names``; empty when there is nothing to remove."""
    if not prune:
        return ""
    names["#r"] = "recent"
    names.update({f"#p{i}": key for i, key in enumerate(prune)})
    return " REMOVE " + ", ".join(f"#r.#p{i}" for i in range(len(prune)))


def _completion(table: str, decision: Decision) -> dict[str, Any]:
    """The conditional write that records a claimed send's outcome: every field of the
    decision set, the lease, the message kept for it and the index keys removed."""
    fields = {
        k: v
        for k, v in to_item(decision.model_dump(mode="json")).items()
        if k not in ("pk", "sk", *_LEASE_FIELDS)
    }
    names = {f"#f{i}": k for i, k in enumerate(fields)}
    names.update({f"#l{i}": k for i, k in enumerate(_LEASE_FIELDS)})
    values = {f":v{i}": v for i, v in enumerate(fields.values())}
    sets = ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
    removes = ", ".join(f"#l{i}" for i in range(len(_LEASE_FIELDS)))
    return {
        "Update": {
            "TableName": table,
            "Key": {
                "pk": {"S": cand_pk(str(decision.candidate_id))},
                "sk": {"S": f"DECISION#{decision.decision_id}"},
            },
            "UpdateExpression": f"SET {sets} REMOVE {removes}",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def encode_key(key: dict[str, Any] | None) -> str | None:
    """A DynamoDB key (LastEvaluatedKey) as text, for a cursor stored on an item."""
    return json.dumps(key, sort_keys=True) if key else None


def decode_key(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _open_claim(item: dict[str, Any]) -> OpenClaim | None:
    if item.get("status", {}).get("S") != "decided" or "lease_until" not in item:
        return None
    raw = item.get("raw", {}).get("B")
    data = from_item({k: v for k, v in item.items() if k not in ("raw",)})
    until = datetime.fromisoformat(str(data.pop("lease_until")))
    accepted = data.pop("ses_accepted", None)
    return OpenClaim(
        decision=Decision.model_validate(_strip_keys(data)),
        lease_until=until,
        raw=bytes(raw) if raw is not None else None,
        accepted=str(accepted) if accepted else None,
    )


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


def profile_from_item(item: dict[str, Any]) -> Profile:
    data = from_item(item)
    return Profile.model_validate(data)

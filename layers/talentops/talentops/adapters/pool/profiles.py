"""Profiles: ``CAND#<id>`` / ``PROFILE``: fields (value, source, observed_at), consent, the
ledger of recent sends, behaviours, version, the send counter (``alert_seq``), the count of
journey instances (``journey_items``) and what they listen to (``journey_listens``), and the
keys of the by_email and matching indexes.

  by_email      email_norm    projection ALL: a trigger that names a candidate by address
                              reads it in one query
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ...errors import ConcurrencyError, StorageError
from ...models.events import CandidateRef, normalize_email
from ...models.state import JOURNEYS_LISTED, ConsentState, Profile
from ..dynamo import cancellation_codes, to_value
from .aliases import AliasStore, IdentityConflictError
from .base import PROFILE_SK, TRANSACTION_LIMIT, cand_pk, profile_from_item
from .consent import ConsentStore
from .matching import MATCH_ATTRIBUTES, match_attributes


@dataclass
class LoadedProfile:
    """A profile as read for a fan-out: the model and the counters its claim conditions on."""

    profile: Profile
    alert_seq: int = 0


@dataclass
class ProfileWrite:
    """One profile of a bulk write, as save_profile would write it."""

    profile: Profile
    expected_version: int
    new_aliases: list[tuple[str, str]] = field(default_factory=list)
    consent_history: list[tuple[str, ConsentState]] = field(default_factory=list)


class ProfileStore(AliasStore, ConsentStore):
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
        """By id, else by ref, else by normalized email (docs/contract.md section 1). An id that
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

    def get_profiles(self, candidate_ids: Sequence[str]) -> dict[str, LoadedProfile]:
        """Profiles by id, 100 a request, strongly consistent; absent ids are left out."""
        items = self.get_items([(cand_pk(c), PROFILE_SK) for c in candidate_ids], True)
        loaded: dict[str, LoadedProfile] = {}
        for item in items:
            profile = profile_from_item(item)
            seq = int(item.get("alert_seq", {}).get("N", "0"))
            loaded[profile.candidate_id] = LoadedProfile(profile, seq)
        return loaded

    def _profile_update(
        self,
        profile: Profile,
        expected_version: int,
        *,
        map_entries: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The conditional write of a profile item (optimistic versioning), with its
        by_email and matching index keys kept in step with its fields. ``map_entries`` adds
        entries to the ``recent`` / ``behaviours`` maps key by key (an identity merge), so
        that entries written meanwhile by a send are kept.

        A new candidate (``expected_version`` 0) is a Put of the whole item on the condition
        that none exists: the item an Update would create, and a cheaper request to check and
        apply than an Update's expression (most of a bulk import's writes)."""
        pk = cand_pk(profile.candidate_id)
        data = profile.model_dump(mode="json")
        email = profile.email
        attributes: dict[str, dict[str, Any]] = {
            "fields": to_value(data["fields"]),
            "consent": to_value(data["consent"]),
            "version": {"N": str(expected_version + 1)},
            "aliases": to_value(data["aliases"]),
            "suppressed": {"BOOL": profile.suppressed},
            "candidate_id": {"S": profile.candidate_id},
        }
        if email:
            attributes["email_norm"] = {"S": normalize_email(email)}  # the form lookups use
        keys = match_attributes(profile)
        for attribute in MATCH_ATTRIBUTES:
            if attribute in keys:
                attributes[attribute] = to_value(keys[attribute])
        created_at = {"S": data["created_at"] or ""}
        key = {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}}
        if expected_version == 0 and not map_entries:
            item = {
                **key,
                **attributes,
                "created_at": created_at,
                "recent": {"M": {}},
                "behaviours": {"M": {}},
                # A new candidate has no journeys yet: counted and listed from here
                # (adapters/journeys.py).
                "journey_items": {"N": "0"},
                "journey_listens": {"SS": [JOURNEYS_LISTED]},
            }
            return {
                "Put": {
                    "TableName": self.table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        names: dict[str, str] = {"#ca": "created_at"}
        values: dict[str, dict[str, Any]] = {":ca": created_at, ":empty": {"M": {}}}
        sets = []
        for i, (attribute, value) in enumerate(attributes.items()):
            names[f"#u{i}"] = attribute
            values[f":u{i}"] = value
            sets.append(f"#u{i} = :u{i}")
        sets.append("#ca = if_not_exists(#ca, :ca)")
        for attribute, name in (("recent", "#r"), ("behaviours", "#b")):
            names[name] = attribute
            entries = (map_entries or {}).get(attribute)
            if not entries:
                sets.append(f"{name} = if_not_exists({name}, :empty)")
                continue
            for i, (entry_key, value) in enumerate(sorted(entries.items())):
                names[f"{name}{i}"] = entry_key
                values[f":{name[1:]}{i}"] = to_value(value)
                sets.append(f"{name}.{name}{i} = :{name[1:]}{i}")
        removes = [a for a in ("email_norm", *MATCH_ATTRIBUTES) if a not in attributes]
        update = "SET " + ", ".join(sets)
        if removes:
            update += " REMOVE " + ", ".join(removes)
        if expected_version == 0:
            condition = "attribute_not_exists(pk)"
            update = update.replace("SET ", "SET journey_items = :zero, journey_listens = :jl, ", 1)
            values[":zero"] = {"N": "0"}
            values[":jl"] = {"SS": [JOURNEYS_LISTED]}
        else:
            names["#v"] = "version"
            condition = "#v = :ev"
            values[":ev"] = {"N": str(expected_version)}
        return {
            "Update": {
                "TableName": self.table,
                "Key": key,
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
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

    def forget_journey_count(self, candidate_id: str) -> None:
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}},
                UpdateExpression="REMOVE journey_items, journey_listens",
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StorageError("updating a profile failed") from exc

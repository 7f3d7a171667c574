"""The talent pool table: one partition per candidate.

  pk=CAND#<id>  sk=PROFILE                  fields (value, source, observed_at), consent,
                                            recent sends, behaviours, version
  pk=CAND#<id>  sk=CONSENT#<at>#<purpose>#n append-only consent history (proof of consent)
  pk=CAND#<id>  sk=DECISION#<decision id>   decision record; its conditional put is the
                                            durable dedupe of the send ledger
  pk=ALIAS#<kind>#<value> sk=ALIAS          email / ref -> candidate id (unique, consistent)

The GSI ``by_email`` (projection ALL) on the profile's ``email_norm`` resolves a candidate by
address in one read. A trigger reads one item and writes one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ConcurrencyError, DuplicateError, StorageError
from ..models.events import CandidateRef
from ..models.state import ConsentState, Decision, Profile, SentRecord
from .aws import client
from .dynamo import cancellation_codes, from_item, to_item, to_value

PROFILE_SK = "PROFILE"


def cand_pk(candidate_id: str) -> str:
    return f"CAND#{candidate_id}"


def alias_pk(kind: str, value: str) -> str:
    return f"ALIAS#{kind}#{value}"


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
        """By id, else by ref, else by normalized email (CONTRACT.md section 1)."""
        if ref.id:
            return self.get_profile(ref.id, consistent=False)
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
            return ref.id if self.get_profile(ref.id) else None
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
        while True:
            try:
                resp = self.ddb.query(**kwargs)
            except ClientError as exc:
                raise StorageError("querying a candidate failed") from exc
            for item in resp.get("Items", []):
                yield from_item(item)
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

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
        update = (
            "SET #f = :f, #c = :c, #v = :nv, #a = :a, #s = :s, #id = :id, "
            "#r = if_not_exists(#r, :empty), #b = if_not_exists(#b, :empty), "
            "#ca = if_not_exists(#ca, :ca)"
        )
        if email:
            update += ", email_norm = :e"
            values[":e"] = {"S": email.strip().lower()}
        else:
            update += " REMOVE email_norm"
        if expected_version == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "#v = :ev"
            values[":ev"] = {"N": str(expected_version)}
        items: list[dict[str, Any]] = [
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
        ]
        for kind, value in new_aliases:
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(
                            {
                                "pk": alias_pk(kind, value),
                                "sk": "ALIAS",
                                "candidate_id": profile.candidate_id,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk) OR candidate_id = :id",
                        "ExpressionAttributeValues": {":id": {"S": profile.candidate_id}},
                    }
                }
            )
        for purpose, state in consent_history:
            # The key is the fact itself, so a redelivered fact rewrites its own record.
            record = state.model_dump(mode="json")
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": f"CONSENT#{record['observed_at']}#{purpose}#{state.status}",
                                "purpose": purpose,
                                **record,
                            }
                        ),
                    }
                }
            )
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

    def record_decision(
        self,
        decision: Decision,
        *,
        sent: SentRecord | None,
        behaviour: tuple[str, dict[str, Any]] | None,
    ) -> None:
        """The durable dedupe: put the decision if this fact was never decided for this
        candidate, and note the send and the behaviour on the profile, in one request."""
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        record = decision.model_dump(mode="json")
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item({"pk": pk, "sk": f"DECISION#{decision.decision_id}", **record}),
                    "ConditionExpression": "attribute_not_exists(pk)",
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
        if sets:
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                        "UpdateExpression": "SET " + ", ".join(sets),
                        "ConditionExpression": "attribute_exists(pk)",
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
                raise DuplicateError(decision.decision_id) from exc
            if "ConditionalCheckFailed" in codes:
                raise StorageError("the candidate was removed while deciding") from exc
            raise StorageError("recording a decision failed") from exc

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
                            "UpdateExpression": "REMOVE #r.#k",
                            "ExpressionAttributeNames": {
                                "#r": "recent",
                                "#k": decision.decision_id,
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            raise StorageError("releasing a claim failed") from exc


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


def profile_from_item(item: dict[str, Any]) -> Profile:
    data = from_item(item)
    return Profile.model_validate(data)

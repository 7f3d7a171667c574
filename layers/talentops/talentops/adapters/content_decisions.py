"""Decision records of careers-site content blocks, beside the email decisions.

  pk=CAND#<id>  sk=DECISION#<decision id>   kind "content"; one record per candidate, slot,
                                            variant and day (the id says so), counting its
                                            views, so that page views do not grow the partition

The write is one transaction: the record, on condition that the profile still exists (a
block rendered while the candidate is being erased leaves nothing behind).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError, UnknownCandidateError
from ..models.state import Decision
from .aws import client
from .dynamo import cancellation_codes, to_value
from .pool.base import PROFILE_SK, cand_pk


class ContentDecisionRepository:
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

    def record(self, decision: Decision, *, expires_at: int) -> None:
        assert decision.candidate_id is not None
        pk = cand_pk(decision.candidate_id)
        data = decision.model_dump(mode="json", exclude_none=True)
        data["expires_at"] = expires_at
        names: dict[str, str] = {"#views": "views"}
        values: dict[str, Any] = {":one": {"N": "1"}}
        sets = []
        for i, (name, value) in enumerate(sorted(data.items())):
            names[f"#a{i}"] = name
            values[f":a{i}"] = to_value(value)
            sets.append(f"#a{i} = :a{i}")
        try:
            self.ddb.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": pk}, "sk": {"S": PROFILE_SK}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {
                                "pk": {"S": pk},
                                "sk": {"S": f"DECISION#{decision.decision_id}"},
                            },
                            "UpdateExpression": "SET " + ", ".join(sets) + " ADD #views :one",
                            "ExpressionAttributeNames": names,
                            "ExpressionAttributeValues": values,
                        }
                    },
                ]
            )
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise UnknownCandidateError("the candidate no longer exists") from exc
            raise StorageError("recording a content decision failed") from exc

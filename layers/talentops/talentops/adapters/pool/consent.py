"""Consent history: ``CAND#<id>`` / ``CONSENT#<at>#<purpose>#<status>``, append-only (the
proof of consent); the current consent lives on the profile."""

from __future__ import annotations

from typing import Any

from ...models.state import ConsentState
from ..dynamo import to_item
from .base import TableStore, _strip_keys, cand_pk


class ConsentStore(TableStore):
    def consent_history(self, candidate_id: str) -> list[dict[str, Any]]:
        return [_strip_keys(i) for i in self._query_partition(candidate_id, "CONSENT#")]

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

"""The ``by_lease`` index of unresolved send claims, on its own (no models): the send
reconciler's usual run finds no lease run out, and then reads this index and nothing else
(delivery/reconcile.py). A claim carries the index's keys (``lease_shard``,
``lease_until``) until its send is recorded (adapters/pool/claims.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ..dynamo import query_all

INDEX_LEASE = "by_lease"  # sparse: unresolved send claims (lease_shard, lease_until)
LEASE_SHARDS = 8  # partitions of the index (no hot key under a campaign)


def lease_shard(decision_id: str) -> str:
    digest = hashlib.sha256(decision_id.encode()).digest()
    return f"L#{digest[0] % LEASE_SHARDS}"


def expired_leases(ddb: Any, table: str, now: datetime, limit: int) -> list[tuple[str, str]]:
    """(candidate id, decision id) of the claims whose lease ran out before ``now``, at most
    ``limit``, shard by shard."""
    found: list[tuple[str, str]] = []
    for shard in range(LEASE_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": INDEX_LEASE,
            "KeyConditionExpression": "lease_shard = :s AND lease_until < :now",
            "ExpressionAttributeValues": {
                ":s": {"S": f"L#{shard}"},
                ":now": {"S": now.isoformat()},
            },
        }
        for key in query_all(ddb, "reading expired claims", **kwargs):
            if len(found) >= limit:
                return found
            pk, sk = (k if isinstance(k, str) else k["S"] for k in (key["pk"], key["sk"]))
            found.append((pk.removeprefix("CAND#"), sk.removeprefix("DECISION#")))
    return found

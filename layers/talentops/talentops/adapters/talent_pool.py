"""The talent pool table: one partition per candidate, each kind of item in a store of its own
(adapters/pool/), joined here in the one repository the services use.

  pk=CAND#<id>  sk=PROFILE                  profile (pool/profiles.py): fields, consent,
                                            recent sends, behaviours, version, alert_seq,
                                            journey_items, matching keys (pool/matching.py)
  pk=CAND#<id>  sk=CONSENT#<at>#<purpose>#n consent history (pool/consent.py)
  pk=CAND#<id>  sk=DECISION#<decision id>   decision records (pool/decisions.py); a send's
                                            claim and lease (pool/claims.py)
  pk=CAND#<id>  sk=JOURNEY#<instance id>    journey instances (adapters/journeys.py), an
                                            ended one as its summary
  pk=CAND#<id>  sk=JEND#<instance id>       an ended journey instance in full
  pk=ALIAS#<kind>#<value> sk=ALIAS          email / ref / merged id -> candidate id
                                            (pool/aliases.py)

Identity merges move a partition into another (pool/merges.py). A trigger reads one item and
writes one transaction.
"""

from __future__ import annotations

from typing import Any

from .aws import client
from .pool.aliases import IdentityConflictError
from .pool.base import (
    BATCH_GET_LIMIT,
    PROFILE_SK,
    TRANSACTION_LIMIT,
    alias_pk,
    cand_pk,
    decode_key,
    encode_key,
    profile_from_item,
)
from .pool.claims import Claim, ClaimResult, ClaimStore, OpenClaim
from .pool.decisions import DecidedBeforeError, DecisionStore
from .pool.lease_index import INDEX_LEASE
from .pool.matching import (
    INDEX_ROLE,
    INDEX_ROLE_CITY,
    MATCH_ATTRIBUTES,
    MatchingIndex,
    city_key,
    match_attributes,
)
from .pool.merges import MergeStore
from .pool.profiles import LoadedProfile, ProfileWrite

__all__ = [
    "BATCH_GET_LIMIT",
    "INDEX_LEASE",
    "INDEX_ROLE",
    "INDEX_ROLE_CITY",
    "MATCH_ATTRIBUTES",
    "PROFILE_SK",
    "TRANSACTION_LIMIT",
    "Claim",
    "ClaimResult",
    "DecidedBeforeError",
    "IdentityConflictError",
    "LoadedProfile",
    "OpenClaim",
    "ProfileWrite",
    "TalentPoolRepository",
    "alias_pk",
    "cand_pk",
    "city_key",
    "decode_key",
    "encode_key",
    "match_attributes",
    "profile_from_item",
]


class TalentPoolRepository(MergeStore, ClaimStore, DecisionStore, MatchingIndex):
    def __init__(self, table_name: str, dynamodb: Any | None = None):
        self.table = table_name
        self._ddb = dynamodb

    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = client("dynamodb")
        return self._ddb

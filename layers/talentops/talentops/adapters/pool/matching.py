"""The job-alert matching index: sparse keys on the profile item (``match_city``,
``match_role``, ``match_level``) and the two indexes over them.

  by_role_city  match_city (role_family#city key), KEYS_ONLY: the job-alert pool of a local
                match_level (seniority level)      job, a band of levels, page by page
  by_role       match_role (role_family),          KEYS_ONLY: the pool of a remote job
                match_level

The keys are written only on profiles that could receive a job alert at all (an address,
role family and seniority, not suppressed, job alerts not withdrawn), so a fan-out reads
exactly the candidates of the right role family, city and seniority band and never Scans.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ...errors import StorageError
from ...models.values import SENIORITY_LEVELS
from .base import TableStore

if TYPE_CHECKING:  # the privacy adapter reads the index's names, not profiles
    from ...models.state import Profile

INDEX_ROLE_CITY = "by_role_city"
INDEX_ROLE = "by_role"
MATCH_ATTRIBUTES = ("match_city", "match_role", "match_level")


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


class MatchingIndex(TableStore):
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

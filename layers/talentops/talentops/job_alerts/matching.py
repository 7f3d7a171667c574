"""Which candidates fit a job (docs/contract.md section 1), as index reads and as a check.

A job fits a candidate with the same role family, a seniority within ``band`` levels of the
job's, and the same city unless the job is remote. Consent, the weekly cap and freshness are
not matching: the decision (delivery.decide) takes them per candidate at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..adapters.talent_pool import INDEX_ROLE, INDEX_ROLE_CITY, city_key
from ..models.events import SENIORITY_LEVELS
from ..models.state import Profile


@dataclass(frozen=True)
class JobQuery:
    """One partition of the matching index and the band of seniority levels to read."""

    index: str
    partition: str
    levels: tuple[int, int]


def seniority_band(seniority: str, band: int) -> tuple[int, int]:
    level = SENIORITY_LEVELS.index(seniority)
    return max(0, level - band), min(len(SENIORITY_LEVELS) - 1, level + band)


def job_query(job: Mapping[str, Any], band: int) -> JobQuery | None:
    """The index read of a job; None when a local job names no city (nobody can match)."""
    levels = seniority_band(str(job["seniority"]), band)
    role = str(job["role_family"])
    if job.get("remote"):
        return JobQuery(INDEX_ROLE, role, levels)
    city = city_key(str(job.get("city") or ""))
    if not city:
        return None
    return JobQuery(INDEX_ROLE_CITY, f"{role}#{city}", levels)


def fits(job: Mapping[str, Any], profile: Profile, band: int) -> tuple[bool, str]:
    """Whether ``profile`` fits ``job`` now, and if not, why (for logs and tests)."""
    if profile.value("role_family") != job["role_family"]:
        return False, "role_family differs"
    seniority = profile.value("seniority")
    if seniority not in SENIORITY_LEVELS:
        return False, "seniority unknown"
    lo, hi = seniority_band(str(job["seniority"]), band)
    if not lo <= SENIORITY_LEVELS.index(str(seniority)) <= hi:
        return False, "seniority out of band"
    if not job.get("remote"):
        city = profile.value("city")
        if not city or city_key(str(city)) != city_key(str(job.get("city") or "")):
            return False, "city differs"
    return True, "fits"

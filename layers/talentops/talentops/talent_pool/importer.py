"""Bulk import of a talent pool (an ATS export as CSV or JSON Lines) through the same merge
rules as ingest.

Each row is one candidate as the exporting system sees it, flat:

  id | ref | email                  who (at least one; an id names a known candidate only)
  observed_at                       RFC 3339 with offset (or the command's default)
  first_name, last_name, city, country, seniority, role_family, skills, language, timezone
  consent_job_alerts, consent_marketing, consent_events   granted | withdrawn | empty
  consent_evidence                  optional text kept with the consent records

A row is validated with the contract's own models (the checks `Candidate Profile Updated`
gets), so unknown fields, wrong types, impossible dates and unknown seniorities are rejected
with a specific reason that never repeats the value; the rest goes on.

Rows are applied in batches: their aliases and profiles are read 100 keys a request, merged
in memory with the merge rules, and written with the version conditions of ingest in
transactions of up to 100 items. A row whose write loses a race, or that links two existing
candidates (an identity merge), goes through the one-by-one ingest path instead. Applying a
row twice changes nothing, which is what makes an interrupted import resumable.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..adapters.bus import EventPublisher
from ..adapters.talent_pool import ProfileWrite, TalentPoolRepository
from ..errors import TalentOpsError
from ..models.events import (
    CandidateRef,
    ConsentChanged,
    ProfileFields,
    ProfileUpdated,
    max_ahead,
    normalize_email,
)
from ..models.state import ConsentState, FieldValue, Profile
from ..observability import logger
from .merge import merge_consent, merge_fields
from .service import TalentPoolService, profile_changed

IDENTITY_COLUMNS = ("id", "ref", "email")
FIELD_COLUMNS = tuple(name for name in ProfileFields.model_fields if name != "email")
CONSENT_COLUMNS = {
    "consent_job_alerts": "job_alerts",
    "consent_marketing": "marketing",
    "consent_events": "events",
}
COLUMNS = (
    *IDENTITY_COLUMNS,
    "observed_at",
    *FIELD_COLUMNS,
    *CONSENT_COLUMNS,
    "consent_evidence",
)


@dataclass(frozen=True)
class ImportRow:
    line: int
    candidate: CandidateRef
    observed_at: datetime
    fields: dict[str, Any]  # contract field values, JSON form (email included when given)
    consent: tuple[tuple[str, str], ...] = ()  # (purpose, status)
    evidence: str | None = None

    def identity_keys(self) -> list[str]:
        """The identities this row names (id, ref, addresses), to group rows of one person."""
        out = []
        if self.candidate.id:
            out.append(f"id:{self.candidate.id}")
        if self.candidate.ref:
            out.append(f"ref:{self.candidate.ref}")
        for address in (self.candidate.email, self.fields.get("email")):
            if address:
                out.append(f"email:{normalize_email(str(address))}")
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


def _summary(exc: ValidationError, prefix: str = "") -> str:
    """Where and what, never the offending value (it may be personal data)."""
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error["loc"]]
        if (loc and loc[0] == "fields") or (loc and loc[0] == "candidate"):
            loc = loc[1:]
        where = ".".join(loc) or prefix or "row"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(dict.fromkeys(parts))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_row(
    raw: Mapping[str, Any],
    *,
    line: int,
    now: datetime,
    default_observed_at: datetime | None = None,
    csv: bool = False,
) -> ImportRow | Rejection:
    """One row of the file into a fact, or the reason it is rejected."""
    unknown = sorted(str(k) for k in raw if k not in COLUMNS)
    if unknown:
        shown = ", ".join(name[:40] for name in unknown[:5])
        return Rejection(line, f"unknown field{'s' if len(unknown) > 1 else ''}: {shown}")
    values = {k: v for k, v in raw.items() if not _blank(v)}
    if csv and "skills" in values:
        values["skills"] = [s.strip() for s in str(values["skills"]).split(";") if s.strip()]
    identity = {k: values.pop(k) for k in IDENTITY_COLUMNS if k in values}
    if not identity:
        return Rejection(line, "candidate needs an id, a ref or an email")
    consent = []
    for column, purpose in CONSENT_COLUMNS.items():
        status = values.pop(column, None)
        if status is None:
            continue
        if status not in ("granted", "withdrawn"):
            return Rejection(line, f"{column}: must be granted, withdrawn or empty")
        consent.append((purpose, str(status)))
    evidence = values.pop("consent_evidence", None)
    if evidence is not None and (not isinstance(evidence, str) or len(evidence) > 1000):
        return Rejection(line, "consent_evidence: must be text of at most 1000 characters")
    observed = values.pop("observed_at", None)
    if observed is None:
        if default_observed_at is None:
            return Rejection(line, "observed_at: missing (and no default given)")
        observed = default_observed_at.isoformat()
    fields = dict(values)
    if identity.get("email"):
        fields["email"] = identity["email"]
    try:
        fact = ProfileUpdated.model_validate(
            {
                "candidate": identity,
                "observed_at": observed,
                "fields": fields or {"email": None},
            }
        )
    except ValidationError as exc:
        return Rejection(line, _summary(exc))
    if fact.observed_at > now + max_ahead():
        return Rejection(line, "observed_at: is in the future")
    data = fact.fields.model_dump(mode="json", exclude_unset=True)
    data = {k: v for k, v in data.items() if v is not None}
    if not data and not consent:
        return Rejection(line, "no profile field and no consent to import")
    return ImportRow(line, fact.candidate, fact.observed_at, data, tuple(consent), evidence)


@dataclass
class BatchResult:
    written: int = 0  # candidates written by the batched path
    one_by_one: int = 0  # rows that went through ingest one by one
    unchanged: int = 0
    events: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _groups(rows: Sequence[ImportRow]) -> list[list[ImportRow]]:
    """Rows that name a common identity belong to one candidate (union-find on keys)."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for row in rows:
        keys = row.identity_keys()
        for other in keys[1:]:
            parent[find(other)] = find(keys[0])
    grouped: dict[str, list[ImportRow]] = {}
    for row in rows:
        grouped.setdefault(find(row.identity_keys()[0]), []).append(row)
    return list(grouped.values())


def _alias_of(key: str) -> tuple[str, str]:
    kind, _, value = key.partition(":")
    return kind, value


class _KnownAbsent:
    """A suppression list whose answer for some addresses is known: not listed."""

    def __init__(self, inner: Any, absent: set[str]):
        self.inner = inner
        self.absent = absent

    def get(self, address: str) -> Any:
        from ..adapters.suppression import address_hash

        if address_hash(address) in self.absent:
            return None
        return self.inner.get(address)


@dataclass
class PoolImporter:
    repo: TalentPoolRepository
    service: TalentPoolService
    publisher: EventPublisher | None
    source: str
    now: Callable[[], datetime]

    def apply(self, rows: Sequence[ImportRow]) -> BatchResult:
        result = BatchResult()
        groups = _groups(rows)
        screen = self._batch_screen(rows)
        aliases = [
            _alias_of(k)
            for g in groups
            for r in g
            for k in r.identity_keys()
            if not k.startswith("id:")
        ]
        owners = self.repo.alias_owners(aliases)
        ids = {r.candidate.id for g in groups for r in g if r.candidate.id}
        targets: list[tuple[list[ImportRow], str | None]] = []
        slow: list[ImportRow] = []
        for group in groups:
            found = {
                owners[_alias_of(k)]
                for r in group
                for k in r.identity_keys()
                if _alias_of(k) in owners
            }
            found |= {r.candidate.id for r in group if r.candidate.id}
            if len(found) > 1:
                slow += group  # links two candidates: the identity merge of ingest
            else:
                targets.append((group, next(iter(found), None)))
        loaded = self.repo.get_profiles(
            sorted({t for _, t in targets if t} | {i for i in ids if i})
        )
        writes: list[ProfileWrite] = []
        write_groups: list[list[ImportRow]] = []
        changes: list[tuple[str, dict[str, FieldValue]]] = []
        for group, target in targets:
            if target and target not in loaded:
                if all(r.candidate.id for r in group):
                    result.rejected += [Rejection(r.line, "unknown candidate id") for r in group]
                    continue
                slow += group
                continue
            write, changed = self._merge(group, loaded[target].profile if target else None, screen)
            if write is None:
                result.unchanged += 1
                continue
            writes.append(write)
            write_groups.append(group)
            changes.append((write.profile.candidate_id, changed))
        failed = set(self.repo.save_profiles(writes))
        announce = []
        for index, group in enumerate(write_groups):
            if index in failed:
                slow += group
                continue
            result.written += 1
            candidate_id, changed = changes[index]
            if changed:
                announce.append(
                    ("Candidate Profile Changed", profile_changed(candidate_id, changed))
                )
        if announce and self.publisher is not None:
            self.publisher.publish(announce)  # ten a PutEvents
            result.events += len(announce)
        for row in sorted(slow, key=lambda r: r.line):
            rejection = self._one_by_one(row)
            if rejection:
                result.rejected.append(rejection)
            else:
                result.one_by_one += 1
        return result

    def _batch_screen(self, rows: Sequence[ImportRow]) -> Any:
        """The ingest screen (the suppression list) with the batch's addresses looked up
        100 a request: an address the list does not hold is answered without a read."""
        screen = self.service.screen
        if screen is None or not is_dataclass(screen) or not hasattr(screen, "suppression"):
            return screen
        from ..adapters.suppression import address_hash, suppress_pk

        addresses = {str(r.fields["email"]) for r in rows if r.fields.get("email")}
        listed = {
            item["pk"]["S"].removeprefix("SUPPRESS#")
            for item in self.repo.get_items([(suppress_pk(a), "SUPPRESS") for a in addresses], True)
        }
        absent = {address_hash(a) for a in addresses} - listed
        return replace(screen, suppression=_KnownAbsent(screen.suppression, absent))

    def _merge(
        self, group: Sequence[ImportRow], profile: Profile | None, screen: Any = None
    ) -> tuple[ProfileWrite | None, dict[str, FieldValue]]:
        """The group's rows merged into the profile as ingest would; None when nothing new."""
        version = profile.version if profile else 0
        if profile is None:
            profile = Profile(candidate_id="c_" + secrets.token_hex(10), created_at=self.now())
        before = profile.model_dump(mode="json")
        before_values = {k: v.value for k, v in profile.fields.items()}
        history: list[tuple[str, ConsentState]] = []
        received_at = self.now()
        for row in sorted(group, key=lambda r: r.line):
            merge_fields(
                profile,
                row.fields,
                source=self.source,
                observed_at=row.observed_at,
                policy=self.service.merge_policy,
            )
            for purpose, status in row.consent:
                state = ConsentState(
                    status=status,  # type: ignore[arg-type]
                    source=self.source,
                    observed_at=row.observed_at,
                    evidence=row.evidence or f"bulk import, line {row.line}",
                    received_at=received_at,
                )
                merge_consent(profile, purpose, state, now=received_at)
                history.append((purpose, state))
        changed = {
            k: v for k, v in profile.fields.items() if before_values.get(k, object()) != v.value
        }
        if screen is not None:  # the suppression list, as in ingest
            history += screen(profile, changed)
        wanted = [
            _alias_of(k)
            for r in group
            for k in r.identity_keys()
            if not k.startswith("id:") and k not in profile.aliases
        ]
        if profile.email:
            wanted.append(("email", normalize_email(profile.email)))
        wanted = [a for a in dict.fromkeys(wanted) if f"{a[0]}:{a[1]}" not in profile.aliases]
        profile.aliases = sorted({*profile.aliases, *(f"{k}:{v}" for k, v in wanted)})
        if version and not history and not wanted and profile.model_dump(mode="json") == before:
            return None, {}
        return ProfileWrite(profile, version, wanted, history), changed

    def _one_by_one(self, row: ImportRow) -> Rejection | None:
        try:
            if row.fields:
                self.service.ingest(
                    ProfileUpdated(
                        candidate=row.candidate,
                        observed_at=row.observed_at,
                        fields=ProfileFields.model_validate(row.fields),
                    ),
                    self.source,
                )
            for purpose, status in row.consent:
                self.service.ingest(
                    ConsentChanged.model_validate(
                        {
                            "candidate": row.candidate.model_dump(exclude_none=True),
                            "observed_at": row.observed_at,
                            "purpose": purpose,
                            "status": status,
                            "evidence": row.evidence or f"bulk import, line {row.line}",
                        }
                    ),
                    self.source,
                )
        except TalentOpsError as exc:
            logger.warning("import row failed", line=row.line, code=exc.code)
            return Rejection(row.line, f"{exc.code}: {str(exc)[:200]}")
        return None


def rows_of(
    records: Iterable[tuple[int, Mapping[str, Any] | Rejection]],
    *,
    now: datetime,
    default_observed_at: datetime | None,
    csv: bool,
) -> Iterable[ImportRow | Rejection]:
    for line, raw in records:
        if isinstance(raw, Rejection):
            yield raw
        else:
            yield parse_row(
                raw, line=line, now=now, default_observed_at=default_observed_at, csv=csv
            )

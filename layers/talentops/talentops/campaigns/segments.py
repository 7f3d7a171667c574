"""Saved segments (``/admin/segments``, docs/campaigns.md "Saved segments"): a named list of
conditions in the rule language (content/rules.py; any/all/not groups), versioned.

A segment's id derives from its name (case and accents folded), so posting a name again is
a new version of the same segment, never a second segment of that name; posting the
conditions of its latest version again is that version (``created`` false: a client's retry
makes no version). Versions are never changed: a campaign that refers to a segment
(``segment_ref``) pins the version current when the campaign is created and carries its
conditions in its own definition, so the campaign's fingerprint, preview and launch do not
move when the segment gets a new version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..adapters.segments import SegmentRecord, SegmentRepository, VersionExistsError
from ..content.rules import Condition, fold
from ..errors import TalentOpsError
from ..journeys.source import Problem, Source, SourceError, format_path
from ..observability import logger
from .model import SEGMENT_ID_PATTERN, _shorthands, _single_line, segment_problems

MAX_TRIES = 3  # versions raced for by concurrent creates of one name


class SegmentError(SourceError):
    """A segment definition is not valid: each problem names its path."""

    code = "invalid_segment"


class UnknownSegmentError(TalentOpsError):
    code = "unknown_segment"


class SegmentDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: Annotated[str, Field(max_length=1000)] | None = None
    segment: tuple[Condition, ...] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_single_line(cls, value: str) -> str:
        return _single_line(value).strip()

    @field_validator("segment", mode="before")
    @classmethod
    def _bare_fields(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        return [_shorthands(item) for item in value]

    def stored(self) -> dict[str, Any]:
        """What a version stores (and compares: the same conditions are the same version)."""
        return self.model_dump(mode="json", exclude_none=True)


def _same(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """The same conditions and description (the name may differ in case and accents)."""
    return {k: v for k, v in one.items() if k != "name"} == {
        k: v for k, v in other.items() if k != "name"
    }


def segment_id_of(name: str) -> str:
    """One id per name, whatever its case and accents: ``seg_`` and 16 hex digits."""
    digest = hashlib.sha256(fold(name.strip()).encode()).hexdigest()
    return f"seg_{digest[:16]}"


def validate_segment(data: Any) -> SegmentDefinition:
    """A SegmentDefinition from parsed JSON; SegmentError names every problem's path."""

    def problem(path: tuple[str | int, ...], message: str) -> Problem:
        return Problem("segment", None, format_path(path), message)

    if not isinstance(data, Mapping):
        raise SegmentError([problem((), "a segment is an object: name and segment")])
    problems = segment_problems(data.get("segment"), problem)
    try:
        definition = SegmentDefinition.model_validate(dict(data))
    except ValidationError as exc:
        src = Source(file="segment", data=data, root=None)
        for found in src.validation_problems(exc):
            if not any(p.path == found.path for p in problems):
                problems.append(found)
        raise SegmentError(problems) from exc
    if problems:
        raise SegmentError(problems)
    return definition


def segment_view(record: SegmentRecord, *, latest: int | None = None) -> dict[str, Any]:
    """A version as GET /admin/segments/{id} answers it."""
    view = {
        "segment_id": record.segment_id,
        "name": record.name,
        "version": record.version,
        "description": record.definition.get("description"),
        "segment": record.definition.get("segment", []),
        "created_at": record.created_at.isoformat(),
    }
    if latest is not None:
        view["latest_version"] = latest
    return view


@dataclass
class SegmentService:
    segments: SegmentRepository
    now: Callable[[], datetime]

    def create(self, data: Any) -> tuple[dict[str, Any], bool]:
        """The segment's new version (or its latest, unchanged) and whether it is new."""
        definition = validate_segment(data)
        segment_id = segment_id_of(definition.name)
        stored = definition.stored()
        for _ in range(MAX_TRIES):
            latest = self.segments.latest(segment_id)
            if latest is not None and _same(latest.definition, stored):
                return segment_view(latest, latest=latest.version), False
            version = latest.version + 1 if latest else 1
            try:
                record = self.segments.put_version(
                    segment_id,
                    version,
                    name=definition.name,
                    definition=stored,
                    created_at=self.now(),
                )
            except VersionExistsError:
                continue  # another create took this version: read the latest again
            logger.info("segment saved", segment_id=segment_id, version=version)
            return segment_view(record, latest=version), True
        raise TalentOpsError("the segment kept changing while saving it: try again")

    def get(self, segment_id: str, version: int | None = None) -> dict[str, Any]:
        latest = self.segments.latest(segment_id)
        if latest is None:
            raise UnknownSegmentError("no segment has this id")
        if version is None or version == latest.version:
            return segment_view(latest, latest=latest.version)
        record = self.segments.get(segment_id, version)
        if record is None:
            raise UnknownSegmentError(f"the segment has no version {version}")
        return segment_view(record, latest=latest.version)

    def list(self) -> dict[str, Any]:
        """Every segment, the most recently versioned first."""
        entries = sorted(self.segments.entries(), key=lambda e: e.updated_at, reverse=True)
        return {
            "segments": [
                {
                    "segment_id": e.segment_id,
                    "name": e.name,
                    "version": e.version,
                    "updated_at": e.updated_at.isoformat(),
                }
                for e in entries
            ]
        }

    def resolve(self, segment_id: str, version: int | None) -> tuple[int, Sequence[Any]] | None:
        """For a campaign's ``segment_ref``: the version (the latest when None) and its
        conditions, or None when there is no such segment or version."""
        import re

        if not re.match(SEGMENT_ID_PATTERN, segment_id):
            return None
        record = (
            self.segments.latest(segment_id)
            if version is None
            else self.segments.get(segment_id, version)
        )
        if record is None:
            return None
        return record.version, list(record.definition.get("segment", []))

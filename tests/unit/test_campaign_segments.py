"""Saved segments (campaigns.segments), pure and over an in-memory store: the id of a name,
the checks of a definition, versioning (a name again is a new version, the same conditions
again are not, a version raced for goes to the next), resolving a reference; and a segment of
groups projects the fields inside its groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops.adapters.segments import SegmentEntry, SegmentRecord, VersionExistsError
from talentops.campaigns.model import Campaign
from talentops.campaigns.segments import (
    SegmentError,
    SegmentService,
    segment_id_of,
    validate_segment,
)

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
BERLIN = [{"field": "city", "op": "eq", "value": "Berlin"}]
DATA = [{"field": "role_family", "op": "eq", "value": "data"}]


class Store:
    """SegmentRepository in memory; ``race`` makes the next put find its version taken."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, int], SegmentRecord] = {}
        self.race = 0

    def put_version(self, segment_id, version, *, name, definition, created_at):
        if self.race:
            self.race -= 1
            self.versions[(segment_id, version)] = SegmentRecord(
                segment_id, name, version, {"name": name, "segment": []}, created_at
            )
            raise VersionExistsError("taken")
        if (segment_id, version) in self.versions:
            raise VersionExistsError("taken")
        record = SegmentRecord(segment_id, name, version, dict(definition), created_at)
        self.versions[(segment_id, version)] = record
        return record

    def latest(self, segment_id):
        found = [r for (s, _), r in self.versions.items() if s == segment_id]
        return max(found, key=lambda r: r.version) if found else None

    def get(self, segment_id, version):
        return self.versions.get((segment_id, version))

    def entries(self):
        latest: dict[str, SegmentRecord] = {}
        for (sid, _), record in self.versions.items():
            if sid not in latest or record.version > latest[sid].version:
                latest[sid] = record
        return [
            SegmentEntry(r.segment_id, r.name, r.version, r.created_at) for r in latest.values()
        ]


def service(store: Store, clock: list[datetime]) -> SegmentService:
    return SegmentService(segments=store, now=lambda: clock[0])  # type: ignore[arg-type]


def test_the_id_derives_from_the_name_case_and_accents_folded():
    assert segment_id_of("Köln data") == segment_id_of("  koln DATA ")
    assert segment_id_of("Köln data") != segment_id_of("Berlin data")
    assert segment_id_of("x").startswith("seg_") and len(segment_id_of("x")) == 20


def test_a_definition_is_checked_as_a_campaign_segment_is():
    definition = validate_segment({"name": " Berlin ", "segment": BERLIN})
    assert definition.name == "Berlin"
    assert definition.stored()["segment"][0]["field"] == "candidate.city"
    with pytest.raises(SegmentError) as caught:
        validate_segment(
            {"name": "a\nb", "segment": [{"not": {"field": "shoe_size", "op": "eq", "value": 1}}]}
        )
    assert {p.path for p in caught.value.problems} == {"name", "segment[0].not.field"}
    with pytest.raises(SegmentError):
        validate_segment(["not", "a mapping"])


def test_a_name_again_is_a_new_version_the_same_conditions_are_not():
    store, clock = Store(), [NOW]
    segments = service(store, clock)
    first, created = segments.create({"name": "Berlin", "segment": BERLIN})
    assert (first["version"], created) == (1, True)
    again, created = segments.create({"name": "BERLIN", "segment": BERLIN})
    assert (again["version"], again["segment_id"], created) == (1, first["segment_id"], False)
    clock[0] = NOW + timedelta(hours=1)
    second, created = segments.create({"name": "Berlin", "segment": [*BERLIN, *DATA]})
    assert (second["version"], created) == (2, True)
    assert segments.get(first["segment_id"])["version"] == 2
    old = segments.get(first["segment_id"], 1)
    assert old["version"] == 1 and old["latest_version"] == 2 and len(old["segment"]) == 1
    segments.create({"name": "Data", "segment": DATA})
    listed = segments.list()["segments"]
    assert [s["name"] for s in listed] == ["Berlin", "Data"]  # newest first
    assert segments.resolve(first["segment_id"], None)[0] == 2
    assert segments.resolve(first["segment_id"], 1) == (1, old["segment"])
    assert segments.resolve(first["segment_id"], 3) is None
    assert segments.resolve("seg_nope", None) is None


def test_a_version_taken_by_a_concurrent_create_goes_to_the_next():
    store, clock = Store(), [NOW]
    store.race = 1
    made, created = service(store, clock).create({"name": "Berlin", "segment": BERLIN})
    assert (made["version"], created) == (2, True)


def test_a_segment_of_groups_projects_the_fields_inside_its_groups():
    body: dict[str, Any] = {
        "name": "x",
        "purpose": "marketing",
        "segment": [
            {"field": "role_family", "op": "eq", "value": "data"},
            {
                "any": [
                    {"field": "city", "op": "eq", "value": "Berlin"},
                    {"not": {"field": "behaviours.job_viewed.at", "op": "exists", "value": True}},
                ]
            },
        ],
        "content": {"template": "spring_hiring"},
    }
    assert Campaign.model_validate(body).segment_attributes() == (
        "candidate_id",
        "fields.role_family",
        "fields.city",
        "behaviours.job_viewed",
    )

"""Careers-site API pieces without AWS: request screening (size, encoding, media type), the
POST /track bodies, and the events a tracked behaviour becomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from talentops.api.limits import DEFAULT_BODY_RULE, BodyRule, screen
from talentops.models.careers import (
    PageBehaviour,
    TrackJobViewed,
    TrackPageViewed,
    TrackRequest,
    VisitorBehaviour,
)
from talentops.models.events import JobBehaviour
from talentops.tracking.service import behaviour_event, new_anonymous_id
from tests.support.apigw import http_event

RULES = {("POST", "/track"): BodyRule(max_bytes=100, media_types=("application/json",))}
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def refusal(event):
    found = screen(event, RULES)
    return (found.status, found.code) if found else None


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (http_event("POST", "/track", body={"type": "page_viewed"}), None),
        (
            http_event(
                "POST", "/track", body="x" * 101, headers={"content-type": "application/json"}
            ),
            (413, "payload_too_large"),
        ),
        (
            http_event(
                "POST", "/track", body="é" * 51, headers={"content-type": "application/json"}
            ),
            (413, "payload_too_large"),
        ),  # bytes, not characters
        (
            http_event(
                "POST", "/track", body=b"\xff\xfe{}", headers={"content-type": "application/json"}
            ),
            (400, "malformed_body"),
        ),
        (
            http_event("POST", "/track", body="{}", headers={"content-type": "text/plain"}),
            (415, "unsupported_media_type"),
        ),
        (http_event("POST", "/track", body="{}"), (415, "unsupported_media_type")),
        (
            http_event(
                "POST",
                "/track",
                body="{}",
                headers={"Content-Type": "Application/JSON; charset=utf-8"},
            ),
            None,
        ),
        (
            http_event("POST", "/track", body="{}", headers={"content-type": "application/jsonx"}),
            (415, "unsupported_media_type"),
        ),
        (http_event("POST", "/track"), None),  # no body: validation says what is missing
        (
            http_event(
                "POST",
                "/preferences",
                body="a=1",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            None,
        ),
        (
            http_event("POST", "/preferences", body="x" * (DEFAULT_BODY_RULE.max_bytes + 1)),
            (413, "payload_too_large"),
        ),
    ],
)
def test_screening(event, expected):
    assert refusal(event) == expected


def test_a_base64_body_is_measured_decoded_and_must_be_base64():
    event = http_event(
        "POST",
        "/track",
        body="{" + " " * 98 + "}",
        base64_body=True,
        headers={"content-type": "application/json"},
    )
    assert len(event["body"]) > 100 and refusal(event) is None
    event["body"] = "***not base64***"
    assert refusal(event) == (400, "malformed_body")


def test_the_refusal_message_does_not_echo_a_long_content_type():
    event = http_event("POST", "/track", body="{}", headers={"content-type": "x/" + "y" * 500})
    assert len(screen(event, RULES).message) < 160


TRACK = TypeAdapter(TrackRequest)


def test_track_bodies_are_a_union_on_type():
    assert isinstance(
        TRACK.validate_python({"type": "job_viewed", "job": {"id": "j"}}), TrackJobViewed
    )
    assert isinstance(
        TRACK.validate_python({"type": "page_viewed", "url": "https://x.example/"}), TrackPageViewed
    )


@pytest.mark.parametrize(
    "body",
    [
        {"type": "job_clicked", "job": {"id": "j"}},
        {"type": "job_viewed"},
        {"type": "page_viewed"},
        {"type": "page_viewed", "url": "ftp://x.example/"},
        {"type": "job_viewed", "job": {"id": "j"}, "candidate": {"id": "c_123456"}},
        {"type": "job_viewed", "job": {"id": "j"}, "anonymous_id": "short"},
        {"type": "job_viewed", "job": {"id": "j"}, "anonymous_id": "has spaces in it"},
        {"type": "job_viewed", "job": {"id": ""}},
    ],
)
def test_invalid_track_bodies_are_refused(body):
    with pytest.raises(ValidationError):
        TRACK.validate_python(body)


def test_a_known_visitors_behaviour_is_the_candidates_event():
    request = TRACK.validate_python(
        {"type": "job_viewed", "job": {"id": "j", "title": "T"}, "anonymous_id": "ignored-123"}
    )
    detail_type, detail = behaviour_event(
        request, candidate_id="c_abcdef123456", anonymous_id=None, now=NOW
    )
    assert detail_type == "Candidate Job Viewed" and isinstance(detail, JobBehaviour)
    # The job travels on as its id (issue 11): a title or URL in the body never reaches
    # the bus, so no email can show it.
    assert detail.model_dump(mode="json", exclude_none=True) == {
        "candidate": {"id": "c_abcdef123456"},
        "observed_at": "2026-11-26T12:00:00Z",
        "job": {"id": "j"},
    }
    page = TRACK.validate_python({"type": "page_viewed", "url": "https://x.example/"})
    detail_type, detail = behaviour_event(
        page, candidate_id="c_abcdef123456", anonymous_id=None, now=NOW
    )
    assert detail_type == "Candidate Page Viewed" and isinstance(detail, PageBehaviour)


def test_an_anonymous_visitors_behaviour_names_the_visitor_never_a_candidate():
    request = TRACK.validate_python(
        {"type": "application_started", "job": {"id": "j", "url": "https://evil.example/"}}
    )
    detail_type, detail = behaviour_event(
        request, candidate_id=None, anonymous_id="visitor-1234", now=NOW
    )
    assert detail_type == "Visitor Application Started"
    assert isinstance(detail, VisitorBehaviour)
    assert "candidate" not in detail.model_dump()
    assert detail.visitor.anonymous_id == "visitor-1234"
    assert detail.job is not None and detail.job.model_dump(exclude_none=True) == {"id": "j"}


def test_generated_anonymous_ids_are_valid_and_distinct():
    ids = {new_anonymous_id() for _ in range(50)}
    assert len(ids) == 50
    for value in ids:
        TRACK.validate_python({"type": "job_viewed", "job": {"id": "j"}, "anonymous_id": value})


# -- GET /content?slots= ----------------------------------------------------------------------


def test_the_slots_of_a_batch_are_comma_separated_names_in_order():
    from talentops.api.careers import slot_names

    assert slot_names("hero") == ["hero"]
    assert slot_names(" events ,hero,jobs") == ["events", "hero", "jobs"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "name at least one slot"),
        (",", "name at least one slot"),
        ("hero,", "an empty slot name"),
        ("hero,jobs,hero", "'hero' is named twice"),
        (",".join(f"s{i}" for i in range(11)), "at most 10 slots"),
    ],
)
def test_a_batch_without_slots_an_empty_or_repeated_one_or_too_many_is_refused(text, problem):
    from talentops.api.careers import slot_names
    from talentops.api.errors import ApiError

    with pytest.raises(ApiError) as refused:
        slot_names(text)
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert problem in refused.value.message

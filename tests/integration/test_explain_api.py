"""GET /admin/candidates/{id}/explain through the API handler under moto, with the table of
template.yaml: each kind of subject, the refusals (IAM, unknown candidate or subject, zero or
several subjects, a bad `at`), and that explaining writes and sends nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord
from tests.conftest import TABLE, load_handler
from tests.support.apigw import json_body
from tests.support.job_alerts import put_profiles, sqs_event
from tests.support.privacy import api_call, scan_table

# A Wednesday, 10:00 UTC: 11:00 in Berlin, 23:00 in Auckland (quiet hours).
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=30)
SPRING = {
    "name": "Spring hiring: data",
    "purpose": "marketing",
    "segment": [{"field": "candidate.role_family", "op": "eq", "value": "data"}],
    "content": {"template": "spring_hiring"},
}
JOB = {
    "id": "job-42",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "mid",
    "city": "Berlin",
    "country": "DE",
    "remote": False,
    "url": "https://careers.example.com/jobs/42",
}


def person(
    name: str,
    *,
    role_family: str = "data",
    tz: str = "Europe/Berlin",
    consent: str | None = "granted",
    recent: int = 0,
) -> Profile:
    profile = Profile(candidate_id=f"c_{name}0000", created_at=T0)
    fields = {
        "email": f"{name}@example.org",
        "first_name": name.title(),
        "country": "DE",
        "city": "Berlin",
        "seniority": "mid",
        "role_family": role_family,
        "language": "en",
        "timezone": tz,
    }
    for key, value in fields.items():
        profile.fields[key] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    if consent:
        for purpose in ("events", "marketing", "job_alerts"):
            profile.consent[purpose] = ConsentState(
                status=consent, source="talent.crm", observed_at=T0
            )
    for n in range(recent):
        profile.recent[f"s{n}"] = SentRecord(
            at=NOW - timedelta(days=n + 1), purpose="job_alerts", template="job_alert"
        )
    return profile


POOL = [
    person("ada"),
    person("ben", role_family="design"),
    person("cat", consent="withdrawn"),
    person("ivy", tz="Pacific/Auckland"),
    person("jim", recent=3),  # three job alerts this week: the weekly cap
]


@pytest.fixture
def api(aws, context, monkeypatch):
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.campaigns import wiring as campaigns
    from talentops.explain import wiring

    sqs = aws.client("sqs")
    preview_queue = sqs.create_queue(QueueName="campaign-previews")["QueueUrl"]
    preview_arn = sqs.get_queue_attributes(QueueUrl=preview_queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    monkeypatch.setenv("CAMPAIGN_PREVIEW_QUEUE_URL", preview_queue)
    wiring.reset()
    campaigns.reset()
    put_profiles(aws.client("dynamodb"), TABLE, POOL)
    handler = load_handler("api")
    worker = load_handler("campaign_worker")

    def call(path: str, query: dict[str, str] | None = None, *, iam: bool = True, **kw: Any):
        method = kw.pop("method", "GET")
        response = api_call(
            handler, context, method, path, query=query, iam=iam, body=kw.pop("body", None)
        )
        return response["statusCode"], json_body(response)

    def preview(campaign_id: str) -> dict[str, Any]:
        """The campaign's preview job: POST (202), its segments through the worker, GET."""
        path = f"/admin/campaigns/{campaign_id}/preview"
        status, started = call(path, method="POST")
        assert status == 202, started
        while batch := sqs.receive_message(QueueUrl=preview_queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for m in batch:
                result = worker.handler(sqs_event([m], preview_arn), context)
                assert result == {"batchItemFailures": []}, result
                sqs.delete_message(QueueUrl=preview_queue, ReceiptHandle=m["ReceiptHandle"])
        status, done = call(path)
        assert status == 200 and done["preview"] == "done", done
        return done

    call.preview = preview  # type: ignore[attr-defined]
    yield call
    wiring.reset()
    campaigns.reset()


def explain(api, name: str, **query: str) -> tuple[int, Any]:
    return api(f"/admin/candidates/c_{name}0000/explain", query)


def failing(body: dict[str, Any]) -> set[str]:
    return {s["check"] for s in body["steps"] if not s["passed"]}


def test_a_message_is_explained_with_decides_outcome_and_every_step(api) -> None:
    status, body = explain(api, "ada", message="event_attended_followup")
    assert status == 200, body
    assert body["candidate_id"] == "c_ada0000"
    assert body["subject"] == {"message": "event_attended_followup", "purpose": "events"}
    assert body["at"] == NOW.isoformat()
    assert (body["outcome"], body["reason"]) == ("send", None)
    assert body["variant"] and body["steps"][-1]["check"] == "variant"
    assert body["steps"][0]["check"] == "candidate"
    status, body = explain(api, "cat", message="event_attended_followup")
    assert (body["outcome"], body["reason"]) == ("suppress", "consent_withdrawn")
    assert failing(body) == {"consent (events)"} and body["variant"] is None


def test_a_campaign_is_explained_as_its_preview_decides(api) -> None:
    status, created = api("/admin/campaigns", method="POST", body=SPRING)
    assert status == 201, created
    campaign_id = created["campaign_id"]
    found = {name: explain(api, name, campaign=campaign_id)[1] for name in ("ada", "ben", "ivy")}
    assert (found["ada"]["outcome"], found["ada"]["variant"]) == ("send", "default")
    assert (found["ben"]["outcome"], found["ben"]["reason"]) == ("not_eligible", "not_in_segment")
    assert failing(found["ben"]) == {"segment"}
    assert (found["ivy"]["outcome"], found["ivy"]["reason"]) == ("defer", "quiet_hours")
    assert "Pacific/Auckland" in next(
        s["why"] for s in found["ivy"]["steps"] if s["check"] == "quiet hours and contact budget"
    )
    # The preview counts the same.
    preview = api.preview(campaign_id)
    assert preview["deferred"] == {"quiet_hours": 1}
    assert preview["in_segment"] == 4


def test_a_job_alert_is_explained_with_matching_cap_and_budget(api) -> None:
    from talentops.adapters.listings import ListingsRepository
    from talentops.models.events import JobInfo

    ListingsRepository(TABLE).put_job(JobInfo.model_validate(JOB), NOW - timedelta(hours=1))
    status, body = explain(api, "ada", job="job-42")
    assert status == 200, body
    assert (body["outcome"], body["subject"]["job"]) == ("send", "job-42")
    checks = [s["check"] for s in body["steps"]]
    assert checks[:2] == ["candidate", "matches the job"] and "contact budget" in checks
    _, body = explain(api, "ben", job="job-42")
    assert (body["outcome"], body["reason"]) == ("not_eligible", "not_matched")
    _, body = explain(api, "jim", job="job-42")
    assert (body["outcome"], body["reason"]) == ("suppress", "frequency_cap")


def test_a_journey_is_explained_from_its_instance_or_as_it_would_start(api) -> None:
    from talentops.adapters.journeys import JourneyRepository
    from talentops.content.catalogue import load_catalogue
    from talentops.delivery.budget import ContactPolicy
    from talentops.journeys.engine import CandidateEvent, start
    from talentops.journeys.loader import load_journeys, messages_of
    from tests.support.cfn import ROOT

    status, body = explain(api, "ada", journey="job_nurture")
    assert status == 200, body
    assert body["outcome"] == "send" and body["subject"]["message"] == "job_nurture"
    assert body["subject"]["send_at"] == (NOW + timedelta(days=3)).isoformat()
    assert "would enter" in next(s["why"] for s in body["steps"] if s["check"] == "journey entry")

    # An instance that began two days ago: its nudge goes out tomorrow.
    catalogue = load_catalogue(str(ROOT / "templates"))
    [nurture] = [
        j
        for j in load_journeys(ROOT / "templates" / "journeys", messages_of(catalogue))
        if j.name == "job_nurture"
    ]
    began = NOW - timedelta(days=2)
    started = start(
        nurture,
        candidate_id="c_ada0000",
        profile=POOL[0],
        stimulus=CandidateEvent("Candidate Job Viewed", "e-1", began, "job-42"),
        now=began,
        policy=ContactPolicy(),
    )
    assert started is not None and started.instance is not None
    instance = started.instance
    JourneyRepository(TABLE).save(
        "c_ada0000",
        instance.instance_id,
        instance.model_dump(mode="json"),
        instance.seq,
        expected_seq=None,
        outbox=[],
        ended=False,
    )
    _, body = explain(api, "ada", journey="job_nurture")
    assert body["subject"]["instance_id"] == instance.instance_id
    assert body["subject"]["send_at"] == (began + timedelta(days=3)).isoformat()
    assert "now at step give_time" in body["steps"][1]["why"]


def test_a_moment_before_the_candidate_joined_says_so(api) -> None:
    status, body = explain(api, "ada", message="event_attended_followup", at="2026-10-01T09:00:00Z")
    assert status == 200, body
    assert (body["outcome"], body["reason"]) == ("not_eligible", "not_yet_in_pool")
    assert body["at"] == "2026-10-01T09:00:00+00:00"
    [step] = body["steps"]
    assert step["check"] == "candidate" and "before the candidate joined" in step["why"]
    # A later moment in the past is judged: the candidate step says how.
    _, body = explain(api, "ada", message="event_attended_followup", at="2026-11-20T09:00:00Z")
    assert body["outcome"] == "send" and "as held now" in body["steps"][0]["why"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"message": "no_such_message"}, "unknown_message"),
        ({"campaign": "cmp_0000000000000000"}, "unknown_campaign"),
        ({"campaign": "not-a-campaign-id"}, "unknown_campaign"),
        ({"journey": "no_such_journey"}, "unknown_journey"),
        ({"job": "job-unknown"}, "unknown_job"),
    ],
)
def test_an_unknown_subject_is_404_with_its_code(api, query, code) -> None:
    status, body = explain(api, "ada", **query)
    assert (status, body["error"]["code"]) == (404, code)


@pytest.mark.parametrize("candidate", ["c_nobody0000", "not-an-id"])
def test_an_unknown_candidate_is_404(api, candidate) -> None:
    status, body = api(f"/admin/candidates/{candidate}/explain", {"message": "job_alert"})
    assert (status, body["error"]["code"]) == (404, "unknown_candidate")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"message": "job_alert", "journey": "event"},
        {"message": "job_alert", "at": "yesterday"},
        {"message": "job_alert", "at": "2026-12-01T09:00:00"},  # no timezone
        {"message": "job_alert", "at": "9999-12-31T23:59:59Z"},
        {"message": "job_alert", "at": "1999-12-31T23:59:59Z"},
    ],
)
def test_zero_or_several_subjects_or_a_bad_moment_is_400(api, query) -> None:
    status, body = explain(api, "ada", **query)
    assert (status, body["error"]["code"]) == (400, "invalid_request"), body


def test_without_iam_it_is_403(api) -> None:
    status, body = api("/admin/candidates/c_ada0000/explain", {"message": "job_alert"}, iam=False)
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_explaining_writes_and_sends_nothing(api, aws) -> None:
    before = scan_table()
    for query in (
        {"message": "event_attended_followup"},
        {"journey": "job_nurture"},
        {"journey": "event"},
        {"message": "job_alert"},
    ):
        status, _ = explain(api, "ada", **query)
        assert status == 200
    assert scan_table() == before
    assert aws.sent_emails() == [] and aws.drain() == []


# -- the population -----------------------------------------------------------------------------


def test_why_not_breaks_the_pool_down_by_first_reason(api) -> None:
    status, created = api("/admin/campaigns", method="POST", body=SPRING)
    assert status == 201
    status, body = api("/admin/why-not", {"campaign": created["campaign_id"]})
    assert status == 200, body
    assert body["subject"] == {"kind": "campaign", "name": created["campaign_id"]}
    assert (body["scanned"], body["reached"], body["complete"]) == (5, 1, True)
    assert body["by_variant"] == {"default": 2}  # ada now, ivy in her morning
    assert body["deferred"]["quiet_hours"]["example"] == "c_ivy0000"
    not_reached = body["not_reached"]
    # jim's three job alerts this week leave a campaign no room before it gives up.
    assert {k: v["count"] for k, v in not_reached.items()} == {
        "consent_withdrawn": 1,
        "frequency_cap": 1,
        "not_in_segment": 1,
    }
    assert not_reached["frequency_cap"]["example"] == "c_jim0000"
    assert not_reached["not_in_segment"]["example"] == "c_ben0000"
    assert not_reached["consent_withdrawn"]["why"].startswith("consent (marketing): ")
    # The same counts as the campaign's preview.
    preview = api.preview(created["campaign_id"])
    assert preview["suppressed"] == {"consent_withdrawn": 1, "frequency_cap": 1}
    assert preview["would_send"] == body["reached"] + body["deferred_total"]
    assert preview["scanned"] - preview["in_segment"] == not_reached["not_in_segment"]["count"]


def test_why_not_before_anyone_joined_and_its_refusals(api) -> None:
    status, body = api(
        "/admin/why-not", {"message": "event_attended_followup", "at": "2026-01-01T00:00:00Z"}
    )
    assert status == 200
    assert body["not_reached"]["not_yet_in_pool"]["count"] == 5 and body["reached"] == 0
    for query, expected in (
        ({}, 400),
        ({"message": "job_alert", "job": "job-42"}, 400),
        ({"message": "job_alert", "limit": "0"}, 400),
        ({"journey": "nope"}, 404),
    ):
        status, body = api("/admin/why-not", query)
        assert status == expected, (query, body)
    status, _ = api("/admin/why-not", {"message": "job_alert"}, iam=False)
    assert status == 403


# -- the CLI against the API function ----------------------------------------------------------


def test_the_cli_explains_through_the_api_function(api, aws, context, capsys) -> None:
    """scripts/explain.py's signed request, handed to the API handler as API Gateway would
    (with its IAM authorizer's context), and what it prints for a person."""
    from urllib.parse import parse_qsl, urlsplit

    from scripts import explain as cli
    from scripts.campaign import HttpResult
    from tests.support.apigw import http_event

    handler = load_handler("api")

    def gateway(method, url, headers, body, timeout):
        parts = urlsplit(url)
        event = http_event(
            method, parts.path, headers=dict(headers), query=dict(parse_qsl(parts.query))
        )
        assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
        event["requestContext"]["authorizer"] = {"iam": {"accessKey": "AKIDLOCALCAMPAIGNCLI"}}
        response = handler.handler(event, context)
        return HttpResult(response["statusCode"], response["body"].encode())

    code = cli.main(["c_cat0000", "--message", "event_attended_followup"], transport=gateway)
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0] == (
        f"c_cat0000 and message event_attended_followup, at {NOW.isoformat()}"
    )
    assert "  ✗ consent (events): " in out and "  ✓ suppression list: " in out
    assert out.splitlines()[-1] == (
        "outcome: suppress (would be held back), reason consent_withdrawn"
    )
    code = cli.main(["why-not", "--message", "event_attended_followup"], transport=gateway)
    out = capsys.readouterr().out
    assert code == 0 and "consent_withdrawn  c_cat0000" in out
    assert cli.main(["c_nobody0000", "--message", "job_alert"], transport=gateway) == 1
    assert "404 unknown_candidate" in capsys.readouterr().err

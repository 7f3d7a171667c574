"""The message routes through the API handler under moto: `POST /admin/messages/{name}/render`
answers what the candidate would get and writes nothing; `POST /admin/messages/{name}/test`
sends real (moto) SES emails to seed addresses only, marked [TEST], untracked, without a
decision, a budget trace or an announcement."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord
from tests.conftest import TABLE, load_handler
from tests.support.apigw import json_body
from tests.support.job_alerts import put_profiles
from tests.support.privacy import api_call, scan_table

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
SEEDS = "qa@talent.example.com, Lead@Talent.example.com"
ADA = "c_ada0000000001"
CONFIGURATION_SET = "talentops-test"
URL = re.compile(r"""https?://[^\s"'<>]+""")


def ada() -> Profile:
    profile = Profile(candidate_id=ADA, created_at=NOW - timedelta(days=30))
    fields = {
        "email": "ada.keller@example.org",
        "first_name": "Adelheid",
        "last_name": "Keller",
        "country": "DE",
        "city": "Berlin",
        "language": "de",
        "seniority": "senior",
        "role_family": "data",
        "timezone": "Europe/Berlin",
    }
    for name, value in fields.items():
        profile.fields[name] = FieldValue(
            value=value, source="talent.ats", observed_at=NOW - timedelta(days=2)
        )
    for purpose in ("events", "job_alerts", "marketing"):
        profile.consent[purpose] = ConsentState(
            status="granted", source="talent.crm", observed_at=NOW - timedelta(days=2)
        )
    # One send this week: the contact budget's trace, which a test must leave as it is.
    profile.recent["earlier"] = SentRecord(
        at=NOW - timedelta(days=1), purpose="events", template="event_reminder"
    )
    return profile


@pytest.fixture
def api(aws, context, monkeypatch):
    monkeypatch.setenv("TEST_SEED_LIST", SEEDS)
    monkeypatch.setenv("SES_CONFIGURATION_SET", CONFIGURATION_SET)
    aws.client("sesv2").create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops import wiring

    wiring.reset()
    put_profiles(aws.client("dynamodb"), TABLE, [ada()])
    handler = load_handler("api")

    def call(path: str, body: Any = None, *, iam: bool = True) -> tuple[int, Any]:
        response = api_call(handler, context, "POST", path, body=body, iam=iam)
        return response["statusCode"], json_body(response)

    yield call
    wiring.reset()


@pytest.fixture
def ses_requests(api):
    """The parameters of every SES SendEmail the process makes."""
    from talentops.adapters.aws import client

    seen: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    client("sesv2").meta.events.register("provide-client-params.sesv2.SendEmail", capture)
    return seen


def sent(aws) -> list[tuple[bytes, email.message.EmailMessage]]:
    """What moto's SES received: the raw bytes and the parsed message."""
    out = []
    for message in aws.sent_emails():
        raw = message.raw_data.encode() if isinstance(message.raw_data, str) else message.raw_data
        out.append((raw, email.message_from_bytes(raw, policy=policy.default)))
    return out


def links(*texts: str) -> list[str]:
    return [u for text in texts for u in URL.findall(text)]


def assert_untracked(*texts: str) -> None:
    found = links(*texts)
    assert found, "the message links somewhere"
    for url in found:
        assert "t=" not in url and "token=" not in url, url


# -- render ---------------------------------------------------------------------------------


def test_render_fills_the_candidates_data_and_a_sample_event_without_writing_anything(api, aws):
    before = scan_table()
    status, body = api("/admin/messages/event_attended_followup/render", {"candidate_id": ADA})
    assert status == 200, body
    # The rules choose the German variant for her (language de), as a send would.
    assert body["message"] == "event_attended_followup"
    assert body["variant"] == "de"
    assert body["candidate_id"] == ADA
    assert body["trigger"] == {"detail_type": "Candidate Event Attended", "sent_by": "catalogue"}
    assert body["subject"] == "Danke für Ihren Besuch: Data Summit"
    assert "Adelheid" in body["text"] and "Adelheid" in body["html"]
    assert "Data Summit" in body["html"]
    assert_untracked(body["text"], body["html"])
    # Nothing sent, written or announced.
    assert aws.sent_emails() == []
    assert scan_table() == before
    assert aws.drain() == []


def test_render_takes_the_variant_asked_for(api):
    status, body = api(
        "/admin/messages/event_attended_followup/render",
        {"candidate_id": ADA, "variant": "default"},
    )
    assert status == 200, body
    assert body["variant"] == "default"
    assert body["subject"] == "Thanks for coming to Data Summit: your next steps"


def test_render_without_a_candidate_shows_the_sample_profile(api):
    status, body = api("/admin/messages/spring_hiring/render", {})
    assert status == 200, body
    assert body["candidate_id"] is None
    assert body["trigger"] == {"detail_type": "Campaign Launched", "sent_by": "campaign"}
    # The sample profile is a senior data candidate (content/check.py's complete profile).
    assert body["variant"] == "senior"
    assert "senior data roles" in body["subject"]
    # No body at all is the same request.
    status, bare = api("/admin/messages/spring_hiring/render")
    assert status == 200, bare
    assert (bare["variant"], bare["subject"]) == (body["variant"], body["subject"])


@pytest.mark.parametrize(
    ("message", "detail_type", "sent_by", "shows"),
    [
        ("job_alert", "Job Opened", "job alerts", "Data Engineer"),
        ("job_nurture", "Candidate Job Viewed", "journey job_nurture", "Analytics Engineer"),
        ("event_reminder", "Candidate Event Registered", "journey event", "Data Summit"),
        ("repermission_events", "Candidate Consent Expiring: events", "catalogue", "Example"),
    ],
)
def test_render_carries_what_the_messages_trigger_would(api, message, detail_type, sent_by, shows):
    status, body = api(f"/admin/messages/{message}/render", {"candidate_id": ADA})
    assert status == 200, body
    assert body["trigger"] == {"detail_type": detail_type, "sent_by": sent_by}
    assert shows in body["html"]
    assert_untracked(body["text"], body["html"])


@pytest.mark.parametrize(
    ("path", "request_body", "status", "code"),
    [
        ("/admin/messages/no_such_message/render", {}, 404, "unknown_message"),
        ("/admin/messages/job_alert/render", {"candidate_id": "c_nobody000000"}, 404, None),
        ("/admin/messages/job_alert/render", {"candidate_id": "not-an-id"}, 404, None),
        ("/admin/messages/job_alert/render", {"variant": "fr"}, 422, "unknown_variant"),
        ("/admin/messages/job_alert/render", {"colour": "red"}, 400, "invalid_request"),
    ],
)
def test_render_refusals_are_json_errors(api, path, request_body, status, code):
    got, body = api(path, request_body)
    assert got == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    else:
        assert body["error"]["code"] == "unknown_candidate"


def test_the_routes_need_iam(api, aws):
    for route, request in (("render", {}), ("test", {"to": ["qa@talent.example.com"]})):
        status, body = api(f"/admin/messages/job_alert/{route}", request, iam=False)
        assert status == 403, body
        assert body["error"]["code"] == "forbidden"
    assert aws.sent_emails() == []


# -- test sends -------------------------------------------------------------------------------


def test_a_test_send_reaches_the_seeds_marked_untracked_and_records_nothing(api, aws, ses_requests):
    before = scan_table()
    status, body = api(
        "/admin/messages/job_alert/test",
        {"candidate_id": ADA, "to": ["qa@talent.example.com", "LEAD@talent.example.com"]},
    )
    assert status == 200, body
    assert body["variant"] == "de"
    assert body["subject"].startswith("[TEST] Neue Stelle für Sie: Data Engineer")
    assert [s["to"] for s in body["sent"]] == ["qa@talent.example.com", "LEAD@talent.example.com"]
    assert all(s["ses_message_id"] for s in body["sent"])

    mails = sent(aws)
    assert sorted(str(m["To"]) for _, m in mails) == [
        "LEAD@talent.example.com",
        "qa@talent.example.com",
    ]
    for raw, mail in mails:
        assert str(mail["Subject"]) == body["subject"]
        assert str(mail["Subject"]).startswith("[TEST] ")
        # No tracking: no token in any link, no unsubscribe header, no decision header.
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Adelheid" in text
        assert_untracked(text, html)
        assert mail["List-Unsubscribe"] is None
        assert mail["X-TalentOps-Decision"] is None
        assert b"token=" not in raw and b"?t=" not in raw
    # SES was asked without the configuration set (no open pixel, no click rewriting, no
    # engagement events) and without the decision tags.
    assert len(ses_requests) == 2
    for params in ses_requests:
        assert "ConfigurationSetName" not in params
        assert "EmailTags" not in params
        assert params["Destination"]["ToAddresses"][0] in {
            "qa@talent.example.com",
            "LEAD@talent.example.com",
        }
    # No decision, no budget trace, nothing on the bus.
    after = scan_table()
    assert after == before
    assert not [i for i in after if i["sk"]["S"].startswith("DECISION#")]
    [profile] = [i for i in after if i["sk"]["S"] == "PROFILE"]
    assert set(profile["recent"]["M"]) == {"earlier"}
    assert aws.drain() == []


def test_a_test_send_of_the_sample_profile(api, aws):
    status, body = api("/admin/messages/event_reminder/test", {"to": ["qa@talent.example.com"]})
    assert status == 200, body
    assert body["candidate_id"] is None
    [(_, mail)] = sent(aws)
    assert str(mail["Subject"]) == "[TEST] See you tomorrow at Data Summit"


def test_an_address_off_the_seed_list_is_named_and_nothing_is_sent(api, aws):
    status, body = api(
        "/admin/messages/job_alert/test",
        {"candidate_id": ADA, "to": ["qa@talent.example.com", "someone@elsewhere.example"]},
    )
    assert status == 422, body
    assert body["error"]["code"] == "not_a_seed_address"
    message = body["error"]["message"]
    assert "someone@elsewhere.example" in message and "to[1]" in message
    # Only that address: not the seed before it, nothing of the candidate's.
    assert "qa@talent.example.com" not in message
    assert "Adelheid" not in message and "ada.keller" not in message
    assert aws.sent_emails() == []


@pytest.mark.parametrize(
    "to",
    [[], [f"qa{i}@talent.example.com" for i in range(11)], "qa@talent.example.com"],
)
def test_the_recipient_list_is_bounded(api, aws, to):
    status, body = api("/admin/messages/job_alert/test", {"to": to})
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request"
    assert aws.sent_emails() == []


def test_unknown_variant_and_message_send_nothing(api, aws):
    status, body = api(
        "/admin/messages/job_alert/test", {"variant": "nope", "to": ["qa@talent.example.com"]}
    )
    assert (status, body["error"]["code"]) == (422, "unknown_variant")
    status, body = api("/admin/messages/nope/test", {"to": ["qa@talent.example.com"]})
    assert (status, body["error"]["code"]) == (404, "unknown_message")
    assert aws.sent_emails() == []


def test_without_a_seed_list_no_test_is_sent(api, aws, monkeypatch):
    from talentops import wiring

    monkeypatch.setenv("TEST_SEED_LIST", "")
    wiring.reset()
    status, body = api("/admin/messages/job_alert/test", {"to": ["qa@talent.example.com"]})
    assert status == 422, body
    assert "seed list is empty" in body["error"]["message"]
    assert aws.sent_emails() == []

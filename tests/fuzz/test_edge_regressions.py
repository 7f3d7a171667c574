"""The hostile inputs of issue 11 that ended in a 500, a crash or a leak, each pinned as an
example (the fuzz suite found or confirms them; these keep them fixed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from talentops.errors import InvalidEventError
from talentops.models.ses import SesEventDetail, parse_ses_event
from talentops.tokens import TokenSigner
from tests.fuzz.strategies import envelope, sqs_event
from tests.support.apigw import http_event

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
KEY = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
def token(aws, functions, context) -> str:
    now = datetime.now(UTC)
    answer = functions["ingest_profile"].handler(
        envelope(
            "Candidate Profile Updated",
            {
                "candidate": {"email": "ada@example.org"},
                "observed_at": (now - timedelta(hours=1)).isoformat(),
                "fields": {"email": "ada@example.org", "country": "DE"},
            },
        ),
        context,
    )
    return TokenSigner(KEY).issue(
        candidate_id=answer["candidate_id"],
        purpose="events",
        message_id="m_1",
        scope="unsub",
        now=now,
        ttl=timedelta(days=1),
    )


def _error(answer: dict) -> dict:
    assert answer["headers"]["Content-Type"] == "application/json"
    return json.loads(answer["body"])["error"]


@pytest.mark.parametrize(
    "body",
    ["[" * 3_000 + "]" * 3_000, '{"a":' * 40 + "1" + "}" * 40],
    ids=["6 KB of brackets", "40 nested objects"],
)
@pytest.mark.parametrize("label", ["application/json", "text/plain", None])
def test_deep_json_on_track_is_400_not_a_recursion_error(aws, functions, context, body, label):
    headers = {"content-type": label} if label else {}
    event = http_event("POST", "/track", headers=headers, body=body)
    answer = functions["api"].handler(event, context)
    assert answer["statusCode"] == 400
    assert _error(answer)["code"] == "malformed_body"


def test_a_5000_digit_number_is_400_not_a_value_error(aws, functions, context):
    body = '{"type": "page_viewed", "url": "https://careers.example.com/", "n": ' + "9" * 5000 + "}"
    event = http_event("POST", "/track", headers={"content-type": "application/json"}, body=body)
    answer = functions["api"].handler(event, context)
    assert answer["statusCode"] == 400 and "digits" in _error(answer)["message"]


def test_digits_and_brackets_inside_strings_are_data(aws, functions, context):
    url = "https://careers.example.com/" + "9" * 200 + "[" * 50
    body = json.dumps({"type": "page_viewed", "url": url})
    event = http_event("POST", "/track", headers={"content-type": "application/json"}, body=body)
    assert functions["api"].handler(event, context)["statusCode"] == 202


def _one_click(token: str, fields: int) -> dict:
    body = "&".join([f"f{n}=x" for n in range(fields)] + ["List-Unsubscribe=One-Click"])
    return http_event(
        "POST",
        "/unsubscribe",
        query={"token": token},
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
        body=body,
    )


def test_a_crowded_form_with_a_token_not_ours_is_401(aws, functions, context):
    answer = functions["api"].handler(_one_click("v2.k0.not.ours", 25), context)
    assert answer["statusCode"] == 401


def test_a_crowded_form_with_our_token_is_400_and_changes_nothing(aws, functions, context, token):
    answer = functions["api"].handler(_one_click(token, 25), context)
    assert answer["statusCode"] == 400 and "too many fields" in _error(answer)["message"]
    assert functions["api"].handler(_one_click(token, 3), context)["statusCode"] == 200


def test_a_crowded_preferences_form_with_a_token_not_ours_is_401(aws, functions, context):
    event = _one_click("v2.k0.not.ours", 25)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/preferences"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /preferences"
    assert functions["api"].handler(event, context)["statusCode"] == 401


def _ses(detail: dict) -> dict:
    return envelope("Email Bounced", detail, source="aws.ses")


def test_a_malformed_ses_event_is_refused_without_the_address(aws, functions, context):
    bad = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": "ada@example.org"},
    }
    with pytest.raises(InvalidEventError) as refused:
        functions["ses_feedback"].handler(_ses(bad), context)
    assert "bounce.bouncedRecipients" in str(refused.value)
    assert "ada@example.org" not in str(refused.value)
    with pytest.raises(InvalidEventError):
        functions["ses_feedback"].handler(_ses([1, 2]), context)  # type: ignore[arg-type]


def test_an_ses_send_record_carries_its_tags_and_headers():
    event = parse_ses_event(
        _ses(
            {
                "eventType": "Send",
                "mail": {
                    "messageId": "0102-abc",
                    "timestamp": "2026-12-04T10:00:00.000Z",
                    "destination": ["ada@example.org"],
                    "tags": {"decision_id": ["d" * 32], "ses:configuration-set": ["cs"]},
                    "headers": [{"name": "X-Decision-Id", "value": "d" * 32}],
                },
                "send": {},
            }
        )
    )
    assert isinstance(event.detail, SesEventDetail) and event.detail.kind == "Send"
    assert event.detail.mail is not None
    assert event.detail.mail.tag("decision_id") == "d" * 32
    assert event.detail.mail.header("x-decision-id") == "d" * 32


def test_a_malformed_job_alert_message_fails_alone_with_its_reason(aws, functions, context):
    good_job = {
        "id": "job-1",
        "title": "Data Engineer",
        "role_family": "data",
        "seniority": "senior",
        "city": "Berlin",
        "country": "DE",
        "remote": False,
        "url": "https://careers.example.com/jobs/job-1",
    }
    good = {
        "job": good_job,
        "event_id": "e-1",
        "opened_at": "2026-12-01T00:00:00Z",
        "candidates": ["c_nobody0001"],
    }
    no_id = {**good, "job": {k: v for k, v in good_job.items() if k != "id"}}
    answer = functions["job_alert_worker"].handler(
        sqs_event(json.dumps(no_id), "{not json", json.dumps(good)), context
    )
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == ["m-0", "m-1"]
    reasons = [str(exc) for _, exc, _ in functions["job_alert_worker"].processor.exceptions]
    assert all(r.startswith("job alert message:") for r in reasons), reasons
    assert "job.id" in reasons[0]


def test_an_own_profile_change_that_does_not_fit_is_refused(aws, functions, context):
    event = envelope(
        "Candidate Profile Changed",
        {"candidate_id": "ada@example.org", "changed": {}},
        source="talent.personalization",
    )
    with pytest.raises(InvalidEventError) as refused:
        functions["journeys"].handler(event, context)
    assert "ada@example.org" not in str(refused.value)
    event["detail"] = "not an object"
    with pytest.raises(InvalidEventError):
        functions["journeys"].handler(event, context)

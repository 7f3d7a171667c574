"""The first journey through the real handlers under moto (tables from template.yaml)."""

from __future__ import annotations

import email
import json
from datetime import timedelta
from email import policy

import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.errors import InvalidEventError
from tests.support.events import behaviour, consent, envelope, profile


def _mails(aws):
    out = []
    for m in aws.sent_emails():
        msg = email.message_from_bytes(
            m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data,
            policy=policy.default,
        )
        out.append(msg)
    return out


def _seed(handlers, context, address, country="DE", status="granted", **fields):
    handlers["ingest_profile"].handler(
        profile(
            address,
            first_name="Ada",
            country=country,
            seniority="mid",
            role_family="data",
            **fields,
        ),
        context,
    )
    if status:
        # Granted a day before the clock, not on a fixed date: a fixed grant lapses (24 months)
        # as the calendar moves on, and the messages below would stop.
        granted_at = (SYSTEM_CLOCK.now() - timedelta(days=1)).isoformat()
        handlers["ingest_profile"].handler(
            consent(address, status, observed_at=granted_at), context
        )


def test_attended_and_no_show_get_different_messages_naming_the_event(aws, handlers, context):
    _seed(handlers, context, "ada@example.org")
    _seed(handlers, context, "bob@example.org")
    aws.drain()
    handlers["journeys"].handler(behaviour("Attended", "ada@example.org"), context)
    handlers["journeys"].handler(behaviour("No-Show", "bob@example.org"), context)
    mails = _mails(aws)
    assert len(mails) == 2
    subjects = [str(m["Subject"]) for m in mails]
    assert subjects[0] != subjects[1]
    for m in mails:
        assert "Data & AI Careers Summit" in str(m["Subject"])
        text = m.get_body(("plain",)).get_content()
        html = m.get_body(("html",)).get_content()
        assert "Data & AI Careers Summit" in text
        assert "Data &amp; AI Careers Summit" in html
        assert m["List-Unsubscribe"].startswith("<http://127.0.0.1:3000/unsubscribe?token=v2.")
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "t=v2." in html
    sent = [e for e in aws.drain() if e["detail-type"] == "Message Sent"]
    assert {e["detail"]["template"] for e in sent} == {
        "event_attended_followup",
        "event_no_show_followup",
    }


def test_eu_candidate_without_consent_is_suppressed_with_the_trigger(aws, handlers, context):
    _seed(handlers, context, "eve@example.org", status=None)
    aws.drain()
    event = behaviour("Attended", "eve@example.org", event_id="trigger-123")
    handlers["journeys"].handler(event, context)
    assert _mails(aws) == []
    [suppressed] = [e for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert suppressed["detail"]["reason"] == "no_consent"
    assert suppressed["detail"]["trigger"] == {
        "detail_type": "Candidate Event Attended",
        "event_id": "trigger-123",
    }


def test_us_candidate_without_record_gets_the_follow_up(aws, handlers, context):
    _seed(handlers, context, "sam@example.org", country="US", status=None)
    handlers["journeys"].handler(behaviour("Attended", "sam@example.org"), context)
    assert len(_mails(aws)) == 1


def test_withdrawal_beats_an_older_grant_that_arrives_later(aws, handlers, context):
    _seed(handlers, context, "wil@example.org", status=None)
    ingest = handlers["ingest_profile"].handler
    ingest(consent("wil@example.org", "withdrawn", observed_at="2026-11-10T09:00:00Z"), context)
    ingest(consent("wil@example.org", "granted", observed_at="2026-11-01T09:00:00Z"), context)
    handlers["journeys"].handler(behaviour("Attended", "wil@example.org"), context)
    assert _mails(aws) == []
    reasons = [
        e["detail"]["reason"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"
    ]
    assert reasons == ["consent_withdrawn"]


def test_the_same_fact_twice_gives_one_email(aws, handlers, context):
    _seed(handlers, context, "dup@example.org")
    first = behaviour("Attended", "dup@example.org")
    again = behaviour("Attended", "dup@example.org")  # a producer resend: same fact, new id
    handlers["journeys"].handler(first, context)
    handlers["journeys"].handler(first, context)  # EventBridge redelivery: same id
    handlers["journeys"].handler(again, context)
    assert len(_mails(aws)) == 1
    kinds = [(e["detail-type"], e["detail"].get("reason")) for e in aws.drain()]
    assert kinds.count(("Message Sent", None)) == 2  # the redelivery re-announces the send
    assert ("Message Suppressed", "duplicate") in kinds


def test_hostile_fields_stay_inert(aws, handlers, context):
    _seed(handlers, context, "mal@example.org", city="{{ 7*7 }}<script>alert(1)</script>")
    handlers["ingest_profile"].handler(
        profile(
            "mal@example.org", first_name="{{ config }}<b>x</b>", observed_at="2026-11-02T09:00:00Z"
        ),
        context,
    )
    handlers["journeys"].handler(behaviour("Attended", "mal@example.org"), context)
    [mail] = _mails(aws)
    html = mail.get_body(("html",)).get_content()
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "{{ config }}" in html


def test_header_injection_is_refused_at_the_contract(aws, handlers, context):
    bad = profile("inj@example.org", first_name="Eve\r\nBcc: victim@example.org")
    with pytest.raises(InvalidEventError) as err:
        handlers["ingest_profile"].handler(bad, context)
    assert "first_name" in str(err.value)
    assert "victim" not in str(err.value)


def test_malformed_event_raises_a_specific_error_in_one_function(aws, handlers, context):
    # An event message goes to journeys and record_event: record_event dead-letters it with
    # the reason, journeys drops it (one DLQ for one malformed fact).
    from tests.conftest import load_handler

    bad = envelope(
        "Candidate Event Attended",
        {
            "candidate": {"email": "x@example.org"},
            "observed_at": "2026-11-01T00:00:00Z",
            "event": {"id": "e", "name": "n", "starts_at": "soon"},
        },
    )
    with pytest.raises(InvalidEventError, match="event.starts_at"):
        load_handler("record_event").handler(bad, context)
    assert handlers["journeys"].handler(bad, context) == {"dropped": "malformed"}
    # A job view goes to journeys alone: there it raises.
    with pytest.raises(InvalidEventError, match="job"):
        handlers["journeys"].handler(
            envelope(
                "Candidate Job Viewed",
                {"candidate": {"email": "x@example.org"}, "observed_at": "2026-11-01T00:00:00Z"},
            ),
            context,
        )


def test_unknown_candidate_is_suppressed(aws, handlers, context):
    handlers["journeys"].handler(behaviour("Attended", "nobody@example.org"), context)
    reasons = [
        e["detail"]["reason"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"
    ]
    assert reasons == ["unknown_candidate"]


def _decisions() -> list[dict]:
    from talentops.adapters.dynamo import from_item
    from tests.support.privacy import scan_table

    return [
        from_item(i) for i in scan_table() if i["sk"]["S"].startswith("DECISION#") and "inputs" in i
    ]


def test_a_decision_records_its_inputs_and_is_explained_again_at_its_time(aws, handlers, context):
    """Issue 14, item 3: the decision record carries the content versions and the fields it
    read (under 4 KB); the explanation of the decision at its time reproduces it, and after
    a change of the profile names the field that changed."""
    from tests.conftest import load_handler
    from tests.support.apigw import json_body
    from tests.support.privacy import api_call

    _seed(handlers, context, "rec@example.org", language="en")
    handlers["journeys"].handler(behaviour("Attended", "rec@example.org"), context)
    [record] = [d for d in _decisions() if d["template"] == "event_attended_followup"]
    size = len(json.dumps({k: v for k, v in record.items() if k not in ("pk", "sk")}, default=str))
    assert size < 4096
    inputs = record["inputs"]
    assert set(inputs["content"]) == {"catalogue", "journeys", "policy"}
    assert all(len(v) == 12 for v in inputs["content"].values())
    assert {"email", "country", "language", "seniority"} <= set(inputs["fields"])
    assert "first_name" not in inputs["fields"]  # never read by this message's rules
    assert inputs["fields"]["seniority"][:2] == ["mid", "talent.crm"]
    assert inputs["consent"][:2] == ["granted", "talent.careers-site"]
    candidate_id = record["candidate_id"]

    api = load_handler("api")

    def explain() -> dict:
        response = api_call(
            api,
            context,
            "GET",
            f"/admin/candidates/{candidate_id}/explain",
            query={"decision": record["decision_id"]},
            iam=True,
        )
        assert response["statusCode"] == 200, response
        return json_body(response)

    found = explain()
    assert found["reproduced"] is True and found["changed"] == []
    assert (found["outcome"], found["variant"]) == ("send", record["variant"])
    assert found["decision"]["decision_id"] == record["decision_id"]

    handlers["ingest_profile"].handler(
        profile("rec@example.org", observed_at="2026-12-04T09:00:00Z", seniority="senior"), context
    )
    later = explain()
    assert later["reproduced"] is True  # the recorded inputs still give the recorded send
    # The update observed the address again (the same value) and changed the seniority.
    changed = {c["name"]: c for c in later["changed"]}
    assert set(changed) == {"email", "seniority"}
    assert changed["email"]["why"].startswith("field email observed again, the same value")
    change = changed["seniority"]
    assert (change["kind"], change["name"]) == ("field", "seniority")
    assert change["then"][0] == "mid" and change["now"][0] == "senior"
    assert (record["variant"], later["current"]["variant"]) == ("default", "senior")
    assert later["outcome_changed"] is True

    missing = api_call(
        api,
        context,
        "GET",
        f"/admin/candidates/{candidate_id}/explain",
        query={"decision": "0" * 32},
        iam=True,
    )
    assert missing["statusCode"] == 404
    assert json_body(missing)["error"]["code"] == "unknown_decision"

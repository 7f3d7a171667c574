"""Pure parts of issue #4: retention arithmetic and interactions, SES feedback parsing, the
address hash, the ingest screen, and log redaction."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from talentops.adapters.suppression import SuppressionEntry, address_hash, suppress_pk
from talentops.models.state import ConsentState, FieldValue, Profile
from talentops.observability import get_logger, redact
from talentops.privacy.feedback import parse_ses_event
from talentops.privacy.retention import RetentionPolicy, add_months
from talentops.privacy.screening import AddressScreen

T0 = datetime(2026, 1, 31, 12, tzinfo=UTC)


def _profile(country="DE", created=T0):
    p = Profile(candidate_id="c_unit0001", created_at=created)
    p.fields["country"] = FieldValue(value=country, source="talent.ats", observed_at=created)
    return p


def test_add_months_clamps_the_day():
    assert add_months(T0, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert add_months(T0, 6) == datetime(2026, 7, 31, 12, tzinfo=UTC)
    assert add_months(T0, 24) == datetime(2028, 1, 31, 12, tzinfo=UTC)
    assert add_months(datetime(2027, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)


def test_retention_is_per_country_with_a_default():
    policy = RetentionPolicy()
    assert policy.expires_at(_profile("DE")) == add_months(T0, 6)
    assert policy.expires_at(_profile("FR")) == add_months(T0, 24)
    assert policy.expires_at(_profile("US")) == add_months(T0, 24)
    custom = RetentionPolicy.from_json('{"countries": {"de": 3, "US": null}, "default_months": 12}')
    assert custom.expires_at(_profile("DE")) == add_months(T0, 3)
    assert custom.expires_at(_profile("US")) is None
    assert custom.expires_at(_profile("FR")) == add_months(T0, 12)
    with pytest.raises(ValueError):
        RetentionPolicy.from_json('{"countries": {"DE": 0}}')
    with pytest.raises(ValueError):
        RetentionPolicy.from_json('{"months": 3}')


def test_only_real_interactions_move_the_last_interaction():
    p = _profile()
    later = T0 + timedelta(days=40)
    p.behaviours["email_opened"] = {"at": (later + timedelta(days=5)).isoformat()}
    p.behaviours["event_no_show"] = {"at": (later + timedelta(days=6)).isoformat()}
    p.behaviours["consent_expiring:_events"] = {"at": (later + timedelta(days=7)).isoformat()}
    p.fields["city"] = FieldValue(value="Berlin", source="talent.crm", observed_at=later)
    p.consent["events"] = ConsentState(
        status="withdrawn", source="talent.privacy", observed_at=later
    )
    assert RetentionPolicy().last_interaction(p) == T0
    p.behaviours["event_registered"] = {"at": later.isoformat()}
    assert RetentionPolicy().last_interaction(p) == later
    p.fields["skills"] = FieldValue(
        value=["sql"], source="talent.careers-site", observed_at=later + timedelta(days=1)
    )
    assert RetentionPolicy().last_interaction(p) == later + timedelta(days=1)
    p.consent["marketing"] = ConsentState(
        status="granted", source="talent.preference-centre", observed_at=later + timedelta(days=2)
    )
    assert RetentionPolicy().last_interaction(p) == later + timedelta(days=2)


def _ses(kind, **extra):
    return {"eventType": kind, "mail": {"destination": ["x@example.org"]}, **extra}


def test_ses_feedback_parsing():
    hard = parse_ses_event(
        _ses(
            "Bounce",
            bounce={
                "bounceType": "Permanent",
                "bounceSubType": "NoEmail",
                "bouncedRecipients": [
                    {"emailAddress": "Ada <ADA@Example.org>"},
                    {"emailAddress": "ada@example.org"},
                ],
            },
        )
    )
    assert hard.kind == "bounce" and hard.addresses == ("ada@example.org",)
    assert hard.reason == "bounce:NoEmail"
    for soft in ("Transient", "Undetermined"):
        assert parse_ses_event(_ses("Bounce", bounce={"bounceType": soft})).kind == "ignore"
    complaint = parse_ses_event(
        _ses("Complaint", complaint={"complainedRecipients": [{"emailAddress": "b@example.org"}]})
    )
    assert complaint.kind == "complaint" and complaint.addresses == ("b@example.org",)
    not_spam = _ses(
        "Complaint",
        complaint={
            "complaintFeedbackType": "not-spam",
            "complainedRecipients": [{"emailAddress": "b@x.io"}],
        },
    )
    assert parse_ses_event(not_spam).kind == "ignore"
    assert parse_ses_event({"eventType": "Delivery"}).kind == "ignore"
    assert parse_ses_event({}).kind == "ignore"
    sns = parse_ses_event(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bouncedRecipients": [{"emailAddress": "c@example.org"}],
            },
        }
    )
    assert sns.addresses == ("c@example.org",)


def test_the_suppression_key_is_a_hash_of_the_normalized_address():
    assert address_hash(" Ada@Example.ORG ") == address_hash("ada@example.org")
    assert len(address_hash("ada@example.org")) == 64
    assert "ada" not in suppress_pk("ada@example.org")


class _FakeSuppression:
    def __init__(self, entry):
        self.entry = entry
        self.asked = []

    def get(self, address):
        self.asked.append(address)
        return self.entry


def _with_email(address="ada@example.org"):
    p = _profile("US")
    p.fields["email"] = FieldValue(value=address, source="talent.ats", observed_at=T0)
    return p


def test_screen_marks_hard_suppression_and_withdraws_everything_after_an_erasure():
    erased_at = T0 + timedelta(days=1)
    hard = AddressScreen(_FakeSuppression(SuppressionEntry("h", "bounce", T0)))
    p = _with_email()
    assert hard(p, {"email": p.fields["email"]}) == [] and p.suppressed
    erased = AddressScreen(_FakeSuppression(SuppressionEntry("h", "erased", T0, erased_at)))
    p = _with_email()
    p.consent["events"] = ConsentState(status="granted", source="talent.ats", observed_at=T0)
    history = erased(p, {"email": p.fields["email"]})
    assert {purpose for purpose, _ in history} == {"events", "job_alerts", "marketing"}
    assert not p.suppressed
    assert all(s.status == "withdrawn" for s in p.consent.values())
    # A grant observed after the erasure is kept.
    p = _with_email()
    p.consent["events"] = ConsentState(
        status="granted", source="talent.careers-site", observed_at=erased_at + timedelta(seconds=1)
    )
    erased(p, {"email": p.fields["email"]})
    assert p.consent["events"].status == "granted"


def test_screen_is_only_consulted_when_the_address_is_set():
    fake = _FakeSuppression(None)
    p = _with_email()
    assert AddressScreen(fake)(p, {"city": p.fields["country"]}) == []
    assert fake.asked == []
    p.suppressed = True
    AddressScreen(fake)(p, {"email": p.fields["email"]})
    assert fake.asked == ["ada@example.org"] and not p.suppressed  # a new, clean address


def test_redaction_covers_validation_errors_query_strings_and_request_data():
    out = redact(
        {
            "error": "1 validation error [type=x, input_value={'first_name': 'Ada'}, input_type=dict]",
            "path": "/unsubscribe?token=abc.def&x=1",
            "evidence": "signed up as Ada Lovelace",
            "headers": {"cookie": "s=1"},
            "user_agent": "Mozilla",
            "candidate_id": "c_abc123456",
        }
    )
    text = json.dumps(out)
    assert "Ada" not in text and "abc.def" not in text and "Mozilla" not in text
    assert out["candidate_id"] == "c_abc123456"


def test_logged_exceptions_are_redacted(capsys):
    logger = get_logger("redaction-exc")
    try:
        raise ValueError("bad input_value='Grace Hopper', input_type=str for grace@example.org")
    except ValueError:
        logger.exception("failed")
    out = capsys.readouterr().out
    assert "Grace" not in out and "grace@example.org" not in out

"""Issue #4 through the real API handler under moto: one-click unsubscribe (RFC 8058), the
preference centre, and the operations routes (IAM, access export, decisions, erasure)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.tokens import TokenSigner
from tests.conftest import load_handler
from tests.support.events import consent, profile
from tests.support.privacy import (
    api_call,
    attend,
    body_text,
    candidate_id_of,
    capture_source,
    consent_items,
    mails,
    scan_table,
    seed,
    token_of,
    unsubscribe_url,
)

KEY = b"0123456789abcdef0123456789abcdef"  # the `aws` fixture's SSM token key
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def api():
    return load_handler("api")


@pytest.fixture
def sent(aws, handlers, context):
    """A German candidate with an events grant who got the attended follow-up: its token."""
    # Granted a day before the clock, not on the seed's fixed date: that grant lapses
    # (24 months) as the calendar moves on, and no message would be sent.
    granted_at = (SYSTEM_CLOCK.now() - timedelta(days=1)).isoformat()
    seed(handlers, context, "ada@example.org", observed_at=granted_at)
    attend(handlers, context, "ada@example.org")
    [message] = mails(aws)
    aws.drain()
    return {
        "token": token_of(unsubscribe_url(message)),
        "id": candidate_id_of("ada@example.org"),
        "seeded_at": granted_at,
    }


def _status(aws, candidate_id, purpose="events"):
    from talentops import wiring

    profile = wiring.repository().get_profile(candidate_id)
    return profile.consent[purpose].status if purpose in profile.consent else None


# -- unsubscribe ---------------------------------------------------------------------------------


def test_get_on_the_unsubscribe_link_shows_a_page_and_changes_nothing(aws, api, context, sent):
    before = consent_items(sent["id"])
    response = api_call(api, context, "GET", "/unsubscribe", query={"token": sent["token"]})
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    page = body_text(response)
    assert "<form" in page and 'name="List-Unsubscribe"' in page and "events" in page
    assert consent_items(sent["id"]) == before
    assert _status(aws, sent["id"]) == "granted"


def test_one_click_post_withdraws_at_once_and_stops_the_next_message(
    aws, api, handlers, context, sent
):
    facts = capture_source("prefs", "talent.preference-centre")
    response = api_call(
        api,
        context,
        "POST",
        "/unsubscribe",
        query={"token": sent["token"]},
        headers=ONE_CLICK,
        body="List-Unsubscribe=One-Click",
    )
    assert response["statusCode"] == 200
    assert "Location" not in response.get("headers", {})
    assert _status(aws, sent["id"]) == "withdrawn"
    history = [i for i in consent_items(sent["id"]) if i["status"]["S"] == "withdrawn"]
    assert len(history) == 1
    assert history[0]["source"]["S"] == "talent.preference-centre"
    assert "one-click" in history[0]["evidence"]["S"]
    [fact] = facts()
    assert fact["detail-type"] == "Candidate Consent Changed"
    assert fact["detail"]["candidate"] == {"id": sent["id"]}
    assert fact["detail"]["purpose"] == "events" and fact["detail"]["status"] == "withdrawn"
    # The next message is stopped without waiting for any bus round trip.
    attend(handlers, context, "ada@example.org", observed_at=SYSTEM_CLOCK.now().isoformat())
    assert len(mails(aws)) == 1
    [suppressed] = [e for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert suppressed["detail"]["reason"] == "consent_withdrawn"
    # A second one-click is harmless: 200, nothing new recorded or published.
    again = api_call(
        api,
        context,
        "POST",
        "/unsubscribe",
        query={"token": sent["token"]},
        headers=ONE_CLICK,
        body="List-Unsubscribe=One-Click",
    )
    assert again["statusCode"] == 200
    assert len([i for i in consent_items(sent["id"]) if i["status"]["S"] == "withdrawn"]) == 1
    assert facts() == []


def test_one_click_works_with_a_multipart_body(aws, api, context, sent):
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    )
    response = api_call(
        api,
        context,
        "POST",
        "/unsubscribe",
        query={"token": sent["token"]},
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        body=body,
    )
    assert response["statusCode"] == 200
    assert _status(aws, sent["id"]) == "withdrawn"


def _forgeries(token: str) -> list[str]:
    *version_and_kid, payload, sig = token.split(".")  # v2.<kid>.<payload>.<sig>
    head = ".".join(version_and_kid)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    other = TokenSigner(b"another-key-another-key-another!")
    claims = TokenSigner(KEY).verify(token, now=SYSTEM_CLOCK.now())
    forged = other.issue(
        candidate_id=claims.candidate_id,
        purpose="events",
        message_id="m_x",
        scope="unsub",
        now=SYSTEM_CLOCK.now(),
        ttl=timedelta(days=1),
    )
    expired = TokenSigner(KEY).issue(
        candidate_id=claims.candidate_id,
        purpose="events",
        message_id="m_x",
        scope="unsub",
        now=SYSTEM_CLOCK.now() - timedelta(days=100),
        ttl=timedelta(days=90),
    )
    wrong_scope = TokenSigner(KEY).issue(
        candidate_id=claims.candidate_id,
        purpose="events",
        message_id="m_x",
        scope="link",
        now=SYSTEM_CLOCK.now(),
        ttl=timedelta(days=1),
    )
    return [f"{head}.{flipped}.{sig}", forged, expired, wrong_scope, "garbage", token + "x"]


def test_forged_altered_or_expired_tokens_get_4xx_and_change_nothing(aws, api, context, sent):
    before = consent_items(sent["id"])
    for bad in _forgeries(sent["token"]):
        for method, path, kwargs in (
            ("POST", "/unsubscribe", {"headers": ONE_CLICK, "body": "List-Unsubscribe=One-Click"}),
            ("GET", "/unsubscribe", {}),
            ("GET", "/preferences", {}),
            ("POST", "/preferences", {"body": {"purposes": {"events": False}}}),
        ):
            response = api_call(api, context, method, path, query={"token": bad}, **kwargs)
            assert 400 <= response["statusCode"] < 500, (method, path, bad[:12])
    assert consent_items(sent["id"]) == before
    assert _status(aws, sent["id"]) == "granted"


def test_post_without_the_one_click_body_or_token_is_refused(aws, api, context, sent):
    no_body = api_call(
        api,
        context,
        "POST",
        "/unsubscribe",
        query={"token": sent["token"]},
        headers=ONE_CLICK,
        body="confirm=1",
    )
    assert no_body["statusCode"] == 400
    no_token = api_call(
        api, context, "POST", "/unsubscribe", headers=ONE_CLICK, body="List-Unsubscribe=One-Click"
    )
    assert no_token["statusCode"] == 400
    assert json.loads(body_text(no_token))["error"]["code"]
    assert _status(aws, sent["id"]) == "granted"


def test_unsubscribe_link_still_works_after_60_days(aws, api, context, sent, monkeypatch):
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + timedelta(days=61))
    response = api_call(
        api,
        context,
        "POST",
        "/unsubscribe",
        query={"token": sent["token"]},
        headers=ONE_CLICK,
        body="List-Unsubscribe=One-Click",
    )
    assert response["statusCode"] == 200
    assert _status(aws, sent["id"]) == "withdrawn"


# -- preference centre ---------------------------------------------------------------------------


def test_preference_centre_shows_each_purpose_and_its_state(aws, api, context, sent):
    response = api_call(api, context, "GET", "/preferences", query={"token": sent["token"]})
    assert response["statusCode"] == 200
    page = body_text(response)
    for purpose in ("events", "job_alerts", "marketing"):
        assert f'name="{purpose}"' in page
    assert 'id="p-events" name="events" value="on"' in " ".join(page.split())
    assert 'data-state="on"' in page and 'data-state="off"' in page
    assert response["headers"]["Referrer-Policy"] == "no-referrer"
    as_json = api_call(
        api,
        context,
        "GET",
        "/preferences",
        query={"token": sent["token"]},
        headers={"accept": "application/json"},
    )
    states = {p["purpose"]: p for p in json.loads(body_text(as_json))["purposes"]}
    assert states["events"]["on"] and states["events"]["recorded"] == "granted"
    assert not states["marketing"]["on"] and states["marketing"]["recorded"] is None


def test_saving_the_form_records_the_change_with_evidence_and_emits_it(
    aws, api, handlers, context, sent
):
    facts = capture_source("prefs-form", "talent.preference-centre")
    response = api_call(
        api,
        context,
        "POST",
        "/preferences",
        query={"token": sent["token"]},
        headers={"content-type": "application/x-www-form-urlencoded"},
        body="form=preferences&job_alerts=on",
    )
    assert response["statusCode"] == 200
    page = body_text(response)
    assert "Your preferences are saved" in page
    assert _status(aws, sent["id"], "events") == "withdrawn"
    assert _status(aws, sent["id"], "job_alerts") == "granted"
    assert _status(aws, sent["id"], "marketing") == "withdrawn"
    changes = {(f["detail"]["purpose"], f["detail"]["status"]) for f in facts()}
    assert changes == {
        ("events", "withdrawn"),
        ("job_alerts", "granted"),
        ("marketing", "withdrawn"),
    }
    evidence = {
        i["evidence"]["S"]
        for i in consent_items(sent["id"])
        if i["source"]["S"] == "talent.preference-centre"
    }
    assert evidence and all("preference centre form" in e for e in evidence)
    # Saving the same again is idempotent: nothing recorded, nothing published.
    count = len(consent_items(sent["id"]))
    api_call(
        api,
        context,
        "POST",
        "/preferences",
        query={"token": sent["token"]},
        headers={"content-type": "application/x-www-form-urlencoded"},
        body="form=preferences&job_alerts=on",
    )
    assert len(consent_items(sent["id"])) == count and facts() == []


def test_saving_json_answers_json(aws, api, context, sent):
    response = api_call(
        api,
        context,
        "POST",
        "/preferences",
        query={"token": sent["token"]},
        body={"purposes": {"marketing": True, "events": True}},
    )
    assert response["statusCode"] == 200
    data = json.loads(body_text(response))
    assert data["changed"] == [{"purpose": "marketing", "status": "granted"}]
    assert _status(aws, sent["id"], "marketing") == "granted"
    bad = api_call(
        api,
        context,
        "POST",
        "/preferences",
        query={"token": sent["token"]},
        body={"purposes": {"spam": True}},
    )
    assert bad["statusCode"] == 400
    wrong_type = api_call(
        api,
        context,
        "POST",
        "/preferences",
        query={"token": sent["token"]},
        headers={"content-type": "text/plain"},
        body="marketing",
    )
    assert wrong_type["statusCode"] == 415


# -- operations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/candidates"),
        ("GET", "/admin/candidates/c_abcdef123456"),
        ("GET", "/admin/candidates/c_abcdef123456/decisions"),
        ("DELETE", "/admin/candidates/c_abcdef123456"),
    ],
)
def test_unsigned_admin_calls_get_403(aws, api, context, method, path):
    response = api_call(api, context, method, path, query={"email": "ada@example.org"})
    assert response["statusCode"] == 403
    assert json.loads(body_text(response))["error"]["code"] == "forbidden"


def test_access_export_holds_profile_provenance_consent_history_messages_and_decisions(
    aws, api, handlers, context, sent
):
    found = api_call(
        api, context, "GET", "/admin/candidates", query={"email": "ADA@example.org "}, iam=True
    )
    assert found["statusCode"] == 200
    assert json.loads(body_text(found)) == {"candidate_id": sent["id"]}
    response = api_call(api, context, "GET", f"/admin/candidates/{sent['id']}", iam=True)
    assert response["statusCode"] == 200
    export = json.loads(body_text(response))
    fields = export["profile"]["fields"]
    assert fields["email"]["value"] == "ada@example.org"
    assert fields["country"] == {
        "value": "DE",
        "source": "talent.crm",
        "observed_at": sent["seeded_at"],
    }
    assert export["consent"]["events"]["status"] == "granted"
    assert export["consent"]["events"]["evidence"]
    assert export["consent"]["events"]["mailable"] is True
    [proof] = export["consent_history"]
    assert proof["purpose"] == "events" and proof["status"] == "granted"
    assert proof["source"] == "talent.careers-site" and proof["evidence"]
    [message] = export["messages"]
    assert message["template"] == "event_attended_followup" and message["message_id"]
    assert export["events"] and export["events"][0]["kind"] == "event_attended"
    [decision] = export["decisions"]
    assert decision["outcome"] == "send" and decision["why"]
    decisions = api_call(api, context, "GET", f"/admin/candidates/{sent['id']}/decisions", iam=True)
    assert json.loads(body_text(decisions))["decisions"][0]["variant"] == decision["variant"]
    unknown = api_call(
        api, context, "GET", "/admin/candidates", query={"email": "x@example.org"}, iam=True
    )
    assert unknown["statusCode"] == 404
    malformed = api_call(
        api, context, "GET", "/admin/candidates", query={"email": "not-an-email"}, iam=True
    )
    assert malformed["statusCode"] == 400


def _holds(items, *needles: str) -> list[str]:
    found = []
    for item in items:
        text = json.dumps(item).lower()
        for needle in needles:
            if needle.lower() in text:
                found.append(f"{item['pk']['S']} {item['sk']['S']}: {needle}")
    return found


def test_erasure_leaves_no_id_or_address_and_blocks_mail_after_a_re_import(
    aws, api, handlers, context, sent
):
    api_call(
        api,
        context,
        "POST",
        "/unsubscribe",
        query={"token": sent["token"]},
        headers=ONE_CLICK,
        body="List-Unsubscribe=One-Click",
    )
    aws.drain()
    response = api_call(api, context, "DELETE", f"/admin/candidates/{sent['id']}", iam=True)
    assert response["statusCode"] == 202
    assert _holds(scan_table(), sent["id"], "ada@example.org") == []
    [erased] = [e for e in aws.drain() if e["detail-type"] == "Candidate Erased"]
    assert erased["detail"] == {"candidate_id": sent["id"]}
    assert (
        api_call(api, context, "GET", f"/admin/candidates/{sent['id']}", iam=True)["statusCode"]
        == 404
    )
    assert (
        api_call(api, context, "DELETE", f"/admin/candidates/{sent['id']}", iam=True)["statusCode"]
        == 404
    )
    # The link of an erased candidate reads nothing.
    assert (
        api_call(api, context, "GET", "/preferences", query={"token": sent["token"]})["statusCode"]
        == 404
    )
    # Re-import from the ATS, now in an opt-out country, with an old grant: not mailable.
    handlers["ingest_profile"].handler(
        profile(
            "ada@example.org", observed_at="2026-11-20T09:00:00Z", country="US", first_name="Ada"
        ),
        context,
    )
    handlers["ingest_profile"].handler(
        consent("ada@example.org", "granted", observed_at="2026-11-02T09:00:00Z"), context
    )
    attend(handlers, context, "ada@example.org", observed_at=SYSTEM_CLOCK.now().isoformat())
    assert len(mails(aws)) == 1  # still only the one sent before the erasure
    reasons = [
        e["detail"]["reason"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"
    ]
    assert reasons == ["consent_withdrawn"]
    # A new explicit grant observed after the erasure makes it mailable again.
    later = (SYSTEM_CLOCK.now() + timedelta(minutes=5)).isoformat()
    handlers["ingest_profile"].handler(
        consent("ada@example.org", "granted", observed_at=later), context
    )
    attend(handlers, context, "ada@example.org", observed_at=SYSTEM_CLOCK.now().isoformat())
    assert len(mails(aws)) == 2

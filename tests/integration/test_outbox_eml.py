"""Every .eml the demo writes (scripts/demo.py's write_outbox, from the local stack's outbox,
devstack/outbox.py) is the raw MIME that SES received, byte for byte, and a standard-library
parser finds its text and HTML parts. The mails are sent under moto by the system's own
code: a decided message (compose_email, then the sender with its decision header) and a
test send through the API."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

from devstack.outbox import Outbox
from scripts.demo import write_outbox
from talentops.clock import SYSTEM_CLOCK
from talentops.content.catalogue import load_catalogue
from talentops.delivery.compose import compose_email
from talentops.delivery.context import Brand
from talentops.models.state import Decision, FieldValue, Profile
from talentops.tokens import TokenSigner
from tests.conftest import REGION, SENDER, load_handler
from tests.support.apigw import json_body
from tests.support.cfn import ROOT
from tests.support.privacy import api_call

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
BRAND = Brand(
    company_name="Example Corp",
    sender_name="Exämple Careers",  # an encoded-word From, to keep the bytes honest
    sender_address=SENDER,
    postal_address="1 Example Street, Dublin",
    careers_site_url="https://careers.example.com",
    api_base_url="http://127.0.0.1:3000",
)


def decided_mail() -> tuple[str, bytes]:
    """A message as a send makes it: a decision's composition for a German candidate."""
    catalogue = load_catalogue(str(ROOT / "templates"))
    spec = catalogue.message("repermission_events")
    profile = Profile(candidate_id="c_jurgen000001")
    for name, value in {
        "email": "juergen@example.org",
        "first_name": "Jürgen",
        "language": "de",
    }.items():
        profile.fields[name] = FieldValue(value=value, source="ats", observed_at=NOW)
    decision = Decision(
        decision_id="d_eml000000000001",
        candidate_id=profile.candidate_id,
        trigger={"detail_type": "Candidate Consent Expiring: events", "event_id": "e1"},
        template="repermission_events",
        purpose="events",
        outcome="send",
        variant="de",
        message_id="m_d_eml000000000001",
        decided_at=NOW,
    )
    raw = compose_email(
        catalogue=catalogue,
        brand=BRAND,
        signer=TokenSigner(b"0123456789abcdef0123456789abcdef"),
        token_ttl=timedelta(days=90),
        decision=decision,
        variant=spec.variants[0],
        profile=profile,
        page_url=None,
        payload=lambda _links: {},
    )
    return "juergen@example.org", raw


def test_every_eml_the_demo_writes_is_the_raw_mime_ses_received(
    aws, context, monkeypatch, tmp_path
):
    from moto.core import DEFAULT_ACCOUNT_ID

    from talentops import wiring
    from talentops.adapters.aws import client
    from talentops.adapters.ses import SesSender

    monkeypatch.setenv("TEST_SEED_LIST", "qa@talent.example.com")
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    wiring.reset()
    received: list[bytes] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        received.append(bytes(params["Content"]["Raw"]["Data"]))

    client("sesv2").meta.events.register("provide-client-params.sesv2.SendEmail", capture)

    # A decided message (the decision header goes first, with CRLF), then a test send.
    to, raw = decided_mail()
    SesSender().send_raw(
        sender=SENDER, to=to, raw=raw, decision_id="d_eml000000000001", candidate_id="c_j"
    )
    response = api_call(
        load_handler("api"),
        context,
        "POST",
        "/admin/messages/event_attended_followup/test",
        body={"to": ["qa@talent.example.com"]},
        iam=True,
    )
    assert response["statusCode"] == 200, json_body(response)
    assert len(received) == 2
    assert received[0].startswith(b"X-TalentOps-Decision: d_eml000000000001\r\n")

    mails = Outbox(DEFAULT_ACCOUNT_ID, REGION).messages()
    written = write_outbox(mails, tmp_path / "out")
    emls = sorted(p for p in written if p.suffix == ".eml")
    assert len(emls) == 2 and len(written) == 4
    for path, sent in zip(emls, received, strict=True):
        data = path.read_bytes()
        assert data == sent, path.name
        message = email.message_from_bytes(data, policy=policy.default)
        kinds = {
            part.get_content_type()
            for part in message.walk()
            if part.get_content_maintype() == "text"
        }
        assert {"text/plain", "text/html"} <= kinds, (path.name, kinds)
        assert message.get_body(("plain",)).get_content().strip()
        assert "<html" in message.get_body(("html",)).get_content().lower()
    [decided, test] = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in emls
    ]
    assert str(decided["From"]) == f"Exämple Careers <{SENDER}>"
    assert "Jürgen" in decided.get_body(("plain",)).get_content()
    assert str(test["Subject"]).startswith("[TEST] ")


def test_a_send_that_was_not_raw_gets_no_eml(tmp_path):
    mails = [{"to": ["a@example.org"], "html": "<p>hi</p>", "text": None, "raw": None}]
    written = write_outbox(mails, tmp_path)
    assert [p.name for p in written] == ["demo-01-a.html"]

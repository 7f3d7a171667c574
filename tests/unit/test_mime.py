import email
from datetime import UTC, datetime
from email import policy

from talentops.delivery.mime import OutgoingEmail, build_mime

LONG_URL = "https://api.example.com/unsubscribe?token=v1." + "A" * 300 + "." + "B" * 43


def _mail(**kw):
    args = dict(
        message_id="m_1@talent.example.com",
        sender_name="Example Careers",
        sender_address="careers@talent.example.com",
        to="ada@example.org",
        subject="Thanks for joining Data & AI Summit",
        html="<p>Hi</p>",
        text="Hi",
        sent_at=datetime(2026, 11, 26, tzinfo=UTC),
        unsubscribe_url=LONG_URL,
        unsubscribe_mailto="unsubscribe@talent.example.com",
    )
    args.update(kw)
    return build_mime(OutgoingEmail(**args))


def test_unsubscribe_headers_are_plain_ascii_and_unbroken():
    raw = _mail()
    msg = email.message_from_bytes(raw, policy=policy.default)
    value = " ".join(str(msg["List-Unsubscribe"]).split())
    assert value == f"<{LONG_URL}>, <mailto:unsubscribe@talent.example.com?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header_block = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    line = next(l for l in header_block.splitlines() if l.startswith(b"List-Unsubscribe:"))
    assert LONG_URL.encode() in line  # the URL is never folded or encoded


def test_text_and_html_parts():
    msg = email.message_from_bytes(_mail(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().strip() == "Hi"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Hi</p>"


def test_crlf_never_reaches_a_header():
    raw = _mail(subject="Hello\r\nBcc: victim@example.org", sender_name="X\nBcc: y@example.org")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None
    assert "\n" not in str(msg["Subject"])


def test_non_ascii_subject_is_encoded_and_decodes():
    msg = email.message_from_bytes(_mail(subject="Schön, dass Sie da waren"), policy=policy.default)
    assert str(msg["Subject"]) == "Schön, dass Sie da waren"


def test_the_decision_header_carries_only_what_an_ses_tag_value_may_hold() -> None:
    from talentops.adapters.ses import with_decision_header

    raw = with_decision_header(b"Subject: x\r\n\r\nbody", "cmp_1.a@b\r\nBcc: x")
    assert raw.startswith(b"X-TalentOps-Decision: cmp_1abBccx\r\nSubject: x")

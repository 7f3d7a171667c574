"""devstack/outbox.py parses a sent message with the default policy, its headers read through a
cache: each entry is the one the default policy gives, for the application's own MIME and for
hand-written messages (folded and encoded headers, attachments, several recipients), read
once or again."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from devstack import outbox
from talentops.delivery.mime import OutgoingEmail, build_mime

SENT_AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def _application_mail(subject: str, name: str, html: str, text: str) -> bytes:
    return build_mime(
        OutgoingEmail(
            message_id="m_1@talent.example.com",
            sender_name=name,
            sender_address="careers@talent.example.com",
            to="ada@example.org",
            subject=subject,
            html=html,
            text=text,
            sent_at=SENT_AT,
            unsubscribe_url="https://talent.example.com/u?t=abc",
        )
    )


RAW: list[str | bytes] = [
    _application_mail("See you there", "Careers", "<p>Hello</p>", "Hello"),
    _application_mail(
        "Grüße aus München: Ihre Veranstaltung beginnt bald " * 3,
        "Müller & Söhne Karriere",
        "<p>Schöne Grüße, straße ß \u0130</p>" * 40,
        "Schöne Grüße " * 100,
    ),
    (
        "Message-ID: <m_2@talent.example.com>\r\n"
        'From: "Ada, L." <careers@talent.example.com>\r\n'
        "To: ada@example.org,\r\n Bob <bob@example.org>\r\nCc: carol@example.org\r\n"
        "Subject: =?utf-8?q?Caf=C3=A9?= and\r\n  more\r\nDate: Sun, 06 Dec 2026 09:30:00 +0000\r\n"
        "Received: a\r\nReceived: b\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        '--b1\r\nContent-Type: multipart/alternative; boundary="b2"\r\n\r\n'
        "--b2\r\nContent-Type: text/plain; charset=latin-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\n"
        '--b2\r\nContent-Type: TEXT/HTML; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nPHA+Q2Fmw6k8L3A+\r\n--b2--\r\n"
        "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n"
        "\r\nattached\r\n--b1--\r\n"
    ),
    b"Subject: Hi\r\nTo: \xc3\xa9@example.org\r\n\r\nHello\r\n",
    "Subject: no date, no parts\r\n\r\nHello\r\n",
]


def _sent(raw: str | bytes) -> Any:
    return SimpleNamespace(
        id="ses-1", destinations=["x@example.org"], source="s@example.org", raw_data=raw
    )


@pytest.mark.parametrize("raw", RAW)
def test_a_message_is_described_as_the_default_policy_reads_it(
    raw: str | bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    described = [outbox.describe(_sent(raw)) for _ in range(2)]
    monkeypatch.setattr(outbox, "POLICY", email.policy.default)
    expected = outbox.describe(_sent(raw))
    assert described == [expected, expected]
    assert expected["html"] is not None or expected["text"] is not None


def test_the_cached_policy_answers_the_default_policy_header_objects() -> None:
    for name, value in [
        ("Subject", "=?utf-8?q?Caf=C3=A9?= and\r\n  more"),
        ("To", "Ada <ada@example.org>, bob@example.org"),
        ("Content-Type", 'text/html; charset="utf-8"'),
        ("Date", "Sun, 06 Dec 2026 09:30:00 +0000"),
    ]:
        ours = outbox.POLICY.header_fetch_parse(name, value)
        theirs = email.policy.default.header_fetch_parse(name, value)
        assert (str(ours), type(ours).__mro__[1:], ours.defects) == (
            str(theirs),
            type(theirs).__mro__[1:],
            theirs.defects,
        )
        assert outbox.POLICY.header_fetch_parse(name, ours) is ours

"""Every message the catalogue can produce, as raw MIME, read back with the standard
library's parser (``policy.default``), as a receiving client and the local stack's outbox
read it (issue 12).

Each variant of each catalogue message is composed the way a sender composes it
(``compose_email``: links, context, render, the link gate, the MIME) for sample candidates
and brands, ASCII and not (names, event names and job titles with umlauts, accents, CJK
and emoji, a name of 300 characters, hostile line breaks), and the parse must show:

- the RFC 8058 pair: ``List-Unsubscribe`` holding the message's one-click URL (the same
  URL the links were built with, unfolded, unencoded) and the mailto, and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``;
- ``Message-ID`` and ``Date`` (the decision's time) as the decision says;
- the subject and the sender's name decoded to what was rendered and configured, written
  as RFC 2047 encoded words when they are not ASCII (the raw message is 7-bit);
- the text and HTML parts decoded equal, character for character, to the render;
- no line over 998 octets, no header the data did not ask for, no parser defect;
- the copy a send's claim keeps (``pack``) unpacks to the same bytes.
"""

from __future__ import annotations

import email
import re
import zlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devstack.outbox import describe
from talentops.adapters.ses import with_decision_header
from talentops.content.catalogue import Catalogue, Variant, load_catalogue
from talentops.content.render import RenderedMessage
from talentops.delivery import compose as compose_module
from talentops.delivery.compose import compose_email
from talentops.delivery.context import Brand, Links
from talentops.delivery.mime import OutgoingEmail, build_mime, frame, pack, unpack
from talentops.models.state import ConsentState, Decision, FieldValue, Profile
from talentops.tokens import TokenSigner

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 10, 15, 30, tzinfo=UTC)
SIGNER = TokenSigner(b"0123456789abcdef0123456789abcdef")
ASCII_BRAND = Brand(
    company_name="Example Corp",
    sender_name="Example Careers",
    sender_address="careers@talent.example.com",
    postal_address="1 Example Street, Dublin",
    careers_site_url="https://careers.example.com",
    api_base_url="https://api.example.com",
    unsubscribe_mailto="unsubscribe@talent.example.com",
)
BRANDS = {
    "ascii": ASCII_BRAND,
    "accents": replace(
        ASCII_BRAND,
        company_name="Société Générale d'Études",
        sender_name='Karriere bei Müller & Söhne, "Zürich"',
    ),
    "long": replace(
        ASCII_BRAND,
        company_name="Ünïcödé " * 12,
        sender_name="Ѳ" * 80 + " Careers " + "x" * 120,
    ),
}

# (first name, last name, event name, job title, city)
CANDIDATES = {
    "ascii": ("Ada", "Lovelace", "Data & AI Careers Summit", "Data Engineer", "Dublin"),
    "latin": ("Zoë", "Ñúñez-Østergård", "Karrieretag Zürich: Daten & KI", "Ingénieur·e", "Köln"),
    "wide": ("美咲", "山田", "データ採用デー 🚀", "データエンジニア 東京", "東京"),
    "long": ("Ä" * 300, "B" * 300, "Summit " + "é" * 250, "R" * 400, "Y" * 200),
    "hostile": (
        "Eve\r\nBcc: victim@example.org",
        "=?utf-8?b?QmNjOiB4?=",
        "Summit\nX-Injected: yes",
        "=?utf-8?q?Data?= Engineer\r\n",
        "Berlin\x00",
    ),
}
LINE_LIMIT = 998


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(str(ROOT / "templates"))


def every_variant(catalogue: Catalogue) -> list[tuple[str, Variant]]:
    return [(name, v) for name, spec in catalogue.messages.items() for v in spec.variants]


def _profile(first: str, last: str, city: str) -> Profile:
    profile = Profile(candidate_id="c_mime01")
    fields = {
        "email": "ada@example.org",
        "first_name": first,
        "last_name": last,
        "country": "DE",
        "city": city,
        "timezone": "Europe/Berlin",
        "language": "de",
        "seniority": "senior",
        "role_family": "data_engineering",
    }
    for name, value in fields.items():
        profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=NOW)
    for purpose in ("events", "marketing", "job_alerts"):
        profile.consent[purpose] = ConsentState(
            status="granted", source="talent.crm", observed_at=NOW
        )
    return profile


def _job(title: str, city: str, job_id: str) -> dict[str, Any]:
    return {
        "id": job_id,
        "title": title,
        "role_family": "data_engineering",
        "seniority": "senior",
        "city": city,
        "country": "DE",
        "remote": job_id.endswith("9"),
        "url": f"https://careers.example.com/jobs/{job_id}",
    }


class Composed:
    """One composed message with what went into it: the render and the links."""

    def __init__(self, raw: bytes, rendered: RenderedMessage, links: Links, brand: Brand):
        self.raw = raw
        self.rendered = rendered
        self.links = links
        self.brand = brand


def compose(
    catalogue: Catalogue,
    template: str,
    variant: Variant,
    candidate: str,
    brand: Brand,
    monkeypatch: pytest.MonkeyPatch,
) -> Composed:
    first, last, event_name, title, city = CANDIDATES[candidate]
    seen: dict[str, Any] = {}
    render = compose_module.render_variant

    def spy(*args: Any, **kwargs: Any) -> RenderedMessage:
        seen["rendered"] = render(*args, **kwargs)
        return seen["rendered"]

    monkeypatch.setattr(compose_module, "render_variant", spy)

    def payload(links: Links) -> Mapping[str, Any]:
        seen["links"] = links
        return {
            "event": {
                "id": "ev-1",
                "name": event_name,
                "starts_at": NOW + timedelta(days=1),
                "city": city,
                "url": "https://careers.example.com/events/ev-1",
            },
            "job": {**_job(title, city, "job-7"), "link": links.jobs},
            "jobs": {"similar": [_job(title, city, "job-8"), _job(title, city, "job-9")]},
        }

    spec = catalogue.message(template)
    decision = Decision(
        decision_id="d_mime1",
        candidate_id="c_mime01",
        trigger={"detail_type": "Test", "event_id": "e-1"},
        template=template,
        purpose=spec.purpose,
        outcome="send",
        variant=variant.name,
        message_id="m_d_mime1",
        decided_at=NOW,
    )
    raw = compose_email(
        catalogue=catalogue,
        brand=brand,
        signer=SIGNER,
        token_ttl=timedelta(days=90),
        decision=decision,
        variant=variant,
        profile=_profile(first, last, city),
        page_url="https://careers.example.com/events/ev-1",
        payload=payload,
    )
    return Composed(raw, seen["rendered"], seen["links"], brand)


def _header_block(raw: bytes) -> bytes:
    return raw.split(b"\n\n", 1)[0]


def _raw_header(raw: bytes, name: str) -> str:
    """A top-level header as written (folded lines joined), from the raw bytes."""
    lines = _header_block(raw).decode("ascii").split("\n")
    for i, line in enumerate(lines):
        if line.lower().startswith(name.lower() + ":"):
            value = [line[len(name) + 1 :]]
            for more in lines[i + 1 :]:
                if not more.startswith((" ", "\t")):
                    break
                value.append(more)
            return "\n".join(value)
    raise AssertionError(f"no {name} header")


def check_message(c: Composed) -> EmailMessage:
    raw = with_decision_header(c.raw, "d_mime1")  # as SES receives it
    # 7-bit, no line over 998 octets (the line break excluded), no bare CR.
    assert raw.isascii()
    for line in raw.split(b"\n"):
        assert len(line.rstrip(b"\r")) <= LINE_LIMIT
        assert b"\r" not in line.rstrip(b"\r")

    assert unpack(pack(raw)) == raw  # the claim's copy is the message, byte for byte

    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects, message.defects

    # Only the headers we write, each once: nothing the data asked for.
    names = [k.lower() for k in message.keys()]  # noqa: SIM118 (a Message, not a dict)
    assert sorted(names) == sorted(
        {
            "x-talentops-decision",
            "content-type",
            "mime-version",
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        }
    )

    # RFC 8058: the one-click URL, unfolded and unencoded, and the mailto; then the POST.
    unsubscribe = _raw_header(raw, "List-Unsubscribe")
    targets = re.findall(r"<([^<>]*)>", unsubscribe)
    assert targets == [
        c.links.unsubscribe,
        f"mailto:{c.brand.unsubscribe_mailto}?subject=unsubscribe",
    ]
    assert c.links.unsubscribe.startswith("https://api.example.com/unsubscribe?token=")
    assert "=?" not in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert message["Message-ID"] == "<m_d_mime1@talent.example.com>"
    assert parsedate_to_datetime(str(message["Date"])) == NOW
    assert message["X-TalentOps-Decision"] == "d_mime1"

    # Subject and the sender's name: decoded as given, encoded words when not ASCII.
    subject = c.rendered.subject
    # Rendered subjects are one line already; a NUL, which no header may hold, is dropped.
    assert str(message["Subject"]) == " ".join(subject.replace("\x00", "").split())
    if not subject.isascii():
        assert "=?utf-8?" in _raw_header(raw, "Subject").lower()
    (sender,) = message["From"].addresses
    assert sender.addr_spec == c.brand.sender_address
    assert sender.display_name == " ".join(c.brand.sender_name.split())
    if not c.brand.sender_name.isascii():
        assert "=?utf-8?" in _raw_header(raw, "From").lower()
    (to,) = message["To"].addresses
    assert to.addr_spec == "ada@example.org"

    # Both bodies decode to the render, character for character.
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert not part.defects, part.defects
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] in ("7bit", "base64")
    assert parts[0].get_content() == c.rendered.text
    assert parts[1].get_content() == c.rendered.html
    return message


@pytest.mark.parametrize("brand", sorted(BRANDS))
@pytest.mark.parametrize("candidate", sorted(CANDIDATES))
def test_every_catalogue_message_parses_back_to_its_render(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, candidate: str, brand: str
) -> None:
    variants = every_variant(catalogue)
    assert len(variants) >= 25  # the catalogue this test means to cover
    encodings = set()
    for template, variant in variants:
        c = compose(catalogue, template, variant, candidate, BRANDS[brand], monkeypatch)
        message = check_message(c)
        encodings |= {str(p["Content-Transfer-Encoding"]) for p in message.iter_parts()}
        if candidate == "hostile":
            assert message["Bcc"] is None and message["X-Injected"] is None
    if candidate in ("latin", "wide", "long"):
        assert encodings == {"base64"}  # every part holds non-ASCII text
    if candidate == "ascii" and brand == "ascii":
        assert "7bit" in encodings  # the English variants, nothing but ASCII


def test_the_local_stack_outbox_reads_every_message_as_rendered(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """devstack/outbox.py describes what moto's SES accepted from the same raw bytes."""
    for candidate in ("ascii", "latin"):
        for template, variant in every_variant(catalogue):
            c = compose(catalogue, template, variant, candidate, BRANDS["accents"], monkeypatch)
            raw = with_decision_header(c.raw, "d_mime1")
            sent = SimpleNamespace(id="ses-1", destinations=[], source="", raw_data=raw.decode())
            mail = describe(sent)
            assert mail["message_id"] == "m_d_mime1@talent.example.com"
            assert mail["from"] == "careers@talent.example.com"
            assert mail["to"] == ["ada@example.org"]
            assert mail["subject"] == c.rendered.subject
            assert mail["text"] == c.rendered.text and mail["html"] == c.rendered.html
            assert mail["sent_at"] == NOW.isoformat()
            assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert mail["headers"]["X-TalentOps-Decision"] == "d_mime1"
            assert c.links.unsubscribe in mail["headers"]["List-Unsubscribe"]


def test_the_dictionary_packs_every_catalogue_message_to_under_half(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim is written twice and billed per KB: the preset dictionary (a message of the
    catalogue) must keep paying for itself on every message the catalogue makes. When this
    fails the layout has moved away from the dictionary: make a new one
    (scripts/make_pack_dictionary.py)."""
    ratios = []
    for candidate in ("ascii", "latin", "wide"):
        for template, variant in every_variant(catalogue):
            raw = compose(catalogue, template, variant, candidate, ASCII_BRAND, monkeypatch).raw
            without = len(b"\x00M1" + zlib.compress(frame(raw), 1))
            ratios.append((len(pack(raw)) / without, template, variant.name, candidate))
    assert max(ratios)[0] < 0.5, max(ratios)


# -- bodies and headers at their edges ------------------------------------------------------


def _mail(**kw: Any) -> OutgoingEmail:
    args: dict[str, Any] = dict(
        message_id="m_1@talent.example.com",
        sender_name="Example Careers",
        sender_address="careers@talent.example.com",
        to="ada@example.org",
        subject="Hello",
        html="<p>Hi</p>",
        text="Hi",
        sent_at=datetime(2026, 11, 26, tzinfo=UTC),
        unsubscribe_url="https://api.example.com/unsubscribe?token=v1.abc",
        unsubscribe_mailto="unsubscribe@talent.example.com",
    )
    args.update(kw)
    return OutgoingEmail(**args)


BODIES = [
    "",
    "x",
    "ends with a line break\n",
    "trailing spaces   \nand tabs\t\n \n",
    "a line of 998 " + "a" * 984 + "\nnext",
    "a line of 999 " + "a" * 985,
    "x" * 5000,
    "carriage\r\nreturns\rbare",
    "nul \x00 and bell \x07 and delete \x7f",
    ".\n..\nFrom the start\n",
    "--=_000000000000000000000000\n--=_000000000000000000000000--\n",
    "=?utf-8?b?SGk=?= = =3D =\n=",
    "Grüße, Zoë 🚀\n" * 40,
    "\ud83d lone surrogate",
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_a_body_decodes_to_what_was_given(body: str) -> None:
    raw = build_mime(_mail(text=body, html=f"<p>{body}</p>"))
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\n")) <= LINE_LIMIT
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects
    plain, html = message.iter_parts()
    expected = body.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert plain.get_content() == expected
    assert html.get_content() == f"<p>{expected}</p>"
    assert unpack(pack(raw)) == raw


@pytest.mark.parametrize(
    "subject",
    [
        "plain " * 200,
        "a" * 1200,
        "Grüße " * 100,
        "=?utf-8?b?SGk=?=",
        "tab\tand\x0bvertical\x0cfeed and \x01 control",
        "🚀" * 60,
        '"\\' * 400,
    ],
)
def test_a_subject_decodes_to_what_was_given_in_lines_under_998(subject: str) -> None:
    raw = build_mime(_mail(subject=subject, sender_name=subject))
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\n")) <= LINE_LIMIT
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert not message.defects
    cleaned = " ".join(subject.split())
    assert str(message["Subject"]) == cleaned
    display = message["From"].addresses[0].display_name
    if max(len(w.encode()) for w in cleaned.split(" ")) <= 600:
        assert display == cleaned
    else:  # a single word too long for one line: split, so a reader sees a space in it
        assert display.replace(" ", "") == cleaned.replace(" ", "")
    assert message["From"].addresses[0].addr_spec == "careers@talent.example.com"

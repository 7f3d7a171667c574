"""Writes a new preset dictionary for the copy of a message a send's claim keeps
(talentops/delivery/mime.py ``pack``).

    python scripts/make_pack_dictionary.py NUMBER [--template NAME] [--variant NAME]

The dictionary is one message the shipped catalogue makes (default: the event registration
confirmation, its default variant), composed as a sender composes it for a made-up candidate
(no personal data), framed as ``pack`` frames a message. zlib then finds the layout, the
headers and the wording a message repeats in it rather than in the message itself.

A dictionary is never changed or removed once shipped: a claim packed with it may be
resolved by a later release. When the layout changes so much that messages pack poorly (the
unit test on the catalogue's messages says so), write the next number, ship it, and only in
the release after set ``CURRENT_DICTIONARY`` to it, so that a rollback still reads every
claim. Refuses to overwrite a dictionary.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))
sys.path.insert(0, str(ROOT))

from scripts.check_content import BRAND as CHECK_BRAND  # noqa: E402
from talentops.content.catalogue import load_catalogue  # noqa: E402
from talentops.delivery.compose import compose_email  # noqa: E402
from talentops.delivery.mime import DICTIONARIES, frame  # noqa: E402
from talentops.models.state import ConsentState, Decision, FieldValue, Profile  # noqa: E402
from talentops.tokens import TokenSigner  # noqa: E402

AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
# The content check's made-up brand, with the mailto a deployment configures.
BRAND = replace(CHECK_BRAND, unsubscribe_mailto="unsubscribe@talent.example.com")


def sample_message(template: str, variant_name: str) -> bytes:
    """``template``'s variant composed for a made-up candidate, framed as pack frames it."""
    catalogue = load_catalogue(str(ROOT / "templates"))
    spec = catalogue.message(template)
    variant = next(v for v in spec.variants if v.name == variant_name)
    profile = Profile(candidate_id="c_dictionary")
    fields = {
        "email": "candidate@example.org",
        "first_name": "Alex",
        "last_name": "Example",
        "country": "IE",
        "city": "Dublin",
        "timezone": "Europe/Dublin",
        "language": "en",
        "seniority": "mid",
        "role_family": "data_engineering",
    }
    for name, value in fields.items():
        profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=AT)
    profile.consent[spec.purpose] = ConsentState(
        status="granted", source="talent.careers-site", observed_at=AT
    )
    decision = Decision(
        decision_id="d_dictionary",
        candidate_id=profile.candidate_id,
        trigger={"detail_type": "Candidate Event Registered", "event_id": "e-dictionary"},
        template=template,
        purpose=spec.purpose,
        outcome="send",
        variant=variant.name,
        message_id="m_d_dictionary",
        decided_at=AT,
    )
    event = {
        "id": "evt-example",
        "name": "Careers Evening",
        "starts_at": AT + timedelta(days=7),
        "city": "Dublin",
        "url": "https://careers.example.com/events/evt-example",
    }
    raw = compose_email(
        catalogue=catalogue,
        brand=BRAND,
        signer=TokenSigner(b"d" * 32),
        token_ttl=timedelta(days=90),
        decision=decision,
        variant=variant,
        profile=profile,
        page_url=event["url"],
        payload=lambda links: {"event": event},
    )
    return frame(raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("number", type=int)
    parser.add_argument("--template", default="event_registration_confirmation")
    parser.add_argument("--variant", default="default")
    args = parser.parse_args(argv)
    if not 1 <= args.number <= 255:
        parser.error("a dictionary's number is one octet of the packed copy: 1 to 255")
    path = DICTIONARIES / f"{args.number}.bin"
    if path.exists():
        parser.error(f"{path.relative_to(ROOT)} exists: a shipped dictionary never changes")
    data = sample_message(args.template, args.variant)
    if len(data) > 32 * 1024:
        data = data[-32 * 1024 :]  # zlib reads the last 32 KB of a dictionary
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(ROOT)}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

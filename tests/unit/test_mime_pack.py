"""The copy of a message a send's claim keeps (delivery/mime.py ``pack``/``unpack``): the
message back byte for byte whatever it holds, smaller and cheaper to compress where its
bodies are base64, a fraction of its size where it repeats the catalogue's layout (a preset
dictionary), and claims written before packing or before the dictionaries still read."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talentops.delivery import mime
from talentops.delivery.mime import (
    CURRENT_DICTIONARY,
    DICTIONARIES,
    Mime,
    OutgoingEmail,
    build_mime,
    dictionary,
    frame,
    pack,
    unpack,
)
from talentops.errors import DamagedCopyError, UnknownDictionaryError

GERMAN = (
    "Hallo Ada,\n\nvielen Dank für Ihren Besuch bei Data & AI Careers Summit in Berlin. "
    "Wir hoffen, Sie haben einen guten Eindruck bekommen.\n\n"
) * 30


def _raw(text: str, html: str) -> Mime:
    return build_mime(
        OutgoingEmail(
            message_id="m_1@talent.example.com",
            sender_name="Example Careers",
            sender_address="careers@talent.example.com",
            to="ada@example.org",
            subject="Danke für Ihren Besuch",
            html=html,
            text=text,
            sent_at=datetime(2026, 12, 7, tzinfo=UTC),
            unsubscribe_url="https://api.example.com/unsubscribe?token=v2.abc",
        )
    )


def test_base64_bodies_are_kept_as_their_text_and_come_back_exactly() -> None:
    raw = _raw(GERMAN, f"<p>{GERMAN}</p>")
    assert raw.count(b"Content-Transfer-Encoding: base64") == 2
    packed = pack(raw)
    assert unpack(packed) == raw
    # The text compresses to well under what the message compressed as it is does.
    assert len(packed) < 0.7 * len(zlib.compress(raw, 1))
    stream = zlib.decompressobj(zdict=dictionary(CURRENT_DICTIONARY))
    assert GERMAN.encode() in stream.decompress(packed[4:])


def test_a_7bit_message_and_plain_bytes_are_kept_as_they_are() -> None:
    raw = _raw("Hello Ada", "<p>Hello Ada</p>")
    assert b"base64" not in raw
    for message in (raw, bytes(_raw(GERMAN, "<p>x</p>")), b"", b"\x00M1 not packed"):
        assert unpack(pack(message)) == message
    assert len(pack(raw)) <= len(zlib.compress(raw, 1)) + 16  # a marker, a frame


def test_a_claim_written_before_packing_still_reads() -> None:
    raw = _raw(GERMAN, "<p>x</p>")
    assert unpack(zlib.compress(raw, 1)) == raw


def test_a_claim_packed_before_the_dictionaries_still_reads() -> None:
    raw = _raw(GERMAN, "<p>x</p>")
    assert unpack(b"\x00M1" + zlib.compress(frame(raw), 1)) == raw


def test_every_dictionary_up_to_the_current_one_ships_and_fits_zlibs_window() -> None:
    """A dictionary is never removed: a claim packed with any of them may still be open."""
    numbers = sorted(int(p.stem) for p in DICTIONARIES.glob("*.bin"))
    assert numbers == list(range(1, len(numbers) + 1))
    assert CURRENT_DICTIONARY in numbers
    for number in numbers:
        assert 0 < len(dictionary(number)) <= 32 * 1024


def test_a_copy_packed_with_a_dictionary_this_release_lacks_says_so() -> None:
    packed = pack(_raw("Hello", "<p>Hello</p>"))
    assert packed[3] == CURRENT_DICTIONARY
    with pytest.raises(UnknownDictionaryError, match="dictionary 200"):
        unpack(packed[:3] + bytes((200,)) + packed[4:])


def _dictionary_stream(data: bytes) -> bytes:
    """``data`` compressed from the current dictionary, as pack compresses a frame."""
    compressor = zlib.compressobj(1, zdict=dictionary(CURRENT_DICTIONARY))
    return compressor.compress(data) + compressor.flush()


def test_a_copy_that_does_not_read_back_whole_is_refused_never_partly_returned() -> None:
    """zlib checks a stream only at its end: a copy cut short would otherwise give back what
    it had decoded so far (the headers without the bodies), and the reconciler would send
    it. Every damaged copy raises DamagedCopyError instead."""
    raw = _raw(GERMAN, f"<p>{GERMAN}</p>")
    packed = pack(raw)
    unpacked_before = zlib.decompressobj(zdict=dictionary(CURRENT_DICTIONARY))
    assert unpacked_before.decompress(packed[4 : len(packed) // 2])  # a part would decode
    flipped = packed[:-10] + bytes(b ^ 0xFF for b in packed[-10:])
    m1 = b"\x00M1" + zlib.compress(frame(raw), 1)
    legacy = zlib.compress(raw, 1)
    damaged = {
        "cut in half": packed[: len(packed) // 2],
        "last octet lost": packed[:-1],
        "marker only": packed[:3],
        "marker and dictionary only": packed[:4],
        "bytes after its end": packed + b"extra",
        "its end flipped": flipped,
        "M1 cut short": m1[:-4],
        "M1 with bytes after its end": m1 + b"\x00",
        "legacy cut short": legacy[:-4],
        "legacy with bytes after its end": legacy + b"\x00",
        "not zlib at all": b"\x00M2\x01 this is not a zlib stream",
        "unknown kind of frame": b"\x00M2"
        + bytes((CURRENT_DICTIONARY,))
        + _dictionary_stream(b"X" + (3).to_bytes(4, "big") + b"abc"),
        "frame longer than the data": b"\x00M2"
        + bytes((CURRENT_DICTIONARY,))
        + _dictionary_stream(b"L" + (99).to_bytes(4, "big") + b"abc"),
        "frame header cut short": b"\x00M2"
        + bytes((CURRENT_DICTIONARY,))
        + _dictionary_stream(b"L\x00\x00"),
    }
    for case, copy in damaged.items():
        with pytest.raises(DamagedCopyError):
            unpack(copy)
            pytest.fail(f"{case}: read back")
    assert unpack(packed) == raw and unpack(m1) == raw and unpack(legacy) == raw


def test_a_message_without_pieces_is_packed_as_its_bytes() -> None:
    """A Mime made other than by Mime.of (no pieces) keeps its bytes, not an empty frame."""
    bare = Mime(b"Subject: hello\r\n\r\nbody")
    assert unpack(pack(bare)) == bare


def test_each_dictionary_reads_what_it_packed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy names its dictionary: packed under an older current one, read by the number."""
    raw = _raw(GERMAN, "<p>Danke</p>")
    packed = pack(raw)
    mime._primed.cache_clear()
    monkeypatch.setattr(mime, "CURRENT_DICTIONARY", 99)  # a later release's
    assert unpack(packed) == raw


@given(
    st.lists(
        st.tuples(st.sampled_from([b"L", b"B"]), st.binary(max_size=400)),
        max_size=8,
    )
)
def test_any_pieces_unpack_to_the_message_they_make(pieces: list[tuple[bytes, bytes]]) -> None:
    raw = Mime.of(pieces)
    assert unpack(pack(raw)) == raw
    assert unpack(pack(bytes(raw))) == raw


@given(st.text(max_size=300), st.text(max_size=300))
def test_any_message_built_unpacks_to_itself(text: str, html: str) -> None:
    raw = _raw(text, html)
    assert unpack(pack(raw)) == raw

"""Raw MIME for SES: multipart/alternative (text, then HTML) with the unsubscribe headers.

Written directly rather than through ``email.mime`` and its generator (which base64-encoded
the bodies in pure Python, compiled a regular expression per message to check its boundary
and refolded every header: about 70 % of composing a message). What is written, and why it
stays correct:

- Headers: only ours, one per line, each value cleaned of CR, LF and NUL (header injection
  stays inert: whatever a value holds, it cannot start a header of its own). A subject or a
  sender name that is not plain printable ASCII, holds ``=?`` or a word too long to fold is
  written as RFC 2047 encoded words (UTF-8, base64, at most 75 characters each, folded
  between words), so that it decodes to exactly what was given; a plain one is folded at
  spaces. ``List-Unsubscribe`` stays plain ASCII however long the signed URL is (no encoded
  words, no folding inside a URL).
- Bodies: a part that is printable ASCII (tab and LF allowed) in lines of at most 998
  octets is written as it is (``7bit``: nothing to encode, and a reader sees the text);
  any other (non-ASCII, a CR, a control character, a longer line) is base64 in lines of
  76 (``binascii``, in C). Quoted-printable was measured too: ``binascii.b2a_qp`` costs
  about 8 us a KB (an HTML part of 11 KB: 80-100 us, close to a bare render of the
  message), base64 under 1 us a KB. Either way the message is 7-bit, no line is longer than
  998 octets, and the part decodes to the rendered text, character for character.
- The boundary is ``=_`` and 24 random hex digits: base64 never holds ``_``, and a 7bit
  part is written only when it does not hold the boundary.
- Lines end in LF, as the message did when ``email.generator`` wrote it; SES takes either.

tests/unit/test_mime_catalogue.py parses every message the catalogue can produce with the
standard library's parser (``policy.default``) and checks all of this.
"""

from __future__ import annotations

import binascii
import io
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr
from functools import cache, partial
from pathlib import Path

from ..errors import DamagedCopyError, UnknownDictionaryError

# A header line is folded before this many characters where it can be (RFC 5322 says
# SHOULD 78); never longer than 998 octets.
_FOLD_AT = 78
# An encoded word is at most 75 characters: "=?utf-8?b?" + base64 of <= 45 octets + "?=".
_WORD_OCTETS = 45
_LONGEST_PLAIN_WORD = 900
_LINE_LIMIT = 998
# What a 7bit body may hold: tab, LF and printable ASCII (no CR, NUL or other controls).
_SEVEN_BIT = b"\t\n" + bytes(range(0x20, 0x7F))


def _clean(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").replace("\x00", "").split())


def _plain(value: str) -> bool:
    """Printable ASCII that an RFC 2047 decoder leaves as it is."""
    return value.isascii() and value.isprintable() and "=?" not in value


def _encoded_words(value: str) -> list[str]:
    """``value`` as UTF-8 base64 encoded words, each at most 75 characters, split only
    between characters (a decoder joins adjacent encoded words without the space)."""
    words: list[str] = []
    chunk = bytearray()
    for char in value:
        octets = char.encode("utf-8", "surrogatepass")
        if len(chunk) + len(octets) > _WORD_OCTETS:
            words.append(_word(chunk))
            chunk = bytearray()
        chunk += octets
    if chunk or not words:
        words.append(_word(chunk))
    return words


def _word(octets: bytes | bytearray) -> str:
    return f"=?utf-8?b?{binascii.b2a_base64(octets, newline=False).decode('ascii')}?="


def _fold(name: str, words: list[str]) -> str:
    """``Name: w1 w2 ...`` with a line break before a word that would pass _FOLD_AT."""
    lines = []
    line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > _FOLD_AT and line != f"{name}:":
            lines.append(line)
            line = ""
        line += f" {word}"
    lines.append(line)
    return "\n".join(lines)


def _unstructured(name: str, value: str) -> str:
    """An unstructured header (Subject): folded at spaces when plain, else encoded words."""
    value = _clean(value)
    words = value.split(" ")
    if _plain(value) and all(len(w) <= _LONGEST_PLAIN_WORD for w in words):
        return _fold(name, words)
    return _fold(name, _encoded_words(value))


def _mailbox(name: str, display: str, address: str) -> str:
    """``Name: display <address>`` (display quoted as RFC 5322 needs, or encoded words).

    An address header's display name is a phrase, whose parsers (Python's among them) keep
    a space between adjacent encoded words: so a name is encoded a whole word (or several)
    at a time, and the spaces of the name are the spaces between encoded words."""
    display = _clean(display)
    address = _clean(address)
    if not display:
        return f"{name}: {address}"
    if _plain(display) and len(display) <= _LONGEST_PLAIN_WORD:
        line = f"{name}: {formataddr((display, address))}"
        if len(line) <= _LINE_LIMIT:  # quoting may double it
            return line
    words: list[str] = []
    group = ""
    for word in display.split(" "):
        joined = f"{group} {word}" if group else word
        if group and len(joined.encode("utf-8", "surrogatepass")) > _WORD_OCTETS:
            words.append(_word(group.encode("utf-8", "surrogatepass")))
            joined = word
        group = joined
    words.append(_word(group.encode("utf-8", "surrogatepass")))
    # A single word too long for one line of 998 is split (a reader sees a space in it).
    fits = [w for word in words for w in (_split_word(word) if len(word) > 900 else [word])]
    return _fold(name, [*fits, f"<{address}>"])


def _split_word(word: str) -> list[str]:
    octets = binascii.a2b_base64(word[len("=?utf-8?b?") : -2])
    return _encoded_words(octets.decode("utf-8", "surrogatepass"))


def _seven_bit(data: bytes, boundary: str) -> bool:
    """Whether a part's octets can be written as they are (7bit): printable ASCII (tab and
    LF allowed) in lines of at most 998 octets that cannot be read as the boundary; else
    the part is base64 in lines of 76."""
    return (
        data.isascii()
        and not data.translate(None, _SEVEN_BIT)
        and _lines_fit(data)
        and boundary.encode("ascii") not in data
    )


def _base64_lines(data: bytes) -> bytes:
    """``data`` in base64, in lines of 76 joined by LF (no LF after the last)."""
    encoded = binascii.b2a_base64(data, newline=False)
    # Lines of 76 cut in C (a read of 76 called until it gives b""): half the CPU of a
    # slice per line in a comprehension.
    return b"\n".join(iter(partial(io.BytesIO(encoded).read, 76), b""))


def _lines_fit(data: bytes) -> bool:
    """No line of ``data`` is longer than _LINE_LIMIT octets, found without a step per line:
    from the start ``q`` of a line, any line that ends before ``q + _LINE_LIMIT`` is short
    enough, so only the line around that position is measured, and the next look starts
    after it (about one look per KB)."""
    size = len(data)
    q = 0
    while size - q > _LINE_LIMIT:
        p = q + _LINE_LIMIT
        end = data.find(b"\n", p)
        if end == -1:
            end = size
        start = data.rfind(b"\n", q, p) + 1 or q
        if end - start > _LINE_LIMIT:
            return False
        q = end + 1
    return True


_LITERAL, _DECODED = b"L", b"B"  # a piece of a message: as written, or base64's octets


class Mime(bytes):
    """A message as ``build_mime`` wrote it (its bytes), and the pieces it was written from
    in order: text as written (``_LITERAL``) or the octets a base64 body encodes
    (``_DECODED``, written in lines of 76). ``pack`` keeps the pieces."""

    pieces: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def of(cls, pieces: Sequence[tuple[bytes, bytes]]) -> Mime:
        raw = cls(b"".join(_base64_lines(d) if k == _DECODED else d for k, d in pieces))
        raw.pieces = tuple(pieces)
        return raw


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str  # without angle brackets
    sender_name: str
    sender_address: str
    to: str
    subject: str
    html: str
    text: str
    sent_at: datetime
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None


def build_mime(mail: OutgoingEmail) -> Mime:
    boundary = f"=_{os.urandom(12).hex()}"
    headers = [
        'Content-Type: multipart/alternative; boundary="' + boundary + '"',
        "MIME-Version: 1.0",
        _mailbox("From", mail.sender_name, mail.sender_address),
        f"To: {_clean(mail.to)}",
        _unstructured("Subject", mail.subject),
        f"Date: {format_datetime(mail.sent_at)}",
        f"Message-ID: <{_clean(mail.message_id)}>",
    ]
    if mail.unsubscribe_url:
        targets = [f"<{_clean(mail.unsubscribe_url)}>"]
        if mail.unsubscribe_mailto:
            targets.append(f"<mailto:{_clean(mail.unsubscribe_mailto)}?subject=unsubscribe>")
        # One line while it fits (a URL is never folded); else one target a line.
        fits = len("List-Unsubscribe: ") + sum(len(t) + 2 for t in targets) <= _LINE_LIMIT
        sep = ", " if fits else ",\n "
        headers.append("List-Unsubscribe: " + sep.join(targets))
        headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    out = ["\n".join(headers), "\n\n"]
    pieces: list[tuple[bytes, bytes]] = []
    for subtype, content in (("plain", mail.text), ("html", mail.html)):
        data = content.encode("utf-8", "surrogatepass")
        seven_bit = _seven_bit(data, boundary)
        out.append(
            f"--{boundary}\n"
            f'Content-Type: text/{subtype}; charset="utf-8"\n'
            f"Content-Transfer-Encoding: {'7bit' if seven_bit else 'base64'}\n\n"
        )
        if seven_bit:
            out.append(content)
        else:  # the base64 body, written by Mime.of from the octets it encodes
            pieces += (_LITERAL, _encoded(out)), (_DECODED, data)
            out = []
        # The line break before a delimiter belongs to the delimiter: the part is the body.
        out.append("\n")
    out.append(f"--{boundary}--\n")
    pieces.append((_LITERAL, _encoded(out)))
    return Mime.of(pieces)


def _encoded(text: list[str]) -> bytes:
    return "".join(text).encode("utf-8", "replace")  # ASCII but for a To it was given


# -- the copy a send's claim keeps ----------------------------------------------------------

# A packed message starts with one of these markers. ``\x00M2`` and one octet: compressed
# with that preset dictionary (pack_dictionaries/<n>.bin); ``\x00M1``: compressed without
# one (claims written before the dictionaries); a claim written before packing holds the
# message compressed as it is (a zlib stream: it starts with 0x78).
_PACKED = b"\x00M1"
_PACKED_WITH = b"\x00M2"
# The dictionary pack uses. A dictionary is never changed or removed once shipped: a claim
# packed with it may be resolved by a later release (the number is in the packed bytes).
CURRENT_DICTIONARY = 1
DICTIONARIES = Path(__file__).with_name("pack_dictionaries")


@cache
def dictionary(number: int) -> bytes:
    """Preset dictionary ``number``: a message the catalogue makes, for a made-up candidate
    (scripts/make_pack_dictionary.py), framed as ``pack`` frames a message. zlib finds in
    it the layout, the headers and the wording every message repeats."""
    try:
        return (DICTIONARIES / f"{number}.bin").read_bytes()
    except FileNotFoundError as exc:
        raise UnknownDictionaryError(
            f"a claim's copy was packed with dictionary {number}, which this release lacks"
        ) from exc


@cache
def _primed(number: int) -> zlib._Compress:
    return zlib.compressobj(1, zdict=dictionary(number))


def frame(raw: bytes) -> bytes:
    """The message as pack compresses it: its pieces, each a kind, a length and its data."""
    # A Mime made other than by Mime.of has no pieces: its bytes are the one piece.
    pieces = raw.pieces if isinstance(raw, Mime) and raw.pieces else ((_LITERAL, bytes(raw)),)
    return b"".join(kind + len(data).to_bytes(4, "big") + data for kind, data in pieces)


def pack(raw: bytes) -> bytes:
    """The copy of a message that a send's claim keeps (delivery/leases.py), compressed.

    A message ``build_mime`` wrote is kept as its pieces, each base64 body as the octets it
    encodes: zlib finds little to match in base64, so a message with non-ASCII bodies
    compressed as it is cost about three times the CPU of its text (20 KB: about 190 us
    against 70) for twice the size. Other bytes are kept as they are. The stream starts from
    a preset dictionary, a message of the catalogue: a message of 14 KB packs to about 1.3
    KB rather than 3.8 (the claim is written twice and billed by the KB). ``unpack`` gives
    ``raw`` back, byte for byte."""
    compressor = _primed(CURRENT_DICTIONARY).copy()
    body = compressor.compress(frame(raw)) + compressor.flush()
    return _PACKED_WITH + bytes((CURRENT_DICTIONARY,)) + body


def unpack(packed: bytes) -> bytes:
    """The message ``pack`` was given (or that a claim written before it kept compressed).

    A copy that does not read back whole raises DamagedCopyError, never a part of the
    message: a zlib stream cut short or followed by other bytes (zlib checks a stream's
    checksum only at its end, so a stream cut short would otherwise give back what it had
    decoded so far), a frame of an unknown kind or longer than the data. A copy packed with
    a dictionary this release lacks raises UnknownDictionaryError."""
    if packed.startswith(_PACKED_WITH):
        if len(packed) <= len(_PACKED_WITH) + 1:
            raise DamagedCopyError("the copy ends after its marker")
        number = packed[len(_PACKED_WITH)]
        framed = _inflate(packed[len(_PACKED_WITH) + 1 :], dictionary(number))
    elif packed.startswith(_PACKED):
        framed = _inflate(packed[len(_PACKED) :])
    else:
        return _inflate(packed)
    data = memoryview(framed)
    pieces = []
    at = 0
    while at < len(data):
        kind = bytes(data[at : at + 1])
        size = int.from_bytes(data[at + 1 : at + 5], "big")
        if kind not in (_LITERAL, _DECODED) or at + 5 + size > len(data):
            raise DamagedCopyError(f"the copy's frame at octet {at} is malformed")
        pieces.append((kind, bytes(data[at + 5 : at + 5 + size])))
        at += 5 + size
    return Mime.of(pieces)


def _inflate(stream: bytes, zdict: bytes | None = None) -> bytes:
    """The zlib ``stream`` decompressed, which must end where its bytes end."""
    inflater = zlib.decompressobj() if zdict is None else zlib.decompressobj(zdict=zdict)
    try:
        data = inflater.decompress(stream) + inflater.flush()
    except zlib.error as exc:
        raise DamagedCopyError(f"the copy does not decompress ({exc})") from None
    if not inflater.eof:
        raise DamagedCopyError("the copy is cut short")
    if inflater.unused_data:
        raise DamagedCopyError("the copy has bytes after its end")
    return data

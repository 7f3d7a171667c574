"""Signed, scoped, expiring tokens for the links of emails, with a key id and a key set.

Format: ``v2.<kid>.<payload>.<signature>``. ``kid`` names the signing key in the key set
(``[A-Za-z0-9_-]``, at most 32 characters); the payload and the signature are base64url
without padding. The payload is compact JSON: ``c`` candidate id, ``p`` purpose (or ``*``),
``m`` message id, ``s`` scope (``link`` for the careers site, ``unsub`` for unsubscribe and
preferences), ``e`` expiry (epoch seconds). The signature is HMAC-SHA256 over
``v2.<kid>.<payload>`` with the key ``kid`` names.

The key set (:class:`KeySet`) holds the current key, which signs, and at most one previous
key, which still verifies, so that links already sent keep working across a rotation until
the previous key is retired (docs/operations.md). It is stored in one SSM SecureString:
JSON ``{"current": "<kid>", "keys": {"<kid>": "<secret>", ...}}``, or, as before key ids
existed, the secret alone, which is the key set of one key with the id ``k0``.

Tokens issued before key ids (``v1.<payload>.<signature>``, HMAC over ``v1.<payload>``) were
signed with that one key: they verify with the key ``k0`` while the set still holds it.

Anything that is not a token of ours (wrong shape, non-ASCII, unknown or retired key id, bad
signature, bad payload) is a :class:`TokenError` (401 on the API), never another exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii as _json_str
from types import MappingProxyType

from .errors import TokenError

VERSION = "v2"
LEGACY_VERSION = "v1"
LEGACY_KID = "k0"  # the key of a parameter that holds one secret, and of v1 tokens
MAX_TOKEN_LENGTH = 2048
MIN_KEY_BYTES = 16
KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    """base64url without padding (``base64.urlsafe_b64encode`` without its Python frames)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, signed_part: str) -> bytes:
    return _b64(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest()).encode("ascii")


class KeySetError(ValueError):
    """The stored key set cannot be used (empty, malformed, a key too short)."""


@dataclass(frozen=True)
class KeySet:
    """The signing keys by id: ``current`` signs, every key in ``keys`` verifies."""

    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if not self.keys or self.current not in self.keys:
            raise KeySetError("the key set has no current key")
        for kid, key in self.keys.items():
            if not KID_PATTERN.match(kid):
                raise KeySetError("a key id must be 1 to 32 of [A-Za-z0-9_-]")
            if len(key) < MIN_KEY_BYTES:
                raise KeySetError(f"token signing key must be at least {MIN_KEY_BYTES} bytes")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def single(cls, key: bytes, kid: str = LEGACY_KID) -> KeySet:
        return cls(current=kid, keys={kid: key})

    @classmethod
    def parse(cls, value: str) -> KeySet:
        """The key set as stored: JSON, or a bare secret (the set of one key, ``k0``)."""
        text = str(value).strip()
        if not text:
            raise KeySetError("the token key parameter is empty")
        if not text.startswith("{"):
            return cls.single(text.encode())
        try:
            data = json.loads(text)
            keys = {str(kid): str(secret).encode() for kid, secret in dict(data["keys"]).items()}
            return cls(current=str(data["current"]), keys=keys)
        except (ValueError, KeyError, TypeError) as exc:
            raise KeySetError("the token key parameter is not a key set") from exc

    def dump(self) -> str:
        """The stored form (JSON), current key first."""
        ordered = {self.current: self.keys[self.current]}
        ordered.update((kid, key) for kid, key in self.keys.items() if kid != self.current)
        keys = {kid: key.decode() for kid, key in ordered.items()}
        return json.dumps({"current": self.current, "keys": keys}, separators=(",", ":"))

    @property
    def previous(self) -> list[str]:
        return [kid for kid in self.keys if kid != self.current]

    def next_kid(self) -> str:
        """``k<n+1>`` after the highest ``k<n>`` in the set."""
        numbers = [int(kid[1:]) for kid in self.keys if re.fullmatch(r"k\d{1,9}", kid)]
        return f"k{max(numbers, default=0) + 1}"

    def rotated(self, key: bytes, kid: str | None = None) -> KeySet:
        """A new current key; the current one becomes the previous; an older previous key
        is dropped (links signed with it stop working)."""
        kid = kid or self.next_kid()
        if kid in self.keys:
            raise KeySetError(f"key id {kid} is in the set already")
        return KeySet(current=kid, keys={kid: key, self.current: self.keys[self.current]})

    def retired(self) -> KeySet:
        """Only the current key: links signed with the previous one stop working."""
        return KeySet.single(self.keys[self.current], self.current)


@dataclass(frozen=True)
class TokenClaims:
    candidate_id: str
    purpose: str
    message_id: str
    scope: str
    expires_at: int


class TokenSigner:
    """Issues tokens with the current key of ``keys`` and verifies them with any key of the
    set. ``keys`` may be a bare key (the set of that one key, id ``k0``)."""

    def __init__(self, keys: bytes | KeySet):
        if isinstance(keys, bytes | bytearray):
            try:
                keys = KeySet.single(bytes(keys))
            except KeySetError as exc:
                raise ValueError(str(exc)) from exc
        self.keys = keys
        self._keyed: tuple[KeySet, hmac.HMAC] | None = None

    @property
    def kid(self) -> str:
        return self.keys.current

    def issue(
        self,
        *,
        candidate_id: str,
        purpose: str,
        message_id: str,
        scope: str,
        now: datetime,
        ttl: timedelta,
    ) -> str:
        expires = int((now + ttl).timestamp())
        if type(candidate_id) is type(purpose) is type(message_id) is type(scope) is str:
            # What json.dumps(payload, separators=(",", ":")) writes, without building an
            # encoder per token: each string as json writes it (ASCII, escaped), the int.
            text = (
                f'{{"c":{_json_str(candidate_id)},"p":{_json_str(purpose)},'
                f'"m":{_json_str(message_id)},"s":{_json_str(scope)},"e":{expires}}}'
            )
        else:
            payload = {"c": candidate_id, "p": purpose, "m": message_id, "s": scope, "e": expires}
            text = json.dumps(payload, separators=(",", ":"))
        body = _b64(text.encode())
        signed_part = f"{VERSION}.{self.kid}.{body}"
        mac = self._current_mac()
        mac.update(signed_part.encode("ascii"))
        return f"{signed_part}.{_b64(mac.digest())}"

    def _current_mac(self) -> hmac.HMAC:
        """A fresh HMAC of the current key: a copy of one keyed once per signer (keying
        hashes the key's pads, which every token would otherwise repeat)."""
        keyed = self._keyed
        if keyed is None or keyed[0] is not self.keys:  # the key set (frozen) was replaced
            key = self.keys.keys[self.keys.current]
            keyed = self._keyed = (self.keys, hmac.new(key, digestmod=hashlib.sha256))
        return keyed[1].copy()

    def _key_and_parts(self, token: str) -> tuple[bytes, str, str, str]:
        """(key, signed part, payload, signature) of a well-formed token of a known key."""
        parts = token.split(".")
        if len(parts) == 4 and parts[0] == VERSION:
            key = self.keys.keys.get(parts[1])
            if key is None:
                raise TokenError("token was signed with a key that is not (or no longer) in use")
            return key, ".".join(parts[:3]), parts[2], parts[3]
        if len(parts) == 3 and parts[0] == LEGACY_VERSION:
            key = self.keys.keys.get(LEGACY_KID)
            if key is None:
                raise TokenError("token was signed with a key that is not (or no longer) in use")
            return key, ".".join(parts[:2]), parts[1], parts[2]
        raise TokenError("malformed token")

    def verify(self, token: str, *, now: datetime, scope: str | None = None) -> TokenClaims:
        # Shape first, on anything at all: only ASCII reaches the MAC and the comparison.
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenError("malformed token")
        if not token.isascii():
            raise TokenError("malformed token")
        key, signed_part, body, signature = self._key_and_parts(token)
        if not hmac.compare_digest(_mac(key, signed_part), signature.encode("ascii")):
            raise TokenError("token signature does not match")
        try:
            payload = json.loads(_unb64(body))
            if not isinstance(payload, dict):
                raise TypeError("payload is not an object")
            claims = TokenClaims(
                candidate_id=str(payload["c"]),
                purpose=str(payload["p"]),
                message_id=str(payload["m"]),
                scope=str(payload["s"]),
                expires_at=int(payload["e"]),
            )
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise TokenError("malformed token") from exc
        if claims.expires_at < now.timestamp():
            raise TokenError("token has expired")
        if scope is not None and claims.scope != scope:
            raise TokenError("token is not valid for this use")
        return claims

"""Signed, scoped, expiring tokens for the links of emails.

Format: ``v1.<payload>.<signature>``, both parts base64url without padding. The payload is
compact JSON: ``c`` candidate id, ``p`` purpose (or ``*``), ``m`` message id, ``s`` scope
(``link`` for the careers site, ``unsub`` for unsubscribe and preferences), ``e`` expiry
(epoch seconds). The signature is HMAC-SHA256 over ``v1.<payload>`` with the signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import TokenError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    candidate_id: str
    purpose: str
    message_id: str
    scope: str
    expires_at: int


class TokenSigner:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("token signing key must be at least 16 bytes")
        self._key = key

    def _sign(self, signed_part: str) -> str:
        return _b64(hmac.new(self._key, signed_part.encode("ascii"), hashlib.sha256).digest())

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
        payload = {
            "c": candidate_id,
            "p": purpose,
            "m": message_id,
            "s": scope,
            "e": int((now + ttl).timestamp()),
        }
        signed_part = "v1." + _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{signed_part}.{self._sign(signed_part)}"

    def verify(self, token: str, *, now: datetime, scope: str | None = None) -> TokenClaims:
        if not isinstance(token, str) or len(token) > 2048:
            raise TokenError("malformed token")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            raise TokenError("malformed token")
        signed_part = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signed_part), parts[2]):
            raise TokenError("token signature does not match")
        try:
            payload = json.loads(_unb64(parts[1]))
            claims = TokenClaims(
                candidate_id=str(payload["c"]),
                purpose=str(payload["p"]),
                message_id=str(payload["m"]),
                scope=str(payload["s"]),
                expires_at=int(payload["e"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError("malformed token") from exc
        if claims.expires_at < now.timestamp():
            raise TokenError("token has expired")
        if scope is not None and claims.scope != scope:
            raise TokenError("token is not valid for this use")
        return claims

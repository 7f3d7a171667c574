"""Request screening before routing: body size, encoding and media type.

API Gateway's HTTP API has no per-route body limit of its own (10 MB for every route), and
Powertools' validation parses a body before any route middleware runs. So the resolver
screens each request first: a body larger than its route allows is 413, a body that is not
UTF-8 text is 400 (Powertools would fail decoding it), a body of a media type its route does
not take is 415, and none of them is ever parsed. Routes declare their rules on their router
(`ScreenedRouter.body_rules`); every other route gets `DEFAULT_BODY_RULE`.

A body that Powertools would parse as JSON (Content-Type application/json, or none) is also
bounded in shape before it is parsed: nesting deeper than `MAX_JSON_DEPTH` (the parser
recurses, and a few kilobytes of brackets exhaust the stack) and a number longer than
`MAX_NUMBER_DIGITS` digits (Python refuses to convert an integer of more than 4,300 digits)
are 400, found by one linear scan with strings skipped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class BodyRule:
    max_bytes: int
    media_types: tuple[str, ...] | None = None  # None: whatever the route's parser takes
    # A check that runs once the body is screened and before it is validated: a route whose
    # token decides whether the caller may speak at all answers 401 to a token that is not
    # ours, whatever else is wrong with the request.
    before_validation: Callable[[Mapping[str, Any], bytes], Refusal | None] | None = None


FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
DEFAULT_BODY_RULE = BodyRule(max_bytes=64 * 1024)
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 64
# In the scan of a JSON body: a string (escapes included; an unterminated one runs to the
# end), skipped whole so that its brackets and digits do not count; a bracket; a run of more
# digits than a number may have. Possessive, and a run of digits only from its start: each
# character is read once.
_JSON_TOKENS = re.compile(
    r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|[\[\]{}]|(?<![0-9])[0-9]{' + str(MAX_NUMBER_DIGITS + 1) + ",}"
)


class ScreenedRouter(APIGatewayHttpRouter):
    """A router whose routes may declare body rules, keyed by (method, path)."""

    def __init__(self) -> None:
        super().__init__()
        self.body_rules: dict[tuple[str, str], BodyRule] = {}


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def raw_body(event: Mapping[str, Any]) -> bytes | None:
    """The body's bytes; None when a base64 body is not base64."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return str(body).encode("utf-8", errors="surrogatepass")


def body_size(event: Mapping[str, Any]) -> int:
    raw = raw_body(event)
    return len(raw) if raw is not None else len(event.get("body") or "")


def media_type(event: Mapping[str, Any]) -> str | None:
    value = _header(event, "content-type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def _route_of(event: Mapping[str, Any]) -> tuple[str, str]:
    http = (event.get("requestContext") or {}).get("http") or {}
    method = str(http.get("method") or "").upper()
    path = str(event.get("rawPath") or http.get("path") or "")
    return method, path


def screen(event: Mapping[str, Any], rules: Mapping[tuple[str, str], BodyRule]) -> Refusal | None:
    rule = rules.get(_route_of(event), DEFAULT_BODY_RULE)
    raw = raw_body(event)
    size = len(raw) if raw is not None else len(event.get("body") or "")
    if size > rule.max_bytes:
        return Refusal(413, "payload_too_large", f"the body is larger than {rule.max_bytes} bytes")
    if raw is None:
        return Refusal(400, "malformed_body", "the body is not valid base64")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "malformed_body", "the body is not UTF-8 text")
    # Any body a parser may read as JSON (whatever its label), forms aside.
    if size > 0 and media_type(event) not in FORM_MEDIA_TYPES:
        refusal = json_shape(raw.decode("utf-8"))
        if refusal is not None:
            return refusal
    if rule.media_types is not None and size > 0:
        found = media_type(event)
        if found not in rule.media_types:
            wanted = " or ".join(rule.media_types)
            return Refusal(
                415,
                "unsupported_media_type",
                f"the body must be {wanted} (Content-Type was {(found or 'missing')[:80]})",
            )
    if rule.before_validation is not None:
        return rule.before_validation(event, raw)
    return None


def json_shape(text: str) -> Refusal | None:
    """A 400 for JSON nested deeper than MAX_JSON_DEPTH or with a number of more than
    MAX_NUMBER_DIGITS digits; None otherwise (whether it is JSON at all is the parser's to
    say). Linear: one pass over the text's strings, brackets and long digit runs."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                deep = f"the body nests deeper than {MAX_JSON_DEPTH} levels"
                return Refusal(400, "malformed_body", deep)
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char != '"':
            long = f"a number in the body has more than {MAX_NUMBER_DIGITS} digits"
            return Refusal(400, "malformed_body", long)
    return None

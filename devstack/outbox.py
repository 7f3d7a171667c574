"""The mail moto's SES has accepted, read from its backend in this process.

moto 5.2.5 keeps every send (SES v1 and v2 share one backend) in
`ses_backends[account][region].sent_messages`, in send order:
Each entry: `message_id` (the MIME Message-ID without angle brackets, else SES's id),
`ses_message_id` (the MessageId SendEmail returned), `from`, `to` (addresses), `subject`
(decoded), `html`, `text`, `headers` (as sent, unfolded; repeated -> list), `sent_at` (the
MIME Date as RFC 3339; moto records no time), and `raw`: the message exactly as SES received
it (the `Content.Raw.Data` / `RawMessage.Data` of the request, as text: moto decodes those
bytes as UTF-8, refusing any that are not, so `raw.encode("utf-8")` gives back the very
bytes sent), or None for a send that was not raw (SES builds that MIME itself). A tool that
writes an .eml writes those bytes (scripts/demo.py).

- v2 `Content.Raw` / v1 `SendRawEmail` -> `RawMessage(id, source, destinations, raw_data)`
  where `raw_data` is the MIME text (str) and `destinations` lists each recipient twice (the
  request's Destination plus the MIME To/Cc/Bcc); there is no timestamp.
- v2 `Content.Simple` / v1 `SendEmail` -> `Message(id, source, subject, body, destinations)`
  with only one body (the HTML part if any, else the text) and no custom headers.
- v1 templated sends -> `TemplateMessage` (template name and data, nothing rendered).

moto drops a send's `EmailTags` and `ConfigurationSetName`, which SES repeats in the
configuration set's events (the application tags every send with its `decision_id` and
`candidate_id`). `install()` keeps them: a wrapper of moto's SES v2 `SendEmail` answer notes
them on the message it recorded, and each entry carries them as `tags` and
`configuration_set` (what `POST /_local/engage` publishes events from).

A message is parsed with the standard library's default policy, its headers read through a
cache: the default policy parses a header into a new object (and builds a new class for it)
at every read, and reading the parts' Content-Type, disposition and charset read them about
thirty times a message. A parsed header is an immutable string; the cache answers the same
one for the same name and value, so each entry is the one the default policy gives.
"""

from __future__ import annotations

import email
import email.policy
import functools
import json
import re
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from .moto_patches import LOCK

_FOLD = re.compile(r"\r?\n(?=[ \t])")


@functools.lru_cache(maxsize=2048)
def _parsed_header(name: str, value: str) -> Any:
    return email.policy.default.header_fetch_parse(name, value)


class _CachedHeaders(email.policy.EmailPolicy):
    """The default policy, each header parsed once per name and value."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if type(value) is not str:  # a header already parsed: as the default policy
            return email.policy.default.header_fetch_parse(name, value)
        return _parsed_header(name, value)


# What a sent message is parsed with (the tests compare it with the default policy).
POLICY: email.policy.EmailPolicy = _CachedHeaders()


class Outbox:
    def __init__(self, account_id: str, region: str):
        self._account_id = account_id
        self._region = region
        self._cache: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        """The emails sent so far, oldest first; ``since``: from that position on (a poller
        that has seen N emails asks for the rest only)."""
        from moto.ses.models import ses_backends

        with LOCK:
            sent = list(ses_backends[self._account_id][self._region].sent_messages)
        with self._lock:
            cached = len(self._cache)
            if len(sent) < cached or (
                cached and self._cache[cached - 1][0] != _message_id(sent[cached - 1])
            ):
                self._cache = []  # the backend was reset
            for message in sent[len(self._cache) :]:
                self._cache.append((_message_id(message), describe(message)))
            return [entry for _, entry in self._cache[max(0, since) :]]


_TAGS = "devstack_tags"
_CONFIGURATION_SET = "devstack_configuration_set"


def install() -> Callable[[], None]:
    """Keeps the tags and configuration set of every SES v2 `SendEmail` on the message moto
    recorded; returns the undo. Installing again does not wrap twice."""
    from moto.sesv2.responses import SESV2Response

    current = SESV2Response.send_email
    original = getattr(current, "_devstack_original", current)

    @functools.wraps(original)
    def send_email(self: Any) -> Any:
        answer = original(self)
        try:
            params = json.loads(self.body)
            message_id = json.loads(answer)["MessageId"]
        except (TypeError, ValueError, KeyError):
            return answer
        tags = {
            str(tag["Name"]): str(tag.get("Value", ""))
            for tag in params.get("EmailTags") or []
            if isinstance(tag, dict) and tag.get("Name")
        }
        configuration_set = params.get("ConfigurationSetName") or None
        # moto's requests run under its lock (moto_patches), so no reader sees the message
        # before its tags are on it.
        for message in reversed(list(self.sesv2_backend.core_backend.sent_messages)):
            if getattr(message, "id", None) == message_id:
                setattr(message, _TAGS, tags)
                setattr(message, _CONFIGURATION_SET, configuration_set)
                break
        return answer

    send_email._devstack_original = original  # type: ignore[attr-defined]
    SESV2Response.send_email = send_email  # type: ignore[method-assign]

    def uninstall() -> None:
        SESV2Response.send_email = original  # type: ignore[method-assign]

    return uninstall


def _sent_with(message: Any) -> dict[str, Any]:
    """The send's tags and configuration set, as SES's events repeat them."""
    return {
        "tags": dict(getattr(message, _TAGS, None) or {}),
        "configuration_set": getattr(message, _CONFIGURATION_SET, None),
    }


def _message_id(message: Any) -> str:
    return str(getattr(message, "id", "") or ",".join(getattr(message, "ids", [])))


def describe(message: Any) -> dict[str, Any]:
    raw = getattr(message, "raw_data", None)
    if raw is not None:
        return _describe_raw(message, raw)
    return _describe_simple(message)


def _describe_raw(message: Any, raw: str | bytes) -> dict[str, Any]:
    parsed = (
        email.message_from_bytes(raw, policy=POLICY)
        if isinstance(raw, bytes)
        else email.message_from_string(raw, policy=POLICY)
    )
    assert isinstance(parsed, EmailMessage)
    to = [address for _, address in getaddresses(parsed.get_all("To", [])) if address]
    if not to:
        to = _unique(_address(d) for d in message.destinations or [])
    sender = [address for _, address in getaddresses(parsed.get_all("From", [])) if address]
    mime_id = str(parsed.get("Message-ID", "")).strip().strip("<>")
    return {
        "message_id": mime_id or message.id,
        "ses_message_id": message.id,
        "from": sender[0] if sender else _address(message.source or ""),
        "to": to,
        "subject": str(parsed.get("Subject", "")),
        "html": _part(parsed, "html"),
        "text": _part(parsed, "plain"),
        "headers": raw_headers(parsed),
        "sent_at": _sent_at(parsed.get("Date")),
        "raw": raw if isinstance(raw, str) else raw.decode("utf-8", "surrogateescape"),
        **_sent_with(message),
    }


def _describe_simple(message: Any) -> dict[str, Any]:
    destinations = message.destinations or {}
    to = destinations.get("ToAddresses", []) if isinstance(destinations, dict) else []
    body = getattr(message, "body", None)
    looks_html = isinstance(body, str) and body.lstrip().startswith("<")
    return {
        "message_id": _message_id(message),
        "ses_message_id": _message_id(message),
        "from": _address(message.source or ""),
        "to": [_address(a) for a in to],
        "subject": getattr(message, "subject", None),
        "html": body if looks_html else None,
        "text": body if body is not None and not looks_html else None,
        "headers": {},
        "sent_at": None,
        "raw": None,
        "template": getattr(message, "template", None),
        **_sent_with(message),
    }


def raw_headers(message: EmailMessage) -> dict[str, Any]:
    """Top-level headers as sent (not decoded), unfolded; a repeated header becomes a list."""
    headers: dict[str, Any] = {}
    for name, value in message.raw_items():
        text = _FOLD.sub("", str(value)).strip()
        if name in headers:
            current = headers[name]
            headers[name] = [*current, text] if isinstance(current, list) else [current, text]
        else:
            headers[name] = text
    return headers


def _part(message: EmailMessage, subtype: str) -> str | None:
    for part in message.walk():
        if (
            part.get_content_maintype() == "text"
            and part.get_content_subtype() == subtype
            and part.get_content_disposition() != "attachment"
        ):
            return str(part.get_content())
    return None


def _sent_at(date: Any) -> str | None:
    if not date:
        return None
    try:
        return parsedate_to_datetime(str(date)).isoformat()
    except (TypeError, ValueError):
        return None


def _address(value: str) -> str:
    parsed = getaddresses([value])
    return parsed[0][1] if parsed and parsed[0][1] else value


def _unique(values: Any) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)

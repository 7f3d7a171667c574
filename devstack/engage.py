"""`POST /_local/engage`: a recipient's engagement with a message the local stack's SES sent.

moto's SES sends nothing and publishes no events. In AWS the configuration set publishes a
message's delivery, opens and clicks to EventBridge (the default bus, source `aws.ses`,
detail-types `Email Delivered` / `Email Opened` / `Email Clicked`), each record repeating the
send's tags; the template's rule gives them to SesFeedbackFunction, which turns them into
`Message Delivered` / `Opened` / `Clicked` on the system's bus. This route publishes that
same record for a message of the outbox, so the whole path after SES runs as deployed:

    POST /_local/engage {"message_id": "m_...", "kind": "delivery" | "open" | "click",
                         "url": "https://..."}   (url: the link clicked; click only)

`message_id` is the application's (`m_<decision id>`, as its `Message Sent` event names it),
the outbox's `message_id` (the MIME Message-ID) or its `ses_message_id`. The answer is `202
{"status": "published", "detail_type", "event_id", "ses_message_id"}`; an unknown message is
`404 unknown_message`, a message sent without a configuration set (SES publishes no events
for it) `409 no_configuration_set`, and a bad body `400 bad_request` naming the problem.

The record's times (`delivery.timestamp`, ...) are the stack's clock (`POST /_local/clock`
moves it), since the application reads them as the time of the engagement; the envelope's
time stays wall-clock, as for every event on the stack's buses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .httpapi import HttpResponse
from .log import get_logger
from .outbox import Outbox

log = get_logger("engage")

# kind of the request -> (SES eventType, EventBridge detail-type, the record's own object)
KINDS: dict[str, tuple[str, str, str]] = {
    "delivery": ("Delivery", "Email Delivered", "delivery"),
    "open": ("Open", "Email Opened", "open"),
    "click": ("Click", "Email Clicked", "click"),
}
FIELDS = frozenset({"message_id", "kind", "url"})
MAX_URL = 4096  # what the application's SES model reads of a link
LOCAL_IP = "127.0.0.1"
USER_AGENT = "devstack (POST /_local/engage)"
CONFIGURATION_SET_TAG = "ses:configuration-set"


@dataclass(frozen=True)
class EngageRequest:
    message_id: str
    kind: str
    url: str | None = None


def parse_request(body: bytes) -> EngageRequest | str:
    """The request, or what is wrong with it (never echoing a value)."""
    try:
        document = json.loads(body or b"null")
    except ValueError:
        document = None
    example = '{"message_id": "m_...", "kind": "open"}'
    if not isinstance(document, dict):
        return f"expected a JSON object, e.g. {example}"
    unknown = sorted(set(document) - FIELDS)
    if unknown:
        return f"unknown field {unknown[0][:40]!r} (known: kind, message_id, url)"
    message_id = document.get("message_id")
    if not isinstance(message_id, str) or not message_id.strip() or len(message_id) > 256:
        return "message_id must be the id of a sent message (a non-empty string)"
    kind = document.get("kind")
    if kind not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}"
    url = document.get("url")
    if kind != "click":
        if url is not None:
            return "url is for a click only"
        return EngageRequest(message_id.strip(), str(kind))
    if not isinstance(url, str) or not url:
        return "a click needs url: the link the recipient clicked"
    if len(url) > MAX_URL or not _absolute_http(url):
        return f"url must be an absolute http(s) URL of at most {MAX_URL} characters"
    return EngageRequest(message_id.strip(), "click", url)


def _absolute_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def find_message(messages: list[dict[str, Any]], message_id: str) -> dict[str, Any] | None:
    """The outbox entry of `message_id`: the application's `m_<decision id>`, the MIME
    Message-ID, or SES's id; the newest when several match."""
    for entry in reversed(messages):
        mime_id = str(entry.get("message_id") or "")
        if message_id in (mime_id, mime_id.split("@", 1)[0], entry.get("ses_message_id")):
            return entry
    return None


def _ses_time(value: datetime) -> str:
    """SES's form of a time: UTC, milliseconds, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{value.astimezone(UTC).microsecond // 1000:03d}Z"
    )


def _header_list(headers: Mapping[str, Any]) -> list[dict[str, str]]:
    listed: list[dict[str, str]] = []
    for name, value in headers.items():
        for one in value if isinstance(value, list) else [value]:
            listed.append({"name": str(name), "value": str(one)})
    return listed


def ses_record(
    request: EngageRequest,
    message: Mapping[str, Any],
    *,
    now: datetime,
    account_id: str,
) -> tuple[str, dict[str, Any]]:
    """(detail-type, detail) of the event SES's configuration set publishes for this
    engagement with `message` (an outbox entry sent with a configuration set)."""
    event_type, detail_type, key = KINDS[request.kind]
    sent_tags: Mapping[str, str] = message.get("tags") or {}
    sender = str(message.get("from") or "")
    to = [str(a) for a in message.get("to") or []]
    tags: dict[str, list[str]] = {
        CONFIGURATION_SET_TAG: [str(message["configuration_set"])],
        "ses:source-ip": [LOCAL_IP],
        "ses:from-domain": [sender.rsplit("@", 1)[-1]] if "@" in sender else [],
        "ses:caller-identity": ["devstack"],
    }
    for name, value in sent_tags.items():
        tags[name] = [value]
    headers = message.get("headers") or {}
    sent_at = message.get("sent_at")
    mail = {
        "timestamp": _ses_time(datetime.fromisoformat(sent_at) if sent_at else now),
        "source": sender,
        "sendingAccountId": account_id,
        "messageId": message.get("ses_message_id"),
        "destination": to,
        "headersTruncated": False,
        "headers": _header_list(headers),
        "commonHeaders": {
            "from": [sender],
            "to": to,
            "messageId": message.get("ses_message_id"),
            "subject": message.get("subject"),
        },
        "tags": tags,
    }
    at = _ses_time(now)
    own: dict[str, Any]
    if key == "delivery":
        own = {
            "timestamp": at,
            "processingTimeMillis": 0,
            "recipients": to,
            "smtpResponse": "250 2.0.0 OK (devstack)",
            "reportingMTA": "devstack.local",
        }
    elif key == "open":
        own = {"timestamp": at, "ipAddress": LOCAL_IP, "userAgent": USER_AGENT}
    else:
        own = {
            "timestamp": at,
            "ipAddress": LOCAL_IP,
            "userAgent": USER_AGENT,
            "link": request.url,
            "linkTags": {},
        }
    return detail_type, {"eventType": event_type, "mail": mail, key: own}


class Engagements:
    """`POST /_local/engage`: finds the message in the outbox and puts SES's event for it on
    the default bus (where the template's SES rule takes it)."""

    def __init__(
        self,
        outbox: Outbox,
        now: Callable[[], datetime],
        events_client: Callable[[], Any],
        account_id: str,
        region: str,
    ):
        self._outbox = outbox
        self._now = now
        self._events_client = events_client
        self._account_id = account_id
        self._region = region

    def handle(self, method: str, body: bytes) -> HttpResponse:
        if method != "POST":
            return HttpResponse.error(405, "method_not_allowed", "POST")
        request = parse_request(body)
        if isinstance(request, str):
            return HttpResponse.error(400, "bad_request", request)
        message = find_message(self._outbox.messages(), request.message_id)
        if message is None:
            return HttpResponse.error(
                404, "unknown_message", "the local SES has sent no message with this id"
            )
        configuration_set = message.get("configuration_set")
        if not configuration_set:
            return HttpResponse.error(
                409,
                "no_configuration_set",
                "the message was sent without a configuration set: SES publishes no events for it",
            )
        detail_type, detail = ses_record(
            request, message, now=self._now(), account_id=self._account_id
        )
        arn = f"arn:aws:ses:{self._region}:{self._account_id}:configuration-set/{configuration_set}"
        answer = self._events_client().put_events(
            Entries=[
                {
                    "Source": "aws.ses",
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "Resources": [arn],
                }
            ]
        )
        entry = (answer.get("Entries") or [{}])[0]
        if answer.get("FailedEntryCount") or "EventId" not in entry:
            log.error("engagement not published", kind=request.kind)
            return HttpResponse.error(502, "not_published", "EventBridge refused the event")
        log.info("engagement published", kind=request.kind)
        return HttpResponse.json(
            202,
            {
                "status": "published",
                "detail_type": detail_type,
                "event_id": entry["EventId"],
                "ses_message_id": message.get("ses_message_id"),
            },
        )

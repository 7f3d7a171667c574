"""Amazon SES v2 sender (Raw MIME).

What SES answers, sorted three ways (docs/operations.md, "Sending"):

- refused for good: this one message (its address or its content) cannot be sent, and
  sending it again fails the same way. ``SendRefusedError`` with SES's code; the caller
  records the decision ``failed`` (announced as suppressed ``undeliverable``) and goes on.
- retryable: throttling, SES's own trouble, the network, and everything about the account
  rather than the recipient (sending paused, account suspended, the sender's identity or
  configuration set missing): nothing is wrong with this recipient, so the message is tried
  again later (and after its retries parks in a DLQ, to be driven again once the account is
  mended). An unknown code counts here too: a recipient is never given up on a guess.
  ``ambiguous`` marks an error after which SES may have taken the message (a read timeout):
  its claim is kept, for the lease to resolve from SES's Send event, never released.

The client makes one attempt per call (adapters.aws): the callers' own
policy (Lambda's and SQS's redelivery, the campaign worker's backoff) decides on retries,
so one recipient never costs more SES calls than that policy says.

Each send carries its decision id twice: as the SES message tag ``decision_id`` (with
``candidate_id``), which SES repeats in the configuration set's events, and as the MIME
header ``X-TalentOps-Decision``, which the recipient's copy keeps. A claim whose sender died
is resolved from them (delivery.leases).
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from ..errors import DeliveryError, SendRefusedError
from .aws import client

DECISION_HEADER = "X-TalentOps-Decision"
DECISION_TAG = "decision_id"
CANDIDATE_TAG = "candidate_id"

RETRYABLE = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServiceError",
        "RequestTimeout",
    }
)
# This message, not the account: a malformed or unacceptable address (SES takes no
# non-ASCII local part), content SES will not carry, a recipient in the sandbox it may not
# mail. MessageRejected that names our own sender is about the account (below).
REFUSED = frozenset(
    {
        "MessageRejected",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "BadRequestException",
    }
)
# SES v2 answers BadRequestException both for an address it cannot take and for a mistake of
# ours (a tag, a parameter): only the first is the recipient's, so only it fails the recipient.
_ABOUT_THE_ADDRESS = re.compile(r"address|recipient|domain|mailbox|local part", re.IGNORECASE)
# The account or its set-up: never the recipient's fault (retryable, see above).
ACCOUNT_LEVEL = frozenset(
    {
        "AccountSuspendedException",
        "AccountSendingPausedException",
        "SendingPausedException",
        "ConfigurationSetSendingPausedException",
        "MailFromDomainNotVerifiedException",
        "MailFromDomainNotVerified",
        "ConfigurationSetDoesNotExist",
        "ConfigurationSetDoesNotExistException",
        "NotFoundException",
        "AccessDeniedException",
        "AccessDenied",
    }
)
# What SES accepts in a message tag value (and so in the header that carries the same id).
_TAG_VALUE = re.compile(r"[^A-Za-z0-9_\-]")


def classify(code: str, message: str, sender: str) -> str:
    """ "refused", "retryable" (throttling, SES's trouble) or "account"."""
    if code in REFUSED:
        if code == "MessageRejected" and sender and sender.lower() in message.lower():
            return "account"  # our own sender identity is not verified
        if code == "BadRequestException" and not _ABOUT_THE_ADDRESS.search(message):
            return "account"  # our request, not the recipient: never give up on them
        return "refused"
    if code in RETRYABLE:
        return "retryable"
    return "account"


def with_decision_header(raw: bytes, decision_id: str) -> bytes:
    """The MIME message with ``X-TalentOps-Decision`` as its first header."""
    clean = _TAG_VALUE.sub("", decision_id)
    return f"{DECISION_HEADER}: {clean}\r\n".encode("ascii") + raw


class SesSender:
    def __init__(self, configuration_set: str | None = None, sesv2: Any | None = None):
        self.configuration_set = configuration_set or None
        self._ses = sesv2

    @property
    def ses(self) -> Any:
        if self._ses is None:
            self._ses = client("sesv2")
        return self._ses

    def send_raw(
        self,
        *,
        sender: str,
        to: str,
        raw: bytes,
        decision_id: str | None = None,
        candidate_id: str | None = None,
    ) -> str:
        """Send one message; SES's message id. ``SendRefusedError`` when SES refused this
        message for good; ``DeliveryError`` (``retryable``) for anything else."""
        tags = []
        if decision_id:
            raw = with_decision_header(raw, decision_id)
            tags.append({"Name": DECISION_TAG, "Value": _TAG_VALUE.sub("", decision_id)})
            if candidate_id:
                tags.append({"Name": CANDIDATE_TAG, "Value": _TAG_VALUE.sub("", candidate_id)})
        kwargs: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": raw}},
        }
        if tags:
            kwargs["EmailTags"] = tags
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            resp = self.ses.send_email(**kwargs)
        except ClientError as exc:
            error_info = exc.response.get("Error", {})
            code = str(error_info.get("Code", "")) or "Unknown"
            kind = classify(code, str(error_info.get("Message", "")), sender)
            if kind == "refused":
                raise SendRefusedError(code) from exc
            error = DeliveryError(f"SES refused the send: {code}")
            error.retryable = True  # type: ignore[attr-defined]
            error.account_level = kind == "account"  # type: ignore[attr-defined]
            raise error from exc
        except BotoCoreError as exc:
            error = DeliveryError(f"SES send failed: {type(exc).__name__}")
            error.retryable = True  # type: ignore[attr-defined]
            # Past the connection (a read timeout, a dropped answer) SES may have taken the
            # message: its claim must stay for the lease to resolve, never be released.
            error.ambiguous = not isinstance(  # type: ignore[attr-defined]
                exc, (EndpointConnectionError, ConnectTimeoutError)
            )
            raise error from exc
        return str(resp.get("MessageId", ""))

"""Amazon SES v2 sender (Raw MIME)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..errors import DeliveryError
from .aws import client

_RETRYABLE = {
    "TooManyRequestsException",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalFailure",
}


class SesSender:
    def __init__(self, configuration_set: str | None = None, sesv2: Any | None = None):
        self.configuration_set = configuration_set or None
        self._ses = sesv2

    @property
    def ses(self) -> Any:
        if self._ses is None:
            self._ses = client("sesv2")
        return self._ses

    def send_raw(self, *, sender: str, to: str, raw: bytes) -> str:
        kwargs: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            resp = self.ses.send_email(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            error = DeliveryError(f"SES refused the send: {code}")
            error.retryable = code in _RETRYABLE  # type: ignore[attr-defined]
            raise error from exc
        return str(resp.get("MessageId", ""))

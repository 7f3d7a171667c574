"""Amazon SQS sender: message bodies in batches of ten (SendMessageBatch), retrying the
entries that SQS did not accept."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..errors import StorageError
from .aws import client

BATCH_LIMIT = 10  # entries per SendMessageBatch


class QueueSender:
    def __init__(self, queue_url: str, sqs: Any | None = None):
        self.queue_url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = client("sqs")
        return self._sqs

    def send_bodies(self, bodies: Sequence[str]) -> int:
        """Send every body; StorageError when some could not be sent after retries."""
        for start in range(0, len(bodies), BATCH_LIMIT):
            entries = [
                {"Id": str(i), "MessageBody": body}
                for i, body in enumerate(bodies[start : start + BATCH_LIMIT])
            ]
            for attempt in range(6):
                try:
                    resp = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                except ClientError as exc:
                    raise StorageError("sending queue messages failed") from exc
                failed = {f["Id"] for f in resp.get("Failed", [])}
                if not failed:
                    break
                if any(f.get("SenderFault") for f in resp.get("Failed", [])):
                    raise StorageError("the queue refused messages (sender fault)")
                entries = [e for e in entries if e["Id"] in failed]
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise StorageError("sending queue messages: some were not accepted")
        return len(bodies)

"""AWS clients, created lazily and cached per process; never at import time.

boto3 honours AWS_ENDPOINT_URL, so the local stack and tests point every client at the
emulator through the environment alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
)
# SES sends: one attempt per call. The application owns the retry policy of a send (the
# campaign worker's backoff, SQS and Lambda redelivery), so botocore's must not multiply it
# (docs/operations.md, "Retries": the most SES calls one recipient can cost).
_SES_CONFIG = _CONFIG.merge(Config(retries={"mode": "standard", "max_attempts": 1}))


@lru_cache(maxsize=16)
def client(service: str) -> Any:
    """The process's client of ``service``; SES v2's with botocore's retries off."""
    config = _SES_CONFIG if service == "sesv2" else _CONFIG
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    client.cache_clear()

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


@lru_cache(maxsize=16)
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints)."""
    client.cache_clear()

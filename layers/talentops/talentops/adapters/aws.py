"""AWS clients, created lazily and cached per process; never at import time.

All of a process's clients come from one boto3 Session: a Session loads botocore's data
(endpoints, partitions, the credential chain) once, and a client per Session paid that again
for every service (four clients: about 1.1 s with a Session each, 0.2 s sharing one).
Sessions are not thread-safe for creating clients, so creation holds a lock; the clients
themselves are.

boto3 honours AWS_ENDPOINT_URL, so the local stack and tests point every client at the
emulator through the environment alone.
"""

from __future__ import annotations

import threading
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

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """The process's one Session (created on first use)."""
    return boto3.session.Session()


@lru_cache(maxsize=16)
def client(service: str) -> Any:
    """The process's client of ``service``; SES v2's with botocore's retries off."""
    config = _SES_CONFIG if service == "sesv2" else _CONFIG
    with _LOCK:
        return session().client(service, config=config)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients and the Session (tests that switch endpoints or credentials)."""
    client.cache_clear()
    session.cache_clear()

"""AWS clients, created lazily and cached per process; never at import time.

All of a process's clients come from one boto3 Session: a Session loads botocore's data
(endpoints, partitions, the credential chain) once, and a client per Session paid that again
for every service (four clients: about 1.1 s with a Session each, 0.2 s sharing one).
Sessions are not thread-safe for creating clients, so creation holds a lock; the clients
themselves are.

boto3 honours AWS_ENDPOINT_URL, so the local stack and tests point every client at the
emulator through the environment alone.

botocore checks every request against the service's model before it sends it, and the
service checks it again. The functions and the local stack skip the client's check: it cost
about 0.45 ms of CPU a triggered message (the claim's TransactWriteItems alone 0.33 ms), and a
request the service refuses is a ClientError like any other refusal, where the client's check
raised an error no adapter catches. The test suite turns the check on
(``TALENTOPS_CHECK_AWS_REQUESTS=1``, tests/conftest.py), so every request the code makes in
a test is held to the service's model there.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

# Attempts are counted in all (``total_max_attempts``): botocore's ``max_attempts`` counts
# the retries after the first attempt, so 3 there meant 4 calls, and 1 meant 2.
_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
)
# SES sends: one attempt per call. The application owns the retry policy of a send (the
# campaign worker's backoff, SQS and Lambda redelivery), so botocore's must not multiply it
# (docs/operations.md, "Retries": the most SES calls one recipient can cost), nor send a
# message again after a read timeout that SES may have taken.
_SES_CONFIG = _CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))

# "1": botocore checks each request against the service's model before sending it.
CHECK_REQUESTS = "TALENTOPS_CHECK_AWS_REQUESTS"

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def session() -> boto3.session.Session:
    """The process's one Session (created on first use)."""
    return boto3.session.Session()


@lru_cache(maxsize=16)
def client(service: str) -> Any:
    """The process's client of ``service``; SES v2's with botocore's retries off."""
    config = (_SES_CONFIG if service == "sesv2" else _CONFIG).merge(
        Config(parameter_validation=os.environ.get(CHECK_REQUESTS) == "1")
    )
    with _LOCK:
        return session().client(service, config=config)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients and the Session (tests that switch endpoints or credentials)."""
    client.cache_clear()
    session.cache_clear()

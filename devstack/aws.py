"""boto3 clients of the stack itself, pointed at the embedded moto server, and ARN helpers."""

from __future__ import annotations

import socket
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from .config import ACCESS_KEY_ID, SECRET_ACCESS_KEY, LocalConfig

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=30
)


class StartupError(Exception):
    """The stack cannot start; the message says why (never carries personal data)."""


class AwsClients:
    def __init__(self, config: LocalConfig):
        self.config = config
        self._session = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=config.region,
        )

    def client(self, service: str) -> Any:
        # botocore clients are thread-safe; a new one per call site keeps them independent.
        return self._session.client(
            service, endpoint_url=self.config.aws_url, config=_CLIENT_CONFIG
        )

    def queue_url(self, queue_arn_or_url: str) -> str:
        """The local URL of a queue, from its ARN or any URL form moto hands out."""
        if queue_arn_or_url.startswith("arn:"):
            parts = queue_arn_or_url.split(":")
            account, name = parts[4], parts[5]
        else:
            account, name = queue_arn_or_url.rstrip("/").split("/")[-2:]
        return f"{self.config.aws_url}/{account}/{name}"

    def queue_arn(self, queue_url: str) -> str:
        account, name = queue_url.rstrip("/").split("/")[-2:]
        return f"arn:aws:sqs:{self.config.region}:{account}:{name}"


def arn_service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


class MotoServer:
    """The embedded moto server, and what starting it installed in this process (the moto
    patches, the in-process transport): ``stop`` stops the server and takes them out again,
    so that nothing outlives the server in a process that goes on (a test run)."""

    def __init__(self, server: ThreadedMotoServer, undo: list[Any]):
        self.server = server
        self._undo = undo

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            while self._undo:
                self._undo.pop()()


def start_moto(config: LocalConfig) -> MotoServer:
    _ensure_port_free(config.host, config.aws_port)
    # moto copies the whole table per transaction item: keep transactions O(items).
    from .moto_patches import install

    undo = [install()]
    server = ThreadedMotoServer(ip_address=config.host, port=config.aws_port, verbose=False)
    try:
        server.start()
        if config.in_process:
            from . import inprocess

            undo.append(inprocess.install(config.aws_url))  # the stack's own calls skip the socket
    except BaseException:
        while undo:
            undo.pop()()
        raise
    return MotoServer(server, undo)


def _ensure_port_free(host: str, port: int) -> None:
    # ThreadedMotoServer.start() waits forever when it cannot bind: check first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartupError(f"port {port} on {host} is not free") from exc

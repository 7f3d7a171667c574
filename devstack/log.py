"""Structured (JSON lines) logging of the stack itself, on stderr.

Only the stack's own facts are logged: names of resources and functions, counts, error
types. Never event payloads, addresses or exception messages (they may carry personal data).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_ROOT = "devstack"
_NOISY_LOGGERS = ("werkzeug", "moto", "botocore", "boto3", "urllib3", "py.warnings")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception message may quote personal data.
            payload["error_type"] = record.exc_info[0].__name__
        return json.dumps(payload, default=str)


class StructLogger:
    """`logger.info("message", key=value)`: fields become JSON keys."""

    def __init__(self, name: str):
        self._logger = logging.getLogger(f"{_ROOT}.{name}")

    def _log(self, level: int, message: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, message, exc_info=exc_info, extra={"fields": fields})

    def debug(self, message: str, **fields: Any) -> None:
        self._log(logging.DEBUG, message, False, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log(logging.INFO, message, False, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log(logging.WARNING, message, False, fields)

    def error(self, message: str, exc_info: bool = False, **fields: Any) -> None:
        self._log(logging.ERROR, message, exc_info, fields)


def get_logger(name: str) -> StructLogger:
    return StructLogger(name)


def setup_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger(_ROOT)
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("LOCAL_LOG_LEVEL", "INFO")).upper())
    root.propagate = False
    logging.captureWarnings(True)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)

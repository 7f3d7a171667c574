"""Logger and metrics for every function, with personal data redacted from every log line.

The redaction runs in the formatter, so it covers every key and value a log call passes,
including exceptions: email addresses and signed tokens are replaced, and keys that name
personal fields are masked whatever their value.
"""

from __future__ import annotations

import os
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_TOKEN = re.compile(r"\bv1\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}\b")
# Validation errors quote the offending value ("input_value='Ada'"); pydantic's repr of a
# model quotes every field. Neither may reach a log line.
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=)|input_value=\S+", re.DOTALL)
# A token or address in a query string: ?token=..., &t=..., &email=...
_QUERY_SECRET = re.compile(r"([?&](?:token|t|email)=)[^&\s\"']+", re.IGNORECASE)
PERSONAL_KEYS = frozenset(
    {
        "email",
        "email_norm",
        "to",
        "first_name",
        "last_name",
        "name",
        "token",
        "t",
        "address",
        "city",
        "phone",
        "authorization",
        "body",
        "detail",
        "fields",
        # Added for privacy (issue #4): free text and request data that may name a person.
        "full_name",
        "display_name",
        "evidence",
        "recipient",
        "recipients",
        "destination",
        "email_address",
        "emailaddress",
        "source_ip",
        "sourceip",
        "ip",
        "user_agent",
        "useragent",
        "cookie",
        "headers",
        "query",
        "query_string",
        "rawquerystring",
        "raw_query_string",
        "querystringparameters",
    }
)


def redact(value: Any, key: str | None = None) -> Any:
    """Return `value` with personal data removed (recursively for dicts and lists)."""
    if key is not None and key.lower() in PERSONAL_KEYS and value not in (None, "", [], {}):
        return "[redacted]"
    if isinstance(value, str):
        value = _INPUT_VALUE.sub("input_value=[redacted]", value)
        value = _QUERY_SECRET.sub(r"\1[redacted]", value)
        return _TOKEN.sub("[token]", _EMAIL.sub("[email]", value))
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Anything else is logged as its str() (an exception object, a model, a datetime): so
    # redact that text, or it would reach the line unredacted.
    return redact(str(value))


_SYSTEM_KEYS = frozenset(
    {
        "level",
        "location",
        "timestamp",
        "service",
        "xray_trace_id",
        "function_name",
        "function_request_id",
        "function_arn",
        "function_memory_size",
        "cold_start",
        "sampling_rate",
    }
)


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        cleaned = {k: (v if k in _SYSTEM_KEYS else redact(v, k)) for k, v in log.items()}
        return super().serialize(cleaned)


def get_logger(name: str | None = None) -> Logger:
    return Logger(service=name, logger_formatter=RedactingFormatter())


logger = get_logger()
# The namespace falls back to the template's value: a process that imports this module before
# its environment is set (a test session, a script) still flushes metrics instead of failing.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "TalentOps")


def count_journey(kind: str) -> None:
    """Journey metrics (docs/metrics.md): JourneyTimersScheduled, JourneysCompleted,
    JourneysExited."""
    metrics.add_metric(name=kind, unit=MetricUnit.Count, value=1)


def count(outcome: str, reason: str | None) -> None:
    """The decision metrics (docs/metrics.md): MessagesSent, MessagesSuppressed, and
    Suppressed_<reason> per stable reason word."""
    if outcome == "send":
        metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="MessagesSuppressed", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=f"Suppressed_{reason}", unit=MetricUnit.Count, value=1)

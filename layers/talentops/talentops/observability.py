"""Logger and metrics for every function, with personal data redacted from every log line.

The redaction runs in the formatter, so it covers every key and value a log call passes,
including exceptions: email addresses and signed tokens are replaced, and keys that name
personal fields are masked whatever their value.

Every pattern runs in time linear in the text (log lines carry what producers and SES send,
hostile input included): no pattern is tried again from inside a run it has already read,
and none searches ahead for an end it may never find. bench/redaction.py measures it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

# An address: a local part, "@", a domain with a dot and a top-level domain of letters. A
# pattern that starts with the local part is tried at every position of a long run of its
# characters (quadratic), so an address is found from its "@" instead (see redact_emails).
_LOCAL = r"A-Za-z0-9._%+\-'"
_AT_DOMAIN = re.compile(rf"@(?<=[{_LOCAL}]@)[A-Za-z0-9.\-]+\.[A-Za-z]{{2,}}")
_MARK = "@[email]"
# The local part before a marked "@", found in the reversed text: "]liame[@" then the run.
_MARKED_LOCAL_REVERSED = re.compile(re.escape(_MARK[::-1]) + rf"[{_LOCAL}]+")
# A link token: v1.<payload>.<sig> or v2.<kid>.<payload>.<sig> (tokens.py). "\bv" is tested
# after the literal, so that the search skips ahead to each "v1." or "v2.".
_TOKEN = re.compile(
    r"v[12]\.(?<!\wv[12]\.)(?:[A-Za-z0-9_\-]{1,32}\.)?[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}\b"
)
# Validation errors quote the offending value ("input_value='Ada'"); pydantic's repr of a
# model quotes every field. Neither may reach a log line. The value runs to the nearest
# ", input_type=", else to the next whitespace (see _redact_input_values).
_INPUT_TYPE = ", input_type="
_INPUT_VALUE_TYPED = re.compile(r"input_value=.*?(?=, input_type=)", re.DOTALL)
_INPUT_VALUE_WORD = re.compile(r"input_value=\S+")
# A token or address in a query string: ?token=..., &t=..., &email=... (found from the "=",
# the key checked behind it; the replacement names no group, so it is not expanded per match)
_QUERY_SECRET = re.compile(
    r"=(?:(?<=[?&]t=)|(?<=[?&]token=)|(?<=[?&]email=))[^&\s\"']+", re.IGNORECASE
)
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
        value = _redact_input_values(value)
        if "=" in value:
            value = _QUERY_SECRET.sub("=[redacted]", value)
        return _TOKEN.sub("[token]", redact_emails(value))
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Anything else is logged as its str() (an exception object, a model, a datetime): so
    # redact that text, or it would reach the line unredacted.
    return redact(str(value))


def redact_emails(text: str) -> str:
    """Every address replaced by "[email]", in two linear passes: each "@" that follows a
    local-part character and starts a domain is marked (the search jumps from "@" to "@"),
    then the run of local-part characters before each mark goes with it (found in the
    reversed text, where the mark comes first). A stray "@" followed by a domain right after
    an address becomes "@[email]"."""
    if "@" not in text:
        return text
    marked, found = _AT_DOMAIN.subn(_MARK, text)
    if not found:
        return text
    return _MARKED_LOCAL_REVERSED.sub("]liame[", marked[::-1])[::-1]


def _redact_input_values(text: str) -> str:
    """`input_value=<anything up to the nearest ", input_type=">` (else up to whitespace)
    becomes `input_value=[redacted]`. A lazy search for ", input_type=" from each value is
    quadratic where none follows; so the text is cut after the last one: before it, every
    search ends within the text; after it, none can succeed."""
    if "input_value=" not in text:
        return text
    last = text.rfind(_INPUT_TYPE)
    if last < 0:
        return _INPUT_VALUE_WORD.sub("input_value=[redacted]", text)
    cut = last + len(_INPUT_TYPE)
    head = _INPUT_VALUE_TYPED.sub("input_value=[redacted]", text[:cut])
    return head + _INPUT_VALUE_WORD.sub("input_value=[redacted]", text[cut:])


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


# What a JSON text may start with after its whitespace (json.loads: an object, an array, a
# string, a number, true, false, null, NaN, Infinity, -Infinity).
_JSON_STARTS = frozenset('{["-0123456789tfnNI')


def _json_message(text: Any) -> Any:
    """The formatter's deserializer: Powertools tries every message as JSON (a message that
    is a JSON text is logged as its value); a message that cannot be one ("decision") is
    refused before json.loads raises on it, which cost about 15 us a line. Raises ValueError
    exactly where json.loads would, so the formatter keeps the message as it is."""
    if isinstance(text, str) and text.lstrip(" \t\n\r")[:1] not in _JSON_STARTS:
        raise ValueError("not a JSON text")
    return json.loads(text)


def get_logger(name: str | None = None) -> Logger:
    return Logger(
        service=name, logger_formatter=RedactingFormatter(json_deserializer=_json_message)
    )


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

"""The SES records are read without pydantic (models/ses.py), so that the feedback function's
cold start loads no model. They are held here to the pydantic models they were read with
before (tests/support/ses_reference.py): for any record, both take it or both refuse it, and
what they take reads the same. The reference is the oracle only; the product never imports it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from talentops.errors import InvalidEventError
from talentops.models.ses import SesEventDetail, parse_ses_detail, parse_ses_event
from tests.fuzz.jsonschema import from_json_schema
from tests.fuzz.strategies import mutated
from tests.support import ses_reference as reference
from tests.support.fresh import fresh_python

SAMPLE: dict[str, Any] = {
    "version": "0",
    "id": "6c7c2a5e-1b5e-4c4f-9d8e-000000000001",
    "detail-type": "Email Bounced",
    "source": "aws.ses",
    "account": "123456789012",
    "time": "2026-12-04T10:00:00Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "Ada <ada@example.org>", "status": "5.1.1"}],
        },
        "mail": {
            "messageId": "0102-abc",
            "timestamp": "2026-12-04T09:59:58.120Z",
            "destination": ["ada@example.org"],
            "tags": {"decision_id": ["d" * 32], "candidate_id": ["c_ada0000001"]},
            "headers": [{"name": "X-Decision-Id", "value": "d" * 32}],
        },
    },
}


def _plain(value: Any) -> Any:
    """A record as plain data, whichever side read it (tuples as lists, dataclasses and
    models as dicts of their field names)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, reference.SesModel):
        return {name: _plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _both(event: Any) -> tuple[Any, Any]:
    """(what the reference made of ``event``, what the product made of it); a refusal is
    ``"refused"``."""
    try:
        before: Any = _plain(reference.SesEvent.model_validate(event))
    except ValidationError:
        before = "refused"
    try:
        after: Any = _plain(parse_ses_event(copy.deepcopy(event)))
    except InvalidEventError:
        after = "refused"
    return before, after


def _events() -> st.SearchStrategy[Any]:
    schema = reference.SesEvent.model_json_schema(mode="validation", by_alias=True)
    base = from_json_schema(schema)
    return st.one_of(base, mutated(base), mutated(st.just(SAMPLE)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=_events())
def test_any_record_reads_as_the_pydantic_models_read_it(event: Any) -> None:
    before, after = _both(event)
    assert after == before


def _case(value: Any) -> str:
    """A short test id: the path, or the kind and size of the value."""
    if isinstance(value, tuple):
        return ".".join(map(str, value))
    return f"{type(value).__name__}{len(str(value)) if len(str(value)) > 12 else value!r}"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        # Each place a record can go wrong, with a value of the wrong kind or size.
        (("id",), 7),
        (("detail-type",), "x" * 257),
        (("time",), "not a time"),
        (("time",), True),
        (("time",), float("inf")),
        (("time",), 10**30),
        (("time",), 10**400),
        (("detail", "mail", "timestamp"), -(10**400)),
        (("detail",), []),
        (("detail", "eventType"), ["Bounce"]),
        (("detail", "bounce", "bounceType"), None),
        (("detail", "bounce", "bouncedRecipients"), "ada@example.org"),
        (("detail", "bounce", "bouncedRecipients"), [{"emailAddress": "a"}] * 101),
        (("detail", "bounce", "bouncedRecipients", 0, "emailAddress"), "a" * 1025),
        (("detail", "mail", "destination"), None),
        (("detail", "mail", "tags"), {"t": "not a list"}),
        (("detail", "mail", "tags"), {f"t{i}": [] for i in range(65)}),
        (("detail", "mail", "headers", 0, "value"), "v" * 4097),
        (("detail", "mail", "timestamp"), {}),
        (("detail", "send"), "sent"),
        (("detail", "click"), {"link": 5}),
    ],
    ids=_case,
)
def test_each_misfit_is_refused_by_both(where: tuple[Any, ...], value: Any) -> None:
    event = copy.deepcopy(SAMPLE)
    target = event
    for part in where[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[where[-1]] = value
    before, after = _both(event)
    assert before == after == "refused"


def test_a_refusal_says_where_and_never_the_value() -> None:
    event = copy.deepcopy(SAMPLE)
    event["detail"]["bounce"]["bouncedRecipients"] = [{"emailAddress": "ada@example.org" * 80}]
    with pytest.raises(InvalidEventError) as refused:
        parse_ses_event(event)
    assert str(refused.value) == (
        "SES event: detail.bounce.bouncedRecipients.0.emailAddress: "
        "String should have at most 1024 characters"
    )
    event["detail"]["mail"]["tags"] = {"ada@example.org": "x"}
    with pytest.raises(InvalidEventError) as refused:
        parse_ses_detail(event["detail"])
    assert "ada@example.org" not in str(refused.value)
    assert str(refused.value).startswith("SES event: mail.tags.?:")
    with pytest.raises(InvalidEventError) as refused:
        parse_ses_event("not an event")
    assert str(refused.value) == "SES event: detail: Input should be a valid dictionary"


def test_a_record_reads_under_ses_names_and_python_names_alike() -> None:
    by_ses = parse_ses_detail(SAMPLE["detail"])
    by_python = parse_ses_detail(
        {
            "event_type": "Bounce",
            "bounce": {
                "bounce_type": "Permanent",
                "bounced_recipients": [{"email_address": "Ada <ada@example.org>"}],
            },
            "mail": {"message_id": "0102-abc"},
        }
    )
    assert by_python.kind == by_ses.kind == "Bounce"
    assert by_python.bounce == by_ses.bounce
    assert by_python.mail is not None and by_python.mail.message_id == "0102-abc"
    assert parse_ses_detail(by_ses) is by_ses  # a record already read is taken as it is
    assert isinstance(by_ses, SesEventDetail)
    assert by_ses.mail is not None and by_ses.mail.tag("candidate_id") == "c_ada0000001"
    assert by_ses.mail.timestamp == datetime.fromisoformat("2026-12-04T09:59:58.120+00:00")
    assert by_ses.mail.header("x-decision-id") == "d" * 32


def test_the_feedback_function_loads_no_pydantic_for_a_bounce() -> None:
    loaded = fresh_python(
        """
        import sys
        from talentops.models.ses import parse_ses_event
        from talentops.privacy.feedback import parse_ses_event as feedback_of
        from talentops.privacy.wiring import feedback_service
        feedback_service()
        feedback = feedback_of(parse_ses_event(EVENT).detail)
        assert feedback.kind == "bounce" and feedback.addresses == ("ada@example.org",)
        print("\\n".join(m for m in sys.modules if m.startswith(("pydantic", "talentops"))))
        """.replace("EVENT", repr(SAMPLE)),
        {
            "AWS_DEFAULT_REGION": "eu-west-1",
            "TABLE_NAME": "talent-pool",
            "EVENT_BUS_NAME": "talent",
            "SENDER_ADDRESS": "careers@example.com",
        },
    ).split()
    assert "talentops.privacy.feedback" in loaded
    assert not [m for m in loaded if m.startswith("pydantic")]
    assert "talentops.models.events" not in loaded
    assert "talentops.models.state" not in loaded

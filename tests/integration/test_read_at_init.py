"""The sending functions read the token key in Lambda's init phase, so that the first message
of an execution environment makes the same requests as any other."""

from __future__ import annotations

from typing import Any

import pytest

from talentops import wiring
from talentops.adapters.aws import client
from talentops.observability import logger
from tests.conftest import Aws, load_handler


def _ssm_calls() -> list[str]:
    calls: list[str] = []

    def note(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client("ssm").meta.events.register("before-call.ssm.*", note)
    return calls


def test_inside_lambda_the_init_reads_the_key_and_the_first_message_does_not(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring.reset()
    calls = _ssm_calls()
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    load_handler("journeys")  # the module's top level: Lambda's init
    assert calls == ["GetParameter"]
    wiring.signer()  # what a message does before it signs its links
    assert calls == ["GetParameter"]  # the message signs with the key read at init


def test_outside_lambda_nothing_is_read_at_import(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring.reset()
    calls = _ssm_calls()
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    load_handler("job_alert_worker")
    assert calls == []


def test_a_key_that_cannot_be_read_at_init_is_left_to_the_first_message(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    warned: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(logger, "warning", lambda msg, **kw: warned.append((msg, kw)))
    monkeypatch.setenv("TOKEN_KEY_PARAMETER", "/talentops/no-such-key")
    wiring.reset()
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    load_handler("campaign_worker")  # does not raise: init goes on
    assert [m for m, _ in warned] == ["token key not read at init"]
    with pytest.raises(Exception, match="no-such-key|ParameterNotFound"):
        wiring.signer()

"""The local stack runs every function in one process, side by side in threads. Powertools
keeps a logger's keys on its formatter, so without devstack.functions.isolate_log_keys one
function's invocation would stamp another's log lines with its name and request id."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

from aws_lambda_powertools import Logger

from devstack.functions import isolate_log_keys


class Context:
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    log_group_name = "/aws/lambda/x"
    log_stream_name = "x"

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        self.aws_request_id = f"request-of-{name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _run_side_by_side(isolated: bool, service: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    logger = Logger(service=service, logger_handler=logging.StreamHandler(out))
    if isolated:
        powertools_logger = logging.getLogger(service)
        assert isolate_log_keys([powertools_logger]) == 1
        assert isolate_log_keys([powertools_logger]) == 0  # once is enough
    both_inside = threading.Barrier(2)
    both_appended = threading.Barrier(2)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> None:
        both_inside.wait(timeout=10)  # each has stamped its keys before either logs
        logger.append_keys(step=event["step"])
        both_appended.wait(timeout=10)
        logger.info("handled")

    threads = [
        threading.Thread(target=handler, args=({"step": name}, Context(name)))
        for name in ("journeys", "ingest")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    logger.info("outside any invocation")
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_functions_lines_carry_its_own_name_request_id_and_keys() -> None:
    lines = _run_side_by_side(isolated=True, service="isolated-keys")
    handled = [line for line in lines if line["message"] == "handled"]
    assert len(handled) == 2
    for line in handled:
        name = line["function_name"]
        assert name in ("journeys", "ingest")
        assert line["function_request_id"] == f"request-of-{name}"
        assert line["step"] == name
    outside = next(line for line in lines if line["message"] == "outside any invocation")
    assert "function_name" not in outside and "step" not in outside


def test_without_it_the_threads_share_one_set_of_keys() -> None:
    """The premise: Powertools alone lets the last invocation's keys win."""
    lines = _run_side_by_side(isolated=False, service="shared-keys")
    handled = [line for line in lines if line["message"] == "handled"]
    assert len(handled) == 2
    assert handled[0]["function_name"] == handled[1]["function_name"]

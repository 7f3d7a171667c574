"""One cold start, in a fresh interpreter: `python bench/coldstart_child.py SPEC OUT`.

real: patch talentops.adapters.aws.client so that every client it creates is a real boto3
client with botocore's Stubber activated and loaded with the responses the spec lists (no
emulator is imported), import functions/<name>/app.py, call its handler once with the spec's
event, check that every stubbed response was consumed, and exit.

bare: import boto3, create the same clients (one session, the product's client config) in a
handler, and return.

Both read the same spec and import botocore.stub, so that the apparatus costs both alike.
The times written to OUT are time.perf_counter values (CLOCK_MONOTONIC on Linux, the clock
the parent reads before the spawn); the process ends with os._exit after writing them.
"""

from __future__ import annotations

import time

T_TOP = time.perf_counter()

import functools  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from botocore.stub import Stubber  # noqa: E402


class Context:
    function_name = "coldstart"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:coldstart"
    memory_limit_in_mb = 512
    aws_request_id = "coldstart-request"
    log_group_name = "/aws/lambda/coldstart"
    log_stream_name = "coldstart"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def bare(spec: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config = Config(  # the product's (talentops.adapters.aws)
            retries={"mode": "standard", "total_max_attempts": 3},
            connect_timeout=3,
            read_timeout=10,
            tcp_keepalive=True,
            parameter_validation=False,
        )
        session = boto3.session.Session()
        clients = [session.client(s, config=config) for s in spec["services"]]  # type: ignore[call-overload]
        return {"clients": len(clients)}

    t_import = time.perf_counter()
    result = handler(spec["event"], Context())
    t_handler = time.perf_counter()
    return {"result": result, "t_import": t_import, "t_handler": t_handler}


def real(spec: dict[str, Any]) -> dict[str, Any]:
    sys.path[:0] = spec["sys_path"]
    import talentops.adapters.aws as aws

    original = aws.client
    stubbers: dict[str, Stubber] = {}

    @functools.lru_cache(maxsize=16)
    def client(service: str) -> Any:
        made = original(service)
        stubber = Stubber(made)
        for method, response in spec["stubs"].get(service, []):
            stubber.add_response(method, response)
        stubber.activate()
        stubbers[service] = stubber
        return made

    aws.client = client  # type: ignore[assignment]
    path = spec["app"]
    module_spec = importlib.util.spec_from_file_location("app", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["app"] = module
    module_spec.loader.exec_module(module)
    t_import = time.perf_counter()
    result = module.handler(spec["event"], Context())
    t_handler = time.perf_counter()
    for service, stubber in stubbers.items():
        try:
            stubber.assert_no_pending_responses()
        except AssertionError as exc:
            raise AssertionError(f"{service}: {exc} (result: {result})") from exc
    missing = sorted(set(spec["stubs"]) - set(stubbers))
    if missing:
        raise AssertionError(f"clients never created: {missing}")
    return {"result": result, "t_import": t_import, "t_handler": t_handler}


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    out = bare(spec) if spec["mode"] == "bare" else real(spec)
    out["t_top"] = T_TOP
    out["t_end"] = time.perf_counter()
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, default=str)
    # A Lambda process lives on after its first invocation: the interpreter's teardown is no
    # part of a cold start, so skip it (it only slows the bench down).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

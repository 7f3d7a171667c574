"""The template's functions in this process: their settings, one shared environment, the
handlers loaded with importlib, and a Lambda-like context."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from .aws import StartupError
from .config import ACCESS_KEY_ID, HANDLER_ENV_DEFAULTS, SECRET_ACCESS_KEY, LocalConfig
from .log import get_logger
from .plan import HTTP_API_TYPE, StackPlan, api_id_for
from .provision import Provisioner
from .template import CodeLocation, code_location

log = get_logger("functions")
_OPT = "/opt"

Handler = Callable[[Any, Any], Any]


class EnvironmentConflictError(StartupError):
    """Two functions need different values for one variable; they share one process."""


@dataclass(frozen=True)
class AsyncPolicy:
    max_retry_attempts: int = 2
    max_event_age_seconds: int = 21600
    dead_letter_arn: str | None = None
    on_failure_arn: str | None = None
    on_success_arn: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, str]
    async_policy: AsyncPolicy


# -- specs ------------------------------------------------------------------------------------


class Localizer:
    """Turns deployed-only values into local ones: execute-api URLs into the local API, /opt
    (where layers are extracted) into the content layer's directory."""

    def __init__(self, config: LocalConfig, plan: StackPlan, content_dirs: list[Path]):
        self._api_hosts = [
            f"https://{api_id_for(lid)}.execute-api.{config.region}.amazonaws.com"
            for lid, kind in plan.resource_types.items()
            if kind == HTTP_API_TYPE
        ]
        self._api_url = config.api_url
        self._content_dirs = content_dirs

    def __call__(self, value: str) -> str:
        for host in self._api_hosts:
            for prefix in (f"{host}/$default", host):
                value = value.replace(prefix, self._api_url)
        if value == _OPT or value.startswith(_OPT + "/"):
            value = self._local_opt(value[len(_OPT) :].lstrip("/"))
        return value

    def _local_opt(self, rest: str) -> str:
        if not self._content_dirs:
            return _OPT + ("/" + rest if rest else "")
        for directory in self._content_dirs:
            if rest and (directory / rest).exists():
                return str(directory / rest)
        return str(self._content_dirs[0] / rest) if rest else str(self._content_dirs[0])


def layer_locations(plan: StackPlan, locations: dict[str, CodeLocation]) -> list[CodeLocation]:
    found = []
    for properties in plan.layers.values():
        location = code_location(properties.get("Content"), locations)
        if location is not None:
            found.append(location)
    return found


def python_paths(layers: list[CodeLocation]) -> list[Path]:
    """Directories that make the layers' packages importable, as /opt/python does in Lambda."""
    paths = []
    for layer in layers:
        if (layer.directory / "python").is_dir():
            paths.append(layer.directory / "python")
        elif (layer.build_method or "").startswith("python"):
            paths.append(layer.directory)
    return paths


def content_dirs(layers: list[CodeLocation]) -> list[Path]:
    return [
        layer.directory
        for layer in layers
        if not (layer.build_method or "").startswith("python")
        and not (layer.directory / "python").is_dir()
    ]


def build_specs(
    plan: StackPlan,
    provisioner: Provisioner,
    locations: dict[str, CodeLocation],
    localize: Localizer,
) -> dict[str, FunctionSpec]:
    specs = {}
    for logical_id, properties in plan.functions.items():
        location = code_location(properties.get("Code"), locations)
        if location is None:
            log.warning("function has no local code; it is not emulated", function=logical_id)
            continue
        variables = provisioner.resolver.resolve(
            (properties.get("Environment") or {}).get("Variables") or {}
        )
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=provisioner.function_name(logical_id),
            arn=provisioner.function_arn(logical_id),
            code_dir=location.directory,
            handler=str(properties.get("Handler")),
            memory_mb=int(properties.get("MemorySize") or 128),
            timeout_seconds=int(properties.get("Timeout") or 3),
            environment={name: localize(_env_string(value)) for name, value in variables.items()},
            async_policy=_async_policy(
                properties, plan.invoke_configs.get(logical_id), provisioner
            ),
        )
    return specs


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, (dict, list))
        else str(value)
    )


def _async_policy(
    properties: dict[str, Any], invoke_config: dict[str, Any] | None, provisioner: Provisioner
) -> AsyncPolicy:
    resolve = provisioner.resolver.resolve
    config = resolve(invoke_config or {})
    destinations = config.get("DestinationConfig") or {}
    dead_letter = resolve((properties.get("DeadLetterConfig") or {}).get("TargetArn"))
    return AsyncPolicy(
        max_retry_attempts=int(config.get("MaximumRetryAttempts", 2)),
        max_event_age_seconds=int(config.get("MaximumEventAgeInSeconds", 21600)),
        dead_letter_arn=dead_letter or None,
        on_failure_arn=(destinations.get("OnFailure") or {}).get("Destination"),
        on_success_arn=(destinations.get("OnSuccess") or {}).get("Destination"),
    )


# -- the one environment ----------------------------------------------------------------------


def merged_environment(specs: dict[str, FunctionSpec]) -> dict[str, str]:
    """The union of the functions' variables, which share one process.

    An empty value counts as unset (the application's settings ignore empty variables), so
    "" in one function and a value in another merges to the value, with a warning. Two
    different non-empty values cannot be honoured in one process: that fails the start.
    """
    values: dict[str, dict[str, list[str]]] = {}
    for spec in specs.values():
        for name, value in spec.environment.items():
            values.setdefault(name, {}).setdefault(value, []).append(spec.logical_id)
    merged: dict[str, str] = {}
    conflicts: list[str] = []
    for name, by_value in sorted(values.items()):
        distinct = [value for value in by_value if value != ""]
        if len(distinct) > 1:
            functions = sorted(f for owners in by_value.values() for f in owners)
            conflicts.append(f"{name} ({', '.join(functions)})")
            continue
        merged[name] = distinct[0] if distinct else ""
        if distinct and "" in by_value:
            log.warning(
                "variable empty in some functions and set in others; the process uses the value",
                variable=name,
                empty_in=sorted(by_value[""]),
                set_in=sorted(by_value[distinct[0]]),
            )
    if conflicts:
        raise EnvironmentConflictError(
            "functions need different values of the same environment variable, but the local "
            f"stack runs them in one process: {'; '.join(conflicts)}"
        )
    return merged


def apply_environment(config: LocalConfig, variables: dict[str, str]) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": config.aws_url,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_REGION": config.region,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }
    )
    for name, value in HANDLER_ENV_DEFAULTS.items():
        if name not in variables:
            os.environ[name] = value
    os.environ.update(variables)


def extend_sys_path(paths: list[Path]) -> None:
    for path in reversed(paths):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


# -- handlers ---------------------------------------------------------------------------------


def load_handler(spec: FunctionSpec) -> Handler:
    module_path, _, attribute = spec.handler.rpartition(".")
    if not module_path or not attribute:
        raise StartupError(f"function {spec.logical_id} has an invalid Handler")
    relative = Path(*module_path.split("."))
    source = spec.code_dir / relative.with_suffix(".py")
    if not source.is_file():
        source = spec.code_dir / relative / "__init__.py"
    if not source.is_file():
        raise StartupError(
            f"function {spec.logical_id}: no module for its Handler in {spec.code_dir}"
        )
    module = _import_unique(
        f"_devstack_fn_{spec.logical_id}_{module_path.replace('.', '_')}", source
    )
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise StartupError(f"function {spec.logical_id}: {spec.handler} is not callable")
    return handler  # type: ignore[no-any-return]


def _import_unique(name: str, source: Path) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(name, source)
    if module_spec is None or module_spec.loader is None:
        raise StartupError(f"cannot load {source}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


# -- the functions' log lines --------------------------------------------------------------


class _PerThreadKeys:
    """Marks a Powertools formatter whose keys are kept per thread (isolate_log_keys)."""


def isolate_log_keys(loggers: list[logging.Logger] | None = None) -> int:
    """Give each thread its own copy of the keys of every Powertools log formatter.

    Powertools keeps a logger's keys (``function_name``, ``function_request_id``,
    ``cold_start``, and whatever a handler appends) on its formatter, one formatter per
    logger name. In Lambda one invocation at a time uses it; here the functions share one
    process and run side by side in threads, so one's ``inject_lambda_context`` would stamp
    another's log lines with its name and request id. A thread's keys start from those the
    formatter held when this ran. ``loggers``: those to look at (default: every logger the
    process has). Returns how many formatters were changed."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if loggers is None:
        named = logging.Logger.manager.loggerDict.values()
        loggers = [logging.getLogger(), *(x for x in named if isinstance(x, logging.Logger))]
    changed = 0
    for logger in loggers:
        for handler in logger.handlers:
            formatter = handler.formatter
            if isinstance(formatter, LambdaPowertoolsFormatter) and not isinstance(
                formatter, _PerThreadKeys
            ):
                _keys_per_thread(formatter)
                changed += 1
    return changed


def _keys_per_thread(formatter: logging.Formatter) -> None:
    start = dict(formatter.log_format)  # type: ignore[attr-defined]
    local = threading.local()

    def keys(self: Any) -> dict[str, Any]:
        held: dict[str, Any] | None = getattr(local, "keys", None)
        if held is None:
            held = local.keys = dict(start)
        return held

    def set_keys(self: Any, value: dict[str, Any]) -> None:
        local.keys = value

    base = type(formatter)
    formatter.__class__ = type(
        f"PerThread{base.__name__}",
        (base, _PerThreadKeys),
        {"log_format": property(keys, set_keys), "__module__": __name__},
    )


class LambdaContext:
    """What Lambda passes as `context` (the attributes Powertools and handlers read)."""

    function_version = "$LATEST"
    identity = None
    client_context = None
    tenant_id = None

    def __init__(self, spec: FunctionSpec, request_id: str):
        self.function_name = spec.name
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationKilled(BaseException):
    """The invocation ends here, as a Lambda timeout ends it (devstack/faults.py): a
    BaseException, so that no ``except Exception`` of the application catches it and nothing
    it would do on failure runs."""


class InvocationTimeoutError(Exception):
    """What the invoker sees of a killed invocation: a failed one (retries, DLQ, SQS
    redelivery apply as they do to a Lambda timeout)."""


class FunctionRuntime:
    """One function: invocations are serialized, payloads go through JSON as in Lambda."""

    def __init__(self, spec: FunctionSpec, handler: Handler):
        self.spec = spec
        self._handler = handler
        self._lock = threading.Lock()

    def invoke(self, event: Any, request_id: str | None = None) -> Any:
        payload = json.loads(json.dumps(event))
        context = LambdaContext(self.spec, request_id or str(uuid.uuid4()))
        with self._lock:
            started = time.monotonic()
            try:
                return self._handler(payload, context)
            except InvocationKilled as exc:
                log.warning("invocation killed", function=self.spec.logical_id, fault=str(exc))
                raise InvocationTimeoutError(f"Task timed out ({exc})") from None
            finally:
                elapsed = time.monotonic() - started
                if elapsed > self.spec.timeout_seconds:
                    log.warning(
                        "invocation ran longer than the function's Timeout",
                        function=self.spec.logical_id,
                        seconds=round(elapsed, 3),
                    )

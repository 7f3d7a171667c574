"""Wires the local stack together and runs it in the foreground until SIGINT / SIGTERM."""

from __future__ import annotations

import importlib
import os
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from . import eventlog
from .aws import AwsClients, MotoServer, StartupError, start_moto
from .config import (
    APPLICATION_CLOCK,
    LOCAL_PARAMETER_DEFAULTS,
    SECURE_KEY_PARAMETER_VARIABLES,
    SES_SENDER_VARIABLES,
    STATIC_MOUNTS,
    LocalConfig,
)
from .engage import Engagements
from .firehose import StreamEmulation, StreamPoller, clear_lake
from .functions import (
    FunctionRuntime,
    Localizer,
    apply_environment,
    build_specs,
    content_dirs,
    extend_sys_path,
    isolate_log_keys,
    layer_locations,
    load_handler,
    merged_environment,
    python_paths,
)
from .httpapi import Cors, Router
from .intrinsics import Resolver
from .invoker import AsyncInvoker, Destinations, MirrorPoller, QueueSourcePoller
from .log import get_logger, setup_logging
from .outbox import Outbox
from .outbox import install as keep_send_tags
from .plan import MirrorTarget, StackPlan, build_plan
from .provision import Provisioner
from .schedules import MotoScheduleSources, ScheduleEngine, ScheduleTicker
from .server import ApiServer, ClockControl, LocalApi
from .template import (
    CodeLocation,
    load_template,
    parameter_values,
    prepare_for_translation,
    translate,
)

log = get_logger("stack")


class LocalStack:
    def __init__(self, config: LocalConfig):
        self.config = config
        self.stop_event = threading.Event()
        self.clients = AwsClients(config)
        self._moto: MotoServer | None = None
        self._api: ApiServer | None = None
        self._threads: list[threading.Thread] = []
        self.invokers: dict[str, AsyncInvoker] = {}
        self._invokers_by_arn: dict[str, AsyncInvoker] = {}
        self.clock: Any = None

    def _now(self) -> datetime:
        """The application's clock once the schedules run it, else the wall clock."""
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    # -- start --------------------------------------------------------------------------------

    def start(self) -> None:
        self._moto = start_moto(self.config)
        keep_send_tags()  # the tags and configuration set of each send (POST /_local/engage)
        # Every event put on a bus, appended to the stack's event log (make simulate).
        eventlog.install(self.config.event_log, self._now)
        log.info("moto started", url=self.config.aws_url)
        plan, locations, provisioner = self._create_resources()
        runtimes = self._load_functions(plan, locations, provisioner)
        self._wire_invokers(runtimes)
        scheduled = self._start_pollers(plan, provisioner, runtimes)
        engine = self._start_schedules(scheduled)
        self._start_api(plan, runtimes, engine, provisioner.resolver)

    def _create_resources(self) -> tuple[StackPlan, dict[str, CodeLocation], Provisioner]:
        template = load_template(self.config.template_path)
        prepared, locations = prepare_for_translation(template, self.config.template_dir)
        parameters = parameter_values(
            template, {**LOCAL_PARAMETER_DEFAULTS, **self.config.parameter_overrides}
        )
        try:
            translated = translate(prepared, self.config.region, parameters)
        except Exception as exc:
            raise StartupError(f"the SAM translation of the template failed: {exc}") from exc
        plan = build_plan(translated)
        for warning in plan.warnings:
            log.warning(warning)
        for logical_id, kind in plan.skipped.items():
            log.warning(
                "resource type not supported by moto; not created", logical_id=logical_id, type=kind
            )
        provisioner = Provisioner(self.config, plan, parameters, translated, self.clients)
        provisioner.provision()
        return plan, locations, provisioner

    def _load_functions(
        self, plan: StackPlan, locations: dict[str, CodeLocation], provisioner: Provisioner
    ) -> dict[str, FunctionRuntime]:
        """The one environment, the layers on sys.path, then every handler (before ready)."""
        layers = layer_locations(plan, locations)
        localize = Localizer(self.config, plan, content_dirs(layers))
        specs = build_specs(plan, provisioner, locations, localize)
        environment = merged_environment(specs)
        apply_environment(self.config, environment)
        self._local_lake(plan, environment)
        extend_sys_path(python_paths(layers))
        self._create_prerequisites(environment)
        runtimes = {lid: FunctionRuntime(spec, load_handler(spec)) for lid, spec in specs.items()}
        # The functions run side by side in threads: each thread keeps its own log keys.
        isolated = isolate_log_keys()
        log.info("handlers loaded", functions=sorted(runtimes), log_formatters=isolated)
        return runtimes

    def _local_lake(self, plan: StackPlan, environment: dict[str, str]) -> None:
        """With a delivery stream in the template, the event lake is the folder the stream's
        emulation writes (emptied: moto's state, the lake keys with it, is new at every
        start), and the functions read it as LAKE_DIR unless the template sets one."""
        if not plan.streams:
            return
        removed = clear_lake(self.config.lake_dir)
        self.config.lake_dir.mkdir(parents=True, exist_ok=True)
        if not environment.get("LAKE_DIR"):
            os.environ["LAKE_DIR"] = str(self.config.lake_dir)
        log.info("local event lake ready", streams=len(plan.streams), files_removed=removed)

    def _create_prerequisites(self, environment: dict[str, str]) -> None:
        """What a deployment creates outside the template: the sender's SES identity and the
        token signing key."""
        sesv2 = self.clients.client("sesv2")
        for variable in SES_SENDER_VARIABLES:
            address = environment.get(variable, "")
            if "@" in address:
                sesv2.create_email_identity(EmailIdentity=address.rsplit("@", 1)[1].strip(">"))
                log.info("SES identity created", variable=variable)
        ssm = self.clients.client("ssm")
        for variable in SECURE_KEY_PARAMETER_VARIABLES:
            name = environment.get(variable)
            if name:
                ssm.put_parameter(
                    Name=name, Value=secrets.token_hex(32), Type="SecureString", Overwrite=True
                )
                log.info("secure parameter created", variable=variable)

    def local_function(self, arn: str) -> AsyncInvoker | None:
        """The invoker of a template function, by its (possibly qualified) ARN."""
        return self._invokers_by_arn.get(_unqualified(arn))

    def _wire_invokers(self, runtimes: dict[str, FunctionRuntime]) -> None:
        destinations = Destinations(self.clients, self.local_function)
        for logical_id, runtime in runtimes.items():
            invoker = AsyncInvoker(runtime, runtime.spec.async_policy, destinations)
            self.invokers[logical_id] = invoker
            self._invokers_by_arn[runtime.spec.arn] = invoker

    def _start_pollers(
        self, plan: StackPlan, provisioner: Provisioner, runtimes: dict[str, FunctionRuntime]
    ) -> dict[str, list[tuple[MirrorTarget, AsyncInvoker]]]:
        """Pollers of the mirror queues and SQS sources; returns the function targets of the
        scheduled rules (rule ARN -> targets), which the schedule engine invokes."""
        scheduled: dict[str, list[tuple[MirrorTarget, AsyncInvoker]]] = {}
        wait = self.config.poll_wait_seconds
        for target in plan.mirrors:
            invoker = self.invokers.get(target.function_id)
            if invoker is None:
                continue
            if target.scheduled:
                rule_arn = str(provisioner.lookup(target.rule_id, "Arn"))
                scheduled.setdefault(rule_arn, []).append((target, invoker))
            else:
                self._threads.append(
                    MirrorPoller(
                        target,
                        invoker,
                        self.clients,
                        provisioner.lookup(target.queue_id, None),
                        stop=self.stop_event,
                        wait_seconds=wait,
                    )
                )
        for stream_target in plan.stream_targets:
            stream = plan.streams[stream_target.stream_id]
            emulation = StreamEmulation(
                stream.stream_id,
                str(provisioner.lookup(stream.stream_id, "Arn")),
                self.config.region,
                destination=provisioner.resolver.resolve(stream.destination),
                processor=runtimes.get(stream.processor_id) if stream.processor_id else None,
                lake_dir=self.config.lake_dir,
            )
            self._threads.append(
                StreamPoller(
                    f"stream-{stream_target.rule_id}-{stream_target.target_id}",
                    emulation,
                    self.clients,
                    provisioner.lookup(stream_target.queue_id, None),
                    stop=self.stop_event,
                    wait_seconds=wait,
                )
            )
        for source in plan.queue_sources:
            runtime = runtimes.get(source.function_id)
            properties = provisioner.resolver.resolve(source.properties)
            if runtime is None or str(properties.get("Enabled", True)).lower() == "false":
                continue
            self._threads.append(
                QueueSourcePoller(
                    source.mapping_id,
                    runtime,
                    properties,
                    self.clients,
                    queue_url=self.clients.queue_url(str(properties["EventSourceArn"])),
                    stop=self.stop_event,
                    wait_seconds=wait,
                )
            )
        for thread in self._threads:
            thread.start()
        log.info(
            "pollers started",
            mirrors=sum(isinstance(t, MirrorPoller) for t in self._threads),
            queue_sources=sum(isinstance(t, QueueSourcePoller) for t in self._threads),
            streams=sum(isinstance(t, StreamPoller) for t in self._threads),
        )
        return scheduled

    def _start_schedules(
        self, scheduled: dict[str, list[tuple[MirrorTarget, AsyncInvoker]]]
    ) -> ScheduleEngine:
        self.clock = _application_clock()
        sources = MotoScheduleSources(self.clients, scheduled, self.local_function)
        engine = ScheduleEngine(self.clock, sources)
        engine.run_due()  # registers what exists now; nothing is due yet
        ticker = ScheduleTicker(engine, self.stop_event, self.config.schedule_tick_seconds)
        ticker.start()
        self._threads.append(ticker)
        return engine

    def _start_api(
        self,
        plan: StackPlan,
        runtimes: dict[str, FunctionRuntime],
        engine: ScheduleEngine,
        resolver: Resolver,
    ) -> None:
        for route in plan.routes:
            if route.unsupported_auth:
                log.warning(
                    "route authorizer not emulated; the route is open locally",
                    route=f"{route.method} {route.path}",
                )
            if route.payload_version != "2.0":
                log.warning(
                    "route payload format is not 2.0; the stack sends 2.0",
                    route=f"{route.method} {route.path}",
                )
        cors = {
            api_id: Cors.from_extension(resolver.resolve(document))
            for api_id, document in plan.cors.items()
        }
        router = Router.build(plan.routes, runtimes, cors)
        mounts = {
            prefix: self.config.repo / directory for prefix, directory in STATIC_MOUNTS.items()
        }
        outbox = Outbox(self.config.account_id, self.config.region)
        clock = ClockControl(self.clock, engine.run_due)
        api = LocalApi(
            router,
            outbox,
            clock,
            mounts,
            self.config.account_id,
            engagements=Engagements(
                outbox,
                clock.now,
                lambda: self.clients.client("events"),
                self.config.account_id,
                self.config.region,
            ),
        )
        self._api = ApiServer(self.config.host, self.config.api_port, api)
        self._api.start()
        log.info("api started", url=self.config.api_url, routes=len(router.routes))

    # -- stop ---------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()
        if self._api is not None:
            self._api.stop()
        for thread in self._threads:
            thread.join(timeout=self.config.poll_wait_seconds + 5)
        if self._moto is not None:
            self._moto.stop()
        log.info("stopped")


class _OffsetClock:
    """Stand-in when the application has no clock module: wall time plus an offset."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> datetime:
        self.offset += timedelta(seconds=seconds)
        return self.now()


def _application_clock() -> Any:
    module_name, _, attribute = APPLICATION_CLOCK.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        log.warning("application clock not found; using a local one", clock=APPLICATION_CLOCK)
        return _OffsetClock()


def _unqualified(arn: str) -> str:
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


def _install_signal_handlers(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    try:
        config = LocalConfig.from_env()
    except (ValueError, TypeError) as exc:
        log.error("invalid configuration", reason=str(exc))
        return 2
    stack = LocalStack(config)
    _install_signal_handlers(stack.stop_event)
    try:
        stack.start()
    except StartupError as exc:
        log.error("the local stack cannot start", reason=str(exc))
        stack.stop()
        return 1
    except Exception:
        log.error("the local stack failed to start", exc_info=True)
        import traceback

        traceback.print_exc(file=sys.stderr)  # startup handles no personal data yet
        stack.stop()
        return 1
    if not stack.stop_event.is_set():
        print(f"ready aws={config.aws_url} api={config.api_url}", flush=True)
        while not stack.stop_event.wait(0.5):
            pass
    stack.stop()
    return 0

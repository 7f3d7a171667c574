"""An emulated AWS account (moto, in process) with the resources of template.yaml, the
request counter (botocore event hooks), and the real handlers of functions/."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from collections import Counter
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from .capacity import CapacityMeter, Units
from .common import BUS, FUNCTIONS, REGION, SENDER, TABLE, TOKEN_KEY, TOKEN_PARAM


class RequestCounter:
    """Counts AWS API calls exactly, by service and operation, from botocore's own events.

    Every botocore client created after `install()` gets handlers on its event system:
    ``before-call.*.*`` (once per API call, whatever the retries),
    ``request-created.*.*`` (once per HTTP attempt, so retries show as attempts > calls) and
    ``after-call.*.*`` (the parsed response, kept while `recording()`).
    Counting happens only inside `window()`, so that setting up the account is not counted.
    """

    def __init__(self, meter: CapacityMeter | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self.attempts = 0
        self.active = False
        self.window_attempts = 0
        self.trace: list[tuple[str, str, dict[str, Any]]] | None = None
        # DynamoDB's request units of the calls counted (bench/capacity.py), when given.
        self.meter = meter
        self.window_units_by_operation: dict[str, Units] = {}
        self.units_total = Units()  # every window's, added up

    def _on_call(self, model: Any = None, **_: Any) -> None:
        if self.active and model is not None:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _on_attempt(self, **_: Any) -> None:
        if self.active:
            self.attempts += 1

    def _on_response(self, model: Any = None, parsed: Any = None, **_: Any) -> None:
        if self.trace is not None and model is not None:
            from botocore import xform_name

            response = {k: v for k, v in (parsed or {}).items() if k != "ResponseMetadata"}
            self.trace.append((model.service_model.service_name, xform_name(model.name), response))

    def attach(self, events: Any) -> None:
        me = id(self)
        events.register("before-call.*.*", self._on_call, unique_id=f"bench-call-{me}")
        events.register("request-created.*.*", self._on_attempt, unique_id=f"bench-try-{me}")
        events.register("after-call.*.*", self._on_response, unique_id=f"bench-trace-{me}")
        if self.meter is not None:
            self.meter.attach(events)

    def install(self) -> None:
        """Attach to every botocore client created from now on, in this process."""
        _install_hook()
        if self not in _COUNTERS:
            _COUNTERS.append(self)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
        """Record (service, method, parsed response) of every call inside the block."""
        self.trace = []
        try:
            yield self.trace
        finally:
            self.trace = None

    @contextlib.contextmanager
    def window(self) -> Iterator[Counter[str]]:
        """Count the calls made inside the block; yields the counter of that block."""
        before = Counter(self.calls)
        attempts_before = self.attempts
        seen: Counter[str] = Counter()
        self.active = True
        if self.meter is not None:
            self.meter.units = Units()
            self.meter.by_operation = {}
            self.meter.active = True
        try:
            yield seen
        finally:
            self.active = False
            seen.update(self.calls - before)
            self.window_attempts = self.attempts - attempts_before
            if self.meter is not None:
                self.meter.active = False
                self.window_units_by_operation = self.meter.by_operation
                self.units_total.add(self.meter.units)
                if self.meter.unmetered:
                    unmetered, self.meter.unmetered = self.meter.unmetered, {}
                    raise RuntimeError(
                        f"DynamoDB calls the capacity meter cannot size: {unmetered}"
                    )


_COUNTERS: list[RequestCounter] = []
_HOOKED: list[bool] = []


def _install_hook() -> None:
    """Wrap botocore's client creation once: each new client's event system gets the
    handlers of every installed counter."""
    if _HOOKED:
        return
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        for counter in _COUNTERS:
            counter.attach(client.meta.events)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    _HOOKED.append(True)


def table_definition() -> dict[str, Any]:
    """create_table arguments from template.yaml (the tests' reader of the template)."""
    from tests.support.cfn import table_definition as from_template

    return from_template()


_MOTO_PATCHED: list[bool] = []


def copy_each_table_once() -> None:
    """moto 5.2.5's DynamoDB transact_write_items deep-copies the whole table once per item of
    the transaction (its rollback snapshot), so a 100-item transaction on a table of N items
    copies 100 x N items. Within one call every copy is of the same, untouched state (the
    loop only copies), so keeping the first copy of each table gives the same rollback: the
    bench does that, or seeding a pool and the fan-out's claims take minutes. Nothing else
    in moto changes."""
    if _MOTO_PATCHED:
        return
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    class OncePerTransaction:
        def __init__(self) -> None:
            self.tables: dict[int, Any] | None = None

        def deepcopy(self, obj: Any, memo: Any = None) -> Any:
            if self.tables is not None and isinstance(obj, Table):
                if id(obj) not in self.tables:
                    self.tables[id(obj)] = copy.deepcopy(obj, memo)
                return self.tables[id(obj)]
            return copy.deepcopy(obj, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    shim = OncePerTransaction()
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(backend: Any, transact_items: Any) -> Any:
        shim.tables = {}
        try:
            return original(backend, transact_items)
        finally:
            shim.tables = None

    models.copy = shim  # type: ignore[assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]
    _MOTO_PATCHED.append(True)


def project_once() -> None:
    """moto 5.2.5's Item.project (a Scan or Query with a ProjectionExpression) converts the
    whole item to plain JSON once per path of the expression, deep copies included, which
    makes a projected Scan of a few thousand profiles take minutes. The item is converted
    once; each path's part of it is copied (the merge of the parts may change them), so the
    projected item is the one moto gave. Nothing else in moto changes."""
    if _PROJECT_PATCHED:
        return
    import copy

    from botocore.utils import merge_dicts
    from moto.dynamodb.models.dynamo_type import Item, find_nested_key, serializer

    def project(item: Any, projection_expressions: list[list[str]]) -> Any:
        whole = item.to_regular_json()
        result: dict[str, Any] = {}
        for expr in projection_expressions:
            merge_dicts(result, copy.deepcopy(find_nested_key(expr, whole)))
        return Item(
            hash_key=item.hash_key,
            range_key=item.range_key,
            attrs=serializer.serialize(result)["M"],
        )

    Item.project = project  # type: ignore[method-assign,assignment]
    _PROJECT_PATCHED.append(True)


_PROJECT_PATCHED: list[bool] = []


@contextlib.contextmanager
def emulated_account() -> Iterator[None]:
    """moto's in-process AWS with the table, bus, SES identity and token key."""
    import boto3
    from moto import mock_aws

    copy_each_table_once()
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE, **table_definition()
        )
        boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
        boto3.client("sesv2", region_name=REGION).create_email_identity(
            EmailIdentity=SENDER.split("@")[1]
        )
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=TOKEN_PARAM, Value=TOKEN_KEY, Type="SecureString"
        )
        yield


def sent_mail_count() -> int:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py under a unique module name (as Lambda would)."""
    path = FUNCTIONS / function / "app.py"
    name = f"bench_fn_{function}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def quietly(fn: Any, *args: Any) -> Any:
    """Call fn with stdout captured (Powertools prints the metrics of each invocation)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)

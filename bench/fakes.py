"""AWS clients answered in memory, for CPU measurements that must not include botocore,
the network or an emulator. Every talentops module that imported `client` from
talentops.adapters.aws gets the fake factory; an operation nobody taught the fakes raises, so
a product change that adds a call shows up as an error, never as a silently wrong figure."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .common import TOKEN_KEY


class UnexpectedCallError(AssertionError):
    pass


class FakeAws:
    def __init__(self, profiles: list[dict[str, Any]]):
        """profiles: DynamoDB items of the profiles the reads should find. ``journeys``: the
        journey instance items of a partition (pk), which a Query of it returns (none until
        a bench sets them)."""
        self.by_pk = {item["pk"]["S"]: item for item in profiles}
        self.by_email = {item["email_norm"]["S"]: item for item in profiles if "email_norm" in item}
        self.journeys: dict[str, list[dict[str, Any]]] = {}
        self.calls: Counter[str] = Counter()
        self.items_read = 0  # items the Queries of a partition returned

    def answer(self, service: str, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls[f"{service}.{operation}"] += 1
        if service == "dynamodb":
            if operation == "get_item":
                key = kwargs["Key"]
                if key["sk"]["S"] == "PROFILE":
                    item = self.by_pk.get(key["pk"]["S"])
                    return {"Item": item} if item else {}
                return {}
            if operation == "query":
                if kwargs.get("IndexName") == "by_email":
                    item = self.by_email.get(kwargs["ExpressionAttributeValues"][":e"]["S"])
                    return {"Items": [item] if item else [], "Count": 1 if item else 0}
                values = kwargs["ExpressionAttributeValues"]
                pk = values[":pk"]["S"]
                partition = [*self.journeys.get(pk, []), *filter(None, [self.by_pk.get(pk)])]
                items = [i for i in partition if _selected(i["sk"]["S"], values)]
                self.items_read += len(items)
                return {"Items": items, "Count": len(items)}
            if operation in ("transact_write_items", "put_item", "update_item", "delete_item"):
                return {}
        if service == "scheduler" and operation in ("create_schedule", "delete_schedule"):
            return {}  # a journey's timer (a registration starts the event journey)
        if service == "sesv2" and operation == "send_email":
            return {"MessageId": "0100018c-bench"}
        if service == "events" and operation == "put_events":
            n = len(kwargs.get("Entries", []))
            return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(n)]}
        if service == "ssm" and operation == "get_parameter":
            return {
                "Parameter": {"Name": kwargs["Name"], "Type": "SecureString", "Value": TOKEN_KEY}
            }
        raise UnexpectedCallError(f"the bench fakes do not know {service}.{operation}")


def _selected(sk: str, values: dict[str, Any]) -> bool:
    """Whether a partition Query's sort key condition (``BETWEEN :first AND :last`` or
    ``begins_with(sk, :p)``, the two the journeys adapter uses) selects ``sk``."""
    if ":p" in values:
        return sk.startswith(values[":p"]["S"])
    return values[":first"]["S"] <= sk <= values[":last"]["S"]


class _FakeClient:
    def __init__(self, aws: FakeAws, service: str):
        self._aws = aws
        self._service = service

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_") or operation == "meta":
            raise AttributeError(operation)

        def call(**kwargs: Any) -> dict[str, Any]:
            return self._aws.answer(self._service, operation, kwargs)

        return call


@contextlib.contextmanager
def fake_clients(aws: FakeAws) -> Iterator[FakeAws]:
    """Point talentops.adapters.aws.client, wherever it was imported, at the fakes."""
    import talentops.adapters.aws as aws_module
    from talentops import wiring

    original = aws_module.client
    clients: dict[str, _FakeClient] = {}

    def client(service: str) -> _FakeClient:
        if service not in clients:
            clients[service] = _FakeClient(aws, service)
        return clients[service]

    client.cache_clear = clients.clear  # type: ignore[attr-defined]  # as the lru_cache has

    def swap(old: Any, new: Any) -> None:
        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", None)
            talentops = isinstance(name, str) and name.startswith("talentops")
            if talentops and getattr(module, "client", None) is old:
                module.client = new  # type: ignore[attr-defined]

    swap(original, client)  # aws_module itself too: later imports bind the fake
    wiring.reset()
    try:
        yield aws
    finally:
        swap(client, original)
        wiring.reset()

"""The HTTP API includes a capability's router when a request first needs it (api/app.py):
the prefixes ROUTERS declares must hold every route, and a request must find the route it
would find with every router included."""

from __future__ import annotations

import importlib
import re

import pytest

from talentops.api.app import ROUTERS, TalentOpsResolver, routers_for


def _routes(app: TalentOpsResolver) -> list[tuple[str, str, re.Pattern[str]]]:
    return [(r.method, r.path, r.rule) for r in [*app._static_routes, *app._dynamic_routes]]


def _first_match(app: TalentOpsResolver, method: str, path: str) -> tuple[str, str] | None:
    for m, rule, pattern in _routes(app):
        if m == method and pattern.match(path):
            return m, rule
    return None


def _sample_path(rule: str) -> str:
    return re.sub(r"<[^>]+>", "x-1", rule)


@pytest.mark.parametrize("name,prefixes", ROUTERS)
def test_every_route_of_a_router_lies_under_its_declared_prefixes(name, prefixes):
    router = importlib.import_module(f"talentops.api.{name}").router
    rules = [route[0] for route in router._routes]
    assert rules, f"{name}: no routes found (Powertools keeps them elsewhere now?)"
    for rule in rules:
        assert rule.startswith(prefixes), f"{name}: {rule} is under none of {prefixes}"


def test_a_content_request_includes_the_careers_router_only():
    app = TalentOpsResolver()
    app.include_routers(routers_for("/content/hero"))
    careers = importlib.import_module("talentops.api.careers").router
    expected = {(m, rule) for rule, methods, *_ in careers._routes for m in methods}
    assert {(m, rule) for m, rule, _ in _routes(app)} == expected


def test_a_path_no_router_takes_includes_every_router():
    assert routers_for("/nowhere") == len(ROUTERS)
    assert routers_for("") == len(ROUTERS)


def test_each_request_finds_the_route_it_finds_with_every_router_included():
    full = TalentOpsResolver()
    full.include_routers()
    assert len(_routes(full)) > len(ROUTERS)
    probes = {(m, _sample_path(rule)) for m, rule, _ in _routes(full)}
    probes |= {("GET", "/admin/candidates/x-1/explain"), ("POST", "/content/hero")}
    for method, path in sorted(probes):
        partial = TalentOpsResolver()
        partial.include_routers(routers_for(path))
        assert _first_match(partial, method, path) == _first_match(full, method, path), path
        # Routers are included in ROUTERS' order whatever the order of the requests.
        partial.include_routers()
        assert _routes(partial) == _routes(full)

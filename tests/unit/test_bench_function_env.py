"""The benchmarks run the handlers with the environment template.yaml gives every function:
each variable the template's Globals set to a literal value (not a parameter) is in
bench.common.FUNCTION_ENV with the same value, so that a setting added to the template (a
Powertools option, PYDANTIC_DISABLE_PLUGINS) is measured as it is deployed."""

from __future__ import annotations

from bench.common import FUNCTION_ENV
from tests.support.cfn import template


def literal_globals() -> dict[str, str]:
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    return {k: v for k, v in variables.items() if isinstance(v, str)}


def test_the_template_sets_literal_values_to_compare():
    found = literal_globals()
    # The comparison below cannot pass on an empty set: these are in the template today.
    assert {"POWERTOOLS_SERVICE_NAME", "PYDANTIC_DISABLE_PLUGINS"} <= set(found)


def test_the_bench_runs_the_functions_with_the_templates_literal_settings():
    expected = literal_globals()
    # The bench's own: its service name and metrics namespace (its metrics are not the
    # product's) and where the content is (the repository's templates, not the layer's /opt).
    own = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "TEMPLATES_DIR"}
    differing = {
        k: (v, FUNCTION_ENV.get(k))
        for k, v in expected.items()
        if k not in own and FUNCTION_ENV.get(k) != v
    }
    assert differing == {}

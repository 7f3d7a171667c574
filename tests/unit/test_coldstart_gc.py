"""In Lambda the garbage collector waits until a function's first invocation ends, then
resumes with the cold start's objects frozen (talentops/coldstart.py); elsewhere nothing
changes. Each check runs in a fresh interpreter: this session imported talentops long ago."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.fresh import fresh_python

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc, json
import talentops
from talentops.coldstart import collect_after_first_call

seen = {"after_import": gc.isenabled()}

@collect_after_first_call
def handler(event, context):
    seen.setdefault("during_first_call", gc.isenabled())
    if event == "fail":
        raise RuntimeError("the first call failed")
    return "ok"

try:
    handler("fail", None)
except RuntimeError:
    pass
seen["after_first_call"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count()
handler("again", None)
seen["after_second_call"] = gc.isenabled()
seen["frozen_again"] = gc.get_freeze_count()
print(json.dumps(seen))
"""


def _run(lambda_name: str | None) -> dict[str, object]:
    import json

    env = {"AWS_LAMBDA_FUNCTION_NAME": lambda_name} if lambda_name is not None else {}
    return json.loads(fresh_python(SCRIPT, env, timeout=60))  # type: ignore[no-any-return]


def test_in_lambda_the_collector_waits_for_the_end_of_the_first_call_even_a_failed_one() -> None:
    seen = _run("talentops-journeys")
    assert seen["after_import"] is False
    assert seen["during_first_call"] is False
    assert seen["after_first_call"] is True  # resumed although the call raised
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 1000  # the cold start's objects
    assert seen["after_second_call"] is True
    assert seen["frozen_again"] == seen["frozen"]  # frozen once


def test_outside_lambda_nothing_changes() -> None:
    seen = _run(None)
    assert seen["after_import"] is True
    assert seen["during_first_call"] is True
    assert seen["frozen"] == 0 and seen["frozen_again"] == 0


@pytest.mark.parametrize(
    "app", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "functions").glob("*/app.py"))
)
def test_every_function_resumes_collection_after_its_first_call(app: str) -> None:
    """The wrapper is the handler's outermost: the collector resumes once Powertools has
    flushed the metrics and the logger let go of the context."""
    tree = ast.parse((ROOT / app).read_text(encoding="utf-8"))
    [handler] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler"]
    first = handler.decorator_list[0]
    assert isinstance(first, ast.Name) and first.id == "collect_after_first_call", app

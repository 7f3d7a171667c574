"""A fresh interpreter, as a cold start has: run a snippet with only the shared layer on the
path and return what it printed (the tests of what a cold start imports or sets up); and
``refuse``, a call that must not happen (a source parsed where its compiled form serves)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LAYER = Path(__file__).resolve().parents[2] / "layers" / "talentops"


def fresh_python(
    code: str,
    env: Mapping[str, str] | None = None,
    *,
    layer: Path = LAYER,
    inherit: bool = True,
    timeout: int = 120,
) -> str:
    """stdout of ``code`` run by this Python in a new process, with ``layer`` as its path;
    the environment is this one's (``inherit``) or a bare PATH, plus ``env``. Fails the test
    with the end of stderr when the snippet fails."""
    base = dict(os.environ) if inherit else {"PATH": "/usr/bin:/bin"}
    base.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**base, **(env or {}), "PYTHONPATH": str(layer)},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def refuse(monkeypatch: Any, owner: object, name: str, what: str) -> None:
    """Make ``owner.name`` fail the test when called: a read that must not happen (``what``,
    as the failure says it: "the YAML was parsed")."""

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError(what)

    monkeypatch.setattr(owner, name, refused)

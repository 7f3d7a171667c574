"""A fresh interpreter, as a cold start has: run a snippet with only the shared layer on the
path and return what it printed (the tests of what a cold start imports or sets up)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

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

"""Compile every email and slot template to Jinja2 bytecode into the built shared layer: what
`make build` runs after `sam build`, with the Lambda runtime's Python and the layer's own
Jinja2 as `sam build` installed it, so that a deployed function loads its templates' code
instead of compiling them at each cold start (content/render.py). The bytecode goes to the
shared layer (code that engineers own), never beside the templates in the content layer. A
template changed since, or bytecode of another Python, Jinja2 or environment, is compiled at
run time as before.

    python3.13 scripts/compile_templates.py CONTENT_DIR TARGET_DIR

Imports nothing but Jinja2 and the package's rendering module: the built layer's compiled
dependencies are for the runtime's architecture, which need not be this machine's.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.content.render import compile_bytecode  # noqa: E402
from talentops.errors import TalentOpsError  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: compile_templates.py CONTENT_DIR TARGET_DIR", file=sys.stderr)
        return 2
    root, target = Path(argv[0]), Path(argv[1])
    try:
        count = compile_bytecode(str(root), target)
    except TalentOpsError as exc:
        print(f"the templates were not compiled: {exc}", file=sys.stderr)
        return 1
    version = ".".join(map(str, sys.version_info[:2]))
    print(f"compiled {count} templates for Python {version} into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

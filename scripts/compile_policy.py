"""Write the shipped talent pool policy as JSON beside its YAML
(``layers/talentops/talentops/talent_pool/policy.compiled.json``), after checking it: what
`make build` runs before `sam build`, so that a deployed function's cold start reads JSON and
imports no YAML parser (talent_pool/policy.py). A build output, not committed; a stale one is
ignored at load.

    python scripts/compile_policy.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.talent_pool.policy import PolicyError, compile_policy_file  # noqa: E402


def main() -> int:
    try:
        written = compile_policy_file()
    except PolicyError as exc:
        print(f"the talent pool policy was not compiled: {exc}", file=sys.stderr)
        return 1
    print(f"compiled {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

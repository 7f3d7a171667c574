"""Write the catalogue as JSON beside its YAML (``catalogue.compiled.json``), and the journeys
beside theirs (``journeys/journeys.compiled.json``), after checking them as `make
check-content` does: what `make build` runs before `sam build`, so that a deployed function's
cold start reads JSON instead of parsing YAML (content/catalogue.py, journeys/loader.py). The
files are build outputs (not committed); a stale one is ignored at load.

    python scripts/compile_catalogue.py [CONTENT_DIR]   (default: templates/)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.content.catalogue import Catalogue, compile_catalogue_file  # noqa: E402
from talentops.errors import TalentOpsError  # noqa: E402
from talentops.journeys.loader import compile_journeys_file, messages_of  # noqa: E402
from talentops.problems import SourceError  # noqa: E402


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else ROOT / "templates"
    try:
        written = compile_catalogue_file(root)
    except TalentOpsError as exc:
        print(f"the catalogue was not compiled: {exc}", file=sys.stderr)
        return 1
    print(f"compiled {written}")
    if not (root / "journeys").is_dir():
        return 0
    try:
        journeys = compile_journeys_file(root / "journeys", messages_of(Catalogue.load(root)))
    except SourceError as exc:
        print(f"the journeys were not compiled: {exc}", file=sys.stderr)
        return 1
    print(f"compiled {journeys}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

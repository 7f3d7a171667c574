"""Export the HTTP API's OpenAPI document, generated from the resolver, to docs/openapi.json
(`make openapi`). tests/unit/test_openapi.py fails when the committed file is out of date.

The document is the one that Swagger UI shows at /docs (and /docs?format=json serves), less
its `servers`, which depend on where the API runs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "openapi.json"
sys.path.insert(0, str(ROOT / "layers" / "talentops"))


def document() -> str:
    # Building the app reads no settings; this keeps Powertools quiet outside Lambda.
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "talentops")
    from talentops.api.app import build_app

    schema = json.loads(build_app().get_openapi_json_schema())
    schema.pop("servers", None)
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(document(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Export the JSON Schema of every contract event to schemas/ (`make schemas`).

One file per detail-type, named after it (`candidate-profile-updated.json`, ...), holding the
schema of the event's `detail`. tests/unit/test_schemas.py fails when a file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.models.events import INBOUND_EVENTS, OUTBOUND_EVENTS  # noqa: E402


def slug(detail_type: str) -> str:
    return detail_type.lower().replace(" ", "-")


def schemas() -> dict[str, str]:
    out = {}
    for direction, events in (("inbound", INBOUND_EVENTS), ("outbound", OUTBOUND_EVENTS)):
        for detail_type, model in events.items():
            schema = model.model_json_schema(mode="validation")
            schema["title"] = detail_type
            schema["description"] = f"`detail` of the {direction} event `{detail_type}`."
            out[f"{slug(detail_type)}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def main() -> None:
    target = ROOT / "schemas"
    target.mkdir(exist_ok=True)
    wanted = schemas()
    for stale in target.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (target / name).write_text(text)
    print(f"wrote {len(wanted)} schemas to schemas/")


if __name__ == "__main__":
    main()

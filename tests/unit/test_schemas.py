"""The exported JSON Schemas are the contract's: regenerate with `make schemas`."""

from pathlib import Path

from scripts.export_schemas import schemas

ROOT = Path(__file__).resolve().parents[2]


def test_exported_schemas_are_current():
    wanted = schemas()
    on_disk = {p.name: p.read_text() for p in (ROOT / "schemas").glob("*.json")}
    assert set(on_disk) == set(wanted), "schemas/ has missing or extra files: run `make schemas`"
    stale = [name for name, text in wanted.items() if on_disk[name] != text]
    assert not stale, f"out of date (run `make schemas`): {stale}"


def test_every_contract_event_has_a_schema():
    names = set(schemas())
    for detail_type in (
        "Candidate Profile Updated",
        "Job Opened",
        "Message Sent",
        "Candidate Erased",
    ):
        assert detail_type.lower().replace(" ", "-") + ".json" in names

"""The bulk import command under moto: the shipped samples, every kind of bad row rejected with
its line and a specific reason, the merge rules (an older row never undoes a newer fact),
identity merge, and resuming an interrupted import."""

from __future__ import annotations

import csv
import io
import json
from itertools import islice
from pathlib import Path

import pytest

from scripts.import_pool import parse_args, run
from talentops.models.events import CandidateRef
from tests.support.cfn import ROOT

TABLE = "talent-pool-test"


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions():
    """moto copies the whole table per transaction item; see devstack/moto_patches.py."""
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


def _import(path: Path, *extra: str):
    out = io.StringIO()
    args = parse_args([str(path), "--quiet", "--out", str(path.parent), *extra])
    stats = run(args, out=out, err=io.StringIO())
    return stats, out.getvalue()


def _report(path: Path) -> list[tuple[int, str]]:
    with path.with_name(path.name + ".rejected.csv").open(encoding="utf-8") as handle:
        return [(int(r["line"]), r["reason"]) for r in csv.DictReader(handle)]


def _repo():
    from talentops.wiring import repository

    return repository()


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_shipped_csv_sample(aws, tmp_path):
    sample = tmp_path / "sample-pool.csv"
    sample.write_bytes((ROOT / "data" / "sample-pool.csv").read_bytes())
    stats, summary = _import(sample)
    rejected = _report(sample)
    assert stats.lines == 200 and stats.rejected == len(rejected) >= 1
    assert stats.accepted == 200 - len(rejected)
    assert "rejected -> " in summary and summary.rstrip().endswith(")")
    assert (tmp_path / "sample-pool.csv.rejected.csv").exists()
    with sample.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    good = next(r for i, r in enumerate(rows, start=2) if i not in dict(rejected))
    profile = _repo().resolve(CandidateRef(ref=good["ref"]))
    assert profile is not None and profile.value("email") == good["email"]
    city = profile.fields["city"]
    assert city.source == "talent.ats" and city.observed_at.isoformat().startswith(
        good["observed_at"][:10]
    )
    changed = [e for e in aws.drain() if e["detail-type"] == "Candidate Profile Changed"]
    assert len(changed) >= stats.written


def test_the_shipped_jsonl_sample_head(aws, tmp_path):
    head = tmp_path / "head.jsonl"
    with (ROOT / "data" / "sample-pool.jsonl").open(encoding="utf-8") as src:
        head.write_text("".join(islice(src, 250)), encoding="utf-8")
    stats, _ = _import(head, "--no-events")
    assert stats.lines == 250 and stats.accepted + stats.rejected == 250
    assert stats.written > 200
    assert aws.drain() == []  # --no-events


def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_goes_on(aws, tmp_path):
    ok = {"ref": "ats:A-1", "email": "ok@example.org", "observed_at": "2026-10-01T09:00:00Z"}
    rows = [
        {**ok, "seniority": "mid", "city": "Berlin"},  # 1
        {**ok, "ref": "ats:A-2", "email": "b@example.org", "seniority": "staff"},  # 2
        {**ok, "ref": "ats:A-3", "email": "c@example.org", "observed_at": "2026-02-30T09:00:00Z"},
        {**ok, "ref": "ats:A-4", "email": "d@example.org", "salary": 85000},  # 4
        {**ok, "ref": "ats:A-5", "email": "e@example.org", "skills": "python, sql"},  # 5
        {"observed_at": ok["observed_at"], "city": "Berlin"},  # 6
        {**ok, "ref": "ats:A-7", "email": "g@example.org", "observed_at": "2026-05-01 10:00"},
        {**ok, "ref": "ats:A-8", "email": "h@example.org", "observed_at": "2099-01-01T00:00:00Z"},
        {**ok, "ref": "ats:A-9", "email": "i(at)example.org", "city": "Rome"},  # 9
        {**ok, "ref": "ats:A-10", "email": "j@example.org", "consent_job_alerts": "yes"},  # 10
        {**ok, "ref": "ats:A-11", "email": "k@example.org", "country": "Germany"},  # 11
        {**ok, "ref": "ats:A-12", "email": "l@example.org", "city": "Lisbon"},  # 12
    ]
    path = _write_jsonl(tmp_path / "bad.jsonl", rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")  # 13
        handle.write("[1, 2]\n")  # 14
    stats, _ = _import(path)
    report = dict(_report(path))
    assert stats.accepted == 2 and stats.rejected == 12
    assert sorted(report) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]
    assert report[2].startswith("seniority: Input should be 'intern', 'junior'")
    assert report[3].startswith("observed_at: Input should be a valid datetime")
    assert report[4] == "unknown field: salary"
    assert report[5] == "skills: Input should be a valid list"
    assert report[6] == "candidate needs an id, a ref or an email"
    assert "timezone" in report[7]
    assert report[8].startswith("observed_at: is in the future")
    assert report[9] == "email: not a valid email address"
    assert report[10] == "consent_job_alerts: must be granted, withdrawn or empty"
    assert report[11].startswith("country: String should match pattern")
    assert report[13].startswith("not valid JSON")
    assert report[14] == "not a JSON object"
    # No reason repeats a value it rejects (they may be personal data).
    assert not any("staff" in r or "Germany" in r or "i(at)" in r for r in report.values())
    assert _repo().resolve(CandidateRef(ref="ats:A-12")).value("city") == "Lisbon"


def test_an_older_row_never_undoes_a_newer_fact_and_authority_holds(
    aws, tmp_path, handlers, context
):
    from tests.support.job_alerts import profile_fact

    ingest = handlers["ingest_profile"].handler
    ingest(
        profile_fact(
            ref="ats:A-77",
            email_address="mo@example.org",
            observed_at="2026-11-01T09:00:00Z",
            source="talent.careers-site",
            city="Munich",
        ),
        context,
    )
    ingest(
        profile_fact(
            ref="ats:A-77",
            observed_at="2026-11-01T09:00:00Z",
            source="talent.crm",
            seniority="lead",
        ),
        context,
    )
    path = _write_jsonl(
        tmp_path / "late.jsonl",
        [
            {
                "ref": "ats:A-77",
                "email": "mo@example.org",
                "observed_at": "2026-06-01T09:00:00Z",
                "city": "Berlin",
                "seniority": "mid",
                "first_name": "Mo",
            }
        ],
    )
    _import(path)
    profile = _repo().resolve(CandidateRef(ref="ats:A-77"))
    assert profile.value("city") == "Munich"  # newest wins; the export's line is older
    assert profile.fields["seniority"].source == "talent.ats"  # the ATS is authoritative
    assert profile.value("seniority") == "mid"
    assert profile.value("first_name") == "Mo"


def test_a_row_that_links_two_candidates_merges_them(aws, tmp_path, handlers, context):
    from tests.support.job_alerts import profile_fact

    ingest = handlers["ingest_profile"].handler
    ingest(profile_fact(ref="ats:A-5", observed_at="2026-10-01T09:00:00Z", city="Berlin"), context)
    ingest(
        profile_fact(
            email_address="zoe@example.org", observed_at="2026-10-02T09:00:00Z", first_name="Zoe"
        ),
        context,
    )
    path = _write_jsonl(
        tmp_path / "link.jsonl",
        [
            {
                "ref": "ats:A-5",
                "email": "zoe@example.org",
                "observed_at": "2026-10-03T09:00:00Z",
                "seniority": "senior",
            }
        ],
    )
    stats, _ = _import(path)
    assert stats.one_by_one == 1 and stats.rejected == 0
    by_ref = _repo().resolve(CandidateRef(ref="ats:A-5"))
    by_email = _repo().resolve(CandidateRef(email="zoe@example.org"))
    assert by_ref.candidate_id == by_email.candidate_id
    assert (by_ref.value("city"), by_ref.value("first_name"), by_ref.value("seniority")) == (
        "Berlin",
        "Zoe",
        "senior",
    )


def test_an_interrupted_import_resumes_where_it_stopped(aws, tmp_path, monkeypatch):
    from talentops.talent_pool.importer import PoolImporter

    rows = [
        {
            "ref": f"ats:R-{i}",
            "email": f"r{i}@example.org",
            "observed_at": "2026-10-01T09:00:00Z",
            "city": "Porto",
            "seniority": "junior" if i != 7 else "staff",
        }
        for i in range(1, 31)
    ]
    path = _write_jsonl(tmp_path / "resume.jsonl", rows)
    original = PoolImporter.apply
    calls = {"n": 0}

    def dies_on_the_third_batch(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the machine going away
        return original(self, batch)

    monkeypatch.setattr(PoolImporter, "apply", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        _import(path, "--batch-size", "10")
    state = json.loads((tmp_path / "resume.jsonl.import-state.json").read_text())
    # Ten rows a batch; line 7 is rejected, so the second batch ends at line 21.
    assert state["line"] == 21 and state["done"] is False
    monkeypatch.setattr(PoolImporter, "apply", original)
    stats, summary = _import(path, "--batch-size", "10")
    assert "resuming after line 21" in summary
    assert stats.lines == 30 and stats.accepted == 29 and stats.rejected == 1
    assert _report(path) == [(7, _report(path)[0][1])]  # reported once, not again on resume
    for i in (1, 15, 25, 30):
        assert _repo().resolve(CandidateRef(ref=f"ats:R-{i}")) is not None
    _, again = _import(path)
    assert "imported already" in again


def test_a_row_may_name_a_known_candidate_by_id(aws, tmp_path, handlers, context):
    from tests.support.job_alerts import profile_fact

    known = handlers["ingest_profile"].handler(profile_fact(ref="ats:K-1", city="Oslo"), context)[
        "candidate_id"
    ]
    path = _write_jsonl(
        tmp_path / "ids.jsonl",
        [
            {"id": known, "observed_at": "2026-11-25T09:00:00Z", "city": "Bergen"},
            {"id": "c_unknown0000", "observed_at": "2026-11-25T09:00:00Z", "city": "Bergen"},
        ],
    )
    stats, _ = _import(path)
    assert stats.accepted == 1 and _report(path) == [(2, "unknown candidate id")]
    assert _repo().get_profile(known).value("city") == "Bergen"

"""Parsing rows of a bulk import (pure): the contract's checks with specific reasons that never
repeat the rejected value, CSV conventions, and grouping rows of one person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentops.talent_pool.importer import ImportRow, Rejection, _groups, parse_row

NOW = datetime(2026, 11, 30, tzinfo=UTC)
OK = {"ref": "ats:A-1", "email": "Ada@Example.org", "observed_at": "2026-10-01T09:00:00+02:00"}


def parse(raw, **kw):
    return parse_row(raw, line=7, now=NOW, **kw)


def test_a_good_row_becomes_a_fact():
    row = parse({**OK, "city": "Berlin", "seniority": "senior", "consent_job_alerts": "granted"})
    assert isinstance(row, ImportRow)
    assert row.line == 7 and row.candidate.ref == "ats:A-1"
    assert row.fields == {"email": "Ada@Example.org", "city": "Berlin", "seniority": "senior"}
    assert row.observed_at == datetime(2026, 10, 1, 7, tzinfo=UTC)
    assert row.consent == (("job_alerts", "granted"),)
    assert row.identity_keys() == ["ref:ats:A-1", "email:ada@example.org"]


def test_csv_conventions():
    row = parse({**OK, "skills": "python; sql ;", "city": "", "timezone": None}, csv=True)
    assert isinstance(row, ImportRow)
    assert row.fields["skills"] == ["python", "sql"] and "city" not in row.fields


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seniority": "staff"}, "seniority: Input should be 'intern', 'junior', 'mid'"),
        ({"observed_at": "2026-02-30T09:00:00Z"}, "observed_at: Input should be a valid datetime"),
        ({"observed_at": "2026-05-01T10:00:00"}, "observed_at: Input should have timezone info"),
        ({"observed_at": "2031-01-01T00:00:00Z"}, "observed_at: is in the future"),
        ({"observed_at": None}, "observed_at: missing (and no default given)"),
        ({"salary": "85k", "bonus": 1}, "unknown fields: bonus, salary"),
        ({"skills": "python"}, "skills: Input should be a valid list"),
        ({"country": "Germany"}, "country: String should match pattern"),
        ({"timezone": "Mars/Olympus"}, "timezone: not an IANA timezone"),
        ({"email": "ada(at)example.org"}, "email: not a valid email address"),
        ({"ref": None, "email": None, "city": "Rome"}, "candidate needs an id, a ref or an email"),
        ({"consent_events": "yes"}, "consent_events: must be granted, withdrawn or empty"),
        ({"first_name": "Eve\r\nBcc: x@example.org"}, "first_name: must be a single line"),
    ],
)
def test_bad_rows_say_why(change, reason):
    raw = {k: v for k, v in {**OK, "city": "Berlin", **change}.items() if v is not None}
    result = parse(raw)
    assert isinstance(result, Rejection) and result.line == 7
    assert result.reason.startswith(reason), result.reason
    for value in change.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in result.reason


def test_a_default_time_for_rows_without_one():
    raw = {k: v for k, v in OK.items() if k != "observed_at"}
    row = parse({**raw, "city": "Oslo"}, default_observed_at=datetime(2026, 11, 1, tzinfo=UTC))
    assert isinstance(row, ImportRow) and row.observed_at == datetime(2026, 11, 1, tzinfo=UTC)


def test_rows_that_name_one_person_are_grouped():
    def row(line, **identity):
        result = parse_row(
            {**identity, "observed_at": OK["observed_at"], "city": "X"}, line=line, now=NOW
        )
        assert isinstance(result, ImportRow)
        return result

    rows = [
        row(1, ref="ats:A-1"),
        row(2, email="b@example.org"),
        row(3, ref="ats:A-1", email="a@example.org"),
        row(4, ref="crm:7", email="A@example.org"),
        row(5, ref="ats:A-9"),
    ]
    groups = sorted(sorted(r.line for r in g) for g in _groups(rows))
    assert groups == [[1, 3, 4], [2], [5]]

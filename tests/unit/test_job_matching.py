"""Which candidates a job reaches: the index partition and seniority band it reads, the sparse
matching keys ingest writes on a profile, and the check the worker makes on a fresh read."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from talentops.adapters.talent_pool import (
    INDEX_ROLE,
    INDEX_ROLE_CITY,
    city_key,
    match_attributes,
)
from talentops.job_alerts.matching import fits, job_query, seniority_band
from talentops.job_alerts.messages import AlertBatch
from talentops.models.events import SENIORITY_LEVELS
from talentops.models.state import ConsentState, FieldValue, Profile

AT = datetime(2026, 11, 1, tzinfo=UTC)
JOB = {"id": "j1", "title": "T", "role_family": "data", "seniority": "mid", "city": "Berlin"}


def profile(consent=None, suppressed=False, **fields):
    p = Profile(candidate_id="c_test0001", suppressed=suppressed)
    for k, v in {"email": "a@example.org", **fields}.items():
        if v is not None:
            p.fields[k] = FieldValue(value=v, source="talent.ats", observed_at=AT)
    if consent:
        p.consent["job_alerts"] = ConsentState(status=consent, source="talent.crm", observed_at=AT)
    return p


def test_city_key_folds_case_accents_and_spaces():
    assert city_key("  Zürich ") == city_key("zurich") == "zurich"
    assert city_key("São  Paulo") == "sao paulo"
    assert city_key("München") != city_key("Munich")  # names, not places


def test_local_and_remote_jobs_read_different_indexes():
    local = job_query(JOB, band=1)
    assert local is not None
    assert (local.index, local.partition, local.levels) == (INDEX_ROLE_CITY, "data#berlin", (1, 3))
    remote = job_query({**JOB, "remote": True, "city": None}, band=1)
    assert remote is not None and (remote.index, remote.partition) == (INDEX_ROLE, "data")
    assert job_query({**JOB, "city": None}, band=1) is None  # a local job without a city


def test_band_is_clamped_at_the_ends():
    assert seniority_band("intern", 1) == (0, 1)
    assert seniority_band("executive", 1) == (5, 6)
    assert seniority_band("mid", 0) == (2, 2)


def test_matching_keys_are_sparse():
    full = match_attributes(profile(role_family="data", seniority="senior", city="Berlin"))
    assert full == {"match_role": "data", "match_level": 3, "match_city": "data#berlin"}
    no_city = match_attributes(profile(role_family="data", seniority="senior"))
    assert no_city == {"match_role": "data", "match_level": 3}  # remote jobs only
    for p in (
        profile(role_family="data", seniority="senior", city="Berlin", consent="withdrawn"),
        profile(role_family="data", seniority="senior", city="Berlin", suppressed=True),
        profile(role_family="data", seniority="senior", city="Berlin", email=None),
        profile(role_family=None, seniority="senior", city="Berlin"),
        profile(role_family="data", seniority=None, city="Berlin"),
    ):
        assert match_attributes(p) == {}
    granted = profile(role_family="data", seniority="senior", city="Berlin", consent="granted")
    assert match_attributes(granted) == full


@given(
    st.sampled_from(SENIORITY_LEVELS),
    st.sampled_from(SENIORITY_LEVELS),
    st.sampled_from(["data", "design"]),
    st.sampled_from(["Berlin", "berlin ", "Munich"]),
    st.booleans(),
)
def test_the_index_read_and_the_check_agree(job_level, level, role, city, remote):
    """A profile is in the partition and band a job reads exactly when it fits the job."""
    job = {**JOB, "seniority": job_level, "remote": remote}
    p = profile(role_family=role, seniority=level, city=city)
    keys = match_attributes(p)
    query = job_query(job, band=1)
    assert query is not None
    partition = keys.get("match_city" if query.index == INDEX_ROLE_CITY else "match_role")
    in_index = (
        partition == query.partition and query.levels[0] <= keys["match_level"] <= (query.levels[1])
    )
    assert in_index == fits(job, p, band=1)[0]


def test_a_fact_per_candidate_with_the_job_as_subject():
    batch = AlertBatch(
        job={**JOB, "remote": False},
        event_id="ev-1",
        opened_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        candidates=["c_a00001", "c_b00002"],
    )
    fact = batch.fact("c_a00001")
    assert (fact.detail_type, fact.subject_id, fact.event_id) == ("Job Opened", "j1", "ev-1")
    assert fact.payload["job"]["title"] == "T"
    again = AlertBatch.model_validate_json(batch.model_dump_json()).fact("c_a00001")
    assert again.observed_at.isoformat() == fact.observed_at.isoformat()

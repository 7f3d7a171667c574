"""Job alerts through the one decision function (delivery.decide) and the shipped catalogue:
freshness requirements (message and variant), the weekly cap, variants, and the dedupe
identity of a job and a candidate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import CatalogueFile, load_catalogue
from talentops.delivery.decide import FrequencyCap, decide, decision_id
from talentops.job_alerts.messages import AlertBatch
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(str(ROOT / "templates"))
NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
FRESH = NOW - timedelta(days=10)
WINDOWS = {
    "city": timedelta(days=180),
    "seniority": timedelta(days=180),
    "role_family": timedelta(days=365),
}
JOB = {
    "id": "j-42",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "mid",
    "city": "Berlin",
    "country": "DE",
    "remote": False,
    "url": None,
}


def batch(**job):
    return AlertBatch(
        job={**JOB, **job},
        event_id="ev-1",
        opened_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        candidates=["c_test0001"],
    )


def profile(ages=None, **fields):
    p = Profile(candidate_id="c_test0001")
    values = {
        "email": "a@example.org",
        "country": "DE",
        "city": "Berlin",
        "role_family": "data",
        "seniority": "mid",
        "language": "en",
        **fields,
    }
    for k, v in values.items():
        at = NOW - timedelta(days=(ages or {}).get(k, 10))
        p.fields[k] = FieldValue(value=v, source="talent.crm", observed_at=at)
    p.consent["job_alerts"] = ConsentState(status="granted", source="talent.crm", observed_at=FRESH)
    return p


def run(p, b=None, caps=None):
    b = b or batch()
    return decide(
        fact=b.fact(p.candidate_id),
        profile=p,
        template="job_alert",
        spec=CATALOGUE.message("job_alert"),
        policy=ConsentPolicy(),
        now=NOW,
        caps=caps,
        freshness=WINDOWS,
    )


def test_variants():
    assert run(profile()).decision.variant == "default"
    assert run(profile(seniority="senior")).decision.variant == "senior"
    assert run(profile(language="de-DE")).decision.variant == "de"
    assert run(profile(), batch(remote=True)).decision.variant == "remote"
    assert len(CATALOGUE.message("job_alert").variants) >= 2


def test_a_stale_city_suppresses_a_local_job_and_says_since_when():
    d = run(profile(ages={"city": 200})).decision
    assert (d.outcome, d.reason) == ("suppress", "stale_profile")
    [stale] = [r for r in d.reasons if r.startswith("stale: ")]
    assert stale.startswith("stale: city stale since 2026-11-11T10:00:00+00:00")
    assert "observed 2026-05-15T10:00:00+00:00 via talent.crm" in stale


def test_a_remote_job_needs_no_fresh_city_but_its_remote_variant_does():
    d = run(profile(ages={"city": 200}), batch(remote=True)).decision
    assert (d.outcome, d.variant) == ("send", "default")
    assert any(r.startswith("not remote: city stale since") for r in d.reasons)


def test_stale_seniority_or_role_family_suppresses_every_job():
    for field, age in (("seniority", 181), ("role_family", 400)):
        for remote in (False, True):
            d = run(profile(ages={field: age}), batch(remote=remote)).decision
            assert d.reason == "stale_profile" and any(f"stale: {field}" in r for r in d.reasons)


def test_consent_comes_before_freshness_and_freshness_before_the_cap():
    p = profile(ages={"city": 200})
    p.consent["job_alerts"] = ConsentState(status="withdrawn", source="x", observed_at=FRESH)
    assert run(p).decision.reason == "consent_withdrawn"
    capped = profile(ages={"city": 200})
    for i in range(3):
        capped.recent[f"d{i}"] = SentRecord(
            at=NOW - timedelta(days=1), purpose="job_alerts", template="job_alert"
        )
    cap = {"job_alerts": FrequencyCap(3, timedelta(days=7))}
    assert run(capped, caps=cap).decision.reason == "stale_profile"
    del capped.fields["city"]
    capped.fields["city"] = FieldValue(value="Berlin", source="talent.crm", observed_at=FRESH)
    assert run(capped, caps=cap).decision.reason == "frequency_cap"


def test_one_decision_id_per_job_and_candidate_whatever_the_envelope():
    a = batch().fact("c_test0001")
    b = AlertBatch(**{**batch().model_dump(), "event_id": "ev-2", "page": 3}).fact("c_test0001")
    assert decision_id(a, "job_alert", "c_test0001") == decision_id(b, "job_alert", "c_test0001")
    other = batch(id="j-43").fact("c_test0001")
    assert decision_id(a, "job_alert", "c_test0001") != decision_id(
        other, "job_alert", "c_test0001"
    )


def test_freshness_defaults_to_the_configured_policy():
    b = batch()
    d = decide(
        fact=b.fact("c_test0001"),
        profile=profile(ages={"city": 365}),
        template="job_alert",
        spec=CATALOGUE.message("job_alert"),
        policy=ConsentPolicy(),
        now=NOW,
    ).decision
    assert d.reason == "stale_profile"


def test_the_fallback_variant_may_not_require_fresh_fields():
    raw = {
        "version": 1,
        "messages": {
            "m": {
                "purpose": "job_alerts",
                "variants": [
                    {"name": "a", "subject": "s", "html": "a", "text": "a"},
                    {
                        "name": "b",
                        "requires_fresh": ["city"],
                        "subject": "s",
                        "html": "a",
                        "text": "a",
                    },
                ],
            }
        },
    }
    with pytest.raises(ValueError, match="fallback"):
        CatalogueFile.model_validate(raw)

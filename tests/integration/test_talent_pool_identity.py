"""The talent pool under moto: identity resolution and merge, optimistic versioning at the
table, the matching index kept current by ingest, and loop prevention in template.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from talentops.errors import ConcurrencyError
from talentops.models.events import CandidateRef
from talentops.models.state import Decision
from tests.support.cfn import resource
from tests.support.job_alerts import consent_fact, profile_fact


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions():
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


@pytest.fixture
def ingest(aws, handlers, context):
    return lambda event: handlers["ingest_profile"].handler(event, context)


def _repo():
    from talentops.wiring import repository

    return repository()


def test_resolution_by_id_ref_and_email_is_one_read_each(ingest, aws):
    result = ingest(profile_fact(ref="ats:A-1", email_address="Ada@Example.org", city="Berlin"))
    repo = _repo()
    cid = result["candidate_id"]
    assert repo.resolve_id(CandidateRef(ref="ats:A-1")) == cid
    assert repo.resolve_id(CandidateRef(email=" ada@example.ORG ")) == cid
    assert repo.resolve(CandidateRef(id=cid)).candidate_id == cid
    assert repo.resolve(CandidateRef(email="ADA@example.org")).candidate_id == cid


def test_an_event_linking_a_ref_and_an_email_of_two_candidates_merges_them(ingest, aws):
    older = ingest(
        profile_fact(
            ref="ats:A-9", observed_at="2026-10-01T09:00:00Z", city="Berlin", seniority="mid"
        )
    )["candidate_id"]
    newer = ingest(
        profile_fact(
            email_address="lin@example.org",
            observed_at="2026-10-05T09:00:00Z",
            source="talent.careers-site",
            city="Munich",
            first_name="Lin",
        )
    )["candidate_id"]
    ingest(consent_fact("lin@example.org", purpose="events", observed_at="2026-10-05T09:00:00Z"))
    repo = _repo()
    # A decision the newer one had (it was sent a message): it must follow the candidate.
    repo.record_decision(
        Decision(
            decision_id="d" * 32,
            candidate_id=newer,
            trigger={"detail_type": "Candidate Event Attended", "event_id": "e1"},
            template="event_attended_followup",
            purpose="events",
            outcome="send",
            variant="default",
            message_id="m_" + "d" * 32,
            decided_at=datetime(2026, 10, 6, tzinfo=UTC),
        ),
        sent=None,
        behaviour=None,
    )
    aws.drain()
    # The ATS learns the address of its candidate: one person, two candidates so far.
    result = ingest(
        profile_fact(
            ref="ats:A-9",
            email_address="lin@example.org",
            observed_at="2026-10-07T09:00:00Z",
            last_name="Park",
        )
    )
    assert result["candidate_id"] == older  # the one known first survives
    assert repo.get_profile(newer) is None
    survivor = repo.get_profile(older)
    assert survivor.value("city") == "Munich"  # the newest observation of each field
    assert survivor.value("seniority") == "mid"
    assert (survivor.value("first_name"), survivor.value("last_name")) == ("Lin", "Park")
    assert survivor.consent["events"].status == "granted"
    assert f"id:{newer}" in survivor.aliases
    for ref in (
        CandidateRef(ref="ats:A-9"),
        CandidateRef(email="lin@example.org"),
        CandidateRef(id=newer),  # links already sent carry the merged id
    ):
        assert repo.resolve(ref).candidate_id == older
    [decision] = repo.decisions(older)
    assert decision.decision_id == "d" * 32 and decision.candidate_id == older
    assert [c["purpose"] for c in repo.consent_history(older)] == ["events"]
    assert repo.partition_items(newer) == []
    changed = [e["detail"] for e in aws.drain() if e["detail-type"] == "Candidate Profile Changed"]
    assert changed[0]["candidate_id"] == older
    assert set(changed[0]["changed"]) >= {"city", "first_name", "email"}
    assert changed[0]["changed"]["city"]["source"] == "talent.careers-site"


def test_a_merge_moves_large_partitions_in_pages(ingest, aws):
    keep = ingest(profile_fact(ref="ats:B-1", city="Porto"))["candidate_id"]
    gone = ingest(profile_fact(email_address="big@example.org", city="Porto"))["candidate_id"]
    repo = _repo()
    for i in range(130):
        repo.record_decision(
            Decision(
                decision_id=f"{i:032d}",
                candidate_id=gone,
                trigger={"detail_type": "X", "event_id": str(i)},
                template="t",
                purpose="events",
                outcome="suppress",
                reason="no_consent",
                decided_at=datetime(2026, 10, 6, tzinfo=UTC),
            ),
            sent=None,
            behaviour=None,
        )
    ingest(
        profile_fact(
            ref="ats:B-1", email_address="big@example.org", observed_at="2026-11-21T09:00:00Z"
        )
    )
    assert len(repo.decisions(keep)) == 130 and repo.get_profile(gone) is None


def test_a_merge_that_loses_a_race_starts_again(ingest, aws, monkeypatch):
    a = ingest(profile_fact(ref="ats:C-1", city="Oslo"))["candidate_id"]
    b = ingest(profile_fact(email_address="c@example.org", seniority="lead"))["candidate_id"]
    from talentops.adapters.talent_pool import TalentPoolRepository

    original = TalentPoolRepository.finish_merge
    raced = {"n": 0}

    def concurrent_write_first(self, survivor, **kwargs):
        if not raced["n"]:
            raced["n"] += 1
            # Another fact lands on the candidate being merged, between read and write.
            ingest(
                profile_fact(
                    email_address="c@example.org", observed_at="2026-11-22T09:00:00Z", city="Bergen"
                )
            )
        return original(self, survivor, **kwargs)

    monkeypatch.setattr(TalentPoolRepository, "finish_merge", concurrent_write_first)
    ingest(
        profile_fact(
            ref="ats:C-1", email_address="c@example.org", observed_at="2026-11-23T09:00:00Z"
        )
    )
    survivor = _repo().get_profile(a)
    assert _repo().get_profile(b) is None
    assert (survivor.value("city"), survivor.value("seniority")) == ("Bergen", "lead")


def test_a_stale_version_is_refused_by_the_table(ingest, aws):
    cid = ingest(profile_fact(ref="ats:D-1", city="Rome"))["candidate_id"]
    repo = _repo()
    profile = repo.get_profile(cid)
    repo.save_profile(profile, expected_version=profile.version)
    with pytest.raises(ConcurrencyError):
        repo.save_profile(profile, expected_version=profile.version)


def test_a_new_profile_is_put_whole_as_an_update_would_leave_it(ingest, aws):
    """A creation is a Put on ``attribute_not_exists(pk)``; the item it writes is the one the
    versioned Update writes for the same profile (only the version moves on), and a second
    creation of the same id is refused as a lost race."""
    from talentops.adapters.pool.base import PROFILE_SK, cand_pk
    from talentops.models.state import Profile

    cid = ingest(
        profile_fact(
            ref="ats:P-1",
            email_address="Put@Example.org",
            role_family="data",
            seniority="mid",
            city="Oslo",
        )
    )["candidate_id"]
    repo = _repo()
    key = {"pk": {"S": cand_pk(cid)}, "sk": {"S": PROFILE_SK}}

    def item():
        return aws.client("dynamodb").get_item(TableName=repo.table, Key=key, ConsistentRead=True)[
            "Item"
        ]

    created = item()
    assert created["version"] == {"N": "1"} and created["journey_items"] == {"N": "0"}
    assert created["journey_listens"] == {"SS": ["*"]}  # none, and the list is complete
    assert created["recent"] == {"M": {}} and created["behaviours"] == {"M": {}}
    assert created["email_norm"] == {"S": "put@example.org"}
    assert created["match_role"] == {"S": "data"} and "match_city" in created
    profile = repo.get_profile(cid)
    repo.save_profile(profile, expected_version=1)
    updated = item()
    assert updated.pop("version") == {"N": "2"}
    created.pop("version")
    assert updated == created
    with pytest.raises(ConcurrencyError):
        repo.save_profile(
            Profile(candidate_id=cid, created_at=profile.created_at), expected_version=0
        )


def test_the_matching_index_follows_the_profile(ingest, aws):
    from talentops.adapters.talent_pool import INDEX_ROLE_CITY

    cid = ingest(
        profile_fact(
            email_address="m@example.org", role_family="data", seniority="mid", city="Berlin"
        )
    )["candidate_id"]
    repo = _repo()

    def page(city):
        return repo.matching_page(
            index=INDEX_ROLE_CITY, partition=f"data#{city}", levels=(0, 6), start_key=None, limit=10
        )[0]

    assert page("berlin") == [cid]
    ingest(
        profile_fact(
            email_address="m@example.org", observed_at="2026-11-21T09:00:00Z", city="Munich"
        )
    )
    assert page("berlin") == [] and page("munich") == [cid]
    ingest(consent_fact("m@example.org", status="withdrawn", observed_at="2026-11-22T09:00:00Z"))
    assert page("munich") == []  # withdrawn job alerts: out of the index


def test_the_ingest_rule_never_routes_the_systems_own_events():
    from moto.events.models import EventPattern

    pattern = resource("IngestProfileFunction")["Properties"]["Events"]["ProfileFacts"][
        "Properties"
    ]["Pattern"]
    matcher = EventPattern.load(json.dumps(pattern))

    def event(source, detail_type="Candidate Profile Updated"):
        return {"source": source, "detail-type": detail_type, "detail": {}}

    assert matcher.matches_event(event("talent.ats"))
    assert matcher.matches_event(event("talent.crm", "Candidate Consent Changed"))
    assert not matcher.matches_event(event("talent.personalization"))
    assert not matcher.matches_event(event("talent.ats", "Candidate Profile Changed"))
    fanout = resource("JobFanoutFunction")["Properties"]["Events"]["JobOpened"]["Properties"][
        "Pattern"
    ]
    assert not EventPattern.load(json.dumps(fanout)).matches_event(
        event("talent.personalization", "Job Opened")
    )


def test_the_faster_transactions_of_the_tests_still_roll_back(aws):
    """devstack/moto_patches.py: a cancelled transaction leaves nothing behind."""
    ddb = aws.client("dynamodb")
    table = "talent-pool-test"
    ddb.put_item(TableName=table, Item={"pk": {"S": "X#1"}, "sk": {"S": "A"}, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "X#2"}, "sk": {"S": "A"}, "v": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "X#3"}, "sk": {"S": "A"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "X#1"}, "sk": {"S": "A"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "X#2"}, "sk": {"S": "A"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "X#9"}, "sk": {"S": "A"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    def get(pk):
        return ddb.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "A"}}).get("Item")

    assert get("X#3") is None and get("X#1")["v"] == {"N": "1"} and get("X#2") is not None

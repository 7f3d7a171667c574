"""Field-level merge with provenance, as properties (hypothesis): any interleaving of the same
facts, duplicates included, gives the same profile; a late, older fact never undoes a newer
one; configured authority and ties resolve deterministically; an identity merge keeps every
field's highest-ranking observation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from talentops.models.state import ConsentState, FieldValue, Profile
from talentops.talent_pool.merge import (
    MergePolicy,
    merge_consent,
    merge_fields,
    merge_profiles,
    survivor_of,
)

POLICY = MergePolicy(authority={"seniority": ("ats",), "role_family": ("ats", "crm")})
BASE = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES = ("talent.ats", "talent.crm", "talent.careers-site", "talent.events-platform")
FIELDS = {
    "city": st.sampled_from(["Berlin", "Munich", "Lisbon", "Zürich"]),
    "seniority": st.sampled_from(["junior", "mid", "senior", "lead"]),
    "role_family": st.sampled_from(["data", "design", "engineering"]),
    "skills": st.lists(st.sampled_from(["python", "sql", "go"]), max_size=3),
}

# A few distinct times only, so that equal observed_at (ties) are common.
times = st.integers(min_value=0, max_value=4).map(lambda d: BASE + timedelta(days=d))
facts = st.tuples(
    st.sampled_from(SOURCES),
    times,
    st.fixed_dictionaries({}, optional=FIELDS),
)


def build(fact_list, policy=POLICY):
    profile = Profile(candidate_id="c_test0001")
    for source, at, fields in fact_list:
        merge_fields(profile, fields, source=source, observed_at=at, policy=policy)
    return profile


def snapshot(profile):
    return {k: v.model_dump() for k, v in sorted(profile.fields.items())}


@settings(max_examples=300, deadline=None)
@given(st.lists(facts, max_size=12), st.randoms(use_true_random=False), st.data())
def test_any_interleaving_with_duplicates_gives_the_same_profile(fact_list, rnd, data):
    shuffled = list(fact_list)
    rnd.shuffle(shuffled)
    # Duplicates (redelivery, a producer resending) anywhere in the stream.
    extra = data.draw(st.lists(st.sampled_from(fact_list), max_size=5)) if fact_list else []
    for fact in extra:
        shuffled.insert(data.draw(st.integers(0, len(shuffled))), fact)
    assert snapshot(build(shuffled)) == snapshot(build(fact_list))


def _rank(name, fv):
    return (POLICY.rank(name, fv.source), fv.observed_at, fv.source)


@settings(max_examples=200, deadline=None)
@given(st.lists(facts, min_size=1, max_size=10))
def test_each_field_keeps_its_highest_ranking_observation(fact_list):
    profile = build(fact_list)
    for name in FIELDS:
        seen = [
            FieldValue(value=fields[name], source=source, observed_at=at)
            for source, at, fields in fact_list
            if name in fields
        ]
        if not seen:
            assert name not in profile.fields
            continue
        kept = profile.fields[name]
        best = max(_rank(name, fv) for fv in seen)
        assert _rank(name, kept) == best


@given(st.sampled_from(SOURCES), st.sampled_from(["Berlin", "Munich"]))
def test_a_late_older_fact_never_undoes_a_newer_one(source, old_city):
    profile = build([(source, BASE + timedelta(days=30), {"city": "Lisbon"})])
    changed = merge_fields(
        profile, {"city": old_city}, source=source, observed_at=BASE, policy=POLICY
    )
    assert changed == {} and profile.value("city") == "Lisbon"


def test_authority_is_configuration_and_newest_wins_among_equals():
    profile = build(
        [
            ("talent.ats", BASE, {"seniority": "mid", "city": "Berlin"}),
            ("talent.crm", BASE + timedelta(days=9), {"seniority": "lead", "city": "Munich"}),
        ]
    )
    # The ATS is authoritative for seniority however new the CRM's observation; for city the
    # newest observation wins whatever its source.
    assert profile.fields["seniority"].value == "mid"
    assert profile.fields["seniority"].source == "talent.ats"
    assert profile.fields["city"].value == "Munich"
    newest_wins = build(
        [
            ("talent.ats", BASE, {"seniority": "mid"}),
            ("talent.crm", BASE + timedelta(days=9), {"seniority": "lead"}),
        ],
        policy=MergePolicy(),
    )
    assert newest_wins.value("seniority") == "lead"


def test_equal_timestamps_resolve_deterministically():
    a = ("talent.crm", BASE, {"city": "Berlin"})
    b = ("talent.careers-site", BASE, {"city": "Munich"})
    c = ("talent.crm", BASE, {"city": "Aachen"})
    for order in ([a, b, c], [c, b, a], [b, a, c], [b, c, a]):
        fv = build(order).fields["city"]
        # Same time: the source name orders, then the value.
        assert (fv.source, fv.value) == ("talent.crm", "Berlin")


consents = st.tuples(
    st.sampled_from(["job_alerts", "events"]),
    st.sampled_from(["granted", "withdrawn"]),
    st.sampled_from(SOURCES),
    times,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(consents, max_size=10), st.randoms(use_true_random=False))
def test_consent_is_order_independent_and_a_tie_withdraws(consent_list, rnd):
    def apply(items):
        p = Profile(candidate_id="c_test0001")
        for purpose, status, source, at in items:
            merge_consent(p, purpose, ConsentState(status=status, source=source, observed_at=at))
        return {k: v.model_dump() for k, v in p.consent.items()}

    shuffled = list(consent_list)
    rnd.shuffle(shuffled)
    assert apply(shuffled) == apply(consent_list)
    tie = [
        ("events", "granted", "talent.crm", BASE),
        ("events", "withdrawn", "talent.ats", BASE),
    ]
    assert apply(tie)["events"]["status"] == "withdrawn"
    assert apply(list(reversed(tie)))["events"]["status"] == "withdrawn"


@settings(max_examples=200, deadline=None)
@given(st.lists(facts, max_size=10), st.lists(st.booleans(), max_size=10))
def test_identity_merge_equals_one_candidate_that_saw_every_fact(fact_list, sides):
    left = [f for f, s in zip(fact_list, sides + [True] * len(fact_list), strict=False) if s]
    right = [f for f, s in zip(fact_list, sides + [True] * len(fact_list), strict=False) if not s]
    a, b = build(left), build(right)
    a.created_at, b.created_at = BASE, BASE + timedelta(days=1)
    b.candidate_id = "c_test0002"
    survivor, loser = survivor_of(a, b)
    assert survivor is a  # the one known first survives
    merge_profiles(survivor, loser, POLICY)
    assert snapshot(survivor) == snapshot(build(fact_list))


def test_identity_merge_unions_sends_consent_and_aliases():
    a = build([("talent.ats", BASE, {"city": "Berlin"})])
    b = build([("talent.crm", BASE + timedelta(days=2), {"city": "Munich"})])
    a.created_at, b.created_at, b.candidate_id = BASE, BASE, "c_test0000"
    a.aliases, b.aliases = ["ref:ats:A-1"], ["email:x@example.org"]
    b.consent["events"] = ConsentState(status="granted", source="talent.crm", observed_at=BASE)
    b.suppressed = True
    survivor, loser = survivor_of(a, b)
    assert survivor is b  # same created_at: the smaller id
    changed = merge_profiles(survivor, loser, POLICY)
    assert changed == {}  # Munich is newer; nothing of the survivor's changes
    assert survivor.aliases == ["email:x@example.org", "ref:ats:A-1"]
    assert survivor.consent["events"].status == "granted" and survivor.suppressed

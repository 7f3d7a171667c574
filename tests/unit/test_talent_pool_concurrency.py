"""Concurrent updates to one candidate lose nothing: the ingest service's optimistic versioning
with retry, against an in-memory table that enforces the version condition, under any
interleaving hypothesis draws (another writer commits between a read and its write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from talentops.errors import ConcurrencyError
from talentops.models.events import ConsentChanged, ProfileUpdated
from talentops.models.state import Profile
from talentops.talent_pool.merge import MergePolicy, merge_consent, merge_fields
from talentops.talent_pool.service import TalentPoolService

BASE = datetime(2026, 1, 1, tzinfo=UTC)
EMAIL = "ada@example.org"
POLICY = MergePolicy(authority={"seniority": ("ats",)})


class InMemoryPool:
    """The repository methods ingest uses, with DynamoDB's conditions (version, aliases)."""

    def __init__(self):
        self.profiles: dict[str, dict] = {}
        self.aliases: dict[tuple[str, str], str] = {}
        self.before_save = lambda: None
        self.writes = 0

    def resolve_id(self, ref):
        if ref.ref and (owner := self.aliases.get(("ref", ref.ref))):
            return owner
        if ref.email:
            return self.aliases.get(("email", ref.email.lower()))
        return None

    def alias_owner(self, kind, value):
        return self.aliases.get((kind, value))

    def get_profile(self, candidate_id, consistent=True):
        data = self.profiles.get(candidate_id)
        return Profile.model_validate(data) if data else None

    def save_profile(self, profile, *, expected_version, new_aliases=(), consent_history=()):
        self.before_save()  # another writer may commit here, between read and write
        current = self.profiles.get(profile.candidate_id)
        if (current is None) != (expected_version == 0) or (
            current is not None and current["version"] != expected_version
        ):
            raise ConcurrencyError("profile changed since it was read")
        for kind, value in new_aliases:
            if self.aliases.get((kind, value), profile.candidate_id) != profile.candidate_id:
                from talentops.adapters.talent_pool import IdentityConflictError

                raise IdentityConflictError("alias taken")
        for kind, value in new_aliases:
            self.aliases[(kind, value)] = profile.candidate_id
        data = profile.model_dump()
        data["version"] = expected_version + 1
        self.profiles[profile.candidate_id] = data
        self.writes += 1


class NullPublisher:
    def __init__(self):
        self.events = []

    def publish(self, entries):
        self.events += list(entries)


FIELD_VALUES = {
    "city": ["Berlin", "Munich", "Lisbon"],
    "seniority": ["junior", "mid", "senior"],
    "first_name": ["Ada", "Ava"],
}
profile_facts = st.builds(
    lambda source, day, fields: ("profile", source, day, fields),
    st.sampled_from(["talent.ats", "talent.crm", "talent.careers-site"]),
    st.integers(0, 3),
    st.fixed_dictionaries(
        {}, optional={k: st.sampled_from(v) for k, v in FIELD_VALUES.items()}
    ).filter(bool),
)
consent_facts = st.builds(
    lambda status, day: ("consent", "talent.crm", day, status),
    st.sampled_from(["granted", "withdrawn"]),
    st.integers(0, 3),
)


def as_detail(fact):
    kind, _source, day, payload = fact
    at = (BASE + timedelta(days=day)).isoformat()
    if kind == "profile":
        return ProfileUpdated.model_validate(
            {"candidate": {"email": EMAIL}, "observed_at": at, "fields": payload}
        )
    return ConsentChanged.model_validate(
        {"candidate": {"email": EMAIL}, "observed_at": at, "purpose": "events", "status": payload}
    )


def expected_profile(fact_list):
    p = Profile(candidate_id="x")
    for kind, source, day, payload in fact_list:
        at = BASE + timedelta(days=day)
        if kind == "profile":
            merge_fields(p, payload, source=source, observed_at=at, policy=POLICY)
        else:
            from talentops.models.state import ConsentState

            merge_consent(p, "events", ConsentState(status=payload, source=source, observed_at=at))
    return p


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(profile_facts, consent_facts), min_size=2, max_size=5),
    st.lists(st.booleans(), max_size=40),
)
def test_interleaved_writers_lose_no_fact(fact_list, interrupts):
    pool = InMemoryPool()
    service = TalentPoolService(
        repo=pool,  # type: ignore[arg-type]
        publisher=NullPublisher(),  # type: ignore[arg-type]
        # Received after every fact was observed (a fact is never received before it is
        # observed: talent_pool/merge.py orders consent by the earlier of the two).
        now=lambda: BASE + timedelta(days=10),
        merge_policy=POLICY,
    )
    # The first fact creates the candidate; the rest run "concurrently".
    first, *rest = fact_list
    service.ingest(as_detail(first), first[1])
    waiting = list(rest)
    decisions = iter(interrupts)

    def maybe_interleave():
        # Before a write commits, another waiting writer may run to completion.
        if waiting and next(decisions, False):
            other = waiting.pop(0)
            service.ingest(as_detail(other), other[1])

    pool.before_save = maybe_interleave
    while waiting:
        fact = waiting.pop()
        service.ingest(as_detail(fact), fact[1])
    [stored] = pool.profiles.values()
    want = expected_profile(fact_list)
    got = Profile.model_validate(stored)
    assert {k: v.model_dump() for k, v in got.fields.items()} == {
        k: v.model_dump() for k, v in want.fields.items()
    }
    assert {k: v.model_dump(exclude={"received_at"}) for k, v in got.consent.items()} == {
        k: v.model_dump(exclude={"received_at"}) for k, v in want.consent.items()
    }
    assert got.version == pool.writes  # every commit was on top of the one before


def test_own_events_are_never_ingested():
    pool = InMemoryPool()
    service = TalentPoolService(
        repo=pool,  # type: ignore[arg-type]
        publisher=NullPublisher(),  # type: ignore[arg-type]
        now=lambda: BASE,
        merge_policy=POLICY,
    )
    fact = ("profile", "talent.personalization", 0, {"city": "Berlin"})
    result = service.ingest(as_detail(fact), "talent.personalization")
    assert result.changed == {} and pool.profiles == {}


def test_profile_changed_carries_only_changed_fields_and_an_echo_changes_nothing():
    pool = InMemoryPool()
    publisher = NullPublisher()
    service = TalentPoolService(
        repo=pool,  # type: ignore[arg-type]
        publisher=publisher,  # type: ignore[arg-type]
        now=lambda: BASE,
        merge_policy=POLICY,
    )
    service.ingest(
        as_detail(("profile", "", 1, {"city": "Berlin", "first_name": "Ada"})), "talent.ats"
    )
    service.ingest(
        as_detail(("profile", "", 2, {"city": "Munich", "first_name": "Ada"})), "talent.ats"
    )
    # The CRM, subscribed to Candidate Profile Changed, writes the same value back.
    service.ingest(as_detail(("profile", "", 2, {"city": "Munich"})), "talent.crm")
    changes = [e[1].changed for e in publisher.events]
    assert [sorted(c) for c in changes] == [["city", "first_name"], ["city"]]
    assert changes[1]["city"].value == "Munich" and changes[1]["city"].source == "talent.ats"

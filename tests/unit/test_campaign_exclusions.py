"""A campaign's exclusions (campaigns.exclusions), pure: the recipients of another campaign
from the send ledger or the decision records, a purpose's recent recipients from the
ledger, and decide_recipient's ``excluded``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from talentops.campaigns.exclusions import (
    ExcludedCampaign,
    Exclusions,
    campaign_decision_id,
    received_for,
)
from talentops.campaigns.model import Campaign, CampaignError, validate_campaign
from talentops.campaigns.preview import campaign_fact
from talentops.delivery.decide import decision_id
from talentops.models.state import Decision, FieldValue, Profile, SentRecord

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
OTHER = ExcludedCampaign("cmp_00000000000000aa", "spring_hiring", NOW - timedelta(days=3), NOW)
OLD = ExcludedCampaign(
    "cmp_00000000000000bb", "spring_hiring", NOW - timedelta(days=90), NOW - timedelta(days=80)
)


def profile(*traces: tuple[str, SentRecord]) -> Profile:
    p = Profile(candidate_id="c_ada0000")
    p.fields["email"] = FieldValue(value="ada@example.org", source="t", observed_at=NOW)
    for key, trace in traces:
        p.recent[key] = trace
    return p


def sent(days: float, purpose: str = "marketing") -> SentRecord:
    return SentRecord(at=NOW - timedelta(days=days), purpose=purpose, template="t")


def test_the_decision_id_is_the_one_the_campaign_decides_with():
    campaign = Campaign.model_validate(
        {
            "name": "x",
            "purpose": "marketing",
            "segment": [{"field": "city", "op": "eq", "value": "Berlin"}],
            "content": {"template": "spring_hiring"},
        }
    )
    fact = campaign_fact(campaign, OTHER.campaign_id, "c_ada0000", OTHER.created_at)
    assert OTHER.decision_id("c_ada0000") == decision_id(fact, "spring_hiring", "c_ada0000")
    assert OTHER.decision_id("c_ada0000") == campaign_decision_id(
        OTHER.campaign_id, "spring_hiring", OTHER.created_at, "c_ada0000"
    )


def test_a_recipient_of_an_excluded_campaign_is_excluded_from_the_ledger():
    rules = Exclusions((OTHER,), {}, WEEK)
    got = profile((OTHER.decision_id("c_ada0000"), sent(2)))
    reason = rules.check(got, NOW, own_decision="mine")
    assert reason is not None and OTHER.campaign_id in reason
    assert rules.check(profile(("another", sent(2))), NOW, own_decision="mine") is None
    # Or from the decision records (an old campaign's sends have left the ledger).
    assert rules.check(profile(), NOW, own_decision="mine", received={OTHER.campaign_id})


def test_a_purpose_within_its_days_is_excluded_the_campaigns_own_send_is_not():
    rules = Exclusions((), {"marketing": 30}, timedelta(days=30))
    assert "within 30 days" in (
        rules.check(profile(("k", sent(29))), NOW, own_decision="mine") or ""
    )
    assert rules.check(profile(("k", sent(31))), NOW, own_decision="mine") is None
    assert rules.check(profile(("k", sent(2, "events"))), NOW, own_decision="mine") is None
    assert rules.check(profile(("mine", sent(1))), NOW, own_decision="mine") is None


def test_the_decision_records_are_read_only_for_a_campaign_older_than_the_ledger():
    reads: list[list[tuple[str, str]]] = []

    def read(keys):
        reads.append(list(keys))
        return {}

    recent_only = Exclusions((OTHER,), {}, WEEK)
    assert received_for(recent_only, ["c_a", "c_b"], NOW, read) == {}
    assert reads == []  # the ledger holds all of OTHER's sends: nothing to read
    both = Exclusions((OTHER, OLD), {}, WEEK)
    received_for(both, ["c_a", "c_b"], NOW, read)
    assert reads == [[("c_a", OLD.decision_id("c_a")), ("c_b", OLD.decision_id("c_b"))]]


@pytest.mark.parametrize(
    ("outcome", "status", "counts"),
    [
        ("send", "sent", True),
        ("send", "decided", True),
        ("send", "failed", False),
        ("suppress", "suppressed", False),
    ],
)
def test_a_record_counts_when_it_is_a_send_not_failed(outcome, status, counts):
    key = OLD.decision_id("c_a")
    record = Decision(
        decision_id=key,
        candidate_id="c_a",
        trigger={},
        template="spring_hiring",
        purpose="marketing",
        outcome=outcome,
        decided_at=NOW - timedelta(days=80),
        status=status,
    )
    found = Exclusions((OLD,), {}, WEEK).received({key: record})
    assert found == ({"c_a": {OLD.campaign_id}} if counts else {})


def test_a_purpose_excluded_longer_than_the_ledger_keeps_is_refused():
    body = {
        "name": "x",
        "purpose": "marketing",
        "segment": [{"field": "city", "op": "eq", "value": "Berlin"}],
        "content": {"template": "spring_hiring"},
        "exclude": {"purposes": {"marketing": 30, "events": 7}},
    }
    with pytest.raises(CampaignError) as caught:
        validate_campaign(body, window=WEEK)
    assert [p.path for p in caught.value.problems] == ["exclude.purposes.marketing"]
    campaign = validate_campaign(body, window=timedelta(days=30))
    assert campaign.exclude is not None and campaign.exclude.purposes == {
        "marketing": 30,
        "events": 7,
    }
    with pytest.raises(CampaignError) as caught:
        validate_campaign({**body, "exclude": {"campaigns": ["nope"], "colour": 1}})
    assert {p.path for p in caught.value.problems} == {"exclude.campaigns[0]", "exclude.colour"}

"""Campaign segments in the rule language's groups, through the real API handler under moto:
a body whose group is wrong is a 422 naming the path inside the group; a segment of groups is
stored, read back and previewed as it was written (case and accents folded)."""

from __future__ import annotations

import pytest

from tests.integration import test_campaigns as campaigns

SPRING = campaigns.SPRING
seed = campaigns.seed
# The fixtures of the campaign tests: moto's fast transactions, the API and the worker.
_fast_transactions = campaigns._fast_transactions
rig = campaigns.rig


@pytest.mark.parametrize(
    ("segment", "paths"),
    [
        (
            [{"any": [{"field": "city", "op": "eq", "value": "Berlin"}, {"field": "citty"}]}],
            {"segment[0].any[1].field", "segment[0].any[1]"},
        ),
        (
            [{"not": {"all": [{"field": "candidate.salary", "op": "exists", "value": True}]}}],
            {"segment[0].not.all[0].field"},
        ),
        ([{"any": []}], {"segment[0].any"}),
        ([{"all": [{"field": "skills", "op": "contains", "value": ["x"]}]}], {"segment[0].all[0]"}),
        (["city is Berlin"], {"segment[0]"}),
    ],
)
def test_a_bad_group_is_422_naming_its_path(rig, aws, segment, paths):
    status, answer = rig.call("POST", "/admin/campaigns", {**SPRING, "segment": segment})
    assert status == 422
    error = answer["error"]
    assert error["code"] == "invalid_campaign"
    assert {p["path"] for p in error["problems"]} == paths
    assert all(p["message"] for p in error["problems"])


def test_a_segment_of_groups_is_stored_and_previewed_as_written(rig, aws):
    seed(aws)
    segment = [
        {"field": "role_family", "op": "eq", "value": "DATA"},
        {
            "any": [
                {"field": "country", "op": "eq", "value": "ie"},
                {"field": "language", "op": "prefix", "value": "DE"},
            ]
        },
        {"not": {"field": "city", "op": "in", "value": ["Köln", "münchen"]}},
    ]
    campaign_id = rig.create({**SPRING, "segment": segment})
    preview = rig.preview(campaign_id)
    # ada (DE, de), ben, cal (IE), cat (IE, de-AT): data, in Ireland or German-speaking, in
    # Berlin (not Köln or München).
    assert preview["in_segment"] == 4
    assert preview["by_variant"] == {"de": 2, "default": 1, "senior": 1}
    # The same body again is the same campaign: the stored definition reads back equal.
    again = rig.call("POST", "/admin/campaigns", {**SPRING, "segment": segment})
    assert again[0] == 201 and again[1]["campaign_id"] == campaign_id
    assert again[1]["created"] is False

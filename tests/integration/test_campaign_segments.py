"""Campaign segments in the rule language's groups, through the real API handler under moto:
a body whose group is wrong is a 422 naming the path inside the group; a segment of groups is
stored, read back and previewed as it was written (case and accents folded)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from talentops.clock import SYSTEM_CLOCK
from tests.integration import test_campaigns as campaigns
from tests.support.apigw import json_body
from tests.support.privacy import api_call

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


# -- saved segments (/admin/segments) -----------------------------------------------------------

DATA_IN_IRELAND = [
    {"field": "role_family", "op": "eq", "value": "data"},
    {
        "any": [
            {"field": "country", "op": "eq", "value": "IE"},
            {"field": "language", "op": "prefix", "value": "de"},
        ]
    },
]


def get(rig, path, **query):
    response = api_call(rig.api, rig.context, "GET", path, query=query or None, iam=True)
    return response["statusCode"], json_body(response)


def save_segment(rig, name, segment, **extra):
    status, body = rig.call("POST", "/admin/segments", {"name": name, "segment": segment, **extra})
    assert status == 201, body
    return body


def test_segments_are_saved_versioned_listed_and_read(rig, aws, monkeypatch):
    first = save_segment(rig, "Data: Ireland or German", DATA_IN_IRELAND, description="v1")
    assert first["segment_id"].startswith("seg_") and first["version"] == 1
    assert first["created"] is True and first["name"] == "Data: Ireland or German"
    # Bare fields are stored as candidate.<field>, as a campaign's segment.
    assert first["segment"][0]["field"] == "candidate.role_family"
    # The same conditions again (a retry) are that version; a name differing only in case is
    # the same segment.
    again = save_segment(rig, "data: ireland or GERMAN", DATA_IN_IRELAND, description="v1")
    assert (again["segment_id"], again["version"], again["created"]) == (
        first["segment_id"],
        1,
        False,
    )
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(minutes=1))
    other = save_segment(
        rig, "Designers", [{"field": "role_family", "op": "eq", "value": "design"}]
    )
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(minutes=2))
    second = save_segment(rig, "Data: Ireland or German", DATA_IN_IRELAND[:1])
    assert (second["segment_id"], second["version"], second["created"]) == (
        first["segment_id"],
        2,
        True,
    )

    status, listed = rig.call("GET", "/admin/segments")
    assert status == 200
    # Newest first: the first segment's version 2 is the latest save.
    assert [(s["segment_id"], s["version"]) for s in listed["segments"]] == [
        (first["segment_id"], 2),
        (other["segment_id"], 1),
    ]
    assert listed["segments"][0]["name"] == "Data: Ireland or German"

    sid = first["segment_id"]
    status, latest = rig.call("GET", f"/admin/segments/{sid}")
    assert status == 200 and latest["version"] == 2 and latest["latest_version"] == 2
    assert len(latest["segment"]) == 1
    status, old = get(rig, f"/admin/segments/{sid}", version="1")
    assert status == 200 and old["version"] == 1 and old["latest_version"] == 2
    assert old["segment"] == first["segment"] and old["description"] == "v1"
    for path, query in (
        (f"/admin/segments/{sid}", {"version": "3"}),
        ("/admin/segments/seg_0000000000000000", {}),
        ("/admin/segments/nope", {}),
    ):
        status, body = get(rig, path, **query)
        assert status == 404 and body["error"]["code"] == "unknown_segment", (path, body)
    assert rig.call("GET", "/admin/segments", iam=False)[0] == 403
    assert (
        rig.call("POST", "/admin/segments", {"name": "x", "segment": DATA_IN_IRELAND}, iam=False)[0]
        == 403
    )


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        (
            {"name": "x", "segment": [{"any": [{"field": "citty", "op": "eq", "value": "B"}]}]},
            {"segment[0].any[0].field"},
        ),
        ({"name": "x", "segment": []}, {"segment"}),
        ({"segment": [{"field": "city", "op": "eq", "value": "B"}]}, {""}),  # name missing
        (
            {"name": "x", "segment": [{"field": "city", "op": "eq", "value": "B"}], "extra": 1},
            {"extra"},
        ),
    ],
)
def test_a_bad_segment_is_422_naming_its_path(rig, aws, body, paths):
    status, answer = rig.call("POST", "/admin/segments", body)
    assert status == 422, answer
    assert answer["error"]["code"] == "invalid_segment"
    assert {p["path"] for p in answer["error"]["problems"]} == paths


def test_a_campaign_by_segment_ref_is_pinned_and_previews_as_the_inline_segment(rig, aws):
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
    saved = save_segment(rig, "Spring data", segment)
    inline = rig.preview(rig.create({**SPRING, "segment": segment}))
    body = {
        **{k: v for k, v in SPRING.items() if k != "segment"},
        "segment_ref": {"id": saved["segment_id"]},
    }
    status, created = rig.call("POST", "/admin/campaigns", body)
    assert status == 201, created
    definition = created["definition"]
    assert definition["segment_ref"] == {"id": saved["segment_id"], "version": 1}
    assert definition["segment"] == saved["segment"]
    by_ref = rig.preview(created["campaign_id"])
    for key in ("scanned", "in_segment", "would_send", "by_variant", "suppressed", "deferred"):
        assert by_ref[key] == inline[key], key
    # A new version of the segment changes nothing of the campaign (pinned); the same body
    # now pins version 2: another campaign. Naming version 1 is the first one again.
    save_segment(rig, "Spring data", segment[:1])
    status, view = rig.call("GET", f"/admin/campaigns/{created['campaign_id']}")
    assert view["definition"]["segment_ref"]["version"] == 1
    assert view["fingerprint"] == created["fingerprint"]
    status, newer = rig.call("POST", "/admin/campaigns", body)
    assert newer["definition"]["segment_ref"]["version"] == 2
    assert newer["campaign_id"] != created["campaign_id"]
    pinned = {**body, "segment_ref": {"id": saved["segment_id"], "version": 1}}
    status, same = rig.call("POST", "/admin/campaigns", pinned)
    assert (same["campaign_id"], same["created"]) == (created["campaign_id"], False)


@pytest.mark.parametrize(
    ("ref", "paths"),
    [
        ({"id": "seg_0000000000000000"}, {"segment_ref.id"}),
        ({"id": "SAVED", "version": 9}, {"segment_ref.version"}),
        ({"id": "nope"}, {"segment_ref.id"}),
    ],
)
def test_a_bad_segment_ref_is_422_naming_its_path(rig, aws, ref, paths):
    saved = save_segment(rig, "Spring data", DATA_IN_IRELAND)
    if ref["id"] == "SAVED":
        ref = {**ref, "id": saved["segment_id"]}
    body = {**{k: v for k, v in SPRING.items() if k != "segment"}, "segment_ref": ref}
    status, answer = rig.call("POST", "/admin/campaigns", body)
    assert status == 422, answer
    assert {p["path"] for p in answer["error"]["problems"]} == paths
    both = rig.call(
        "POST", "/admin/campaigns", {**SPRING, "segment_ref": {"id": saved["segment_id"]}}
    )
    assert both[0] == 422
    assert {p["path"] for p in both[1]["error"]["problems"]} == {"segment_ref"}


# -- exclusions ---------------------------------------------------------------------------------

IRELAND = {
    **SPRING,
    "name": "Ireland first",
    "segment": [{"field": "country", "op": "eq", "value": "IE"}],
}


def explain(rig, candidate, campaign_id):
    response = api_call(
        rig.api,
        rig.context,
        "GET",
        f"/admin/candidates/{candidate}/explain",
        query={"campaign": campaign_id},
        iam=True,
    )
    assert response["statusCode"] == 200, response
    return json_body(response)


def why_not(rig, campaign_id):
    response = api_call(
        rig.api, rig.context, "GET", "/admin/why-not", query={"campaign": campaign_id}, iam=True
    )
    assert response["statusCode"] == 200, response
    return json_body(response)


def launch_and_send(rig, campaign_id):
    rig.launch(campaign_id)
    rig.drain()
    return rig.status(campaign_id)


def test_recipients_of_another_campaign_are_excluded_in_preview_explain_and_launch(rig, aws):
    seed(aws)
    first = rig.create(IRELAND)
    assert launch_and_send(rig, first)["counts"]["sent"] == 3  # ben, cal, cat
    assert rig.recipients() == campaigns.addresses(["ben", "cal", "cat"])

    second = rig.create({**SPRING, "exclude": {"campaigns": [first]}})
    preview = rig.preview(second)
    assert preview["in_segment"] == 10
    assert preview["suppressed"]["excluded"] == 3
    assert preview["would_send"] == 3  # ada now, gus and ivy later
    held = next(h for h in preview["held_back"] if h["reason"] == "excluded")
    assert first in held["reasons"][-1]

    found = explain(rig, "c_ben0000", second)
    assert (found["outcome"], found["reason"]) == ("suppress", "excluded")
    step = next(s for s in found["steps"] if s["check"] == "exclusions")
    assert step["passed"] is False and first in step["why"]
    ada = explain(rig, "c_ada0000", second)
    assert ada["outcome"] == "send"
    assert next(s for s in ada["steps"] if s["check"] == "exclusions")["passed"] is True
    assert why_not(rig, second)["not_reached"]["excluded"]["count"] == 3

    before = len(rig.mails())
    view = launch_and_send(rig, second)
    assert view["counts"]["suppressed"]["excluded"] == 3
    new = sorted(str(m["To"]) for m in rig.mails()[before:])
    assert new == campaigns.addresses(["ada"])  # gus and ivy wait for their timers


def test_an_old_campaigns_recipients_are_found_in_their_decision_records(rig, aws, monkeypatch):
    seed(aws)
    first = rig.create(IRELAND)
    launch_and_send(rig, first)
    # 40 days on, past the ledger's week: the traces pruned (the profiles as seeded, without
    # them), the decision records kept.
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(days=40))
    seed(aws)
    second = rig.create({**SPRING, "name": "Later", "exclude": {"campaigns": [first]}})
    preview = rig.preview(second)
    assert preview["suppressed"].get("excluded") == 3
    assert explain(rig, "c_cal0000", second)["reason"] == "excluded"
    view = launch_and_send(rig, second)
    assert view["counts"]["suppressed"]["excluded"] == 3
    assert "ben@example.org" not in [str(m["To"]) for m in rig.mails()][3:]


def test_recent_recipients_of_a_purpose_are_excluded(rig, aws):
    seed(aws)
    # gus and hal received event messages this week; the others nothing.
    body = {**SPRING, "name": "No events people", "exclude": {"purposes": {"events": 7}}}
    campaign_id = rig.create(body)
    preview = rig.preview(campaign_id)
    assert preview["suppressed"]["excluded"] == 2
    assert "frequency_cap" not in preview["suppressed"] and preview["deferred"] == {
        "quiet_hours": 1
    }
    assert "within 7 days" in explain(rig, "c_hal0000", campaign_id)["steps"][-1]["why"]
    view = launch_and_send(rig, campaign_id)
    assert view["counts"]["suppressed"]["excluded"] == 2
    assert "gus@example.org" not in rig.recipients()
    # Longer than the ledger keeps (a week here): refused, naming the purpose.
    status, answer = rig.call(
        "POST", "/admin/campaigns", {**body, "exclude": {"purposes": {"marketing": 30}}}
    )
    assert status == 422
    assert [p["path"] for p in answer["error"]["problems"]] == ["exclude.purposes.marketing"]
    status, answer = rig.call(
        "POST", "/admin/campaigns", {**body, "exclude": {"campaigns": ["cmp_0000000000000000"]}}
    )
    assert status == 422
    assert [p["path"] for p in answer["error"]["problems"]] == ["exclude.campaigns[0]"]

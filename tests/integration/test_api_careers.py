"""The careers-site routes through the real API handler under moto (issue #5): personalized
blocks, the anonymous default, tokens, decisions, tracking onto the bus, and bad input."""

from __future__ import annotations

import base64
import email
import json
import re
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import boto3
import pytest

from talentops.adapters.listings import ListingsRepository
from talentops.clock import SYSTEM_CLOCK
from talentops.models.events import JobInfo
from talentops.tokens import TokenSigner
from tests.conftest import BUS, REGION, TABLE, load_handler
from tests.support.apigw import http_event, json_body
from tests.support.events import EVENT, behaviour, consent, envelope, profile

KEY = b"0123456789abcdef0123456789abcdef"  # the `aws` fixture's SSM token key
SITE_SOURCE = "talent.careers-site"


@pytest.fixture(scope="module")
def api():
    return load_handler("api")


@pytest.fixture(scope="module")
def record_event():
    return load_handler("record_event")


@pytest.fixture
def site_events(aws):
    """Events the careers-site API put on the bus (a rule on its source into a queue)."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="site-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="site-capture", EventBusName=BUS, EventPattern=json.dumps({"source": [SITE_SOURCE]})
    )
    events.put_targets(Rule="site-capture", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        out = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return drain


def seed(handlers, context, address, *, consent_to="events", **fields) -> str:
    result = handlers["ingest_profile"].handler(profile(address, **fields), context)
    if consent_to:
        handlers["ingest_profile"].handler(consent(address, purpose=consent_to), context)
    return result["candidate_id"]


def link_token(candidate_id: str, *, scope="link", ttl=timedelta(days=30), now=None) -> str:
    return TokenSigner(KEY).issue(
        candidate_id=candidate_id,
        purpose="events",
        message_id="m_test",
        scope=scope,
        now=now or datetime.now(UTC),
        ttl=ttl,
    )


def get_content(api, context, slot, token=None, headers=None):
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    response = api.handler(http_event("GET", f"/content/{slot}", headers=hdrs), context)
    return response["statusCode"], json_body(response), response.get("headers", {})


def post_track(api, context, body, headers=None):
    response = api.handler(http_event("POST", "/track", body=body, headers=headers), context)
    return response["statusCode"], json_body(response)


def sent_link_token(aws) -> str:
    """The t= of the careers link in the newest email sent."""
    raw = aws.sent_emails()[-1].raw_data
    msg = email.message_from_bytes(
        raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default
    )
    html = msg.get_body(("html",)).get_content()
    match = re.search(r'href="https://careers\.example\.com/\?t=([^"&]+)"', html)
    assert match, "the email has no careers-site link with a token"
    return match.group(1)


def decision_items(candidate_id: str) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    items = ddb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
        ExpressionAttributeValues={":pk": {"S": f"CAND#{candidate_id}"}, ":d": {"S": "DECISION#"}},
    )["Items"]
    from talentops.adapters.dynamo import from_item

    return [from_item(i) for i in items]


# -- personalized blocks --------------------------------------------------------------------


def test_the_token_of_a_sent_email_gets_the_candidates_variant_not_the_anonymous_one(
    aws, handlers, context, api, monkeypatch
):
    # The registration is for EVENT (3 December 2026): decide it the evening it was made,
    # not on whatever day the test runs (a day after the start the journey no longer confirms).
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime(2026, 12, 3, 20, 1, tzinfo=UTC))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    seed(
        handlers,
        context,
        "ada@example.org",
        first_name="Ada",
        country="DE",
        seniority="senior",
        role_family="data",
        city="Berlin",
    )
    handlers["journeys"].handler(behaviour("Registered", "ada@example.org"), context)
    token = sent_link_token(aws)

    status, anonymous, anon_headers = get_content(api, context, "hero")
    assert status == 200 and anonymous["variant"] == "anonymous"
    assert anon_headers["Cache-Control"].startswith("public")

    status, block, headers = get_content(api, context, "hero", token)
    assert status == 200
    assert block == {
        "slot": "hero",
        "variant": "senior",
        "html": block["html"],
        "data": block["data"],
    }
    assert "Ada" in block["html"] and "Ada" not in anonymous["html"]
    assert headers["Cache-Control"] == "private, no-store"
    # The same block as data (headless sites): what the HTML shows, as plain values.
    assert block["data"]["title"] == "Ada, lead what we build next"
    assert f"<h1>{block['data']['title']}</h1>" in block["html"]
    assert block["data"]["actions"] == [
        {"label": "Senior roles for you", "href": "#jobs"},
        {"label": "Meet our leaders at an event", "href": "#events"},
    ]
    assert anonymous["data"]["title"].startswith("Do the best work of your career at ")


@pytest.mark.parametrize(
    ("fields", "variant"),
    [
        ({"seniority": "mid", "language": "de-DE"}, "de"),
        ({"seniority": "lead"}, "senior"),
        ({"seniority": "junior"}, "known"),
    ],
)
def test_hero_variants_follow_the_catalogue_rules(aws, handlers, context, api, fields, variant):
    cid = seed(handlers, context, "rules@example.org", first_name="Rui", country="PT", **fields)
    status, block, _ = get_content(api, context, "hero", link_token(cid))
    assert (status, block["variant"]) == (200, variant)


def test_a_recent_no_show_gets_the_catch_up_naming_the_missed_event(
    aws, handlers, context, api, record_event
):
    seed(
        handlers,
        context,
        "nina@example.org",
        first_name="Nina",
        country="DE",
        seniority="mid",
        role_family="data",
        city="Berlin",
    )
    registered = behaviour("Registered", "nina@example.org", observed_at="2026-11-20T10:00:00Z")
    record_event.handler(registered, context)
    now = datetime.now(UTC)
    missed = {**EVENT, "starts_at": (now - timedelta(days=3)).isoformat()}
    no_show = behaviour("No-Show", "nina@example.org", observed_at=now.isoformat(), event=missed)
    record_event.handler(no_show, context)
    handlers["journeys"].handler(no_show, context)  # writes behaviours.event_no_show
    cid = decision_items_owner("nina@example.org")

    _, hero, _ = get_content(api, context, "hero", link_token(cid))
    _, events, _ = get_content(api, context, "events", link_token(cid))
    assert hero["variant"] == "no_show"
    assert events["variant"] == "missed"
    assert "Catch up on Data &amp; AI Careers Summit" in events["html"]
    # As data: plain text (unescaped), and the missed event with its link.
    assert events["data"]["title"] == "Catch up on Data & AI Careers Summit"
    assert events["data"]["missed_event"]["id"] == EVENT["id"]
    assert events["data"]["missed_event"]["url"] == EVENT["url"]


def decision_items_owner(address: str) -> str:
    ddb = boto3.client("dynamodb", region_name=REGION)
    item = ddb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"ALIAS#email#{address}"}, "sk": {"S": "ALIAS"}}
    )["Item"]
    return item["candidate_id"]["S"]


def test_jobs_come_from_the_job_store_and_fit_the_candidate(aws, handlers, context, api):
    store = ListingsRepository(TABLE)
    opened = datetime(2026, 11, 20, 9, tzinfo=UTC)
    jobs = [
        JobInfo(
            id="j-fit",
            title="Senior Data Engineer",
            role_family="data",
            seniority="senior",
            city="Berlin",
            country="DE",
            url="https://careers.example.com/jobs/j-fit",
        ),
        JobInfo(
            id="j-remote",
            title="Staff ML Engineer",
            role_family="data",
            seniority="lead",
            remote=True,
        ),
        JobInfo(
            id="j-other-city",
            title="Data Analyst",
            role_family="data",
            seniority="senior",
            city="Lisbon",
            country="PT",
        ),
        JobInfo(
            id="j-other-family",
            title="Product Designer",
            role_family="design",
            seniority="senior",
            city="Berlin",
        ),
        JobInfo(
            id="j-too-junior",
            title="Data Intern",
            role_family="data",
            seniority="intern",
            city="Berlin",
        ),
    ]
    for i, job in enumerate(jobs):
        store.put_job(job, opened + timedelta(hours=i))
    cid = seed(
        handlers,
        context,
        "jo@example.org",
        first_name="Jo",
        country="DE",
        seniority="senior",
        role_family="data",
        city="berlin",
    )

    _, known, _ = get_content(api, context, "jobs", link_token(cid))
    _, anonymous, _ = get_content(api, context, "jobs")
    assert known["variant"] == "matching"
    assert re.findall(r'data-job-id="([^"]+)"', known["html"]) == ["j-remote", "j-fit"]
    # The data lists the same jobs, every field and link included.
    assert [j["id"] for j in known["data"]["jobs"]] == ["j-remote", "j-fit"]
    assert known["data"]["jobs"][1] == {
        "id": "j-fit",
        "title": "Senior Data Engineer",
        "role_family": "data",
        "seniority": "senior",
        "city": "Berlin",
        "country": "DE",
        "remote": False,
        "url": "https://careers.example.com/jobs/j-fit",
    }
    assert known["data"]["events"] == [] and known["data"]["missed_event"] is None
    assert anonymous["variant"] == "anonymous"
    # The newest five, newest first, whoever asks.
    assert re.findall(r'data-job-id="([^"]+)"', anonymous["html"]) == [
        "j-too-junior",
        "j-other-family",
        "j-other-city",
        "j-remote",
        "j-fit",
    ]


def test_a_candidate_with_nothing_that_fits_gets_the_role_family_variant(
    aws, handlers, context, api
):
    ListingsRepository(TABLE).put_job(
        JobInfo(id="j-d", title="Designer", role_family="design", seniority="mid", city="Paris"),
        datetime(2026, 11, 20, tzinfo=UTC),
    )
    cid = seed(
        handlers,
        context,
        "ops@example.org",
        seniority="mid",
        role_family="ops",
        country="FR",
        city="Paris",
    )
    _, block, _ = get_content(api, context, "jobs", link_token(cid))
    assert block["variant"] == "role_family"
    assert 'data-job-id="j-d"' in block["html"]


def test_events_come_from_the_event_messages_and_nearby_ones_are_picked(
    aws, handlers, context, api, record_event
):
    soon = datetime.now(UTC) + timedelta(days=10)
    for event_id, city, days in (("e-berlin", "Berlin", 10), ("e-paris", "Paris", 5)):
        event = {
            "id": event_id,
            "name": f"Meetup {city}",
            "city": city,
            "starts_at": (soon + timedelta(days=days)).isoformat(),
        }
        record_event.handler(behaviour("Registered", "x@example.org", event=event), context)
    cid = seed(handlers, context, "bea@example.org", country="DE", city="Berlin")

    _, known, _ = get_content(api, context, "events", link_token(cid))
    _, anonymous, _ = get_content(api, context, "events")
    assert known["variant"] == "nearby"
    assert re.findall(r'data-event-id="([^"]+)"', known["html"]) == ["e-berlin"]
    assert re.findall(r'data-event-id="([^"]+)"', anonymous["html"]) == ["e-paris", "e-berlin"]


def test_candidate_fields_are_escaped_in_blocks(aws, handlers, context, api):
    cid = seed(
        handlers, context, "x@example.org", first_name="<script>alert(1)</script>", country="US"
    )
    _, block, _ = get_content(api, context, "hero", link_token(cid))
    assert "<script>" not in block["html"]
    assert "&lt;script&gt;" in block["html"]
    # The data is plain text: the name as given, for the site to escape when it renders it.
    assert block["data"]["title"] == "Welcome back, <script>alert(1)</script>"


# -- decisions ------------------------------------------------------------------------------


def test_a_known_candidates_block_is_recorded_as_a_decision_with_reasons_once_a_day(
    aws, handlers, context, api
):
    cid = seed(handlers, context, "dee@example.org", seniority="junior", country="US")
    token = link_token(cid)
    for _ in range(3):
        get_content(api, context, "hero", token)
    [record] = [d for d in decision_items(cid) if d.get("kind") == "content"]
    assert record["template"] == "hero" and record["variant"] == "known"
    assert record["outcome"] == "show" and record["views"] == 3
    assert record["trigger"]["detail_type"] == "Content Requested"
    # Attributed to the email whose link carried the token (issue 13).
    assert record["trigger"]["message_id"] == "m_test"
    assert (
        record["reasons"][0]
        == "not no_show: behaviours.event_no_show.at within_days 30 does not hold"
    )
    assert record["reasons"][-1] == "variant known: fallback"

    from talentops.adapters.talent_pool import TalentPoolRepository

    decisions = TalentPoolRepository(TABLE).decisions(cid)  # the admin view reads it as any other
    assert [d.kind for d in decisions] == ["content"]


def test_anonymous_blocks_record_nothing(aws, api, context):
    get_content(api, context, "hero")
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE)["Items"]
    assert not [i for i in items if i["sk"]["S"].startswith("DECISION#")]


# -- tokens ---------------------------------------------------------------------------------


def _tamper(token: str, candidate_id: str) -> str:
    """Another candidate's id in the payload, the original signature."""
    *head, payload, signature = token.split(".")  # v2.<kid>.<payload>.<signature>
    version = ".".join(head)
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["c"] = candidate_id
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{version}.{forged.decode().rstrip('=')}.{signature}"


def test_a_token_never_reaches_another_candidates_data(aws, handlers, context, api):
    ada = seed(handlers, context, "ada@example.org", first_name="Ada", country="US")
    bob = seed(handlers, context, "bob@example.org", first_name="Bob", country="US")
    _, block, _ = get_content(api, context, "hero", link_token(ada))
    assert "Ada" in block["html"] and "Bob" not in block["html"]

    status, body, _ = get_content(api, context, "hero", _tamper(link_token(ada), bob))
    assert status == 401 and body["error"]["code"] == "invalid_token"
    assert not [d for d in decision_items(bob) if d.get("kind") == "content"]


@pytest.mark.parametrize(
    ("make_header", "message"),
    [
        (lambda cid: "Bearer v1.abc.def", "token signature does not match"),
        (lambda cid: "Bearer not-a-token", "malformed token"),
        (lambda cid: f"Bearer {link_token(cid, ttl=timedelta(seconds=-1))}", "token has expired"),
        (lambda cid: f"Bearer {link_token(cid, scope='unsub')}", "token is not valid for this use"),
        (
            lambda cid: f"Basic {link_token(cid)}",
            "the Authorization header must be: Bearer <token>",
        ),
        (lambda cid: "Bearer ", "the Authorization header must be: Bearer <token>"),
        (
            lambda cid: f"Bearer {link_token('c_000000000000')}",
            "the token's candidate is not known",
        ),
    ],
)
def test_bad_tokens_are_401_with_an_error_body(aws, handlers, context, api, make_header, message):
    cid = seed(handlers, context, "t@example.org", country="US")
    status, body, _ = get_content(api, context, "hero", headers={"Authorization": make_header(cid)})
    assert status == 401
    assert body == {"error": {"code": "invalid_token", "message": message}}


def test_an_unknown_slot_is_404_even_with_a_bad_token(aws, api, context):
    status, body, _ = get_content(api, context, "sidebar", "v1.bad.token")
    assert status == 404
    assert body == {
        "error": {"code": "unknown_slot", "message": "there is no content slot 'sidebar'"}
    }


# -- several blocks in one call (GET /content?slots=) -----------------------------------------


def get_contents(api, context, slots, token=None, headers=None):
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    query = {"slots": slots} if slots is not None else None
    response = api.handler(http_event("GET", "/content", headers=hdrs, query=query), context)
    return response["statusCode"], json_body(response), response.get("headers", {})


def test_several_blocks_in_one_call_are_each_the_block_of_its_own_route(
    aws, handlers, context, api, record_event
):
    ListingsRepository(TABLE).put_job(
        JobInfo(
            id="j-b",
            title="Senior Data Engineer",
            role_family="data",
            seniority="senior",
            city="Berlin",
            url="https://careers.example.com/jobs/j-b",
        ),
        datetime(2026, 11, 20, tzinfo=UTC),
    )
    starts = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
    event = {"id": "e-b", "name": "Meetup", "city": "Berlin", "starts_at": starts.isoformat()}
    record_event.handler(behaviour("Registered", "y@example.org", event=event), context)
    cid = seed(
        handlers,
        context,
        "bat@example.org",
        first_name="Bat",
        country="DE",
        city="Berlin",
        seniority="senior",
        role_family="data",
    )
    token = link_token(cid)

    status, body, headers = get_contents(api, context, "events, hero,jobs", token)
    assert status == 200 and headers["Cache-Control"] == "private, no-store"
    assert [b["slot"] for b in body["slots"]] == ["events", "hero", "jobs"]
    assert [b["variant"] for b in body["slots"]] == ["nearby", "senior", "matching"]
    for block in body["slots"]:
        _, alone, _ = get_content(api, context, block["slot"], token)
        assert block == alone
    events, _, jobs = body["slots"]
    assert [(e["id"], e["url"]) for e in events["data"]["events"]] == [("e-b", None)]
    assert events["data"]["events"][0]["starts_at"].startswith(starts.strftime("%Y-%m-%dT%H:%M"))
    assert events["data"]["events"][0]["when"]
    assert [(j["id"], j["url"]) for j in jobs["data"]["jobs"]] == [
        ("j-b", "https://careers.example.com/jobs/j-b")
    ]
    # One decision per block, as for the one-block route.
    shown = sorted(d["template"] for d in decision_items(cid) if d.get("kind") == "content")
    assert shown == ["events", "hero", "jobs"]

    status, anonymous, headers = get_contents(api, context, "hero,jobs")
    assert status == 200 and headers["Cache-Control"] == "public, max-age=60"
    assert [b["variant"] for b in anonymous["slots"]] == ["anonymous", "anonymous"]


def test_unknown_slots_in_a_batch_are_404_naming_them_before_the_token_is_checked(
    aws, api, context
):
    status, body, _ = get_contents(api, context, "hero,sidebar,footer", "v1.bad.token")
    assert status == 404
    assert body == {
        "error": {
            "code": "unknown_slot",
            "message": "there are no content slots 'sidebar', 'footer'",
        }
    }
    status, body, _ = get_contents(api, context, "hero,sidebar")
    assert (status, body["error"]["message"]) == (404, "there is no content slot 'sidebar'")


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        (None, "slots: Field required"),
        ("", "slots: name at least one slot, e.g. hero,jobs"),
        (" , ", "slots: name at least one slot, e.g. hero,jobs"),
        ("hero,,jobs", "slots: an empty slot name (a stray comma?)"),
        ("hero,jobs,hero", "slots: 'hero' is named twice"),
        (",".join(f"s{i}" for i in range(11)), "slots: at most 10 slots in one call"),
    ],
)
def test_a_batch_without_slots_or_with_too_many_is_400_with_an_error_body(
    aws, api, context, slots, message
):
    status, body, _ = get_contents(api, context, slots)
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert body["error"]["message"].startswith(message)


def test_a_batch_with_a_bad_token_is_401_and_records_nothing(aws, handlers, context, api):
    cid = seed(handlers, context, "bad@example.org", country="US")
    status, body, _ = get_contents(
        api, context, "hero,jobs", link_token(cid, ttl=timedelta(seconds=-1))
    )
    assert status == 401
    assert body == {"error": {"code": "invalid_token", "message": "token has expired"}}
    assert not [d for d in decision_items(cid) if d.get("kind") == "content"]


# -- tracking -------------------------------------------------------------------------------


def test_a_job_view_with_a_token_is_the_candidates_event_on_the_bus(
    aws, handlers, context, api, site_events
):
    cid = seed(handlers, context, "v@example.org", country="US")
    body = {
        "type": "job_viewed",
        "token": link_token(cid),
        "job": {"id": "j-1", "title": "Data Engineer"},
        "anonymous_id": "abcdefgh1234",
    }
    status, answer = post_track(api, context, body)
    assert status == 202
    assert answer["detail_type"] == "Candidate Job Viewed" and answer.get("anonymous_id") is None
    [event] = site_events()
    assert event["source"] == SITE_SOURCE and event["id"] == answer["event_id"]
    assert event["detail-type"] == "Candidate Job Viewed"
    assert event["detail"]["candidate"] == {"id": cid}
    # The job travels on as its id only (issue 11): emails show jobs from the listings.
    assert event["detail"]["job"] == {"id": "j-1"}
    # Attributed to the email whose link carried the token (issue 13).
    assert event["detail"]["message_id"] == "m_test"
    # The contract's model of the event accepts it.
    from talentops.models.events import parse_event

    parse_event(event)


def test_the_token_may_come_as_a_bearer_header(aws, handlers, context, api, site_events):
    cid = seed(handlers, context, "h@example.org", country="US")
    status, answer = post_track(
        api,
        context,
        {"type": "page_viewed", "url": "https://careers.example.com/"},
        headers={"Authorization": f"Bearer {link_token(cid)}"},
    )
    assert (status, answer["detail_type"]) == (202, "Candidate Page Viewed")
    [event] = site_events()
    assert event["detail"]["candidate"] == {"id": cid}
    assert event["detail"]["url"] == "https://careers.example.com/"
    assert event["detail"]["message_id"] == "m_test"


def test_without_a_token_the_event_names_an_anonymous_visitor(aws, api, context, site_events):
    status, first = post_track(
        api, context, {"type": "job_viewed", "job": {"id": "j-2"}, "anonymous_id": "visitor-123456"}
    )
    status2, second = post_track(
        api, context, {"type": "application_started", "job": {"id": "j-2"}}
    )
    assert (status, status2) == (202, 202)
    assert first["anonymous_id"] == "visitor-123456"
    assert re.fullmatch(r"anon_[0-9a-f]{24}", second["anonymous_id"])
    events = {e["detail-type"]: e for e in site_events()}
    assert set(events) == {"Visitor Job Viewed", "Visitor Application Started"}
    assert events["Visitor Job Viewed"]["detail"]["visitor"] == {"anonymous_id": "visitor-123456"}
    assert "candidate" not in events["Visitor Application Started"]["detail"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ('{"type": "job_viewed", ', {"Content-Type": "application/json"}, 400, "malformed_json"),
        ({"type": "job_clicked", "job": {"id": "j"}}, None, 400, "invalid_request"),
        ({"type": "job_viewed"}, None, 400, "invalid_request"),
        ({"type": "page_viewed"}, None, 400, "invalid_request"),
        ({"type": "page_viewed", "url": "javascript:alert(1)"}, None, 400, "invalid_request"),
        ({"type": "job_viewed", "job": {"id": "j"}, "extra": 1}, None, 400, "invalid_request"),
        (
            {"type": "job_viewed", "job": {"id": "j"}, "anonymous_id": "x"},
            None,
            400,
            "invalid_request",
        ),
        ("[]", {"Content-Type": "application/json"}, 400, "invalid_request"),
        (
            {"type": "job_viewed", "job": {"id": "j", "title": "x" * 9000}},
            None,
            413,
            "payload_too_large",
        ),
        ('{"type": "page_viewed"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (
            "type=page_viewed&url=https%3A%2F%2Fx.example",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ('{"type": "page_viewed", "url": "https://x.example"}', {}, 415, "unsupported_media_type"),
        (
            {"type": "job_viewed", "job": {"id": "j"}, "token": "v1.abc.def"},
            None,
            401,
            "invalid_token",
        ),
    ],
)
def test_bad_track_input_is_a_4xx_with_an_error_body_and_no_event(
    aws, api, context, site_events, body, headers, status, code
):
    got, answer = post_track(api, context, body, headers=headers)
    assert got == status
    assert answer["error"]["code"] == code and answer["error"]["message"]
    assert site_events() == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        # A body validation would refuse, with a token that is not ours in the header...
        ({"type": "job_clicked"}, {"Authorization": "Bearer v2.k0.forged.sig"}),
        ('{"type": "job_viewed", ', {"Authorization": "Bearer v2.k0.forged.sig"}),
        # ... or in the body, or a token that is not even text.
        ({"type": "job_clicked", "token": "v2.k0.forged.sig"}, None),
        ({"type": "job_viewed", "job": {"id": "j"}, "token": 12345}, None),
        ({"type": "job_viewed", "job": {"id": "j"}, "token": "välid"}, None),
    ],
)
def test_a_token_that_is_not_ours_is_401_before_the_body_is_validated(
    aws, api, context, site_events, body, headers
):
    got, answer = post_track(
        api, context, body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    assert (got, answer["error"]["code"]) == (401, "invalid_token")
    assert site_events() == []


def test_with_a_valid_token_a_bad_body_is_still_a_400(aws, handlers, context, api, site_events):
    cid = seed(handlers, context, "v@example.org", country="US")
    got, answer = post_track(
        api,
        context,
        {"type": "job_clicked", "job": {"id": "j"}},
        headers={"Authorization": f"Bearer {link_token(cid)}"},
    )
    assert (got, answer["error"]["code"]) == (400, "invalid_request")
    assert site_events() == []


def test_conflicting_header_and_body_tokens_are_refused(aws, handlers, context, api, site_events):
    a = seed(handlers, context, "a@example.org", country="US")
    b = seed(handlers, context, "b@example.org", country="US")
    status, answer = post_track(
        api,
        context,
        {"type": "job_viewed", "job": {"id": "j"}, "token": link_token(b)},
        headers={"Authorization": f"Bearer {link_token(a)}"},
    )
    assert (status, answer["error"]["code"]) == (400, "conflicting_tokens")
    assert site_events() == []


# -- the events store -----------------------------------------------------------------------


def test_record_event_keeps_the_newest_view_of_an_event(aws, context, record_event):
    event = {**EVENT, "name": "Summit (new title)"}
    newer = behaviour(
        "Registered", "a@example.org", observed_at="2026-11-25T10:00:00Z", event=event
    )
    older = behaviour("Attended", "b@example.org", observed_at="2026-11-20T10:00:00Z")
    assert record_event.handler(newer, context) == {"stored": True}
    assert record_event.handler(older, context) == {"stored": False}
    stored = ListingsRepository(TABLE).get_event(EVENT["id"])
    assert stored["name"] == "Summit (new title)"
    assert stored["listing"] == "EVENT" and stored["listed_at"] == "2026-12-03T17:30:00Z"
    assert "email" not in json.dumps(stored)


def test_a_newer_view_of_an_event_replaces_the_stored_one_field_by_field(
    aws, context, record_event
):
    """A field the newer message no longer carries (the url) is gone from the listing; the
    same observation again is written again (newest or equal wins)."""
    first = behaviour("Registered", "a@example.org", observed_at="2026-11-20T10:00:00Z")
    assert EVENT.get("url")
    assert record_event.handler(first, context) == {"stored": True}
    assert ListingsRepository(TABLE).get_event(EVENT["id"])["url"] == EVENT["url"]
    without_url = {k: v for k, v in EVENT.items() if k != "url"} | {"city": "Hamburg"}
    newer = behaviour(
        "Attended", "b@example.org", observed_at="2026-11-21T10:00:00Z", event=without_url
    )
    assert record_event.handler(newer, context) == {"stored": True}
    assert record_event.handler(newer, context) == {"stored": True}
    stored = ListingsRepository(TABLE).get_event(EVENT["id"])
    assert "url" not in stored and stored["city"] == "Hamburg"
    assert stored["observed_at"] == "2026-11-21T10:00:00Z"


def test_record_event_refuses_what_is_not_an_event_message(aws, context, record_event):
    from talentops.errors import InvalidEventError

    with pytest.raises(InvalidEventError):
        record_event.handler(envelope("Candidate Event Registered", {"candidate": {}}), context)


# -- the OpenAPI document -------------------------------------------------------------------


def test_swagger_ui_is_served_at_docs_with_its_assets_inline(aws, api, context):
    response = api.handler(http_event("GET", "/docs"), context)
    assert response["statusCode"] == 200
    html = response["body"]
    assert "SwaggerUIBundle" in html and "/content/{slot}" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    spec = api.handler(http_event("GET", "/docs", query={"format": "json"}), context)
    assert json.loads(spec["body"])["paths"]["/track"]["post"]["operationId"] == "track"

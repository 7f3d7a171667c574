"""Issue #4 functions under moto: SES feedback into the suppression list, erasure on
`Candidate Erasure Requested`, and the retention sweeper (with re-permission)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from scripts import create_token_key
from talentops import wiring
from talentops.clock import SYSTEM_CLOCK
from tests.conftest import REGION, TABLE, TIMER_GROUP, TOKEN_PARAM, load_handler
from tests.support.events import EVENT, envelope, profile
from tests.support.job_alerts import sqs_event
from tests.support.privacy import (
    api_call,
    attend,
    body_text,
    candidate_id_of,
    mails,
    scan_table,
    seed,
    token_of,
)


@pytest.fixture(scope="module")
def fns():
    return {
        n: load_handler(n)
        for n in ("ses_feedback", "candidate_erasure", "retention_sweeper", "api")
    }


def ses_event(kind: str, address: str, bounce_type: str = "Permanent") -> dict:
    detail: dict = {
        "eventType": kind,
        "mail": {
            "timestamp": "2026-11-26T10:00:00.000Z",
            "source": "careers@talent.example.com",
            "messageId": "0102018f-example",
            "destination": [address],
            "tags": {"ses:configuration-set": ["talentops-dev"]},
        },
    }
    if kind == "Bounce":
        detail["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1"}],
            "timestamp": "2026-11-26T10:00:01.000Z",
        }
        detail_type = "Email Bounced"
    else:
        detail["complaint"] = {
            "complainedRecipients": [{"emailAddress": address}],
            "complaintFeedbackType": "abuse",
            "timestamp": "2026-11-26T10:00:01.000Z",
        }
        detail_type = "Email Complaint Received"
    return {**envelope(detail_type, detail, source="aws.ses"), "detail": detail}


def _suppress_item(address: str):
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    return (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=TABLE, Key={"pk": {"S": f"SUPPRESS#{digest}"}, "sk": {"S": "SUPPRESS"}})
        .get("Item")
    )


def _profile(candidate_id):
    from talentops import wiring

    return wiring.repository().get_profile(candidate_id)


# -- SES feedback --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Bounce", "Complaint"])
def test_hard_bounce_or_complaint_suppresses_the_address_for_every_purpose(
    aws, handlers, context, fns, kind
):
    seed(handlers, context, "bob@example.org")
    fns["ses_feedback"].handler(ses_event(kind, "Bob@Example.org"), context)
    item = _suppress_item("bob@example.org")
    assert item["kind"]["S"] == ("bounce" if kind == "Bounce" else "complaint")
    assert "bob@example.org" not in json.dumps(item).lower()
    assert _profile(candidate_id_of("bob@example.org")).suppressed
    aws.drain()
    attend(handlers, context, "bob@example.org")
    assert mails(aws) == []
    [suppressed] = [e for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert suppressed["detail"]["reason"] == "suppressed_address"


def test_transactional_messages_respect_hard_suppression(aws, handlers, context, fns):
    from talentops.consent.policy import ConsentPolicy
    from talentops.content.catalogue import MessageSpec, Variant
    from talentops.delivery.decide import TriggerFact, decide

    seed(handlers, context, "tx@example.org")
    fns["ses_feedback"].handler(ses_event("Bounce", "tx@example.org"), context)
    spec = MessageSpec(
        purpose="transactional",
        variants=(Variant(name="default", subject="x", html="a.html", text="a.txt"),),
    )
    fact = TriggerFact(
        detail_type="Candidate Application Submitted",
        event_id="e1",
        candidate_key="email:tx@example.org",
        observed_at=SYSTEM_CLOCK.now(),
    )
    outcome = decide(
        fact=fact,
        profile=_profile(candidate_id_of("tx@example.org")),
        template="application_received",
        spec=spec,
        policy=ConsentPolicy(),
        now=SYSTEM_CLOCK.now(),
    )
    assert outcome.decision.reason == "suppressed_address"


def test_soft_bounce_is_ignored(aws, handlers, context, fns):
    # Granted by the clock, not on the seed's fixed date: that grant lapses (24 months) as the
    # calendar moves on, and the mail below would stop.
    seed(handlers, context, "soft@example.org", observed_at=_recently())
    result = fns["ses_feedback"].handler(
        ses_event("Bounce", "soft@example.org", bounce_type="Transient"), context
    )
    assert result["kind"] == "ignore"
    assert _suppress_item("soft@example.org") is None
    assert not _profile(candidate_id_of("soft@example.org")).suppressed
    attend(handlers, context, "soft@example.org")
    assert len(mails(aws)) == 1


def test_an_address_suppressed_before_it_is_imported_is_suppressed_on_ingest(
    aws, handlers, context, fns
):
    fns["ses_feedback"].handler(ses_event("Complaint", "early@example.org"), context)
    seed(handlers, context, "early@example.org")
    assert _profile(candidate_id_of("early@example.org")).suppressed
    attend(handlers, context, "early@example.org")
    assert mails(aws) == []


# -- erasure on the bus --------------------------------------------------------------------------


def test_erasure_requested_by_ref_erases_everything_and_announces_it(aws, handlers, context, fns):
    ingest = handlers["ingest_profile"].handler
    ingest(
        envelope(
            "Candidate Profile Updated",
            {
                "candidate": {"ref": "ats:A-77", "email": "eve@example.org"},
                "observed_at": "2026-11-01T09:00:00Z",
                "fields": {"email": "eve@example.org", "first_name": "Evelyn", "country": "FR"},
            },
        ),
        context,
    )
    seed(handlers, context, "eve@example.org", country="FR")
    attend(handlers, context, "eve@example.org")
    candidate_id = candidate_id_of("eve@example.org")
    aws.drain()
    request = envelope(
        "Candidate Erasure Requested",
        {
            "candidate": {"ref": "ats:A-77"},
            "observed_at": "2026-11-26T09:00:00Z",
            "request_id": "dsar-1",
        },
    )
    assert fns["candidate_erasure"].handler(request, context)["candidate_id"] == candidate_id
    for item in scan_table():
        text = json.dumps(item).lower()
        assert candidate_id.lower() not in text and "eve@example.org" not in text
        assert "evelyn" not in text and "ats:a-77" not in text
    assert _suppress_item("eve@example.org")["kind"]["S"] == "erased"
    [erased] = [e for e in aws.drain() if e["detail-type"] == "Candidate Erased"]
    assert erased["detail"]["candidate_id"] == candidate_id
    # Redelivered: nothing left, the erasure is announced again (idempotent).
    fns["candidate_erasure"].handler(
        envelope(
            "Candidate Erasure Requested",
            {"candidate": {"id": candidate_id}, "observed_at": "2026-11-26T09:00:00Z"},
        ),
        context,
    )
    assert [e["detail-type"] for e in aws.drain()] == ["Candidate Erased"]


def test_erasure_of_a_bounced_address_keeps_it_hard_suppressed(aws, handlers, context, fns):
    seed(handlers, context, "hard@example.org")
    fns["ses_feedback"].handler(ses_event("Bounce", "hard@example.org"), context)
    fns["candidate_erasure"].handler(
        envelope(
            "Candidate Erasure Requested",
            {"candidate": {"email": "hard@example.org"}, "observed_at": "2026-11-26T09:00:00Z"},
        ),
        context,
    )
    item = _suppress_item("hard@example.org")
    assert item["kind"]["S"] == "bounce" and "erased_at" in item


# -- retention -----------------------------------------------------------------------------------


def _recently() -> str:
    """A grant date a day before the clock: a fixed date lapses as the calendar moves on."""
    return (SYSTEM_CLOCK.now() - timedelta(days=1)).isoformat()


def _months(n: int) -> timedelta:
    return timedelta(days=31 * n)


def test_sweeper_erases_by_country_after_the_last_real_interaction(
    aws, handlers, context, fns, monkeypatch
):
    seed(handlers, context, "de@example.org", country="DE")
    seed(handlers, context, "fr@example.org", country="FR")
    seed(handlers, context, "active@example.org", country="DE")
    seed(handlers, context, "opener@example.org", country="DE")
    ids = {a: candidate_id_of(f"{a}@example.org") for a in ("de", "fr", "active", "opener")}
    # Seven months on: one DE candidate registered for an event last week (real), the other
    # only opened an email (does not count).
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + _months(7))
    recent = (SYSTEM_CLOCK.now() - timedelta(days=7)).isoformat()
    handlers["journeys"].handler(
        envelope(
            "Candidate Event Registered",
            {
                "candidate": {"email": "active@example.org"},
                "observed_at": recent,
                "event": {"id": "e-9", "name": "Meetup", "starts_at": "2027-08-01T18:00:00Z"},
            },
            source="talent.events-platform",
        ),
        context,
    )
    from talentops import wiring

    repo = wiring.repository()
    opener = repo.get_profile(ids["opener"])
    opener.behaviours["email_opened"] = {"at": recent}
    repo.save_profile(opener, expected_version=opener.version)
    aws.drain()
    report = fns["retention_sweeper"].handler({"source": "aws.events"}, context)
    assert report["erased"] == 2
    assert repo.get_profile(ids["de"]) is None and repo.get_profile(ids["opener"]) is None
    assert repo.get_profile(ids["fr"]) is not None and repo.get_profile(ids["active"]) is not None
    erased = {
        e["detail"]["candidate_id"] for e in aws.drain() if e["detail-type"] == "Candidate Erased"
    }
    assert erased == {ids["de"], ids["opener"]}
    assert _suppress_item("de@example.org")["kind"]["S"] == "erased"
    # FR keeps 24 months.
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + _months(18))
    fns["retention_sweeper"].handler({}, context)
    assert repo.get_profile(ids["fr"]) is None


def test_sweeper_asks_for_re_permission_once_before_a_grant_lapses_and_saving_renews_it(
    aws, handlers, context, fns, monkeypatch
):
    # Granted a day ago by the clock, not on a fixed date: a fixed date drifts towards the
    # lapse as the calendar moves on, and the test would stop asking before the lapse.
    granted_at = (SYSTEM_CLOCK.now() - timedelta(days=1)).isoformat()
    seed(handlers, context, "renew@example.org", country="FR", observed_at=granted_at)
    # Two weeks before the 24-month grant lapses. Seen on the careers site then (below), so
    # retention keeps the candidate.
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + timedelta(days=715))
    handlers["ingest_profile"].handler(
        profile("renew@example.org", observed_at=SYSTEM_CLOCK.now().isoformat(), city="Paris")
        | {"source": "talent.careers-site"},
        context,
    )
    report = fns["retention_sweeper"].handler({}, context)
    assert report["repermission_asked"] == 1
    [mail] = mails(aws)
    assert "still want to hear" in str(mail["Subject"])
    text = mail.get_body(("plain",)).get_content()
    assert "/preferences?token=" in text
    assert fns["retention_sweeper"].handler({}, context)["repermission_asked"] == 0
    assert len(mails(aws)) == 1
    token = token_of(str(mail["List-Unsubscribe"]).split(",")[0].strip("<> "))
    page = body_text(api_call(fns["api"], context, "GET", "/preferences", query={"token": token}))
    assert "lapses on" in page
    saved = api_call(
        fns["api"],
        context,
        "POST",
        "/preferences",
        query={"token": token},
        body={"purposes": {"events": True}},
    )
    assert json.loads(body_text(saved))["changed"] == [{"purpose": "events", "status": "granted"}]
    # Past the original lapse date the renewed grant still holds.
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + timedelta(days=30))
    attend(handlers, context, "renew@example.org", observed_at=SYSTEM_CLOCK.now().isoformat())
    assert len(mails(aws)) == 2


def test_a_lapsed_grant_stops_mail_in_an_opt_in_country(aws, handlers, context, monkeypatch):
    seed(handlers, context, "old@example.org", country="DE", observed_at="2026-11-01T09:00:00Z")
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + timedelta(days=731))
    aws.drain()
    attend(handlers, context, "old@example.org", observed_at=SYSTEM_CLOCK.now().isoformat())
    assert mails(aws) == []
    [suppressed] = [e for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert suppressed["detail"]["reason"] == "consent_expired"


def test_erasure_after_an_identity_merge_leaves_neither_id(aws, handlers, context, fns):
    ingest = handlers["ingest_profile"].handler

    def fact(ref, address, observed_at):
        return envelope(
            "Candidate Profile Updated",
            {
                "candidate": {"ref": ref, "email": address},
                "observed_at": observed_at,
                "fields": {"email": address, "first_name": "Mergewell", "country": "DE"},
            },
        )

    ingest(fact("ats:M-1", "m1@example.org", "2026-11-01T09:00:00Z"), context)
    ingest(fact("crm:M-2", "m2@example.org", "2026-11-02T09:00:00Z"), context)
    first, second = candidate_id_of("m1@example.org"), candidate_id_of("m2@example.org")
    assert first != second
    ingest(fact("ats:M-1", "m2@example.org", "2026-11-03T09:00:00Z"), context)
    survivor = candidate_id_of("m1@example.org")
    assert candidate_id_of("m2@example.org") == survivor
    loser = first if survivor == second else second
    api = fns["api"]
    # The merged (loser) id still names the person: erasing it erases the survivor.
    response = api_call(api, context, "DELETE", f"/admin/candidates/{loser}", iam=True)
    assert response["statusCode"] == 202
    for item in scan_table():
        text = json.dumps(item).lower()
        for needle in (first, second, "m1@example.org", "m2@example.org", "mergewell"):
            assert needle.lower() not in text, (item["pk"], needle)
    assert _suppress_item("m1@example.org")["kind"]["S"] == "erased"
    assert _suppress_item("m2@example.org")["kind"]["S"] == "erased"


# -- erasure and campaign deferral timers --------------------------------------------------------


def _deferred_campaign(aws, context, fns, monkeypatch) -> list[dict]:
    """A campaign launched at 23:00 in Auckland: its recipients there wait for the end of
    quiet hours on one-time Scheduler timers whose input names them. Returns the schedules."""
    from talentops.campaigns import wiring as campaign_wiring

    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="campaigns")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # As in template.yaml: campaign deferrals share the timers' schedule group.
    for name, value in {
        "CAMPAIGN_QUEUE_URL": url,
        "CAMPAIGN_QUEUE_ARN": arn,
        "CAMPAIGN_SCHEDULE_GROUP": TIMER_GROUP,
        "CAMPAIGN_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
    }.items():
        monkeypatch.setenv(name, value)
    campaign_wiring.reset()
    api, worker = fns["api"], load_handler("campaign_worker")
    response = api_call(
        api,
        context,
        "POST",
        "/admin/campaigns",
        body={
            "name": "Erasure and deferrals",
            "purpose": "marketing",
            "segment": [{"field": "country", "op": "in", "value": ["NZ"]}],
            "content": {"template": "spring_hiring"},
        },
        iam=True,
    )
    assert response["statusCode"] == 201, response
    campaign_id = json.loads(response["body"])["campaign_id"]
    launched = api_call(api, context, "POST", f"/admin/campaigns/{campaign_id}/launch", iam=True)
    assert launched["statusCode"] == 202, launched
    for _ in range(5):  # the fan-out, then its page
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        assert worker.handler(sqs_event(messages, arn), context) == {"batchItemFailures": []}
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    scheduler = aws.client("scheduler")
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=TIMER_GROUP)["Schedules"]]
    return [scheduler.get_schedule(Name=n, GroupName=TIMER_GROUP) for n in names]


def test_erasure_deletes_the_candidates_campaign_deferral_timers(
    aws, handlers, context, fns, monkeypatch
):
    # A Wednesday, 10:00 UTC: 23:00 in Auckland, quiet hours until 08:00 there.
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    for address in ("kiri@example.org", "tane@example.org"):
        seed(
            handlers,
            context,
            address,
            country="NZ",
            purpose="marketing",
            timezone="Pacific/Auckland",
        )
    kiri, tane = candidate_id_of("kiri@example.org"), candidate_id_of("tane@example.org")
    timers = _deferred_campaign(aws, context, fns, monkeypatch)
    named = {c: [t for t in timers if c in t["Target"]["Input"]] for c in (kiri, tane)}
    assert len(named[kiri]) == 1 and len(named[tane]) == 1, [t["Name"] for t in timers]
    assert mails(aws) == []  # both wait for the morning

    fns["candidate_erasure"].handler(
        envelope(
            "Candidate Erasure Requested",
            {"candidate": {"id": kiri}, "observed_at": "2026-12-02T10:00:00Z"},
        ),
        context,
    )
    scheduler = aws.client("scheduler")
    left = [
        scheduler.get_schedule(Name=s["Name"], GroupName=TIMER_GROUP)
        for s in scheduler.list_schedules(GroupName=TIMER_GROUP)["Schedules"]
    ]
    # Nothing in Scheduler names the erased candidate; the other candidate still waits.
    assert [s["Name"] for s in left if kiri in json.dumps(s, default=str)] == []
    assert [s["Name"] for s in left] == [named[tane][0]["Name"]]


# -- token key rotation ------------------------------------------------------------------------


def test_links_sent_before_a_rotation_keep_working_until_the_previous_key_is_retired(
    aws, handlers, context, fns
):
    """The key set in SSM as the functions read it (adapters/secrets.py), rotated and
    retired with scripts/create_token_key.py, through the preference centre route."""

    def preferences(token: str) -> int:
        response = api_call(fns["api"], context, "GET", "/preferences", query={"token": token})
        return int(response["statusCode"])

    def link_of(mail) -> str:
        return token_of(str(mail["List-Unsubscribe"]).split(",")[0].strip("<> "))

    seed(handlers, context, "rota@example.org", country="FR", observed_at=_recently())
    attend(handlers, context, "rota@example.org")
    before = link_of(mails(aws)[-1])
    assert before.split(".")[:2] == ["v2", "k0"]  # the bare key of conftest is the key k0
    ssm = aws.client("ssm")
    assert "previous k0" in create_token_key.run(ssm, TOKEN_PARAM, rotate=True)
    wiring.reset()  # a new execution environment (or five minutes later): the new key set
    attend(handlers, context, "rota@example.org", event={**EVENT, "id": "evt-rota-2"})
    assert len(mails(aws)) == 2
    after = link_of(mails(aws)[-1])
    assert after.split(".")[:2] == ["v2", "k1"]
    assert (preferences(before), preferences(after)) == (200, 200)
    create_token_key.run(ssm, TOKEN_PARAM, retire=True)
    wiring.reset()
    assert (preferences(before), preferences(after)) == (401, 200)

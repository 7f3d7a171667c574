"""A claim is a lease (issue 11, item 5), under moto: a sender killed between the claim and
the record leaves a claim that its redelivery sees in flight, and that the send reconciler
resolves once its lease has run out: sent once, or recorded as accepted when SES took it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops import wiring
from talentops.adapters.ses import SesSender
from talentops.clock import SYSTEM_CLOCK
from talentops.delivery import leases
from talentops.models.events import CandidateRef
from tests.conftest import TABLE, load_handler
from tests.support.events import EVENT, consent, envelope, profile

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Killed(BaseException):
    """A Lambda timeout: nothing of the application's failure handling runs."""


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", T0)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))

    def move(moment: datetime) -> None:
        SYSTEM_CLOCK.fixed = moment

    return move


def _registered(address: str) -> dict[str, Any]:
    return envelope(
        "Candidate Event Registered",
        {"candidate": {"email": address}, "observed_at": "2026-11-30T11:00:00Z", "event": EVENT},
        source="talent.events-platform",
        event_id="registered-1",
    )


def _seed(handlers: Any, context: Any, address: str) -> str:
    ingest = handlers["ingest_profile"].handler
    ingest(profile(address, first_name="Jo", country="DE", city="Berlin"), context)
    ingest(consent(address, "granted", purpose="events"), context)
    found = wiring.repository().resolve(CandidateRef(email=address))
    assert found is not None
    return found.candidate_id


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_sender_killed_around_the_send_is_resolved_once_past_its_lease(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    address = f"{when}@example.org"
    candidate = _seed(handlers, context, address)
    original = SesSender.send_raw
    state = {"kill": True}

    def dies(self: SesSender, **kwargs: Any) -> str:
        if state["kill"]:
            state["kill"] = False
            if when == "after":
                original(self, **kwargs)
            raise Killed()
        return original(self, **kwargs)

    monkeypatch.setattr(SesSender, "send_raw", dies)
    with pytest.raises(Killed):
        handlers["journeys"].handler(_registered(address), context)
    sent_before = 1 if when == "after" else 0
    assert len(aws.sent_emails()) == sent_before
    # Lambda's retry: the claim is in flight (its lease runs): neither sent nor given up.
    handlers["journeys"].handler(_registered(address), context)
    assert len(aws.sent_emails()) == sent_before
    [claim] = [d for d in wiring.repository().decisions(candidate) if d.outcome == "send"]
    assert claim.status == "decided"
    # The lease runs to the invocation's deadline (the context's 30 s) plus SES's margin, less
    # the real time the handler spent before it claimed (over a second on a loaded machine).
    held = wiring.repository().open_claim(candidate, claim.decision_id)
    assert held is not None and held.lease_until is not None
    assert T0 + timedelta(seconds=20) + leases.MARGIN < held.lease_until
    assert held.lease_until <= T0 + timedelta(seconds=30) + leases.MARGIN

    reconciler = load_handler("send_reconciler")
    clock(held.lease_until - timedelta(seconds=1))
    assert reconciler.handler({}, context)["found"] == 0  # the lease still runs
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])  # AWS: only the Send event tells
    if when == "after":
        # The configuration set's Send event for the message, tagged with its decision id.
        send_event = envelope(
            "Email Sent",
            {
                "eventType": "Send",
                "mail": {
                    "messageId": aws.sent_emails()[0].id,
                    "timestamp": "2026-11-30T12:00:01Z",
                    "destination": [address],
                    "tags": {"decision_id": [claim.decision_id], "candidate_id": [candidate]},
                },
                "send": {},
            },
            source="aws.ses",
        )
        result = load_handler("ses_feedback").handler(send_event, context)
        assert result["kind"] == "send"
    clock(held.lease_until + timedelta(seconds=1))
    tally = reconciler.handler({}, context)
    assert tally["found"] == 1
    assert len(aws.sent_emails()) == 1  # exactly one, either way
    [done] = [d for d in wiring.repository().decisions(candidate) if d.outcome == "send"]
    assert done.status == "sent"
    assert reconciler.handler({}, context)["found"] == 0  # resolved: off the index
    announced = [e for e in aws.drain() if e["detail-type"] == "Message Sent"]
    assert len(announced) == 1


def test_a_campaign_worker_killed_mid_page_strands_nobody(
    aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed on its second send: the first recipient got the mail (not yet recorded), the
    rest are claimed and unsent. A redelivery while the leases run sends nothing; past them
    the reconciler records the first (SES took it: found by header, as the Send event tells
    in AWS) and sends the rest once; the campaign's counters take all three."""
    from devstack.faults import sent_with_decision
    from talentops.campaigns import wiring as campaign_wiring
    from talentops.campaigns.launch import CampaignMessage
    from tests.integration.test_batch_isolation import _person
    from tests.support.apigw import json_body
    from tests.support.job_alerts import put_profiles
    from tests.support.privacy import api_call

    monkeypatch.setenv(
        "CAMPAIGN_QUEUE_URL", aws.client("sqs").create_queue(QueueName="c")["QueueUrl"]
    )
    monkeypatch.setenv("CAMPAIGN_QUEUE_ARN", "arn:aws:sqs:eu-west-1:123456789012:c")
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", "campaign-timers-test")
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", now)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [sent_with_decision])
    campaign_wiring.reset()
    put_profiles(aws.client("dynamodb"), TABLE, [_person(n) for n in ("ann", "bob", "cid")])
    definition = {
        "name": "Killed",
        "purpose": "marketing",
        "segment": [{"field": "candidate.role_family", "op": "eq", "value": "data"}],
        "content": {"template": "spring_hiring"},
    }
    api = load_handler("api")
    response = api_call(api, context, "POST", "/admin/campaigns", body=definition, iam=True)
    campaign_id = str(json_body(response)["campaign_id"])
    page = CampaignMessage(
        kind="page", campaign_id=campaign_id, candidates=["c_ann0000", "c_bob0000", "c_cid0000"]
    )
    original = SesSender.send_raw
    calls = {"n": 0}

    def dies_on_the_second(self: SesSender, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed()
        return original(self, **kwargs)

    monkeypatch.setattr(SesSender, "send_raw", dies_on_the_second)
    with pytest.raises(Killed):
        campaign_wiring.campaign_worker().page(page, lambda: 900.0)
    assert len(aws.sent_emails()) == 1
    # SQS delivers the page again while the leases run: all in flight, nothing sent.
    again = campaign_wiring.campaign_worker().page(page, lambda: 900.0)
    assert again.sent == 0 and again.duplicates == 3 and len(aws.sent_emails()) == 1

    SYSTEM_CLOCK.fixed = now + timedelta(minutes=21)
    tally = load_handler("send_reconciler").handler({}, context)
    assert tally["found"] == 3 and tally["other"] == 0
    assert sorted(m.destinations[0] for m in aws.sent_emails()) == [
        "ann@example.org",
        "bob@example.org",
        "cid@example.org",
    ]
    status = api_call(api, context, "GET", f"/admin/campaigns/{campaign_id}", iam=True)
    assert json_body(status)["counts"]["sent"] == 3
    # A later delivery of the page finds everything recorded: nothing more.
    assert campaign_wiring.campaign_worker().page(page, lambda: 900.0).sent == 0
    assert len(aws.sent_emails()) == 3
    campaign_wiring.reset()


def test_a_read_timeout_keeps_the_claim_for_its_lease_instead_of_sending_again(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SES may have taken a message whose answer timed out: the claim is not released (a
    retry would send a second one); the lease resolves it. Here SES did not take it (no Send
    event): the reconciler sends it, once."""
    from botocore.exceptions import ReadTimeoutError

    from talentops.adapters import ses as ses_adapter
    from talentops.errors import DeliveryError

    address = "timeout@example.org"
    candidate = _seed(handlers, context, address)
    real = aws.client("sesv2")

    class TimesOutOnce:
        calls = 0

        def send_email(self, **kwargs: Any) -> Any:
            TimesOutOnce.calls += 1
            if TimesOutOnce.calls == 1:
                raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")
            return real.send_email(**kwargs)

    monkeypatch.setattr(ses_adapter, "client", lambda service: TimesOutOnce())
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    with pytest.raises(DeliveryError):
        handlers["journeys"].handler(_registered(address), context)
    handlers["journeys"].handler(_registered(address), context)  # Lambda's retry
    assert TimesOutOnce.calls == 1 and aws.sent_emails() == []  # in flight, not resent
    [claim] = [d for d in wiring.repository().decisions(candidate) if d.outcome == "send"]
    assert claim.status == "decided"
    clock(T0 + timedelta(minutes=21))
    assert load_handler("send_reconciler").handler({}, context)["found"] == 1
    assert len(aws.sent_emails()) == 1 and TimesOutOnce.calls == 2


def test_recording_a_send_of_a_candidate_erased_meanwhile_writes_nothing(aws: Any) -> None:
    from talentops.models.state import Decision

    repo = wiring.repository()
    decision = Decision(
        decision_id="e" * 32,
        candidate_id="c_gone",
        trigger={"detail_type": "Candidate Event Attended", "event_id": "x"},
        template="event_attended_followup",
        purpose="events",
        outcome="send",
        status="sent",
        decided_at=T0,
    )
    repo.complete_decision(decision)  # the claim is gone with the partition
    assert repo.decisions("c_gone") == []


def test_a_batch_completion_keeps_an_erased_candidate_erased_and_records_the_rest(
    aws: Any, handlers: Any, context: Any, clock: Any
) -> None:
    """Campaign and job-alert workers record their sends in batches: a candidate erased
    between the claim and that write must not come back, and the others are recorded."""
    from talentops.models.state import Decision

    kept = _seed(handlers, context, "kept@example.org")
    repo = wiring.repository()

    def claim(candidate_id: str, n: str) -> Decision:
        return Decision(
            decision_id=n * 32,
            candidate_id=candidate_id,
            trigger={"detail_type": "Campaign", "event_id": "cmp"},
            template="event_attended_followup",
            purpose="events",
            outcome="send",
            status="decided",
            decided_at=T0,
        )

    live = claim(kept, "a")
    repo.record_decision(live, sent=None, behaviour=None)
    gone = claim("c_gone", "b")  # its partition was erased after the claim
    repo.complete_decisions(
        [live.model_copy(update={"status": "sent"}), gone.model_copy(update={"status": "sent"})]
    )
    assert repo.decisions("c_gone") == []
    [recorded] = repo.decisions(kept)
    assert recorded.decision_id == live.decision_id and recorded.status == "sent"


def test_a_claim_whose_candidate_changed_address_is_not_sent_to_the_old_one(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = "moving@example.org"
    candidate = _seed(handlers, context, address)
    monkeypatch.setattr(
        SesSender, "send_raw", lambda self, **kwargs: (_ for _ in ()).throw(Killed())
    )
    with pytest.raises(Killed):
        handlers["journeys"].handler(_registered(address), context)
    monkeypatch.undo()
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", T0)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    changed = envelope(
        "Candidate Profile Updated",
        {
            "candidate": {"id": candidate},
            "observed_at": "2026-11-30T11:59:00Z",
            "fields": {"email": "moved@example.org"},
        },
        source="talent.crm",
    )
    handlers["ingest_profile"].handler(changed, context)
    clock(T0 + timedelta(minutes=21))
    assert load_handler("send_reconciler").handler({}, context)["found"] == 1
    assert aws.sent_emails() == []  # never to the address the candidate left
    [held] = [d for d in wiring.repository().decisions(candidate) if d.template]
    assert held.reason == "stale_profile"


def test_the_reconciler_says_nothing_about_a_candidate_erased_under_its_claim(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = "leaving@example.org"
    candidate = _seed(handlers, context, address)
    service = wiring.delivery_service()
    monkeypatch.setattr(
        SesSender, "send_raw", lambda self, **kwargs: (_ for _ in ()).throw(Killed())
    )
    with pytest.raises(Killed):
        handlers["journeys"].handler(_registered(address), context)
    monkeypatch.undo()
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", T0 + timedelta(minutes=21))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    [open_claim] = service.repo.expired_claims(T0 + timedelta(minutes=21), limit=10)
    # Erased after the index read: the profile is gone when the resolver looks.
    monkeypatch.setattr(service.repo, "get_profile", lambda *a, **k: None)
    aws.drain()
    assert service.resolver().resolve(open_claim) is None
    assert aws.sent_emails() == []
    assert [e for e in aws.drain() if e["detail"].get("candidate_id") == candidate] == []


def _killed_senders(
    handlers: Any, context: Any, monkeypatch: pytest.MonkeyPatch, addresses: list[str]
) -> dict[str, tuple[str, str]]:
    """For each address, a candidate whose sender was killed before SES: (candidate id,
    decision id) of the claim left open."""
    original = SesSender.send_raw

    def dies(self: SesSender, **kwargs: Any) -> str:
        raise Killed()

    claims = {}
    for address in addresses:
        candidate = _seed(handlers, context, address)
        monkeypatch.setattr(SesSender, "send_raw", dies)
        with pytest.raises(Killed):
            handlers["journeys"].handler(_registered(address), context)
        monkeypatch.setattr(SesSender, "send_raw", original)
        [claim] = [d for d in wiring.repository().decisions(candidate) if d.outcome == "send"]
        claims[address] = (candidate, claim.decision_id)
    return claims


def _rewrite_copy(candidate: str, decision_id: str, copy: bytes) -> None:
    import boto3

    from talentops.adapters.pool.base import cand_pk

    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": cand_pk(candidate)}, "sk": {"S": f"DECISION#{decision_id}"}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "raw"},
        ExpressionAttributeValues={":r": {"B": copy}},
    )


def _open_copy(candidate: str, decision_id: str) -> tuple[bytes, datetime]:
    held = wiring.repository().open_claim(candidate, decision_id)
    assert held is not None and held.raw and held.lease_until is not None
    return held.raw, held.lease_until


def test_a_claim_whose_copy_this_release_cannot_read_stays_open_and_the_others_resolve(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy packed with a dictionary this release lacks (a rollback past the release that
    brought it): the reconciler leaves that claim open and resolves the rest of its run."""
    claims = _killed_senders(
        handlers, context, monkeypatch, ["unreadable@example.org", "readable@example.org"]
    )
    candidate, decision_id = claims["unreadable@example.org"]
    raw, lease_until = _open_copy(candidate, decision_id)
    assert raw[3] == 1  # packed with dictionary 1
    _rewrite_copy(candidate, decision_id, raw[:3] + bytes((200,)) + raw[4:])
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    clock(lease_until + timedelta(minutes=1))
    tally = load_handler("send_reconciler").handler({}, context)
    assert (tally["found"], tally["sent"], tally["unreadable"]) == (2, 1, 1)
    assert [m.destinations[0] for m in aws.sent_emails()] == ["readable@example.org"]
    still = wiring.repository().open_claim(candidate, decision_id)
    assert still is not None and still.decision.status == "decided"


def test_a_claim_whose_copy_is_damaged_is_never_sent_and_the_others_resolve(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy cut short would give back only the message's first part: the claim is
    recorded suppressed (render_error, its reason saying why), nothing of it is sent, and
    the rest of the run resolves."""
    claims = _killed_senders(
        handlers, context, monkeypatch, ["damaged@example.org", "whole@example.org"]
    )
    candidate, decision_id = claims["damaged@example.org"]
    raw, lease_until = _open_copy(candidate, decision_id)
    _rewrite_copy(candidate, decision_id, raw[: len(raw) // 2])
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    clock(lease_until + timedelta(minutes=1))
    tally = load_handler("send_reconciler").handler({}, context)
    assert (tally["found"], tally["sent"], tally["other"], tally["errors"]) == (2, 1, 1, 0)
    assert [m.destinations[0] for m in aws.sent_emails()] == ["whole@example.org"]
    assert wiring.repository().open_claim(candidate, decision_id) is None
    [held] = [d for d in wiring.repository().decisions(candidate) if d.template]
    assert (held.outcome, held.reason, held.status) == ("suppress", "render_error", "suppressed")
    assert "the message kept is damaged" in held.reasons[-1]


def test_an_error_on_one_claim_keeps_no_other_waiting_and_fails_the_run(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever resolving one claim raises, the run resolves the others, then fails (the
    function's error alarm sees it); the claim is resolved once its taken-over lease runs
    out."""
    from talentops.errors import ReconcileError, StorageError

    claims = _killed_senders(
        handlers, context, monkeypatch, ["first@example.org", "second@example.org"]
    )
    failing, failing_id = claims["first@example.org"]
    _, lease_until = _open_copy(failing, failing_id)
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    resolve = leases.LeaseResolver.resolve

    def trouble(self: leases.LeaseResolver, claim: Any) -> Any:
        if claim.decision.decision_id == failing_id:
            self.repo.take_over(claim, leases.lease_until(self.now()))
            raise StorageError("the table did not answer")
        return resolve(self, claim)

    monkeypatch.setattr(leases.LeaseResolver, "resolve", trouble)
    clock(lease_until + timedelta(minutes=1))
    with pytest.raises(ReconcileError, match="1 of the claims"):
        load_handler("send_reconciler").handler({}, context)
    assert [m.destinations[0] for m in aws.sent_emails()] == ["second@example.org"]
    monkeypatch.setattr(leases.LeaseResolver, "resolve", resolve)
    clock(lease_until + timedelta(minutes=6))  # the next run: the taken-over lease runs
    assert load_handler("send_reconciler").handler({}, context)["found"] == 0
    clock(lease_until + timedelta(minutes=30))
    tally = load_handler("send_reconciler").handler({}, context)
    assert (tally["found"], tally["sent"]) == (1, 1)
    assert sorted(m.destinations[0] for m in aws.sent_emails()) == [
        "first@example.org",
        "second@example.org",
    ]


def test_a_withdrawn_candidates_claim_is_stopped_even_when_its_copy_cannot_be_read(
    aws: Any, handlers: Any, context: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hard stops need no message: a claim of a candidate who withdrew consent is
    recorded suppressed although its copy names a dictionary this release lacks."""
    claims = _killed_senders(handlers, context, monkeypatch, ["withdrew@example.org"])
    candidate, decision_id = claims["withdrew@example.org"]
    raw, lease_until = _open_copy(candidate, decision_id)
    _rewrite_copy(candidate, decision_id, raw[:3] + bytes((200,)) + raw[4:])
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    withdrawn = consent("withdrew@example.org", "withdrawn", purpose="events")
    handlers["ingest_profile"].handler(withdrawn, context)
    clock(lease_until + timedelta(minutes=1))
    tally = load_handler("send_reconciler").handler({}, context)
    assert (tally["found"], tally["other"], tally["unreadable"]) == (1, 1, 0)
    assert aws.sent_emails() == []
    [held] = [d for d in wiring.repository().decisions(candidate) if d.template]
    assert (held.outcome, held.reason) == ("suppress", "consent_withdrawn")

"""1. AWS requests per message, counted exactly with botocore event hooks against moto.

Each scenario calls the real handler of functions/ with contract events, in an emulated
account built from template.yaml, and counts every API call the handler makes, by
operation. Beside them, the floor is measured in the same run: a reference sequence that
makes only the calls a message cannot do without (one read, one conditional write, one
send, one PutEvents), counted by the same hooks.

Per-recipient scenarios (job alerts, campaigns) live in bench/per_recipient.py and run in
the same account with the same counter.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from . import per_recipient
from .account import (
    RequestCounter,
    emulated_account,
    load_handler,
    quietly,
    sent_mail_count,
    table_definition,
)
from .capacity import CapacityMeter, Table, Units
from .common import BUS, REGION, SENDER, TABLE, apply_function_env, silence_logs, use_repository
from .fixtures import (
    EVENT,
    PERSONAS,
    FakeContext,
    Persona,
    behaviour_event,
    consent_event,
    profile_event,
)

GOAL_PER_TRIGGERED_MESSAGE = 4
MESSAGES_PER_SCENARIO = 6


@dataclass
class Seeded:
    candidate_id: str
    email: str
    ref: str


class Harness:
    def __init__(self, counter: RequestCounter):
        self.counter = counter
        self.ingest = load_handler("ingest_profile").handler
        self.followup = load_handler("journeys").handler
        self.context = FakeContext()
        self._n = itertools.count()

    def seed(self, persona: Persona, *, consent: bool = True) -> Seeded:
        n = next(self._n)
        email = f"{persona.key}.{n}@example.org"
        ref = f"ats:{persona.key}-{n}"
        result = quietly(
            self.ingest,
            profile_event({"email": email, "ref": ref}, {"email": email, **persona.fields}),
            self.context,
        )
        if consent:
            for purpose, status in persona.consent.items():
                quietly(self.ingest, consent_event({"email": email}, purpose, status), self.context)
        return Seeded(result["candidate_id"], email, ref)

    def fresh_table(self) -> None:
        """Start each message with an empty table: moto copies the whole table for every
        transaction (to roll back), so a growing table would only slow the run down."""
        import boto3

        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.delete_table(TableName=TABLE)
        ddb.create_table(TableName=TABLE, **table_definition())

    def counted(self, fn: Callable[[], Any]) -> tuple[Any, Counter[str], int]:
        with self.counter.window() as seen:
            result = fn()
        return result, seen, self.counter.window_attempts


def _summarise(
    name: str,
    counts: list[Counter[str]],
    attempts: list[int],
    *,
    outcome: str,
    floor: int,
    goal: int | None,
    mails: int,
    units: list[dict[str, Units]],
    note: str = "",
) -> dict[str, Any]:
    n = len(counts)
    total_units, units_by_operation = Units(), {}
    for by_operation in units:
        for operation, u in by_operation.items():
            total_units.add(u)
            units_by_operation.setdefault(operation, Units()).add(u)
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    per_message = sum(total.values()) / n
    return {
        "scenario": name,
        "messages": n,
        "outcome": outcome,
        "requests_per_message": per_message,
        "attempts_per_message": sum(attempts) / n,
        "by_operation": {op: total[op] / n for op in sorted(total)},
        "exact": all(sum(c.values()) == sum(counts[0].values()) for c in counts),
        "floor": floor,
        "goal": goal,
        "met": None if goal is None else per_message <= goal,
        "emails_sent": mails,
        "dynamodb_units_per_message": {k: v / n for k, v in total_units.as_dict().items()},
        "dynamodb_units_by_operation": {
            op: {k: v / n for k, v in u.as_dict().items() if v}
            for op, u in sorted(units_by_operation.items())
        },
        "note": note,
    }


def _floor_reference(h: Harness, *, write: bool, send: bool) -> int:
    """The floor, measured: only the calls a message cannot do without, by plain clients."""
    import boto3

    ddb = boto3.client("dynamodb", region_name=REGION)
    ses = boto3.client("sesv2", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    n = next(h._n)

    def minimal() -> None:
        ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"CAND#floor{n}"}, "sk": {"S": "PROFILE"}})
        if write:
            ddb.put_item(
                TableName=TABLE,
                Item={"pk": {"S": f"CAND#floor{n}"}, "sk": {"S": "DECISION#floor"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        if send:
            ses.send_email(
                FromEmailAddress=SENDER,
                Destination={"ToAddresses": ["floor@example.org"]},
                Content={"Raw": {"Data": b"Subject: floor\r\n\r\nfloor\r\n"}},
            )
        events.put_events(
            Entries=[
                {
                    "Source": "talent.personalization",
                    "DetailType": "Message Sent" if send else "Message Suppressed",
                    "Detail": json.dumps({"floor": True}),
                    "EventBusName": BUS,
                }
            ]
        )

    _, seen, _ = h.counted(minimal)
    return sum(seen.values())


def _triggered(h: Harness, floors: dict[str, int]) -> list[dict[str, Any]]:
    ada = PERSONAS[0]  # DE, events consent granted: gets the message
    attended = "Candidate Event Attended"
    results: list[dict[str, Any]] = []

    def run(
        name: str,
        make: Callable[[int], tuple[dict[str, Any], Callable[[], None] | None]],
        *,
        outcome: str,
        floor: int,
        goal: int | None = GOAL_PER_TRIGGERED_MESSAGE,
        note: str = "",
        first_of_process: bool = False,
    ) -> None:
        counts, attempts, mails, units = [], [], 0, []
        for i in range(MESSAGES_PER_SCENARIO):
            h.fresh_table()
            event, prepare = make(i)
            if prepare is not None:
                prepare()  # not counted: e.g. the first delivery before a redelivery
            if first_of_process:
                from talentops import wiring

                wiring.reset()  # a new execution environment: no cached service, key, client
                load_handler("journeys")  # its init, as Lambda runs it: the cold start's
            mails_before = sent_mail_count()
            result, seen, tries = h.counted(partial(quietly, h.followup, event, h.context))
            mails += sent_mail_count() - mails_before
            got = [(d["outcome"], d["reason"]) for d in result["decisions"]]
            want = ("send", None) if outcome == "sent" else ("suppress", outcome)
            if got != [want]:
                raise AssertionError(f"{name}: expected {want}, the handler decided {got}")
            counts.append(seen)
            attempts.append(tries)
            units.append(h.counter.window_units_by_operation)
        results.append(
            _summarise(
                name,
                counts,
                attempts,
                outcome=outcome,
                floor=floor,
                goal=goal,
                mails=mails,
                units=units,
                note=note,
            )
        )

    def by(kind: str) -> Callable[[int], tuple[dict[str, Any], None]]:
        def make(_: int) -> tuple[dict[str, Any], None]:
            s = h.seed(ada)
            ref = {"email": {"email": s.email}, "id": {"id": s.candidate_id}, "ref": {"ref": s.ref}}
            return behaviour_event(attended, ref[kind]), None

        return make

    # A running function: its services, clients and the token key (cached per process) are
    # there before the messages that are counted.
    warm, _ = by("email")(0)
    quietly(h.followup, warm, h.context)

    run("sent, candidate by email", by("email"), outcome="sent", floor=floors["sent"])
    run("sent, candidate by id", by("id"), outcome="sent", floor=floors["sent"])
    run(
        "sent, candidate by ref",
        by("ref"),
        outcome="sent",
        floor=floors["sent"],
        note="the design resolves a ref through its alias item, then the profile (2 reads)",
    )

    def no_consent(_: int) -> tuple[dict[str, Any], None]:
        s = h.seed(ada, consent=False)
        return behaviour_event(attended, {"email": s.email}), None

    run(
        "suppressed: no consent (by email)",
        no_consent,
        outcome="no_consent",
        floor=floors["suppressed"],
    )

    def unknown(i: int) -> tuple[dict[str, Any], None]:
        return behaviour_event(attended, {"email": f"nobody.{i}.{next(h._n)}@example.org"}), None

    run(
        "suppressed: unknown candidate (by email)",
        unknown,
        outcome="unknown_candidate",
        floor=floors["unknown"],
        note="no candidate, so no decision record: the floor is one read and the event",
    )

    def resend(_: int) -> tuple[dict[str, Any], Callable[[], None]]:
        s = h.seed(ada)
        first = behaviour_event(attended, {"email": s.email})
        again = behaviour_event(attended, {"email": s.email})  # same fact, new envelope id
        return again, lambda: quietly(h.followup, first, h.context)

    run(
        "suppressed: duplicate fact (producer resend)",
        resend,
        outcome="duplicate",
        floor=floors["suppressed"],
        note="the conditional write fails, then the existing decision is read",
    )

    run(
        "sent, by email, first message of a new execution environment",
        by("email"),
        outcome="sent",
        floor=floors["sent"],
        first_of_process=True,
        note="a new execution environment: its init (not counted here) reads the token key",
    )

    def redelivery(_: int) -> tuple[dict[str, Any], Callable[[], None]]:
        s = h.seed(ada)
        event = behaviour_event(attended, {"email": s.email})
        return event, lambda: quietly(h.followup, event, h.context)

    run(
        "redelivery of a sent message (same envelope)",
        redelivery,
        outcome="sent",
        floor=floors["suppressed"],
        goal=None,
        note="EventBridge redelivered: nothing is sent again, Message Sent is re-announced",
    )
    return results


JOURNEY_GROUP = "bench-timers"
# The event (fixtures.EVENT) starts 2026-12-03 17:30 UTC; the candidate is in Berlin.
REGISTERED_AT = "2026-11-30T11:00:00Z"


def _journeys(h: Harness, floors: dict[str, int]) -> list[dict[str, Any]]:
    """The event journey (templates/journeys/event.yaml) through the real journeys and
    journey_timer handlers: the registration (confirmation and the reminder's timer), the
    reminder's timer, the check-in it waits for, a check-in at another event while it waits
    (the catalogue's follow-up), and the check-in's timeout. The clock is
    fixed at the moment of each stimulus; what comes before it is not counted."""
    import boto3

    from talentops import wiring
    from talentops.clock import SYSTEM_CLOCK

    from .fixtures import envelope

    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name=JOURNEY_GROUP)
    os.environ.update(
        TIMER_GROUP=JOURNEY_GROUP,
        TIMER_QUEUE_ARN="arn:aws:sqs:eu-west-1:123456789012:bench-timers",
        SCHEDULER_ROLE_ARN="arn:aws:iam::123456789012:role/bench-scheduler",
    )
    wiring.reset()
    timer_handler = load_handler("journey_timer").handler
    ada = PERSONAS[0]
    results: list[dict[str, Any]] = []

    def at(moment: str) -> None:
        SYSTEM_CLOCK.fixed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        SYSTEM_CLOCK.offset = timedelta(0)

    def registered(s: Seeded) -> dict[str, Any]:
        return envelope(
            "Candidate Event Registered",
            {"candidate": {"email": s.email}, "observed_at": REGISTERED_AT, "event": EVENT},
        )

    def clear_schedules() -> None:
        for found in scheduler.list_schedules(GroupName=JOURNEY_GROUP)["Schedules"]:
            scheduler.delete_schedule(Name=found["Name"], GroupName=JOURNEY_GROUP)

    def fire() -> Callable[[], Any]:
        """The timer function, given the one pending schedule (deleted as it fires, as
        Scheduler's ActionAfterCompletion DELETE does, outside the function)."""
        [listed] = scheduler.list_schedules(GroupName=JOURNEY_GROUP)["Schedules"]
        schedule = scheduler.get_schedule(Name=listed["Name"], GroupName=JOURNEY_GROUP)
        scheduler.delete_schedule(Name=listed["Name"], GroupName=JOURNEY_GROUP)
        record = {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "r",
            "body": schedule["Target"]["Input"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": schedule["Target"]["Arn"],
            "awsRegion": REGION,
        }
        return partial(quietly, timer_handler, {"Records": [record]}, h.context)

    def run(
        name: str,
        make: Callable[[], tuple[Callable[[], Any], str]],
        *,
        goal: int,
        floor: int,
        note: str,
    ) -> None:
        counts, attempts, mails, units = [], [], 0, []
        for _ in range(MESSAGES_PER_SCENARIO):
            h.fresh_table()
            clear_schedules()
            invoke, want = make()
            mails_before = sent_mail_count()
            result, seen, tries = h.counted(invoke)
            mails += sent_mail_count() - mails_before
            if "batchItemFailures" in result:
                if result["batchItemFailures"]:
                    raise AssertionError(f"{name}: the timer failed: {result}")
            else:
                got = [(d["outcome"], d["template"]) for d in result["decisions"]]
                if got != [("send", want)]:
                    raise AssertionError(f"{name}: expected a send of {want}, got {got}")
            counts.append(seen)
            attempts.append(tries)
            units.append(h.counter.window_units_by_operation)
        if mails != MESSAGES_PER_SCENARIO:
            raise AssertionError(f"{name}: {mails} mails for {MESSAGES_PER_SCENARIO} stimuli")
        results.append(
            _summarise(
                name,
                counts,
                attempts,
                outcome="sent",
                floor=floor,
                goal=goal,
                mails=mails,
                units=units,
                note=note,
            )
        )

    def registration() -> tuple[Callable[[], Any], str]:
        s = h.seed(ada)
        at("2026-11-30T11:00:05Z")
        return partial(quietly, h.followup, registered(s), h.context), (
            "event_registration_confirmation"
        )

    def at_the_reminder() -> Any:
        """Ada registered, the clock at her reminder's timer (due, not yet fired)."""
        s = h.seed(ada)
        at("2026-11-30T11:00:05Z")
        quietly(h.followup, registered(s), h.context)
        at("2026-12-02T08:00:01Z")  # 09:00 in Berlin, the day before
        return s

    def reminder() -> tuple[Callable[[], Any], str]:
        at_the_reminder()
        return fire(), "event_reminder"

    def checked_in(event: dict[str, Any] | None = None) -> tuple[Callable[[], Any], str]:
        """A check-in while the instance waits: at its own event (no ``event``) or another."""
        s = at_the_reminder()
        quietly(fire())  # the reminder: the instance now waits for the check-in
        at("2026-12-03T19:00:05Z")  # 20:00 in Berlin: before the quiet hours
        fact = behaviour_event(
            "Candidate Event Attended",
            {"email": s.email},
            observed_at="2026-12-03T19:00:00Z",
            **({"event": event} if event else {}),
        )
        return partial(quietly, h.followup, fact, h.context), "event_attended_followup"

    def attended() -> tuple[Callable[[], Any], str]:
        return checked_in()

    def another_event() -> tuple[Callable[[], Any], str]:
        return checked_in({**EVENT, "id": "evt-another-2026"})

    def timeout() -> tuple[Callable[[], Any], str]:
        at_the_reminder()
        quietly(fire())
        at("2026-12-04T17:30:01Z")  # a day after the start: no check-in came
        return fire(), "event_no_show_followup"

    try:
        run(
            "journey: Registered -> confirmation + reminder timer (by email)",
            registration,
            goal=GOAL_PER_TRIGGERED_MESSAGE + 1,
            floor=floors["sent"] + 1,
            note="a send and a new wait: the floor adds one CreateSchedule",
        )
        run(
            "journey: timer -> reminder (and the check-in's timeout timer)",
            reminder,
            goal=GOAL_PER_TRIGGERED_MESSAGE + 1,
            floor=floors["sent"] + 1,
            note="the reminder starts the wait for the check-in: one CreateSchedule",
        )
        run(
            "journey: Attended that the journey waits for -> follow-up (by email)",
            attended,
            goal=GOAL_PER_TRIGGERED_MESSAGE,
            floor=floors["sent"],
            note="the check-in came: its timeout timer is deleted (DeleteSchedule)",
        )
        run(
            "journey: Attended at another event while the journey waits -> the catalogue's "
            "follow-up (by email)",
            another_event,
            goal=GOAL_PER_TRIGGERED_MESSAGE,
            floor=floors["sent"],
            note="no journey follows this event: its instance is read, not written",
        )
        run(
            "journey: check-in timeout -> no-show follow-up",
            timeout,
            goal=GOAL_PER_TRIGGERED_MESSAGE,
            floor=floors["sent"],
            note="",
        )
    finally:
        SYSTEM_CLOCK.fixed = None
        wiring.reset()
    return results


def _ingest(h: Harness) -> list[dict[str, Any]]:
    """Ingest costs, for information (no goal is set for them)."""
    out = []
    persona = PERSONAS[2]
    scenarios: dict[str, Callable[[int], dict[str, Any]]] = {}

    def new_profile(i: int) -> dict[str, Any]:
        email = f"new.{i}.{next(h._n)}@example.org"
        return profile_event({"email": email}, {"email": email, **persona.fields})

    def update(i: int) -> dict[str, Any]:
        s = h.seed(persona)
        return profile_event(
            {"email": s.email}, {"city": f"Leeds {i}"}, observed_at="2026-11-20T09:00:00Z"
        )

    def consent(_: int) -> dict[str, Any]:
        s = h.seed(persona, consent=False)
        return consent_event({"email": s.email}, "job_alerts", observed_at="2026-11-20T09:00:00Z")

    scenarios = {
        "profile fact, new candidate": new_profile,
        "profile fact, known candidate": update,
        "consent fact, known candidate": consent,
    }
    for name, make in scenarios.items():
        counts, attempts, units = [], [], []
        for i in range(MESSAGES_PER_SCENARIO):
            h.fresh_table()
            event = make(i)
            _, seen, tries = h.counted(partial(quietly, h.ingest, event, h.context))
            counts.append(seen)
            attempts.append(tries)
            units.append(h.counter.window_units_by_operation)
        out.append(
            _summarise(
                name,
                counts,
                attempts,
                outcome="ingested",
                floor=0,
                goal=None,
                mails=0,
                units=units,
            )
            | {"floor": None}
        )
    return out


@contextlib.contextmanager
def lambda_environment() -> Iterator[None]:
    """``AWS_EXECUTION_ENV`` as Lambda sets it, for the time of the measurement."""
    before = os.environ.get("AWS_EXECUTION_ENV")
    os.environ["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.12"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("AWS_EXECUTION_ENV", None)
        else:
            os.environ["AWS_EXECUTION_ENV"] = before


def run() -> dict[str, Any]:
    use_repository()
    apply_function_env()
    counter = RequestCounter(CapacityMeter(Table(TABLE, table_definition()), REGION))
    counter.install()
    from talentops import wiring

    wiring.reset()
    # Lambda's environment: the sending functions read the token key at init
    # (wiring.read_at_init), which every load_handler here runs outside the counts.
    with lambda_environment(), emulated_account():
        h = Harness(counter)
        silence_logs()
        floors = {
            "sent": _floor_reference(h, write=True, send=True),
            "suppressed": _floor_reference(h, write=True, send=False),
            # unknown candidate: one read and the event, no record and no send
            "unknown": _floor_reference(h, write=False, send=False),
        }
        triggered = _triggered(h, floors)
        journeys = _journeys(h, floors)
        ingest = _ingest(h)
        recipients = per_recipient.measure(counter)
    wiring.reset()
    return {
        "floor_reference": floors,
        "triggered": triggered,
        "journeys": journeys,
        "ingest": ingest,
        "per_recipient": recipients,
        "goal_per_triggered_message": GOAL_PER_TRIGGERED_MESSAGE,
        "goal_per_recipient_besides_send": per_recipient.GOAL_BESIDES_SEND,
    }

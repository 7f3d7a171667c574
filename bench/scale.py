"""3. Scale: time per message against the size of the catalogue and of the candidate's
state, and (once a fan-out exists) the fan-out's peak memory against the pool.

Catalogue: synthetic catalogues of 10, 100 and 1,000 variants of one message, generated in a
temporary directory (each variant its own HTML and text template, extending the real layout),
with the variant that matches in the middle or last (the fallback). The per-message work is
the same as in cpu.py: decide + links + context + render; every size and position in one
interleaved group, as the ledger sizes are. Also reported: loading the
catalogue (validation and compilation of every template, paid at each cold start) and the
size of the decision record (its reasons name every variant that did not match).

Candidate state: a triggered message reads one partition by key (or the by_email index), so
the size of the pool enters the per-message path only through what one candidate's item
holds. Measured: profiles with 0, 10, 100 and 1,000 recent sends (the ledger kept on the
profile), read from the item and decided with a budget on the message's purpose, and the
item's size (which DynamoDB bills per 4 KB read and caps at 400 KB).

Journey history: the whole journeys handler (cpu.whole_handler) for candidates whose
partition holds 0, 10 and 50 ended event journeys, which every trigger about them reads.

Pool: the fan-out (job alerts) is where the pool size matters: one Job Opened through the
real fan-out service over pools of 1,000, 10,000 and 100,000 fitting candidates, with the
matching index served page by page from a generator (the pool itself takes no memory) and
the queue discarding what it is sent, the job item's writes accepted in memory (no emulator:
moto keeps copies of updated items, which would grow with the pages); tracemalloc's peak and
the CPU per candidate. Pages streamed means a flat peak.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from .capacity import item_size
from .common import (
    TEMPLATES,
    apply_function_env,
    calibrate,
    median,
    silence_logs,
    time_interleaved,
    use_repository,
)
from .fixtures import PERSONAS, Persona

CATALOGUE_SIZES = (10, 100, 1000)
RECENT_SENDS = (0, 10, 100, 1000)
POOL_SIZES = (1_000, 10_000, 100_000)
FANOUT_REPEATS = 5
FLAT = 1.2  # the bench's reading of "flat": largest / smallest at most this
MESSAGE = "event_attended_followup"
TRIGGER = "Candidate Event Attended"


def write_catalogue(root: Path, variants: int) -> None:
    """A catalogue of one message with `variants` variants; variant i < n-1 holds for
    role_family family_<i>, the last is the fallback."""
    email = root / "email"
    (email / "scale").mkdir(parents=True)
    for name in ("_layout.html", "_layout.txt", "_macros.html"):
        shutil.copy(TEMPLATES / "email" / name, email / name)
    html = (TEMPLATES / "email" / MESSAGE / "default.html").read_text(encoding="utf-8")
    text = (TEMPLATES / "email" / MESSAGE / "default.txt").read_text(encoding="utf-8")
    entries = []
    for i in range(variants):
        tag = f"v{i:04d}"
        (email / "scale" / f"{tag}.html").write_text(
            html.replace("Thanks for coming to", f"Thanks ({tag}) for coming to"),
            encoding="utf-8",
        )
        (email / "scale" / f"{tag}.txt").write_text(
            text.replace("Thank you for joining", f"Thank you ({tag}) for joining"),
            encoding="utf-8",
        )
        entry: dict[str, Any] = {
            "name": tag,
            "subject": f"Thanks for coming to {{{{ event.name }}}} ({tag})",
            "html": f"email/scale/{tag}.html",
            "text": f"email/scale/{tag}.txt",
        }
        if i < variants - 1:
            entry["rules"] = [
                {"field": "candidate.role_family", "op": "eq", "value": f"family_{i:04d}"}
            ]
        entries.append(entry)
    catalogue = {
        "version": 1,
        "messages": {MESSAGE: {"purpose": "events", "triggers": [TRIGGER], "variants": entries}},
    }
    (root / "catalogue.yaml").write_text(yaml.safe_dump(catalogue), encoding="utf-8")


def _persona(role_family: str) -> Persona:
    base = PERSONAS[3]  # IE, English, events consent granted
    return replace(
        base, key=f"scale-{role_family}", fields={**base.fields, "role_family": role_family}
    )


def catalogue_scale(repeats: int) -> dict[str, Any]:
    """Every catalogue size and position measured in one interleaved group (each repeat runs
    them all in turn), so that a slow phase of the machine touches the smallest and the
    largest alike; the ratio of a position is the median of the repeats' ratios. The loads
    of the catalogues are interleaved the same way (one load a case, each repeat)."""
    from talentops.content.catalogue import Catalogue, compile_catalogue_file
    from talentops.delivery.decide import decide

    from . import cpu

    cases: dict[str, Any] = {}
    loads: dict[str, Any] = {}
    found: dict[tuple[int, str], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-catalogue-") as tmp:
        for n in CATALOGUE_SIZES:
            root = Path(tmp) / f"n{n}"
            write_catalogue(root, n)
            compile_catalogue_file(root)  # as `make build` ships it
            loads[f"load {n}"] = functools.partial(Catalogue.load, root)
            loaded = Catalogue.load(root)
            for position, family in (("middle", f"family_{n // 2:04d}"), ("last", "data")):
                setup = cpu._setup(root, (_persona(family),), catalogue=loaded)
                [message] = setup.messages
                expected = f"v{n // 2:04d}" if position == "middle" else f"v{n - 1:04d}"
                if message.variant.name != expected:
                    raise AssertionError(f"expected variant {expected}, got {message.variant.name}")
                record = decide(
                    fact=message.fact,
                    profile=message.profile,
                    template=message.template,
                    spec=message.spec,
                    policy=setup.policy,
                    now=cpu.NOW,
                    caps=setup.caps,
                ).decision
                cases[f"{position} {n}"] = cpu.steps(setup)["product"]
                found[(n, position)] = {
                    "matching_index": int(expected[1:]),
                    "decision_record_bytes": len(json.dumps(record.model_dump(mode="json"))),
                }
        iterations = max(calibrate(fn, target_s=0.04) for fn in cases.values())
        timings = time_interleaved(cases, iterations=iterations, repeats=repeats)
        load_timings = time_interleaved(loads, iterations=1, repeats=repeats)
    rows = [
        {
            "variants": n,
            "position": position,
            **found[(n, position)],
            "us_per_message": median(timings[f"{position} {n}"]) / 1000,
            "catalogue_load_ms": median(load_timings[f"load {n}"]) / 1e6,
        }
        for (n, position) in found
    ]
    small, large = CATALOGUE_SIZES[0], CATALOGUE_SIZES[-1]
    ratios = {
        position: median(
            [
                b / a
                for a, b in zip(
                    timings[f"{position} {small}"], timings[f"{position} {large}"], strict=True
                )
            ]
        )
        for position in ("last", "middle")
    }
    return {"rows": rows, "ratios": ratios, "interleaved": True}


def state_scale(repeats: int) -> dict[str, Any]:
    """Every ledger size measured in one interleaved group (each repeat runs them all in
    turn), so that a slow phase of the machine touches the baseline and the largest alike;
    the ratio is the median of the repeats' ratios."""
    from talentops.delivery.decide import FrequencyCap

    from . import cpu

    # A budget on the message's own purpose, so that decide scans the ledger; a limit no
    # profile reaches, so that the message is still sent and rendered.
    caps = {"events": FrequencyCap(limit=1_000_000, window=timedelta(days=7))}
    setups = {}
    cases: dict[str, Any] = {}
    for recent in RECENT_SENDS:
        setup = cpu._setup(TEMPLATES, (PERSONAS[3],), recent_sends=kept_after(recent), caps=caps)
        steps = cpu.steps(setup)
        setups[recent] = setup
        cases[f"read_item {recent}"] = steps["profile_item"]
        cases[f"decide_render {recent}"] = steps["product"]
    n = max(calibrate(fn, target_s=0.04) for fn in cases.values())
    timings = time_interleaved(cases, iterations=n, repeats=repeats)

    def per_message(recent: int) -> list[float]:
        return [
            (r + d) / 1000
            for r, d in zip(
                timings[f"read_item {recent}"], timings[f"decide_render {recent}"], strict=True
            )
        ]

    rows = []
    for recent in RECENT_SENDS:
        item = setups[recent].messages[0].item
        size = len(json.dumps(item, separators=(",", ":")).encode())
        read_us = median(timings[f"read_item {recent}"]) / 1000
        decide_us = median(timings[f"decide_render {recent}"]) / 1000
        rows.append(
            {
                "recent_sends": recent,
                "ledger_kept": kept_after(recent),
                "item_bytes": size,
                "read_units_eventually_consistent": 0.5 * math.ceil(size / 4096),
                "read_item_us": read_us,
                "decide_render_us": decide_us,
                "us_per_message": median(per_message(recent)),
            }
        )
    ratios = [
        big / small
        for big, small in zip(
            per_message(RECENT_SENDS[-1]), per_message(RECENT_SENDS[0]), strict=True
        )
    ]
    first, last = rows[0], rows[-1]
    return {
        "rows": rows,
        "ratio": median(ratios),
        "item_ratio": last["item_bytes"] / first["item_bytes"],
        "ratio_of": f"{last['recent_sends']} vs {first['recent_sends']} past sends",
        "note": (
            "the item size is the JSON of its DynamoDB attribute values, an approximation of "
            "DynamoDB's own size; past sends one every 6 hours, the ledger as the write path "
            f"leaves it (each send's write removes the traces older than the "
            f"{LEDGER_WINDOW.days}-day window, delivery.ledger): {last['ledger_kept']} traces "
            f"kept of {last['recent_sends']}"
        ),
    }


# -- journey history: the ended instances a trigger reads -----------------------------------

JOURNEY_HISTORY = (0, 10, 50)


@functools.cache
def _event_journey() -> Any:
    """The shipped event journey (read once for every history the bench plays)."""
    from talentops.content.catalogue import Catalogue
    from talentops.journeys.loader import load_journeys, messages_of

    messages = messages_of(Catalogue.load(TEMPLATES))
    return next(j for j in load_journeys(TEMPLATES / "journeys", messages) if j.name == "event")


def ended_event_journeys(profile: Any, count: int) -> tuple[list[dict[str, Any]], set[str]]:
    """``count`` event journeys that ``profile``'s candidate went through to the end, played
    by the engine (registered a week ahead, reminded, checked in, thanked), one a month up
    to the month before the bench's trigger (2026-12-03), stored by the journeys adapter's
    own ``instance_items``: the items of the candidate's partition (what a trigger reads
    of an ended instance and its item in full, which it does not); and what the profile's
    summary of them holds (``listens_of`` each, as the write that created it added)."""
    from datetime import UTC, datetime

    from talentops.adapters.journeys import instance_items
    from talentops.journeys.engine import CandidateEvent, TimerFired, advance, listens_of, start

    from .fixtures import EVENT

    journey = _event_journey()
    items = []
    listens: set[str] = set()
    for i in range(count):
        starts = datetime(2026, 11, 3, 17, 30, tzinfo=UTC) - timedelta(days=30 * (count - 1 - i))
        event = {**EVENT, "id": f"evt-past-{i:03d}", "starts_at": starts.isoformat()}
        registered = starts - timedelta(days=7)

        def fact(kind: str, at: datetime, n: int = i, payload: Any = event) -> CandidateEvent:
            return CandidateEvent(
                kind, f"e-{kind[16:20]}-{n}", at, payload["id"], {"event": payload}
            )

        t = start(
            journey,
            candidate_id=profile.candidate_id,
            profile=profile,
            stimulus=fact("Candidate Event Registered", registered),
            now=registered,
        )
        assert t is not None and t.instance is not None, "the event journey did not start"
        instance = t.instance
        waiting = instance.waiting
        assert waiting is not None
        t = advance(
            journey,
            instance,
            profile=profile,
            stimulus=TimerFired(instance.instance_id, waiting.timer_id),
            now=waiting.until,
        )
        attended = starts + timedelta(hours=1)
        t = advance(
            journey,
            t.instance,  # type: ignore[arg-type]
            profile=profile,
            stimulus=fact("Candidate Event Attended", attended),
            now=attended,
        )
        done = t.instance
        assert done is not None and done.status == "completed", done
        data = done.model_dump(mode="json")
        items += instance_items(
            profile.candidate_id, done.instance_id, data, done.seq, outbox=[], ended=True
        )
        listens |= listens_of(journey, t.instance)  # type: ignore[arg-type]
    return items, listens


def journey_scale(repeats: int) -> dict[str, Any]:
    """The whole journeys handler (cpu.whole_handler: the EventBridge event to its last AWS
    call, AWS answered in memory) for the check-ins and no-shows of cpu.handler_messages,
    which the catalogue follows up, for candidates whose partition holds 0, 10 and 50 ended
    event journeys, their profile counting and listing them as the journeys adapter keeps it
    (``journey_items``, ``journey_listens``). A trigger that an instance may hear reads the
    candidate's journey instances, ended ones as their summaries (re-entry and a late
    event's owner are decided from them; the instance in full sorts outside the range it
    reads); one that none hears (``needs_instances``: the bench's check-ins are at other
    events) reads none. With the summary made unknown (as on a profile from before it, or a
    survivor of a merge), the same triggers read them all: the case "unknown". One
    interleaved group; the ratio is the median of the repeats'."""
    from talentops.models.state import JOURNEYS_LISTED

    from . import cpu

    setup = cpu._setup()
    messages = cpu.handler_messages(setup)
    played = {
        count: {m.item["pk"]["S"]: ended_event_journeys(m.profile, count) for m in messages}
        for count in JOURNEY_HISTORY
    }
    # The cases: each count with the profile's summary as the write path leaves it, and the
    # largest with the summary unknown (every trigger reads the instances).
    kinds = [(count, True) for count in JOURNEY_HISTORY] + [(JOURNEY_HISTORY[-1], False)]

    def label(count: int, listed: bool) -> str:
        return f"handler {count}" + ("" if listed else " unknown")

    # One handler, as a warm Lambda holds it; each case points the fakes at its candidates:
    # their profiles (counting their journeys) by id and by address, and their histories.
    call, _ = cpu.whole_handler(setup)
    fake = call.fake  # type: ignore[attr-defined]
    answers = {}
    for count, listed in kinds:
        counted = []
        for m in messages:
            item = {**m.item, "journey_items": {"N": str(count)}}
            if listed:
                listens = sorted({JOURNEYS_LISTED, *played[count][m.item["pk"]["S"]][1]})
                item["journey_listens"] = {"SS": listens}
            else:  # a profile from before the list (or a merge's survivor): none at all
                item.pop("journey_listens", None)
            counted.append(item)
        answers[label(count, listed)] = (
            {i["pk"]["S"]: i for i in counted},
            {i["email_norm"]["S"]: i for i in counted},
            {pk: items for pk, (items, _) in played[count].items()},
        )

    def case(name: str) -> Any:
        def run() -> object:
            fake.by_pk, fake.by_email, fake.journeys = answers[name]
            return call()

        return run

    cases = {label(*kind): case(label(*kind)) for kind in kinds}
    rows = []
    try:
        for count, listed in kinds:
            fake.items_read = 0
            fake.calls.clear()
            for _ in messages:
                cases[label(count, listed)]()
            items, _ = next(iter(played[count].values()))
            stored = [i for i in items if i["sk"]["S"].startswith("JOURNEY#")]  # a trigger's
            read = fake.items_read / len(messages)
            size = sum(item_size(i) for i in stored) if read else 0
            rows.append(
                {
                    "ended_journeys": count,
                    "summary": "listed" if listed else "unknown",
                    "instance_bytes": size,
                    "stored_bytes": sum(item_size(i) for i in items),
                    "read_units_consistent": math.ceil(size / 4096),
                    "items_read_per_message": read,
                    "aws_calls_per_message": sum(fake.calls.values()) / len(messages),
                }
            )
        n = max(calibrate(fn, target_s=0.04) for fn in cases.values())
        n = max(n - n % len(messages), len(messages))
        timings = time_interleaved(cases, iterations=n, repeats=repeats)
    finally:
        call.close()  # type: ignore[attr-defined]
    for row, kind in zip(rows, kinds, strict=True):
        row["us_per_message"] = median(timings[label(*kind)]) / 1000

    def ratio(big: str, small: str) -> float:
        return median(b / s for b, s in zip(timings[big], timings[small], strict=True))

    smallest, largest = label(JOURNEY_HISTORY[0], True), label(JOURNEY_HISTORY[-1], True)
    return {
        "rows": rows,
        "ratio": ratio(largest, smallest),
        "ratio_of": f"{JOURNEY_HISTORY[-1]} vs {JOURNEY_HISTORY[0]} ended journeys",
        "ratio_unknown": ratio(label(JOURNEY_HISTORY[-1], False), smallest),
        "note": (
            "each ended journey as the event journey leaves it (registered, reminded, checked "
            "in, thanked), stored by the journeys adapter; sizes as DynamoDB bills them; a "
            "consistent Query costs a read unit per 4 KB it returns"
        ),
    }


LEDGER_WINDOW = timedelta(days=7)  # the default configuration's longest window


def kept_after(sends: int) -> int:
    """How many traces the profile holds after ``sends`` sends one every 6 hours (the
    fixture's spacing), each write removing what ``delivery.ledger.outdated`` names from
    the ledger as read, and the next send's read (now) holding what is left."""
    from talentops.delivery.ledger import outdated
    from talentops.models.state import SentRecord

    from .fixtures import NOW

    held: dict[str, SentRecord] = {}
    for i in reversed(range(sends)):  # oldest first
        at = NOW - timedelta(hours=6 * (i + 1))
        for key in outdated(held, at, LEDGER_WINDOW):
            del held[key]
        held[str(i)] = SentRecord(at=at, purpose="events", template="t")
    return len(held)


# -- the fan-out: peak memory and time per candidate against the pool -----------------------


class VirtualPool:
    """DynamoDB for the fan-out, in memory and keeping nothing: the matching index of a pool
    of `size` candidates who all fit, served page by page as Query returns it (keys only) and
    generated on demand, so that the pool itself takes no memory; the job item's writes
    (UpdateItem) accepted and forgotten. Any other call fails the run (the fan-out changed:
    teach the bench)."""

    def __init__(self, size: int):
        self.size = size
        self.queries = 0
        self.updates = 0

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.updates += 1
        return {}

    def query(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("IndexName") not in ("by_role_city", "by_role"):
            raise AssertionError(f"the fan-out queried {kwargs.get('IndexName')}: not modelled")
        self.queries += 1
        attribute = kwargs["ExpressionAttributeNames"]["#p"]
        partition = kwargs["ExpressionAttributeValues"][":p"]["S"]
        start = kwargs.get("ExclusiveStartKey")
        first = int(start["pk"]["S"].removeprefix("CAND#c_pool")) + 1 if start else 0
        last = min(first + int(kwargs["Limit"]), self.size)

        def key(i: int) -> dict[str, Any]:
            return {
                "pk": {"S": f"CAND#c_pool{i:09d}"},
                "sk": {"S": "PROFILE"},
                attribute: {"S": partition},
                "match_level": {"N": "2"},
            }

        items = [key(i) for i in range(first, last)]
        out: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if last < self.size:
            out["LastEvaluatedKey"] = key(last - 1)
        return out


class DiscardingQueue:
    """SQS that accepts every message and keeps none (the worker's side is not measured
    here), counting what it was sent."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.messages += len(Entries)
        self.bytes += sum(len(e["MessageBody"]) for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def fanout_peak_memory(pool_size: int, city: str | None = None) -> dict[str, Any]:
    """One Job Opened through the real fan-out service (job_alerts.fanout) over a pool of
    `pool_size` fitting candidates: peak memory (tracemalloc) and CPU per candidate. The
    matching index is served by VirtualPool, the queue by DiscardingQueue, the job item by
    the emulated table: what grows with the pool can only be the fan-out's own state."""
    import dataclasses
    import gc
    import tracemalloc

    from talentops.adapters.job_store import JobRepository
    from talentops.adapters.listings import ListingsRepository
    from talentops.adapters.queue import QueueSender
    from talentops.adapters.talent_pool import TalentPoolRepository
    from talentops.job_alerts import wiring as job_wiring
    from talentops.models.events import parse_event

    from .common import TABLE
    from .per_recipient import _job_opened

    def one(job_city: str, *, traced: bool) -> tuple[Any, DiscardingQueue, int, int]:
        pool = VirtualPool(pool_size)
        queue = DiscardingQueue()
        service = dataclasses.replace(
            job_wiring.fanout_service(),
            jobs=JobRepository(TABLE, dynamodb=pool),
            listings=ListingsRepository(TABLE, dynamodb=pool),
            pool=TalentPoolRepository(TABLE, dynamodb=pool),
            queue=QueueSender("bench-queue", sqs=queue),
        )
        envelope, detail = parse_event(_job_opened(job_city))
        gc.collect()
        gc.freeze()  # the bench's own heap (moto, earlier modules) out of the collector's way
        if traced:
            tracemalloc.start()
        start = time.process_time_ns()
        result = service.open_job(detail, envelope.id)  # type: ignore[arg-type]
        cpu_ns = time.process_time_ns() - start
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
        gc.unfreeze()
        if result.status != "done" or result.enqueued != pool_size:
            raise AssertionError(f"fan-out over {pool_size}: {result}")
        return result, queue, cpu_ns, peak

    city = city or f"Pool{pool_size}"
    times = []
    for i in range(FANOUT_REPEATS):  # the time, without tracemalloc, a new job each time
        result, queue, cpu_ns, _ = one(f"{city}R{i}", traced=False)
        times.append(cpu_ns)
    _, _, _, peak = one(f"{city}Traced", traced=True)  # the memory, another job
    return {
        "pool": pool_size,
        "status": "measured",
        "pages": result.pages,
        "queue_messages": queue.messages,
        "queued_mb": queue.bytes / 1e6,
        "peak_kb": peak / 1024,
        "us_per_candidate": median(times) / 1000 / pool_size,
        "note": f"CPU time: median of {FANOUT_REPEATS} fan-outs without tracemalloc; peak: "
        "tracemalloc in one more; all after a warm-up fan-out",
    }


def fanout_scale() -> list[dict[str, Any]]:
    from . import per_recipient

    present = per_recipient.fanout_code_present()
    if "talentops/job_alerts" not in present:
        return [
            {"pool": n, "status": "not yet measurable", "note": "no fan-out exists yet"}
            for n in POOL_SIZES
        ]
    import os

    from talentops.job_alerts import wiring as job_wiring

    os.environ.setdefault("JOB_ALERT_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/none")
    job_wiring.reset()
    silence_logs()
    # A running function has its imports and caches: a first fan-out makes them.
    fanout_peak_memory(POOL_SIZES[0], city="Warmup")
    return [fanout_peak_memory(n) for n in POOL_SIZES]


def run(*, repeats: int = 5) -> dict[str, Any]:
    use_repository()
    apply_function_env()
    silence_logs()
    catalogue = catalogue_scale(repeats)
    state = state_scale(repeats)
    journeys = journey_scale(repeats)
    try:
        fanout = fanout_scale()
    except Exception as exc:  # a fan-out under construction: report it, keep the rest
        fanout = [
            {"pool": n, "status": "error", "note": f"{type(exc).__name__}: {str(exc)[:300]}"}
            for n in POOL_SIZES
        ]
    return {
        "catalogue": catalogue,
        "state": state,
        "journeys": journeys,
        "fanout_memory": fanout,
        "flat_threshold": FLAT,
        "catalogue_flat": all(r <= FLAT for r in catalogue["ratios"].values()),
        "state_flat": state["ratio"] <= FLAT,
    }

"""Campaigns at any pool size: the preview and the launch's fan-out over 1,000 to 1,000,000
profiles, through the real code, and what that makes on AWS.

The pool is served by ``PoolStandIn``, an in-memory stand-in for DynamoDB's Scan of the
by_email index: profiles generated on demand from 150 prototype items (real profile items,
as ingest writes them: 2 % of them in the campaign's segment, consent granted, missing or
withdrawn, a few past sends), cut into 1 MB pages by the prototype's item size, split into
the segments of a parallel Scan (profile i in segment i mod TotalSegments), with the
ProjectionExpression applied. The pool itself takes no memory. The campaign's own items
(META, a preview's parts and result) are kept in a dict by ``BenchCampaigns``, a
CampaignRepository whose pool Scan is the real one (``pool_scan``: the request, the
projection, every profile parsed into the model); the queue counts and discards.

Measured for each size, after a warm-up at the smallest:

- preview: every segment of the parallel Scan (16, as deployed) through
  ``PreviewWorker.segment`` one after the other (on AWS they run side by side), then the
  merge; CPU per profile (process time, without tracemalloc), and the peak of one
  segment's worker (tracemalloc, segment 0 again), the memory one Lambda needs;
- fan-out: ``CampaignWorker.fanout`` over the whole pool (one Scan from the first page to
  the last, as the launch does), queueing the 2 % in full messages of 100; CPU per profile
  and peak.

Then, on paper, for AWS: pages (1 MB each), read units (eventually consistent Scan: 0.5 unit
per 4 KB read), and the preview's wall time at 16 segments side by side = the largest
segment's pages x (the page request's latency + the CPU of its profiles at the measured
rate). Assumptions (printed with the figures): the prototype's item size, 1 MB pages, 10 ms
a page request, the worker's 512 MB of memory giving it 512/1769 of a vCPU as fast as this
machine's core.

    python -m bench.campaign_scale                   # 1,000 to 1,000,000 (about 5 minutes)
    python -m bench.campaign_scale --max 100000      # up to 100,000 (about 35 s)
    CAMPAIGN_BENCH_MAX=100000 python -m bench --only campaign_scale --no-doc
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .common import TABLE, apply_function_env, silence_logs, use_repository

SIZES = (1_000, 10_000, 100_000, 1_000_000)
# The largest pool measured unless asked (--max, CAMPAIGN_BENCH_MAX): every size the issue
# names, 1,000,000 included (about 5 minutes here on 2 shared cores, most of it the fan-out
# under tracemalloc).
DEFAULT_MAX = 1_000_000
SEGMENTS = 16  # the preview's default (campaigns.preview_job.PREVIEW_SEGMENTS)
PAGE_BYTES = 1024 * 1024  # a Scan page
READ_UNIT_BYTES = 4096
PAGE_LATENCY_S = 0.010  # assumed: one Scan page request, DynamoDB to Lambda
LAMBDA_MEMORY_MB = 512  # template.yaml's Globals: the campaign worker's memory
LAMBDA_CPU_SHARE = LAMBDA_MEMORY_MB / 1769  # Lambda gives one vCPU at 1,769 MB
GOAL_PREVIEW_S = 60.0  # a 1,000,000-candidate preview
PROTOTYPES = 150
IN_SEGMENT_EVERY = 50  # 2 %
FLAT = 1.2  # the bench's reading of "flat" (bench/scale.py)
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Berlin and Dublin
CAMPAIGN = {
    "name": "Bench: data",
    "purpose": "marketing",
    "segment": [
        {"field": "candidate.role_family", "op": "eq", "value": "data"},
        {"field": "country", "op": "in", "value": ["DE", "IE"]},
    ],
    "content": {"template": "spring_hiring"},
}


# -- the pool -------------------------------------------------------------------------------


def prototype_items() -> list[dict[str, Any]]:
    """Profile items as ingest writes them (tests/support/job_alerts.put_profiles): profile
    p is in the segment when p % 50 == 0 (data, DE or IE); consent granted, missing or
    withdrawn; 0 to 2 past sends."""
    from talentops.adapters.dynamo import to_item
    from talentops.adapters.talent_pool import match_attributes
    from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord

    at = NOW - timedelta(days=30)
    items = []
    for p in range(PROTOTYPES):
        profile = Profile(candidate_id=f"c_proto{p:05d}", created_at=at)
        fields = {
            "email": f"proto{p}@example.org",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": ("DE", "IE")[p % 2] if p % IN_SEGMENT_EVERY == 0 else "FR",
            "city": ("Berlin", "Dublin")[p % 2],
            "role_family": "data" if p % IN_SEGMENT_EVERY == 0 else "design",
            "seniority": ("junior", "mid", "senior")[p % 3],
            "language": ("en-GB", "de-DE")[p % 2],
            "timezone": ("Europe/Berlin", "Europe/Dublin")[p % 2],
        }
        for name, value in fields.items():
            profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=at)
        status = ("granted", "granted", None, "withdrawn")[(p // 7) % 4]
        if status:
            profile.consent["marketing"] = ConsentState(
                status=status, source="talent.crm", observed_at=at
            )
        for k in range(p % 3):
            profile.recent[f"earlier{k}"] = SentRecord(
                at=NOW - timedelta(days=10 + k), purpose="events", template="earlier"
            )
        data = profile.model_dump(mode="json")
        data.update(version=1, email_norm=profile.email.lower(), **match_attributes(profile))
        items.append(to_item({"pk": f"CAND#{profile.candidate_id}", "sk": "PROFILE", **data}))
    return items


def item_bytes(item: Mapping[str, Any]) -> int:
    """The item's size, approximated as the JSON of its attribute values (bench/scale.py)."""
    return len(json.dumps(item, separators=(",", ":")).encode())


class PoolStandIn:
    """DynamoDB's Scan of the by_email index over ``size`` profiles, generated on demand.
    Any other call fails the run (the code changed: teach the bench)."""

    def __init__(self, size: int, prototypes: list[dict[str, Any]]):
        self.size = size
        self.prototypes = prototypes
        self.item_size = max(item_bytes(i) for i in prototypes)
        self.per_page = max(1, PAGE_BYTES // self.item_size)
        self.scans = 0
        self.returned = 0
        self._projected: dict[str, list[dict[str, Any]]] = {}

    def _protos(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        expression = kwargs.get("ProjectionExpression")
        if not expression:
            return self.prototypes
        if expression not in self._projected:
            names = kwargs["ExpressionAttributeNames"]
            whole: set[str] = set()
            inner: dict[str, set[str]] = {}
            for path in expression.split(","):
                parts = [names[a] for a in path.strip().split(".")]
                if len(parts) == 1:
                    whole.add(parts[0])
                elif len(parts) == 2:
                    inner.setdefault(parts[0], set()).add(parts[1])
                else:
                    raise AssertionError(f"a projection the bench does not model: {path}")
            projected = []
            for proto in self.prototypes:
                item = {k: v for k, v in proto.items() if k in whole}
                for top, subs in inner.items():
                    if top in proto and top not in whole:
                        kept = {k: v for k, v in proto[top]["M"].items() if k in subs}
                        item[top] = {"M": kept}
                projected.append(item)
            self._projected[expression] = projected
        return self._projected[expression]

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("IndexName") != "by_email" or "FilterExpression" in kwargs:
            raise AssertionError(f"a Scan the bench does not model: {sorted(kwargs)}")
        self.scans += 1
        segment, total = kwargs.get("Segment", 0), kwargs.get("TotalSegments", 1)
        start = kwargs.get("ExclusiveStartKey")
        first = int(start["pk"]["S"].removeprefix("CAND#c_pool")) + total if start else segment
        limit = min(self.per_page, kwargs.get("Limit") or self.per_page)
        protos = self._protos(kwargs)
        items = []
        i = first
        while i < self.size and len(items) < limit:
            item = dict(protos[i % PROTOTYPES])
            cid = f"c_pool{i:09d}"
            item["pk"] = {"S": f"CAND#{cid}"}
            item["candidate_id"] = {"S": cid}
            item["email_norm"] = {"S": f"pool{i}@example.org"}
            items.append(item)
            i += total
        self.returned += len(items)
        out: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if i < self.size:
            last = items[-1]
            out["LastEvaluatedKey"] = {k: last[k] for k in ("email_norm", "pk", "sk")}
        return out


class DiscardingQueue:
    """SQS that accepts every message and keeps none, counting what it was sent."""

    def __init__(self) -> None:
        self.batches = 0
        self.messages = 0
        self.candidates = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.batches += 1
        self.messages += len(Entries)
        for entry in Entries:
            self.candidates += len(json.loads(entry["MessageBody"]).get("candidates", []))
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def bench_campaigns(pool: PoolStandIn) -> Any:
    """A CampaignRepository whose pool Scan is the real one against ``pool``, the campaign's
    own items in a dict (what they cost on AWS is counted: ``calls``)."""
    from talentops.adapters.campaigns import CampaignRecord, CampaignRepository, PreviewState
    from talentops.adapters.dynamo import to_item

    class BenchCampaigns(CampaignRepository):
        def __init__(self) -> None:
            super().__init__(TABLE, dynamodb=pool)
            self.meta: dict[str, Any] = {}
            self.parts: dict[str, dict[str, Any]] = {}
            self.result: dict[str, Any] | None = None
            self.calls: Counter[str] = Counter()

        def put_campaign(self, campaign_id: str, definition: dict[str, Any], status: str) -> None:
            self.meta = {
                "campaign_id": campaign_id,
                "definition": json.dumps(definition),
                "fingerprint": campaign_id.removeprefix("cmp_"),
                "created_at": NOW.isoformat(),
                "status": status,
            }

        def get(self, campaign_id: str) -> CampaignRecord | None:
            self.calls["GetItem"] += 1
            return CampaignRecord.from_item(to_item(self.meta))

        def status_of(self, campaign_id: str) -> str | None:
            self.calls["GetItem"] += 1  # the fan-out reads the status before each batch
            return str(self.meta["status"]) if "status" in self.meta else None

        def start_preview(self, campaign_id: str, **kw: Any) -> bool:
            self.calls["UpdateItem"] += 1
            self.meta.update(
                preview_run=kw["run"],
                preview_state="running",
                preview_started_at=kw["started_at"].isoformat(),
                preview_at=kw["at"].isoformat(),
                preview_segments=kw["segments"],
                preview_progress={},
                preview_done=set(),
            )
            return True

        def _state(self) -> PreviewState | None:
            return PreviewState.from_data(self.meta)

        def preview_progress(self, campaign_id: str, run: str, segment: int, scanned: int) -> bool:
            self.calls["UpdateItem"] += 1
            self.meta["preview_progress"][str(segment)] = scanned
            return True

        def finish_preview_part(self, campaign_id: str, run: str, **kw: Any) -> PreviewState:
            self.calls["PutItem"] += 1
            self.calls["UpdateItem"] += 1
            self.parts[f"{kw['segment']:04d}#{kw['chunk']:04d}"] = json.loads(
                json.dumps(kw["part"])
            )
            self.meta["preview_progress"][str(kw["segment"])] = kw["scanned"]
            if kw["last"]:
                self.meta["preview_done"].add(kw["segment"])
            state = self._state()
            assert state is not None
            return state

        def preview_parts(self, campaign_id: str, run: str) -> list[tuple[str, dict[str, Any]]]:
            self.calls["Query"] += 1
            return sorted(self.parts.items())

        def save_preview(self, campaign_id: str, run: str, result: Any, **kw: Any) -> bool:
            self.calls["PutItem"] += 1
            self.calls["UpdateItem"] += 1
            self.calls["BatchWriteItem"] += math.ceil(len(kw["parts"]) / 25)
            self.result = json.loads(json.dumps(result, default=str))
            self.meta["preview_state"] = "done"
            return True

        def save_progress(self, campaign_id: str, **kw: Any) -> None:
            self.calls["UpdateItem"] += 1
            for name in ("queued", "scanned", "messages"):
                self.meta[name] = self.meta.get(name, 0) + kw[name]
            self.meta["fanout_pages"] = self.meta.get("fanout_pages", 0) + kw["pages"]
            if kw["cursor"]:
                self.meta["fanout_cursor"] = kw["cursor"]
            else:
                self.meta.pop("fanout_cursor", None)
                self.meta["status"] = "launched"

    return BenchCampaigns()


# -- one run --------------------------------------------------------------------------------


def _services(repo: Any, queue: DiscardingQueue) -> tuple[Any, Any]:
    import dataclasses

    from talentops.adapters.queue import QueueSender
    from talentops.campaigns import wiring

    sender = QueueSender("bench-queue", sqs=queue)
    preview = dataclasses.replace(
        wiring.preview_worker(), campaigns=repo, queue=lambda: sender, now=lambda: NOW
    )
    launch = dataclasses.replace(
        wiring.campaign_worker(), campaigns=repo, queue=sender, now=lambda: NOW
    )
    return preview, launch


def run_preview(size: int, prototypes: list[dict[str, Any]], *, traced: bool) -> dict[str, Any]:
    """The whole preview of a pool of ``size``: every segment, then the merge (by the last
    segment); CPU per segment. With ``traced``: segment 0 alone under tracemalloc, its
    worker's peak (what one Lambda of the preview holds; the segments are alike)."""
    import tracemalloc

    from talentops.campaigns.preview_job import PreviewMessage, new_run

    pool = PoolStandIn(size, prototypes)
    repo = bench_campaigns(pool)
    queue = DiscardingQueue()
    preview, _ = _services(repo, queue)
    campaign_id = "cmp_0123456789abcdef"
    repo.put_campaign(campaign_id, CAMPAIGN, "draft")
    run = new_run()
    repo.start_preview(campaign_id, run=run, started_at=NOW, at=NOW, segments=SEGMENTS)
    gc.collect()
    gc.freeze()  # the bench's own heap out of the collector's way (bench/scale.py)
    cpu: list[int] = []
    peaks: list[int] = []
    for segment in range(1 if traced else SEGMENTS):
        message = PreviewMessage(
            campaign_id=campaign_id, run=run, segment=segment, segments=SEGMENTS, at=NOW
        )
        if traced:
            tracemalloc.start()
        start = time.process_time_ns()
        report = preview.segment(message, lambda: 900.0)
        cpu.append(time.process_time_ns() - start)
        if traced:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        if report.status not in ("done", "merged"):
            raise AssertionError(f"preview segment {segment} of {size}: {report}")
    gc.unfreeze()
    if traced:
        return {"peak_bytes": max(peaks), "cpu_ns": sum(cpu)}
    result = repo.result
    expected = size // IN_SEGMENT_EVERY + (1 if size % IN_SEGMENT_EVERY else 0)
    if result is None or result["scanned"] != size or result["in_segment"] != expected:
        raise AssertionError(f"preview of {size}: {result and result['scanned']}")
    return {
        "cpu_ns": sum(cpu),
        "segment_cpu_ns": cpu,
        "scans": pool.scans,
        "calls": dict(repo.calls),
        "would_send": result["would_send"],
        "suppressed": result["suppressed"],
        "item_bytes": pool.item_size,
        "per_page": pool.per_page,
    }


def run_fanout(size: int, prototypes: list[dict[str, Any]], *, traced: bool) -> dict[str, Any]:
    import tracemalloc

    from talentops.campaigns.launch import CampaignMessage

    pool = PoolStandIn(size, prototypes)
    repo = bench_campaigns(pool)
    queue = DiscardingQueue()
    _, launch = _services(repo, queue)
    campaign_id = "cmp_0123456789abcdef"
    repo.put_campaign(campaign_id, CAMPAIGN, "launching")
    message = CampaignMessage(kind="fanout", campaign_id=campaign_id)
    gc.collect()
    gc.freeze()
    if traced:
        tracemalloc.start()
    start = time.process_time_ns()
    report = launch.fanout(message, lambda: 900.0)
    cpu = time.process_time_ns() - start
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    gc.unfreeze()
    expected = size // IN_SEGMENT_EVERY + (1 if size % IN_SEGMENT_EVERY else 0)
    if report.status != "done" or queue.candidates != expected or repo.meta["scanned"] != size:
        raise AssertionError(f"fan-out of {size}: {report}, {queue.candidates} queued")
    return {
        "cpu_ns": cpu,
        "peak_bytes": peak,
        "scans": pool.scans,
        "queue_messages": queue.messages,
        "queue_batches": queue.batches,
        "saves": repo.calls["UpdateItem"],
        "queued": queue.candidates,
    }


# -- on paper ---------------------------------------------------------------------------------


def on_aws(size: int, item_size: int, preview_us: float, fanout_us: float) -> dict[str, Any]:
    """What the pool of ``size`` makes on AWS, from the measured CPU per profile."""
    data = size * item_size
    pages = math.ceil(data / PAGE_BYTES)
    per_segment = math.ceil(size / SEGMENTS)
    segment_pages = math.ceil(per_segment * item_size / PAGE_BYTES)
    preview_s = segment_pages * PAGE_LATENCY_S + per_segment * preview_us / 1e6 / LAMBDA_CPU_SHARE
    fanout_s = pages * PAGE_LATENCY_S + size * fanout_us / 1e6 / LAMBDA_CPU_SHARE
    recipients = math.ceil(size / IN_SEGMENT_EVERY)
    return {
        "pool": size,
        "pages": pages,
        "read_units": math.ceil(data / READ_UNIT_BYTES) * 0.5,
        "segment_pages": segment_pages,
        "preview_wall_s": preview_s,
        "preview_goal_met": preview_s <= GOAL_PREVIEW_S if size >= 1_000_000 else None,
        "fanout_wall_s": fanout_s,
        "fanout_scans_per_recipient": pages / recipients,
        "fanout_other_per_recipient": (2 * math.ceil(recipients / 1000)) / recipients,
    }


# -- the module -------------------------------------------------------------------------------


def run(
    *, max_size: int | None = None, echo: Callable[[str], None] | None = None
) -> dict[str, Any]:
    use_repository()
    apply_function_env()
    os.environ.setdefault("CAMPAIGN_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/none")
    os.environ.setdefault("CAMPAIGN_PREVIEW_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/p")
    os.environ.setdefault("CAMPAIGN_QUEUE_ARN", "arn:aws:sqs:eu-west-1:1:none")
    os.environ.setdefault("CAMPAIGN_SCHEDULE_GROUP", "bench")
    os.environ.setdefault("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/none")
    from talentops.campaigns import wiring

    wiring.reset()
    wiring.preview_worker()  # the logger exists: silence it
    silence_logs()
    limit = max_size or int(os.environ.get("CAMPAIGN_BENCH_MAX", "0") or 0) or DEFAULT_MAX
    sizes = [n for n in SIZES if n <= limit]
    prototypes = prototype_items()
    say = echo or (lambda _line: None)
    run_preview(SIZES[0], prototypes, traced=False)  # warm-up: imports, caches
    run_fanout(SIZES[0], prototypes, traced=False)
    rows = []
    for size in sizes:
        started = time.perf_counter()
        preview = run_preview(size, prototypes, traced=False)
        fanout = run_fanout(size, prototypes, traced=False)
        preview_peak = run_preview(size, prototypes, traced=True)["peak_bytes"]
        fanout_peak = run_fanout(size, prototypes, traced=True)["peak_bytes"]
        preview_us = preview["cpu_ns"] / 1000 / size
        fanout_us = fanout["cpu_ns"] / 1000 / size
        row = {
            "pool": size,
            "preview_us_per_profile": preview_us,
            "preview_cpu_s": preview["cpu_ns"] / 1e9,
            "preview_segment_peak_kb": preview_peak / 1024,
            "preview_scans": preview["scans"],
            "preview_other_calls": preview["calls"],
            "would_send": preview["would_send"],
            "fanout_us_per_profile": fanout_us,
            "fanout_cpu_s": fanout["cpu_ns"] / 1e9,
            "fanout_peak_kb": fanout_peak / 1024,
            "fanout_scans": fanout["scans"],
            "fanout_queue_messages": fanout["queue_messages"],
            "fanout_queue_batches": fanout["queue_batches"],
            "fanout_saves": fanout["saves"],
            "queued": fanout["queued"],
            "item_bytes": preview["item_bytes"],
            "profiles_per_page": preview["per_page"],
            "seconds": time.perf_counter() - started,
            "aws": on_aws(size, preview["item_bytes"], preview_us, fanout_us),
        }
        rows.append(row)
        say(line(row))
    # Flat once a segment reads whole pages: the largest size against the one before it
    # (below about 10,000 profiles a preview segment is less than a 1 MB page). The
    # machine's speed drifts over the minutes the largest pool takes (the same 100,000 pool
    # has read 18 and 28 us a profile within an hour), so the size before it is measured
    # again right after it, and the CPU per profile it is held to is the mean of the two
    # runs that bracket the largest.
    first, last = rows[-2] if len(rows) > 1 else rows[0], rows[-1]
    bracket: dict[str, Any] = {"pool": first["pool"]}
    for key, runner in (("preview", run_preview), ("fanout", run_fanout)):
        runs = [first[f"{key}_us_per_profile"]]
        if last is not first:
            runs.append(
                runner(first["pool"], prototypes, traced=False)["cpu_ns"] / 1000 / first["pool"]
            )
        bracket[f"{key}_us_per_profile"] = runs
    baseline = {
        key: sum(bracket[f"{key}_us_per_profile"]) / len(bracket[f"{key}_us_per_profile"])
        for key in ("preview", "fanout")
    }
    return {
        "rows": rows,
        "sizes": sizes,
        "largest_configured": limit,
        "assumptions": {
            "item_bytes": first["item_bytes"],
            "page_bytes": PAGE_BYTES,
            "page_latency_s": PAGE_LATENCY_S,
            "segments": SEGMENTS,
            "lambda_cpu": f"{LAMBDA_MEMORY_MB} MB: {LAMBDA_CPU_SHARE:.2f} of a vCPU as fast as "
            "one core of this machine",
        },
        "ratios_of": f"{last['pool']:,} vs {first['pool']:,} profiles",
        "cpu_baseline": bracket,
        "ratios": {
            "preview_cpu": last["preview_us_per_profile"] / baseline["preview"],
            "preview_peak": last["preview_segment_peak_kb"] / first["preview_segment_peak_kb"],
            "fanout_cpu": last["fanout_us_per_profile"] / baseline["fanout"],
            "fanout_peak": last["fanout_peak_kb"] / first["fanout_peak_kb"],
        },
        "flat_threshold": FLAT,
        "preview_goal_s": GOAL_PREVIEW_S,
    }


def line(row: Mapping[str, Any]) -> str:
    aws = row["aws"]
    return (
        f"{row['pool']:>9,} profiles | preview {row['preview_us_per_profile']:6.1f} us/profile, "
        f"segment peak {row['preview_segment_peak_kb']:8,.0f} KB, {row['preview_scans']:,} "
        f"Scans | fan-out {row['fanout_us_per_profile']:6.1f} us/profile, peak "
        f"{row['fanout_peak_kb']:8,.0f} KB, {row['fanout_scans']:,} Scans, "
        f"{row['fanout_queue_messages']:,} messages, {row['fanout_saves']:,} saves | AWS: "
        f"{aws['pages']:,} pages, {aws['read_units']:,.0f} RCU, preview "
        f"{aws['preview_wall_s']:.1f} s at {SEGMENTS} segments, fan-out "
        f"{aws['fanout_wall_s']:.0f} s | measured in {row['seconds']:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_scale", description=__doc__)
    parser.add_argument("--max", type=int, default=0, help="the largest pool (default 1,000,000)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    results = run(max_size=args.max or None, echo=lambda text: print(text, flush=True))
    a = results["assumptions"]
    print(
        f"assumptions: items of {a['item_bytes']:,} bytes (the prototypes' largest), "
        f"{a['page_bytes']:,}-byte pages, {a['page_latency_s'] * 1000:.0f} ms a page request, "
        f"{a['segments']} segments side by side, {a['lambda_cpu']}"
    )
    ratios = ", ".join(f"{k} {v:.2f}x" for k, v in results["ratios"].items())
    print(f"ratios, {results['ratios_of']}: {ratios}")
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    raise SystemExit(main())

"""Job Opened -> the matching part of the talent pool -> SQS batches for the send worker.

Requests per job: one write of the careers-site listing, one to start the fan-out (or learn
that it ran), then per page of the matching index (1,000 candidates by default): one Query
(keys only), one SendMessageBatch (ten messages of 100 ids), one UpdateItem of the cursor.

A fan-out that dies half-way resumes from the cursor on the JOB item; a page that was queued
but whose cursor was not saved is queued again, and the worker's durable dedupe (one
decision per job and candidate) keeps anyone from being alerted twice. A Job Opened that
arrives again finds the fan-out done and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.job_store import JOB_FIELDS, JobRepository
from ..adapters.listings import ListingsRepository
from ..adapters.queue import QueueSender
from ..adapters.talent_pool import TalentPoolRepository, decode_key, encode_key
from ..errors import TalentOpsError
from ..models.events import JobOpened
from ..observability import logger
from ..talent_pool.policy import JobAlertPolicy
from .matching import job_query
from .messages import AlertBatch, opened_at_of

# Stop paging with this much of the invocation left, and let the retry resume.
MIN_SECONDS_LEFT = 20.0


class FanoutIncompleteError(TalentOpsError):
    """The invocation ran out of time; the cursor is saved, and a retry continues there."""

    code = "fanout_incomplete"


@dataclass(frozen=True)
class FanoutResult:
    job_id: str
    status: str  # done | already_done | no_city
    pages: int
    enqueued: int


@dataclass
class JobFanoutService:
    jobs: JobRepository
    listings: ListingsRepository
    pool: TalentPoolRepository
    queue: QueueSender
    policy: JobAlertPolicy
    now: Callable[[], datetime]

    def open_job(
        self,
        detail: JobOpened,
        event_id: str,
        *,
        seconds_left: Callable[[], float] | None = None,
    ) -> FanoutResult:
        job = detail.job.model_dump(mode="json")
        self.listings.put_job(detail.job, detail.observed_at)
        item, started = self.jobs.start_fanout(
            job, opened_at=detail.observed_at, event_id=event_id, now=self.now()
        )
        job_id = str(job["id"])
        pages, enqueued = int(item.get("fanout_pages", 0)), int(item.get("fanout_enqueued", 0))
        if item.get("fanout_status") == "done":
            logger.info("job fanned out already", job_id=job_id, event_id=event_id)
            return FanoutResult(job_id, "already_done", pages, enqueued)
        if not started:
            logger.info("resuming a job's fan-out", job_id=job_id, pages=pages)
        fanned = dict(item.get("fanout_job") or {k: job.get(k) for k in JOB_FIELDS})
        return self._run(
            fanned,
            event_id=str(item.get("event_id") or event_id),
            opened_at=opened_at_of(item.get("opened_at") or detail.observed_at),
            cursor=decode_key(item.get("fanout_cursor")),
            pages=pages,
            enqueued=enqueued,
            seconds_left=seconds_left,
        )

    def _run(
        self,
        job: dict[str, Any],
        *,
        event_id: str,
        opened_at: datetime,
        cursor: dict[str, Any] | None,
        pages: int,
        enqueued: int,
        seconds_left: Callable[[], float] | None,
    ) -> FanoutResult:
        job_id = str(job["id"])
        query = job_query(job, self.policy.seniority_band)
        if query is None:
            self.jobs.save_progress(job_id, cursor=None, enqueued=0, now=self.now())
            logger.info("local job without a city: nobody matches", job_id=job_id)
            return FanoutResult(job_id, "no_city", pages + 1, enqueued)
        size = self.policy.message_size
        while True:
            if seconds_left is not None and seconds_left() < MIN_SECONDS_LEFT:
                raise FanoutIncompleteError(f"job {job_id}: {pages} pages queued, resumes")
            ids, last = self.pool.matching_page(
                index=query.index,
                partition=query.partition,
                levels=query.levels,
                start_key=cursor,
                limit=self.policy.page_size,
            )
            bodies = [
                AlertBatch(
                    job=job,
                    event_id=event_id,
                    opened_at=opened_at,
                    page=pages,
                    candidates=ids[start : start + size],
                ).model_dump_json()
                for start in range(0, len(ids), size)
            ]
            self.queue.send_bodies(bodies)
            self.jobs.save_progress(
                job_id, cursor=encode_key(last), enqueued=len(ids), now=self.now()
            )
            pages += 1
            enqueued += len(ids)
            logger.info("fan-out page queued", job_id=job_id, page=pages, candidates=len(ids))
            if not last:
                return FanoutResult(job_id, "done", pages, enqueued)
            cursor = last

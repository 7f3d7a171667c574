"""`POST /track`: a visitor's behaviour on the careers site becomes an event on the bus.

With a link token the visitor is that candidate (and nobody else: the body cannot name a
candidate) and the event is a candidate event, `Candidate Job Viewed` and so on, naming them
by `candidate.id`. Without one, the event is a `Visitor ...` event that names the visitor's
anonymous id (the body's, or a new one that the answer returns). Requests: one profile read
(with a token), one PutEvents.

A job travels on as its id only: whoever holds a link token may put any title or URL in
the body, and what a message says about a job comes from the listings (the jobs `Job
Opened` stored), never from a tracking call. The body's other job fields are accepted and
dropped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..adapters.site_events import SiteEventPublisher
from ..adapters.talent_pool import TalentPoolRepository
from ..errors import TokenError
from ..models.careers import (
    TRACK_DETAIL_TYPES,
    PageBehaviour,
    TrackApplicationStarted,
    TrackJobViewed,
    TrackPageViewed,
    VisitorBehaviour,
    VisitorRef,
)
from ..models.events import CandidateRef, ContractModel, JobBehaviour, JobRef
from ..observability import logger
from ..tokens import TokenSigner


def new_anonymous_id() -> str:
    return "anon_" + secrets.token_hex(12)


@dataclass(frozen=True)
class Tracked:
    detail_type: str
    event_id: str
    anonymous_id: str | None


def behaviour_event(
    request: TrackJobViewed | TrackApplicationStarted | TrackPageViewed,
    *,
    candidate_id: str | None,
    anonymous_id: str | None,
    now: datetime,
    message_id: str | None = None,
) -> tuple[str, ContractModel]:
    """The event a tracked behaviour becomes (pure); its job reduced to the job's id, and,
    for a candidate, the email whose link brought them (`message_id`, from the token)."""
    known_type, visitor_type = TRACK_DETAIL_TYPES[request.type]
    job = job_id_only(request.job)
    if candidate_id is None:
        assert anonymous_id is not None
        return visitor_type, VisitorBehaviour(
            visitor=VisitorRef(anonymous_id=anonymous_id),
            observed_at=now,
            job=job,
            url=request.url,
        )
    candidate = CandidateRef(id=candidate_id)
    if isinstance(request, TrackPageViewed):
        return known_type, PageBehaviour(
            candidate=candidate, observed_at=now, url=request.url, message_id=message_id
        )
    assert job is not None
    return known_type, JobBehaviour(
        candidate=candidate, observed_at=now, job=job, message_id=message_id
    )


def job_id_only(job: JobRef | None) -> JobRef | None:
    """The job a tracking call names, as its id: nothing else of the body travels on."""
    return None if job is None else JobRef(id=job.id)


@dataclass
class TrackingService:
    repo: TalentPoolRepository
    publisher: SiteEventPublisher
    signer: Callable[[], TokenSigner]
    now: Callable[[], datetime]

    def track(
        self,
        request: TrackJobViewed | TrackApplicationStarted | TrackPageViewed,
        token: str | None,
    ) -> Tracked:
        now = self.now()
        candidate_id = None
        anonymous_id = None
        message_id = None
        if token is not None:
            claims = self.signer().verify(token, now=now, scope="link")
            if self.repo.get_profile(claims.candidate_id, consistent=False) is None:
                raise TokenError("the token's candidate is not known")
            candidate_id = claims.candidate_id
            message_id = claims.message_id
        else:
            anonymous_id = request.anonymous_id or new_anonymous_id()
        detail_type, detail = behaviour_event(
            request,
            candidate_id=candidate_id,
            anonymous_id=anonymous_id,
            now=now,
            message_id=message_id,
        )
        event_id = self.publisher.publish(detail_type, detail)
        logger.info("behaviour tracked", detail_type=detail_type, event_id=event_id)
        return Tracked(detail_type, event_id, anonymous_id)

"""The careers-site API (docs/careers-api.md: `GET /content/{slot}`, `POST /track`) and the
behaviour events that `POST /track` puts on the bus.

A visitor with a token is a candidate: their behaviour becomes a candidate event
(`Candidate Job Viewed`, ...) naming them by `candidate.id`. A visitor without one is not a
candidate, and the contract's candidate events cannot carry them (a candidate reference
names someone the system can resolve). Their behaviour becomes a `Visitor ...` event that
names an anonymous id instead, so that no rule for candidate events ever sees it. See
docs/careers-api.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .events import (
    CandidateDetail,
    ContractModel,
    JobBehaviour,
    JobRef,
    ObservedAt,
    Url,
    ViaMessage,
)

SITE_SOURCE = "talent.careers-site"

ANONYMOUS_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
AnonymousId = Annotated[str, StringConstraints(pattern=ANONYMOUS_ID_PATTERN)]
TokenText = Annotated[str, StringConstraints(min_length=1, max_length=2048)]

# -- POST /track request bodies, one model per `type` (a discriminated union) ---------------


class _TrackBase(ContractModel):
    token: TokenText | None = Field(
        default=None,
        description="The t= of an email link; the same token may come as a Bearer header instead.",
    )
    anonymous_id: AnonymousId | None = Field(
        default=None,
        description="The visitor's anonymous id (without a token); generated when absent.",
    )


class TrackJobViewed(_TrackBase):
    type: Literal["job_viewed"]
    job: JobRef
    url: Url | None = None


class TrackApplicationStarted(_TrackBase):
    type: Literal["application_started"]
    job: JobRef
    url: Url | None = None


class TrackPageViewed(_TrackBase):
    type: Literal["page_viewed"]
    url: Url
    job: JobRef | None = None


TrackRequest = Annotated[
    TrackJobViewed | TrackApplicationStarted | TrackPageViewed, Field(discriminator="type")
]
TrackType = Literal["job_viewed", "application_started", "page_viewed"]


# -- responses ----------------------------------------------------------------------------


class ApiModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, defer_build=True
    )


class BlockAction(ApiModel):
    label: str = Field(description="The call to action's text.")
    href: str = Field(description="Where it leads (a section of the page, e.g. `#jobs`, or a URL).")


class BlockJob(ApiModel):
    """A job as the block lists it (from the listings of `Job Opened`)."""

    id: str = Field(description="The job's id: what `POST /track` takes as `job.id`.")
    title: str
    role_family: str | None = None
    seniority: str | None = None
    city: str | None = None
    country: str | None = None
    remote: bool | None = None
    url: str | None = Field(default=None, description="The job's page, as the ATS gave it.")


class BlockEvent(ApiModel):
    """An event as the block lists it (from the event messages)."""

    id: str
    name: str
    starts_at: datetime
    when: str = Field(description="The start as the block shows it, in the candidate's time zone.")
    city: str | None = None
    url: str | None = Field(default=None, description="The event's page, if known.")


class ContentBlockData(ApiModel):
    """What the block says, as data: the same values its HTML shows, for a site that renders
    blocks with its own design system. Text is plain (unescaped): escape it when rendering."""

    title: str = Field(description="The block's heading.")
    text: str | None = Field(default=None, description="Its lead paragraph or note, if any.")
    actions: list[BlockAction] = Field(
        default_factory=list, description="Its calls to action, in order."
    )
    jobs: list[BlockJob] = Field(
        default_factory=list, description="The jobs it lists, in order (slots that list jobs)."
    )
    events: list[BlockEvent] = Field(
        default_factory=list,
        description="The events it lists, soonest first (slots that list events).",
    )
    missed_event: BlockEvent | None = Field(
        default=None, description="The event a recent no-show missed (the `missed` variant)."
    )


class ContentBlockResponse(ApiModel):
    slot: str = Field(description="The slot asked for.")
    variant: str = Field(description="The variant chosen (the anonymous one without a token).")
    html: str = Field(description="The block's HTML, escaped and ready to insert.")
    data: ContentBlockData = Field(description="The same block as data (headless sites).")


class ContentBatchResponse(ApiModel):
    slots: list[ContentBlockResponse] = Field(
        description="One block per slot asked for, in the order asked."
    )


class TrackAccepted(ApiModel):
    status: Literal["accepted"] = "accepted"
    detail_type: str = Field(description="The detail-type of the event put on the bus.")
    event_id: str = Field(description="The id EventBridge gave the event.")
    anonymous_id: str | None = Field(
        default=None, description="The visitor's anonymous id (only without a token)."
    )


# -- events of the careers site on the bus (source talent.careers-site) ---------------------


class PageBehaviour(CandidateDetail):
    url: Url
    message_id: ViaMessage | None = None


class VisitorRef(ContractModel):
    anonymous_id: AnonymousId


class VisitorBehaviour(ContractModel):
    """Behaviour of a visitor without a token: `Visitor Job Viewed`, ... (never a candidate)."""

    visitor: VisitorRef
    observed_at: ObservedAt
    job: JobRef | None = None
    url: Url | None = None


# type of POST /track -> (detail-type with a token, detail-type without one)
TRACK_DETAIL_TYPES: dict[str, tuple[str, str]] = {
    "job_viewed": ("Candidate Job Viewed", "Visitor Job Viewed"),
    "application_started": ("Candidate Application Started", "Visitor Application Started"),
    "page_viewed": ("Candidate Page Viewed", "Visitor Page Viewed"),
}

# detail-type -> model of `detail`, for every event the careers-site API emits.
CAREERS_SITE_EVENTS: dict[str, type[ContractModel]] = {
    "Candidate Job Viewed": JobBehaviour,
    "Candidate Application Started": JobBehaviour,
    "Candidate Page Viewed": PageBehaviour,
    "Visitor Job Viewed": VisitorBehaviour,
    "Visitor Application Started": VisitorBehaviour,
    "Visitor Page Viewed": VisitorBehaviour,
}

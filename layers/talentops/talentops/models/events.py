"""Contract models for the candidate events of CONTRACT.md section 1.

Every model forbids unknown fields: a producer that sends something the contract does not
name gets a specific rejection instead of silent data loss.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

SENIORITY_LEVELS: tuple[str, ...] = (
    "intern",
    "junior",
    "mid",
    "senior",
    "lead",
    "principal",
    "executive",
)


class Seniority(StrEnum):
    intern = "intern"
    junior = "junior"
    mid = "mid"
    senior = "senior"
    lead = "lead"
    principal = "principal"
    executive = "executive"

    @property
    def level(self) -> int:
        return SENIORITY_LEVELS.index(self.value)


class Purpose(StrEnum):
    marketing = "marketing"
    job_alerts = "job_alerts"
    events = "events"


class ConsentStatus(StrEnum):
    granted = "granted"
    withdrawn = "withdrawn"


_EMAIL_RE = re.compile(r"^[^@\s<>\"',;()\[\]\\]+@[^@\s<>\"',;()\[\]\\]+\.[A-Za-z]{2,}$")
_REF_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}:[^\s]{1,128}$")


def normalize_email(value: str) -> str:
    """Case-insensitive, trimmed: the form under which an address is matched."""
    return value.strip().lower()


def _check_email(value: str) -> str:
    value = value.strip()
    if "\r" in value or "\n" in value or not _EMAIL_RE.match(value) or len(value) > 254:
        raise ValueError("not a valid email address")
    return value


def _check_single_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("must be a single line (no CR, LF or NUL)")
    return value


Email = Annotated[str, AfterValidator(_check_email)]
SingleLine = Annotated[str, StringConstraints(max_length=200), AfterValidator(_check_single_line)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA timezone") from exc
    return value


Timezone = Annotated[str, AfterValidator(_check_timezone)]


class ContractModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )


class CandidateRef(ContractModel):
    """How a producer names a candidate: at least one of id, email, ref."""

    id: Annotated[str, StringConstraints(pattern=r"^c_[A-Za-z0-9]{6,40}$")] | None = None
    email: Email | None = None
    ref: Annotated[str, StringConstraints(pattern=_REF_RE.pattern)] | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> CandidateRef:
        if not (self.id or self.email or self.ref):
            raise ValueError("candidate needs at least one of id, email, ref")
        return self

    @property
    def email_normalized(self) -> str | None:
        return normalize_email(self.email) if self.email else None

    def key(self) -> str:
        """A stable reference for identifying a fact: id, else ref, else normalized email."""
        if self.id:
            return f"id:{self.id}"
        if self.ref:
            return f"ref:{self.ref}"
        return f"email:{self.email_normalized}"


class ProfileFields(ContractModel):
    first_name: SingleLine | None = None
    last_name: SingleLine | None = None
    email: Email | None = None
    city: SingleLine | None = None
    country: CountryCode | None = None
    seniority: Seniority | None = None
    role_family: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")] | None = None
    skills: list[SingleLine] | None = Field(default=None, max_length=100)
    language: LanguageTag | None = None
    timezone: Timezone | None = None


class EventInfo(ContractModel):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    name: SingleLine
    starts_at: AwareDatetime
    city: SingleLine | None = None
    url: Url | None = None


class JobInfo(ContractModel):
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    title: SingleLine
    role_family: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
    seniority: Seniority
    city: SingleLine | None = None
    country: CountryCode | None = None
    remote: bool = False
    url: Url | None = None


class JobRef(ContractModel):
    """A job as behaviour events carry it: at least its id; the rest when the producer has it."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    title: SingleLine | None = None
    role_family: str | None = None
    seniority: Seniority | None = None
    city: SingleLine | None = None
    country: CountryCode | None = None
    remote: bool | None = None
    url: Url | None = None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


ObservedAt = Annotated[AwareDatetime, AfterValidator(_utc)]


class CandidateDetail(ContractModel):
    candidate: CandidateRef
    observed_at: ObservedAt


class ProfileUpdated(CandidateDetail):
    fields: ProfileFields

    @model_validator(mode="after")
    def _some_field(self) -> ProfileUpdated:
        if not self.fields.model_fields_set:
            raise ValueError("fields must name at least one profile field")
        return self


class ConsentChanged(CandidateDetail):
    channel: Literal["email"] = "email"
    purpose: Purpose
    status: ConsentStatus
    evidence: Annotated[str, StringConstraints(max_length=1000)] | None = None


class EventBehaviour(CandidateDetail):
    event: EventInfo


class JobBehaviour(CandidateDetail):
    job: JobRef


class JobOpened(ContractModel):
    observed_at: ObservedAt
    job: JobInfo


class ErasureRequested(CandidateDetail):
    request_id: Annotated[str, StringConstraints(max_length=128)] | None = None


class Trigger(ContractModel):
    detail_type: str
    event_id: str


class MessageSent(ContractModel):
    candidate_id: str
    message_id: str
    purpose: Purpose | Literal["transactional"]
    template: str
    variant: str
    trigger: Trigger


class MessageSuppressed(ContractModel):
    candidate_id: str | None = None
    purpose: Purpose | Literal["transactional"]
    reason: str
    trigger: Trigger
    template: str | None = None  # extension: which message was held back


class ChangedField(ContractModel):
    value: Any
    source: str
    observed_at: datetime


class CandidateProfileChanged(ContractModel):
    candidate_id: str
    changed: dict[str, ChangedField]


class CandidateErased(ContractModel):
    candidate_id: str


# detail-type -> model of `detail`, for every event the system consumes.
INBOUND_EVENTS: dict[str, type[ContractModel]] = {
    "Candidate Profile Updated": ProfileUpdated,
    "Candidate Consent Changed": ConsentChanged,
    "Candidate Event Registered": EventBehaviour,
    "Candidate Event Attended": EventBehaviour,
    "Candidate Event No-Show": EventBehaviour,
    "Candidate Job Viewed": JobBehaviour,
    "Candidate Application Submitted": JobBehaviour,
    "Job Opened": JobOpened,
    "Candidate Erasure Requested": ErasureRequested,
}

# detail-type -> model of `detail`, for every event the system emits.
OUTBOUND_EVENTS: dict[str, type[ContractModel]] = {
    "Message Sent": MessageSent,
    "Message Suppressed": MessageSuppressed,
    "Candidate Profile Changed": CandidateProfileChanged,
    "Candidate Erased": CandidateErased,
}

OWN_SOURCE = "talent.personalization"


class EventEnvelope(BaseModel):
    """The EventBridge envelope as Lambda receives it (only what the system reads)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: datetime | None = None
    detail: dict[str, Any]


def parse_event(event: dict[str, Any]) -> tuple[EventEnvelope, ContractModel]:
    """Validate an EventBridge event against the contract; InvalidEventError says why not."""
    from pydantic import ValidationError

    from ..errors import InvalidEventError

    try:
        envelope = EventEnvelope.model_validate(event)
    except ValidationError as exc:
        raise InvalidEventError("?", "not an EventBridge event: " + _summary(exc)) from exc
    model = INBOUND_EVENTS.get(envelope.detail_type)
    if model is None:
        raise InvalidEventError(envelope.detail_type, "unknown detail-type")
    try:
        return envelope, model.model_validate(envelope.detail)
    except ValidationError as exc:
        raise InvalidEventError(envelope.detail_type, _summary(exc)) from exc


def _summary(exc: Any) -> str:
    """Where and what, never the offending value (it may be personal data)."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "detail"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)

"""Contract models for the candidate events of docs/contract.md section 1.

Every model forbids unknown fields: a producer that sends something the contract does not
name gets a specific rejection instead of silent data loss.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from .countries import COUNTRY_ALIASES, ISO_3166_ALPHA2, country_code
from .values import SENIORITY_LEVELS, ascii_domain, normalize_email


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


# After the domain is converted to ASCII (IDNA): a top-level domain of letters, or an
# internationalized one in its punycode form (xn--...).
_EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;()\[\]\\]+@[^@\s<>\"',;()\[\]\\]+\.(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]{1,59})$"
)
_REF_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}:[^\s]{1,128}$")


def _check_email(value: str) -> str:
    """An address SES can send to: one line, an ASCII local part (SES refuses any other,
    see docs/contract.md), the domain stored in its ASCII form (punycode)."""
    value = value.strip()
    if "\r" in value or "\n" in value or len(value) > 254:
        raise ValueError("not a valid email address")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("not a valid email address")
    if not local.isascii():
        raise ValueError("the part before @ must be ASCII: SES cannot send to any other address")
    try:
        value = f"{local}@{ascii_domain(domain)}"
    except UnicodeError as exc:
        raise ValueError("the domain is not a valid internationalized domain name") from exc
    if not _EMAIL_RE.match(value) or len(value) > 254:
        raise ValueError("not a valid email address")
    return value


def _check_single_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("must be a single line (no CR, LF or NUL)")
    return value


Email = Annotated[str, AfterValidator(_check_email)]
SingleLine = Annotated[str, StringConstraints(max_length=200), AfterValidator(_check_single_line)]


def _check_country(value: str) -> str:
    code = country_code(value)
    if code is None:
        raise ValueError(
            "not an ISO 3166-1 alpha-2 country code (e.g. DE, GB; UK and EL are read as GB and GR)"
        )
    return code


# ISO 3166-1 alpha-2, from a maintained list (models/countries.py); the aliases UK and EL are
# stored as GB and GR. Anything else ("EU", "ZZ", "XK") is refused.
CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_check_country),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(ISO_3166_ALPHA2 | set(COUNTRY_ALIASES)),
            "description": "ISO 3166-1 alpha-2; UK and EL are accepted as GB and GR.",
        }
    ),
]
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


# -- dates: bounded by the receiving clock (docs/contract.md, "Dates") ------------------------

# The earliest date any fact may carry: older ones are typing errors, not history.
DATE_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
# How far ahead a scheduled event may start (event.starts_at): about two years.
EVENT_HORIZON = timedelta(days=731)


def max_ahead() -> timedelta:
    """How far ahead of the receiving clock an observation may be: the producers' clock skew
    (settings ``fact_max_ahead_seconds``, FACT_MAX_AHEAD_SECONDS; default 5 minutes)."""
    from ..settings import get_settings

    return timedelta(seconds=get_settings().fact_max_ahead_seconds)


def _receiving_now() -> datetime:
    from ..clock import now

    return now()


def _in_range(value: datetime, ahead: timedelta, too_late: str) -> datetime:
    try:
        if value < DATE_FLOOR:
            raise ValueError("is before 2000-01-01T00:00:00Z, the earliest date accepted")
        if value > _receiving_now() + ahead:
            raise ValueError(too_late)
        return value.astimezone(UTC)
    except OverflowError as exc:  # near 9999-12-31 with an offset
        raise ValueError("is out of range") from exc


def _check_observed(value: datetime) -> datetime:
    """observed_at: a fact became true in the past, give or take the producers' clock skew.
    Stored in UTC."""
    ahead = max_ahead()
    too_late = (
        f"is in the future: more than {int(ahead.total_seconds())} s ahead of the receiving clock"
    )
    return _in_range(value, ahead, too_late)


def _check_event_start(value: datetime) -> datetime:
    """event.starts_at: may lie ahead (a registration), but not beyond EVENT_HORIZON. The
    offset the producer gave is kept (it is the event's local time)."""
    _in_range(value, EVENT_HORIZON, "is more than 731 days ahead of the receiving clock")
    return value


ObservedAt = Annotated[
    AwareDatetime,
    AfterValidator(_check_observed),
    Field(
        description=(
            "RFC 3339 with offset; from 2000-01-01 to a few minutes (5 by default) ahead of "
            "the receiving clock."
        )
    ),
]
EventStart = Annotated[
    AwareDatetime,
    AfterValidator(_check_event_start),
    Field(
        description="RFC 3339 with offset; from 2000-01-01 to 731 days ahead of the receiving "
        "clock."
    ),
]


class ContractModel(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (a function
    # validates a few of the contract's models; building them all cost every cold start).
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        hide_input_in_errors=True,
        defer_build=True,
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
    starts_at: EventStart
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
    role_family: SingleLine | None = None
    seniority: Seniority | None = None
    city: SingleLine | None = None
    country: CountryCode | None = None
    remote: bool | None = None
    url: Url | None = None


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


# The email whose link brought the candidate (the link token's message), set by /track.
ViaMessage = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class JobBehaviour(CandidateDetail):
    job: JobRef
    message_id: ViaMessage | None = None


class JobOpened(ContractModel):
    observed_at: ObservedAt
    job: JobInfo


class ErasureRequested(CandidateDetail):
    request_id: Annotated[str, StringConstraints(max_length=128)] | None = None


class Trigger(ContractModel):
    detail_type: str
    event_id: str


class ExperimentArm(ContractModel):
    """A holdout's or an experiment's arm the decision's candidate is in: ``holdout`` or
    ``treatment`` for a holdout, the variant for an experiment."""

    experiment: str
    arm: str


class MessageSent(ContractModel):
    candidate_id: str
    message_id: str
    purpose: Purpose | Literal["transactional"]
    template: str
    variant: str
    trigger: Trigger
    # extension: the holdouts and experiments the decision assigned (absent: none applied)
    experiments: list[ExperimentArm] | None = None


class MessageSuppressed(ContractModel):
    candidate_id: str | None = None
    purpose: Purpose | Literal["transactional"]
    reason: str
    trigger: Trigger
    template: str | None = None  # extension: which message was held back
    # extension: for reason holdout, the holdout's arm (and any treatment arms before it)
    experiments: list[ExperimentArm] | None = None


class MessageEngagement(ContractModel):
    """`detail` of `Message Delivered` / `Message Opened`: what SES saw happen to a sent
    message, tied to the decision that sent it."""

    message_id: str
    candidate_id: str
    template: str
    variant: str | None
    at: datetime
    decision_id: str  # extension: the decision record (GET /admin/candidates/{id}/decisions)


class MessageClicked(MessageEngagement):
    """`detail` of `Message Clicked`: `url` is the link as sent, without its token."""

    url: str


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
    "Message Delivered": MessageEngagement,
    "Message Opened": MessageEngagement,
    "Message Clicked": MessageClicked,
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
    return envelope, parse_detail(envelope)


def parse_detail(envelope: EventEnvelope) -> ContractModel:
    """The detail of an envelope already validated (parse_event's second step, for a
    caller that read the envelope itself); InvalidEventError says why not."""
    from pydantic import ValidationError

    from ..errors import InvalidEventError

    model = INBOUND_EVENTS.get(envelope.detail_type)
    if model is None:
        # Not one of ours: not quoted either (the DLQ keeps the event itself).
        raise InvalidEventError("?", "unknown detail-type")
    try:
        return model.model_validate(envelope.detail)
    except ValidationError as exc:
        raise InvalidEventError(envelope.detail_type, _summary(exc)) from exc


def _summary(exc: Any) -> str:
    """Where and what, never the offending value (it may be personal data): an unknown key
    or a discriminator's tag came from the input too (validation.py)."""
    from .validation import summary

    return summary(exc)

"""The SES event records that the system reads: the configuration set publishes them to
EventBridge (the default bus, source ``aws.ses``) with the record as ``detail``.

Only what the system reads is modelled; SES adds fields over time, so unknown keys are
ignored, but every field that is read has its type and a bound. The feedback path reads
``Bounce`` and ``Complaint`` (docs/privacy.md); ``Send`` carries the message's tags (the
decision id travels as one) for the reconciliation of a send; ``Delivery``, ``Open`` and
``Click`` become the engagement facts (engagement/service.py). The SNS shape of the same
record (``notificationType`` instead of ``eventType``) parses too.

A record that does not fit is an :class:`InvalidEventError` naming where and what, never the
value (addresses are personal data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..errors import InvalidEventError
from .validation import summary

Short = Annotated[str, StringConstraints(max_length=256)]
Address = Annotated[str, StringConstraints(max_length=1024)]
# SES takes at most 50 recipients a message; a record names no more than that.
MAX_RECIPIENTS = 100


class SesModel(BaseModel):
    model_config = ConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, hide_input_in_errors=True
    )


class SesRecipient(SesModel):
    email_address: Address = Field(alias="emailAddress")


class SesBounce(SesModel):
    bounce_type: Short = Field(default="Undetermined", alias="bounceType")
    bounce_sub_type: Short = Field(default="General", alias="bounceSubType")
    bounced_recipients: list[SesRecipient] = Field(
        default_factory=list, alias="bouncedRecipients", max_length=MAX_RECIPIENTS
    )


class SesComplaint(SesModel):
    complaint_feedback_type: Short | None = Field(default=None, alias="complaintFeedbackType")
    complained_recipients: list[SesRecipient] = Field(
        default_factory=list, alias="complainedRecipients", max_length=MAX_RECIPIENTS
    )


class SesDelivery(SesModel):
    timestamp: datetime | None = None


class SesOpen(SesModel):
    timestamp: datetime | None = None


class SesClick(SesModel):
    timestamp: datetime | None = None
    link: Annotated[str, StringConstraints(max_length=4096)] | None = None


class SesHeader(SesModel):
    name: Short
    value: Annotated[str, StringConstraints(max_length=4096)]


class SesMail(SesModel):
    message_id: Short | None = Field(default=None, alias="messageId")
    timestamp: datetime | None = None
    destination: list[Address] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    tags: dict[Short, list[Short]] = Field(default_factory=dict, max_length=64)
    headers: list[SesHeader] = Field(default_factory=list, max_length=256)

    def tag(self, name: str) -> str | None:
        """The first value of the message tag `name` (the decision id travels as one)."""
        values = self.tags.get(name) or []
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((h.value for h in self.headers if h.name.lower() == lowered), None)


class SesEventDetail(SesModel):
    """One SES event record (the EventBridge ``detail``, or the SNS message)."""

    event_type: Short | None = Field(default=None, alias="eventType")
    notification_type: Short | None = Field(default=None, alias="notificationType")
    mail: SesMail | None = None
    bounce: SesBounce | None = None
    complaint: SesComplaint | None = None
    send: dict[str, Any] | None = None
    delivery: SesDelivery | None = None
    open: SesOpen | None = None
    click: SesClick | None = None

    @property
    def kind(self) -> str:
        """Bounce, Complaint, Send, Delivery, ... ("" when the record names none)."""
        return self.event_type or self.notification_type or ""


class SesEvent(SesModel):
    """The EventBridge envelope of an SES event record."""

    id: Short
    detail_type: Short = Field(alias="detail-type")
    source: Short
    time: datetime | None = None
    detail: SesEventDetail


def parse_ses_event(event: Any) -> SesEvent:
    """An SES event as EventBridge delivers it; InvalidEventError says where it does not fit."""
    try:
        return SesEvent.model_validate(event)
    except ValidationError as exc:
        raise InvalidEventError("SES event", summary(exc)) from exc


def parse_ses_detail(detail: Any) -> SesEventDetail:
    """The record alone (the ``detail``, or an SNS message); InvalidEventError when it does
    not fit."""
    if isinstance(detail, SesEventDetail):
        return detail
    try:
        return SesEventDetail.model_validate(detail)
    except ValidationError as exc:
        raise InvalidEventError("SES event", summary(exc)) from exc

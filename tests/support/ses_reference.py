"""The SES records as pydantic models: the reference that talentops.models.ses was written
against (it read them with these models until 2026-12-07). tests/unit/test_ses_records.py
holds the two to the same answers, and the fuzz tests draw SES events from these models'
JSON Schema."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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

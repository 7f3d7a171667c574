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

The records are frozen dataclasses read by the functions below, not pydantic models: the
feedback function reads nothing else, and without pydantic its cold start is about a third
shorter (docs/decisions.md, 2026-12-07). A field is read under SES's name (``messageId``)
or, as the models before took it, under the Python name (``message_id``); SES's name wins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..errors import InvalidEventError

SHORT = 256
ADDRESS = 1024
LONG = 4096
# SES takes at most 50 recipients a message; a record names no more than that.
MAX_RECIPIENTS = 100
MAX_TAGS = 64
MAX_HEADERS = 256
# A number this large is a time in milliseconds since the epoch, not seconds (as pydantic
# reads one).
_MILLISECONDS = 2e10

T = TypeVar("T")
_MISSING: Any = object()


class _Misfit(Exception):
    """Where (the path, SES's names) and what does not fit; never the value."""

    def __init__(self, where: tuple[str | int, ...], what: str):
        super().__init__(what)
        self.where = where
        self.what = what


@dataclass(frozen=True, slots=True)
class SesRecipient:
    email_address: str


@dataclass(frozen=True, slots=True)
class SesBounce:
    bounce_type: str = "Undetermined"
    bounce_sub_type: str = "General"
    bounced_recipients: tuple[SesRecipient, ...] = ()


@dataclass(frozen=True, slots=True)
class SesComplaint:
    complaint_feedback_type: str | None = None
    complained_recipients: tuple[SesRecipient, ...] = ()


@dataclass(frozen=True, slots=True)
class SesDelivery:
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class SesOpen:
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class SesClick:
    timestamp: datetime | None = None
    link: str | None = None


@dataclass(frozen=True, slots=True)
class SesHeader:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class SesMail:
    message_id: str | None = None
    timestamp: datetime | None = None
    destination: tuple[str, ...] = ()
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    headers: tuple[SesHeader, ...] = ()

    def tag(self, name: str) -> str | None:
        """The first value of the message tag `name` (the decision id travels as one)."""
        values = self.tags.get(name) or ()
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((h.value for h in self.headers if h.name.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class SesEventDetail:
    """One SES event record (the EventBridge ``detail``, or the SNS message)."""

    event_type: str | None = None
    notification_type: str | None = None
    mail: SesMail | None = None
    bounce: SesBounce | None = None
    complaint: SesComplaint | None = None
    send: Mapping[str, Any] | None = None
    delivery: SesDelivery | None = None
    open: SesOpen | None = None
    click: SesClick | None = None

    @property
    def kind(self) -> str:
        """Bounce, Complaint, Send, Delivery, ... ("" when the record names none)."""
        return self.event_type or self.notification_type or ""


@dataclass(frozen=True, slots=True)
class SesEvent:
    """The EventBridge envelope of an SES event record."""

    id: str
    detail_type: str
    source: str
    detail: SesEventDetail
    time: datetime | None = None


def parse_ses_event(event: Any) -> SesEvent:
    """An SES event as EventBridge delivers it; InvalidEventError says where it does not fit."""
    try:
        return _event(event)
    except _Misfit as misfit:
        raise InvalidEventError("SES event", _words(misfit)) from None


def parse_ses_detail(detail: Any) -> SesEventDetail:
    """The record alone (the ``detail``, or an SNS message); InvalidEventError when it does
    not fit."""
    if isinstance(detail, SesEventDetail):
        return detail
    try:
        return _detail(detail, ())
    except _Misfit as misfit:
        raise InvalidEventError("SES event", _words(misfit)) from None


def _words(misfit: _Misfit) -> str:
    """ "where: what", as models/validation.py words a model's error."""
    where = ".".join(str(part) for part in misfit.where)
    return f"{where or 'detail'}: {misfit.what}"


# -- reading ----------------------------------------------------------------------------------


def _object(value: Any, where: tuple[str | int, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Misfit(where, "Input should be a valid dictionary")
    return value


def _at(obj: Mapping[str, Any], alias: str, name: str) -> Any:
    """The value under SES's name, else under the Python name, else _MISSING."""
    value = obj.get(alias, _MISSING)
    if value is _MISSING and name != alias:
        value = obj.get(name, _MISSING)
    return value


def _text(value: Any, where: tuple[str | int, ...], limit: int) -> str:
    if not isinstance(value, str):
        raise _Misfit(where, "Input should be a valid string")
    if len(value) > limit:
        raise _Misfit(where, f"String should have at most {limit} characters")
    if not value.isascii():
        try:  # a lone surrogate (JSON's "\udcff") is no text
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Misfit(where, "Input should be a valid string") from None
    return value


def _required(obj: Mapping[str, Any], alias: str, name: str, where: tuple[str | int, ...]) -> Any:
    value = _at(obj, alias, name)
    if value is _MISSING:
        raise _Misfit((*where, alias), "Field required")
    return value


def _optional(
    obj: Mapping[str, Any],
    names: tuple[str, str],
    where: tuple[str | int, ...],
    read: Callable[[Any, tuple[str | int, ...]], T],
    default: T,
) -> T:
    """``read`` of the value; ``default`` when it is absent (``None`` stays None when the
    default is None, as an optional field takes it). ``names``: SES's, then Python's."""
    alias, name = names
    value = _at(obj, alias, name)
    if value is _MISSING or (value is None and default is None):
        return default
    return read(value, (*where, alias))


def _list(
    value: Any,
    where: tuple[str | int, ...],
    read: Callable[[Any, tuple[str | int, ...]], T],
    limit: int | None = None,
) -> tuple[T, ...]:
    if not isinstance(value, list | tuple):
        raise _Misfit(where, "Input should be a valid list")
    if limit is not None and len(value) > limit:
        raise _Misfit(where, f"List should have at most {limit} items")
    return tuple(read(item, (*where, i)) for i, item in enumerate(value))


def _moment(value: Any, where: tuple[str | int, ...]) -> datetime:
    """A datetime as pydantic reads one from JSON: an ISO 8601 string, or seconds (or
    milliseconds) since the epoch as a number or a numeric string."""
    if isinstance(value, datetime):
        return value
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer past any float: no time
            number = math.inf
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
    if number is not None and math.isfinite(number):
        seconds = number / 1000 if abs(number) > _MILLISECONDS else number
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise _Misfit(where, "Input should be a valid datetime")


def _short(value: Any, where: tuple[str | int, ...]) -> str:
    return _text(value, where, SHORT)


def _recipient(value: Any, where: tuple[str | int, ...]) -> SesRecipient:
    obj = _object(value, where)
    address = _required(obj, "emailAddress", "email_address", where)
    return SesRecipient(_text(address, (*where, "emailAddress"), ADDRESS))


def _recipients(value: Any, where: tuple[str | int, ...]) -> tuple[SesRecipient, ...]:
    return _list(value, where, _recipient, MAX_RECIPIENTS)


def _bounce(value: Any, where: tuple[str | int, ...]) -> SesBounce:
    obj = _object(value, where)
    return SesBounce(
        bounce_type=_optional(obj, ("bounceType", "bounce_type"), where, _short, "Undetermined"),
        bounce_sub_type=_optional(
            obj, ("bounceSubType", "bounce_sub_type"), where, _short, "General"
        ),
        bounced_recipients=_optional(
            obj, ("bouncedRecipients", "bounced_recipients"), where, _recipients, ()
        ),
    )


def _complaint(value: Any, where: tuple[str | int, ...]) -> SesComplaint:
    obj = _object(value, where)
    return SesComplaint(
        complaint_feedback_type=_optional(
            obj, ("complaintFeedbackType", "complaint_feedback_type"), where, _short, None
        ),
        complained_recipients=_optional(
            obj, ("complainedRecipients", "complained_recipients"), where, _recipients, ()
        ),
    )


def _timestamp(obj: Mapping[str, Any], where: tuple[str | int, ...]) -> datetime | None:
    return _optional(obj, ("timestamp", "timestamp"), where, _moment, None)


def _delivery(value: Any, where: tuple[str | int, ...]) -> SesDelivery:
    return SesDelivery(_timestamp(_object(value, where), where))


def _open(value: Any, where: tuple[str | int, ...]) -> SesOpen:
    return SesOpen(_timestamp(_object(value, where), where))


def _click(value: Any, where: tuple[str | int, ...]) -> SesClick:
    obj = _object(value, where)
    link = _optional(obj, ("link", "link"), where, lambda v, w: _text(v, w, LONG), None)
    return SesClick(_timestamp(obj, where), link)


def _header(value: Any, where: tuple[str | int, ...]) -> SesHeader:
    obj = _object(value, where)
    name = _short(_required(obj, "name", "name", where), (*where, "name"))
    text = _text(_required(obj, "value", "value", where), (*where, "value"), LONG)
    return SesHeader(name, text)


def _tags(value: Any, where: tuple[str | int, ...]) -> Mapping[str, tuple[str, ...]]:
    obj = _object(value, where)
    if len(obj) > MAX_TAGS:
        raise _Misfit(where, f"Dictionary should have at most {MAX_TAGS} items")
    tags: dict[str, tuple[str, ...]] = {}
    for name, values in obj.items():
        # A tag's name came from the input: the path says "?" for it (models/validation.py).
        _text(name, (*where, "?"), SHORT)
        tags[name] = _list(values, (*where, "?"), _short)
    return tags


def _mail(value: Any, where: tuple[str | int, ...]) -> SesMail:
    obj = _object(value, where)
    return SesMail(
        message_id=_optional(obj, ("messageId", "message_id"), where, _short, None),
        timestamp=_timestamp(obj, where),
        destination=_optional(
            obj,
            ("destination", "destination"),
            where,
            lambda v, w: _list(v, w, lambda a, aw: _text(a, aw, ADDRESS), MAX_RECIPIENTS),
            (),
        ),
        tags=_optional(obj, ("tags", "tags"), where, _tags, {}),
        headers=_optional(
            obj, ("headers", "headers"), where, lambda v, w: _list(v, w, _header, MAX_HEADERS), ()
        ),
    )


def _plain(value: Any, where: tuple[str | int, ...]) -> Mapping[str, Any]:
    return dict(_object(value, where))


def _detail(value: Any, where: tuple[str | int, ...]) -> SesEventDetail:
    obj = _object(value, where)
    return SesEventDetail(
        event_type=_optional(obj, ("eventType", "event_type"), where, _short, None),
        notification_type=_optional(
            obj, ("notificationType", "notification_type"), where, _short, None
        ),
        mail=_optional(obj, ("mail", "mail"), where, _mail, None),
        bounce=_optional(obj, ("bounce", "bounce"), where, _bounce, None),
        complaint=_optional(obj, ("complaint", "complaint"), where, _complaint, None),
        send=_optional(obj, ("send", "send"), where, _plain, None),
        delivery=_optional(obj, ("delivery", "delivery"), where, _delivery, None),
        open=_optional(obj, ("open", "open"), where, _open, None),
        click=_optional(obj, ("click", "click"), where, _click, None),
    )


def _event(value: Any) -> SesEvent:
    obj = _object(value, ())
    return SesEvent(
        id=_short(_required(obj, "id", "id", ()), ("id",)),
        detail_type=_short(_required(obj, "detail-type", "detail_type", ()), ("detail-type",)),
        source=_short(_required(obj, "source", "source", ()), ("source",)),
        time=_optional(obj, ("time", "time"), (), _moment, None),
        detail=_detail(_required(obj, "detail", "detail", ()), ("detail",)),
    )

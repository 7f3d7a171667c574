"""Schedules driven by the one local clock (`talentops.clock.SYSTEM_CLOCK` or any object with
`now()`): EventBridge rules with a ScheduleExpression and EventBridge Scheduler schedules,
both read from moto's backends in this process (moto stores them but never fires them).

Expressions: rate(N unit), cron(min hour day-of-month month day-of-week year) with `*`, `?`,
lists, ranges, steps and names (no L, W or #), and at(yyyy-mm-ddThh:mm:ss).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from .aws import AwsClients, arn_service
from .invoker import AsyncInvoker, json_path
from .log import get_logger
from .moto_patches import LOCK
from .plan import MirrorTarget

log = get_logger("schedules")
MAX_CATCH_UP = 100  # occurrences fired per schedule per tick; older ones are skipped

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_AT = re.compile(r"^at\(\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class Clock(Protocol):
    def now(self) -> datetime: ...


class ScheduleExpressionError(ValueError):
    pass


# -- expressions --------------------------------------------------------------------------------


class Expression(Protocol):
    def first(self, now: datetime) -> datetime | None: ...

    def after(self, fired: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def first(self, now: datetime) -> datetime | None:
        return now + self.period

    def after(self, fired: datetime) -> datetime | None:
        return fired + self.period


@dataclass(frozen=True)
class At:
    when: datetime

    def first(self, now: datetime) -> datetime | None:
        return self.when

    def after(self, fired: datetime) -> datetime | None:
        return None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: any (`?` or `*`)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday
    years: frozenset[int] | None
    zone: ZoneInfo

    def first(self, now: datetime) -> datetime | None:
        return self.after(now)

    def after(self, fired: datetime) -> datetime | None:
        local = fired.astimezone(self.zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.replace(hour=0, minute=0)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= local:
                            return candidate.astimezone(UTC)
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        return None

    def _day_matches(self, day: datetime) -> bool:
        weekday = (day.isoweekday() % 7) + 1  # Sunday = 1
        return (
            day.month in self.months
            and (self.years is None or day.year in self.years)
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )


@functools.lru_cache(maxsize=4096)
def parse_expression(expression: str, timezone: str | None = None) -> Expression:
    """The expression, parsed once (the ticker looks at every schedule every second)."""
    expression = expression.strip()
    zone = ZoneInfo(timezone or "UTC")
    if match := _RATE.match(expression):
        amount, unit = int(match.group(1)), match.group(2).rstrip("s")
        if amount <= 0:
            raise ScheduleExpressionError("rate must be positive")
        return Rate(timedelta(seconds=amount * _UNIT_SECONDS[unit]))
    if match := _AT.match(expression):
        return At(datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).astimezone(UTC))
    if match := _CRON.match(expression):
        return _parse_cron(match.group(1).split(), zone)
    raise ScheduleExpressionError(f"unsupported schedule expression: {expression}")


def _parse_cron(fields: list[str], zone: ZoneInfo) -> Cron:
    if len(fields) != 6:
        raise ScheduleExpressionError("cron needs 6 fields")
    minute, hour, day, month, weekday, year = fields
    return Cron(
        minutes=_field(minute, 0, 59, {}),
        hours=_field(hour, 0, 23, {}),
        days=None if day in ("?", "*") else _field(day, 1, 31, {}),
        months=_field(month, 1, 12, _MONTHS),
        weekdays=None if weekday in ("?", "*") else _field(weekday, 1, 7, _DAYS),
        years=None if year in ("?", "*") else _field(year, 1970, 2199, {}),
        zone=zone,
    )


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    if not values or min(values) < low or max(values) > high:
        raise ScheduleExpressionError(f"cron field {text} is out of range")
    return frozenset(values)


def _value(text: str, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():  # L, W, # and the like
        raise ScheduleExpressionError(f"cron value {text} is not supported locally")
    return int(text)


# -- engine ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSource:
    """One schedule found in a backend, with how to deliver an occurrence."""

    key: str
    expression: str
    timezone: str | None
    deliver: Callable[[datetime], None]
    start: datetime | None = None
    end: datetime | None = None
    on_completion: Callable[[], None] | None = None


class ScheduleEngine:
    """Fires what is due on the clock: from a background tick and after each clock advance."""

    def __init__(self, clock: Clock, sources: Callable[[], Iterator[ScheduleSource]]):
        self._clock = clock
        self._sources = sources
        self._lock = threading.Lock()
        self._next: dict[str, tuple[str, datetime | None]] = {}
        self._invalid: set[str] = set()

    def run_due(self) -> int:
        """Delivers every occurrence due by now; returns how many fired."""
        with self._lock:
            now = self._clock.now()
            fired = 0
            for source in list(self._sources()):
                fired += self._run_source(source, now)
            return fired

    def _run_source(self, source: ScheduleSource, now: datetime) -> int:
        identity = f"{source.expression}|{source.timezone}"
        if source.key in self._invalid:
            return 0
        known = self._next.get(source.key)
        if known is not None and known[0] == identity and (known[1] is None or known[1] > now):
            return 0  # nothing due (the expression was read when the schedule was first seen)
        try:
            expression = parse_expression(source.expression, source.timezone)
        except (ScheduleExpressionError, ValueError, KeyError):
            self._invalid.add(source.key)
            log.warning("schedule expression not supported locally", schedule=source.key)
            return 0
        due = known[1] if known and known[0] == identity else expression.first(now)
        fired = 0
        while due is not None and due <= now:
            if (
                fired < MAX_CATCH_UP
                and (source.start is None or due >= source.start)
                and (source.end is None or due <= source.end)
            ):
                self._deliver(source, due)
                fired += 1
            due = expression.after(due)
        if fired >= MAX_CATCH_UP:
            log.warning(
                "schedule skipped occurrences after the catch-up limit",
                schedule=source.key,
                limit=MAX_CATCH_UP,
            )
        self._next[source.key] = (identity, due)
        if due is None and fired and source.on_completion is not None:
            source.on_completion()
        return fired

    @staticmethod
    def _deliver(source: ScheduleSource, when: datetime) -> None:
        try:
            source.deliver(when)
        except Exception as exc:
            log.error(
                "schedule delivery failed", schedule=source.key, error_type=type(exc).__name__
            )


class ScheduleTicker(threading.Thread):
    def __init__(self, engine: ScheduleEngine, stop: threading.Event, seconds: float):
        super().__init__(name="schedule-ticker", daemon=True)
        self._engine = engine
        self._stop_event = stop
        self._seconds = seconds

    def run(self) -> None:
        while not self._stop_event.wait(self._seconds):
            try:
                self._engine.run_due()
            except Exception as exc:
                log.error("schedule tick failed", error_type=type(exc).__name__)


# -- sources in moto's backends ---------------------------------------------------------------


class MotoScheduleSources:
    """Scheduled rules (events backend) and Scheduler schedules (scheduler backend)."""

    def __init__(
        self,
        clients: AwsClients,
        rule_functions: dict[str, list[tuple[MirrorTarget, AsyncInvoker]]],
        functions: Callable[[str], AsyncInvoker | None],
    ):
        self._clients = clients
        self._config = clients.config
        self._rule_functions = rule_functions  # scheduled rule ARN -> its function targets
        self._functions = functions  # function ARN -> invoker
        self._sqs = clients.client("sqs")
        self._events = clients.client("events")
        self._scheduler = clients.client("scheduler")
        self._built: dict[str, tuple[Any, Any, ScheduleSource]] = {}

    def __call__(self) -> Iterator[ScheduleSource]:
        # A snapshot under the lock of moto's state (its dicts are written by other threads);
        # the deliveries run after it, without the lock.
        with LOCK:
            sources = [*self._rule_sources(), *self._scheduler_sources()]
        yield from sources

    def _rule_sources(self) -> Iterator[ScheduleSource]:
        from moto.events.models import events_backends

        backend = events_backends[self._config.account_id][self._config.region]
        for bus in list(backend.event_buses.values()):
            for rule in list(bus.rules.values()):
                if rule.scheduled_expression and rule.state == "ENABLED":
                    yield ScheduleSource(
                        key=rule.arn,
                        expression=rule.scheduled_expression,
                        timezone=None,
                        deliver=self._rule_delivery(rule.arn, list(rule.targets)),
                    )

    def _rule_delivery(
        self, rule_arn: str, targets: list[dict[str, Any]]
    ) -> Callable[[datetime], None]:
        def deliver(when: datetime) -> None:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": self._config.account_id,
                "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self._config.region,
                "resources": [rule_arn],
                "detail": {},
            }
            for target in targets:
                self._deliver_rule_target(target, dict(event))
            for function_target, invoker in self._rule_functions.get(rule_arn, []):
                payload = _rule_target_input(function_target.target_fields(), dict(event))
                invoker.invoke(payload)

        return deliver

    def _deliver_rule_target(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        arn = str(target.get("Arn", ""))
        payload = _rule_target_input(target, event)
        function = self._functions(arn)
        if function is not None:
            function.invoke(payload)
        elif arn_service(arn) == "sqs":
            self._sqs.send_message(
                QueueUrl=self._clients.queue_url(arn), MessageBody=json.dumps(payload)
            )
        else:
            log.warning(
                "scheduled rule target type not supported locally", service=arn_service(arn)
            )

    def _scheduler_sources(self) -> Iterator[ScheduleSource]:
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[self._config.account_id][self._config.region]
        built: dict[str, tuple[Any, Any, ScheduleSource]] = {}
        for group in list(backend.schedule_groups.values()):
            for schedule in list(group.schedules.values()):
                if schedule.state != "ENABLED":
                    continue
                # A schedule's source is made once, and again only when UpdateSchedule
                # changed it (a tick reads every schedule: a journey's timers number one or
                # two a candidate). Kept with the schedule itself: one deleted and created
                # again under its name is another object.
                modified = schedule.last_modified_date
                kept = self._built.get(schedule.arn)
                if kept is not None and kept[0] is schedule and kept[1] == modified:
                    source = kept[2]
                else:
                    source = ScheduleSource(
                        key=schedule.arn,
                        expression=schedule.schedule_expression,
                        timezone=schedule.schedule_expression_timezone,
                        deliver=self._scheduler_delivery(dict(schedule.target)),
                        start=_as_datetime(schedule.start_date),
                        end=_as_datetime(schedule.end_date),
                        on_completion=self._completion(schedule),
                    )
                built[schedule.arn] = (schedule, modified, source)
                yield source
        self._built = built  # the schedules deleted since the last tick are forgotten

    def _scheduler_delivery(self, target: dict[str, Any]) -> Callable[[datetime], None]:
        def deliver(when: datetime) -> None:
            arn = str(target.get("Arn", ""))
            raw_input = target.get("Input")
            if (invoker := self._functions(arn)) is not None:
                invoker.invoke(_parse_input(raw_input))
            elif arn_service(arn) == "sqs":
                group = (target.get("SqsParameters") or {}).get("MessageGroupId")
                extra = {"MessageGroupId": group} if group else {}
                self._sqs.send_message(
                    QueueUrl=self._clients.queue_url(arn), MessageBody=raw_input or "{}", **extra
                )
            elif arn_service(arn) == "events":
                parameters = target.get("EventBridgeParameters") or {}
                self._events.put_events(
                    Entries=[
                        {
                            "EventBusName": arn,
                            "Source": parameters.get("Source", "aws.scheduler"),
                            "DetailType": parameters.get("DetailType", "Scheduled Event"),
                            "Detail": raw_input or "{}",
                        }
                    ]
                )
            else:
                log.warning("schedule target type not supported locally", service=arn_service(arn))

        return deliver

    def _completion(self, schedule: Any) -> Callable[[], None] | None:
        if schedule.action_after_completion != "DELETE":
            return None

        def delete() -> None:
            self._scheduler.delete_schedule(Name=schedule.name, GroupName=schedule.group_name)

        return delete


def _rule_target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if target.get("Input") is not None:
        return _parse_input(target["Input"])
    if target.get("InputPath"):
        return json_path(event, str(target["InputPath"]))
    if target.get("InputTransformer"):
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        with_ingestion: Any = {**event, "ingestion-time": 0}
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=with_ingestion,
        )
    return event


def _parse_input(raw: Any) -> Any:
    if raw is None:
        return {}
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

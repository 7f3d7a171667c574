"""Content checked before it ships (`make check-content`, part of `make lint`).

What the loaders already refuse (the catalogue, the journeys, the metric definitions: every
problem at its file, path and line), plus what only the whole content can say:

- every variant of every message renders for generated profiles of each kind (complete,
  minimal, non-Latin names, no country): a field a template uses without a fallback is an
  error naming the template file and line, found before a candidate's send is;
- every event a journey enters on, waits for or exits on is one that the deployment routes
  to the journeys function (template.yaml's rules): a journey entering on an event nobody
  routes loads without error and never runs.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..journeys.model import Journey
from ..journeys.source import Problem

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ProfileKind:
    name: str
    fields: dict[str, str]


PROFILE_KINDS = (
    ProfileKind(
        "complete",
        {
            "email": "ada@example.org",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": "DE",
            "city": "Berlin",
            "timezone": "Europe/Berlin",
            "language": "en",
            "seniority": "senior",
            "role_family": "data",
        },
    ),
    ProfileKind("minimal", {"email": "min@example.org"}),
    ProfileKind(
        "non-latin",
        {"email": "li@example.org", "first_name": "李", "city": "東京", "country": "JP"},
    ),
    ProfileKind("no country", {"email": "nc@example.org", "first_name": "Sam"}),
)


def journey_events(journey: Journey) -> list[tuple[str, str]]:
    """(where, event) for every event a journey enters on, waits for or exits on."""
    found: list[tuple[str, str]] = []
    if journey.entry.event is not None:
        found.append(("entry.event", journey.entry.event))
    for index, step in enumerate(journey.steps):
        wait_for = getattr(step, "wait_for", None)
        if wait_for is not None:
            for position, on in enumerate(wait_for.events):
                found.append((f"steps[{index}].wait_for.events[{position}]", on.event))
    for index, exit_ in enumerate(journey.exit):
        if exit_.event is not None:
            found.append((f"exit[{index}].event", exit_.event))
    return found


def routing_problems(
    journeys: Iterable[Journey], routed: set[str], files: Mapping[str, str]
) -> list[Problem]:
    """A problem for every journey event that no rule routes to the journeys function."""
    problems = []
    for journey in journeys:
        file = files.get(journey.name, f"{journey.name}.yaml")
        for where, event in journey_events(journey):
            if event not in routed:
                problems.append(
                    Problem(
                        file,
                        None,
                        where,
                        f"{event!r} is not routed to the journeys function by any rule of "
                        "template.yaml: this journey would never see it",
                    )
                )
    return problems


def routed_events(template: Mapping[str, Any], function_id: str = "JourneysFunction") -> set[str]:
    """The detail-types that template.yaml's EventBridge rules route to `function_id`."""
    resource = (template.get("Resources") or {}).get(function_id) or {}
    events = (resource.get("Properties") or {}).get("Events") or {}
    routed: set[str] = set()
    for event in events.values():
        if event.get("Type") != "EventBridgeRule":
            continue
        types = ((event.get("Properties") or {}).get("Pattern") or {}).get("detail-type") or []
        routed.update(t for t in types if isinstance(t, str))
    return routed


# CSS that may fetch what the link gate does not read (delivery/links.py reads url(...)):
# an escape (\\75 rl( is url(), also written as an entity, image-set(), @import. Styles are
# written by template authors, never by a value, so the templates' sources are checked
# here once rather than every message at its send.
_CSS_UNREAD = re.compile(r"(?i)\\|&#(?:x0*5c|0*92)|&bsol;|image-set|@import")
_STYLES = re.compile(
    r"(?is)<style\b[^>]*>(.*?)(?:</style|$)|\bstyle[\t\n\f\r ]*=[\t\n\f\r ]*"
    r"(\"[^\"]*\"|'[^']*'|[^\t\n\f\r >]+)"
)


def css_problems(sources: Mapping[str, str]) -> list[Problem]:
    """A problem for every style sheet or style attribute of a template (``sources``: file
    -> text) that holds CSS the link gate does not read."""
    problems = []
    for file, text in sources.items():
        for match in _STYLES.finditer(text):
            css = match.group(1) if match.group(1) is not None else match.group(2)
            found = _CSS_UNREAD.search(css)
            if found is not None:
                problems.append(
                    Problem(
                        file,
                        text.count("\n", 0, match.start()) + 1,
                        "style",
                        f"{found.group(0)!r} in a style: the link gate reads url(...) only, so "
                        "write CSS without escapes, image-set() or @import",
                    )
                )
    return problems


_TEMPLATE_FRAME = re.compile(r'File "(?P<file>[^"]+\.(?:html|txt|j2|jinja))", line (?P<line>\d+)')


def render_problem(message: str, variant: str, kind: str, error: BaseException) -> Problem:
    """A render failure, at the template file and line the traceback names when it does."""
    file, line = "templates", None
    for match in _TEMPLATE_FRAME.finditer("".join(traceback.format_exception(error))):
        file = "templates/" + match.group("file").split("templates/", 1)[-1]
        line = int(match.group("line"))
    cause = error.__cause__ or error
    return Problem(
        file,
        line,
        f"{message}.{variant}",
        f"does not render for a {kind} profile: {str(cause)[:200]}",
    )


def render_all(
    variants: Iterable[tuple[str, str]],
    compose: Callable[[str, str, ProfileKind], Any],
) -> list[Problem]:
    """Compose every (message, variant) for every profile kind; a problem for each failure."""
    problems = []
    for message, variant in variants:
        for kind in PROFILE_KINDS:
            try:
                compose(message, variant, kind)
            except Exception as error:
                problems.append(render_problem(message, variant, kind.name, error))
    return problems


SAMPLE_SUBJECTS: dict[str, Any] = {
    "event": {
        "id": "ev-1",
        "name": "Data Summit",
        "starts_at": NOW + timedelta(days=3),
        "city": "Berlin",
        "url": "https://careers.example.com/events/summit",
    },
    "job": {
        "id": "job-1",
        "title": "Data Engineer",
        "role_family": "data",
        "seniority": "senior",
        "city": "Berlin",
        "country": "DE",
        "remote": False,
        "url": "https://careers.example.com/jobs/1",
    },
}

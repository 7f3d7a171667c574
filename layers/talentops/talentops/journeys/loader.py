"""Loading journey files: everything checked, every problem at its file and line, and nothing
of a file used unless all of it is valid.

Checked: the YAML itself (syntax, repeated keys); the shape (known keys, one known kind per
step, durations, times of day, windows that are not empty); and what the shape cannot say:
step ids unique and not reserved, every reference (then, goto, if_past) to a step that exists,
every message in the catalogue with the purpose the step states, anchors the journey's
subject has, conditions only on fields the system knows, every step reachable, and no loop
that could go round without a wait (it would send without end).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..content.catalogue import Catalogue
from ..content.rules import Rule, walk_rules
from .fields import field_problem, known_fields, unknown_name
from .model import (
    CATEGORY_PRIORITY,
    CATEGORY_PURPOSE,
    END,
    NEXT,
    RESERVED_IDS,
    STEP_KINDS,
    STEP_MODELS,
    AnyStep,
    BranchStep,
    EndStep,
    Journey,
    SendStep,
    WaitForStep,
    WaitStep,
    WaitUntilStep,
)
from .source import Path as LocPath
from .source import Problem, Source, SourceError, read_source

KnownMessages = Mapping[str, str] | Collection[str]


def messages_of(catalogue: Catalogue) -> dict[str, str]:
    """The catalogue's message names and their purposes, as the loader takes them."""
    return {name: spec.purpose for name, spec in catalogue.messages.items()}


def parse_journey(text: str, file: str, messages: KnownMessages) -> Journey:
    """One journey from YAML text; ``file`` names it in problems (and is its name: a journey
    in ``event.yaml`` is called ``event``). ``messages``: the catalogue's message names, with
    their purposes when a mapping. Raises SourceError listing every problem found."""
    source = read_source(text, file)
    return validate_journey(source, messages)


def load_journey_file(path: str | Path, messages: KnownMessages) -> Journey:
    path = Path(path)
    return parse_journey(_read_text(path), path.name, messages)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError([Problem(path.name, None, "", f"cannot be read: {exc}")]) from exc


# What `make build` writes beside the journey files (``compile_journeys_file``): the data of
# every file as JSON, keyed by the version of all of them together, so that a cold start
# reads JSON and never imports PyYAML (about 10 ms). A missing, stale or unreadable one is
# ignored, and a file whose data no longer validates (the catalogue changed) is read from
# its YAML, so that its problems name their lines.
COMPILED_NAME = "journeys.compiled.json"


def journeys_version(texts: Mapping[str, str]) -> str:
    """The version of a directory's journey files: the hash of every file's name and text."""
    from ..delivery.inputs import content_hash

    return content_hash("\0".join(f"{name}\0{text}" for name, text in sorted(texts.items())))


def _journey_texts(directory: Path) -> tuple[dict[str, str], list[Problem]]:
    """The text of every ``*.yaml`` of ``directory`` by file name, and the problems of those
    that cannot be read."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            texts[path.name] = _read_text(path)
        except SourceError as exc:
            problems.extend(exc.problems)
    return texts, problems


def load_journeys(directory: str | Path, messages: KnownMessages) -> list[Journey]:
    """Every ``*.yaml`` of a directory (templates/journeys), all or nothing: one SourceError
    with the problems of every file that has one."""
    directory = Path(directory)
    texts, problems = _journey_texts(directory)
    return _journeys_of(directory, texts, problems, messages)


def _journeys_of(
    directory: Path, texts: Mapping[str, str], problems: list[Problem], messages: KnownMessages
) -> list[Journey]:
    """The journeys of ``texts`` (read from ``directory``, with the ``problems`` of reading),
    from the compiled file where it is current."""
    from ..compiled import read_compiled

    journeys: list[Journey] = []
    compiled = read_compiled(directory / COMPILED_NAME, journeys_version(texts), "journeys")
    if not isinstance(compiled, dict):
        compiled = {}
    for file, text in texts.items():
        try:
            if file in compiled:
                try:
                    journeys.append(validate_journey(Source(file, compiled[file], None), messages))
                    continue
                except SourceError:
                    pass  # read again from the YAML, where its problems have lines
            journeys.append(parse_journey(text, file, messages))
        except SourceError as exc:
            problems.extend(exc.problems)
    names = [j.name for j in journeys]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(directory.name, None, "", f"two journeys are named {name!r}"))
    if problems:
        raise SourceError(problems)
    return journeys


def compile_journeys_file(directory: str | Path, messages: KnownMessages) -> Path:
    """Check every journey file as ``load_journeys`` does, then write their data as JSON
    with the version of the files (what ``load_journeys`` reads first). Refused, with
    SourceError, when a file is not valid or its JSON form would not load as the same
    journey as its YAML."""
    from ..compiled import compiled_json

    directory = Path(directory)
    target = directory / COMPILED_NAME
    target.unlink(missing_ok=True)  # the YAML is checked, and no stale file outlives it
    texts, problems = _journey_texts(directory)
    from_yaml = _journeys_of(directory, texts, problems, messages)
    data = {file: read_source(text, file).data for file, text in texts.items()}
    try:
        payload = compiled_json(journeys_version(texts), "journeys", data)
    except (TypeError, ValueError) as exc:
        raise SourceError(
            [Problem(directory.name, None, "", f"cannot be written as JSON: {exc}")]
        ) from exc
    again = json.loads(payload)["journeys"]
    for file, journey in zip(texts, from_yaml, strict=True):
        if validate_journey(Source(file, again[file], None), messages) != journey:
            raise SourceError(
                [Problem(file, None, "", "its JSON form does not load as the same journey")]
            )
    target.write_text(payload, encoding="utf-8")
    return target


def validate_journey(source: Source, messages: KnownMessages) -> Journey:
    data = source.data
    if not isinstance(data, dict):
        raise SourceError([source.problem((), "a journey file is a mapping (name, entry, ...)")])
    problems: list[Problem] = []
    steps = data.get("steps")
    step_models: list[Any] = []
    if isinstance(steps, list):
        for index, raw in enumerate(steps):
            step_models.append(_validate_step(source, index, raw, problems))
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        for problem in source.validation_problems(exc):
            # Step problems were reported, in better words, above (pydantic adds a "too
            # short" for the list when an item fails).
            if isinstance(steps, list) and steps and problem.path.startswith("steps"):
                continue
            if problem.path == "steps" and isinstance(steps, list):
                problems.append(source.problem(("steps",), "a journey needs at least one step"))
            else:
                problems.append(problem)
        problems.extend(_check_valid_steps(source, data, step_models, messages))
        raise SourceError(_ordered(problems)) from exc
    stem = Path(source.file).stem
    if stem != journey.name and source.file.endswith((".yaml", ".yml")):
        problems.append(
            source.problem(("name",), f"the journey in {source.file} must be named {stem!r}")
        )
    problems.extend(_check_references(source, journey, messages))
    if problems:
        raise SourceError(_ordered(problems))
    return _resolved(journey, messages)


def _check_valid_steps(
    source: Source, data: dict[str, Any], step_models: list[Any], messages: KnownMessages
) -> list[Problem]:
    """When some steps are broken, the cross-checks of the others (and of the rest of the
    file), so that one round of fixes sees every problem; references to a broken step's id
    count as known."""
    valid = [(i, m) for i, m in enumerate(step_models) if m is not None]
    if not valid:
        return []
    raw_steps = data.get("steps") or []
    raw_ids = {
        str(raw["id"])
        for raw in raw_steps
        if isinstance(raw, dict) and isinstance(raw.get("id"), str)
    }
    partial = {
        **data,
        "steps": [m.model_dump(mode="json", by_alias=True, exclude_none=True) for _, m in valid],
    }
    try:
        journey = Journey.model_validate(partial)
    except ValidationError:
        return []  # the rest of the file is broken too; its problems are reported
    return _check_references(
        source, journey, messages, positions=[i for i, _ in valid], known_ids=raw_ids
    )


def _ordered(problems: Iterable[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.file, p.line or 0))


def _validate_step(source: Source, index: int, raw: Any, problems: list[Problem]) -> Any:
    where: LocPath = ("steps", index)
    if not isinstance(raw, dict):
        problems.append(source.problem(where, "a step is a mapping (id and its kind)"))
        return None
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) > 1:
        problems.append(
            source.problem(where, f"a step has one kind; this one has {' and '.join(kinds)}")
        )
        return None
    if not kinds:
        others = [k for k in raw if k not in ("id", "description", "then")]
        label = f"step {raw.get('id')!r}" if isinstance(raw.get("id"), str) else "this step"
        unknown = f"unknown step type {others[0]!r}" if others else "no step type"
        problems.append(
            Problem(
                source.file,
                source.line((*where, others[0])) if others else source.line(where),
                f"steps[{index}]",
                f"{label}: {unknown}; a step is one of {', '.join(STEP_KINDS)}",
            )
        )
        return None
    model = STEP_MODELS[kinds[0]]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(source.validation_problems(exc, where))
        return None


def _references(step: Any) -> Iterator[tuple[LocPath, str]]:
    """Every step reference a step makes, with its path inside the step."""
    if getattr(step, "then", None) is not None:
        yield ("then",), step.then
    if isinstance(step, WaitUntilStep) and step.wait_until.if_past != NEXT:
        yield ("wait_until", "if_past"), step.wait_until.if_past
    if isinstance(step, WaitForStep):
        for i, on in enumerate(step.wait_for.events):
            if on.goto is not None:
                yield ("wait_for", "events", i, "goto"), on.goto
        if step.wait_for.timeout.goto is not None:
            yield ("wait_for", "timeout", "goto"), step.wait_for.timeout.goto
    if isinstance(step, BranchStep):
        for i, case in enumerate(step.branch):
            yield ("branch", i, "goto"), case.goto


def _rules(journey: Journey, where: list[int]) -> Iterator[tuple[LocPath, Rule]]:
    """Every rule of the journey, however deep in a group, at the path of its field."""
    found: list[tuple[LocPath, Rule]] = []
    found += walk_rules(journey.entry.segment or (), ("entry", "segment"))
    found += walk_rules(journey.entry.when, ("entry", "when"))
    for e, condition in enumerate(journey.exit):
        found += walk_rules(condition.when, ("exit", e, "when"))
    for s, step in zip(where, journey.steps, strict=True):
        if isinstance(step, BranchStep):
            for c, case in enumerate(step.branch):
                found += walk_rules(case.if_, ("steps", s, "branch", c, "if"))
    for path, rule in found:
        yield (*path, "field"), rule


def _check_references(
    source: Source,
    journey: Journey,
    messages: KnownMessages,
    *,
    positions: list[int] | None = None,
    known_ids: Collection[str] = (),
) -> list[Problem]:
    """Everything the shape cannot say. ``positions``: each step's index in the file, when
    ``journey`` holds only some of its steps (then the flow is not checked)."""
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    where = positions if positions is not None else list(range(len(journey.steps)))
    for index, step in zip(where, journey.steps, strict=True):
        at: LocPath = ("steps", index, "id")
        if step.id in RESERVED_IDS:
            problems.append(source.problem(at, f"{step.id!r} is reserved: name the step otherwise"))
        elif step.id in ids:
            problems.append(
                source.problem(
                    at, f"step id {step.id!r} is used twice (also steps[{ids[step.id]}])"
                )
            )
        else:
            ids[step.id] = index
    for index, step in zip(where, journey.steps, strict=True):
        for path, target in _references(step):
            if target not in ids and target not in RESERVED_IDS and target not in known_ids:
                problems.append(
                    source.problem(
                        ("steps", index, *path),
                        unknown_name("step", target, {*ids, *known_ids, END}),
                    )
                )
    subject = journey.entry.subject
    purposes = messages if isinstance(messages, Mapping) else None
    for index, step in zip(where, journey.steps, strict=True):
        here: LocPath = ("steps", index)
        if isinstance(step, SendStep):
            if step.send not in messages:
                text = unknown_name("message", step.send, list(messages), where="in the catalogue")
                problems.append(source.problem((*here, "send"), text))
            elif purposes is not None and step.purpose and purposes[step.send] != step.purpose:
                problems.append(
                    source.problem(
                        (*here, "purpose"),
                        f"message {step.send!r} has purpose {purposes[step.send]!r} in the "
                        f"catalogue, not {step.purpose!r}",
                    )
                )
        for path, anchor in _anchors(step):
            if anchor.startswith("event.") and subject != "event":
                problems.append(
                    source.problem(
                        (*here, *path),
                        f"anchor {anchor!r}: the journey's entry carries no event "
                        "(enter on a Candidate Event ... event)",
                    )
                )
        if isinstance(step, WaitForStep) and step.wait_for.subject == "same" and subject is None:
            problems.append(
                source.problem(
                    (*here, "wait_for", "subject"),
                    "subject same: the journey's entry has no subject; use subject: any",
                )
            )
    for index, condition in enumerate(journey.exit):
        if condition.subject == "same" and subject is None:
            problems.append(
                source.problem(
                    ("exit", index, "subject"), "subject same: the journey's entry has no subject"
                )
            )
    allowed = known_fields(subject)
    for path, rule in _rules(journey, where):
        problem = field_problem(rule.field, allowed)
        if problem is not None:
            problems.append(source.problem(path, problem))
    if not problems and positions is None:
        problems.extend(_check_flow(source, journey))
    return problems


def _anchors(step: Any) -> Iterator[tuple[LocPath, str]]:
    if isinstance(step, WaitUntilStep) and step.wait_until.anchor is not None:
        yield ("wait_until", "anchor"), step.wait_until.anchor
    if isinstance(step, WaitForStep) and step.wait_for.timeout.from_ is not None:
        yield ("wait_for", "timeout", "from"), step.wait_for.timeout.from_
    if isinstance(step, SendStep) and step.not_after is not None:
        yield ("not_after",), step.not_after


def successors(journey: Journey, step_id: str) -> list[str]:
    """The steps the journey can go to from ``step_id`` (END excluded)."""
    step = journey.step(step_id)
    out: list[str] = []
    if isinstance(step, EndStep):
        return out
    if isinstance(step, WaitForStep):
        out += [journey.resolve(step.id, on.goto) for on in step.wait_for.events]
        out.append(journey.resolve(step.id, step.wait_for.timeout.goto))
    elif isinstance(step, BranchStep):
        out += [case.goto for case in step.branch]
        out.append(journey.resolve(step.id, None))
    else:
        out.append(journey.resolve(step.id, None))
        if isinstance(step, WaitUntilStep) and step.wait_until.if_past != NEXT:
            out.append(step.wait_until.if_past)
    return [s for s in dict.fromkeys(out) if s != END]


def _waits_for_sure(step: Any) -> bool:
    """Steps that always let time pass before going on: a loop through one cannot spin."""
    return isinstance(step, WaitStep) or (
        isinstance(step, WaitUntilStep) and step.wait_until.anchor is None
    )


def _check_flow(source: Source, journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    index = {step.id: i for i, step in enumerate(journey.steps)}
    reached = {journey.steps[0].id}
    frontier = [journey.steps[0].id]
    while frontier:
        for nxt in successors(journey, frontier.pop()):
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    for step in journey.steps:
        if step.id not in reached:
            problems.append(
                source.problem(
                    ("steps", index[step.id], "id"),
                    f"step {step.id!r} can never be reached (no step goes to it)",
                )
            )
    # A cycle among steps that do not wait for sure would run round in one go.
    graph = {
        s.id: [n for n in successors(journey, s.id) if not _waits_for_sure(journey.step(n))]
        for s in journey.steps
        if not _waits_for_sure(s)
    }
    cycle = _find_cycle(graph)
    if cycle:
        loop = " -> ".join([*cycle, cycle[0]])
        problems.append(
            source.problem(
                ("steps", index[cycle[0]], "id"),
                f"the steps {loop} form a loop without a wait (a wait or a wait_until without "
                "anchor); it would go round without end",
            )
        )
    return problems


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _resolved(journey: Journey, messages: KnownMessages) -> Journey:
    """The journey with every send's purpose and priority filled in (from the catalogue, else
    from the journey's category), so that the version covers them and the engine need not ask
    the catalogue."""
    steps: list[AnyStep] = []
    for step in journey.steps:
        if isinstance(step, SendStep):
            purpose: str | None = step.purpose
            if purpose is None and isinstance(messages, Mapping):
                purpose = messages.get(step.send)
            update = {
                "purpose": purpose or CATEGORY_PURPOSE[journey.category],
                "priority": step.priority or CATEGORY_PRIORITY[journey.category],
            }
            if update["purpose"] == "transactional" and step.priority is None:
                update["priority"] = "transactional"
            steps.append(step.model_copy(update=update))
        else:
            steps.append(step)
    data = journey.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["steps"] = [s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in steps]
    return Journey.model_validate(data)


class JourneyRegistry:
    """The journeys in force, and the earlier versions that instances may still run on."""

    def __init__(self, journeys: Iterable[Journey], earlier: Iterable[Journey] = ()):
        self._current: dict[str, Journey] = {}
        self._versions: dict[tuple[str, str], Journey] = {}
        for journey in earlier:
            self._versions[(journey.name, journey.version)] = journey
        for journey in journeys:
            self._current[journey.name] = journey
            self._versions[(journey.name, journey.version)] = journey

    def current(self) -> list[Journey]:
        return list(self._current.values())

    def get(self, name: str, version: str) -> Journey | None:
        return self._versions.get((name, version))

    def remember(self, journey: Journey) -> None:
        """An earlier version read back from the version store."""
        self._versions[(journey.name, journey.version)] = journey

    def versions(self) -> list[Journey]:
        return list(self._versions.values())

"""YAML files that remember where each value came from, so that every problem found while
validating one (by pydantic or by a cross-reference check) names the file and the line.

The document is composed into YAML nodes (which carry their marks) and constructed from
them; a problem's path (``("steps", 2, "wait_for", "timeout")``, as pydantic's ``loc``) is
walked down the nodes to the deepest one that exists, whose line is reported.

The loader is YAML 1.1's safe loader without sexagesimal numbers: plain ``21:00`` stays the
text "21:00" (PyYAML would read it as the integer 1260), so times of day need no quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..content.rules import located_errors
from ..problems import Problem, SourceError, format_path

if TYPE_CHECKING:
    import yaml

Path = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


@lru_cache(maxsize=1)
def source_loader() -> Any:
    """The loader class: SafeLoader, minus base-60 numbers. Built on first use, so that code
    which only reports problems (or validates data that came as JSON) imports no PyYAML.
    The C (libyaml) parser when PyYAML has it (about ten times as fast as the pure-Python
    one); resolving and constructing stay PyYAML's, so the resolvers below apply to both."""
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class SourceLoader(base):  # type: ignore[valid-type,misc]
        """SafeLoader, minus base-60 numbers."""

    SourceLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    SourceLoader.add_implicit_resolver(
        _INT,
        re.compile(
            r"""^(?:[-+]?0b[0-1_]+
                |[-+]?0[0-7_]+
                |[-+]?(?:0|[1-9][0-9_]*)
                |[-+]?0x[0-9a-fA-F_]+)$""",
            re.X,
        ),
        list("-+0123456789"),
    )
    SourceLoader.add_implicit_resolver(
        _FLOAT,
        re.compile(
            r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""",
            re.X,
        ),
        list("-+0123456789."),
    )
    return SourceLoader


@dataclass
class Source:
    """A parsed document and the nodes it came from."""

    file: str
    data: Any
    root: yaml.Node | None

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line (1-based) of the deepest node on ``path`` (a key's own line for the last
        step into a mapping, so that "unknown key" points at the key)."""
        node = self.root
        if node is None:
            return None
        import yaml  # loaded already: the nodes came from it

        line = node.start_mark.line + 1
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                match = next(
                    ((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)),
                    None,
                )
                if match is None:
                    break
                key, node = match
                line = (key if last else node).start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        return Problem(self.file, self.line(path), format_path(path), message)

    def validation_problems(self, exc: ValidationError, prefix: Path = ()) -> list[Problem]:
        """pydantic's errors, each at its line, in words a file's author reads."""
        problems = []
        for at, error in located_errors(exc.errors()):
            loc: Path = prefix + at
            kind = error["type"]
            message = str(error["msg"]).removeprefix("Value error, ")
            if kind == "extra_forbidden" and loc:
                message = f"unknown key {loc[-1]!r}"
                problems.append(self.problem(loc, message))
                continue
            if kind == "missing" and loc:
                problems.append(self.problem(loc[:-1], f"missing {loc[-1]!r}"))
                continue
            problems.append(self.problem(loc, message))
        return problems


def _duplicate_keys(node: yaml.Node | None, file: str) -> list[Problem]:
    import yaml

    problems: list[Problem] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                name = str(getattr(key, "value", ""))
                if name in seen:
                    problems.append(
                        Problem(
                            file,
                            key.start_mark.line + 1,
                            "",
                            f"key {name!r} appears twice (first on line {seen[name]})",
                        )
                    )
                else:
                    seen[name] = key.start_mark.line + 1
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(problems, key=lambda p: p.line or 0)


def read_source(text: str, file: str) -> Source:
    """Parse one YAML document; a syntax error or a repeated key is a SourceError at its
    line."""
    import yaml

    loader = source_loader()(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise SourceError([Problem(file, None, "", "the file is empty")])
        problems = _duplicate_keys(root, file)
        if problems:
            raise SourceError(problems)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(x for x in (exc.context, exc.problem) if x) or "not valid YAML"
        raise SourceError([Problem(file, line, "", f"YAML: {what}")]) from exc
    except yaml.YAMLError as exc:
        raise SourceError([Problem(file, None, "", f"YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    return Source(file=file, data=data, root=root)

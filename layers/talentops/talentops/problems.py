"""Problems found in a data file (journey, campaign, catalogue, metrics): where and what.
Kept apart from the YAML source reader (journeys/source.py) so that code raising or listing
them does not import a YAML parser (a function reading its catalogue from the build's JSON
needs none)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import TalentOpsError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (file, line, path) and what."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SourceError(TalentOpsError):
    """A data file (journey, campaign) is not valid; ``problems`` lists each problem with its
    file and line. Nothing of the file is used."""

    code = "invalid_file"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def format_path(path: Sequence[str | int]) -> str:
    """``("steps", 2, "wait_for")`` -> ``steps[2].wait_for``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out

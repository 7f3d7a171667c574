"""The log redactor on hostile text: linear, and a megabyte well within a log call's budget.

Product: ``talentops.observability.redact`` (every pattern it applies) on strings made to
hurt a backtracking regular expression: long runs of address characters with no "@", many
"@" with no domain, addresses packed end to end, many ``input_value=`` with no
``, input_type=`` after them, many token and query-string prefixes.

Baseline, in the same run: the same shape at 64 KiB. A linear redactor takes 16 times as
long on 1 MiB (the ratio this module reports, per shape; a quadratic one, 256 times). The goal
is a ratio of at most 24 for every shape (a large output's allocations add a little to 16)
and at most 50 ms of CPU for 1 MiB of any of them.

Clock: time.process_time_ns; medians over repeats; the sizes run interleaved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import median, spread, time_interleaved, use_repository

SMALL = 64 * 1024
LARGE = 1024 * 1024
GOAL_RATIO = 24.0
GOAL_MS_PER_MIB = 50.0


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# name -> a function of the size: the text to redact.
SHAPES: dict[str, Callable[[int], str]] = {
    "address characters, no @": lambda n: _fill("a", n),
    "one address at the end of a run": lambda n: _fill("a", n - 12) + "@example.org",
    "@ after @": lambda n: _fill("@", n),
    "local part, @, no domain": lambda n: _fill("a@", n),
    "addresses end to end": lambda n: _fill("a@b.cc9", n),
    "addresses with spaces": lambda n: _fill("ada@example.org ", n),
    "domain of dots": lambda n: "x@" + _fill("a.", n - 2),
    "input_value= without input_type": lambda n: _fill("input_value='x' ", n),
    "input_value= then one input_type": lambda n: (
        _fill("input_value=", n - 16) + ", input_type=str"
    ),
    "token prefixes": lambda n: _fill("v1.", n),
    "query-string secrets": lambda n: _fill("&t=x", n),
}


def run(*, repeats: int = 7) -> dict[str, Any]:
    use_repository()
    from talentops.observability import redact

    shapes: dict[str, Any] = {}
    for name, make in SHAPES.items():
        small, large = make(SMALL), make(LARGE)
        assert len(small) == SMALL and len(large) == LARGE, name
        times = time_interleaved(
            {"small": lambda s=small: redact(s), "large": lambda s=large: redact(s)},
            iterations=1,
            repeats=repeats,
        )
        ms = {k: [v / 1e6 for v in values] for k, values in times.items()}
        ratio = median(ms["large"]) / median(ms["small"])
        shapes[name] = {
            "ms_64kib": spread(ms["small"]),
            "ms_1mib": spread(ms["large"]),
            "ratio_1mib_to_64kib": ratio,
        }
    worst_ratio = max(s["ratio_1mib_to_64kib"] for s in shapes.values())
    worst_ms = max(s["ms_1mib"]["median"] for s in shapes.values())
    return {
        "shapes": shapes,
        "worst_ratio": worst_ratio,
        "worst_ms_per_mib": worst_ms,
        "goal_ratio": GOAL_RATIO,
        "goal_ms_per_mib": GOAL_MS_PER_MIB,
        "met": worst_ratio <= GOAL_RATIO and worst_ms <= GOAL_MS_PER_MIB,
        "repeats": repeats,
        "clock": "process_time_ns",
    }


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The ratios, for the terminal (python -m bench)."""
    lines = [
        f"[redaction] 1 MiB against 64 KiB of the same hostile shape: worst "
        f"{result['worst_ratio']:.1f}x (linear: 16x; goal <= {result['goal_ratio']:.0f}x), "
        f"worst {result['worst_ms_per_mib']:.1f} ms per MiB (goal <= "
        f"{result['goal_ms_per_mib']:.0f} ms) {'met' if result['met'] else 'NOT MET'}"
    ]
    for name, shape in result["shapes"].items():
        lines.append(
            f"    {name}: {shape['ratio_1mib_to_64kib']:.1f}x, "
            f"{shape['ms_1mib']['median']:.1f} ms per MiB"
        )
    return lines


if __name__ == "__main__":
    for line in summary_lines(run()):
        print(line)

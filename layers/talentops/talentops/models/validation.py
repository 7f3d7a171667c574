"""Validation errors in words that carry no input: where (the field path) and what (the
rule), never the value. With `hide_input_in_errors` on every model, pydantic's messages
still quote input in two places: a discriminator's unknown tag ("Input tag 'x' found ...")
and the key of an unknown field (in the location). Both are replaced here; every reason
that leaves the system (a DLQ's ErrorMessage, an API error, a log line) is made by
`summary`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

# A location part that is a name the models could define; anything else came from the input.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def location(loc: Sequence[Any], skip: Sequence[str] = ()) -> str:
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(str(part))
        elif isinstance(part, str) and part in skip:
            continue
        else:
            parts.append(part if isinstance(part, str) and _NAME.match(part) else "?")
    return ".".join(parts)


def message(error: Any) -> str:
    kind = error.get("type")
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        return f"unknown {ctx.get('discriminator', 'tag')}: expected {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        ctx = error.get("ctx") or {}
        return f"missing {ctx.get('discriminator', 'tag')}"
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


def summary(exc: ValidationError, *, limit: int = 5, skip: Sequence[str] = ()) -> str:
    """ "where: what" for the first `limit` errors, joined with "; "."""
    parts = []
    for error in exc.errors(include_input=False)[:limit]:
        where = location(error.get("loc", ()), skip) or "detail"
        parts.append(f"{where}: {message(error)}")
    return "; ".join(dict.fromkeys(parts))

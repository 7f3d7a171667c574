"""Plain values of the contract that code without pydantic models needs too: the seniority
ladder and the form under which an address is matched. models/events.py builds its models on
them; the SES feedback path and the matching index import them from here, so that they load
no pydantic model."""

from __future__ import annotations

import contextlib

SENIORITY_LEVELS: tuple[str, ...] = (
    "intern",
    "junior",
    "mid",
    "senior",
    "lead",
    "principal",
    "executive",
)


def ascii_domain(domain: str) -> str:
    """An internationalized domain in the ASCII form that SES and DNS take (punycode, with
    Python's IDNA codec); an ASCII domain as it is. UnicodeError when it is not a valid
    internationalized domain name."""
    if domain.isascii():
        return domain
    return domain.encode("idna").decode("ascii")


def normalize_email(value: str) -> str:
    """Case-insensitive, trimmed, the domain in its ASCII (punycode) form: the form under
    which an address is matched. ``a@Bücher.de`` and ``A@xn--bcher-kva.de`` are one."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if at and domain and not domain.isascii():
        with contextlib.suppress(UnicodeError):  # not one ingest accepts: matched as written
            value = f"{local}@{ascii_domain(domain)}"
    return value.lower()

"""What journey and campaign conditions may name: candidate events, their subjects, the
profile fields and the behaviours the talent pool keeps. A condition on anything else is a
typo or a field the system does not have; loading refuses it and says which."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from difflib import get_close_matches

from ..delivery.decide import PROFILE_FIELDS, behaviour_kind

# Candidate events a journey can start on, wait for or exit on, and what each is about: the
# subject whose id identifies it (event.id, job.id) and which the render context carries.
CANDIDATE_EVENTS: Mapping[str, str | None] = {
    "Candidate Event Registered": "event",
    "Candidate Event Attended": "event",
    "Candidate Event No-Show": "event",
    "Candidate Job Viewed": "job",
    "Candidate Application Started": "job",
    "Candidate Application Submitted": "job",
    "Candidate Page Viewed": None,
    "Candidate Profile Updated": None,
    "Candidate Consent Changed": None,
}

SUBJECT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "event": ("id", "name", "starts_at", "city", "url"),
    "job": ("id", "title", "role_family", "seniority", "city", "country", "remote", "url"),
}


BEHAVIOUR_KINDS = frozenset(
    {behaviour_kind(d) for d in CANDIDATE_EVENTS}
    | {"email_opened", "email_delivered", "message_sent", "consent_expiring"}
)
BEHAVIOUR_ATTRIBUTES = ("at", "subject_id", "event_id")


def known_fields(subject: str | None = None) -> list[str]:
    """Every field a condition may name, given what the journey is about."""
    fields = [f"candidate.{name}" for name in PROFILE_FIELDS]
    fields += [f"behaviours.{k}.{a}" for k in sorted(BEHAVIOUR_KINDS) for a in BEHAVIOUR_ATTRIBUTES]
    if subject is not None:
        fields += [f"{subject}.{name}" for name in SUBJECT_FIELDS[subject]]
    return fields


def field_problem(field: str, allowed: Collection[str]) -> str | None:
    """None when ``field`` may be named; else what is wrong with it, with a suggestion."""
    if field in allowed:
        return None
    head = field.split(".", 1)[0]
    if head in SUBJECT_FIELDS and not any(a.startswith(f"{head}.") for a in allowed):
        return f"unknown field {field!r}: this has no {head} (its entry carries none)"
    close = get_close_matches(field, list(allowed), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    profile = ", ".join(PROFILE_FIELDS)
    return (
        f"unknown field {field!r}{hint} (profile fields are candidate.<name> with <name> one "
        f"of {profile}; behaviours are behaviours.<kind>.at|subject_id|event_id)"
    )


def unknown_name(
    kind: str, name: str, known: Collection[str], *, where: str = "known", limit: int = 12
) -> str:
    """``"message 'x' is not in the catalogue; did you mean 'y'? (known: ...)"``."""
    close = get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    names = sorted(known)
    shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
    return f"{kind} {name!r} is not {where}{hint} (known: {shown or 'none'})"

"""A clicked link as the lake and the engagement facts keep it: without its credentials (its
own module, so that the lake transform imports no event model for it)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that carry a credential (a link token) and never leave the email.
TOKEN_PARAMETERS = frozenset({"t", "token"})


def without_token(url: str) -> str:
    """The link without its token parameters (and without userinfo or a fragment)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = urlencode([(k, v) for k, v in query if k.lower() not in TOKEN_PARAMETERS])
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, kept, ""))

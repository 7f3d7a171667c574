"""Where an email may link: the careers site's origin, the API's own origin (unsubscribe,
preferences) and the origins of ``LINK_ORIGINS``. Nothing else is ever rendered.

Two layers, both here:

- ``LinkRule.allows`` decides one URL. A link is absolute ``http(s)`` on an allowed origin
  (scheme, host and port compared, never by prefix), printable ASCII only (no whitespace,
  control characters, backslashes or unicode lookalikes) and without userinfo
  (``https://careers.example.com@evil.example`` is evil.example's). The render context
  drops a subject's page URL (an event's, a job's) that it refuses, and the email links to
  the careers site's list instead.
- ``LinkRule.check`` is the gate after rendering: every URL attribute of the HTML part
  (``href``, ``src``, ...), every ``url(...)`` in its styles, every URL in its text, in the
  text part and in the subject must be allowed; otherwise the message is not sent
  (``RenderError``: suppressed ``render_error``, the reason naming the rule, not the URL).

A client also makes links of text with no scheme at all: a domain (``evil.com/login``) or an
address. The gate does not look for those; the render context shows every value a candidate
or a producer wrote inert instead (delivery/context.py, ``inert``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

from ..errors import RenderError

Origin = tuple[str, str, int]

DEFAULT_PORTS = {"http": 80, "https": 443}
RULE = (
    "every link must be on the careers site's origin, the API's origin or an origin of LINK_ORIGINS"
)

# Printable ASCII without space: a URL with whitespace, control or non-ASCII characters is
# refused whole (browsers strip or fold such characters, so what is checked would not be
# what is followed).
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")
# URLs in running text, as mail clients would make links of them: anything with a scheme
# and "//" (found from its "://", the scheme read backwards), "www." hosts, and the schemes
# that need no "//". Literal searches, so that a long text costs one pass per marker.
_SCHEME_BEFORE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]{0,31}$")
_URL_REST = re.compile(r"[^\s<>\"'`]*")
_BARE_SCHEMES = ("javascript:", "vbscript:", "data:", "file:")
_CSS_URL = re.compile(r"(?i)url\(\s*(['\"]?)(.*?)\1\s*\)")
# Attributes whose value a client may fetch or follow.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "background",
        "poster",
        "cite",
        "longdesc",
        "lowsrc",
        "dynsrc",
        "xlink:href",
        "data",
        "manifest",
        "ping",
        "srcset",
    }
)


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL that may be compared; None for anything else
    (relative, protocol-relative, another scheme, userinfo, a bad port, unsafe
    characters)."""
    if not _PRINTABLE.match(url) or "\\" in url:
        return None
    # The origin is read before any query or fragment (urlsplit's scheme ends at the first
    # ":" and holds no "?" or "#"; its netloc ends at the first "/", "?" or "#"), so the
    # URL without them has the same: one parse per page, not per signed token.
    query = url.find("?")
    fragment = url.find("#")
    if query != -1 or fragment != -1:
        url = url[: min(i for i in (query, fragment) if i != -1)]
    return _origin(url)


@lru_cache(maxsize=1024)  # the site's pages: a handful, across messages
def _origin(url: str) -> Origin | None:
    """origin_of for a printable URL without query or fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc or "@" in parts.netloc:
        return None
    host = parts.hostname
    if not host:
        return None
    return parts.scheme, host, port if port is not None else DEFAULT_PORTS[parts.scheme]


def parse_origins(value: str | Iterable[str]) -> tuple[str, ...]:
    """``LINK_ORIGINS`` (comma or space separated) as a tuple of origins; ValueError naming
    the entry that is not an origin (``https://host[:port]``, no path, query or userinfo)."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    out = []
    for item in items:
        parts = urlsplit(item)
        if origin_of(item) is None or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{item!r} is not an origin (scheme://host[:port])")
        out.append(item.rstrip("/"))
    return tuple(out)


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query (before any fragment)."""
    return with_encoded_query(url, query_of(params))


def query_of(params: dict[str, str]) -> str:
    """``params`` as urlencode writes them (a token's parameter once for all its links)."""
    if len(params) == 1:  # a link's token: one parameter, without a generator per link
        ((key, value),) = params.items()
        return f"{key}={value}" if _UNRESERVED.fullmatch(f"{key}{value}") else urlencode(params)
    if all(_UNRESERVED.fullmatch(f"{k}{v}") for k, v in params.items()):
        return "&".join(f"{k}={v}" for k, v in params.items())  # what urlencode gives
    return urlencode(params)


def with_encoded_query(url: str, added: str) -> str:
    """``url`` with ``added`` (a query_of) added to its query (before any fragment)."""
    base, query, fragment = _split_for_query(url)
    query = f"{query}&{added}" if query else added
    return f"{base}?{query}{fragment}" if query else f"{base}{fragment}"


# What urlencode (quote_plus) leaves as it is: a signed token, a parameter's name.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


@lru_cache(maxsize=256)  # the site's own pages: a handful, with a token added to each
def _split_for_query(url: str) -> tuple[str, str, str]:
    """``url`` as urlunsplit writes it without query and fragment, its query, and "#"
    with its fragment (or ""): urlunsplit appends "?query" and "#fragment" to the rest."""
    parts = urlsplit(url)
    base = urlunsplit(SplitResult(parts.scheme, parts.netloc, parts.path, "", ""))
    return base, parts.query, f"#{parts.fragment}" if parts.fragment else ""


@dataclass(frozen=True)
class LinkRule:
    """The origins an email may link to, and which of them is the careers site's."""

    origins: frozenset[Origin]
    careers: Origin | None

    @classmethod
    def of(cls, careers_site_url: str, api_base_url: str, extra: Iterable[str] = ()) -> LinkRule:
        careers = origin_of(careers_site_url)
        found = {o for o in (origin_of(u) for u in (careers_site_url, api_base_url, *extra)) if o}
        return cls(frozenset(found), careers)

    def allows(self, url: str | None) -> bool:
        return bool(url) and origin_of(str(url)) in self.origins

    def on_careers_site(self, url: str) -> bool:
        """Whether ``url`` is on the careers site's own origin (its links carry the link
        token; other allowed origins never see it)."""
        return self.careers is not None and origin_of(url) == self.careers

    def refused(self, html: str, text: str, subject: str = "") -> list[str]:
        """Which parts hold a link that is not allowed (names of parts, never the URLs)."""
        parts = []
        allowed: dict[str, bool] = {}  # a message repeats its links: each is read once

        def allows(url: str) -> bool:
            if url not in allowed:
                allowed[url] = self.allows(url)
            return allowed[url]

        if any(not (allows(u) or _in_document(u)) for u in html_urls(html)):
            parts.append("html")
        if any(not allows(_absolute(u)) for u in _text_urls(text)):
            parts.append("text")
        if any(not allows(_absolute(u)) for u in _text_urls(subject)):
            parts.append("subject")
        return parts

    def check(self, html: str, text: str, subject: str = "") -> None:
        """RenderError when any part links outside the allowed origins."""
        parts = self.refused(html, text, subject)
        if parts:
            raise RenderError(f"link outside the allowed origins in the {'/'.join(parts)}: {RULE}")


def _text_urls(text: str) -> Iterator[str]:
    lowered = ascii_lowered(text)
    for marker in (b"://", b"www.", *_BARE_SCHEMES_B):
        at = lowered.find(marker)
        run_end = -1  # where the run of URL characters of the last "://" ends
        while at != -1:
            rest = at + len(marker)
            if marker == b"://":
                # Every "://" is read, those inside another URL's run too: a client may end
                # the first at a quote written as "&#34;" or at a bracket and link the second
                # on its own. A run ends at the same place from anywhere in it, so it is
                # matched once however many "://" it holds.
                if at >= run_end:
                    run_end = _URL_REST.match(text, rest).end()  # type: ignore[union-attr]
                yield text[_scheme_start(text, at) : run_end]
                at = lowered.find(marker, rest)
                continue
            end = _URL_REST.match(text, rest).end()  # type: ignore[union-attr]
            if (
                (at == 0 or not text[at - 1].isalnum())
                and (end > rest or marker == b"www.")
                and not lowered.endswith(b"://", 0, at)  # the "://" before it found that URL
            ):
                yield text[at:end]
            at = lowered.find(marker, max(end, at + 1))


_BARE_SCHEMES_B = tuple(s.encode("ascii") for s in _BARE_SCHEMES)


def ascii_lowered(text: str) -> bytes:
    """``text`` with its ASCII letters lowered, one byte for each character (any character
    beyond Latin-1 is "?"), for finding ASCII markers (``www.``, ``javascript:``) in any
    case at the positions of ``text``. Where ``text.lower()`` would find a marker this
    finds it at the same place: the only characters beyond ASCII whose lower case holds
    ASCII are KELVIN SIGN ("k", in no marker) and "\u0130" (which lowers to two characters,
    so that ``text.lower()``'s positions were not those of ``text``: here they are). Encoding
    a Latin-1 string copies it; ``str.lower`` on a string with one "ü" reads each character
    through the Unicode tables (about 3 ns a character)."""
    return text.encode("latin-1", "replace").lower()


_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _scheme_start(text: str, at: int) -> int:
    """Where the scheme before the "://" at ``at`` starts (``at`` when there is none): what
    ``_SCHEME_BEFORE.search(text, max(0, at - 32), at)`` finds, without trying the pattern
    from each of the 32 positions before ``at``. The run of scheme characters ends at ``at``
    (or before a newline just before it, where ``$`` also matches); the scheme starts at its
    first letter no further back than 32 characters."""
    low = max(0, at - 32)
    end = at - 1 if at > low and text[at - 1] == "\n" else at
    start = end
    while start > low and text[start - 1] in _SCHEME_CHARS:
        start -= 1
    while start < end and text[start] not in _LETTERS:
        start += 1
    return start if start < end else at


def _in_document(url: str) -> bool:
    """A fragment of the message itself (``#top``): it leads nowhere else."""
    return url.startswith("#") and bool(_PRINTABLE.match(url))


def _absolute(url: str) -> str:
    """A "www." host in text is followed as http://www...."""
    return f"http://{url}" if url[:4].lower() == "www." else url


# The HTML part, read the way a client reads it: every start tag (those inside Outlook's
# conditional comments too), its attributes quoted or not, entities decoded.
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9:-]*)([\s/][^>]*)?/?>")
# An attribute, its "=value" part a group of its own (for findall: the attribute has a value
# when that group is not empty; then exactly one of the value groups matched, maybe empty).
# HTML's spaces only (tab, line feed, form feed, carriage return, space): to a browser a
# no-break space or a vertical tab is part of a name or a value.
_HTML_SPACE = r"\t\n\f\r "
_ATTR = re.compile(
    rf"""([^{_HTML_SPACE}"'<>/=]+)"""
    rf"""([{_HTML_SPACE}]*=[{_HTML_SPACE}]*(?:"([^"]*)"|'([^']*)'|([^{_HTML_SPACE}"'=<>`]+)))?"""
)
_NAMES = "|".join(sorted((re.escape(n) for n in URL_ATTRIBUTES), key=len, reverse=True))
_FOLLOWED = re.compile(rf"(?<![\w:-])(?:{_NAMES}|http-equiv)\s*=")  # on lower case
# Entities that only ever stand for spacing or markup characters; any other is decoded
# before the text is searched for URLs.
_DECODES = re.compile(r"&(?!(?:nbsp|zwnj|zwj|shy|middot|amp|lt|gt|quot|#847|#160|#39|#34);)")
_MARKUP = re.compile(r"<!--(?:-?>|.*?--!?>)|<[a-zA-Z/!?][^>]*>", re.S)


# The followed attributes found from their "=": the document is searched reversed, so
# that the pattern starts with a literal (which the regular expression engine scans for
# quickly) instead of trying every name at every character; (?![\w:-]) after a reversed
# name is _FOLLOWED's look-behind. The document is not lowered: each letter of a name is
# matched by the characters that lower to it (both ASCII cases; for "k" KELVIN SIGN too,
# the only other character whose lower case is an ASCII letter of one character), and
# lowering keeps whether a character is a space or a word character, so this finds in
# the document what _FOLLOWED_REVERSED would find in the lowered document. Lowering an
# 11 KB part with one "ü" cost about 30 us.
def _any_case(char: str) -> str:
    """A pattern of the characters whose lower case is ``char``."""
    if char.isascii() and char.isalpha():
        return f"[{char}{char.upper()}{chr(0x212A) if char == 'k' else ''}]"
    return re.escape(char)


def _trie(words: Iterable[str]) -> str:
    """One pattern for ``words`` in any case, as a tree of their common starts (a branch
    of 16 names tried one after the other cost twice as much at each "="). At most one
    word can match at a place followed by _FOLLOWED_REVERSED's look-ahead (a name that
    starts another is followed there by a letter or ":"), so the order tried is free."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        alternatives = [_any_case(c) + pattern(sub) for c, sub in sorted(node.items()) if c]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
        return f"(?:{body})?" if "" in node else body

    return pattern(tree)


_FOLLOWED_REVERSED = re.compile(
    r"=\s*" + _trie(n[::-1] for n in [*URL_ATTRIBUTES, "http-equiv"]) + r"(?![\w:-])"
)
# "url(" in any case, reversed (in the lowered document, "url(" is exactly this).
_CSS_URL_REVERSED = re.compile(r"\([lL][rR][uU]")
# The one character whose lower case is longer: positions in the lowered document would
# not be positions in the document.
_LOWERS_LONGER = "\u0130"


def html_urls(html: str) -> list[str]:
    """Every URL a client may follow or fetch in an HTML document: URL attributes,
    ``url(...)`` anywhere (styles), the target of a meta refresh, and URLs in the text."""
    reversed_html = html[::-1]
    tags = _followed_tags(html, reversed_html)
    if tags is None:  # lowering would change a length: read every tag
        tags = [m for m in _TAG.finditer(html) if _FOLLOWED.search((m.group(2) or "").lower())]
    urls: list[str] = []
    for match in tags:
        urls += _tag_urls(match)
    # An entity that may spell part of a URL (&#58; is ":") or of a style's url( (&#40; is
    # "("; a style attribute's value is decoded before it is read as CSS): the styles and
    # the text are read decoded.
    decoded = _DECODES.search(html) is not None
    styles = unescape(html) if decoded else html
    if _CSS_URL_REVERSED.search(styles[::-1] if decoded else reversed_html):
        urls += [unescape(m.group(2)) for m in _CSS_URL.finditer(styles)]
    text = _MARKUP.sub(" ", html)
    if decoded:
        text = unescape(text)
    urls += [_absolute(u) for u in _text_urls(text)]
    return urls


def _followed_tags(html: str, reversed_html: str | None = None) -> list[re.Match[str]] | None:
    """The matches of _TAG.finditer(html) whose lowered attributes _FOLLOWED finds a name
    in, in order, without a step for each of the other tags; None when the lowered
    document's positions are not the document's (a character lowers to two).

    A followed name at p lies in the attributes of the tag that _TAG.finditer reaches:
    the first "<" after the last ">" before p where _TAG matches (no tag's attributes
    hold a ">", so the scan resumes at or before that ">", and every match from there
    ends at the first ">" after p)."""
    if _LOWERS_LONGER in html:
        return None
    if reversed_html is None:
        reversed_html = html[::-1]
    size = len(html)
    hits = sorted(size - m.end() for m in _FOLLOWED_REVERSED.finditer(reversed_html))
    tags: list[re.Match[str]] = []
    taken = -1  # the end of the last tag taken
    for p in hits:
        if p < taken:
            continue  # another name of the same tag
        at = html.rfind(">", 0, p) + 1
        while (at := html.find("<", at, p)) != -1:
            match = _TAG.match(html, at)
            if match is not None:
                if match.group(2) is not None and match.start(2) < p:
                    tags.append(match)
                    taken = match.end()
                break
            at += 1
    return tags


# The attributes _tag_urls reads; the others are skipped unread.
_READ_ATTRIBUTES = URL_ATTRIBUTES | {"http-equiv", "content"}


def _tag_urls(match: re.Match[str]) -> list[str]:
    urls: list[str] = []
    tag = match.group(1).lower()
    attrs: dict[str, str] = {}
    for name, valued, double, single, bare in _ATTR.findall(match.group(2)):
        if valued and (name := name.lower()) in _READ_ATTRIBUTES:
            value = unescape(double or single or bare)
            attrs.setdefault(name, value)  # a browser keeps an attribute's first value
            # ... but every value of a repeated one is read (whichever a client keeps)
            if name == "srcset":  # candidates separated by commas, each a URL and a size
                urls += [c for part in value.split(",") for c in part.split()[:1]]
            elif name == "ping":  # URLs separated by spaces (read at commas too)
                urls += value.replace(",", " ").split()
            elif name in URL_ATTRIBUTES:
                urls.append(value.strip())
    if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
        urls.append(attrs.get("content", "").partition("=")[2].strip())
    return urls

"""Emails link only where they should (issue 11): every message of the catalogue, every
variant, rendered with hostile job and event input (what a tracking call or a behaviour event
could carry), and every href / src of the HTML part and every URL of the text part parsed
here, independently of the code under test, and held to the allowed origins.

A hostile page URL is dropped (the email links to the careers site's list instead); hostile
text that reads as a link makes the message refused (RenderError, recorded as suppressed
render_error) with a reason that names the rule, never the URL. The job nurture takes its
job from the listings, never from the event that started it.
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from talentops.content.catalogue import Catalogue, MessageSpec, Variant, load_catalogue
from talentops.delivery.compose import compose_email
from talentops.delivery.context import Brand, Links, build_links, inert
from talentops.delivery.links import LinkRule, parse_origins
from talentops.errors import RenderError
from talentops.journeys.runtime import JourneyRuntime
from talentops.models.careers import TrackJobViewed
from talentops.models.state import ConsentState, Decision, FieldValue, Profile
from talentops.tokens import TokenSigner
from talentops.tracking.service import behaviour_event

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
CAREERS = "https://careers.example.com"
API = "https://api.example.com"
EVENTS_PLATFORM = "https://events.example.org"  # LINK_ORIGINS
# The allowed origins as this test sees them: scheme, host, port.
ALLOWED = {("https", "careers.example.com", 443), ("https", "api.example.com", 443)} | {
    ("https", "events.example.org", 443)
}
BRAND = Brand(
    company_name="Example Corp",
    sender_name="Example Careers",
    sender_address="careers@example.com",
    postal_address="1 Example Street, Dublin",
    careers_site_url=CAREERS,
    api_base_url=API,
    link_origins=(EVENTS_PLATFORM,),
)
SIGNER = TokenSigner(b"0123456789abcdef0123456789abcdef")

# URLs a tracking call or a producer could put where a page URL goes.
HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "\tjavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "https://evil.example/login",
    "http://evil.example/login",
    "//evil.example/login",
    "///evil.example/login",
    "https://careers.example.com@evil.example/login",
    "https://careers.example.com:443@evil.example/login",
    "https://user:pass@careers.example.com/jobs",
    "https://careers.example.com.evil.example/jobs",
    "https://careers.example.com\\@evil.example/login",
    "https:\\\\evil.example\\login",
    "https://careers.ex\u0430mple.com/jobs",  # a Cyrillic "a"
    "https://careers.example.com\uff0f@evil.example/",  # a fullwidth solidus
    "https://xn--careers-exmple-8ag.com/jobs",
    "https://careers.example.com%2F@evil.example/",
    "https://evil.example/#https://careers.example.com/",
    "https://evil.example/?next=https://careers.example.com/",
    "http://careers.example.com/jobs",  # not the careers site's scheme
    "https://careers.example.com:8443/jobs",  # nor its port
    "https://ca\nreers.example.com/jobs",
    "careers.example.com/jobs",
    "/jobs/relative",
]
# Text that reads as a link where a job title, an event name or a first name goes.
LINKY_TEXT = [
    "URGENT: sign in at https://evil.example/login",
    "www.evil.example",
    "javascript:alert(1)",
    "hxxp https://careers.example.com@evil.example/",
    '"><a href="https://evil.example/login">Sign in</a>',
]
# Text that is only text, however hostile it looks.
HOSTILE_TEXT = [
    "URGENT: your account is locked",
    '"><b onclick="x()">Sign in</b>',
    "<img src=x onerror=alert(1)>",
    "{{ links.unsubscribe }}{% raw %}",
]


# -- an independent check of what a rendered email links to ---------------------------------


class _Links(HTMLParser):
    """Every href and src (and the other attributes a client follows) of an HTML part."""

    ATTRIBUTES = {"href", "src", "action", "formaction", "background", "poster", "srcset"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in self.ATTRIBUTES and v is not None]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


_TEXT_URL = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.\-]*://|\bwww\.|\b(?:javascript|vbscript|data):(?=\S))[^\s<>\"']*"
)


def _origin(url: str) -> tuple[str, str, int] | None:
    if not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url) or "\\" in url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def _parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert isinstance(html, EmailMessage) and isinstance(text, EmailMessage)
    return message, str(html.get_content()), str(text.get_content())


def links_of(raw: bytes) -> list[str]:
    """Every URL of the email: HTML attributes, URLs in the HTML's text and the text part,
    and List-Unsubscribe's."""
    message, html, text = _parts(raw)
    parser = _Links()
    parser.feed(html)
    parser.close()
    urls = list(parser.urls)
    urls += _TEXT_URL.findall(" ".join(parser.text))
    urls += _TEXT_URL.findall(text)
    urls += re.findall(r"<(https?://[^>]+)>", str(message["List-Unsubscribe"]))
    return urls


def assert_links_allowed(raw: bytes) -> list[str]:
    urls = links_of(raw)
    assert urls, "an email without a single link: the parse found nothing"
    for url in urls:
        assert _origin(url) in ALLOWED, f"a link outside the allowed origins: {url!r}"
    return urls


# -- rendering every message ------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(str(ROOT / "templates"))


def _profile(first_name: str = "Ada") -> Profile:
    profile = Profile(candidate_id="c_abc123")
    fields = {
        "email": "ada@example.org",
        "first_name": first_name,
        "country": "DE",
        "city": "Berlin",
        "timezone": "Europe/Berlin",
        "language": "en",
        "seniority": "mid",
        "role_family": "data",
    }
    for name, value in fields.items():
        profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=NOW)
    for purpose in ("events", "marketing", "job_alerts"):
        profile.consent[purpose] = ConsentState(
            status="granted", source="talent.crm", observed_at=NOW
        )
    return profile


def every_variant(catalogue: Catalogue) -> list[tuple[str, Variant]]:
    return [(name, v) for name, spec in catalogue.messages.items() for v in spec.variants]


def _job(title: str, url: str | None, job_id: str = "job-7") -> dict[str, Any]:
    return {
        "id": job_id,
        "title": title,
        "role_family": "data",
        "seniority": "mid",
        "city": "Berlin",
        "country": "DE",
        "remote": False,
        "url": url,
    }


def hostile_payload(title: str, url: str) -> Callable[[Links], Mapping[str, Any]]:
    """Everything a message can show of a subject, hostile: the event of an event message,
    the job of a job alert (its ``link`` as the job-alert worker makes it), the job and the
    similar jobs of the nurture. Each message shows what it names."""

    def payload(links: Links) -> Mapping[str, Any]:
        return {
            "event": {
                "id": "ev-1",
                "name": title,
                "starts_at": NOW + timedelta(days=1),
                "city": "Berlin",
                "url": url,
            },
            "job": {**_job(title, url), "link": links.event if url else links.jobs},
            "jobs": {"similar": [_job(title, url, "job-8"), _job(title, None, "job-9")]},
        }

    return payload


def compose(
    catalogue: Catalogue,
    template: str,
    variant: Variant,
    payload: Callable[[Links], Mapping[str, Any]],
    *,
    page_url: str | None,
    profile: Profile | None = None,
) -> bytes:
    spec = catalogue.message(template)
    decision = Decision(
        decision_id="d_1",
        candidate_id="c_abc123",
        trigger={"detail_type": "Test", "event_id": "e-1"},
        template=template,
        purpose=spec.purpose,
        outcome="send",
        variant=variant.name,
        message_id="m_d_1",
        decided_at=NOW,
    )
    return compose_email(
        catalogue=catalogue,
        brand=BRAND,
        signer=SIGNER,
        token_ttl=timedelta(days=90),
        decision=decision,
        variant=variant,
        profile=profile or _profile(),
        page_url=page_url,
        payload=payload,
    )


def test_the_catalogue_has_the_messages_this_test_means_to_cover(catalogue: Catalogue) -> None:
    names = set(catalogue.messages)
    assert {"job_nurture", "job_alert", "event_reminder", "spring_hiring"} <= names
    assert len(every_variant(catalogue)) >= 25


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_hostile_page_url_is_dropped_from_every_message(catalogue: Catalogue, url: str) -> None:
    """Page URLs (an event's, a job's, similar jobs') off the allowed origins never reach
    an email; the message still goes, linking to the careers site's lists."""
    for template, variant in every_variant(catalogue):
        for title in ("Data Engineer", HOSTILE_TEXT[HOSTILE_URLS.index(url) % len(HOSTILE_TEXT)]):
            raw = compose(catalogue, template, variant, hostile_payload(title, url), page_url=url)
            urls = assert_links_allowed(raw)
            _, html, text = _parts(raw)
            for part in (html, text):
                assert "evil.example" not in part and "ex\u0430mple" not in part
                assert "javascript:" not in part.lower() and "data:text" not in part
            assert any(u.startswith(f"{API}/unsubscribe?token=") for u in urls)


def _compose_hostile(catalogue: Catalogue, template: str, variant: Variant, text: str) -> bytes:
    """``variant`` composed with ``text`` as the candidate's first name and as everything a
    subject shows (an event's name, a job's title), the subject's page on the careers site."""
    return compose(
        catalogue,
        template,
        variant,
        hostile_payload(text, f"{CAREERS}/jobs/job-7"),
        page_url=f"{CAREERS}/jobs/job-7",
        profile=_profile(first_name=text),
    )


@pytest.mark.parametrize("text", LINKY_TEXT)
def test_text_that_reads_as_a_foreign_link_refuses_the_message(
    catalogue: Catalogue, text: str
) -> None:
    """A job title, event name or first name that a mail client would turn into a link
    elsewhere: the message is not sent, and the reason names the rule, not the URL."""
    refused = 0
    for template, variant in every_variant(catalogue):
        try:
            raw = _compose_hostile(catalogue, template, variant, text)
        except RenderError as exc:
            refused += 1
            assert "allowed origins" in str(exc) and "LINK_ORIGINS" in str(exc)
            assert "evil" not in str(exc)
            continue
        assert_links_allowed(raw)
    # Every message greets the candidate by first name: all of them are refused.
    assert refused == len(every_variant(catalogue))


# Text that a mail client makes a link of with no scheme and no "www.": a domain, an
# address. The gate finds none of them; the values are shown inert instead.
DOMAIN_TEXT = [
    "evil.com/login",
    "Ada (sign in at evil.com/login)",
    "support@evil.com",
    "//www.evil.com/login",
]
# What a linkifier finds without a scheme: a domain of two labels or more ending in letters,
# and an address (an independent reading, not the product's).
_BARE_DOMAIN = re.compile(r"(?i)(?<![\w@.-])(?:[a-z0-9-]+\.)+[a-z]{2,63}(?![\w-])")
_ADDRESS = re.compile(r"(?i)[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,63}")


class _ShownText(HTMLParser):
    """The text an HTML part shows (not its style sheets)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.text.append(data)


def _linkified_without_scheme(raw: bytes) -> list[str]:
    message, html, text = _parts(raw)
    parser = _ShownText()
    parser.feed(html)
    parser.close()
    found = []
    for part in (" ".join(parser.text), text, str(message["Subject"])):
        found += _BARE_DOMAIN.findall(part) + _ADDRESS.findall(part)
    ours = {"careers.example.com", "api.example.com", "events.example.org"}
    return [
        d for d in found if d.lower() not in ours and not d.lower().endswith("@talent.example.com")
    ]


@pytest.mark.parametrize("text", DOMAIN_TEXT)
def test_a_domain_or_an_address_in_a_value_is_shown_inert(catalogue: Catalogue, text: str) -> None:
    """A first name, job title or event name holding a domain or an address that a client
    would make a link of without any scheme: the message is sent, the value is shown (its
    characters in order), and no linkifier finds a domain or an address in it."""
    sent = 0
    for template, variant in every_variant(catalogue):
        try:
            raw = _compose_hostile(catalogue, template, variant, text)
        except RenderError:
            assert text.startswith("//www."), text  # "www." is refused as before
            continue
        sent += 1
        assert _linkified_without_scheme(raw) == [], template
        plain = _parts(raw)[2]
        assert text.replace("/", "").replace(" ", "") in plain.replace("\u200c", "").replace(
            "/", ""
        ).replace(" ", "").replace("\n", ""), template
        assert_links_allowed(raw)
    assert sent == (0 if text.startswith("//www.") else len(every_variant(catalogue)))


def test_inert_leaves_links_identifiers_and_other_values_as_they_are() -> None:
    job = {
        "id": "job.7",
        "title": "ASP.NET developer at evil.com",
        "url": f"{CAREERS}/jobs/job.7",
        "link": f"{CAREERS}/jobs?t=a.b",
        "remote": True,
        "tags": ["node.js", 3.5],
    }
    shown = inert(job)
    assert shown["id"] == "job.7" and shown["url"] == job["url"] and shown["link"] == job["link"]
    assert shown["title"] == "ASP.\u200cNET developer at evil.\u200ccom"
    assert shown["tags"] == ["node.\u200cjs", 3.5] and shown["remote"] is True
    assert inert("3.5 years, Dr. Who") == "3.5 years, Dr. Who"  # a digit after a full stop
    assert inert("a@b.de") == "a@\u200cb.\u200cde"
    assert inert(None) is None


def test_a_page_on_an_allowed_origin_is_linked_with_the_token_only_on_the_careers_site(
    catalogue: Catalogue,
) -> None:
    reminder = catalogue.message("event_reminder").variants[-1]
    own = f"{CAREERS}/events/summit#agenda"
    raw = compose(
        catalogue, "event_reminder", reminder, hostile_payload("Summit", own), page_url=own
    )
    pages = [urlsplit(u) for u in assert_links_allowed(raw) if "/events/summit" in u]
    assert pages  # the button in the HTML part, the URL in the text part
    for page in pages:  # the token in the query, before the fragment
        assert page.fragment == "agenda" and "t" in parse_qs(page.query)

    elsewhere = f"{EVENTS_PLATFORM}/e/42"
    raw = compose(
        catalogue,
        "event_reminder",
        reminder,
        hostile_payload("Summit", elsewhere),
        page_url=elsewhere,
    )
    links = assert_links_allowed(raw)
    assert elsewhere in links  # allowed by LINK_ORIGINS, and without the candidate's token
    assert not any(u.startswith(EVENTS_PLATFORM) and "t=" in u for u in links)


def test_a_look_alike_of_the_careers_site_gets_no_token() -> None:
    """The old prefix test gave careers.example.com.evil.example the link token."""
    for url in (
        "https://careers.example.com.evil.example/e",
        "https://careers.example.com@evil.example/e",
    ):
        links = build_links(
            brand=BRAND,
            signer=SIGNER,
            candidate_id="c_abc123",
            purpose="events",
            message_id="m_1",
            now=NOW,
            ttl=timedelta(days=1),
            event_url=url,
        )
        assert links.event.startswith(f"{CAREERS}/events?t=")


# -- the rule itself ----------------------------------------------------------------------------


RULE = LinkRule.of(CAREERS, API, (EVENTS_PLATFORM,))


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_the_rule_refuses_every_hostile_url(url: str) -> None:
    assert not RULE.allows(url)
    assert RULE.refused(f'<a href="{url}">x</a>', "") == ["html"]


@pytest.mark.parametrize(
    "url",
    [
        f"{CAREERS}/jobs?t=abc",
        "HTTPS://Careers.Example.com/jobs",
        "https://careers.example.com:443/",
        f"{API}/unsubscribe?token=x",
        f"{EVENTS_PLATFORM}/e/1",
    ],
)
def test_the_rule_allows_the_careers_site_the_api_and_link_origins(url: str) -> None:
    assert RULE.allows(url)
    assert RULE.refused(f'<a href="{url}">x</a>', f"see {url}", url) == []


def test_the_gate_reads_every_url_a_client_would_follow() -> None:
    evil = "https://evil.example/x"
    for html in (
        f'<img src="{evil}">',
        '<a href="&#106;avascript:alert(1)">x</a>',
        f'<td style="background:url({evil})">',
        f"<style>.a{{background:url('{evil}')}}</style>",
        f'<meta http-equiv="refresh" content="0;url={evil}">',
        f"<p>call {evil} now</p>",
        f'<img srcset="{CAREERS}/a.png 1x, {evil} 2x">',
    ):
        assert RULE.refused(html, "") == ["html"], html
    assert RULE.refused('<a href="#top">top</a>', "") == []
    assert RULE.refused("", f"go to {evil}") == ["text"]
    assert RULE.refused("", "", f"Re: {evil}") == ["subject"]


def test_a_url_inside_another_urls_run_is_read_on_its_own() -> None:
    """A client may end a URL at a quote written as "&#34;", at "&lt;" or at a bracket, and
    make a link of the URL after it: every "://" is read, not only the first of a run."""
    evil = "https://evil.example/login"
    for html in (
        f"<p>{CAREERS}/x/&#34;{evil}</p>",
        f"<p>{CAREERS}/x/&lt;{evil}&gt;</p>",
        f"<p>{CAREERS}/x({evil}</p>",
    ):
        assert RULE.refused(html, "") == ["html"], html
    for text in (f"{CAREERS}/x({evil}", f"{CAREERS}/x{{{evil}", f"{CAREERS}/x|{evil}"):
        assert RULE.refused("", text) == ["text"], text
    assert RULE.refused("", "sign in at //www.evil.example/login") == ["text"]
    assert RULE.refused("", f"{CAREERS}/jobs?next={CAREERS}/x and {API}/p") == []


def test_the_gate_reads_html_as_a_browser_does() -> None:
    """Markup a template author might write that a browser reads otherwise than a regular
    expression would: each is refused."""
    evil = "https://evil.example/login"
    for html in (
        f'<a/href="{evil}">Sign in</a>',  # "/" ends a tag's name as a space does
        f'<img/src="{evil}">',
        f'<a href="{evil}" href="{CAREERS}/">x</a>',  # a browser keeps the first
        f'<a title=\xa0"x href={evil} y">x</a>',  # a no-break space is not HTML's space
        f'<a title=\x0b"x href={evil} y">x</a>',
        f"<p><!-->{evil}<!-- --></p>",  # "<!-->" is a whole comment
        f"<p><!-- a --!>{evil}<!-- b --></p>",  # "--!>" ends one
        f"<p>1 < {evil} ></p>",  # "< " is text, not a tag
        f'<td style="background:url&#40;{evil})">',  # decoded before it is read as CSS
        f'<td style="background:&#x75;rl({evil})">',
        f'<a ping="{CAREERS}/p {evil}" href="{CAREERS}/">x</a>',  # ping: spaces between
    ):
        assert RULE.refused(html, "") == ["html"], html
    assert RULE.refused(f'<p>x</p><br/><a href="{CAREERS}/">y</a>', "") == []


def test_link_origins_are_origins() -> None:
    assert parse_origins("https://events.example.org, http://localhost:8080/") == (
        "https://events.example.org",
        "http://localhost:8080",
    )
    assert parse_origins("") == ()
    for bad in ("https://x.example/path", "evil.example", "https://u@x.example", "ftp://x.example"):
        with pytest.raises(ValueError, match="is not an origin"):
            parse_origins(bad)


# -- the job nurture's job comes from the listings ----------------------------------------------


class _Listings:
    def __init__(self, jobs: list[dict[str, Any]]):
        self.jobs = jobs
        self.reads: list[str] = []

    def recent_jobs(self, limit: int = 100) -> list[dict[str, Any]]:
        self.reads.append("query")
        return [dict(j, listing="JOB", fanout_status="done") for j in self.jobs][:limit]

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        self.reads.append("get")
        return next((dict(j) for j in self.jobs if j["id"] == job_id), None)


def _runtime(listings: _Listings) -> JourneyRuntime:
    # Only the listings are used to pick the nurture's jobs.
    return JourneyRuntime(
        pool=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        registry=None,  # type: ignore[arg-type]
        timers=None,  # type: ignore[arg-type]
        delivery=None,  # type: ignore[arg-type]
        contact=None,  # type: ignore[arg-type]
        listings=listings,  # type: ignore[arg-type]
        now=lambda: NOW,
    )


ATTACK = {
    "id": "no-such-job",
    "title": "URGENT: your account is locked",
    "url": "https://evil.example/login",
}


def test_a_job_the_listings_do_not_know_gives_no_nurture_content() -> None:
    listings = _Listings([_job("Analytics Engineer", f"{CAREERS}/jobs/job-8", "job-8")])
    context: dict[str, Any] = {"job": dict(ATTACK)}
    assert _runtime(listings)._known_job(_profile(), context) is False
    assert listings.reads == ["query", "get"]


def test_the_nurture_shows_the_listed_job_whatever_the_event_said(catalogue: Catalogue) -> None:
    listed = _job("Data Engineer", f"{CAREERS}/jobs/job-7")
    similar = _job("Analytics Engineer", f"{CAREERS}/jobs/job-8", "job-8")
    listings = _Listings([similar, listed])
    context: dict[str, Any] = {"job": {**ATTACK, "id": "job-7"}}
    assert _runtime(listings)._known_job(_profile(), context) is True
    assert listings.reads == ["query"]  # among the newest jobs: no second read
    assert context["job"] == listed
    assert [j["id"] for j in context["jobs"]["similar"]] == ["job-8"]
    for variant in catalogue.message("job_nurture").variants:
        raw = compose(catalogue, "job_nurture", variant, lambda _links: context, page_url=None)
        message, html, text = _parts(raw)
        assert "URGENT" not in str(message["Subject"]) + html + text
        assert "evil.example" not in html + text
        assert_links_allowed(raw)
        assert f"{CAREERS}/jobs/job-7" in html or f"{CAREERS}/jobs/job-8" in html


def test_a_tracking_call_passes_the_job_on_as_its_id_only() -> None:
    request = TrackJobViewed.model_validate({"type": "job_viewed", "job": ATTACK})
    detail_type, detail = behaviour_event(
        request, candidate_id="c_abc123", anonymous_id=None, now=NOW
    )
    assert detail_type == "Candidate Job Viewed"
    assert detail.model_dump(mode="json", exclude_none=True)["job"] == {"id": "no-such-job"}


@pytest.mark.parametrize(
    "trigger",
    ["Candidate Job Viewed", "Candidate Application Started", "Candidate Application Submitted"],
)
def test_no_catalogue_message_is_triggered_by_a_job_behaviour(trigger: str) -> None:
    """A catalogue trigger would show the event's job (its title and URL), not the listing."""
    spec = {
        "purpose": "marketing",
        "triggers": [trigger],
        "variants": [{"name": "default", "subject": "x", "html": "a.html", "text": "a.txt"}],
    }
    with pytest.raises(ValidationError, match="sent by a journey"):
        MessageSpec.model_validate(spec)

"""The link gate's fast scan for tags with a followed attribute (delivery/links.py,
``_followed_tags``: the document searched reversed from each "=") finds exactly the tags
that reading every tag finds (``_TAG.finditer`` then ``_FOLLOWED`` on each tag's
attributes), on every rendered catalogue message and on random documents made of the
pieces a hostile input may hold: nested "<", unquoted and oddly spaced attributes, names
inside longer names, characters whose lower case differs in length or is ASCII."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from talentops.delivery import links

ROOT = Path(__file__).resolve().parents[2]

PIECES = [
    '<a href="https://careers.example.com/">',
    "<A HREF=https://evil.example>",
    '<div title="<a href=https://evil.example>">',
    '<\u212a title="<a href=https://evil.example>">',  # KELVIN SIGN lowers to "k"
    "\u0130",  # lowers to two characters
    "\u03a3",
    "<img src=x>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<td style="background:url(https://evil.example)">',
    "<p class=x>",
    "<href =x>",
    "<",
    ">",
    " ",
    "\t",
    "href=",
    "data-href=",
    "xsrc =",
    "src",
    "=",
    '"',
    "'",
    '<!--[if mso]><v:rect xlink:href="https://evil.example"/><![endif]-->',
    "&#58;",
    "<a\thref\n=\n'https://t.example'>",
    "<input formaction=https://f.example>",
    "<x-y:z data=https://d.example>",
    "<br/>",
    '<img srcset="https://a.example 1x, https://b.example 2x">',
    "<object data=x longdesc=y>",
]


def reference(html: str) -> list[tuple[int, int]]:
    return [
        m.span()
        for m in links._TAG.finditer(html)
        if links._FOLLOWED.search((m.group(2) or "").lower())
    ]


def fast(html: str) -> list[tuple[int, int]] | None:
    found = links._followed_tags(html)
    return None if found is None else [m.span() for m in found]


def reference_urls(html: str) -> list[str]:
    """The attribute URLs as reading every tag finds them (html_urls lists them first)."""
    return [
        url
        for m in links._TAG.finditer(html)
        if links._FOLLOWED.search((m.group(2) or "").lower())
        for url in links._tag_urls(m)
    ]


@pytest.mark.parametrize("path", sorted((ROOT / "templates").rglob("*.html")), ids=lambda p: p.name)
def test_the_fast_scan_reads_every_template_as_reading_every_tag_does(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    assert fast(html) == reference(html)


@pytest.mark.parametrize("seed", range(8))
def test_the_fast_scan_finds_the_tags_reading_every_tag_finds(seed: int) -> None:
    rng = random.Random(seed)
    scanned = 0
    for _ in range(2500):
        html = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 30)))
        found = fast(html)
        if found is None:  # lowering changed the length: html_urls reads every tag
            assert len(html.lower()) != len(html)
            continue
        scanned += 1
        assert found == reference(html), html
        expected = reference_urls(html)
        assert links.html_urls(html)[: len(expected)] == expected, html
    assert scanned > 1000


@pytest.mark.parametrize(
    "text",
    [
        "\u0130" * 40 + " www.evil.example",
        "\u0130\u0130 JavaScript:alert(1)",
        "\u0130 see https://evil.example/x",
        "\u212a\u0130 Data:text/html,x",
    ],
)
def test_text_is_searched_at_its_own_positions_whatever_lowering_does(text: str) -> None:
    """ "\u0130" lowers to two characters: markers are found where they are in the text
    (searching the lowered text found them shifted, or ran past its end)."""
    rule = links.LinkRule.of("https://careers.example.com", "https://api.example.com")
    assert rule.refused(f"<p>{text}</p>", text, text) == ["html", "text", "subject"]
    allowed = text.rpartition(" ")[0] + " https://careers.example.com/events"
    assert rule.refused(f"<p>{allowed}</p>", allowed, allowed) == []


def test_what_the_scan_assumes_of_lower_case_holds_for_this_unicode_version() -> None:
    """The scan matches names without lowering the document (delivery/links.py): it
    assumes that only "\u0130" lowers to more than one character, that only it and KELVIN
    SIGN lower to something with ASCII in it, and that lowering keeps whether a character
    is a space or a word character. A Python with other Unicode data fails here, not in
    the gate."""
    longer, to_ascii, changed_class = [], [], []
    for code in range(0x80, 0x110000):
        char = chr(code)
        low = char.lower()
        if len(low) != 1:
            longer.append(char)
        if any(c.isascii() for c in low):
            to_ascii.append(char)
        elif len(low) == 1 and (char.isspace() != low.isspace() or char.isalnum() != low.isalnum()):
            changed_class.append(char)
    assert longer == [links._LOWERS_LONGER]
    assert to_ascii == ["\u0130", "\u212a"]
    assert changed_class == []

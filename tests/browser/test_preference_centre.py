"""The preference centre and the unsubscribe page (issue #4) in headless Chromium against the
local stack: open the link of a sent email, switch a purpose off, save, see it confirmed (and
recorded); the page works at phone width; the unsubscribe page's button unsubscribes.
Screenshots land in out/browser/."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.browser.conftest import PageLog
from tests.e2e.conftest import LocalStack

EVENT = {"id": "evt-prefs", "name": "Preference Summit", "starts_at": "2026-12-03T17:30:00Z"}


def _at(stack: LocalStack, minutes: int) -> str:
    return (datetime.fromisoformat(stack.now()) + timedelta(minutes=minutes)).isoformat()


def _signed_get(stack: LocalStack, path: str, **kwargs: Any) -> requests.Response:
    url = stack.api_url + path
    request = AWSRequest(method="GET", url=url, data=b"")
    SigV4Auth(Credentials("AKIDBROWSER", "secret"), "execute-api", "eu-west-1").add_auth(request)
    return requests.get(url, headers=dict(request.headers.items()), timeout=30, **kwargs)


def _candidate_id(stack: LocalStack, address: str) -> str | None:
    response = _signed_get(stack, "/admin/candidates", params={"email": address})
    return response.json()["candidate_id"] if response.status_code == 200 else None


def _consent(stack: LocalStack, candidate_id: str) -> dict[str, Any]:
    return dict(_signed_get(stack, f"/admin/candidates/{candidate_id}").json()["consent"])


def _sent_mail(stack: LocalStack, address: str) -> tuple[str, dict[str, Any]]:
    """A candidate (DE, events granted) who got the attended follow-up: id and the mail."""
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address},
            "observed_at": _at(stack, -30),
            "fields": {
                "email": address,
                "first_name": "Pat",
                "country": "DE",
                "seniority": "mid",
                "role_family": "data",
                "language": "en",
            },
        },
        source="talent.crm",
    )
    stack.put_event(
        "Candidate Consent Changed",
        {
            "candidate": {"email": address},
            "observed_at": _at(stack, -29),
            "channel": "email",
            "purpose": "events",
            "status": "granted",
            "evidence": "signup form",
        },
        source="talent.careers-site",
    )
    candidate_id = stack.wait_for(lambda: _candidate_id(stack, address))
    stack.wait_for(lambda: _consent(stack, candidate_id)["events"]["status"] == "granted")
    stack.put_event(
        "Candidate Event Attended",
        {
            "candidate": {"email": address},
            "observed_at": _at(stack, 1),
            "event": EVENT,
        },
        source="talent.events-platform",
    )
    [mail] = stack.wait_for(lambda: [m for m in stack.outbox() if address in m["to"]], timeout=15)
    return candidate_id, mail


def _link(mail: dict[str, Any], path: str) -> str:
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', mail["html"])]
    [link] = {h for h in hrefs if f"/{path}?token=" in h}
    return link


def test_open_the_link_of_an_email_switch_a_purpose_off_save_and_see_it_confirmed(
    stack: LocalStack, page: Any, page_log: PageLog, screenshot: Callable[[str], Path]
) -> None:
    address = f"pat.{uuid.uuid4().hex[:8]}@example.org"
    candidate_id, mail = _sent_mail(stack, address)
    page.goto(_link(mail, "preferences"))
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Your email preferences"
    events = page.get_by_label("Events and meetups")
    assert events.is_checked()
    assert not page.get_by_label("Job alerts").is_checked()
    screenshot("preference-centre-before")

    events.uncheck()
    page.get_by_role("button", name="Save preferences").click()
    status = page.get_by_role("status")
    status.wait_for()
    assert "Your preferences are saved" in status.inner_text()
    assert "Events and meetups: off" in " ".join(status.inner_text().split())
    assert not page.get_by_label("Events and meetups").is_checked()
    assert page.locator("#s-events").get_attribute("data-state") == "off"
    path = screenshot("preference-centre-saved")
    assert path.stat().st_size > 5_000

    consent = _consent(stack, candidate_id)
    assert consent["events"]["status"] == "withdrawn"
    assert consent["events"]["source"] == "talent.preference-centre"
    assert "preference centre form" in consent["events"]["evidence"]

    # Phone width: one column, nothing wider than the screen.
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = page.get_by_role("button", name="Save preferences").bounding_box()
    assert box is not None and box["height"] >= 44
    screenshot("preference-centre-mobile")
    assert page_log.page_errors == [] and page_log.console_errors == []
    assert page_log.blocked == []


def test_the_unsubscribe_page_changes_nothing_until_its_button_is_pressed(
    stack: LocalStack, page: Any, page_log: PageLog, screenshot: Callable[[str], Path]
) -> None:
    address = f"sam.{uuid.uuid4().hex[:8]}@example.org"
    candidate_id, mail = _sent_mail(stack, address)
    page.goto(_link(mail, "unsubscribe"))
    assert "Unsubscribe from events" in page.get_by_role("heading", level=1).inner_text()
    assert _consent(stack, candidate_id)["events"]["status"] == "granted"
    screenshot("unsubscribe-confirm")
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("status").wait_for()
    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    assert _consent(stack, candidate_id)["events"]["status"] == "withdrawn"
    screenshot("unsubscribe-done")
    assert page_log.page_errors == [] and page_log.blocked == []

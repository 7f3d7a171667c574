"""Browser tests: pages of the local stack in headless Chromium, Debian's (never a download).

Fixtures (generic, for any page of the project):

- `stack`: the local stack (`python -m devstack`) for the browser tests of this session.
- `page`: a Playwright `Page` in a fresh Chromium profile (its own --user-data-dir) that may
  only reach this machine: any request to another host is aborted and listed in
  `page_log.blocked`.
- `page_log`: what the page reported: `console_errors`, `page_errors` (uncaught exceptions)
  and `blocked` (requests to other hosts).
- `screenshot(name)`: saves a full-page PNG to out/browser/<name>.png and returns its path.
  A failing test gets out/browser/FAILED-<test>.png as well.

Chromium is /usr/bin/chromium (`scripts/install-chromium.sh`, run by `make test`, installs
it); without it every browser test skips and says so. CHROMIUM overrides the path.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import LocalStack

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_FAILED] = report.failed
        local = item.funcargs.get("stack") if hasattr(item, "funcargs") else None  # type: ignore[attr-defined]
        if report.failed and isinstance(local, LocalStack):
            report.sections.append(("local stack logs", local.logs()))


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"{CHROMIUM} not found: Debian's chromium could not be installed "
            "(run scripts/install-chromium.sh as root; `make test` does)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def stack(chromium: Path) -> Iterator[LocalStack]:
    local = LocalStack.start()
    try:
        yield local
    finally:
        local.stop()


@dataclass
class PageLog:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.fixture
def page(
    playwright: Any,
    chromium: Path,
    tmp_path: Path,
    page_log: PageLog,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    context = playwright.chromium.launch_persistent_context(
        user_data_dir=str(tmp_path / "chromium-profile"),  # fresh for every test
        executable_path=str(chromium),
        headless=True,
        args=FLAGS,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="Europe/Berlin",
        service_workers="block",
    )
    context.set_default_timeout(TIMEOUT_MS)

    def only_this_machine(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        local = route.request.url.startswith(("data:", "blob:", "about:", "file:"))
        if local or host in LOCAL_HOSTS:
            route.continue_()
        else:
            page_log.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", only_this_machine)
    current = context.pages[0] if context.pages else context.new_page()
    current.on("console", lambda m: m.type == "error" and page_log.console_errors.append(m.text))
    current.on("pageerror", lambda e: page_log.page_errors.append(str(e)))
    try:
        yield current
    finally:
        if request.node.stash.get(_FAILED, False):
            OUT.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(Exception):
                current.screenshot(
                    path=str(OUT / f"FAILED-{_slug(request.node.name)}.png"), full_page=True
                )
        context.close()


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], Path]:
    def take(name: str) -> Path:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{_slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

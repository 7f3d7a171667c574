"""Campaigns from the command line (marketing ops): create, preview, launch, status, list,
cancel, pause, resume.

    python scripts/campaign.py create FILE.yaml    # checked here, then POST /admin/campaigns
    python scripts/campaign.py preview ID          # what the launch would do; sends nothing
                                                   # (starts the preview, follows it to done)
    python scripts/campaign.py launch ID [--wait]  # --wait: follow the sends until done
    python scripts/campaign.py status ID           # status and counts
    python scripts/campaign.py list [--status S] [--limit N] [--all] [--next TOKEN]
                                                   # newest first; --all follows every page
    python scripts/campaign.py cancel ID           # never starts, or stops sending (final)
    python scripts/campaign.py pause ID            # stops taking recipients
    python scripts/campaign.py resume ID           # goes on from where it was, nobody twice

Options (before or after the command): --api URL (default $TALENTOPS_API_URL, else the local
stack, http://127.0.0.1:$LOCAL_API_PORT, port 3000 by default), --region, --json (the API's
JSON on stdout instead of tables), --templates DIR (the catalogue the file is checked
against; default the repository's templates/). `make campaign ARGS="preview cmp_..."`.

Requests are signed with SigV4 (service execute-api) with the default AWS credential chain
(environment, profile, SSO, instance role...). The region is --region, else the one in an
execute-api host name, else AWS_REGION, else the AWS configuration's; the local stack checks
only the signature's shape, so against it missing credentials are replaced by dummy ones.

A campaign file is checked before anything is sent: every problem is printed with its line
(`spring.yaml:7: segment[1].field: ...`) and the command exits with 2. An error answer of
the API is printed with its code and message (and each problem of an invalid campaign) and
the command exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "talentops"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_REGION = "eu-west-1"  # the local stack's region (docs/local-stack.md)
SERVICE = "execute-api"
USER_AGENT = "talentops-campaign-cli/1"

# What `list --status` takes (the API's statuses, and running: launching or launched).
LIST_STATUSES = (
    "draft",
    "scheduled",
    "launching",
    "launched",
    "sent",
    "paused",
    "cancelled",
    "running",
)

EXIT_API = 1  # the API answered with an error, or could not be reached
EXIT_INVALID = 2  # the campaign file is not valid (also argparse's usage errors)


class CliError(Exception):
    """Ends the command: ``message`` on stderr, exit with ``code``."""

    def __init__(self, message: str, code: int = EXIT_API, details: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = list(details)


# -- HTTP with SigV4 --------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: bytes


Transport = Callable[[str, str, Mapping[str, str], bytes | None, float], HttpResult]


def urllib_transport(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
) -> HttpResult:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # http(s): see Api
            return HttpResult(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return HttpResult(exc.code, exc.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise CliError(
                f"no answer from the API at {_origin(url)} within {timeout:g} s (--timeout)"
            ) from exc
        raise CliError(f"cannot reach the API at {_origin(url)}: {reason}") from exc


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def default_api(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    explicit = env.get("TALENTOPS_API_URL", "").strip()
    if explicit:
        return explicit
    return f"http://127.0.0.1:{env.get('LOCAL_API_PORT') or 3000}"


def is_local(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def region_for(url: str, explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    """--region, else the region of an execute-api host name, else AWS_REGION, else the AWS
    configuration's (AWS_DEFAULT_REGION, the profile), else the local stack's for a local
    API; CliError when none is known."""
    if explicit:
        return explicit
    host = urlsplit(url).hostname or ""
    labels = host.split(".")
    if "execute-api" in labels:
        index = labels.index("execute-api")
        if index + 1 < len(labels) and labels[index + 1] != "amazonaws":
            return labels[index + 1]
    env = os.environ if env is None else env
    if env.get("AWS_REGION"):
        return env["AWS_REGION"]
    import boto3

    configured = boto3.session.Session().region_name
    if configured:
        return str(configured)
    if is_local(url):
        return LOCAL_REGION
    raise CliError("no AWS region: pass --region or set AWS_REGION", EXIT_API)


def credentials_for(url: str) -> Any:
    """The default credential chain's credentials (frozen); dummy ones for the local stack
    when none are configured (it checks only the signature's shape)."""
    import boto3
    from botocore.credentials import Credentials

    found = boto3.session.Session().get_credentials()
    if found is not None:
        frozen = found.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)
    if is_local(url):
        return Credentials("AKIDLOCALCAMPAIGNCLI", "local-stack-checks-only-the-shape")
    raise CliError(
        "no AWS credentials found (environment, profile, SSO or role): the admin API needs "
        "SigV4-signed requests"
    )


class Api:
    """The admin API of campaigns, every request signed with SigV4."""

    def __init__(
        self,
        base_url: str,
        *,
        region: str | None = None,
        credentials: Any = None,
        transport: Transport = urllib_transport,
        timeout: float = 60.0,
    ):
        scheme = urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise CliError(f"--api must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._region = region
        self._credentials = credentials
        self.transport = transport
        self.timeout = timeout

    @property
    def region(self) -> str:
        if self._region is None:
            self._region = region_for(self.base_url, None)
        return self._region

    @property
    def credentials(self) -> Any:
        if self._credentials is None:
            self._credentials = credentials_for(self.base_url)
        return self._credentials

    def signed_headers(self, method: str, url: str, body: bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(self.credentials, SERVICE, self.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    def call(self, method: str, path: str, document: Any = None) -> Any:
        """The JSON answer of a 2xx; CliError with the API's error message otherwise."""
        url = self.base_url + path
        body = None if document is None else json.dumps(document).encode("utf-8")
        if body is None and method == "POST":
            body = b""
        result = self.transport(
            method, url, self.signed_headers(method, url, body), body, self.timeout
        )
        try:
            data = json.loads(result.body or b"null")
        except ValueError:
            data = None
        if 200 <= result.status < 300:
            if data is None and result.body:
                raise CliError(f"{method} {path}: {result.status} with a body that is not JSON")
            return data
        raise api_error(method, path, result.status, data, result.body)

    def create(self, definition: Mapping[str, Any]) -> Any:
        return self.call("POST", "/admin/campaigns", dict(definition))

    def preview(self, campaign_id: str) -> Any:
        """Starts the preview: running (202), or the preview when a fresh one is done."""
        return self.call("POST", f"/admin/campaigns/{_segment(campaign_id)}/preview")

    def preview_status(self, campaign_id: str) -> Any:
        return self.call("GET", f"/admin/campaigns/{_segment(campaign_id)}/preview")

    def launch(self, campaign_id: str) -> Any:
        return self.call("POST", f"/admin/campaigns/{_segment(campaign_id)}/launch")

    def status(self, campaign_id: str) -> Any:
        return self.call("GET", f"/admin/campaigns/{_segment(campaign_id)}")

    def campaigns(self, status: str | None, limit: int | None, token: str | None) -> Any:
        query = {"status": status, "limit": limit, "next": token}
        text = urlencode({k: v for k, v in query.items() if v is not None})
        return self.call("GET", "/admin/campaigns" + (f"?{text}" if text else ""))

    def control(self, verb: str, campaign_id: str) -> Any:
        """cancel, pause or resume."""
        return self.call("POST", f"/admin/campaigns/{_segment(campaign_id)}/{verb}")


def _segment(value: str) -> str:
    return quote(value, safe="")


def api_error(method: str, path: str, status: int, data: Any, raw: bytes) -> CliError:
    """The API's ``{"error": {"code", "message", "problems"?}}`` as a CliError."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or "error")
        message = str(error.get("message") or "")
        problems = [p for p in error.get("problems") or [] if isinstance(p, dict)]
        details = [f"{p.get('path') or 'body'}: {p.get('message', '')}" for p in problems]
        return CliError(
            f"{method} {path}: {status} {code}: {message}",
            EXIT_API,
            details if len(details) > 1 else (),
        )
    if isinstance(data, dict) and isinstance(data.get("message"), str):  # API Gateway's own
        return CliError(f"{method} {path}: {status}: {data['message']}")
    text = raw.decode("utf-8", "replace").strip().splitlines()
    return CliError(f"{method} {path}: {status}" + (f": {text[0][:200]}" if text else ""))


# -- the campaign file ------------------------------------------------------------------------


def load_definition(path: Path, templates: Path | None) -> dict[str, Any]:
    """The campaign of ``path``, checked as the API checks it (against the catalogue when it
    can be read), as the JSON body of POST /admin/campaigns."""
    from talentops.campaigns.model import CampaignError, load_campaign_file
    from talentops.errors import CatalogueError

    messages = None
    directory = templates or Path(os.environ.get("TEMPLATES_DIR") or ROOT / "templates")
    if (directory / "catalogue.yaml").is_file():
        from talentops.content.catalogue import Catalogue

        try:
            messages = Catalogue.load(directory).messages
        except CatalogueError as exc:
            raise CliError(f"the catalogue cannot be read: {exc}", EXIT_INVALID) from exc
    elif templates is not None:
        raise CliError(f"{templates}: no catalogue.yaml there", EXIT_INVALID)
    try:
        campaign = load_campaign_file(path, messages)
    except CampaignError as exc:
        count = len(exc.problems)
        raise CliError(
            f"{path.name}: {count} problem{'s' if count != 1 else ''}; nothing was sent",
            EXIT_INVALID,
            [str(p) for p in exc.problems],
        ) from exc
    return campaign.model_dump(mode="json", exclude_none=True)


# -- output -----------------------------------------------------------------------------------


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str] | None = None) -> str:
    """Plain aligned columns; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    if headers:
        cells.insert(0, list(headers))
    if not cells:
        return ""
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows if i < len(row)) and bool(rows)
        for i in range(len(widths))
    ]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
        if headers and n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "-"
    return str(value)


def _counter_rows(title: str, counts: Mapping[str, Any]) -> list[list[Any]]:
    if not counts:
        return [[title, "-", 0]]
    return [[title if i == 0 else "", k, v] for i, (k, v) in enumerate(sorted(counts.items()))]


def show_campaign(view: Mapping[str, Any], out: TextIO) -> None:
    counts = view.get("counts") or {}
    progress = view.get("progress") or {}
    head = [
        ["campaign", view.get("campaign_id")],
        ["name", view.get("name")],
        ["purpose", view.get("purpose")],
        ["template", view.get("template")],
        ["status", view.get("status")],
        ["created", view.get("created_at")],
        ["launched", view.get("launched_at")],
    ]
    if view.get("send_at"):
        head.append(["send at", view.get("send_at")])
    out.write(table(head) + "\n\n")
    rows: list[list[Any]] = [
        ["queued", "", counts.get("queued", 0)],
        ["sent", "", counts.get("sent", 0)],
        *_counter_rows("suppressed", counts.get("suppressed") or {}),
        *_counter_rows("deferred", counts.get("deferred") or {}),
        ["waiting", "", counts.get("waiting", 0)],
        ["failed", "", counts.get("failed", 0)],
    ]
    for extra in ("held_out", "left_segment", "missing"):
        if counts.get(extra):
            rows.append([extra.replace("_", " "), "", counts[extra]])
    out.write(table(rows, ["count", "reason", "candidates"]) + "\n")
    if progress:
        out.write(
            f"\nfan-out: {progress.get('pages', 0):,} pages, "
            f"{progress.get('profiles_scanned', 0):,} profiles scanned"
            f"{' (done)' if progress.get('fanout_done') else ''}; messages "
            f"{progress.get('messages_done', 0):,}/{progress.get('messages', 0):,} done\n"
        )


def show_list(page: Mapping[str, Any], out: TextIO) -> None:
    campaigns = page.get("campaigns") or []
    if not campaigns:
        out.write("no campaigns\n")
    else:
        rows = [
            [
                c.get("campaign_id"),
                c.get("status"),
                str(c.get("created_at") or "")[:16].replace("T", " "),
                (c.get("counts") or {}).get("sent", 0),
                str(c.get("name") or "")[:50],
            ]
            for c in campaigns
        ]
        out.write(table(rows, ["campaign", "status", "created", "sent", "name"]) + "\n")
    if page.get("next"):
        out.write(f"\nmore: --next {page['next']}\n")


def show_preview(preview: Mapping[str, Any], out: TextIO) -> None:
    out.write(
        f"preview of {preview.get('campaign_id')} as of {preview.get('decided_at')} "
        "(nothing was sent)\n"
    )
    if preview.get("computed_at"):
        stale = " (stale: preview again to compute it anew)" if preview.get("stale") else ""
        out.write(
            f"computed {preview.get('computed_at')}, fresh until {preview.get('fresh_until')}"
            f"{stale}\n"
        )
    out.write("\n")
    rows: list[list[Any]] = [
        ["profiles scanned", "", preview.get("scanned", 0)],
        ["in the segment", "", preview.get("in_segment", 0)],
        ["would send", "", preview.get("would_send", 0)],
        *_counter_rows("variant", preview.get("by_variant") or {}),
        *([["held out", "", preview["held_out"]]] if preview.get("held_out") else []),
        *_counter_rows("suppressed", preview.get("suppressed") or {}),
        *_counter_rows("deferred", preview.get("deferred") or {}),
    ]
    out.write(table(rows, ["", "", "candidates"]) + "\n")
    held = preview.get("held_back") or []
    if held:
        out.write("\nheld back, an example of each reason:\n")
        out.write(
            table(
                [[h.get("reason"), h.get("candidate_id"), _last(h.get("reasons"))] for h in held],
                ["reason", "candidate", "why"],
            )
            + "\n"
        )
    samples = preview.get("samples") or []
    if samples:
        out.write("\nsamples:\n")
        out.write(
            table(
                [
                    [s.get("variant"), s.get("candidate_id"), s.get("action"), s.get("subject")]
                    for s in samples
                ],
                ["variant", "candidate", "action", "subject"],
            )
            + "\n"
        )


def _last(reasons: Any) -> str:
    if isinstance(reasons, list) and reasons:
        return str(reasons[-1])[:100]
    return "-"


# -- launch --wait ----------------------------------------------------------------------------


def work_done(view: Mapping[str, Any]) -> bool:
    """The launch's queued work is done: the fan-out has read the whole pool and every page
    message it queued has been processed. Recipients deferred by quiet hours or the budget
    (``waiting``) are sent when their time comes, later."""
    if view.get("status") == "sent":
        return True
    progress = view.get("progress") or {}
    return bool(progress.get("fanout_done")) and int(progress.get("messages_done", 0)) >= int(
        progress.get("messages", 0)
    )


class Progress:
    """A progress line on ``stream``: redrawn in place on a terminal, else a plain line when
    something changed, at most every ``every`` seconds (and the last one always)."""

    WIDTH = 30

    def __init__(
        self,
        stream: TextIO,
        *,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.every = every
        self.clock = clock
        self._last_text = ""
        self._last_at: float | None = None
        self._drawn = False

    @staticmethod
    def describe(view: Mapping[str, Any], width: int = WIDTH) -> str:
        counts = view.get("counts") or {}
        progress = view.get("progress") or {}
        total = int(progress.get("messages", 0))
        done = int(progress.get("messages_done", 0))
        share = min(done / total, 1.0) if total else (1.0 if work_done(view) else 0.0)
        filled = int(share * width)
        bar = "#" * filled + "-" * (width - filled)
        fanout = (
            "fan-out done"
            if progress.get("fanout_done")
            else f"fan-out: {int(progress.get('profiles_scanned', 0)):,} profiles read"
        )
        return (
            f"[{bar}] {done:,}/{total:,} messages  queued {int(counts.get('queued', 0)):,}  "
            f"sent {int(counts.get('sent', 0)):,}  "
            f"suppressed {int(counts.get('suppressed_total', 0)):,}  "
            f"waiting {int(counts.get('waiting', 0)):,}  failed {int(counts.get('failed', 0)):,}"
            f"  ({fanout}; {view.get('status')})"
        )

    def show(self, view: Mapping[str, Any], final: bool = False) -> None:
        text = self.describe(view)
        now = self.clock()
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last_text)))
            self._drawn = True
        else:
            changed = text != self._last_text
            due = self._last_at is None or now - self._last_at >= self.every
            if not changed or not (due or final):
                return
            self.stream.write(text + "\n")
            self._last_at = now
        self._last_text = text
        self.stream.flush()

    @property
    def shown(self) -> bool:
        return bool(self._last_text)

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


class PreviewProgress(Progress):
    """The preview's progress: segments of the pool done, profiles scanned."""

    @staticmethod
    def describe(view: Mapping[str, Any], width: int = Progress.WIDTH) -> str:
        segments = int(view.get("segments") or 0)
        done = int(view.get("segments_done") or 0)
        finished = view.get("preview") != "running"
        share = 1.0 if finished else (min(done / segments, 1.0) if segments else 0.0)
        filled = int(share * width)
        bar = "#" * filled + "-" * (width - filled)
        return (
            f"[{bar}] {int(view.get('scanned', 0)):,} profiles scanned  "
            f"{done if not finished else segments:,}/{segments:,} segments  "
            f"(preview {view.get('preview', 'done')})"
        )


def wait_for_preview(
    api: Api,
    campaign_id: str,
    *,
    interval: float,
    timeout: float,
    err: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Starts the preview (POST) and polls it (GET) until it is done; the preview. A
    preview that is done and fresh comes back from the POST at once. CliError on timeout."""
    progress = PreviewProgress(err, clock=clock)
    deadline = clock() + timeout
    try:
        answer = api.preview(campaign_id)
        segments = 0
        while isinstance(answer, Mapping) and answer.get("preview") == "running":
            segments = int(answer.get("segments") or 0)
            progress.show(answer)
            if clock() >= deadline:
                raise CliError(
                    f"{campaign_id}: the preview still runs after {timeout:g} s "
                    f"(`preview {campaign_id}` again follows it)"
                )
            sleep(interval)
            answer = api.preview_status(campaign_id)
        if progress.shown and isinstance(answer, Mapping):  # the last state: done
            progress.show({"segments": segments, **answer}, final=True)
        return answer
    finally:
        progress.close()


def wait_for_sends(
    api: Api,
    campaign_id: str,
    *,
    interval: float,
    timeout: float,
    err: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Polls the status until the queued work is done; the last view. CliError on timeout."""
    progress = Progress(err, clock=clock)
    deadline = clock() + timeout
    try:
        while True:
            view = api.status(campaign_id)
            if view.get("status") == "scheduled":
                progress.close()
                err.write(
                    f"{campaign_id} is scheduled for {view.get('send_at')}: nothing to wait for "
                    "yet\n"
                )
                return view
            done = work_done(view)
            progress.show(view, final=done)
            if done:
                return view
            if clock() >= deadline:
                raise CliError(
                    f"{campaign_id}: still sending after {timeout:g} s (the launch goes on; "
                    f"`status {campaign_id}` shows where it is)"
                )
            sleep(interval)
    finally:
        progress.close()


# -- the commands -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api",
        default=argparse.SUPPRESS,
        help="the HTTP API's base URL (default $TALENTOPS_API_URL, else the local stack)",
    )
    common.add_argument("--region", default=argparse.SUPPRESS, help="SigV4 region")
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the API's JSON instead of tables",
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS,
        help="seconds per HTTP request (default 120)",
    )
    parser = argparse.ArgumentParser(
        prog="campaign",
        description="Create, preview, launch and follow campaigns through the admin API.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = commands.add_parser(
        "create", parents=[common], help="validate FILE.yaml, then create the campaign"
    )
    create.add_argument("file", type=Path, metavar="FILE.yaml")
    create.add_argument(
        "--templates",
        type=Path,
        help="the catalogue's directory to check the file against (default templates/)",
    )
    status = commands.add_parser("status", parents=[common], help="status and counts")
    status.add_argument("campaign_id", metavar="ID")
    preview = commands.add_parser(
        "preview", parents=[common], help="what the launch would do (sends nothing)"
    )
    preview.add_argument("campaign_id", metavar="ID")
    preview.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls (default 1)"
    )
    preview.add_argument(
        "--wait-timeout",
        type=float,
        default=600.0,
        help="give up waiting for the preview after this many seconds (default 600)",
    )
    listing = commands.add_parser("list", parents=[common], help="campaigns, newest first")
    listing.add_argument(
        "--status",
        choices=LIST_STATUSES,
        help="only campaigns of this status (running: launching, or launched with work left)",
    )
    listing.add_argument(
        "--limit", type=int, default=None, help="campaigns a page (1 to 100; default 20)"
    )
    listing.add_argument("--next", dest="next_token", help="the page after the one that said so")
    listing.add_argument("--all", action="store_true", help="follow every page to the end")
    for verb, text in (
        ("cancel", "cancel: a scheduled one never starts, a running one stops (final)"),
        ("pause", "pause: the fan-out and the sends stop taking recipients"),
        ("resume", "resume a paused campaign from where it was (nobody twice)"),
    ):
        commands.add_parser(verb, parents=[common], help=text).add_argument(
            "campaign_id", metavar="ID"
        )
    launch = commands.add_parser("launch", parents=[common], help="launch (sends once each)")
    launch.add_argument("campaign_id", metavar="ID")
    launch.add_argument(
        "--wait", action="store_true", help="follow the sends until the queued work is done"
    )
    launch.add_argument(
        "--interval", type=float, default=1.0, help="seconds between polls (default 1)"
    )
    launch.add_argument(
        "--wait-timeout",
        type=float,
        default=1800.0,
        help="give up waiting after this many seconds (default 1800)",
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    args.api = getattr(args, "api", None) or default_api()
    args.region = getattr(args, "region", None)
    args.json = getattr(args, "json", False)
    args.timeout = getattr(args, "timeout", 120.0)
    return args


def run(
    args: argparse.Namespace,
    *,
    out: TextIO,
    err: TextIO,
    transport: Transport = urllib_transport,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    definition = load_definition(args.file, args.templates) if args.command == "create" else None
    api = Api(args.api, region=args.region, transport=transport, timeout=args.timeout)

    def emit(document: Any, show: Callable[[Any, TextIO], None]) -> None:
        if args.json:
            out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        else:
            show(document, out)

    if args.command == "create":
        assert definition is not None
        view = api.create(definition)
        if not args.json:
            word = "created" if view.get("created", True) else "exists already (same definition)"
            out.write(f"campaign {view.get('campaign_id')} {word}\n\n")
        emit(view, show_campaign)
    elif args.command == "preview":
        preview = wait_for_preview(
            api,
            args.campaign_id,
            interval=args.interval,
            timeout=args.wait_timeout,
            err=err,
            sleep=sleep,
        )
        emit(preview, show_preview)
    elif args.command == "status":
        emit(api.status(args.campaign_id), show_campaign)
    elif args.command == "list":
        page = api.campaigns(args.status, args.limit, args.next_token)
        if args.all:
            everything = list(page.get("campaigns") or [])
            while page.get("next"):
                page = api.campaigns(args.status, args.limit, page["next"])
                everything += page.get("campaigns") or []
            page = {"campaigns": everything, "next": None}
        emit(page, show_list)
    elif args.command in ("cancel", "pause", "resume"):
        view = api.control(args.command, args.campaign_id)
        if not args.json:
            done = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}[args.command]
            word = done if view.get("changed", True) else f"was {view.get('status')} already"
            extra = ""
            if args.command == "resume" and view.get("requeued"):
                extra = f" ({view['requeued']:,} parked pages queued again)"
            out.write(f"campaign {args.campaign_id} {word}{extra}\n\n")
        emit(view, show_campaign)
    else:
        view = api.launch(args.campaign_id)
        if not args.json:
            out.write(f"launch of {args.campaign_id}: {view.get('launch')}\n")
        if args.wait:
            view = wait_for_sends(
                api,
                args.campaign_id,
                interval=args.interval,
                timeout=args.wait_timeout,
                err=err,
                sleep=sleep,
            )
        if not args.json:
            out.write("\n")
        emit(view, show_campaign)
        waiting = int((view.get("counts") or {}).get("waiting", 0))
        if args.wait and waiting and not args.json:
            out.write(
                f"\n{waiting:,} recipients wait for quiet hours or the contact budget; they are "
                "decided again (and sent) when their time comes\n"
            )
    return 0


def main(argv: Sequence[str] | None = None, *, transport: Transport = urllib_transport) -> int:
    args = parse_args(argv)
    try:
        return run(args, out=sys.stdout, err=sys.stderr, transport=transport)
    except CliError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"error: {exc.message}\n")
        for line in exc.details:
            sys.stderr.write(f"  {line}\n")
        return exc.code
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:  # e.g. `... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

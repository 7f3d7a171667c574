"""The campaign CLI (scripts/campaign.py) against a local HTTP stub: its arguments, the SigV4
signature on every request (well-formed for the local stack, and correct for the
credentials), the API's errors shown with their message, campaign files refused with their
lines before anything is sent, and launch --wait following the counts."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from devstack.httpapi import HttpRequest, check_sigv4
from scripts import campaign as cli

CAMPAIGN_ID = "cmp_0123456789abcdef"
GOOD_YAML = """\
name: "Spring hiring: data"
purpose: marketing
segment:
  - {field: candidate.role_family, op: eq, value: data}
  - {field: country, op: in, value: [DE, IE]}
content:
  template: spring_hiring
  variants: [de, default]
"""
KEY = Credentials("AKIDCLITEST", "cli-test-secret")


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Stub:
    """An HTTP server that records each request and answers from ``reply``."""

    url: str
    requests: list[Received] = field(default_factory=list)
    reply: Callable[[Received], tuple[int, Any]] = lambda r: (200, {})


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub(url="")

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = Received(
                self.command, self.path, list(self.headers.items()), self.rfile.read(length)
            )
            state.requests.append(received)
            status, document = state.reply(received)
            body = document if isinstance(document, bytes) else json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, region or AWS configuration from the machine running the tests."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "TALENTOPS_API_URL",
        "LOCAL_API_PORT",
        "TEMPLATES_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _view(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "campaign_id": CAMPAIGN_ID,
        "name": "Spring hiring: data",
        "purpose": "marketing",
        "template": "spring_hiring",
        "definition": {},
        "fingerprint": "0123456789abcdef",
        "created_at": "2026-06-10T08:00:00+00:00",
        "launched_at": None,
        "send_at": None,
        "status": "draft",
        "counts": {
            "queued": 0,
            "sent": 0,
            "suppressed": {},
            "suppressed_total": 0,
            "deferred": {},
            "deferred_total": 0,
            "waiting": 0,
            "failed": 0,
            "left_segment": 0,
            "missing": 0,
        },
        "progress": {
            "profiles_scanned": 0,
            "pages": 0,
            "messages": 0,
            "messages_done": 0,
            "fanout_done": False,
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(view.get(key), dict):
            view[key] = {**view[key], **value}
        else:
            view[key] = value
    return view


def _run(
    argv: list[str], *, tty: bool = False, sleep: Callable[[float], None] = lambda s: None
) -> tuple[int, str, str]:
    """scripts/campaign.py with argv; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), _Stream(tty)
    args = cli.parse_args(argv)
    try:
        code = cli.run(args, out=out, err=err, sleep=sleep)
    except cli.CliError as exc:
        err.write(f"error: {exc.message}\n" + "".join(f"  {d}\n" for d in exc.details))
        code = exc.code
    return code, out.getvalue(), err.getvalue()


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _campaign_file(tmp_path: Path, text: str = GOOD_YAML, name: str = "spring.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- arguments ----------------------------------------------------------------------------


def test_commands_and_options_before_or_after_the_command(monkeypatch):
    monkeypatch.setenv("LOCAL_API_PORT", "3999")
    args = cli.parse_args(["preview", CAMPAIGN_ID])
    assert (args.command, args.campaign_id, args.api, args.json) == (
        "preview",
        CAMPAIGN_ID,
        "http://127.0.0.1:3999",
        False,
    )
    args = cli.parse_args(["--json", "--api", "https://a.example", "status", CAMPAIGN_ID])
    assert (args.command, args.api, args.json) == ("status", "https://a.example", True)
    args = cli.parse_args(["launch", CAMPAIGN_ID, "--wait", "--json", "--region", "eu-central-1"])
    assert (args.wait, args.json, args.region, args.interval) == (True, True, "eu-central-1", 1.0)
    args = cli.parse_args(["create", "x.yaml", "--templates", "t"])
    assert (args.file, args.templates) == (Path("x.yaml"), Path("t"))
    monkeypatch.setenv("TALENTOPS_API_URL", "https://abc.execute-api.eu-west-1.amazonaws.com")
    assert cli.parse_args(["status", "x"]).api == "https://abc.execute-api.eu-west-1.amazonaws.com"
    monkeypatch.delenv("TALENTOPS_API_URL")
    monkeypatch.delenv("LOCAL_API_PORT")
    assert cli.parse_args(["status", "x"]).api == "http://127.0.0.1:3000"


@pytest.mark.parametrize(
    "argv", [[], ["send", "x"], ["preview"], ["launch"], ["create"], ["status", "a", "b"]]
)
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert "usage: campaign" in capsys.readouterr().err


def test_region_and_credentials(monkeypatch):
    api = "https://abc123.execute-api.ap-southeast-2.amazonaws.com"
    assert cli.region_for(api, None) == "ap-southeast-2"
    assert cli.region_for(api, "us-east-1") == "us-east-1"
    assert cli.region_for("http://127.0.0.1:3000", None) == "eu-west-1"  # the local stack
    with pytest.raises(cli.CliError, match="no AWS region"):
        cli.region_for("https://api.example.com", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")  # the AWS configuration's
    assert cli.region_for("https://api.example.com", None) == "eu-north-1"
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert cli.region_for("https://api.example.com", None) == "ca-central-1"

    dummy = cli.credentials_for("http://localhost:3000")
    assert dummy.access_key and dummy.secret_key  # none configured: dummy, locally only
    with pytest.raises(cli.CliError, match="no AWS credentials"):
        cli.credentials_for("https://api.example.com")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert cli.credentials_for("https://api.example.com").access_key == "AKIDFROMENV"
    assert cli.credentials_for("http://127.0.0.1:3000").access_key == "AKIDFROMENV"


# -- SigV4 --------------------------------------------------------------------------------


def _verify_signature(received: Received, base_url: str, credentials: Credentials) -> str:
    """Recomputes the SigV4 signature of what the server received; returns the region."""
    authorization = received.header("Authorization") or ""
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
        r"execute-api/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})",
        authorization,
    )
    assert match, authorization
    assert match["key"] == credentials.access_key
    signed = match["signed"].split(";")
    assert "host" in signed and "x-amz-date" in signed
    headers = {k: v for k, v in received.headers if k.lower() in signed}
    request = AWSRequest(
        method=received.method, url=base_url + received.path, data=received.body, headers=headers
    )
    request.context["timestamp"] = received.header("X-Amz-Date")
    auth = SigV4Auth(credentials, "execute-api", match["region"])
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    assert match["sig"] == expected
    return match["region"]


def test_every_request_is_sigv4_signed_and_the_local_stack_accepts_it(stub, tmp_path):
    stub.reply = lambda r: (201, {**_view(), "created": True})
    code, out, err = _run(["--api", stub.url, "create", str(_campaign_file(tmp_path))])
    assert (code, err) == (0, "")
    assert f"campaign {CAMPAIGN_ID} created" in out
    (request,) = stub.requests
    assert (request.method, request.path) == ("POST", "/admin/campaigns")
    assert request.header("Content-Type") == "application/json"
    # The local stack's own check of the header's shape (devstack/httpapi.py) passes...
    identity = check_sigv4(
        HttpRequest("POST", request.path, "", request.headers, request.body, "127.0.0.1")
    )
    assert identity is not None and identity.service == "execute-api"
    # ...and the signature is right for the (dummy, local) credentials it names.
    credentials = cli.credentials_for(stub.url)
    assert _verify_signature(request, stub.url, credentials) == "eu-west-1"
    # The body is the validated definition (bare fields spelled out), as JSON.
    body = json.loads(request.body)
    assert body["name"] == "Spring hiring: data"
    assert body["segment"][1] == {"field": "candidate.country", "op": "in", "value": ["DE", "IE"]}
    assert body["content"] == {"template": "spring_hiring", "variants": ["de", "default"]}


def test_configured_credentials_sign_gets_and_posts(stub, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY.secret_key)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    stub.reply = lambda r: (
        200,
        _view(status="launched") if r.method == "GET" else {"campaign_id": CAMPAIGN_ID},
    )
    assert _run(["--api", stub.url, "status", CAMPAIGN_ID])[0] == 0
    assert _run(["--api", stub.url, "preview", CAMPAIGN_ID])[0] == 0
    get, post = stub.requests
    assert (get.method, get.path, post.method, post.path) == (
        "GET",
        f"/admin/campaigns/{CAMPAIGN_ID}",
        "POST",
        f"/admin/campaigns/{CAMPAIGN_ID}/preview",
    )
    for request in (get, post):
        assert _verify_signature(request, stub.url, KEY) == "eu-central-1"


def test_an_unsigned_request_is_what_the_stub_would_refuse(stub):
    """The check used above is not vacuous: without the CLI's headers it fails."""
    assert check_sigv4(HttpRequest("GET", "/admin/campaigns/x", "", [], b"", "127.0.0.1")) is None


# -- errors -------------------------------------------------------------------------------


def test_the_apis_error_message_is_shown_and_the_exit_is_1(stub):
    stub.reply = lambda r: (
        404,
        {"error": {"code": "unknown_campaign", "message": "no campaign has this id"}},
    )
    code, out, err = _run(["--api", stub.url, "status", "cmp_ffffffffffffffff"])
    assert code == 1 and out == ""
    assert err == (
        "error: GET /admin/campaigns/cmp_ffffffffffffffff: 404 unknown_campaign: "
        "no campaign has this id\n"
    )


def test_an_invalid_campaign_lists_each_problem(stub, tmp_path):
    problems = [
        {"path": "segment[0].field", "message": "unknown field 'candidate.shoe_size'"},
        {"path": "content.template", "message": "unknown template 'sprng'"},
    ]
    message = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
    stub.reply = lambda r: (
        422,
        {"error": {"code": "invalid_campaign", "message": message, "problems": problems}},
    )
    code, _, err = _run(
        ["--api", stub.url, "create", str(_campaign_file(tmp_path)), "--templates", str(tmp_path)]
    )
    # (no catalogue.yaml in --templates: the local check is refused, naming the directory)
    assert code == 2 and "no catalogue.yaml there" in err and stub.requests == []
    code, _, err = _run(["--api", stub.url, "create", str(_campaign_file(tmp_path))])
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == f"error: POST /admin/campaigns: 422 invalid_campaign: {message}"
    assert lines[1:] == [f"  {p['path']}: {p['message']}" for p in problems]


def test_answers_that_are_not_the_apis_error_shape(stub):
    stub.reply = lambda r: (502, b"<html>Bad Gateway</html>")
    code, _, err = _run(["--api", stub.url, "status", CAMPAIGN_ID])
    assert (code, err) == (
        1,
        f"error: GET /admin/campaigns/{CAMPAIGN_ID}: 502: <html>Bad Gateway</html>\n",
    )
    stub.reply = lambda r: (403, {"message": "Forbidden"})  # API Gateway's own
    code, _, err = _run(["--api", stub.url, "status", CAMPAIGN_ID])
    assert (code, err) == (1, f"error: GET /admin/campaigns/{CAMPAIGN_ID}: 403: Forbidden\n")


def test_an_unreachable_api(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = _run(["--api", f"http://127.0.0.1:{port}", "status", CAMPAIGN_ID])
    assert code == 1
    assert err.startswith(f"error: cannot reach the API at http://127.0.0.1:{port}: ")
    code, _, err = _run(["--api", "ftp://x", "status", CAMPAIGN_ID])
    assert (code, err) == (1, "error: --api must be an http(s) URL, not 'ftp://x'\n")


def test_main_prints_errors_on_stderr_with_the_exit_code(stub, capsys):
    stub.reply = lambda r: (404, {"error": {"code": "unknown_campaign", "message": "nope"}})
    assert cli.main(["--api", stub.url, "status", CAMPAIGN_ID]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("404 unknown_campaign: nope\n")


# -- campaign files -----------------------------------------------------------------------


def test_a_bad_campaign_file_is_refused_with_its_lines_and_nothing_is_sent(stub, tmp_path):
    text = """\
name: Spring
purpose: marketing
segment:
  - {field: candidate.role_family, op: eq, value: data}
  - {field: shoe_size, op: eq, value: 42}
content:
  template: spring_hiring
  variants: [de, klingon]
"""
    code, out, err = _run(
        ["--api", stub.url, "create", str(_campaign_file(tmp_path, text, "bad.yaml"))]
    )
    assert code == 2 and out == "" and stub.requests == []
    lines = err.splitlines()
    assert lines[0] == "error: bad.yaml: 3 problems; nothing was sent"
    assert lines[1].startswith(
        "  bad.yaml:5: segment[1].field: unknown field 'candidate.shoe_size'"
    )
    assert lines[2] == (
        "  bad.yaml:8: content.variants[1]: variant 'klingon' is not a variant of "
        "'spring_hiring' (known: de, default, senior)"
    )
    assert lines[3].startswith(
        "  bad.yaml:8: content.variants: the variants must include 'default'"
    )
    # A key the definition does not have, on the line it is on.
    code, _, err = _run(
        ["--api", stub.url, "create", str(_campaign_file(tmp_path, GOOD_YAML + "colour: blue\n"))]
    )
    assert code == 2 and stub.requests == []
    assert err.splitlines()[1:] == ["  spring.yaml:9: colour: unknown key 'colour'"]


def test_a_template_of_another_purpose_and_a_missing_fallback(stub, tmp_path):
    other = GOOD_YAML.replace("purpose: marketing", "purpose: events").replace(
        "[de, default]", "[de]"
    )
    code, _, err = _run(["--api", stub.url, "create", str(_campaign_file(tmp_path, other))])
    assert code == 2 and stub.requests == []
    assert "spring.yaml:7: content.template: template 'spring_hiring' has purpose" in err
    assert "spring.yaml:8: content.variants: the variants must include 'default'" in err


def test_unreadable_and_unparsable_files(stub, tmp_path):
    code, _, err = _run(["--api", stub.url, "create", str(tmp_path / "missing.yaml")])
    assert code == 2 and "missing.yaml: cannot be read" in err
    broken = _campaign_file(tmp_path, "name: [unclosed\npurpose: marketing\n", "broken.yaml")
    code, _, err = _run(["--api", stub.url, "create", str(broken)])
    assert code == 2 and re.search(r"broken\.yaml:\d+:", err), err
    assert stub.requests == []


# -- output -------------------------------------------------------------------------------


PREVIEW = {
    "campaign_id": CAMPAIGN_ID,
    "decided_at": "2026-06-10T10:00:00+00:00",
    "scanned": 9942,
    "in_segment": 1234,
    "would_send": 1000,
    "by_variant": {"de": 400, "default": 600},
    "suppressed": {"no_consent": 200, "stale_profile": 34},
    "deferred": {"quiet_hours": 12},
    "samples": [
        {"candidate_id": "c_1", "variant": "de", "action": "send", "subject": "Wir stellen ein"},
        {"candidate_id": "c_2", "variant": "default", "action": "defer", "subject": "Spring"},
    ],
    "held_back": [
        {"candidate_id": "c_9", "reason": "no_consent", "reasons": ["in segment", "no consent"]}
    ],
}


def test_preview_table_and_json(stub):
    stub.reply = lambda r: (200, PREVIEW)
    code, out, _ = _run(["--api", stub.url, "preview", CAMPAIGN_ID])
    assert code == 0
    assert "nothing was sent" in out
    rows = {tuple(line.split()) for line in out.splitlines()}
    assert ("profiles", "scanned", "9,942") in rows
    assert ("would", "send", "1,000") in rows
    assert ("variant", "de", "400") in rows and ("default", "600") in rows
    assert ("suppressed", "no_consent", "200") in rows and ("stale_profile", "34") in rows
    assert ("deferred", "quiet_hours", "12") in rows
    assert any(line.startswith("de ") and "Wir stellen ein" in line for line in out.splitlines())
    code, out, _ = _run(["--api", stub.url, "preview", CAMPAIGN_ID, "--json"])
    assert code == 0 and json.loads(out) == PREVIEW


def test_status_table(stub):
    stub.reply = lambda r: (
        200,
        _view(
            status="sent",
            counts={"queued": 1234, "sent": 1000, "suppressed": {"no_consent": 234}},
            progress={"pages": 10, "profiles_scanned": 9942, "messages": 13, "messages_done": 13},
        ),
    )
    code, out, _ = _run(["--api", stub.url, "status", CAMPAIGN_ID])
    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert ["status", "sent"] in rows and ["queued", "1,234"] in rows and ["sent", "1,000"] in rows
    assert ["suppressed", "no_consent", "234"] in rows
    assert "fan-out: 10 pages, 9,942 profiles scanned; messages 13/13 done" in out


# -- launch --wait ------------------------------------------------------------------------


def _launch_sequence() -> list[dict[str, Any]]:
    return [
        _view(status="launching", progress={"profiles_scanned": 1000, "pages": 1, "messages": 4}),
        _view(
            status="launching",
            counts={"queued": 800, "sent": 150},
            progress={"profiles_scanned": 5000, "pages": 5, "messages": 8, "messages_done": 2},
        ),
        _view(
            status="launched",
            counts={
                "queued": 1300,
                "sent": 1000,
                "suppressed": {"no_consent": 290},
                "suppressed_total": 290,
                "waiting": 10,
            },
            progress={
                "profiles_scanned": 9942,
                "pages": 10,
                "messages": 13,
                "messages_done": 13,
                "fanout_done": True,
            },
        ),
    ]


def _launch_stub(stub: Stub, views: list[dict[str, Any]]) -> None:
    polls = iter(views)

    def reply(request: Received) -> tuple[int, Any]:
        if request.method == "POST":
            return 202, {**_view(status="launching"), "launch": "started"}
        return 200, next(polls)

    stub.reply = reply


def test_launch_wait_polls_until_the_queued_work_is_done(stub):
    _launch_stub(stub, _launch_sequence())
    slept: list[float] = []
    code, out, err = _run(
        ["--api", stub.url, "launch", CAMPAIGN_ID, "--wait", "--interval", "0.5"],
        sleep=slept.append,
    )
    assert code == 0
    assert [(r.method, r.path) for r in stub.requests] == [
        ("POST", f"/admin/campaigns/{CAMPAIGN_ID}/launch"),
        *[("GET", f"/admin/campaigns/{CAMPAIGN_ID}")] * 3,
    ]
    assert slept == [0.5, 0.5]
    assert out.startswith(f"launch of {CAMPAIGN_ID}: started\n")
    assert ["status", "launched"] in [line.split() for line in out.splitlines()]
    assert "10 recipients wait for quiet hours or the contact budget" in out
    # Not a terminal: plain lines, no carriage returns; the first and the last state shown.
    assert "\r" not in err
    lines = err.splitlines()
    assert lines[0].startswith("[------------------------------] 0/4 messages")
    assert lines[-1].startswith("[##############################] 13/13 messages")
    assert "sent 1,000" in lines[-1] and "suppressed 290" in lines[-1]


def test_launch_wait_on_a_terminal_redraws_one_line(stub):
    _launch_stub(stub, _launch_sequence())
    code, _, err = _run(["--api", stub.url, "launch", CAMPAIGN_ID, "--wait"], tty=True)
    assert code == 0
    assert err.count("\r") == 3 and err.endswith("\n") and err.count("\n") == 1
    assert "sent 150" in err and "13/13 messages" in err.rsplit("\r", 1)[1]


def test_progress_lines_are_periodic_when_not_a_terminal():
    now = [0.0]
    stream = _Stream(False)
    progress = cli.Progress(stream, every=5.0, clock=lambda: now[0])
    views = [
        _view(counts={"sent": n}, progress={"messages": 10, "messages_done": n // 10})
        for n in range(0, 100, 10)
    ]
    for view in views:  # a poll a second, each with new counts
        progress.show(view)
        now[0] += 1.0
    progress.show(views[-1], final=True)  # the last is shown once, not twice
    lines = stream.getvalue().splitlines()
    assert [line.split("sent ")[1].split()[0] for line in lines] == ["0", "50", "90"]


def test_launch_wait_gives_up_after_its_timeout(stub):
    stuck = _view(status="launching", progress={"messages": 4, "messages_done": 1})
    _launch_stub(stub, [stuck] * 100)
    code, _, err = _run(["--api", stub.url, "launch", CAMPAIGN_ID, "--wait", "--wait-timeout", "0"])
    assert code == 1
    assert f"error: {CAMPAIGN_ID}: still sending after 0 s" in err


def test_launch_wait_of_a_scheduled_campaign_does_not_wait(stub):
    scheduled = _view(status="scheduled", send_at="2026-06-11T09:00:00+02:00")
    _launch_stub(stub, [scheduled])
    code, _, err = _run(["--api", stub.url, "launch", CAMPAIGN_ID, "--wait"])
    assert code == 0 and "scheduled for 2026-06-11T09:00:00+02:00" in err
    assert len(stub.requests) == 2


def test_launch_json_prints_the_last_view(stub):
    _launch_stub(stub, _launch_sequence())
    code, out, _ = _run(["--api", stub.url, "launch", CAMPAIGN_ID, "--wait", "--json"])
    assert code == 0 and json.loads(out) == _launch_sequence()[-1]


def test_an_api_that_does_not_answer_in_time(stub):
    import time as clock

    def slow(request: Received) -> tuple[int, Any]:
        clock.sleep(1.0)
        return 200, _view()

    stub.reply = slow
    code, _, err = _run(["--api", stub.url, "--timeout", "0.2", "status", CAMPAIGN_ID])
    assert (code, err) == (
        1,
        f"error: no answer from the API at {stub.url} within 0.2 s (--timeout)\n",
    )


# -- preview: started, then followed until done ---------------------------------------------


def _running(scanned: int, done: int) -> dict[str, Any]:
    return {
        "campaign_id": CAMPAIGN_ID,
        "preview": "running",
        "scanned": scanned,
        "segments": 16,
        "segments_done": done,
        "started_at": "2026-06-10T08:00:00+00:00",
    }


def _preview_stub(stub: Stub, post: tuple[int, Any], gets: list[tuple[int, Any]]) -> None:
    answers = iter(gets)

    def reply(received: Received) -> tuple[int, Any]:
        if received.method == "POST":
            return post
        return next(answers)

    stub.reply = reply


DONE = {
    **PREVIEW,
    "preview": "done",
    "computed_at": "2026-06-10T08:00:00+00:00",
    "fresh_until": "2026-06-10T08:10:00+00:00",
    "stale": False,
}


def test_preview_posts_then_polls_with_a_progress_bar_until_done(stub):
    gets = [(202, _running(4_000, 6)), (202, _running(9_000, 15)), (200, DONE)]
    _preview_stub(stub, (202, _running(0, 0)), gets)
    slept: list[float] = []
    code, out, err = _run(
        ["--api", stub.url, "preview", CAMPAIGN_ID, "--interval", "0.25"], sleep=slept.append
    )
    assert code == 0, err
    path = f"/admin/campaigns/{CAMPAIGN_ID}/preview"
    assert [(r.method, r.path) for r in stub.requests] == [
        ("POST", path),
        ("GET", path),
        ("GET", path),
        ("GET", path),
    ]
    assert slept == [0.25, 0.25, 0.25]
    lines = err.splitlines()
    assert lines[0].startswith("[------------------------------] 0 profiles scanned  0/16")
    assert len(lines) == 2  # not a terminal: the first and the last state
    assert lines[-1].startswith("[##############################] 9,942 profiles scanned  16/16")
    rows = {tuple(line.split()) for line in out.splitlines()}
    assert ("would", "send", "1,000") in rows
    assert "fresh until 2026-06-10T08:10:00+00:00" in out


def test_a_fresh_preview_comes_back_from_the_post_without_polling(stub):
    _preview_stub(stub, (200, DONE), [])
    code, out, err = _run(["--api", stub.url, "preview", CAMPAIGN_ID, "--json"])
    assert code == 0 and err == ""
    assert [r.method for r in stub.requests] == ["POST"]
    assert json.loads(out) == DONE


def test_preview_on_a_terminal_redraws_one_line(stub):
    _preview_stub(stub, (202, _running(0, 0)), [(202, _running(4_000, 6)), (200, DONE)])
    code, _, err = _run(["--api", stub.url, "preview", CAMPAIGN_ID], tty=True)
    assert code == 0
    assert err.count("\r") == 3 and err.endswith("\n") and err.count("\n") == 1
    assert "4,000 profiles scanned  6/16 segments  (preview running)" in err
    assert "16/16 segments  (preview done)" in err.rsplit("\r", 1)[1]


def test_preview_gives_up_after_its_timeout(stub):
    _preview_stub(stub, (202, _running(0, 0)), [(202, _running(10, 1))] * 5)
    code, _, err = _run(["--api", stub.url, "preview", CAMPAIGN_ID, "--wait-timeout", "0"])
    assert code == 1
    assert f"error: {CAMPAIGN_ID}: the preview still runs after 0 s" in err


def test_preview_of_an_unknown_campaign_is_the_apis_error(stub):
    error = {"error": {"code": "unknown_campaign", "message": "no campaign has this id"}}
    _preview_stub(stub, (404, error), [])
    code, _, err = _run(["--api", stub.url, "preview", CAMPAIGN_ID])
    assert code == 1 and "404 unknown_campaign: no campaign has this id" in err


def test_the_held_out_are_shown_when_a_campaign_has_them(stub):
    stub.reply = lambda r: (200, {**DONE, "held_out": 111})
    code, out, _ = _run(["--api", stub.url, "preview", CAMPAIGN_ID])
    assert code == 0 and ("held", "out", "111") in {
        tuple(line.split()) for line in out.splitlines()
    }
    stub.reply = lambda r: (
        200,
        _view(status="sent", counts={"queued": 20, "sent": 9, "held_out": 11, "suppressed": {}}),
    )
    code, out, _ = _run(["--api", stub.url, "status", CAMPAIGN_ID])
    assert code == 0 and ["held", "out", "11"] in [line.split() for line in out.splitlines()]
    stub.reply = lambda r: (200, DONE)
    code, out, _ = _run(["--api", stub.url, "preview", CAMPAIGN_ID])
    assert "held out" not in out


# -- list, cancel, pause, resume ----------------------------------------------------------------


def _summary(n: int, status: str = "draft") -> dict[str, Any]:
    return {
        "campaign_id": f"cmp_{n:016x}",
        "name": f"Campaign {n}",
        "purpose": "marketing",
        "template": "spring_hiring",
        "status": status,
        "created_at": f"2026-12-0{n}T08:00:00+00:00",
        "launched_at": None,
        "send_at": None,
        "counts": {"queued": 0, "sent": n * 1000, "suppressed_total": 0, "waiting": 0, "failed": 0},
    }


def test_list_shows_a_page_and_the_token_of_the_next(stub):
    stub.reply = lambda r: (200, {"campaigns": [_summary(3), _summary(2, "paused")], "next": "T1"})
    code, out, _ = _run(["--api", stub.url, "list", "--status", "running", "--limit", "2"])
    assert code == 0
    [request] = stub.requests
    assert (request.method, request.path) == ("GET", "/admin/campaigns?status=running&limit=2")
    assert request.header("Authorization").startswith("AWS4-HMAC-SHA256 ")
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["campaign", "status", "created", "sent", "name"]
    assert [
        "cmp_0000000000000003",
        "draft",
        "2026-12-03",
        "08:00",
        "3,000",
        "Campaign",
        "3",
    ] in rows
    assert [
        "cmp_0000000000000002",
        "paused",
        "2026-12-02",
        "08:00",
        "2,000",
        "Campaign",
        "2",
    ] in rows
    assert "more: --next T1" in out
    code, out, _ = _run(["--api", stub.url, "list", "--next", "T1", "--json"])
    assert stub.requests[-1].path == "/admin/campaigns?next=T1"
    assert json.loads(out)["next"] == "T1"


def test_list_all_follows_every_page(stub):
    pages = {
        None: {"campaigns": [_summary(3)], "next": "T1"},
        "T1": {"campaigns": [_summary(2)], "next": "T2"},
        "T2": {"campaigns": [_summary(1)], "next": None},
    }

    def reply(request: Received) -> tuple[int, Any]:
        found = re.search(r"next=([^&]+)", request.path)
        return 200, pages[found.group(1) if found else None]

    stub.reply = reply
    code, out, _ = _run(["--api", stub.url, "list", "--all", "--status", "draft", "--json"])
    assert code == 0
    listed = json.loads(out)
    assert [c["campaign_id"] for c in listed["campaigns"]] == [
        "cmp_0000000000000003",
        "cmp_0000000000000002",
        "cmp_0000000000000001",
    ]
    assert listed["next"] is None
    assert [r.path for r in stub.requests] == [
        "/admin/campaigns?status=draft",
        "/admin/campaigns?status=draft&next=T1",
        "/admin/campaigns?status=draft&next=T2",
    ]
    stub.reply = lambda r: (200, {"campaigns": [], "next": None})
    assert "no campaigns" in _run(["--api", stub.url, "list"])[1]


@pytest.mark.parametrize(
    ("verb", "status", "said"),
    [("cancel", "cancelled", "cancelled"), ("pause", "paused", "paused")],
)
def test_cancel_and_pause_post_and_show_the_campaign(stub, verb, status, said):
    stub.reply = lambda r: (200, {**_view(status=status, counts={"sent": 10}), "changed": True})
    code, out, _ = _run(["--api", stub.url, verb, CAMPAIGN_ID])
    assert code == 0
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", f"/admin/campaigns/{CAMPAIGN_ID}/{verb}")
    assert out.startswith(f"campaign {CAMPAIGN_ID} {said}\n")
    assert ["status", status] in [line.split() for line in out.splitlines()]
    stub.reply = lambda r: (200, {**_view(status=status), "changed": False})
    assert f"was {status} already" in _run(["--api", stub.url, verb, CAMPAIGN_ID])[1]


def test_resume_says_how_many_parked_pages_it_queued_again(stub):
    stub.reply = lambda r: (200, {**_view(status="launched"), "changed": True, "requeued": 12})
    code, out, _ = _run(["--api", stub.url, "resume", CAMPAIGN_ID])
    assert code == 0 and stub.requests[0].path == f"/admin/campaigns/{CAMPAIGN_ID}/resume"
    assert f"campaign {CAMPAIGN_ID} resumed (12 parked pages queued again)" in out
    code, out, _ = _run(["--api", stub.url, "resume", CAMPAIGN_ID, "--json"])
    assert json.loads(out)["requeued"] == 12


def test_a_transition_the_api_refuses_is_its_409_message(stub):
    stub.reply = lambda r: (
        409,
        {"error": {"code": "invalid_transition", "message": "the campaign is sent, not paused"}},
    )
    code, _, err = _run(["--api", stub.url, "resume", CAMPAIGN_ID])
    assert code == cli.EXIT_API
    assert "409 invalid_transition: the campaign is sent, not paused" in err


@pytest.mark.parametrize(
    "argv",
    [["cancel"], ["pause", "a", "b"], ["resume"], ["list", "--status", "done"], ["list", "x"]],
)
def test_bad_usage_of_the_control_verbs_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(argv)
    assert exit_info.value.code == 2


def test_the_cli_filters_on_the_statuses_the_api_takes():
    from talentops.campaigns.listing import STATUSES

    assert set(cli.LIST_STATUSES) == set(STATUSES)

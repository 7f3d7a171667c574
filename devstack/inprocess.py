"""The stack's own AWS calls (handlers, pollers, destinations, schedules) handed to the
embedded moto server's WSGI application in this process, without a socket.

Every boto3 client in the process whose endpoint is the local moto URL sends its requests
through botocore as usual (serialization, SigV4 headers, `before-send` hooks such as the fault
injection's DynamoDB throttle, retries, parsing of the answer); only the last step, the HTTP
round trip to the server thread, is replaced by a call of the same WSGI application the
server runs. moto sees the same request (method, path, query, headers, body) and answers it
the same way, under the same lock (devstack/moto_patches.py). One difference: the
Authorization header of such a request carries a placeholder signature (moto reads the
credential, never checks the signature), so the HMACs are not computed. Clients of other
processes
(tests, `make import`, the CLI) reach the same backends over HTTP.

A request and its answer cross no socket and no server thread: about a third of the CPU a
call cost (urllib3 and http.client on one side, socketserver, a new thread and werkzeug's
HTTP parsing on the other) is gone, which is most of what the local stack spent per event
besides moto and the application.

The WSGI application finds the service's Flask app as the server does (`get_application`);
the request is then answered without Flask's request handling around moto's view: the URL
is matched with the app's own URL map, as Flask matches it, and the view's callback (moto's
`dispatch` of the service) gets moto's request object built from the same environ, as
moto's `convert_to_flask_response` calls it (a ClientError answers 400 with its message),
and its answer becomes the same werkzeug Response. Flask's contexts, signals and
`after_request` hooks are skipped: a tenth of a call's CPU. The one of those hooks that
writes anything, flask-cors, adds `Access-Control-Allow-Origin: *` to every answer, which
no AWS SDK reads; an in-process answer does not carry it. A request whose URL the map does
not match (or redirects) goes through Flask, as before.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit


class _Raw:
    """The raw body of an answer, as botocore reads it (``stream()``, or ``read()`` for a
    streaming output such as S3's GetObject)."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data

    def read(self, amt: int | None = None) -> bytes:
        return self._buffer.read(amt)

    def close(self) -> None:
        self._buffer.close()


def _body(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        body = body.read()
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _environ(
    method: str,
    url: str,
    headers: Any,
    body: bytes,
    server: tuple[str, str, str],
) -> dict[str, Any]:
    """The WSGI environ werkzeug's test EnvironBuilder gives for this request (what its
    `get_environ()` builds from a base URL, path, query, headers and body), built directly:
    the builder's own parsing and header objects cost more than the answer."""
    name, port, host = server
    parts = urlsplit(url)
    path = parts.path or "/"
    query = parts.query
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path).encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "REQUEST_URI": path,
        "RAW_URI": path,
        "SERVER_NAME": name,
        "SERVER_PORT": port,
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    combined: dict[str, str] = {}
    for key, value in headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        lowered = str(key).lower()
        if lowered == "content-type":
            environ["CONTENT_TYPE"] = text
        elif lowered != "content-length":
            name_key = "HTTP_" + str(key).upper().replace("-", "_")
            current = combined.get(name_key)
            combined[name_key] = text if current is None else f"{current}, {text}"
    environ.update(combined)
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def install(base_url: str) -> Callable[[], None]:
    """Routes requests to ``base_url`` into moto in this process; returns the undo."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import Endpoint
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    original = Endpoint._send
    if getattr(original, "_in_process", None) is not None:
        return lambda: None
    application = DomainDispatcherApplication(create_backend_app)
    direct = _direct_answer(application)
    prefix = base_url.rstrip("/") + "/"
    scheme_host = base_url.rstrip("/")
    netloc = urlsplit(scheme_host)
    server = (netloc.hostname or "localhost", str(netloc.port or 80), netloc.netloc)

    def send(self: Any, request: Any) -> Any:
        url = str(request.url)
        if not (url.startswith(prefix) or url == scheme_host):
            return original(self, request)
        environ = _environ(request.method, url, request.headers, _body(request), server)
        answer: list[Any] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            if exc_info:
                raise exc_info[1].with_traceback(exc_info[2])
            answer[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        app_iter = direct(environ, start_response)
        try:
            chunks.extend(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        status, response_headers = answer
        return AWSResponse(
            url, int(status.split(" ", 1)[0]), dict(response_headers), _Raw(b"".join(chunks))
        )

    send._in_process = base_url  # type: ignore[attr-defined]
    Endpoint._send = send  # type: ignore[method-assign]
    undo_signing = _unsigned_locally(prefix, scheme_host)

    def uninstall() -> None:
        Endpoint._send = original  # type: ignore[method-assign]
        undo_signing()

    return uninstall


def _direct_answer(application: Any) -> Callable[[dict[str, Any], Any], Any]:
    """A WSGI callable answering as `application` does, without Flask's request handling
    around moto's view (the module's docstring)."""
    from botocore.exceptions import ClientError
    from flask import Response
    from moto.core.utils import convert_to_flask_response
    from moto.moto_api import recorder
    from werkzeug.exceptions import HTTPException

    def call(environ: dict[str, Any], start_response: Any) -> Any:
        app = application.get_application(environ)
        request = app.request_class(environ)
        _body_read(request, environ)
        try:
            # what Flask's request context matches (RequestRedirect is an HTTPException)
            rule, _ = app.create_url_adapter(request).match(return_rule=True)
        except HTTPException:
            return app(environ, start_response)
        view = app.view_functions.get(rule.endpoint)
        if not isinstance(view, convert_to_flask_response):
            return app(environ, start_response)
        # convert_to_flask_response.__call__, with `request` for Flask's request proxy
        recorder._record_request(request)
        try:
            result = view.callback(request, request.raw_url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        response = Response(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
        return response(environ, start_response)

    return call


# The content types werkzeug parses as a form (its FormDataParser's): their body is left to it.
_FORM_TYPES = frozenset(
    {"multipart/form-data", "application/x-www-form-urlencoded", "application/x-url-encoded"}
)


def _body_read(request: Any, environ: dict[str, Any]) -> None:
    """Set the body of a request that is not a form (every JSON and REST protocol the stack
    calls) on ``request`` as werkzeug leaves it once moto has read ``request.data``: the body
    as the data, an empty form, no files, the stream read. werkzeug gets there by building a
    form parser and a limited stream over the input for each request: about 50 us of the
    1.3 ms a small GetItem cost in process. A form (the query protocol) and an encoded body
    (moto decompresses a gzip body by replacing the stream it reads) are left to werkzeug."""
    if request.mimetype in _FORM_TYPES or request.headers.get("Content-Encoding"):
        return
    body = environ["wsgi.input"].getvalue()
    empty = request.parameter_storage_class()
    state = request.__dict__
    state["stream"], state["form"], state["files"] = io.BytesIO(), empty, empty
    request._cached_data = body


# What a request to the embedded moto carries in place of the HMAC of its canonical request:
# moto reads the Authorization header's credential (the account, the region) and never checks
# the signature.
PLACEHOLDER_SIGNATURE = "0" * 64


def _unsigned_locally(prefix: str, scheme_host: str) -> Callable[[], None]:
    """SigV4 for requests to the embedded moto without the signature's computation: the same
    headers (X-Amz-Date, the security token, S3's payload hash, an Authorization header with
    the same credential scope and signed-header list), a placeholder signature. The canonical
    request, the string to sign and five HMACs were a tenth of the CPU of a call moto answers
    in a millisecond. Requests to any other endpoint are signed as usual."""
    from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
    from botocore.exceptions import NoCredentialsError
    from botocore.utils import get_current_datetime

    original = SigV4Auth.add_auth
    if getattr(original, "_in_process", None) is not None:
        return lambda: None

    def add_auth(self: Any, request: Any) -> None:
        url = str(request.url)
        if not (url.startswith(prefix) or url == scheme_host):
            return original(self, request)  # type: ignore[no-any-return]
        if self.credentials is None:
            raise NoCredentialsError()
        request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        self._inject_signature_to_request(request, PLACEHOLDER_SIGNATURE)
        return None

    add_auth._in_process = prefix  # type: ignore[attr-defined]
    SigV4Auth.add_auth = add_auth  # type: ignore[method-assign]

    def uninstall() -> None:
        SigV4Auth.add_auth = original  # type: ignore[method-assign]

    return uninstall

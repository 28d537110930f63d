"""Real local receivers for alert channels: a Slack-like incoming webhook and a webhook endpoint.

Both run ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` (a free port) in a background
thread, record every request, answer from a script (then a default), and are context
managers (leaving stops the server and releases any held handler).

:class:`SlackServer` behaves like a Slack incoming webhook: it answers ``200 ok`` by default;
script answers with strings::

    "ok"        200, body "ok"
    "429:1"     429 with Retry-After: 1 (body "rate_limited"); "429" has no Retry-After
    "500"       500 (any status: 400 invalid_payload, 403, 404 no_service, 410 ...)

Example::

    from tests.support.receivers import SlackServer

    with SlackServer(["429:1", "ok"]) as slack:
        ...  # SlackChannel(SlackConfig(name="ops", webhook_url=slack.url)).send(story, key=k)
        assert len(slack.messages) == 1          # messages Slack accepted (answered 2xx)
        assert len(slack.requests) == 2          # every POST, with its JSON and headers

:class:`WebhookReceiver` is a Standard Webhooks endpoint: with ``secret`` it checks every
request with ``worker.alerts.webhook.verify`` (a bad signature is answered 401 and recorded
with ``verified=False``); statuses are scripted with ints or ``"429:5"`` strings (Retry-After
5), default 200; ``hold=threading.Event()`` makes each handler wait for the event before
answering (for client timeouts; leaving the context sets it)::

    with WebhookReceiver(secret="whsec_...", script=[500, 500, 200]) as hook:
        ...  # WebhookChannel(WebhookConfig(name="ops", url=hook.url, secret=...)).send(...)
        assert hook.count == 3 and hook.ids == {key}
        assert hook.accepted[0]["story"]["id"] == story["id"]

``wait_for(n)`` on either server blocks (with a timeout) until ``n`` requests have arrived.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from worker.alerts.webhook import verify
from worker.errors import PeaceWatchError

_SAFETY_WAIT = 10.0  # seconds a held handler waits at most, so a broken test cannot hang

_SLACK_BODIES = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "internal_error",
}


@dataclass(frozen=True, slots=True)
class Received:
    """One request as a receiver saw it; ``headers`` has lower-case keys."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float = field(repr=False)  # time.monotonic() on arrival
    verified: bool | None = None  # webhook receiver with a secret: did the signature check?
    error: str | None = None  # why verification failed

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def _parse_spec(spec: str | int, *, slack: bool) -> Answer:
    """``"ok"``, ``"429:2"``, ``"500"`` or ``500`` as an Answer."""
    if spec == "ok":
        return Answer(200, b"ok")
    text = str(spec)
    status_text, _, retry = text.partition(":")
    status = int(status_text)
    headers = {"Retry-After": retry} if retry else {}
    if slack:
        body = b"ok" if 200 <= status < 300 else _SLACK_BODIES.get(status, "error").encode()
    else:
        body = b""
    return Answer(status, body, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: _Receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.owner._answer(self.path, headers, body)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass


class _Receiver:
    """Shared machinery: server thread, script, records, waiting."""

    _slack = False

    def __init__(
        self,
        script: Iterable[str | int] = (),
        *,
        default: str | int = 200,
        hold: threading.Event | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._script: deque[Answer] = deque(_parse_spec(s, slack=self._slack) for s in script)
        self._default = _parse_spec(default, slack=self._slack)
        self.hold = hold
        self._received: list[Received] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=type(self).__name__,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -------------------------------------------------------------- script and records

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *answers: str | int) -> None:
        """Queue more answers (used before the default)."""
        with self._lock:
            self._script.extend(_parse_spec(a, slack=self._slack) for a in answers)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._received)

    def wait_for(self, n: int, timeout: float = _SAFETY_WAIT) -> bool:
        """Block until at least ``n`` requests have arrived (False on timeout)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._received) >= n, timeout=timeout)

    def _check(self, headers: Mapping[str, str], body: bytes) -> tuple[bool | None, str | None]:
        return None, None

    def _answer(self, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        verified, error = self._check(headers, body)
        with self._lock:
            answer = self._script.popleft() if self._script else self._default
            if verified is False:
                answer = Answer(401, b"bad signature")
            self._received.append(
                Received(path, headers, body, answer.status, time.monotonic(), verified, error)
            )
            self._arrived.notify_all()
        if self.hold is not None:
            self.hold.wait(_SAFETY_WAIT)
        return answer


class SlackServer(_Receiver):
    """A Slack-like incoming webhook (see the module docstring)."""

    _slack = True

    def __init__(
        self,
        script: Iterable[str] = (),
        *,
        default: str = "ok",
        hold: threading.Event | None = None,
    ) -> None:
        super().__init__(script, default=default, hold=hold)
        self.token = uuid.uuid4().hex  # unique per server, like a real webhook URL
        self.path = f"/services/T0TEST/B0TEST/{self.token}"

    @property
    def url(self) -> str:
        """The webhook URL (a secret in real life; unique per server)."""
        return self.base_url + self.path

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The JSON messages Slack accepted (answered 2xx), in order."""
        return [r.json() for r in self.requests if 200 <= r.status < 300]


class WebhookReceiver(_Receiver):
    """A Standard Webhooks receiver (see the module docstring)."""

    PATH = "/hooks/peacewatch"

    def __init__(
        self,
        secret: str | None = None,
        script: Iterable[str | int] = (),
        *,
        default: str | int = 200,
        hold: threading.Event | None = None,
        tolerance: float = 300,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self._now = now
        super().__init__(script, default=default, hold=hold)

    @property
    def url(self) -> str:
        return self.base_url + self.PATH

    @property
    def ids(self) -> set[str]:
        """Distinct ``webhook-id`` values seen."""
        return {r.headers.get("webhook-id", "") for r in self.requests}

    @property
    def accepted(self) -> list[Any]:
        """Payloads answered 2xx (and verified, with a secret), in order."""
        return [r.json() for r in self.requests if 200 <= r.status < 300]

    def unique_accepted(self) -> dict[str, Any]:
        """Accepted payloads by ``webhook-id``: what an idempotent receiver keeps."""
        out: dict[str, Any] = {}
        for r in self.requests:
            if 200 <= r.status < 300:
                out.setdefault(r.headers.get("webhook-id", ""), r.json())
        return out

    def _check(self, headers: Mapping[str, str], body: bytes) -> tuple[bool | None, str | None]:
        if self.secret is None:
            return None, None
        try:
            verify(self.secret, headers, body, tolerance=self.tolerance, now=self._now)
        except PeaceWatchError as exc:
            return False, str(exc)
        return True, None

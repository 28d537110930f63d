"""A real local SMTP server (aiosmtpd) with STARTTLS or implicit TLS and AUTH, for tests.

:class:`SmtpServer` runs an aiosmtpd ``Controller`` on ``127.0.0.1`` (a free port, bound
before the server starts, so there is no port race) in a background thread. Its certificate
is issued at test time by a throw-away ``trustme`` CA; :attr:`SmtpServer.client_context` is
an ``ssl.SSLContext`` that trusts that CA (give it to the client under test).

- ``mode="starttls"`` (default): plain connection, STARTTLS required before anything else.
- ``mode="tls"``: implicit TLS from the first byte (the port-465 style).
- AUTH LOGIN and PLAIN, only after TLS, checked against ``username`` / ``password``; a
  server built with ``username=None`` accepts mail without AUTH.
- ``refuse={"addr": (code, text)}`` answers RCPT TO for that address with the given reply
  (``550`` permanent, ``451`` temporary), so clients can be tested against refusals.

Every accepted message is recorded as a :class:`ReceivedMessage` (the parsed
``email.message.EmailMessage``, envelope, whether the session was under TLS and which login
it used); :meth:`SmtpServer.wait_for` blocks on a condition (no sleeps) until ``n`` arrived.

Example::

    from tests.support.smtp import SmtpServer

    with SmtpServer(username="alerts", password="s3cret") as server:
        ...                         # send to server.host, server.port with server.client_context
        [message] = server.wait_for(1)
        assert message.tls and message.login == "alerts"
        assert message.message["Subject"].startswith("[PeaceWatch]")
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

_WAIT = 10.0  # seconds wait_for waits at most, so a broken test cannot hang


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One message the server accepted."""

    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]
    tls: bool  # the session was encrypted (STARTTLS done, or implicit TLS)
    login: str | None  # the AUTH login used, None without AUTH
    raw: bytes = field(repr=False)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self._server.refuse.get(address)
        if refusal is not None:
            code, text = refusal
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login: str | None = None
        if isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        self._server._record(
            ReceivedMessage(
                message=parsed,
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                tls=session.ssl is not None or _encrypted(server),
                login=login,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


def _encrypted(server: SMTP) -> bool:
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self._username = username.encode()
        self._password = password.encode()
        self.failures = 0

    def __call__(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if (
            mechanism in ("LOGIN", "PLAIN")
            and isinstance(auth_data, LoginPassword)
            and auth_data.login == self._username
            and auth_data.password == self._password
        ):
            return AuthResult(success=True, auth_data=auth_data)
        self.failures += 1
        return AuthResult(success=False, handled=False)


class _BoundController(Controller):
    """A Controller that serves on a socket bound beforehand (port 0 → a free port)."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class SmtpServer:
    """A local SMTP server requiring TLS (STARTTLS or implicit) and, optionally, AUTH."""

    def __init__(
        self,
        *,
        mode: Literal["starttls", "tls"] = "starttls",
        username: str | None = "peacewatch",
        password: str | None = "correct horse battery staple",
        refuse: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.mode = mode
        self.username = username
        self.password = password
        self.refuse: dict[str, tuple[int, str]] = dict(refuse or {})
        self.host = "127.0.0.1"
        self.port = 0
        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._server_context)
        self.client_context = ssl.create_default_context()
        self._ca.configure_trust(self.client_context)
        self.authenticator: _Authenticator | None = None
        self._messages: list[ReceivedMessage] = []
        self._cond = threading.Condition()
        self._controller: _BoundController | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> SmtpServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        kwargs: dict[str, Any] = {"server_hostname": "smtp.peacewatch.test"}
        if self.username is not None and self.password is not None:
            self.authenticator = _Authenticator(self.username, self.password)
            kwargs["authenticator"] = self.authenticator
            # aiosmtpd only knows about STARTTLS; under implicit TLS the link is encrypted
            kwargs["auth_require_tls"] = self.mode == "starttls"
        if self.mode == "starttls":
            kwargs["tls_context"] = self._server_context
            kwargs["require_starttls"] = True
        else:
            kwargs["ssl_context"] = self._server_context
        controller = _BoundController(_Handler(self), sock, loop=asyncio.new_event_loop(), **kwargs)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what arrived ---------------------------------------------------------------------
    def _record(self, message: ReceivedMessage) -> None:
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()

    def write_ca(self, path: Path) -> Path:
        """Write the test CA as PEM (for configs that take a ``ca_file``)."""
        self._ca.cert_pem.write_to_path(str(path))
        return path

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._cond:
            return list(self._messages)

    def wait_for(self, n: int, timeout: float = _WAIT) -> list[ReceivedMessage]:
        """The first ``n`` messages, waiting until they arrived (AssertionError on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= n, timeout):
                raise AssertionError(f"expected {n} messages, got {len(self._messages)}")
            return list(self._messages[:n])

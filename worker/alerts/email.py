"""The email channel: one multipart (text + HTML) message per story, or one digest per period.

SMTP with STARTTLS (default) or implicit TLS (``tls = true``, port 465), AUTH when a
username is set, certificates verified against the system store (tests pass their own
``ssl_context``). The ``Message-ID`` is derived from the delivery key, so a resend after a
crash carries the same id and mail clients that honour it show the story once.

Errors become ``DeliveryError``: 5xx replies to AUTH, MAIL FROM, RCPT TO or DATA, a server
without STARTTLS/AUTH support and an unverifiable certificate are ``permanent``; 4xx replies,
refused or dropped connections and timeouts may be retried. The password never appears in
an error or a log line; errors name the channel and the server.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import structlog

from worker import render
from worker.alerts.config import EmailConfig
from worker.errors import DeliveryError

log = structlog.get_logger("peacewatch.alerts")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_KEY_SAFE = re.compile(r"[A-Za-z0-9._-]{1,100}")


def header_safe(text: str, limit: int = 250) -> str:
    """One header line: control characters (CR, LF, ...) become spaces, runs collapse."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def message_id(key: str, from_addr: str) -> str:
    """``<key@domain-of-from>``: the same delivery key always gives the same Message-ID.

    Kept short so the header fits on one line (a folded Message-ID reads back with a space).
    """
    local = key if _KEY_SAFE.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = from_addr.rpartition("@")[2].strip(" <>") or "peacewatch.invalid"
    if not re.fullmatch(r"[A-Za-z0-9.-]+", domain):
        domain = "peacewatch.invalid"
    return f"<{local}@{domain}>"


class EmailChannel:
    """Sends stories by email; ``send_digest`` sends many in one message (digest mode)."""

    type = "email"

    def __init__(self, config: EmailConfig, *, ssl_context: ssl.SSLContext | None = None):
        self.config = config
        self.name = config.name
        self.digest_seconds: float | None = config.digest
        self._ssl_context = ssl_context
        self._local_hostname: str | None = None
        if config.username and not (config.tls or config.starttls):
            log.warning("alert.email.plaintext_login", channel=self.name, server=self._server)

    # -- public API ------------------------------------------------------------------------
    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        message = self.build_message(
            render.subject(story), render.plain_text(story), render.email_html(story), key=key
        )
        self._deliver(message, key=key, stories=1)

    def send_digest(self, stories: Sequence[Mapping[str, Any]], *, key: str) -> None:
        if not stories:
            return
        message = self.build_message(
            render.digest_subject(stories),
            render.digest_text(stories),
            render.digest_html(stories),
            key=key,
        )
        self._deliver(message, key=key, stories=len(stories))

    def close(self) -> None:
        """Nothing to release: each send opens and closes its own SMTP connection."""

    def build_message(self, subject: str, text: str, html: str, *, key: str) -> EmailMessage:
        """The multipart/alternative message (text first, HTML preferred by clients)."""
        message = EmailMessage()
        message["Subject"] = header_safe(subject)
        message["From"] = self.config.from_addr
        message["To"] = ", ".join(self.config.to)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id(key, self.config.from_addr)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(text, subtype="plain", charset="utf-8")
        message.add_alternative(html, subtype="html", charset="utf-8")
        return message

    # -- SMTP ------------------------------------------------------------------------------
    @property
    def _server(self) -> str:
        return f"{self.config.smtp_host}:{self.config.smtp_port}"

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if self._local_hostname is None:
            self._local_hostname = socket.getfqdn()
        if cfg.tls:
            return smtplib.SMTP_SSL(
                cfg.smtp_host,
                cfg.smtp_port,
                local_hostname=self._local_hostname,
                timeout=cfg.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            cfg.smtp_host, cfg.smtp_port, local_hostname=self._local_hostname, timeout=cfg.timeout
        )

    def _deliver(self, message: EmailMessage, *, key: str, stories: int) -> None:
        cfg = self.config
        try:
            with self._connect() as smtp:
                if cfg.starttls and not cfg.tls:
                    smtp.starttls(context=self._context())
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
                refused = smtp.send_message(message, from_addr=cfg.from_addr, to_addrs=list(cfg.to))
        except Exception as exc:
            error = self._translate(exc)
            log.warning(
                "alert.email.failed",
                channel=self.name,
                key=key,
                server=self._server,
                permanent=error.permanent,
                reason=str(error),
            )
            raise error from exc
        if refused:
            # Some recipients took the message: resending would repeat it for them.
            log.warning(
                "alert.email.partly_refused",
                channel=self.name,
                key=key,
                refused=len(refused),
                accepted=len(cfg.to) - len(refused),
            )
        log.info("alert.sent", channel=self.name, type=self.type, key=key, stories=stories)

    def _fail(self, reason: str, *, permanent: bool, status: int | None = None) -> DeliveryError:
        return DeliveryError(
            f"email channel {self.name!r} ({self._server}): {reason}",
            permanent=permanent,
            status=status,
        )

    def _translate(self, exc: BaseException) -> DeliveryError:
        """A foreign exception as a DeliveryError; never carries the password."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            code = exc.smtp_code
            return self._fail(
                f"the server refused the login for user {self.config.username!r} ({code})",
                permanent=not _temporary(code),
                status=code,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            what = "STARTTLS" if "STARTTLS" in str(exc).upper() else "a required extension"
            return self._fail(f"the server does not support {what}", permanent=True)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            temporary = any(_temporary(code) for code in codes)
            first = min(codes) if codes else None
            return self._fail(
                f"the server refused every recipient ({_codes(codes)})",
                permanent=not temporary,
                status=first,
            )
        if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data error, ...
            code = exc.smtp_code
            what = {
                smtplib.SMTPSenderRefused: "refused the sender",
                smtplib.SMTPDataError: "refused the message",
                smtplib.SMTPConnectError: "refused the connection",
                smtplib.SMTPHeloError: "refused the greeting",
            }.get(type(exc), "answered")
            return self._fail(
                f"the server {what}: {code} {_reply(exc.smtp_error)}",
                permanent=not _temporary(code),
                status=code,
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._fail(
                f"the server's TLS certificate cannot be verified ({exc.verify_message})",
                permanent=True,
            )
        if isinstance(exc, ssl.SSLError):
            return self._fail(f"TLS failed ({exc.reason or type(exc).__name__})", permanent=False)
        timed_out = isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc)
        if isinstance(exc, TimeoutError | socket.timeout) or (
            isinstance(exc, smtplib.SMTPServerDisconnected) and timed_out
        ):
            return self._fail(f"timed out after {self.config.timeout:g} s", permanent=False)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return self._fail("the server closed the connection", permanent=False)
        if isinstance(exc, smtplib.SMTPException):  # (an OSError subclass: test it first)
            if "authentication method" in str(exc):
                return self._fail("no AUTH mechanism in common with the server", permanent=True)
            return self._fail(f"SMTP error ({type(exc).__name__})", permanent=False)
        if isinstance(exc, OSError):
            return self._fail(
                f"cannot connect ({exc.strerror or type(exc).__name__})", permanent=False
            )
        if isinstance(exc, UnicodeError):
            return self._fail(
                "an address cannot be sent (non-ASCII without SMTPUTF8)", permanent=True
            )
        return self._fail(f"unexpected error ({type(exc).__name__})", permanent=False)


def _temporary(code: int) -> bool:
    """4xx (and anything that is not 5xx) may succeed later; 5xx will not."""
    return not 500 <= code < 600


def _codes(codes: Sequence[int]) -> str:
    return ", ".join(str(code) for code in sorted(set(codes))) or "no code"


def _reply(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return header_safe(text, limit=160)

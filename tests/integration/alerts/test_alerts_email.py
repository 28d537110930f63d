"""The email channel against a real local SMTP server (aiosmtpd, STARTTLS or TLS, AUTH)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.smtp import SmtpServer
from worker.alerts.base import delivery_key
from worker.alerts.config import EmailConfig
from worker.alerts.email import EmailChannel, header_safe, message_id
from worker.errors import DeliveryError

USER = "alerts@peacewatch.test"
PASSWORD = "Tr0ub4dor&3-not-in-errors"


def make_story(n: int = 1, **overrides: Any) -> dict[str, Any]:
    story: dict[str, Any] = {
        "id": f"story-gaza-truce-{n}",
        "url": f"https://news.example.org/gaza-truce-{n}",
        "title": f"Qatar brokers a four-day Gaza truce, day {n} of hostage releases",
        "source": "Example Wire",
        "published": "2023-11-22T06:15:00+00:00",
        "mediation": {
            "label": "mediation",
            "score": 0.91,
            "evidence": ["Qatari mediators said the pause would begin at dawn on Friday."],
        },
        "facts": {
            "event_types": ["ceasefire", "agreement"],
            "mediators": ["QA", "EG"],
            "parties": ["IL", "hamas"],
            "conflict": "Israel–Hamas war",
            "people": [],
            "places": ["Gaza"],
            "event_date": "2023-11-24",
            "quotes": [{"speaker": "Majed al-Ansari", "text": "The truce holds for four days."}],
            "stances": [],
        },
    }
    story.update(overrides)
    return story


def beijing_story() -> dict[str, Any]:
    story = make_story(
        id="story-xi-zelensky-call",
        title="Xi phones Zelensky and offers to send an envoy",
    )
    story["facts"] = {**story["facts"], "mediators": ["CN"], "parties": ["UA", "RU"]}
    return story


def config(server: SmtpServer, **overrides: Any) -> EmailConfig:
    data: dict[str, Any] = {
        "name": "ops-mail",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "username": USER,
        "password": PASSWORD,
        "from": "PeaceWatch <peacewatch@alerts.example.org>",
        "to": ["desk@example.org", "analyst@example.org"],
        "timeout": 5,
    }
    if server.mode == "tls":
        data.update(tls=True, starttls=False)
    data.update(overrides)
    return EmailConfig.model_validate(data)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(username=USER, password=PASSWORD) as server:
        yield server


def test_story_email_arrives_over_starttls_with_login(smtp: SmtpServer) -> None:
    channel = EmailChannel(config(smtp), ssl_context=smtp.client_context)
    story = beijing_story()
    channel.send(story, key=delivery_key(story["id"], "ops-mail"))

    [received] = smtp.wait_for(1)
    msg = received.message
    assert received.tls, "the message must travel after STARTTLS"
    assert received.login == USER
    assert received.mail_from == "peacewatch@alerts.example.org"
    assert received.rcpt_tos == ("desk@example.org", "analyst@example.org")
    assert msg["Subject"] == (
        "[PeaceWatch] CN → UA, RU: Xi phones Zelensky and offers to send an envoy"
    )
    assert msg["From"] == "PeaceWatch <peacewatch@alerts.example.org>"
    assert msg["To"] == "desk@example.org, analyst@example.org"
    assert msg["Date"] and msg["Message-ID"]
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "Xi phones Zelensky" in text.get_content()
    assert "CN → UA, RU" in text.get_content()
    assert "<html" in html.get_content() and "Xi phones Zelensky" in html.get_content()
    assert PASSWORD.encode() not in received.raw


def test_implicit_tls_server() -> None:
    with SmtpServer(mode="tls", username=USER, password=PASSWORD) as server:
        channel = EmailChannel(config(server), ssl_context=server.client_context)
        channel.send(make_story(), key="msg_implicit")
        [received] = server.wait_for(1)
    assert received.tls and received.login == USER
    assert received.message["Subject"].startswith("[PeaceWatch] QA, EG → IL, hamas: Qatar")


def test_same_key_same_message_id(smtp: SmtpServer) -> None:
    channel = EmailChannel(config(smtp), ssl_context=smtp.client_context)
    story = make_story()
    key = delivery_key(story["id"], "ops-mail")
    channel.send(story, key=key)
    channel.send(story, key=key)  # a resend after a crash
    channel.send(make_story(2), key=delivery_key("story-gaza-truce-2", "ops-mail"))
    first, second, other = smtp.wait_for(3)
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert first.message["Message-ID"] != other.message["Message-ID"]
    assert first.message["Message-ID"] == message_id(key, "peacewatch@alerts.example.org")
    assert first.message["Message-ID"] == f"<{key}@alerts.example.org>"


def test_subject_with_line_breaks_stays_one_header(smtp: SmtpServer) -> None:
    channel = EmailChannel(config(smtp), ssl_context=smtp.client_context)
    story = make_story(title="Truce talks resume\r\nBcc: victim@example.org\nin Doha")
    channel.send(story, key="msg_crlf")
    [received] = smtp.wait_for(1)
    assert received.message["Bcc"] is None
    assert received.rcpt_tos == ("desk@example.org", "analyst@example.org")
    assert "\n" not in received.message["Subject"]
    assert "Truce talks resume Bcc: victim@example.org in Doha" in received.message["Subject"]
    assert header_safe("a\r\nb\x00c\u2028d") == "a b c d"


def test_wrong_password_is_permanent_and_secret_free(smtp: SmtpServer) -> None:
    secret = "wrong-secret-PW-77"
    channel = EmailChannel(config(smtp, password=secret), ssl_context=smtp.client_context)
    with pytest.raises(DeliveryError) as caught:
        channel.send(make_story(), key="msg_badpw")
    error = caught.value
    assert error.permanent
    assert error.status == 535
    assert "ops-mail" in str(error)
    assert secret not in str(error) and secret not in repr(error.args)
    assert PASSWORD not in str(error)
    assert smtp.authenticator is not None and smtp.authenticator.failures >= 1
    assert smtp.messages == []


def test_server_down_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = EmailConfig.model_validate(
        {"name": "down-mail", "smtp_host": "127.0.0.1", "smtp_port": port, "from": "a@b.org",
         "to": ["c@d.org"], "username": USER, "password": PASSWORD, "timeout": 3}
    )  # fmt: skip
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(cfg).send(make_story(), key="msg_down")
    assert not caught.value.permanent
    assert "down-mail" in str(caught.value) and PASSWORD not in str(caught.value)


def test_silent_server_times_out_retryably() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        cfg = EmailConfig.model_validate(
            {"name": "slow-mail", "smtp_host": "127.0.0.1", "smtp_port": port, "from": "a@b.org",
             "to": ["c@d.org"], "timeout": 0.3}
        )  # fmt: skip
        with pytest.raises(DeliveryError) as caught:
            EmailChannel(cfg).send(make_story(), key="msg_slow")
    assert not caught.value.permanent
    assert "timed out" in str(caught.value)


def test_untrusted_certificate_is_refused(smtp: SmtpServer) -> None:
    channel = EmailChannel(config(smtp), ssl_context=ssl.create_default_context())
    with pytest.raises(DeliveryError) as caught:
        channel.send(make_story(), key="msg_untrusted")
    assert caught.value.permanent
    assert "certificate" in str(caught.value)
    assert smtp.messages == []


def test_recipient_refusals() -> None:
    refuse = {"gone@example.org": (550, "No such user"), "full@example.org": (452, "Mailbox full")}
    with SmtpServer(username=USER, password=PASSWORD, refuse=refuse) as server:
        ssl_context = server.client_context
        gone = EmailChannel(config(server, to=["gone@example.org"]), ssl_context=ssl_context)
        with pytest.raises(DeliveryError) as permanent:
            gone.send(make_story(), key="msg_gone")
        full = EmailChannel(config(server, to=["full@example.org"]), ssl_context=ssl_context)
        with pytest.raises(DeliveryError) as temporary:
            full.send(make_story(), key="msg_full")
        partial = EmailChannel(
            config(server, to=["gone@example.org", "desk@example.org"]), ssl_context=ssl_context
        )
        partial.send(make_story(), key="msg_partial")  # one recipient took it: no retry
        [received] = server.wait_for(1)
    assert permanent.value.permanent and permanent.value.status == 550
    assert not temporary.value.permanent and temporary.value.status == 452
    assert received.rcpt_tos == ("desk@example.org",)


def test_digest_sends_three_stories_in_one_message(smtp: SmtpServer) -> None:
    channel = EmailChannel(config(smtp, digest="1h"), ssl_context=smtp.client_context)
    assert channel.digest_seconds == 3600
    stories = [make_story(n) for n in (1, 2, 3)]
    channel.send_digest(stories, key="msg_digest_2023-11-24T06")
    [received] = smtp.wait_for(1)
    msg = received.message
    assert msg["Subject"].startswith("[PeaceWatch] 3 mediation stories")
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    for n in (1, 2, 3):
        assert f"day {n} of hostage releases" in text.get_content()
        assert f"day {n} of hostage releases" in html.get_content()
    assert msg["Message-ID"] == "<msg_digest_2023-11-24T06@alerts.example.org>"
    assert EmailChannel(config(smtp), ssl_context=smtp.client_context).digest_seconds is None

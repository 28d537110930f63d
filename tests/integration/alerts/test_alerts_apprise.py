"""The Apprise channel against a real local HTTP receiver (Apprise's ``json://`` service)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from worker.alerts.apprise_channel import AppriseChannel
from worker.alerts.config import AppriseConfig
from worker.errors import ConfigError, DeliveryError


class Receiver:
    """A JSON endpoint on 127.0.0.1 (free port) recording POSTs; answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.posts: list[tuple[str, dict[str, str], Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.posts.append((self.path, headers, body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def make_story() -> dict[str, Any]:
    return {
        "id": "jeddah-talks-2023-05-07",
        "url": "https://news.example.org/jeddah-talks",
        "title": "Saudi and US envoys host Sudan's warring sides in Jeddah",
        "source": "Example Wire",
        "published": "2023-05-07T11:00:00+00:00",
        "mediation": {
            "label": "mediation",
            "score": 0.9,
            "evidence": ["Envoys of the army and the RSF met in Jeddah for pre-negotiation talks."],
        },
        "facts": {
            "event_types": ["talks", "meeting"],
            "mediators": ["SA", "US"],
            "parties": ["SD", "rsf"],
            "conflict": "Sudan war",
            "people": [],
            "places": ["Jeddah"],
            "event_date": "2023-05-06",
            "quotes": [],
            "stances": [],
        },
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def channel(*urls: str) -> AppriseChannel:
    return AppriseChannel(AppriseConfig(name="ops-apprise", urls=urls))


def test_one_post_with_title_and_body(receiver: Receiver) -> None:
    ch = channel(f"json://127.0.0.1:{receiver.port}/hook")
    ch.send(make_story(), key="msg_jeddah")
    [(path, headers, body)] = receiver.posts
    assert path == "/hook"
    assert headers["content-type"].startswith("application/json")
    assert body["title"] == (
        "[PeaceWatch] SA, US → SD, rsf: Saudi and US envoys host Sudan's warring sides in Jeddah"
    )
    assert body["message"].startswith("Saudi and US envoys host Sudan's warring sides in Jeddah")
    assert "SA, US → SD, rsf" in body["message"]
    assert "https://news.example.org/jeddah-talks" in body["message"]
    assert body["type"] == "info"
    ch.close()


def test_every_url_is_notified(receiver: Receiver) -> None:
    ch = channel(
        f"json://127.0.0.1:{receiver.port}/first", f"json://127.0.0.1:{receiver.port}/second"
    )
    ch.send(make_story(), key="msg_two")
    assert sorted(path for path, _, _ in receiver.posts) == ["/first", "/second"]


def test_server_error_is_retryable(receiver: Receiver) -> None:
    receiver.status = 500
    token = "tok-5f1e2d-secret"
    ch = channel(f"json://user:{token}@127.0.0.1:{receiver.port}/hook")
    with pytest.raises(DeliveryError) as caught:
        ch.send(make_story(), key="msg_500")
    assert not caught.value.permanent
    assert "ops-apprise" in str(caught.value)
    assert token not in str(caught.value) and str(receiver.port) not in str(caught.value)
    assert len(receiver.posts) == 1
    receiver.status = 200  # the retry goes through
    ch.send(make_story(), key="msg_500")
    assert len(receiver.posts) == 2


@pytest.mark.parametrize(
    "url",
    ["notaservice://tok-abc123secret@example.org", "tgram://", "json://", "   ", "https//x/tok-9z"],
)
def test_invalid_url_is_a_config_error_without_the_url(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        channel("json://127.0.0.1:9/ok", url)
    message = str(caught.value)
    assert "ops-apprise" in message and "urls[1]" in message
    assert url.strip() == "" or url not in message
    assert "tok-" not in message


def test_apprise_debug_logs_stay_quiet(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    secret_path = "/hook/tok-d3b07384d113"
    with caplog.at_level(logging.DEBUG):
        ch = channel(f"json://127.0.0.1:{receiver.port}{secret_path}")
        ch.send(make_story(), key="msg_logs")
    assert len(receiver.posts) == 1
    assert "tok-d3b07384d113" not in caplog.text

"""Alert throughput: deliveries per second for each channel type to a local receiver.

    python benchmarks/alerts.py [--stories 300]

Every channel sends the same stories to a receiver on this machine with no rate limit
(Slack's one-message-per-second spacing is turned off): an HTTP server answering "ok" for
Slack, webhooks and Apprise (json://), aiosmtpd for email, Redis db 15 for the stream, a
temporary file for JSONL. Each send is a full delivery: render, sign, transmit, confirm.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.alerts import build_channel
from worker.alerts.base import delivery_key
from worker.alerts.config import (
    AppriseConfig,
    ChannelConfig,
    EmailConfig,
    JsonlConfig,
    RedisStreamConfig,
    SlackConfig,
    WebhookConfig,
)
from worker.alerts.sample import sample_story
from worker.logs import configure_logging


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def http_receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_receiver() -> Iterator[int]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    with socket.socket() as probe:  # a free port: aiosmtpd's readiness check cannot use 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


def rate(config: ChannelConfig, stories: list[dict[str, Any]]) -> float:
    channel = build_channel(config)
    try:
        started = time.perf_counter()
        for story in stories:
            channel.send(story, key=delivery_key(story["id"], config.name))
        return len(stories) / (time.perf_counter() - started)
    finally:
        channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stories", type=int, default=300)
    args = parser.parse_args()
    configure_logging("warning")
    from datetime import UTC, datetime, timedelta

    base = datetime.now(UTC)
    stories = [sample_story(base + timedelta(microseconds=i)) for i in range(args.stories)]
    results: list[tuple[str, float]] = []
    with (
        http_receiver() as http,
        smtp_receiver() as smtp_port,
        tempfile.TemporaryDirectory() as tmp,
    ):
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=15).flushdb()
        cases: list[tuple[str, Callable[[], ChannelConfig]]] = [
            (
                "slack",
                lambda: SlackConfig(name="s", webhook_url=f"http://{http}/slack", min_interval=0),
            ),
            (
                "webhook",
                lambda: WebhookConfig(
                    name="w",
                    url=f"http://{http}/hook",
                    secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                ),
            ),
            (
                "email",
                lambda: EmailConfig.model_validate(
                    {
                        "name": "e",
                        "smtp_host": "127.0.0.1",
                        "smtp_port": smtp_port,
                        "from": "peacewatch@example.org",
                        "to": ["desk@example.org"],
                        "starttls": False,
                    }
                ),
            ),
            ("redis_stream", lambda: RedisStreamConfig(name="r", url="redis://127.0.0.1:6379/15")),
            ("jsonl", lambda: JsonlConfig(name="j", path=f"{tmp}/alerts.jsonl")),
            ("apprise", lambda: AppriseConfig(name="a", urls=(f"json://{http}/apprise",))),
        ]
        for kind, make in cases:
            results.append((kind, rate(make(), stories)))
        redis.Redis(host="127.0.0.1", port=6379, db=15).flushdb()
    print(f"stories per channel: {args.stories}")
    for kind, per_second in results:
        print(f"{kind:13s} {per_second:8.1f} deliveries/s")


if __name__ == "__main__":
    main()

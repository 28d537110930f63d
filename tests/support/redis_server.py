"""A private ``redis-server`` process for tests that stop and restart Redis.

The shared Redis on 6379 is never touched: :class:`RedisServer` runs its own server on a free
port in a temp folder, without persistence, and can be stopped and started again on the same
port (a Redis restart). ``start`` returns once the server answers PING.

Example::

    from tests.support.redis_server import RedisServer, redis_server_available

    with RedisServer(tmp_path) as server:
        url = server.url(0)             # "redis://127.0.0.1:PORT/0"
        server.stop()                   # Redis goes away (killed) ...
        server.start()                  # ... and comes back on the same port, empty
        server.stop(save=True)          # SHUTDOWN SAVE: the next start loads the data
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

START_TIMEOUT = 10.0
_POLL = 0.05


def redis_server_available() -> bool:
    """Is ``redis-server`` on PATH?"""
    return shutil.which("redis-server") is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One private ``redis-server`` (see the module docstring)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.log_file = workdir / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1.0)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout: float = START_TIMEOUT) -> RedisServer:
        if self.process is not None and self.process.poll() is None:
            return self
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not self.ping():
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(f"redis-server exited with {code}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server not answering in {timeout}s")
            time.sleep(_POLL)
        return self

    def stop(self, *, save: bool = False) -> None:
        """Stop the server and wait until it has gone: ``save`` shuts it down cleanly with
        ``SHUTDOWN SAVE`` (the next start loads the data back), else it is killed (the next
        start is empty)."""
        process = self.process
        if process is None:
            return
        if save and process.poll() is None:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5.0)
            try:
                client.shutdown(save=True)
            except redis.RedisError:
                pass  # it went away while answering
            finally:
                client.close()
        if process.poll() is None and not save:
            process.kill()
        process.wait(START_TIMEOUT)
        self.process = None

    def log_text(self) -> str:
        try:
            return self.log_file.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""Start and stop real ``peacewatch run`` / ``worker`` / ``beat`` processes for tests.

Each process is ``python -m worker COMMAND --config FILE --ready-file F`` in its own process
group; ``start`` returns once the process has written its ready file (Celery's
``worker_ready`` or ``beat_init`` signal), never after a fixed sleep, and fails with the
process's log if it exits or is not ready in time. ``stop`` sends SIGTERM to the main process
(Celery's warm shutdown) and waits, then SIGKILL if needed. Logs go to a file you can read
while it runs (``log_text``).

Example::

    with ServiceProcess("run", config=cfg, workdir=tmp_path) as service:
        ...  # the worker is consuming
    assert "Traceback" not in service.log_text()
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
_POLL = 0.05  # seconds between looks at the ready file (the process writes it)


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without PEACEWATCH_* (so only the config counts)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEACEWATCH_")}
    env.update(extra or {})
    return env


class ServiceProcess:
    """One ``peacewatch`` service command as a subprocess (see the module docstring)."""

    def __init__(
        self,
        command: str,
        *,
        config: Path,
        workdir: Path,
        args: tuple[str, ...] = (),
        name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.name = name or command
        self.config = config
        self.workdir = workdir
        self.args = args
        self.env = clean_environment(env)
        self.ready_file = workdir / f"{self.name}.ready"
        self.log_file = workdir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = READY_TIMEOUT) -> ServiceProcess:
        self.ready_file.unlink(missing_ok=True)
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "worker",
                    self.command,
                    "--config",
                    str(self.config),
                    "--ready-file",
                    str(self.ready_file),
                    *self.args,
                ],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(
                    f"{self.name} exited with {code} before it was ready:\n{self.log_text()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready in {timeout}s:\n{self.log_text()}")
            time.sleep(_POLL)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Warm shutdown (SIGTERM to the main process), then SIGKILL to the group; the exit
        code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the main process stops its own children
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        # children (prefork pool, embedded beat) leave with the main process; reap any
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode

    def kill(self) -> None:
        """SIGKILL the whole group at once (a crash)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)

    def log_text(self) -> str:
        try:
            return self.log_file.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_until(condition: object, timeout: float, *, what: str, interval: float = 0.1) -> None:
    """Call ``condition()`` until it is truthy; AssertionError naming ``what`` after
    ``timeout`` seconds. For state another process changes (a store, a receiver)."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)

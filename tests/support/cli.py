"""Run the `peacewatch` command as a user would: a real subprocess, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> Result:
    """`python -m worker ARGS` in ``cwd`` with a clean PeaceWatch environment."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PEACEWATCH_") or k == "PEACEWATCH_SHARED"
    }
    environment["COLUMNS"] = "200"
    environment.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)

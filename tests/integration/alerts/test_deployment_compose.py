"""docker-compose.yml is valid (`docker compose config`, no engine needed) and has the
properties the deployment relies on. Skips when no compose client is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture
def rendered(tmp_path: Path) -> dict[str, Any]:
    command = compose_command()
    if command is None:
        pytest.skip("no docker compose client installed")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / "config" / ".env.example", tmp_path / ".env")
    (tmp_path / "config").mkdir()
    proc = subprocess.run(
        [*command, "config"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARN" not in proc.stderr.upper(), proc.stderr
    loaded: dict[str, Any] = yaml.safe_load(proc.stdout)
    return loaded


def test_compose_config_is_clean(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    assert set(services) == {"redis", "postgres", "worker", "beat", "flower"}
    redis_cmd = services["redis"]["command"]
    assert "--appendonly" in redis_cmd and redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    policy = redis_cmd[redis_cmd.index("--maxmemory-policy") + 1]
    assert policy == "noeviction"
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["postgres"]["image"].startswith("postgres:16")
    for name in ("worker", "beat"):
        service = services[name]
        assert "container_name" not in service and "ports" not in service
        env = service["environment"]
        assert env["PEACEWATCH_STORAGE_URL"].startswith("postgresql+psycopg://")
        assert env["PEACEWATCH_BROKER_URL"] == "redis://redis:6379/0"
        assert any("/app/config" in str(v) for v in service["volumes"])
    assert services["worker"]["command"] == ["worker"]
    assert services["beat"]["command"] == ["beat"]
    assert "healthcheck" in services["worker"]
    assert "5555" in str(services["flower"]["ports"])
    assert {"redis-data", "postgres-data"} <= set(rendered["volumes"])


def test_dockerfile_runs_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "\nUSER peacewatch\n" in text
    assert 'ENTRYPOINT ["peacewatch"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored

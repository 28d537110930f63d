"""`[log] json = true`: every log line on stderr is one JSON object."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from worker.logs import configure_logging
from worker.settings import load_settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    logging.basicConfig(level=logging.WARNING, force=True)


def test_json_lines_parse(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json_format=True)
    log = structlog.get_logger("peacewatch.scan")
    log.info("feed polled", feed="https://wire.example/rss", status=304, new=0)
    log.warning("feed failed", feed="https://other.example/atom", error="HTTP 503 — «busy»")
    log.debug("not shown at info")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == ["feed polled", "feed failed"]
    assert records[0]["level"] == "info" and records[0]["status"] == 304
    assert records[1]["error"] == "HTTP 503 — «busy»"
    assert all(r["timestamp"].endswith("Z") for r in records)


def test_console_format_is_not_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", json_format=False)
    structlog.get_logger("peacewatch.scan").info("feed polled", status=200)
    line = capsys.readouterr().err.strip()
    assert "feed polled" in line and "status=200" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_config_key(tmp_path: Path) -> None:
    config = tmp_path / "peacewatch.toml"
    config.write_text('[log]\njson = true\nlevel = "info"\n')
    settings = load_settings(config, env={})
    assert settings.log.json_format is True and settings.log.level == "info"

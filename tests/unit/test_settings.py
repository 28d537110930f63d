"""Settings: TOML + environment, ${VAR} expansion, one-line errors naming key and file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.settings import default_feeds, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "peacewatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.source == "built-in defaults"
    assert settings.storage.url is None and settings.broker.url is None
    assert settings.fetch.timeout == 20 and settings.fetch.max_bytes == 15_000_000
    assert settings.schedule.default_interval == 900
    assert any("antiwar.com" in f.url for f in settings.feeds)


def test_shipped_config_lists_the_same_feeds_as_the_defaults() -> None:
    shipped = tomllib.loads((ROOT / "config" / "peacewatch.toml").read_text("utf-8"))
    assert [f["url"] for f in shipped["feeds"]] == [f["url"] for f in default_feeds()]
    settings = load_settings(ROOT / "config" / "peacewatch.toml", env={})
    assert len(settings.feeds) >= 10


def test_env_var_expansion_and_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[storage]\nurl = "sqlite:///${DATA}/pw.db"\n'
        '[[channels]]\ntype = "webhook"\nurl = "${HOOK:-https://example.org/h}"\n'
        'secret = "${SECRET}"\n',
    )
    env = {
        "DATA": "/srv",
        "SECRET": "whsec_abc",
        "PEACEWATCH_BROKER_URL": "redis://r:6379/1",
        "PEACEWATCH_ALLOW_PRIVATE_NETWORKS": "true",
    }
    settings = load_settings(path, env=env)
    assert settings.storage.url == "sqlite:////srv/pw.db"
    assert settings.broker.url == "redis://r:6379/1"
    assert settings.fetch.allow_private_networks is True
    channel = settings.channels[0]
    assert channel.type == "webhook"
    assert getattr(channel, "url") == "https://example.org/h"  # noqa: B009
    assert getattr(channel, "secret") == "whsec_abc"  # noqa: B009
    env_storage = load_settings(path, env={**env, "PEACEWATCH_STORAGE_URL": "sqlite:///x.db"})
    assert env_storage.storage.url == "sqlite:///x.db"


def test_durations_in_feeds_and_schedule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[schedule]\ndefault_interval = "1h30m"\n[[feeds]]\nurl = "https://a.example/rss"\n'
        'interval = "10m"\n[[feeds]]\nurl = "https://b.example/rss"\ninterval = 45\n',
    )
    settings = load_settings(path, env={})
    assert settings.schedule.default_interval == 5400
    assert [f.interval for f in settings.feeds] == [600, 45]


@pytest.mark.parametrize(
    ("text", "env", "needles"),
    [
        ("[fetch]\ntimout = 3\n", {}, ["unknown key 'fetch.timout'", "[fetch]", "timeout"]),
        ('[fetch]\ntimeout = "soon"\n', {}, ["fetch.timeout", "number", "'soon'"]),
        ("[fetch]\ntimeout = -1\n", {}, ["fetch.timeout", "greater than 0"]),
        (
            '[schedule]\ndefault_interval = "fortnight"\n',
            {},
            ["schedule.default_interval", "duration"],
        ),
        ("[detect]\nthreshold = 2\n", {}, ["detect.threshold", "less than or equal to 1"]),
        ('[[channels]]\ntype = "pigeon"\n', {}, ["channels[0].type", "'pigeon'"]),
        ("[[feeds]]\nname = 'x'\n", {}, ["feeds[0].url", "required"]),
        ("colour = 1\n", {}, ["unknown key 'colour'", "top level"]),
        ('[storage]\nurl = "${NOPE}"\n', {}, ["storage.url", "NOPE", "not set"]),
        ("[fetch\n", {}, ["not valid TOML"]),
        (
            "",
            {"PEACEWATCH_ALLOW_PRIVATE_NETWORKS": "maybe"},
            ["PEACEWATCH_ALLOW_PRIVATE_NETWORKS", "true or false"],
        ),
    ],
)
def test_errors_are_one_line_naming_key_and_file(
    tmp_path: Path, text: str, env: dict[str, str], needles: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    if "PEACEWATCH_ALLOW" not in str(env):
        assert str(path) in message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", env={})
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(bad, env={})


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[detect]\nthreshold = 0.7\n")
    assert load_settings(env={"PEACEWATCH_CONFIG": str(path)}).detect.threshold == 0.7

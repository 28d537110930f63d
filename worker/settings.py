"""One typed settings object: a TOML file plus the environment.

Resolution of the file: ``--config PATH``, else ``$PEACEWATCH_CONFIG``, else
``./config/peacewatch.toml`` when present, else the built-in defaults (which include the
default feed list packaged in ``worker/data/default_feeds.toml``).

``${VAR}`` (or ``${VAR:-fallback}``) inside any string is read from the environment.
Environment overrides: ``PEACEWATCH_STORAGE_URL``, ``PEACEWATCH_BROKER_URL``,
``PEACEWATCH_ALLOW_PRIVATE_NETWORKS``, ``PEACEWATCH_METRICS_PORT``,
``PEACEWATCH_METRICS_ADDR``. Every problem becomes one ``ConfigError`` line that names the
key, the file and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from worker import PROJECT_URL, __version__
from worker.durations import parse_duration
from worker.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/peacewatch.toml")
CHANNEL_TYPES = ("slack", "email", "webhook", "redis_stream", "apprise", "jsonl")


def _duration(value: Any) -> float:
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError(f"expected a duration such as '15m', got {type(value).__name__}")


Duration = Annotated[float, BeforeValidator(_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Section):
    url: str | None = None


class BrokerSettings(_Section):
    url: str | None = None


class FetchSettings(_Section):
    timeout: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=15_000_000, gt=0)
    allow_private_networks: bool = False
    allowlist: tuple[str, ...] = ()
    user_agent: str = f"peacewatch/{__version__} (+{PROJECT_URL})"
    concurrency: int = Field(default=32, ge=1, le=512)
    per_host: int = Field(default=4, ge=1, le=64)
    max_redirects: int = Field(default=5, ge=0, le=20)


class ScheduleSettings(_Section):
    default_interval: Duration = 900.0
    min_interval: Duration = 300.0
    max_interval: Duration = 21600.0


class DetectSettings(_Section):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)


class ScanSettings(_Section):
    processes: int | None = Field(default=None, ge=0, le=64)  # None: auto (large passes only)


class AlertSettings(_Section):
    """How hard one pass tries a failing channel before leaving a delivery for later."""

    max_attempts: int = Field(default=5, ge=1, le=50)
    base_delay: float = Field(default=1.0, ge=0)  # seconds; doubled per attempt, with jitter
    max_delay: float = Field(default=30.0, ge=0)
    pass_budget: float = Field(default=120.0, ge=0)  # seconds one channel may retry per pass
    lease: float = Field(default=300.0, gt=0)  # seconds a claimed delivery stays hidden


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "warning"
    json_format: bool = Field(default=False, alias="json")


class MetricsSettings(_Section):
    """Prometheus ``/metrics`` of the worker process; off unless ``port`` is set."""

    port: int | None = Field(default=None, ge=0, le=65535)
    addr: str = "127.0.0.1"


class FeedSettings(_Section):
    url: str
    name: str | None = None
    interval: Duration | None = None


class ChannelSettings(BaseModel):
    """A delivery channel; its type-specific keys are checked by the alerts package."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: Literal["slack", "email", "webhook", "redis_stream", "apprise", "jsonl"]
    name: str | None = None
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    event_types: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()


class GazetteerSettings(_Section):
    actors: tuple[dict[str, Any], ...] = ()


class Settings(_Section):
    storage: StorageSettings = StorageSettings()
    broker: BrokerSettings = BrokerSettings()
    fetch: FetchSettings = FetchSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    detect: DetectSettings = DetectSettings()
    scan: ScanSettings = ScanSettings()
    alerts: AlertSettings = AlertSettings()
    log: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    feeds: tuple[FeedSettings, ...] = ()
    channels: tuple[ChannelSettings, ...] = ()
    gazetteer: GazetteerSettings = GazetteerSettings()
    source: str = Field(default="built-in defaults", exclude=True)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(value: Any, where: str, env: Mapping[str, str], origin: str) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, fallback = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if fallback is not None:
                return fallback
            raise ConfigError(
                f"{origin}: {where} uses ${{{name}}} but the environment variable {name} is not set"
            )

        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {
            k: _expand(v, f"{where}.{k}" if where else k, env, origin) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]", env, origin) for i, v in enumerate(value)]
    return value


def _truthy(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"environment: {name}={raw!r}: expected true or false")


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    if env.get("PEACEWATCH_STORAGE_URL"):
        data.setdefault("storage", {})["url"] = env["PEACEWATCH_STORAGE_URL"]
    if env.get("PEACEWATCH_BROKER_URL"):
        data.setdefault("broker", {})["url"] = env["PEACEWATCH_BROKER_URL"]
    if env.get("PEACEWATCH_METRICS_PORT"):
        data.setdefault("metrics", {})["port"] = env["PEACEWATCH_METRICS_PORT"]
    if env.get("PEACEWATCH_METRICS_ADDR"):
        data.setdefault("metrics", {})["addr"] = env["PEACEWATCH_METRICS_ADDR"]
    if "PEACEWATCH_ALLOW_PRIVATE_NETWORKS" in env:
        flag = _truthy(
            "PEACEWATCH_ALLOW_PRIVATE_NETWORKS", env["PEACEWATCH_ALLOW_PRIVATE_NETWORKS"]
        )
        data.setdefault("fetch", {})["allow_private_networks"] = flag


def _describe_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _format_error(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = _describe_location(loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        parent = _describe_location(loc[:-1])
        section = "the top level" if parent == "(top level)" else f"[{parent}]"
        model = _model_at(loc[:-1])
        known = ", ".join(sorted(model.model_fields)) if model else ""
        expected = f"; expected one of: {known}" if known else ""
        return f"{origin}: unknown key {key!r} in {section}{expected}"
    got = first.get("input")
    got_text = "" if isinstance(got, dict | list) else f", got {got!r}"
    return f"{origin}: {key}: {first['msg']}{got_text}"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", None)
        candidate = inner[0] if inner else annotation
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            model = candidate
        else:
            return None
    return model


def default_feeds() -> list[dict[str, Any]]:
    """The feeds a new user gets when no config file lists any."""
    text = resources.files("worker.data").joinpath("default_feeds.toml").read_text("utf-8")
    feeds: list[dict[str, Any]] = tomllib.loads(text)["feeds"]
    return feeds


def resolve_config_path(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        return Path(path)
    if env.get("PEACEWATCH_CONFIG"):
        return Path(env["PEACEWATCH_CONFIG"])
    if DEFAULT_CONFIG_PATH.is_file():
        return DEFAULT_CONFIG_PATH
    return None


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (if any) and the environment into a validated Settings."""
    environ = os.environ if env is None else env
    config_path = resolve_config_path(path, environ)
    data: dict[str, Any] = {}
    origin = "built-in defaults"
    if config_path is not None:
        origin = str(config_path)
        try:
            raw = config_path.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigError(f"{origin}: config file not found") from exc
        except OSError as exc:
            raise ConfigError(f"{origin}: cannot read config file: {exc.strerror}") from exc
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{origin}: config file is not UTF-8 text") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    data = _expand(data, "", environ, origin)
    if "feeds" not in data:
        data["feeds"] = default_feeds()
    _apply_env(data, environ)
    data["source"] = origin
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, origin)) from exc

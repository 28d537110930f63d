"""Typed settings of each channel type, checked at start: a bad channel is named in one line.

``[[channels]]`` entries arrive as ``worker.settings.ChannelSettings`` (common keys typed,
type-specific keys as extras); ``channel_config`` validates the extras for the type.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from worker.errors import ConfigError
from worker.settings import ChannelSettings, Duration


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    type: str
    name: str
    min_score: float = 0.0
    event_types: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    ops: bool = False  # also receives operations notices (a feed failing for 24 h)


class SlackConfig(_Config):
    type: Literal["slack"] = "slack"
    webhook_url: HttpUrl = Field(repr=False)  # a secret: it carries Slack's token
    min_interval: float = Field(default=1.0, ge=0)  # seconds between messages per webhook


class EmailConfig(_Config):
    type: Literal["email"] = "email"
    smtp_host: str
    smtp_port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    from_addr: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1)
    starttls: bool = True  # default: true, unless tls = true is set
    tls: bool = False  # implicit TLS (port 465); exclusive with starttls
    digest: Duration | None = None  # one email per period listing its stories
    ca_file: str | None = None  # PEM bundle to trust instead of the system CAs (own servers)
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _tls_implies_no_starttls(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("tls") is True and "starttls" not in data:
            return {**data, "starttls": False}
        return data


class WebhookConfig(_Config):
    type: Literal["webhook"] = "webhook"
    url: HttpUrl
    secret: str | None = Field(default=None, repr=False)  # whsec_<base64>
    timeout: float = Field(default=15.0, gt=0)


class RedisStreamConfig(_Config):
    type: Literal["redis_stream"] = "redis_stream"
    url: str = "redis://127.0.0.1:6379/0"
    stream: str = "peacewatch:stories"
    maxlen: int = Field(default=10_000, ge=1)


class AppriseConfig(_Config):
    type: Literal["apprise"] = "apprise"
    urls: tuple[str, ...] = Field(min_length=1, repr=False)


class JsonlConfig(_Config):
    type: Literal["jsonl"] = "jsonl"
    path: str


ChannelConfig = (
    SlackConfig | EmailConfig | WebhookConfig | RedisStreamConfig | AppriseConfig | JsonlConfig
)
_MODELS: dict[str, type[_Config]] = {
    "slack": SlackConfig,
    "email": EmailConfig,
    "webhook": WebhookConfig,
    "redis_stream": RedisStreamConfig,
    "apprise": AppriseConfig,
    "jsonl": JsonlConfig,
}


def channel_config(entry: ChannelSettings, index: int, origin: str) -> ChannelConfig:
    """The typed config of ``channels[index]``; ConfigError names the channel and the key."""
    name = entry.name or f"{entry.type}-{index + 1}"
    data: dict[str, Any] = {**(entry.model_extra or {}), **entry.model_dump(exclude_none=True)}
    data["name"] = name
    try:
        return _MODELS[entry.type].model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(channel)"
        if first["type"] == "extra_forbidden":
            reason = f"unknown key {key!r} for a {entry.type} channel"
        elif first["type"] == "missing":
            reason = f"{key} is required for a {entry.type} channel"
        else:
            reason = f"{key}: {first['msg']}"
        raise ConfigError(f"{origin}: channel {name!r} (channels[{index}]): {reason}") from exc


def channel_configs(channels: tuple[ChannelSettings, ...], origin: str) -> list[ChannelConfig]:
    """Every configured channel, validated; names must be unique."""
    configs = [channel_config(entry, i, origin) for i, entry in enumerate(channels)]
    seen: set[str] = set()
    for config in configs:
        if config.name in seen:
            raise ConfigError(
                f"{origin}: two channels are named {config.name!r}; names must differ"
            )
        seen.add(config.name)
    if any(isinstance(c, EmailConfig) and c.tls and c.starttls for c in configs):
        bad = next(c for c in configs if isinstance(c, EmailConfig) and c.tls and c.starttls)
        raise ConfigError(
            f"{origin}: channel {bad.name!r}: choose tls = true (port 465) or starttls, not both"
        )
    return configs


def matches(config: ChannelConfig, story: dict[str, Any]) -> bool:
    """Does the story pass the channel's filters (min_score, event_types, actors)?"""
    if story["mediation"]["label"] != "mediation":
        return False
    if story["mediation"]["score"] < config.min_score:
        return False
    facts = story["facts"]
    if config.event_types and not set(config.event_types) & set(facts["event_types"]):
        return False
    if config.actors:
        named = set(facts["mediators"]) | set(facts["parties"])
        if not set(config.actors) & named:
            return False
    return True

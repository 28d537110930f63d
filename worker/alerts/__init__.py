"""Alert channels: one module per channel type, all rendering from one story object.

``build_channels`` turns the validated ``[[channels]]`` configs into live channels (each
type imported only when configured); ``routing`` says which channels a story goes to.
The dispatcher (``worker.alerts.dispatch``) sends the delivery rows the store keeps.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from typing import Any

from worker.alerts.base import Channel
from worker.alerts.config import ChannelConfig, channel_configs, matches
from worker.errors import ConfigError
from worker.models import Story
from worker.settings import Settings


def build_channel(config: ChannelConfig) -> Channel:
    """The live channel for one config (raises ConfigError naming a misconfigured channel)."""
    if config.type == "slack":
        from worker.alerts.slack import SlackChannel

        return SlackChannel(config)
    if config.type == "webhook":
        from worker.alerts.webhook import WebhookChannel

        return WebhookChannel(config)
    if config.type == "email":
        from worker.alerts.email import EmailChannel

        return EmailChannel(config, ssl_context=_ssl_context(config.ca_file, config.name))
    if config.type == "redis_stream":
        from worker.alerts.redis_stream import RedisStreamChannel

        return RedisStreamChannel(config)
    if config.type == "jsonl":
        from worker.alerts.jsonl import JsonlChannel

        return JsonlChannel(config)
    from worker.alerts.apprise_channel import AppriseChannel

    return AppriseChannel(config)


def _ssl_context(ca_file: str | None, name: str) -> ssl.SSLContext | None:
    """The system trust store, or only the CAs in ``ca_file`` (for one's own mail server)."""
    if ca_file is None:
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"channel {name!r}: cannot load ca_file {ca_file}: {exc}") from exc


def configs_of(settings: Settings) -> list[ChannelConfig]:
    """The configured channels, validated (ConfigError names the bad one)."""
    return channel_configs(settings.channels, settings.source)


def build_channels(configs: Sequence[ChannelConfig]) -> dict[str, Channel]:
    return {config.name: build_channel(config) for config in configs}


def routing(configs: Sequence[ChannelConfig]) -> Callable[[Story], list[str]]:
    """For a story, the names of the channels whose filters it passes."""

    def channels_for(story: Story) -> list[str]:
        payload: dict[str, Any] = story.to_dict()
        return [config.name for config in configs if matches(config, payload)]

    return channels_for

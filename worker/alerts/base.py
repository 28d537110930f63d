"""What every alert channel is: a name, a type, and ``send`` for one story.

Channels are synchronous and own their connections; ``send`` either returns (the receiver
accepted the alert) or raises ``worker.errors.DeliveryError`` (``retry_after`` and
``permanent`` tell the dispatcher what to do next; ``ChannelGone`` disables the channel).
``story`` is the contract's story object (``Story.to_dict()``); ``key`` is the delivery's
idempotency key, stable per (story, channel): webhooks send it as ``webhook-id``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class Channel(Protocol):
    name: str
    type: str

    def send(self, story: Mapping[str, Any], *, key: str) -> None: ...

    def close(self) -> None: ...


class DigestChannel(Channel, Protocol):
    """A channel that can also send many stories in one message (email digest mode)."""

    digest_seconds: float | None

    def send_digest(self, stories: Sequence[Mapping[str, Any]], *, key: str) -> None: ...


def delivery_key(story_id: str, channel: str) -> str:
    """The idempotency key of a (story, channel) delivery: ``msg_`` + 32 hex digits."""
    digest = hashlib.sha256(f"{story_id}\x00{channel}".encode()).hexdigest()
    return f"msg_{digest[:32]}"

"""What a task needs, once per worker process: settings, the store, the engine, channels.

``configure`` is called once (by ``tasks.app.create_app``) in the process that starts the
worker; prefork children inherit the settings. Everything else is built lazily in the
process that uses it; connections (store, channels) are rebuilt after a fork (the pid is
checked), so a forked child never shares the parent's. ``warm`` builds the engine in the
parent before the pool forks, so every child starts with it warm.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.alerts.base import Channel
    from worker.engine import Engine
    from worker.models import Story
    from worker.settings import Settings
    from worker.store import Store


@dataclass
class _State:
    settings: Settings | None = None
    tick: float = 30.0
    pid: int = -1
    store: Store | None = None
    engine: Engine | None = None
    channels: dict[str, Channel] | None = None
    routes: Any = None
    ops: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_state = _State()


def configure(settings: Settings, *, tick: float) -> None:
    """Set the settings for this process and its children; drops built resources."""
    close()
    _state.settings = settings
    _state.tick = tick


def settings() -> Settings:
    if _state.settings is None:
        raise RuntimeError("tasks.runtime is not configured: create the app first")
    return _state.settings


def tick() -> float:
    return _state.tick


def _fresh() -> None:
    """Forget connections made in another process (after a fork) without closing them.

    The engine is kept: it is pure CPU state, so children share the parent's warm one."""
    if _state.pid != os.getpid():
        _state.store = None
        _state.channels = None
        _state.routes = None
        _state.ops = []
        _state.pid = os.getpid()


def store() -> Store:
    from worker.store import open_store

    with _state.lock:
        _fresh()
        if _state.store is None:
            _state.store = open_store(settings().storage.url)
        return _state.store


def engine() -> Engine:
    from worker.engine import Engine

    with _state.lock:
        _fresh()
        if _state.engine is None:
            config = settings()
            built = Engine(threshold=config.detect.threshold, extra_actors=config.gazetteer.actors)
            built.warm_up()
            _state.engine = built
        return _state.engine


def warm() -> None:
    """Build the engine now (in the worker's main process, before the pool forks)."""
    engine()


def _alerts() -> tuple[dict[str, Channel], Any]:
    from worker.alerts import build_channels, configs_of, routing

    with _state.lock:
        _fresh()
        if _state.channels is None:
            configs = configs_of(settings())
            _state.channels = build_channels(configs)
            _state.routes = routing(configs)
            _state.ops = [config.name for config in configs if config.ops]
        return _state.channels, _state.routes


def channels() -> dict[str, Channel]:
    """The configured channels by name (built once per process)."""
    return _alerts()[0]


def channels_for(story: Story) -> list[str]:
    """The names of the channels ``story`` goes to."""
    routes = _alerts()[1]
    names: list[str] = routes(story)
    return names


def ops_names() -> list[str]:
    """The names of the channels configured with ``ops = true``."""
    _alerts()
    return list(_state.ops)


def close() -> None:
    """Close what this process built (at worker process shutdown)."""
    with _state.lock:
        if _state.pid == os.getpid():
            if _state.store is not None:
                _state.store.close()
            for channel in (_state.channels or {}).values():
                channel.close()
        _state.store = None
        _state.engine = None
        _state.channels = None
        _state.routes = None
        _state.ops = []

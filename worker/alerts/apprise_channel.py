"""The Apprise channel: one plain-text notification per story to every configured Apprise URL.

Apprise (https://github.com/caronc/apprise) reaches ~100 services (ntfy, Telegram, Matrix,
Discord, Teams, generic JSON/form POSTs, ...) from one URL each. The library is used as a
library only: no configuration files are read (no ``AppriseConfig``, no ``~/.apprise``), no
plugin directories are scanned (``plugin_paths`` empty), persistent storage stays in memory
(nothing is written under the home directory), and Apprise's own logger is held at WARNING
(urllib3 too) so their debug lines, which print full service URLs, never reach PeaceWatch's
logs.

Apprise URLs carry tokens and passwords: they never appear in errors or logs. A URL Apprise
cannot load is a ``ConfigError`` naming the channel and the URL's position only. ``notify``
returning False (a service answered with an error, or could not be reached) is a retryable
``DeliveryError``; Apprise reports no more detail than that. With several URLs, a retry sends
to all of them again (Apprise does not say which one failed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import apprise
import structlog

from worker import render
from worker.alerts.config import AppriseConfig
from worker.errors import ConfigError, DeliveryError

log = structlog.get_logger("peacewatch.alerts")


def _quiet_apprise_logger() -> None:
    """Apprise, and urllib3 under it, log full URLs (tokens included) at DEBUG: hold both at
    WARNING (PeaceWatch itself uses httpx; urllib3 only serves Apprise's ``requests``)."""
    for name in ("apprise", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) included
            logger.setLevel(logging.WARNING)


def _asset() -> apprise.AppriseAsset:
    return apprise.AppriseAsset(
        plugin_paths=[],  # never import plugins from a directory
        storage_mode="memory",  # never write persistent state to disk
        secure_logging=True,  # mask secrets in whatever Apprise still logs
        app_id="PeaceWatch",
        app_desc="PeaceWatch peace-mediation alerts",
    )


class AppriseChannel:
    """Notifies every Apprise URL of the channel (see the module doc)."""

    type = "apprise"

    def __init__(self, config: AppriseConfig) -> None:
        self.config = config
        self.name = config.name
        _quiet_apprise_logger()
        self._apprise = apprise.Apprise(asset=_asset())
        for index, url in enumerate(config.urls):
            try:
                added = bool(url.strip()) and self._apprise.add(url)
            except Exception as exc:  # a plugin refusing its arguments loudly
                raise self._bad_url(index) from exc
            if not added:
                raise self._bad_url(index)

    def _bad_url(self, index: int) -> ConfigError:
        return ConfigError(
            f"apprise channel {self.name!r}: urls[{index}] is not an Apprise URL that can be"
            " used (unknown service, missing token or malformed); see"
            " https://github.com/caronc/apprise/wiki for each service's URL form"
        )

    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        title = render.subject(story)
        body = render.plain_text(story)
        try:
            ok = self._apprise.notify(
                body=body,
                title=title,
                notify_type=apprise.NotifyType.INFO,
                body_format=apprise.NotifyFormat.TEXT,
            )
        except Exception as exc:
            error = self._fail(f"Apprise failed ({type(exc).__name__})")
            log.warning("alert.apprise.failed", channel=self.name, key=key, reason=str(error))
            raise error from exc
        if not ok:
            error = self._fail(
                f"{self._targets()} did not accept the notification"
                " (a service refused it or could not be reached)"
            )
            log.warning("alert.apprise.failed", channel=self.name, key=key, reason=str(error))
            raise error
        log.info("alert.sent", channel=self.name, type=self.type, key=key)

    def close(self) -> None:
        self._apprise.clear()

    def _targets(self) -> str:
        n = len(self.config.urls)
        return "the service" if n == 1 else f"one or more of {n} services"

    def _fail(self, reason: str) -> DeliveryError:
        return DeliveryError(f"apprise channel {self.name!r}: {reason}", permanent=False)

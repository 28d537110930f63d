"""The one exception tree of PeaceWatch.

Foreign exceptions (httpx, SQLAlchemy, feedparser, OS errors) are translated at the edge
with ``raise ... from`` so callers only ever catch these::

    PeaceWatchError
    ├── ConfigError          bad config file, key, type or environment value
    ├── InputError           bad command-line input: unreadable file, bad URL, bad OPML
    ├── StorageError         the database cannot be opened, migrated or written
    ├── FetchError           a feed or page could not be fetched (carries ``status``)
    │   ├── TooLarge         the decoded body exceeded ``fetch.max_bytes``
    │   ├── FetchTimeout     the whole-response deadline passed
    │   └── BlockedAddress   the target address is not allowed (SSRF guard)
    ├── ParseError           a document is not a feed we can read
    └── DeliveryError        a channel did not accept an alert (``retry_after``, ``permanent``)
        └── ChannelGone      the receiver said the channel is gone for good (HTTP 410)

``str(error)`` is always one line a user can act on.
"""

from __future__ import annotations


class PeaceWatchError(Exception):
    """Base of every error PeaceWatch raises on purpose."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split())


class ConfigError(PeaceWatchError):
    """The configuration (file or environment) is wrong."""


class InputError(PeaceWatchError):
    """Input given on the command line cannot be used."""


class StorageError(PeaceWatchError):
    """The store cannot be opened, migrated, read or written."""


class FetchError(PeaceWatchError):
    """A URL could not be fetched; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url


class TooLarge(FetchError):
    """The decoded response body is larger than allowed."""


class FetchTimeout(FetchError):
    """The response did not complete within the deadline."""


class BlockedAddress(FetchError):
    """The URL resolves to an address PeaceWatch refuses to contact."""


class ParseError(PeaceWatchError):
    """A document could not be read as a feed."""


class DeliveryError(PeaceWatchError):
    """A channel did not accept an alert.

    ``retry_after``: seconds the receiver asked us to wait (429/503 Retry-After), if any.
    ``permanent``: retrying cannot help (bad request, auth refused, misconfiguration).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        status: int | None = None,
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.status = status


class ChannelGone(DeliveryError):
    """The receiver answered 410 Gone: the channel is disabled until the user re-enables it."""

    def __init__(self, message: str, *, status: int | None = 410):
        super().__init__(message, permanent=True, status=status)

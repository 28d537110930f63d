"""Turning database and OS failures into one-line ``StorageError`` messages.

Every message names the storage URL with its password masked, e.g.::

    cannot open store postgresql+psycopg://app:***@db:5432/pw: connection refused …
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.exc as sa_exc
from alembic.util import CommandError
from sqlalchemy.engine import make_url

from worker.errors import StorageError

_USERINFO = re.compile(r"(?P<scheme>[^:/?#]+://)(?P<user>[^:@/?#]*):[^@/?#]*@")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (works on URLs SQLAlchemy rejects)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa_exc.ArgumentError, ValueError):
        return _USERINFO.sub(r"\g<scheme>\g<user>:***@", url)


def reason(error: BaseException) -> str:
    """The useful part of a foreign error, on one line."""
    if isinstance(error, sa_exc.StatementError) and error.orig is not None:  # incl. DBAPIError
        text = str(error.orig)
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    else:
        text = str(error)
    text = " ".join(text.split())
    return text or type(error).__name__


@contextmanager
def translated(action: str, url: str) -> Iterator[None]:
    """Re-raise SQLAlchemy, Alembic and OS errors as ``StorageError`` naming ``url``."""
    try:
        yield
    except StorageError:
        raise
    except (sa_exc.SQLAlchemyError, CommandError, OSError) as error:
        raise StorageError(f"cannot {action} store {mask_url(url)}: {reason(error)}") from error

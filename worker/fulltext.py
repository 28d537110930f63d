"""The main text of an article page, with trafilatura. No network: it is given the markup.

Used by ``peacewatch check URL`` (and later for full text of candidate stories): the page
is fetched by :mod:`worker.fetch`, then :func:`extract_main_text` keeps the article body
and drops navigation, footers, comments and scripts. When trafilatura finds nothing (a very
short or unusual page) the whole body, as plain text, is returned instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import trafilatura

from worker.text import clean_whitespace, html_to_text

__all__ = ["extract_main_text"]

_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_BODY = re.compile(r"<body\b[^>]*>(.*)", re.I | re.S)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)

# trafilatura logs every page it cannot use at WARNING/ERROR; the fallback below handles them.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)


def extract_main_text(html: bytes | str, url: str | None = None) -> tuple[str | None, str]:
    """Return ``(title, main text)`` of an HTML page; the title is ``None`` when absent.

    ``url`` only helps trafilatura's metadata; nothing is fetched.
    """
    if not html:
        return None, ""
    title: str | None = None
    text = ""
    try:
        document: Any = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            include_links=False,
        )
    except Exception:  # trafilatura/lxml on hostile markup: fall back to plain stripping
        document = None
    if document is not None:
        raw_title = _field(document, "title")
        raw_text = _field(document, "text")
        title = clean_whitespace(raw_title) if raw_title else None
        text = clean_whitespace(raw_text) if raw_text else ""
    if not text or not title:
        markup = html if isinstance(html, str) else _decode(html)
        if not text:
            body = _BODY.search(markup)
            text = html_to_text(body.group(1) if body else markup)
        if not title:
            found = _TITLE.search(markup)
            title = html_to_text(found.group(1)) if found else None
    return title or None, text


def _field(document: Any, name: str) -> str | None:
    value = document.get(name) if isinstance(document, dict) else getattr(document, name, None)
    return value if isinstance(value, str) else None


def _decode(data: bytes) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), "replace")
        except LookupError:
            pass
    return data.decode("utf-8", "replace")

"""The `check URL` path: fetch an article page from a real local server, extract its text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.feedserver import FeedServer
from worker.fetch import HTML_ACCEPT, fetch_sync
from worker.fulltext import extract_main_text

ARTICLE = Path(__file__).resolve().parents[2] / "fixtures" / "feeds" / "article.html"


def test_fetched_article_gives_title_and_main_text(feed_server: FeedServer) -> None:
    url = feed_server.serve(
        "/world/cairo-talks", ARTICLE.read_bytes(), content_type="text/html; charset=utf-8"
    )
    page = fetch_sync(url, accept=HTML_ACCEPT, allow_private_networks=True)
    assert page.content is not None
    title, text = extract_main_text(page.content, url=page.final_url)
    assert title == "Truce talks move to Cairo"
    assert "Egyptian officials received a delegation on Saturday" in text
    assert "“Both sides have shown flexibility" in text  # entities decoded
    assert "Rafah crossing" in text
    for boilerplate in ("Sign up for our morning briefing", "All rights reserved", "analytics"):
        assert boilerplate not in text
    assert feed_server.requests_for("/world/cairo-talks")[0].headers["accept"] == HTML_ACCEPT


@pytest.mark.parametrize(
    ("markup", "title", "text"),
    [
        # too short for trafilatura: the body as plain text, the <title> as title
        (
            b"<html><head><title>Brief &amp; short</title></head>"
            b"<body><p>Envoys met.</p></body></html>",
            "Brief & short",
            "Envoys met.",
        ),
        ("<p>Talks &ndash; again</p>", None, "Talks – again"),
        (b"", None, ""),
        (
            "<html><head><meta charset='iso-8859-1'></head><body><p>Trêve</p></body></html>".encode(
                "iso-8859-1"
            ),
            None,
            "Trêve",
        ),
    ],
)
def test_fallbacks(markup: bytes | str, title: str | None, text: str) -> None:
    assert extract_main_text(markup) == (title, text)

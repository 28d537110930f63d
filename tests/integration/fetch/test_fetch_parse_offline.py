"""parse_feed never reaches the network: external DTDs, entities and stylesheets pointing at
a real local server must cause no request to it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.feedserver import FeedServer
from worker.errors import ParseError
from worker.parse import parse_feed


def test_external_references_are_not_fetched(feed_server: FeedServer) -> None:
    dtd = feed_server.serve("/evil.dtd", b'<!ENTITY remote "from the server">', etag=None)
    entity = feed_server.serve("/entity.txt", b"from the server", content_type="text/plain")
    style = feed_server.serve("/style.xsl", b"<xsl/>", content_type="text/xsl")
    doc = f"""<?xml version="1.0" encoding="utf-8"?>
<?xml-stylesheet type="text/xsl" href="{style}"?>
<!DOCTYPE rss SYSTEM "{dtd}" [
  <!ENTITY ext SYSTEM "{entity}">
]>
<rss version="2.0"><channel><title>Offline</title>
<item><title>Envoys meet &ext;</title><guid>o-1</guid>
<description>Talks resumed in Nairobi.</description></item>
</channel></rss>""".encode()
    feed = parse_feed(
        doc, feed_url=feed_server.url("/feed.xml"), fetched_at=datetime(2023, 11, 1, tzinfo=UTC)
    )
    (entry,) = feed.entries
    assert entry.title.startswith("Envoys meet")
    assert "from the server" not in entry.title  # the external entity is never expanded
    assert entry.summary == "Talks resumed in Nairobi."
    assert feed_server.count() == 0


def test_a_url_as_content_is_not_fetched(feed_server: FeedServer) -> None:
    # feedparser.parse(url_string) would fetch it; parse_feed only ever parses the bytes.
    url = feed_server.serve(
        "/feed.xml", b'<rss version="2.0"><channel><title>Remote</title></channel></rss>'
    )
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(url.encode(), feed_url=url, fetched_at=datetime(2023, 11, 1, tzinfo=UTC))
    assert feed_server.count() == 0

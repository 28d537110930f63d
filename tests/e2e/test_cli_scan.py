"""`peacewatch scan`, `status`, `stories` and `feeds` end to end against a real feed server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.feedserver import FeedServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "e2e"
BROKEN = b"<html><body><h1>Welcome</h1><p>Not a feed at all.</p></body></html>"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


def write_config(tmp_path: Path, storage_url: str, feeds: list[str]) -> Path:
    config = tmp_path / "peacewatch.toml"
    lines = [
        f'[storage]\nurl = "{storage_url}"\n',
        "[fetch]\nallow_private_networks = true\ntimeout = 10\n",
    ]
    lines += [f'[[feeds]]\nurl = "{url}"\nname = "Feed {i}"\n' for i, url in enumerate(feeds)]
    config.write_text("".join(lines))
    return config


def scan_twice_sends_once(tmp_path: Path, server: FeedServer, storage_url: str) -> None:
    desk = server.serve("/desk.xml", (FIXTURES / "desk.xml").read_bytes())
    broken = server.serve("/broken.xml", BROKEN, content_type="text/html")
    gone = server.status("/gone.xml", 500)
    config = write_config(tmp_path, storage_url, [desk, broken, gone])

    first = run_cli("scan", "--json", "--config", str(config), cwd=tmp_path)
    assert first.code == 0, first.stderr
    stories = first.json_lines()
    assert sorted(s["url"] for s in stories) == [
        "https://desk.example/2023/05/07/sudan-jeddah",
        "https://desk.example/2023/11/22/gaza-truce",
    ]
    assert all(s["source"] == "Feed 0" for s in stories)
    assert "broken.xml" in first.stderr and "gone.xml" in first.stderr

    status = {
        row["url"]: row
        for row in run_cli("status", "--json", "--config", str(config), cwd=tmp_path).json_lines()
    }
    assert status[desk]["last_status"] == 200 and status[desk]["entries"] == 4
    assert status[desk]["last_error"] is None and status[desk]["consecutive_errors"] == 0
    assert status[gone]["last_status"] == 500 and status[gone]["consecutive_errors"] == 1
    assert "500" in status[gone]["last_error"]
    assert "feed" in status[broken]["last_error"].lower()
    assert status[desk]["next_poll"] > status[desk]["last_polled"]

    again = run_cli("scan", "--all", "--json", "--config", str(config), cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert again.json_lines() == []
    conditional = server.requests_for("/desk.xml")[-1].headers
    assert conditional.get("if-none-match")
    status = {
        row["url"]: row
        for row in run_cli("status", "--json", "--config", str(config), cwd=tmp_path).json_lines()
    }
    assert status[desk]["last_status"] == 304
    assert status[gone]["consecutive_errors"] == 2

    listed = run_cli("stories", "--json", "--config", str(config), cwd=tmp_path).json_lines()
    assert [s["url"] for s in listed] == [
        "https://desk.example/2023/11/22/gaza-truce",
        "https://desk.example/2023/05/07/sudan-jeddah",
    ]
    human = run_cli("scan", "--all", "--config", str(config), cwd=tmp_path)
    assert human.code == 0
    assert "3 feeds polled (1 not modified, 2 failed)" in human.stdout


def test_scan_twice_on_sqlite_sends_each_story_once(tmp_path: Path, server: FeedServer) -> None:
    scan_twice_sends_once(tmp_path, server, f"sqlite:///{tmp_path}/pw.db")


@pytest.mark.postgres
def test_scan_twice_on_postgres_sends_each_story_once(tmp_path: Path, server: FeedServer) -> None:
    from tests.support.db import fresh_postgres_url

    with fresh_postgres_url() as url:
        scan_twice_sends_once(tmp_path, server, url)


def test_scan_only_polls_due_feeds(tmp_path: Path, server: FeedServer) -> None:
    desk = server.serve("/desk.xml", (FIXTURES / "desk.xml").read_bytes())
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/pw.db", [desk])
    assert run_cli("scan", "--config", str(config), cwd=tmp_path).code == 0
    second = run_cli("scan", "--config", str(config), cwd=tmp_path)
    assert "0 feeds polled" in second.stdout
    assert server.count("/desk.xml") == 1


def test_permanent_redirect_updates_the_stored_url(tmp_path: Path, server: FeedServer) -> None:
    new = server.serve("/new.xml", (FIXTURES / "desk.xml").read_bytes())
    old = server.redirect("/old.xml", "/new.xml", status=301)
    config = tmp_path / "c.toml"
    config.write_text(
        f'feeds = []\n[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n'
        "[fetch]\nallow_private_networks = true\n"
    )
    env_config = ["--config", str(config)]
    assert run_cli("feeds", "add", old, "--name", "Moved", *env_config, cwd=tmp_path).code == 0
    assert run_cli("scan", "--json", *env_config, cwd=tmp_path).code == 0
    urls = [
        row["url"]
        for row in run_cli("feeds", "list", "--json", *env_config, cwd=tmp_path).json_lines()
    ]
    assert new in urls and old not in urls


def test_feeds_add_list_remove_import_export(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'feeds = []\n[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n')
    args = ["--config", str(config)]
    added = run_cli(
        "feeds",
        "add",
        "https://a.example/rss",
        "--name",
        "A",
        "--interval",
        "10m",
        "--no-check",  # a.example is not fetched (feeds add fetches unless told not to)
        *args,
        cwd=tmp_path,
    )
    assert added.code == 0, added.stderr
    bad = run_cli("feeds", "add", "not a url", *args, cwd=tmp_path)
    assert bad.code == 1 and "not an http(s) URL" in bad.stderr
    bad_interval = run_cli(
        "feeds", "add", "https://b.example/", "--interval", "soon", *args, cwd=tmp_path
    )
    assert bad_interval.code == 1 and "--interval" in bad_interval.stderr
    opml = tmp_path / "mine.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="Folder">'
        '<outline text="B" xmlUrl="https://b.example/feed"/>'
        '<outline text="A again" xmlUrl="https://a.example/rss"/></outline></body></opml>'
    )
    imported = run_cli("feeds", "import", str(opml), *args, cwd=tmp_path)
    assert imported.code == 0, imported.stderr
    assert "imported 2 feeds" in imported.stdout and "(1 new)" in imported.stdout
    listed = run_cli("feeds", "list", "--json", *args, cwd=tmp_path).json_lines()
    assert {row["url"]: row["interval"] for row in listed} == {
        "https://a.example/rss": "10m",
        "https://b.example/feed": "15m",
    }
    exported = run_cli("feeds", "export", *args, cwd=tmp_path)
    assert 'xmlUrl="https://b.example/feed"' in exported.stdout
    assert run_cli("feeds", "remove", "https://a.example/rss", *args, cwd=tmp_path).code == 0
    missing = run_cli("feeds", "remove", "https://a.example/rss", *args, cwd=tmp_path)
    assert missing.code == 1 and "no such feed" in missing.stderr
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body>")
    failed = run_cli("feeds", "import", str(broken), *args, cwd=tmp_path)
    assert failed.code == 1 and "broken.opml" in failed.stderr and "Traceback" not in failed.stderr

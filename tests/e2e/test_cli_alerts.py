"""Alerts end to end: `peacewatch scan` delivers each new story once to every channel.

Real local receivers only: a Slack-like webhook server, a Standard Webhooks receiver that
verifies signatures, aiosmtpd with STARTTLS and login, Redis db 13, a JSONL file, and an
Apprise json:// URL pointing at a local receiver.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.feedserver import FeedServer
from tests.support.receivers import SlackServer, WebhookReceiver
from tests.support.smtp import SmtpServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "e2e"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REDIS_DB = 13
TITLES = {
    "Qatar and Egypt broker four-day truce between Israel and Hamas",
    "Saudi Arabia and US host Sudan ceasefire talks in Jeddah",
}


@pytest.fixture
def redis_db() -> Iterator[object]:
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def write_config(tmp_path: Path, feed_url: str, channels: str) -> Path:
    config = tmp_path / "peacewatch.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n'
        "[fetch]\nallow_private_networks = true\n"
        "[alerts]\nbase_delay = 0.05\nmax_delay = 0.2\nmax_attempts = 4\n"
        f'[[feeds]]\nurl = "{feed_url}"\nname = "Test Desk"\n' + channels
    )
    return config


def test_every_channel_gets_each_story_once_despite_500s_and_429(
    tmp_path: Path, redis_db: object
) -> None:
    import redis

    client = redis_db
    assert isinstance(client, redis.Redis)
    with (
        FeedServer() as feeds,
        SlackServer(script=["429:1"]) as slack,
        WebhookReceiver(secret=SECRET, script=[500, 500]) as hook,
        WebhookReceiver() as apprise_rx,
        SmtpServer(username="desk", password="s3cret-pass") as smtp,
    ):
        feed = feeds.serve("/desk.xml", (FIXTURES / "desk.xml").read_bytes())
        ca = smtp.write_ca(tmp_path / "ca.pem")
        apprise_url = apprise_rx.url.replace("http://", "json://")
        channels = f"""
[[channels]]
type = "slack"
name = "desk-slack"
webhook_url = "{slack.url}"

[[channels]]
type = "webhook"
name = "ops-hook"
url = "{hook.url}"
secret = "${{PEACEWATCH_WEBHOOK_SECRET}}"

[[channels]]
type = "email"
name = "editors"
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
username = "desk"
password = "${{SMTP_PASSWORD}}"
from = "peacewatch@example.org"
to = ["desk@example.org"]
ca_file = "{ca}"

[[channels]]
type = "redis_stream"
name = "stream"
url = "redis://127.0.0.1:6379/{REDIS_DB}"

[[channels]]
type = "jsonl"
name = "archive"
path = "{tmp_path}/out/stories.jsonl"

[[channels]]
type = "apprise"
name = "phones"
urls = ["{apprise_url}"]
"""
        config = write_config(tmp_path, feed, channels)
        env = {"PEACEWATCH_WEBHOOK_SECRET": SECRET, "SMTP_PASSWORD": "s3cret-pass"}
        first = run_cli("scan", "--config", str(config), cwd=tmp_path, env=env)
        assert first.code == 0, first.stderr
        assert "alerts: 12 sent, 0 failed, 0 waiting" in first.stdout

        assert len(slack.messages) == 2
        for title in TITLES:
            assert sum(title in json.dumps(m, ensure_ascii=False) for m in slack.messages) == 1
        assert slack.count == 3  # one 429 answered, then resent
        assert len(hook.ids) == 2 and hook.count == 4  # 500, 500, then accepted
        accepted = hook.unique_accepted()
        assert {p["story"]["title"] for p in accepted.values()} == TITLES
        assert all(p["type"] == "peacewatch.story" for p in accepted.values())
        mails = smtp.wait_for(2)
        assert all(m.tls and m.login == "desk" for m in mails)
        assert {m.message["Subject"] for m in mails} == {
            "[PeaceWatch] QA, EG → IL, hamas: Qatar and Egypt broker four-day truce between "
            "Israel and Hamas",
            "[PeaceWatch] SA, US → SD, rsf: Saudi Arabia and US host Sudan ceasefire talks in "
            "Jeddah",
        }
        entries = client.xrange("peacewatch:stories")
        assert {json.loads(fields[b"story"])["title"] for _, fields in entries} == TITLES
        lines = (tmp_path / "out" / "stories.jsonl").read_text().splitlines()
        assert {json.loads(line)["title"] for line in lines} == TITLES and len(lines) == 2
        assert len(apprise_rx.accepted) == 2

        log = run_cli("alerts", "--json", "--config", str(config), cwd=tmp_path, env=env)
        rows = log.json_lines()
        assert len(rows) == 12 and {r["state"] for r in rows} == {"sent"}
        hook_rows = [r for r in rows if r["channel"] == "ops-hook"]
        assert sorted(r["attempts"] for r in hook_rows) == [1, 3]

        again = run_cli("scan", "--all", "--config", str(config), cwd=tmp_path, env=env)
        assert again.code == 0, again.stderr
        assert "alerts: 0 sent" in again.stdout
        assert len(slack.messages) == 2 and hook.count == 4 and len(smtp.messages) == 2
        assert len(client.xrange("peacewatch:stories")) == 2
        assert len((tmp_path / "out" / "stories.jsonl").read_text().splitlines()) == 2
        assert len(apprise_rx.accepted) == 2
        for output in (first, log, again):
            assert SECRET not in output.stdout + output.stderr
            assert "s3cret-pass" not in output.stdout + output.stderr


def test_failed_deliveries_are_listed_and_retried(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver(secret=SECRET, default=503) as hook:
        feed = feeds.serve("/desk.xml", (FIXTURES / "desk.xml").read_bytes())
        channels = (
            f'[[channels]]\ntype = "webhook"\nname = "ops-hook"\nurl = "{hook.url}"\n'
            f'secret = "{SECRET}"\nevent_types = ["talks"]\n'
        )
        config = write_config(tmp_path, feed, channels)
        first = run_cli("scan", "--config", str(config), cwd=tmp_path)
        assert first.code == 0, first.stderr
        assert "alerts: 0 sent, 1 failed" in first.stdout  # only the Sudan talks pass the filter
        assert "ops-hook" in first.stderr
        failed = run_cli("alerts", "--failed", "--json", "--config", str(config), cwd=tmp_path)
        (row,) = failed.json_lines()
        assert row["state"] == "failed" and row["attempts"] == 4 and "503" in row["last_error"]
        assert row["title"].startswith("Saudi Arabia and US host Sudan")

        hook.script(200)
        retried = run_cli("alerts", "retry", "--config", str(config), cwd=tmp_path)
        assert retried.code == 0, retried.stderr
        assert "1 failed deliveries queued again; 1 sent." in retried.stdout
        assert len(hook.unique_accepted()) == 1
        assert (
            run_cli(
                "alerts", "--failed", "--json", "--config", str(config), cwd=tmp_path
            ).json_lines()
            == []
        )


def test_410_disables_the_channel_and_says_so(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver(default=410) as hook:
        feed = feeds.serve("/desk.xml", (FIXTURES / "desk.xml").read_bytes())
        channels = f'[[channels]]\ntype = "webhook"\nname = "gone-hook"\nurl = "{hook.url}"\n'
        config = write_config(tmp_path, feed, channels)
        result = run_cli("scan", "--config", str(config), cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert "'gone-hook' is disabled" in result.stderr
        assert hook.count == 1  # the second story is not attempted once the channel is gone
        listing = run_cli("alerts", "--config", str(config), cwd=tmp_path)
        assert "gone-hook" in listing.stdout and "disabled" in listing.stdout


def test_alerts_test_sends_a_sample_and_bad_channels_are_named(tmp_path: Path) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        config = tmp_path / "c.toml"
        config.write_text(
            f'feeds = []\n[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n'
            f'[[channels]]\ntype = "webhook"\nname = "ops-hook"\nurl = "{hook.url}"\n'
            f'secret = "{SECRET}"\n'
        )
        sent = run_cli("alerts", "test", "ops-hook", "--config", str(config), cwd=tmp_path)
        assert sent.code == 0, sent.stderr
        (payload,) = hook.unique_accepted().values()
        assert payload["story"]["title"].startswith("[PeaceWatch test]")
        missing = run_cli("alerts", "test", "nope", "--config", str(config), cwd=tmp_path)
        assert missing.code == 1 and "no channel named 'nope'" in missing.stderr

    bad = tmp_path / "bad.toml"
    bad.write_text('feeds = []\n[[channels]]\ntype = "slack"\nname = "team"\n')
    result = run_cli("scan", "--config", str(bad), cwd=tmp_path)
    assert result.code == 1
    assert "channel 'team'" in result.stderr and "webhook_url is required" in result.stderr

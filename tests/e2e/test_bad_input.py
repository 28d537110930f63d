"""Bad input everywhere, through the real CLI: one line on stderr naming the problem and
where, a non-zero exit, and no traceback unless --debug.

Each case writes its files into a fresh folder, runs ``python -m worker ARGS`` there and
checks stderr. ``{ok}`` in the arguments is a valid config with a store in that folder;
``{dir}`` is a directory; ``{closed}`` a local port nothing listens on.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cli import run_cli

XXE_OPML = (
    b'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY pw SYSTEM "file:///etc/passwd">]>\n'
    b'<opml version="2.0"><body><outline text="&pw;" xmlUrl="https://a.example/feed"/>'
    b"</body></opml>"
)


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]  # substrings of the one stderr line
    files: dict[str, bytes] = field(default_factory=dict)
    code: int | None = None  # None: any non-zero code


CASES = [
    # configuration ---------------------------------------------------------------------
    Case(
        "bad-toml",
        ("scan", "--config", "bad.toml"),
        ("bad.toml", "not valid TOML"),
        {"bad.toml": b"[fetch\ntimeout = 3\n"},
    ),
    Case(
        "wrong-type",
        ("scan", "--config", "typed.toml"),
        ("typed.toml", "fetch.timeout", "'soon'"),
        {"typed.toml": b'[fetch]\ntimeout = "soon"\n'},
    ),
    Case(
        "negative-number",
        ("status", "--config", "neg.toml"),
        ("neg.toml", "fetch.concurrency"),
        {"neg.toml": b"[fetch]\nconcurrency = -3\n"},
    ),
    Case(
        "unknown-key",
        ("scan", "--config", "unknown.toml"),
        ("unknown.toml", "unknown key 'fetch.timeot'"),
        {"unknown.toml": b"[fetch]\ntimeot = 3\n"},
    ),
    Case(
        "unknown-section",
        ("status", "--config", "section.toml"),
        ("section.toml", "unknown key 'fetcher'"),
        {"section.toml": b"[fetcher]\ntimeout = 3\n"},
    ),
    Case(
        "config-not-utf8",
        ("status", "--config", "latin.toml"),
        ("latin.toml", "not UTF-8"),
        {"latin.toml": b"[feeds]\nname = '\xe9t\xe9'\n"},
    ),
    Case("config-missing", ("status", "--config", "nowhere.toml"), ("nowhere.toml", "not found")),
    Case("config-is-directory", ("status", "--config", "{dir}"), ("--config", "is a directory")),
    Case(
        "config-unreadable",
        ("status", "--config", "/proc/self/mem"),
        ("/proc/self/mem", "cannot read config file"),
    ),
    Case(
        "unset-variable",
        ("status", "--config", "env.toml"),
        ("env.toml", "PW_TEST_NOT_SET_ANYWHERE"),
        {"env.toml": b'[storage]\nurl = "${PW_TEST_NOT_SET_ANYWHERE}"\n'},
    ),
    Case(
        "bad-storage-url",
        ("status", "--config", "store.toml"),
        ("nosuchdb://x", "storage URL"),
        {"store.toml": b'[storage]\nurl = "nosuchdb://x"\n'},
    ),
    Case(
        "bad-channel",
        ("scan", "--config", "channel.toml"),
        ("channel.toml", "'ops'", "webhook_url"),
        {"channel.toml": b'[[channels]]\ntype = "slack"\nname = "ops"\n'},
    ),
    # OPML and files ----------------------------------------------------------------------
    Case(
        "opml-not-xml",
        ("feeds", "import", "list.opml", "--config", "{ok}"),
        ("list.opml", "not a valid OPML document"),
        {"list.opml": b"feeds: a.example, b.example\n"},
    ),
    Case(
        "opml-xxe",
        ("feeds", "import", "xxe.opml", "--config", "{ok}"),
        ("xxe.opml", "not a valid OPML document"),
        {"xxe.opml": XXE_OPML},
    ),
    Case(
        "opml-wrong-root",
        ("feeds", "import", "page.opml", "--config", "{ok}"),
        ("page.opml", "root element <html>"),
        {"page.opml": b"<html><body><p>not a list</p></body></html>"},
    ),
    Case(
        "opml-missing",
        ("feeds", "import", "gone.opml", "--config", "{ok}"),
        ("gone.opml", "cannot read"),
    ),
    Case(
        "opml-directory",
        ("feeds", "import", "{dir}", "--config", "{ok}"),
        ("FILE", "is a directory"),
    ),
    Case(
        "opml-unreadable",
        ("feeds", "import", "/proc/self/mem", "--config", "{ok}"),
        ("/proc/self/mem", "cannot read"),
    ),
    Case("check-missing", ("check", "gone.txt", "--config", "{ok}"), ("gone.txt", "no such file")),
    Case("check-directory", ("check", "{dir}", "--config", "{ok}"), ("is a directory",)),
    Case(
        "check-unreadable",
        ("check", "/proc/self/mem", "--config", "{ok}"),
        ("/proc/self/mem", "cannot read"),
    ),
    Case(
        "check-empty",
        ("check", "empty.txt", "--config", "{ok}"),
        ("nothing to analyse",),
        {"empty.txt": b"\n\n"},
    ),
    Case("eval-missing", ("eval", "gone.jsonl", "--config", "{ok}"), ("gone.jsonl", "cannot read")),
    Case("eval-directory", ("eval", "{dir}", "--config", "{ok}"), ("FILE", "is a directory")),
    Case(
        "eval-not-json",
        ("eval", "notes.jsonl", "--config", "{ok}"),
        ("notes.jsonl:1", "not valid JSON"),
        {"notes.jsonl": b"label: mediation\n"},
    ),
    Case(
        "eval-empty",
        ("eval", "none.jsonl", "--config", "{ok}"),
        ("none.jsonl", "no labelled records"),
        {"none.jsonl": b""},
    ),
    # URLs and options ----------------------------------------------------------------------
    Case("add-ftp", ("feeds", "add", "ftp://x", "--config", "{ok}"), ("ftp://x", "http(s)")),
    Case(
        "add-bad-ipv6",
        ("feeds", "add", "http://[::1", "--config", "{ok}"),
        ("http://[::1", "not a valid URL"),
    ),
    Case(
        "add-unreachable",
        ("feeds", "add", "http://127.0.0.1:{closed}/feed", "--config", "{ok}"),
        ("http://127.0.0.1:", "cannot fetch", "--no-check"),
    ),
    Case(
        "add-bad-interval",
        ("feeds", "add", "https://a.example/f", "--interval", "often", "--config", "{ok}"),
        ("--interval", "'often'"),
    ),
    Case(
        "remove-unknown",
        ("feeds", "remove", "https://nowhere.example/f", "--config", "{ok}"),
        ("https://nowhere.example/f", "no such feed"),
    ),
    Case("check-no-host", ("check", "http://", "--config", "{ok}"), ("http://", "no host")),
    Case(
        "check-bad-ipv6",
        ("check", "http://[::1", "--config", "{ok}"),
        ("http://[::1", "not a valid URL"),
    ),
    Case(
        "check-ftp",
        ("check", "ftp://a.example/x", "--config", "{ok}"),
        ("ftp://a.example/x", "only http and https"),
    ),
    Case(
        "check-unreachable",
        ("check", "http://127.0.0.1:{closed}/a", "--config", "{ok}"),
        ("http://127.0.0.1:", "refused"),
    ),
    Case(
        "published-garbage",
        ("check", "note.txt", "--published", "someday", "--config", "{ok}"),
        ("--published", "'someday'"),
        {"note.txt": b"Envoys meet\nTalks resume.\n"},
    ),
    Case("since-garbage", ("stories", "--since", "soon", "--config", "{ok}"), ("--since", "soon")),
    Case("limit-zero", ("stories", "--limit", "0", "--config", "{ok}"), ("--limit", "0"), code=2),
    Case("limit-text", ("stories", "--limit", "ten", "--config", "{ok}"), ("--limit", "ten")),
    Case("unknown-command", ("frobnicate",), ("No such command", "frobnicate"), code=2),
    Case("unknown-option", ("scan", "--bogus"), ("peacewatch scan", "--bogus"), code=2),
    Case("missing-argument", ("check",), ("peacewatch check", "SOURCE"), code=2),
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def prepare(case: Case, tmp_path: Path) -> tuple[str, ...]:
    for name, data in case.files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder").mkdir()
    ok = tmp_path / "ok.toml"
    ok.write_text(
        f'feeds = []\n[storage]\nurl = "sqlite:///{tmp_path}/pw.db"\n'
        "[fetch]\nallow_private_networks = true\ntimeout = 5\n"
    )
    values = {"ok": str(ok), "dir": str(tmp_path / "folder"), "closed": str(closed_port())}
    return tuple(arg.format(**values) for arg in case.args)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_line_error(case: Case, tmp_path: Path) -> None:
    args = prepare(case, tmp_path)
    result = run_cli(*args, cwd=tmp_path, timeout=60)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.code != 0, (result.stdout, result.stderr)
    if case.code is not None:
        assert result.code == case.code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    for text in case.expect:
        assert text in lines[0], (text, lines[0])
    assert "root:" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[fetch\n")
    result = run_cli("status", "--config", "bad.toml", "--debug", cwd=tmp_path)
    assert result.code != 0
    assert "Traceback" in result.stderr
    assert "not valid TOML" in result.stderr

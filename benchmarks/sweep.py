"""Sweep benchmark: the 2,100 feedparser-suite documents plus hostile endpoints in one scan.

    python benchmarks/sweep.py [--trickle 5] [--timeout 20]

Serves every document of ../shared/data/feedparser-tests (with its ``Header:`` lines) and the
hostile endpoints of tests/support/hostile.py -- a gzip bomb of 1 MiB inflating to 1 GiB (and
a deflate one), an endless body, a body at one byte per ``--trickle`` seconds, redirect loops,
billion laughs, XXE against /etc/passwd and a remote entity, a PNG, a 500 -- from local
servers, runs ``peacewatch scan --all --json`` once in its own process, then ``status --json``.

Prints the scan's wall time, exit code, the peak RSS of the scan process (``wait4``; with
an analysis process pool, the largest single process) and the peak RSS of its whole process
tree (sampled from /proc every 50 ms), and how every feed ended. Exits non-zero when the
target is missed: exit 0, under 4 minutes, under 1 GiB, every feed reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, shared_data
from tests.support.feedserver import FeedServer
from tests.support.hostile import HostileServer
from tests.support.sweep import (
    HOSTILE_MUST_FAIL,
    HOSTILE_PATHS,
    config_text,
    leaked_passwd,
    serve_documents,
    suite_documents,
)

TARGET_SECONDS = 240.0
TARGET_RSS_MIB = 1024.0


def _tree_rss_kib(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in KiB (0 once it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        parent = int(fields.get("PPid", "0").strip() or 0)
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0] or 0)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_measured(cmd: list[str], cwd: Path) -> tuple[int, float, float, float, str, str]:
    """Exit code, wall seconds, peak RSS of the process and of its tree (MiB), stdout, stderr."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
        peak_tree = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(0.05):
                peak_tree = max(peak_tree, _tree_rss_kib(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    return proc.returncode, elapsed, usage.ru_maxrss / 1024, peak_tree / 1024, stdout, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trickle", type=float, default=5.0, help="seconds per trickled byte")
    parser.add_argument("--timeout", type=float, default=20.0, help="fetch.timeout of the scan")
    args = parser.parse_args()

    docs = suite_documents(shared_data() / "feedparser-tests")
    with (
        tempfile.TemporaryDirectory(prefix="pw-sweep-") as tmp,
        FeedServer() as server,
        HostileServer(trickle_interval=args.trickle) as hostile,
    ):
        work = Path(tmp)
        urls = serve_documents(server, docs)
        hostile_urls = {hostile.url(path): path for path in HOSTILE_PATHS.values()}
        urls.update({url: f"hostile:{path}" for url, path in hostile_urls.items()})
        config = work / "peacewatch.toml"
        config.write_text(config_text(f"sqlite:///{work}/sweep.db", urls, timeout=args.timeout))
        base = [sys.executable, "-m", "worker"]
        code, wall, rss, tree, stdout, stderr = run_measured(
            [*base, "scan", "--all", "--json", "--config", str(config)], cwd=ROOT
        )
        canary = hostile.count("/xxe-canary")
        status = subprocess.run(
            [*base, "status", "--json", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        rows = {
            row["url"]: row
            for row in (json.loads(line) for line in status.stdout.splitlines() if line.strip())
        }
        leaked = leaked_passwd(work / "sweep.db", urls)

    def kind(url: str) -> str:
        row = rows.get(url)
        if row is None:
            return "unreported"
        if row.get("entries"):
            return "stored"
        if row.get("last_error"):
            return "error"
        return "empty" if row.get("last_status") == 200 else "unreported"

    counts = Counter(kind(url) for url in urls)
    stories = sum(1 for line in stdout.splitlines() if line.strip())
    print(f"documents: {len(docs)} suite + {len(hostile_urls)} hostile = {len(urls)} feeds")
    print(f"scan exit code {code}, wall {wall:6.1f} s, peak RSS {rss:6.1f} MiB (scan process),")
    print(f"    {tree:6.1f} MiB (process tree, sampled); mediation stories: {stories}")
    print(
        f"status: {len(rows)} feeds reported; stored {counts['stored']}, "
        f"errors {counts['error']}, empty {counts['empty']}, unreported {counts['unreported']}"
    )
    for url, path in hostile_urls.items():
        row = rows.get(url, {})
        print(f"  {path:22} {kind(url):8} {row.get('last_error') or ''}"[:160])
    print(f"remote XXE entity requests: {canary}; /etc/passwd lines in entries: {len(leaked)}")
    if "Traceback" in stderr:
        print(stderr[-3000:], file=sys.stderr)
    missed = [
        reason
        for reason, bad in (
            (f"exit code {code}", code != 0),
            (f"{wall:.0f} s >= {TARGET_SECONDS:.0f} s", wall >= TARGET_SECONDS),
            (f"{tree:.0f} MiB >= {TARGET_RSS_MIB:.0f} MiB", tree >= TARGET_RSS_MIB),
            ("unreported feeds", counts["unreported"] > 0),
            ("traceback", "Traceback" in stderr),
            ("XXE", canary > 0 or bool(leaked)),
            (
                "a hostile endpoint did not fail",
                any(kind(u) != "error" for u, p in hostile_urls.items() if p in HOSTILE_MUST_FAIL),
            ),
        )
        if bad
    ]
    if missed:
        sys.exit("target missed: " + ", ".join(missed))
    print("target met")


if __name__ == "__main__":
    main()

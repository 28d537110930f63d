"""Scan benchmark: 400 real feeds (one per outlet and day of news-2023q1) from a local server.

    python benchmarks/scan.py [--feeds 400] [--reader]

Prints the cold scan (every entry new: fetch, parse, store, detect, extract) and the warm
scan (every feed answers 304) wall times and the scanner's peak memory (RSS), each scan in
its own process. With --reader, lemon24/reader's ``update_feeds(workers=16)`` runs on the same
feeds for comparison, from its own virtualenv in .benchmarks/reader-venv (created on first use).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, news_items
from worker.timeparse import parse_timestamp


def build_feeds(folder: Path, count: int) -> int:
    """Write ``count`` RSS files, one per (outlet, day), spread over the quarter."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = collections.defaultdict(list)
    for item in news_items():
        groups[(item["published"][:10], item["outlet"])].append(item)
    keys = sorted(groups)
    step = max(1, len(keys) // count)
    chosen = keys[::step][:count]
    total = 0
    for index, key in enumerate(chosen):
        day, outlet = key
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
            f"<title>{escape(outlet)} {day}</title><link>https://example.org/</link>"
            "<description>replay</description>",
        ]
        for item in groups[key]:
            published = format_datetime(parse_timestamp(item["published"]))
            parts.append(
                f"<item><title>{escape(item['title'])}</title>"
                f"<link>{escape(item['link'])}</link><guid>{escape(item['link'])}</guid>"
                f"<pubDate>{published}</pubDate>"
                f"<description>{escape(item.get('description') or '')}</description></item>"
            )
            total += 1
        parts.append("</channel></rss>")
        (folder / f"feed{index:04d}.xml").write_text("".join(parts), encoding="utf-8")
    return total


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and stdout of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env)
        assert proc.stderr is not None
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        errors = proc.stderr.read().decode(errors="replace")
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}): {errors[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, stdout


READER_SCRIPT = """
import sys, time
from reader import make_reader
db, base, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
reader = make_reader(db)
if mode == "cold":
    for i in range(count):
        reader.add_feed(f"{base}/feed{i:04d}.xml")
reader.update_feeds(workers=16, scheduled=False)
print(sum(1 for _ in reader.get_entries()) if mode == "cold" else 0)
"""


def reader_python() -> str:
    venv = ROOT / ".benchmarks" / "reader-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print("creating .benchmarks/reader-venv with reader …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "reader"], check=True)
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--reader", action="store_true", help="also time lemon24/reader")
    parser.add_argument("--build", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.build:
        print(build_feeds(Path(args.build), args.feeds))
        return
    with tempfile.TemporaryDirectory(prefix="pw-bench-") as tmp:
        work = Path(tmp)
        (work / "feeds").mkdir()
        # Built in a child so this process stays small: a child's peak RSS includes what it
        # inherited at fork, so the scanner and reader are started from a lean parent.
        built = subprocess.run(
            [sys.executable, __file__, "--feeds", str(args.feeds), "--build", str(work / "feeds")],
            check=True,
            capture_output=True,
            text=True,
        )
        items = int(built.stdout.strip())
        portfile = work / "port"
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "feedserver.py"),
                str(work / "feeds"),
                str(portfile),
            ]
        )
        try:
            while not portfile.exists() or not portfile.read_text():
                if server.poll() is not None:
                    sys.exit("feed server did not start")
                time.sleep(0.05)
            base = f"http://127.0.0.1:{portfile.read_text()}"
            config = work / "peacewatch.toml"
            lines = [
                f'[storage]\nurl = "sqlite:///{work}/pw.db"\n',
                "[fetch]\nallow_private_networks = true\nconcurrency = 16\nper_host = 16\n",
            ]
            lines += [f'[[feeds]]\nurl = "{base}/feed{i:04d}.xml"\n' for i in range(args.feeds)]
            config.write_text("".join(lines))
            cmd = [
                sys.executable,
                "-m",
                "worker",
                "scan",
                "--all",
                "--json",
                "--config",
                str(config),
            ]
            cold, cold_mem, cold_out = timed(cmd)
            warm, warm_mem, _ = timed(cmd)
            stories = [json.loads(line) for line in cold_out.splitlines() if line.strip()]
            print(f"feeds: {args.feeds}, items: {items}, mediation stories: {len(stories)}")
            print(f"peacewatch cold scan: {cold:6.2f} s   peak RSS {cold_mem:6.1f} MiB")
            print(f"peacewatch warm scan: {warm:6.2f} s   peak RSS {warm_mem:6.1f} MiB  (all 304)")
            if args.reader:
                python = reader_python()
                script = work / "reader_bench.py"
                script.write_text(READER_SCRIPT)
                db = str(work / "reader.sqlite")
                rcold, rcold_mem, _ = timed(
                    [python, str(script), db, base, str(args.feeds), "cold"]
                )
                rwarm, rwarm_mem, _ = timed(
                    [python, str(script), db, base, str(args.feeds), "warm"]
                )
                print(f"reader cold update:   {rcold:6.2f} s   peak RSS {rcold_mem:6.1f} MiB")
                print(f"reader warm update:   {rwarm:6.2f} s   peak RSS {rwarm_mem:6.1f} MiB")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()

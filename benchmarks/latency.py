"""End-to-end alert latency: a local feed changes N times; seconds from each change to the
webhook receiving its alert, with PeaceWatch running as the service.

    python benchmarks/latency.py                          # 20 changes, 1-minute interval (~25 min)
    python benchmarks/latency.py --interval 10s --changes 5 --tick 2     # a quick check

Everything is local: a feed server (tests.support.feedserver), a webhook receiver that
timestamps arrivals, a SQLite store in a temporary folder, and ``peacewatch run`` (a
Celery worker with beat embedded and the embedded broker) as a subprocess. The feed's
interval is ``--interval`` (``min_interval`` is lowered to match). Each change adds one
new mediation headline at a random moment (uniform over one interval after the previous
alert arrived, so changes fall at every phase of the poll cycle). ``--tick`` is beat's
dispatch period (the service default is 30 s; a due feed waits up to one tick).
``--driver scan`` drives ``peacewatch scan`` every tick instead of the service.

Aim: p95 ≤ interval + 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.feedserver import FeedServer  # noqa: E402
from worker.durations import parse_duration  # noqa: E402

# Our own wording: plausible mediation headlines, one per change (cycled with a number).
HEADLINES = (
    "Norway hosts ceasefire talks between the Colombian government and ELN rebels in Oslo",
    "Qatar brokers a prisoner exchange between Russia and Ukraine",
    "Turkey mediates grain corridor talks between Moscow and Kyiv",
    "African Union envoy shuttles between Khartoum factions to restore a truce",
    "Egypt hosts indirect truce talks between Israel and Hamas in Cairo",
    "Kenya hosts peace talks between South Sudan's government and holdout rebel groups",
    "Oman facilitates a new round of talks between Yemen's warring parties",
    "UN envoy convenes Libyan rivals in Geneva to agree a ceasefire monitoring plan",
    "Saudi Arabia and the US host Sudan ceasefire talks in Jeddah",
    "Vatican envoy meets Kyiv and Moscow officials on the return of children",
)
BASELINE = (
    "City council approves new budget for road repairs",
    "Heatwave expected to ease by the weekend, forecasters say",
)


class Arrivals:
    """Alert arrival times by story URL (the receiver's clock: time.time())."""

    def __init__(self) -> None:
        self._times: dict[str, float] = {}
        self._cond = threading.Condition()

    def add(self, url: str, at: float) -> None:
        with self._cond:
            self._times.setdefault(url, at)
            self._cond.notify_all()

    def wait_for(self, url: str, timeout: float) -> float | None:
        with self._cond:
            self._cond.wait_for(lambda: url in self._times, timeout=timeout)
            return self._times.get(url)


@contextmanager
def webhook_receiver(arrivals: Arrivals) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            at = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            story = json.loads(body).get("story") or {}
            if story.get("url"):
                arrivals.add(story["url"], at)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def rss(items: list[tuple[str, str, datetime]]) -> str:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(url)}</link><guid>{escape(url)}</guid>"
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        f"<description>{escape(title)}. Officials said the talks would continue next week."
        "</description></item>"
        for title, url, when in reversed(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Latency Desk</title><link>https://latency.example/</link>"
        f"<description>Benchmark feed</description>{entries}</channel></rss>"
    )


def write_config(folder: Path, feed_url: str, hook_url: str, interval: float) -> Path:
    config = folder / "peacewatch.toml"
    seconds = max(int(interval), 1)
    config.write_text(
        f'[storage]\nurl = "sqlite:///{folder / "peacewatch.db"}"\n'
        "[fetch]\nallow_private_networks = true\ntimeout = 10\n"
        f'[schedule]\ndefault_interval = "{seconds}s"\nmin_interval = "{seconds}s"\n'
        '[log]\nlevel = "warning"\n'
        f'[[feeds]]\nurl = "{feed_url}"\nname = "Latency Desk"\ninterval = "{seconds}s"\n'
        f'[[channels]]\ntype = "webhook"\nname = "bench"\nurl = "{hook_url}"\n',
        encoding="utf-8",
    )
    return config


def clean_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEACEWATCH_")}
    env["HOME"] = str(folder)  # the embedded broker's files stay in the temporary folder
    env["XDG_DATA_HOME"] = str(folder / "data")
    return env


def start_service(config: Path, folder: Path, tick: float) -> subprocess.Popen[bytes]:
    log = (folder / "service.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "run", "--config", str(config), "--tick", str(tick)],
        cwd=folder,
        env=clean_env(folder),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one at the end
    )


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class ScanDriver(threading.Thread):
    """The fallback: ``peacewatch scan`` every tick (it polls only due feeds)."""

    def __init__(self, config: Path, folder: Path, tick: float) -> None:
        super().__init__(daemon=True)
        self.config, self.folder, self.tick = config, folder, tick
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            subprocess.run(
                [sys.executable, "-m", "worker", "scan", "--json", "--config", str(self.config)],
                cwd=self.folder,
                env=clean_env(self.folder),
                capture_output=True,
                check=False,
            )
            self.stopped.wait(self.tick)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", default="1m", help="feed interval (default 1m)")
    parser.add_argument("--changes", type=int, default=20, help="feed changes (default 20)")
    parser.add_argument("--tick", default="30s", help="beat's dispatch period (default 30s)")
    parser.add_argument("--driver", choices=("run", "scan"), default="run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    interval = parse_duration(args.interval)
    tick = parse_duration(args.tick)
    rng = random.Random(args.seed)
    timeout = 3 * interval + 2 * tick + 60

    arrivals = Arrivals()
    latencies: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="peacewatch-latency-") as tmp,
        FeedServer() as server,
        webhook_receiver(arrivals) as hook_url,
    ):
        folder = Path(tmp)
        start = datetime.now(UTC)
        items = [
            (title, f"https://latency.example/base/{i}", start - timedelta(hours=i + 1))
            for i, title in enumerate(BASELINE)
        ]
        feed_url = server.serve("/feed.xml", rss(items))
        config = write_config(folder, feed_url, hook_url, interval)
        proc = start_service(config, folder, tick) if args.driver == "run" else None
        driver = ScanDriver(config, folder, tick) if args.driver == "scan" else None
        if driver is not None:
            driver.start()
        try:
            for n in range(args.changes):
                time.sleep(rng.uniform(0, interval))
                if proc is not None and proc.poll() is not None:
                    print(f"the service exited ({proc.returncode}); see its log", file=sys.stderr)
                    print((folder / "service.log").read_text(errors="replace")[-3000:])
                    return 1
                title = f"{HEADLINES[n % len(HEADLINES)]} (round {n + 1})"
                url = f"https://latency.example/story/{n + 1}"
                items.append((title, url, datetime.now(UTC)))
                changed = time.time()
                server.serve("/feed.xml", rss(items))
                arrived = arrivals.wait_for(url, timeout)
                if arrived is None:
                    print(f"change {n + 1}: no alert within {timeout:.0f} s", file=sys.stderr)
                    continue
                latencies.append(arrived - changed)
                print(f"change {n + 1:2d}: {arrived - changed:6.2f} s", flush=True)
        finally:
            if driver is not None:
                driver.stopped.set()
                driver.join(timeout=120)
            if proc is not None:
                stop_service(proc)

    if not latencies:
        print("no alerts arrived", file=sys.stderr)
        return 1
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(
        f"driver {args.driver}, interval {interval:.0f} s, tick {tick:g} s: "
        f"{len(latencies)}/{args.changes} alerts; p50 {p50:.2f} s, p95 {p95:.2f} s, "
        f"max {max(latencies):.2f} s (aim: p95 <= {interval + 5:.0f} s: "
        f"{'met' if p95 <= interval + 5 else 'missed'})"
    )
    return 0 if len(latencies) == args.changes else 1


if __name__ == "__main__":
    sys.exit(main())

"""Engine speed: detect + extract on title + summary of real feed items, one core.

    python benchmarks/engine.py [--items 20000] [--repeat 3]

Prints items per second for the engine (the target is >= 5,000/s) and, separately, for
the HTML-to-text cleaning that parse does before it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import news_items
from worker.engine import Engine
from worker.models import Entry
from worker.text import html_to_text
from worker.timeparse import parse_timestamp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    raw = list(news_items(args.items))
    started = time.perf_counter()
    entries = [
        Entry(
            key=item["link"],
            title=html_to_text(item["title"]),
            summary=html_to_text(item.get("description") or ""),
            published=parse_timestamp(item["published"]),
            url=item["link"],
            source=item["outlet"],
        )
        for item in raw
    ]
    clean_rate = len(entries) / (time.perf_counter() - started)

    engine = Engine()
    engine.analyse(entries[0])  # load data before timing
    best = float("inf")
    positives = 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        positives = sum(1 for entry in entries if engine.analyse(entry).is_mediation)
        best = min(best, time.perf_counter() - started)
    print(f"items:                 {len(entries)}")
    print(f"detected mediation:    {positives} ({positives / len(entries):.2%})")
    print(f"engine items/s:        {len(entries) / best:,.0f}  (best of {args.repeat})")
    print(f"html cleaning items/s: {clean_rate:,.0f}")


if __name__ == "__main__":
    main()

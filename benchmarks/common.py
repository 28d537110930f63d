"""Shared helpers for the benchmarks: where the real data is, and reading it."""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    for base in (os.environ.get("PEACEWATCH_SHARED"), ROOT.parent / "shared", "/work/shared"):
        if base and (Path(base) / "data").is_dir():
            return Path(base) / "data"
    sys.exit("benchmark needs ../shared/data (set PEACEWATCH_SHARED); it is absent")


def news_items(limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Items of news-2023q1.jsonl.gz in file order."""
    with gzip.open(shared_data() / "news-2023q1.jsonl.gz", "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if limit is not None and number >= limit:
                return
            yield json.loads(line)

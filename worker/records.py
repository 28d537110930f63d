"""Labelled records (the ``eval`` JSONL format) read into Entry values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.errors import InputError
from worker.models import Entry
from worker.text import html_to_text
from worker.timeparse import parse_timestamp


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled line: the entry to analyse and the reader's judgement."""

    line: int
    entry: Entry
    label: str | None
    facts: dict[str, Any]
    borderline: bool


def record_to_entry(data: dict[str, Any], where: str) -> Entry:
    """Build the Entry the engine sees from a record (title, summary, content, published...)."""
    title = data.get("title")
    if not isinstance(title, str):
        raise InputError(f"{where}: record has no 'title' string")
    published_raw = data.get("published")
    if not isinstance(published_raw, str):
        raise InputError(f"{where}: record has no 'published' string")
    try:
        published = parse_timestamp(published_raw)
    except ValueError as exc:
        raise InputError(f"{where}: 'published': {exc}") from exc
    content = data.get("content")
    return Entry(
        key=str(data.get("id") or data.get("url") or title),
        title=html_to_text(title),
        summary=html_to_text(str(data.get("summary") or "")),
        content=html_to_text(content) if isinstance(content, str) and content.strip() else None,
        published=published,
        url=data.get("url") if isinstance(data.get("url"), str) else None,
        source=data.get("source") if isinstance(data.get("source"), str) else None,
    )


def read_records(path: Path) -> Iterator[Record]:
    """Each non-blank line of a JSONL file as a Record; a bad line is an InputError naming it."""
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not valid JSON: {exc.msg}") from exc
            except UnicodeDecodeError as exc:
                raise InputError(f"{where}: not UTF-8 text") from exc
            if not isinstance(data, dict):
                raise InputError(f"{where}: expected a JSON object per line")
            label = data.get("label")
            if label is not None and label not in ("mediation", "other"):
                raise InputError(f"{where}: 'label' must be 'mediation' or 'other', got {label!r}")
            facts = data.get("facts") if isinstance(data.get("facts"), dict) else {}
            yield Record(
                line=number,
                entry=record_to_entry(data, where),
                label=label,
                facts=facts or {},
                borderline=bool(data.get("borderline", False)),
            )

"""The JSONL channel on a real file: once per story, across threads and processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from worker.alerts.config import JsonlConfig
from worker.alerts.jsonl import JsonlChannel, story_line
from worker.errors import DeliveryError


def make_story(n: int) -> dict[str, Any]:
    return {
        "id": f"cairo-round-{n:03d}",
        "url": f"https://news.example.org/cairo-round-{n}",
        "title": f"Egyptian and Qatari mediators open round {n} of Gaza hostage talks",
        "source": "Example Wire – Nahost",
        "published": "2024-02-13T09:05:00+00:00",
        "mediation": {
            "label": "mediation",
            "score": 0.86,
            "evidence": ["Mediators in Cairo hosted delegations for indirect talks."],
        },
        "facts": {
            "event_types": ["talks"],
            "mediators": ["EG", "QA", "US"],
            "parties": ["IL", "hamas"],
            "conflict": "Israel–Hamas war",
            "people": [],
            "places": ["Cairo"],
            "event_date": "2024-02-13",
            "quotes": [],
            "stances": [],
        },
    }


def channel(path: Path) -> JsonlChannel:
    return JsonlChannel(JsonlConfig(name="archive", path=str(path)))


def read_lines(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


def test_twice_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "stories.jsonl"  # parent directories are created
    ch = channel(path)
    story = make_story(1)
    ch.send(story, key="k1")
    ch.send(story, key="k1")
    channel(path).send(story, key="k1")  # a fresh process: reads the ids from the file
    assert read_lines(path) == [story]
    assert path.read_bytes() == story_line(story)
    assert "Nahost" in path.read_text(encoding="utf-8")  # UTF-8 kept, not \\u-escaped
    assert b", " not in path.read_bytes() and b'": ' not in path.read_bytes()  # compact


def test_reads_only_new_bytes_and_sees_other_writers(tmp_path: Path) -> None:
    path = tmp_path / "stories.jsonl"
    mine, theirs = channel(path), channel(path)
    mine.send(make_story(1), key="a")
    theirs.send(make_story(2), key="b")
    mine.send(make_story(2), key="b")  # written by the other writer: not again
    theirs.send(make_story(1), key="a")
    mine.send(make_story(3), key="c")
    assert [s["id"] for s in read_lines(path)] == ["cairo-round-001", "cairo-round-002",
                                                   "cairo-round-003"]  # fmt: skip


def test_cut_line_is_closed_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "stories.jsonl"
    first = make_story(1)
    path.write_bytes(story_line(first) + b'{"id":"cairo-round-00')  # a writer crashed mid-line
    ch = channel(path)
    ch.send(first, key="k1")  # already there
    ch.send(make_story(2), key="k2")
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"id":"cairo-round-00'
    assert json.loads(lines[2])["id"] == "cairo-round-002"
    assert lines[3] == b""


def test_rotated_file_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "stories.jsonl"
    ch = channel(path)
    ch.send(make_story(1), key="k1")
    path.rename(tmp_path / "stories.jsonl.1")
    ch.send(make_story(2), key="k2")
    assert [s["id"] for s in read_lines(path)] == ["cairo-round-002"]


def test_eight_threads_once_each(tmp_path: Path) -> None:
    path = tmp_path / "stories.jsonl"
    ch = channel(path)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        barrier.wait()
        try:
            for n in range(offset, offset + 20):
                ch.send(make_story(n), key=f"k{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i * 5,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [s["id"] for s in read_lines(path)]
    assert sorted(ids) == [f"cairo-round-{n:03d}" for n in range(55)]


def _send_range(path: str, start: int, barrier: Any) -> None:
    ch = JsonlChannel(JsonlConfig(name="archive", path=path))
    barrier.wait()
    for n in range(start, start + 50):
        ch.send(make_story(n), key=f"k{n}")


def test_eight_processes_overlapping_sets(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "stories.jsonl"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(8)
    starts = [i * 10 for i in range(8)]  # 0-49, 10-59, ... 70-119: heavy overlap
    procs = [ctx.Process(target=_send_range, args=(str(path), s, barrier)) for s in starts]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    stories = read_lines(path)  # every line is valid JSON
    ids = [s["id"] for s in stories]
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == {f"cairo-round-{n:03d}" for n in range(120)}
    assert all(s == make_story(int(s["id"][-3:])) for s in stories)


def test_unwritable_path_is_a_permanent_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be\n")
    with pytest.raises(DeliveryError) as caught:
        channel(blocker / "stories.jsonl").send(make_story(1), key="k")
    assert caught.value.permanent
    assert "archive" in str(caught.value)


def test_permission_denied_is_permanent(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes through file modes; sysfs refuses new files to anyone
        if not Path("/sys/kernel").is_dir():
            pytest.skip("running as root without /sys: no path refuses a new file")
        target = Path("/sys/peacewatch-alerts-test.jsonl")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "stories.jsonl"
    with pytest.raises(DeliveryError) as caught:
        channel(target).send(make_story(1), key="k")
    assert caught.value.permanent
    assert "archive" in str(caught.value)
    assert not target.exists()


def test_directory_as_path_is_a_permanent_delivery_error(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel(tmp_path).send(make_story(1), key="k")
    assert caught.value.permanent and "archive" in str(caught.value)


def test_story_that_is_not_json_is_permanent(tmp_path: Path) -> None:
    story = make_story(1)
    story["mediation"] = {**story["mediation"], "score": float("nan")}
    with pytest.raises(DeliveryError) as caught:
        channel(tmp_path / "s.jsonl").send(story, key="k")
    assert caught.value.permanent
    assert not (tmp_path / "s.jsonl").exists()

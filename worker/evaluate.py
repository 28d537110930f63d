"""Score the engine against labelled records (``peacewatch eval``).

Detection is scored on ``label``; ``mediators``, ``parties`` and ``event_types`` by set
precision/recall, micro-averaged over records labelled mediation that carry the key;
``event_date`` by exact match over records labelled mediation that carry it. Borderline
records are left out unless asked for. The scoring takes story objects exactly as
``check --json`` prints them, so an independent scorer over that output gets the same figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.engine import Engine
from worker.records import Record, read_records

SET_FIELDS = ("mediators", "parties", "event_types")


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def scores(self) -> dict[str, float]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def score(pairs: Sequence[tuple[Record, dict[str, Any]]]) -> dict[str, Any]:
    """Figures for (record, story object) pairs, in the contract's ``eval --json`` shape."""
    detection = _Counts()
    fields = {name: _Counts() for name in SET_FIELDS}
    dated = correct_dates = 0
    for record, story in pairs:
        predicted = story["mediation"]["label"] == "mediation"
        gold = record.label == "mediation"
        if predicted and gold:
            detection.tp += 1
        elif predicted:
            detection.fp += 1
        elif gold:
            detection.fn += 1
        if not gold:
            continue
        facts = story["facts"]
        for name in SET_FIELDS:
            if name not in record.facts:
                continue
            want = set(record.facts[name] or ())
            got = set(facts.get(name) or ())
            counts = fields[name]
            counts.tp += len(want & got)
            counts.fp += len(got - want)
            counts.fn += len(want - got)
        if "event_date" in record.facts:
            dated += 1
            correct_dates += int(facts.get("event_date") == record.facts["event_date"])
    result: dict[str, Any] = {
        "n": len(pairs),
        "detection": {
            **detection.scores(),
            "tp": detection.tp,
            "fp": detection.fp,
            "fn": detection.fn,
        },
        "fields": {name: counts.scores() for name, counts in fields.items()},
    }
    result["fields"]["event_date"] = {
        "accuracy": round(correct_dates / dated, 4) if dated else 0.0,
        "n": dated,
    }
    return result


def load_for_eval(path: Path, *, include_borderline: bool = False) -> list[Record]:
    return [
        record
        for record in read_records(path)
        if record.label is not None and (include_borderline or not record.borderline)
    ]


def evaluate(
    records: Sequence[Record],
    engine: Engine,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], list[tuple[Record, dict[str, Any]]]]:
    """Run the engine over the records and score it; returns the figures and the pairs."""
    pairs: list[tuple[Record, dict[str, Any]]] = []
    engine.warm_up()
    started = time.perf_counter()
    for index, record in enumerate(records, start=1):
        pairs.append((record, engine.analyse(record.entry).to_dict()))
        if progress is not None:
            progress(index)
    elapsed = time.perf_counter() - started
    result = score(pairs)
    result["entries_per_second"] = round(len(records) / elapsed, 1) if elapsed > 0 else None
    return result, pairs


def mistakes(pairs: Iterable[tuple[Record, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Records where the detection disagreed with the label (for `eval --show-errors`)."""
    out = []
    for record, story in pairs:
        predicted = story["mediation"]["label"]
        if record.label != predicted:
            out.append(
                {
                    "line": record.line,
                    "label": record.label,
                    "predicted": predicted,
                    "score": story["mediation"]["score"],
                    "title": record.entry.title,
                }
            )
    return out


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - dev convenience
    import json
    import sys

    args = list(argv if argv is not None else sys.argv[1:])
    result, _ = evaluate(load_for_eval(Path(args[0])), Engine())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()

"""Detect, then extract: one Entry in, one Story out. Pure: no I/O, no clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.detect import detect
from worker.extract import extract
from worker.gazetteer import Gazetteer
from worker.models import Entry, Facts, Story

_TRACKING = ("utm_", "at_", "fbclid", "gclid", "mc_", "cmpid", "ocid", "itid", "smid")


def canonical_url(url: str) -> str:
    """The URL without fragment and tracking parameters, host lower-cased."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING)
    ]
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(query), "")
    )


def story_id(entry: Entry) -> str:
    """Stable id: the same article (same canonical URL, or same title and date) → same id."""
    if entry.url:
        basis = "url:" + canonical_url(entry.url)
    else:
        basis = f"text:{entry.title.strip().lower()}|{entry.published.date().isoformat()}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


class Engine:
    """The analysis stages with their data loaded once."""

    def __init__(self, gazetteer: Gazetteer | None = None, *, threshold: float = 0.5):
        self.gazetteer = gazetteer or Gazetteer.default()
        self.threshold = threshold

    def analyse(self, entry: Entry) -> Story:
        detection = detect(entry, self.gazetteer, threshold=self.threshold)
        facts = (
            extract(entry, self.gazetteer, evidence=detection.evidence)
            if detection.label == "mediation"
            else Facts()
        )
        return Story(
            id=story_id(entry),
            title=entry.title,
            published=entry.published,
            detection=detection,
            facts=facts,
            url=entry.url,
            source=entry.source,
        )

    def analyse_all(self, entries: Iterable[Entry]) -> Iterator[Story]:
        for entry in entries:
            yield self.analyse(entry)

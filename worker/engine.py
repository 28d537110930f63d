"""Detect, then extract: one Entry in, one Story out. Pure: no I/O, no clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.models import Entry, Facts, Story

if TYPE_CHECKING:
    from worker.gazetteer import Gazetteer

_TRACKING = ("utm_", "at_", "fbclid", "gclid", "mc_", "cmpid", "ocid", "itid", "smid")


def canonical_url(url: str) -> str:
    """The URL without fragment and tracking parameters, host lower-cased (a URL that does
    not even split, such as ``http://[::1``, comes back stripped but otherwise as it is)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
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
    # surrogatepass: a lone surrogate (from a JSON "\\ud800" escape) must not stop analysis
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_WARM_UP = Entry(
    key="warm-up",
    title="Envoys meet in Doha as mediators push for a ceasefire",
    summary="Qatar said on Monday it would host talks between the two sides.",
    published=datetime(2023, 1, 2, tzinfo=UTC),
)


class Engine:
    """The analysis stages with their data loaded once."""

    def __init__(
        self,
        gazetteer: Gazetteer | None = None,
        *,
        threshold: float = 0.5,
        extra_actors: Sequence[Mapping[str, Any]] = (),
    ):
        self._given = gazetteer
        self.extra_actors = tuple(extra_actors)
        self.threshold = threshold

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """Built on first use: compiling it takes a moment a scan of unchanged feeds can skip."""
        from worker.gazetteer import Gazetteer

        base = self._given or Gazetteer.default()
        return base.with_extra(self.extra_actors) if self.extra_actors else base

    def warm_up(self) -> None:
        """Load and compile every lexicon and pattern now rather than on the first entry."""
        self.analyse(_WARM_UP)

    @cached_property
    def _stages(self) -> tuple[Any, Any]:
        """The pure stages, imported on first use (their patterns compile at import)."""
        from worker.detect import detect
        from worker.extract import extract

        return detect, extract

    def analyse(self, entry: Entry) -> Story:
        detect, extract = self._stages
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

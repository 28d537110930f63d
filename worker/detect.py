"""Is an entry about peace mediation? Pure: Entry + Gazetteer -> Detection.

What decides is structure, not single words (see the lexicon's categories):

* a **settlement process** (ceasefire, peace talks/plan, prisoner swap, restore ties,
  grain deal), strongest in the title and weaker the later it comes in the lead;
* **talks / negotiations / peace** that count only inside a conflict: when both sides
  of a known conflict are named in the same sentence, or a third party facilitates,
  or a state or international body appeals;
* a **conflict**: a dyad or cue from the gazetteer, or generic armed-conflict words;
* a **third party** with a facilitating verb (broker, mediate, envoy, talks in Doha);
* an **appeal** by a state, leader or international body, and **rejection/breakdown**
  of a settlement effort (both count);
* **negative contexts** (labour, court, family, commercial, trade, domestic politics,
  climate, sport, crime, obituary, history, activism) subtract, per domain; battlefield,
  arms and sanctions words subtract only when the title is not itself about settlement;
* a title silent on settlement (the lead mentions it in passing), a settlement dated years
  before publication, and photo captions (dropped) guard against stories that only mention
  talks.

The features are added into a logit with hand-set weights (constants below) and squashed
to [0, 1]; :func:`explain` lists the named terms. Only the title and the first sentences of
the body (the lead) are read, so a full article is judged like its feed summary. Evidence:
the title and lead sentences that carried the decisive cues, in reading order, trimmed, at
most four. Texts without any gating cue (see ``Lexicon.may_matter``) are dismissed early.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from worker.gazetteer import Conflict, Gazetteer, Mention
from worker.lexicon import Cue, Lexicon, Term
from worker.models import Detection, Entry, Label
from worker.text import split_sentences

# -- the window read --------------------------------------------------------------------
LEAD_SENTENCES = 3  # body sentences read after the title
LEAD_CHARS = 900  # and never more than this much body text
MIN_SENTENCE = 20  # shorter lead "sentences" are datelines, bylines and the like
POSITION_WEIGHTS = (1.0, 0.8, 0.6, 0.45)  # title, first, second, third lead sentence

# -- weights of the logit -------------------------------------------------------------------
BIAS = -4.8
EXTRA_SETTLE = 0.4  # each further segment with a settlement term (at most two)
CONFLICT_KNOWN = 1.5  # a gazetteer conflict: dyad or cue
CONFLICT_PARTY = 0.8  # an actor of one side of a known conflict
CONFLICT_GENERIC = 1.0  # times the strongest generic conflict word's weight
PROCESS_IN_CONFLICT = 1.0  # multiplier of a talks/peace word tied to the conflict
PROCESS_BETWEEN_SIDES = 1.5  # ... when both sides of the conflict are in its sentence
PROCESS_LOOSE = 0.25  # multiplier of a talks/peace word with no tie
FACILITATION = 1.0  # multiplier of the facilitation cue's weight
THIRD_PARTY = 0.8  # a state/org outside the conflict next to a facilitation cue
APPEAL = 1.0  # a state/org/leader appealing for settlement
REJECTION = 1.0  # rejection or breakdown of a settlement effort
TITLE_SILENT = 0.8  # the title names no settlement, talks or facilitation
RETROSPECTIVE = 1.5  # the settlement sentence names a year well before publication
NEGATIVE_CAP = 5.0
NEGATIVE_DAMPING = 0.6  # negatives count less against a titled settlement in a conflict
MAX_EVIDENCE = 4
EVIDENCE_CHARS = 220

_STATE_KINDS = frozenset({"state", "org"})
_BROKERING = frozenset({"broker", "offer"})  # facilitation terms that tie a deal to a third party
# Page furniture that full texts open with: not part of the story.
_BOILERPLATE = re.compile(
    r"\s*(?:advertisement|sign up|subscribe|share (?:this|on)|follow us|read more|listen to|"
    r"watch:|updated|published|last modified|by [A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3}\s*$)",
    re.IGNORECASE,
)
# Photo captions and credits that feeds put in summaries: not part of the story.
_CAPTION = re.compile(
    r"\((?:photos?|images?|pictures?) by|getty images|\(ap photo|ap photo/|/afp\b|\bafp via\b|"
    r"\(reuters\)|reuters/|/reuters|\bfile photo\b|/epa\b|\(epa\)|"
    r"\((?:l|r|c|left|right|centre|center)\)|"
    r"^[A-Z][A-Z .,'-]+ - [A-Z]+ \d{1,2}:",
    re.IGNORECASE,
)


@dataclass
class _Segment:
    """The title or one lead sentence, with what was found in it."""

    text: str
    start: int
    end: int
    weight: float
    cues: list[Cue] = field(default_factory=list)
    actors: set[str] = field(default_factory=set)
    state_actors: set[str] = field(default_factory=set)

    def best(self, category: str) -> Cue | None:
        found = [c for c in self.cues if c.term.category == category]
        return max(found, key=lambda c: c.term.weight) if found else None

    def has(self, category: str) -> bool:
        return any(c.term.category == category for c in self.cues)


def _window(entry: Entry) -> list[tuple[str, float]]:
    """The title and the first lead sentences with their position weights."""
    title = " ".join(entry.title.split())
    body = entry.text or ""
    if len(body) > LEAD_CHARS:
        cut = body.rfind(" ", 0, LEAD_CHARS)
        body = body[: cut if cut > 0 else LEAD_CHARS]
    sentences = [
        s
        for s in split_sentences(body)
        if len(s.strip()) >= MIN_SENTENCE and not _CAPTION.search(s) and not _BOILERPLATE.match(s)
    ]
    # A summary that only repeats the title adds nothing.
    if sentences and sentences[0].strip().lower() == title.lower():
        sentences = sentences[1:]
    parts = [(title, POSITION_WEIGHTS[0])] if title else []
    for index, sentence in enumerate(sentences[:LEAD_SENTENCES], start=1):
        parts.append((" ".join(sentence.split()), POSITION_WEIGHTS[index]))
    return parts


def _segments(parts: Sequence[tuple[str, float]]) -> tuple[str, list[_Segment]]:
    pieces: list[str] = []
    segments: list[_Segment] = []
    offset = 0
    for text, weight in parts:
        segments.append(_Segment(text, offset, offset + len(text), weight))
        pieces.append(text)
        offset += len(text) + 1
    return "\n".join(pieces), segments


def _segment_of(segments: Sequence[_Segment], position: int) -> _Segment | None:
    for segment in segments:
        if segment.start <= position < segment.end + 1:
            return segment
    return None


_DASHES = r"[\s\-‐‑–—]+"
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


@lru_cache(maxsize=8)
def _cue_lexicon(gazetteer: Gazetteer) -> Lexicon:
    """The gazetteer's conflict cues as a lexicon (one fast pass instead of one per conflict)."""
    terms = []
    for conflict in gazetteer.conflicts:
        patterns = [
            _DASHES.join(re.escape(part.lower()).replace("'", "['’]") for part in cue.split())
            for cue in conflict.cues
            if cue.strip()
        ]
        if patterns:
            terms.append((Term(conflict.name, "conflict", 0.0), patterns))
    return Lexicon(terms)


def _conflicts(gazetteer: Gazetteer, text: str, actors: set[str]) -> list[Conflict]:
    """Conflicts named by a cue in ``text`` or by actors of both of their sides."""
    cued = {cue.term.name for cue in _cue_lexicon(gazetteer).scan(text)}
    return [
        conflict
        for conflict in gazetteer.conflicts
        if conflict.name in cued
        or (conflict.dyad and actors & conflict.sides[0] and actors & conflict.sides[1])
    ]


def _squash(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def _trim(text: str, around: int) -> str:
    """At most EVIDENCE_CHARS of ``text`` around offset ``around``, cut at spaces."""
    if len(text) <= EVIDENCE_CHARS:
        return text
    start = max(0, around - EVIDENCE_CHARS // 3)
    end = min(len(text), start + EVIDENCE_CHARS)
    start = max(0, end - EVIDENCE_CHARS)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < around else start
    if end < len(text):
        space = text.rfind(" ", around, end)
        end = space if space > around else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def detect(
    entry: Entry,
    gazetteer: Gazetteer,
    *,
    threshold: float = 0.5,
    lexicon: Lexicon | None = None,
) -> Detection:
    """Label ``entry`` "mediation" when its score reaches ``threshold``.

    The score is in [0, 1]; the evidence lists the title/lead sentences (trimmed) whose cues
    made the decision, in reading order. Deterministic; no I/O.
    """
    analysis = _analyse(entry, gazetteer, lexicon or Lexicon.default())
    score = round(_squash(sum(value for _, value in analysis.contributions)), 4)
    label: Label = "mediation" if score >= threshold else "other"
    return Detection(label, score, analysis.evidence)


def explain(
    entry: Entry, gazetteer: Gazetteer, *, lexicon: Lexicon | None = None
) -> tuple[tuple[str, float], ...]:
    """The named terms of the logit behind ``detect``'s score (for reports and tuning)."""
    return _analyse(entry, gazetteer, lexicon or Lexicon.default()).contributions


@dataclass(frozen=True, slots=True)
class _Analysis:
    contributions: tuple[tuple[str, float], ...]
    evidence: tuple[str, ...] = ()


_NOTHING = _Analysis((("bias", BIAS),))


def _analyse(entry: Entry, gazetteer: Gazetteer, lexicon: Lexicon) -> _Analysis:
    # Cheap test first: most entries hold no settlement, talks or facilitation cue at all.
    if not lexicon.may_matter(entry.title + "\n" + (entry.text or "")[:LEAD_CHARS]):
        return _NOTHING
    parts = _window(entry)
    if not parts:
        return _NOTHING
    text, segments = _segments(parts)

    for cue in lexicon.scan(text):
        segment = _segment_of(segments, cue.start)
        if segment is not None:
            segment.cues.append(cue)
    if not any(c.term.gate for s in segments for c in s.cues):
        return _NOTHING

    mentions: list[Mention] = gazetteer.mentions(text)
    # A negative cue inside an actor's name ("African Union", "Arab League") says nothing.
    spans = [(m.start, m.end) for m in mentions]
    for segment in segments:
        segment.cues = [
            c
            for c in segment.cues
            if c.term.category != "negative"
            or not any(start <= c.start and c.end <= end for start, end in spans)
        ]
    for mention in mentions:
        segment = _segment_of(segments, mention.start)
        if segment is None:
            continue
        segment.actors.add(mention.actor)
        actor = gazetteer.actor(mention.actor)
        if mention.via == "person" or (actor is not None and actor.kind in _STATE_KINDS):
            segment.state_actors.add(mention.actor)
    conflicts = _conflicts(gazetteer, text, {m.actor for m in mentions})
    sides: set[str] = set()
    for conflict in conflicts:
        sides |= conflict.sides[0] | conflict.sides[1]

    contributions: list[tuple[str, float]] = [("bias", BIAS)]
    decisive: dict[int, int] = {}  # segment index -> offset of the cue to show

    def add(name: str, value: float) -> None:
        if value:
            contributions.append((name, round(value, 4)))

    def mark(index: int, cue: Cue) -> None:
        decisive.setdefault(index, cue.start - segments[index].start)

    # Settlement terms.
    settle_scores: list[tuple[float, int, Cue]] = []
    for index, segment in enumerate(segments):
        found = segment.best("settle")
        if found is not None:
            settle_scores.append((found.term.weight * segment.weight, index, found))
    settle_scores.sort(key=lambda item: -item[0])
    titled_settlement = bool(settle_scores) and settle_scores[0][1] == 0
    if settle_scores:
        best, best_index, best_cue = settle_scores[0]
        add(f"settle:{best_cue.term.name}", best)
        add("settle:more", EXTRA_SETTLE * min(2, len(settle_scores) - 1))
        mark(best_index, best_cue)

    # Conflict context.
    generic = max(
        (c.term.weight for s in segments for c in s.cues if c.term.category == "conflict"),
        default=0.0,
    )
    party = any(
        actor in conflict.sides[0] or actor in conflict.sides[1]
        for conflict in gazetteer.conflicts
        for segment in segments
        for actor in segment.actors
    )
    in_conflict = bool(conflicts) or generic > 0
    if conflicts:
        add("conflict:known", CONFLICT_KNOWN)
    else:
        add("conflict:generic", max(CONFLICT_GENERIC * generic, CONFLICT_PARTY if party else 0.0))

    # Talks / peace words, tied to the conflict or not.
    process_best = 0.0
    process_at: tuple[int, Cue, str] | None = None
    for index, segment in enumerate(segments):
        process = segment.best("process")
        if process is None:
            continue
        dyad_here = any(
            segment.actors & c.sides[0] and segment.actors & c.sides[1] for c in conflicts
        )
        third_here = bool(segment.state_actors - sides) and (
            segment.has("facilitate") or segment.has("appeal")
        )
        appeal_here = bool(segment.state_actors) and segment.has("appeal")
        about_settlement = segment.has("settle")
        brokered_here = bool(segment.state_actors - sides) and any(
            c.term.category == "facilitate" and c.term.name in _BROKERING for c in segment.cues
        )
        tied = (
            about_settlement
            or brokered_here
            or (in_conflict and (dyad_here or third_here or appeal_here))
        )
        factor, how = PROCESS_LOOSE, "loose"
        if tied:
            factor, how = (
                (PROCESS_BETWEEN_SIDES, "between-sides")
                if dyad_here
                else (PROCESS_IN_CONFLICT, "tied")
            )
        value = process.term.weight * segment.weight * factor
        if value > process_best:
            process_best, process_at = value, (index, process, how)
    if process_at is not None:
        add(f"process:{process_at[1].term.name}:{process_at[2]}", process_best)
        if process_best >= 0.5:
            mark(process_at[0], process_at[1])

    # Facilitation by a third party: the strongest sentence counts.
    facilitations: list[tuple[float, int, Cue, bool]] = []
    for index, segment in enumerate(segments):
        facilitation = segment.best("facilitate")
        if facilitation is None:
            continue
        value = facilitation.term.weight * segment.weight * FACILITATION
        third_party = bool(segment.state_actors - sides)
        if third_party:
            value += THIRD_PARTY * segment.weight
        party_here = any(
            actor in c.sides[0] or actor in c.sides[1]
            for c in gazetteer.conflicts
            for actor in segment.actors
        )
        bound = (
            segment.has("settle")
            or segment.has("process")
            or (third_party and (in_conflict or party_here))
        )
        facilitations.append((value if bound else value * 0.5, index, facilitation, bound))
    if facilitations:
        value, index, facilitation, bound = max(facilitations, key=lambda item: item[0])
        add(f"facilitate:{facilitation.term.name}" + ("" if bound else ":alone"), value)
        if bound:
            mark(index, facilitation)

    # Appeals and rejections that bear on a settlement or talks.
    for index, segment in enumerate(segments):
        if not (segment.has("settle") or segment.has("process")):
            continue
        appeal = segment.best("appeal")
        if appeal is not None and segment.state_actors:
            add("appeal", APPEAL)
            mark(index, appeal)
            break
    for index, segment in enumerate(segments):
        reject = segment.best("reject")
        if reject is not None and (segment.has("settle") or segment.has("process")):
            add(f"reject:{reject.term.name}", REJECTION)
            mark(index, reject)
            break

    # A title that says nothing of settlement, talks or facilitation: the lead mentions it in
    # passing more often than not.
    if not any(segments[0].has(c) for c in ("settle", "process", "facilitate")):
        add("title-silent", -TITLE_SILENT)

    # A settlement dated years before publication is history, not news.
    if settle_scores:
        segment = segments[settle_scores[0][1]]
        oldest = min((int(y) for y in _YEAR.findall(segment.text)), default=None)
        if oldest is not None and oldest < entry.published.year - 1:
            add("retrospective", -RETROSPECTIVE)

    # Negative contexts, once per domain.
    penalties: dict[str, float] = {}
    for segment in segments:
        for cue in segment.cues:
            if cue.term.category != "negative" or cue.term.domain is None:
                continue
            if cue.term.domain == "battlefield" and titled_settlement:
                continue
            weight = cue.term.weight * (1.0 if segment.weight >= 0.8 else 0.75)
            penalties[cue.term.domain] = max(penalties.get(cue.term.domain, 0.0), weight)
    total = sum(penalties.values())
    scale = min(1.0, NEGATIVE_CAP / total) if total else 1.0
    if titled_settlement and conflicts:
        scale *= NEGATIVE_DAMPING
    for domain, weight in sorted(penalties.items()):
        add(f"negative:{domain}", -weight * scale)

    evidence = tuple(_trim(segments[i].text, decisive[i]) for i in sorted(decisive)[:MAX_EVIDENCE])
    return _Analysis(tuple(contributions), evidence)

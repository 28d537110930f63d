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
  arms and sanctions words subtract only when the title is not itself about settlement.

The features are added into a logit with hand-set weights (constants below) and squashed
to [0, 1]. Only the title and the first sentences of the body (the lead) are read, so a
full article is judged like its feed summary. Evidence: the title and lead sentences that
carried the decisive cues, in reading order, trimmed, at most four.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from worker.gazetteer import Gazetteer, Mention
from worker.lexicon import Cue, Lexicon
from worker.models import Detection, Entry, Label
from worker.text import split_sentences

# -- the window read --------------------------------------------------------------------
LEAD_SENTENCES = 3  # body sentences read after the title
LEAD_CHARS = 900  # and never more than this much body text
POSITION_WEIGHTS = (1.0, 0.8, 0.6, 0.45)  # title, first, second, third lead sentence

# -- weights of the logit -------------------------------------------------------------------
BIAS = -4.5
EXTRA_SETTLE = 0.4  # each further segment with a settlement term (at most two)
CONFLICT_KNOWN = 1.5  # a gazetteer conflict: dyad or cue
CONFLICT_GENERIC = 1.0  # times the strongest generic conflict word's weight
PROCESS_IN_CONFLICT = 1.0  # multiplier of a talks/peace word tied to the conflict
PROCESS_LOOSE = 0.25  # multiplier of a talks/peace word with no tie
FACILITATION = 1.0  # multiplier of the facilitation cue's weight
THIRD_PARTY = 0.8  # a state/org outside the conflict next to a facilitation cue
APPEAL = 1.0  # a state/org/leader appealing for settlement
REJECTION = 0.5  # rejection or breakdown of a settlement effort
NEGATIVE_CAP = 5.0
NEGATIVE_DAMPING = 0.6  # negatives count less against a titled settlement in a conflict
MAX_EVIDENCE = 4
EVIDENCE_CHARS = 220

_STATE_KINDS = frozenset({"state", "org"})


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
    sentences = [s for s in split_sentences(body) if s.strip()]
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
    lexicon = lexicon or Lexicon.default()
    parts = _window(entry)
    if not parts:
        return Detection("other", round(_squash(BIAS), 4))
    text, segments = _segments(parts)
    if not lexicon.may_matter(text):
        return Detection("other", round(_squash(BIAS), 4))

    for cue in lexicon.scan(text):
        segment = _segment_of(segments, cue.start)
        if segment is not None:
            segment.cues.append(cue)
    gating = [c for s in segments for c in s.cues if c.term.gate]
    if not gating:
        return Detection("other", round(_squash(BIAS), 4))

    mentions: list[Mention] = gazetteer.mentions(text)
    for mention in mentions:
        segment = _segment_of(segments, mention.start)
        if segment is None:
            continue
        segment.actors.add(mention.actor)
        actor = gazetteer.actor(mention.actor)
        if mention.via == "person" or (actor is not None and actor.kind in _STATE_KINDS):
            segment.state_actors.add(mention.actor)
    actor_ids = list(dict.fromkeys(m.actor for m in mentions))
    conflicts = gazetteer.conflicts_in(text, actor_ids)
    sides: set[str] = set()
    for conflict in conflicts:
        sides |= conflict.sides[0] | conflict.sides[1]

    logit = BIAS
    decisive: dict[int, int] = {}  # segment index -> offset of the cue to show

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
        logit += best + EXTRA_SETTLE * min(2, len(settle_scores) - 1)
        mark(best_index, best_cue)

    # Conflict context.
    generic = max(
        (c.term.weight for s in segments for c in s.cues if c.term.category == "conflict"),
        default=0.0,
    )
    in_conflict = bool(conflicts) or generic > 0
    logit += CONFLICT_KNOWN if conflicts else CONFLICT_GENERIC * generic

    # Talks / peace words, tied to the conflict or not.
    process_best = 0.0
    process_at: tuple[int, Cue] | None = None
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
        tied = in_conflict and (dyad_here or third_here or appeal_here)
        value = (
            process.term.weight * segment.weight * (PROCESS_IN_CONFLICT if tied else PROCESS_LOOSE)
        )
        if value > process_best:
            process_best, process_at = value, (index, process)
    logit += process_best
    if process_at is not None and process_best >= 0.5:
        mark(*process_at)

    # Facilitation by a third party.
    for index, segment in enumerate(segments):
        facilitation = segment.best("facilitate")
        if facilitation is None:
            continue
        value = facilitation.term.weight * segment.weight * FACILITATION
        if segment.state_actors - sides:
            value += THIRD_PARTY * segment.weight
        if segment.has("settle") or segment.has("process"):
            logit += value
            mark(index, facilitation)
            break
        logit += value * 0.5
        break

    # Appeals and rejections that bear on a settlement or talks.
    for index, segment in enumerate(segments):
        if not (segment.has("settle") or segment.has("process")):
            continue
        appeal = segment.best("appeal")
        if appeal is not None and segment.state_actors:
            logit += APPEAL
            mark(index, appeal)
            break
    for index, segment in enumerate(segments):
        reject = segment.best("reject")
        if reject is not None and (segment.has("settle") or segment.has("process")):
            logit += REJECTION
            mark(index, reject)
            break

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
    penalty = min(NEGATIVE_CAP, sum(penalties.values()))
    if titled_settlement and conflicts:
        penalty *= NEGATIVE_DAMPING
    logit -= penalty

    score = _squash(logit)
    label: Label = "mediation" if score >= threshold else "other"
    evidence: list[str] = []
    if label == "mediation" or decisive:
        for index in sorted(decisive)[:MAX_EVIDENCE]:
            evidence.append(_trim(segments[index].text, decisive[index]))
    return Detection(label, round(score, 4), tuple(evidence))

"""Event-date resolution: find date expressions in a sentence and resolve them.

Pure functions: no I/O and no clock. Everything is resolved against ``published``
(timezone-aware UTC). "Today" is the UTC calendar date of ``published``; a story stamped
late in the UTC day that speaks of the next local day is not corrected (kept simple).

What counts as a date mention:

* relative days: "yesterday", "today", "tonight", "tomorrow", "last night",
  "the day before yesterday";
* weekdays, optionally qualified: "on Wednesday", "Monday night", "last Friday",
  "next Tuesday", "Friday's talks". A past event resolves to the most recent such day
  (the same day when the weekday equals the publication weekday); a scheduled one
  ("to start Friday", "will meet on Thursday") to the coming such day;
* explicit days: "March 10", "Jan. 6", "10 March", "March 10, 2023", "2023-03-10",
  "on the 10th" (only when the ordinal ends the phrase). Without a year, the year is the
  one that puts the date nearest to ``published`` (after it for scheduled events, unless
  that is more than 240 days ahead: then a missed past tense is the likelier story).

Not mentions: month-only or year-only spans ("in February", "since February 2022",
"last year", "in 2014"), vague spans ("last week", "this month"), anything introduced by
"since", clock times ("10am"), ordinals ("10th anniversary") and numbers ("12-point").
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DateMention", "event_date", "find_dates"]

# Mentions further than this from publication are background, not the event (see event_date).
_MAX_PAST = datetime.timedelta(days=60)
_MAX_FUTURE = datetime.timedelta(days=366)
_MAX_SCHEDULED_AHEAD = 240  # days; a yearless date further ahead resolves to the nearest
_MAX_SENTENCE = 20_000  # longer "sentences" are truncated: no prose sentence is that long


@dataclass(frozen=True, slots=True)
class DateMention:
    """One resolved date expression in a sentence (``start``/``end`` index the sentence)."""

    date: datetime.date
    start: int
    end: int
    surface: str
    scheduled: bool  # future/scheduled event ("to start Friday", "will meet next week")


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_MONTH_UPPER = _MONTH_RE.upper()
# A day number that is not a time, a count, a decimal or a compound ("12-point").
_DAY_TAIL = (
    r"(?:st|nd|rd|th)?(?![\d:%]|\.\d|,\d{1,3}(?!\d)|-[A-Za-z\d]|\s*(?:am|pm|a\.m\.|p\.m\.)(?!\w))"
)
_YEAR_TAIL = r"(?:,?\s+((?:19|20)\d\d)(?![\d\w]))?"

_MONTH_DAY = re.compile(
    rf"(?<![\w-])(?P<month>{_MONTH_RE}|{_MONTH_UPPER})\s+(?P<day>\d{{1,2}}){_DAY_TAIL}{_YEAR_TAIL}"
)
_DAY_MONTH = re.compile(
    rf"(?<![\w,.:-])(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"(?P<month>{_MONTH_RE}|{_MONTH_UPPER})(?![\w]){_YEAR_TAIL}"
)
_ISO = re.compile(r"(?<![\w-])((?:19|20)\d\d)-(\d\d)-(\d\d)(?![\w-])")
_ORDINAL_DAY = re.compile(
    r"\b[Oo]n the (\d{1,2})(?:st|nd|rd|th)(?=\s*(?:[.,;:)!?]|$)|\s+of (?:this|last|next) month\b)"
)
_WEEKDAY = re.compile(
    r"(?:\b(?P<mod>(?i:on|last|next|this coming|this|coming|by|until|till|since))\s+)?"
    r"\b(?P<day>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"MONDAY|TUESDAY|WEDNESDAY|THURSDAY|FRIDAY|SATURDAY|SUNDAY)(?:'s|’s)?\b"
    r"(?:\s+(?P<part>(?i:night|morning|evening|afternoon)))?"
)
# Named days that are not dates: "Good Friday Agreement", "Super Tuesday", "Bloody Sunday".
_NAMED_DAY = re.compile(
    r"(?i:\b(?:good|black|bloody|super|ash|easter|palm|holy|maundy|cyber|giving|blue)\s+)$"
)
_RELATIVE = re.compile(
    r"\b(?P<word>(?i:the day before yesterday|yesterday|today|tonight|tomorrow|"
    r"last night|this morning|this afternoon|this evening))\b"
)
_SINCE_BEFORE = re.compile(r"\b(?i:since|ever since)\s+(?:(?i:the|early|late|mid)\s+)?$")

# Tense cues: the cue nearest before a mention decides (then the words right after it).
_FUTURE_CUE = (
    r"will|won't|wont|'ll|’ll|shall|would|is to|are to|set to|is due|are due|scheduled|slated|"
    r"expected|poised|plans? to|planned for|planning to|aims? to|intends? to|going to|upcoming|"
    r"next|coming|starts|begins|starting|beginning|takes effect|expires|resumes|kicks off|"
    r"convenes|"
    r"to (?:start|begin|meet|hold|resume|take effect|take place|visit|travel|sign|host|open|"
    r"launch|expire|end|vote|arrive|attend|convene|gather|announce|present|deliver|speak|"
    r"address|release|free|swap|exchange|hand over|talk|hold talks|come into force|last|"
    r"run|continue|reopen|return)"
)
_PAST_IRREGULAR = (
    r"said|told|met|began|begun|held|took|taken|spoke|spoken|went|gone|was|were|had|did|saw|"
    r"seen|gave|given|made|struck|won|left|came|sent|broke|broken|fell|fought|led|brought|"
    r"bought|caught|thought|sought|hit|shot|rose|ran|wrote|written|flew|drew|threw|stood|"
    r"became|got|kept|lost|paid|put|read|set off|sat|sold|spent|swept|took|tore|understood|"
    r"woke|ago|earlier|supposed|meant"
)
_CUE = re.compile(
    r"(?i:\b(?P<unmet>(?:was|were|had been) (?:supposed|meant) to(?: \w+)?)\b|"
    rf"\b(?P<future>{_FUTURE_CUE})\b|\b(?P<past>{_PAST_IRREGULAR}|[a-z]{{2,}}ed)\b)"
)
_NOT_PAST_ED = frozenset(
    {"need", "speed", "united", "hundred", "red", "bed", "feed", "seed", "shed",
     "proceed", "exceed", "succeed", "indeed", "breed", "greed", "weed", "creed",
     "embed", "wed", "naked", "sacred", "wicked", "kindred", "ahmed", "mohammed",
     "muhammed", "based", "scheduled", "expected", "planned", "slated", "poised"}
)  # fmt: skip
_WORD_AFTER_FUTURE = re.compile(r"^\W{0,3}(?i:will|is to|are to|is set|are set|is due)\b")


@dataclass(frozen=True, slots=True)
class _Raw:
    start: int
    end: int
    kind: str  # "explicit" | "weekday" | "relative" | "ordinal"
    match: re.Match[str]


def find_dates(sentence: str, published: datetime.datetime) -> list[DateMention]:
    """All date expressions in ``sentence``, resolved against ``published``, in text order."""
    text = sentence[:_MAX_SENTENCE]
    today = _utc_date(published)
    raws = _scan(text)
    mentions: list[DateMention] = []
    prev_end = 0
    for raw in raws:
        since_mod = raw.kind == "weekday" and (raw.match.group("mod") or "").lower() == "since"
        if raw.kind == "weekday" and _NAMED_DAY.search(text[max(0, raw.start - 12) : raw.start]):
            prev_end = raw.end
            continue
        if since_mod or _SINCE_BEFORE.search(text[max(0, raw.start - 20) : raw.start]):
            prev_end = raw.end
            continue
        resolved = _resolve(text, raw, prev_end, today)
        prev_end = raw.end
        if resolved is None:
            continue
        day, scheduled = resolved
        mentions.append(
            DateMention(
                date=day,
                start=raw.start,
                end=raw.end,
                surface=text[raw.start : raw.end],
                scheduled=scheduled,
            )
        )
    return mentions


def event_date(
    sentences: Sequence[str],
    published: datetime.datetime,
    focus: Sequence[int] = (),
) -> datetime.date | None:
    """The date of the story's event, or None when no sentence carries a usable date.

    Looks first at the ``focus`` sentences (in the order given), then at sentence 0 (the
    title by convention), then at every sentence in order. Mentions more than 60 days before
    or a year after publication are background ("the February 24, 2022 invasion") and are
    skipped. Within a sentence, a date that only stamps a statement ("said on Tuesday that
    the truce would start Friday") gives way to another date in the same sentence.
    Never defaults to ``published``: that choice is the caller's.
    """
    order: list[int] = []
    for index in (*focus, 0, *range(len(sentences))):
        if 0 <= index < len(sentences) and index not in order:
            order.append(index)
    today = _utc_date(published)
    for index in order:
        sentence = sentences[index]
        usable = [
            m
            for m in find_dates(sentence, published)
            if today - _MAX_PAST <= m.date <= today + _MAX_FUTURE
        ]
        if not usable:
            continue
        substantive = [m for m in usable if not _is_reporting_stamp(sentence, m)]
        return (substantive or usable)[0].date
    return None


# --------------------------------------------------------------------------- scanning


def _scan(text: str) -> list[_Raw]:
    found: list[_Raw] = []
    for pattern, kind in (
        (_ISO, "explicit"),
        (_MONTH_DAY, "explicit"),
        (_DAY_MONTH, "explicit"),
        (_ORDINAL_DAY, "ordinal"),
        (_RELATIVE, "relative"),
        (_WEEKDAY, "weekday"),
    ):
        found.extend(_Raw(m.start(), m.end(), kind, m) for m in pattern.finditer(text))
    found.sort(key=lambda r: (r.start, -(r.end - r.start)))
    kept: list[_Raw] = []
    for raw in found:
        if kept and raw.start < kept[-1].end:
            continue  # overlaps an earlier (or longer) mention
        kept.append(raw)
    # A weekday glued to an explicit date ("Friday, March 10") adds nothing and may disagree.
    result: list[_Raw] = []
    for i, raw in enumerate(kept):
        if raw.kind == "weekday":
            nxt = kept[i + 1] if i + 1 < len(kept) else None
            prv = kept[i - 1] if i > 0 else None
            if nxt is not None and nxt.kind == "explicit" and nxt.start - raw.end <= 3:
                continue
            if prv is not None and prv.kind == "explicit" and raw.start - prv.end <= 3:
                continue
        result.append(raw)
    return result


# --------------------------------------------------------------------------- resolving


def _resolve(
    text: str, raw: _Raw, prev_end: int, today: datetime.date
) -> tuple[datetime.date, bool] | None:
    m = raw.match
    if raw.kind == "relative":
        word = m.group("word").lower()
        offsets = {"the day before yesterday": -2, "yesterday": -1, "last night": -1,
                   "tomorrow": 1}  # fmt: skip
        offset = offsets.get(word, 0)
        scheduled = offset > 0 or (offset == 0 and _is_scheduled(text, raw, prev_end))
        return today + datetime.timedelta(days=offset), scheduled
    if raw.kind == "weekday":
        return _resolve_weekday(text, raw, prev_end, today)
    scheduled = _is_scheduled(text, raw, prev_end)
    if raw.kind == "ordinal":
        return _resolve_ordinal(int(m.group(1)), scheduled, today)
    if m.re is _ISO:
        day = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return None if day is None else (day, scheduled or day > today)
    month = _MONTHS[m.group("month").lower().rstrip(".")]
    day_number = int(m.group("day"))
    year_text = m.group(3)
    if year_text:
        day = _make_date(int(year_text), month, day_number)
        return None if day is None else (day, scheduled or day > today)
    return _resolve_month_day(month, day_number, scheduled, today)


def _resolve_weekday(
    text: str, raw: _Raw, prev_end: int, today: datetime.date
) -> tuple[datetime.date, bool]:
    m = raw.match
    target = _WEEKDAYS.index(m.group("day").lower())
    modifier = (m.group("mod") or "").lower()
    if modifier == "last":
        back = (today.weekday() - target) % 7 or 7
        return today - datetime.timedelta(days=back), False
    if modifier in ("next", "coming", "this coming"):
        ahead = (target - today.weekday()) % 7 or 7
        return today + datetime.timedelta(days=ahead), True
    scheduled = _is_scheduled(text, raw, prev_end) or (
        modifier in ("by", "until", "till") and not _past_cue_before(text, raw, prev_end)
    )
    if scheduled:
        return today + datetime.timedelta(days=(target - today.weekday()) % 7), True
    return today - datetime.timedelta(days=(today.weekday() - target) % 7), False


def _resolve_ordinal(
    day_number: int, scheduled: bool, today: datetime.date
) -> tuple[datetime.date, bool] | None:
    if scheduled and day_number < today.day:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    elif not scheduled and day_number > today.day:
        year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    else:
        year, month = today.year, today.month
    day = _make_date(year, month, day_number)
    return None if day is None else (day, scheduled)


def _resolve_month_day(
    month: int, day_number: int, scheduled: bool, today: datetime.date
) -> tuple[datetime.date, bool] | None:
    candidates = [
        d for y in (today.year - 1, today.year, today.year + 1)
        if (d := _make_date(y, month, day_number)) is not None
    ]  # fmt: skip
    if not candidates:
        return None
    if scheduled:
        soon = today - datetime.timedelta(days=1)
        ahead = min((d for d in candidates if d >= soon), default=None)
        if ahead is not None and (ahead - today).days <= _MAX_SCHEDULED_AHEAD:
            return ahead, True
        # A month-day nearly a year ahead is more often a past event with a missed tense.

    # Nearest to publication; a future date counts double (past tense is the default).
    def distance(d: datetime.date) -> int:
        delta = (d - today).days
        return delta * 2 if delta > 0 else -delta

    best = min(candidates, key=distance)
    return best, best > today


def _is_scheduled(text: str, raw: _Raw, prev_end: int) -> bool:
    """Is the event at this mention in the future? The nearest tense cue before it decides."""
    before = text[max(prev_end, raw.start - 80) : raw.start]
    cue = _last_cue(before)
    if cue is not None:
        return cue == "future"
    after = text[raw.end : raw.end + 30]
    return bool(_WORD_AFTER_FUTURE.search(after))


def _past_cue_before(text: str, raw: _Raw, prev_end: int) -> bool:
    return _last_cue(text[max(prev_end, raw.start - 80) : raw.start]) == "past"


def _last_cue(before: str) -> str | None:
    last: str | None = None
    for cue in _CUE.finditer(before):
        if cue.group("unmet"):
            last = "past"  # "was supposed to start Friday": the intended day has passed
        elif cue.group("future"):
            last = "future"
        elif cue.group("past").lower() not in _NOT_PAST_ED:
            # "to be freed Friday", "will be signed on Monday": a passive after "be" is ahead
            prefix = before[: cue.start()].rstrip().lower()
            last = "future" if prefix.endswith(" be") or prefix == "be" else "past"
    return last


_REPORTING_STAMP = re.compile(
    r"(?i:\b(?:said|says|told|announced|stated|claimed|added|wrote|tweeted|reported|"
    r"confirmed|insisted|warned|noted)\b)\s*(?:(?i:on|late|early)\s+)?$"
)
_REPORTING_AFTER = re.compile(r"^\s*(?:(?i:night|morning|evening|afternoon)\s+)?(?:that\b|,)")


def _is_reporting_stamp(sentence: str, mention: DateMention) -> bool:
    """Does this date only say when something was said ("said on Tuesday that ...")?"""
    before = sentence[max(0, mention.start - 40) : mention.start]
    after = sentence[mention.end : mention.end + 20]
    return bool(_REPORTING_STAMP.search(before)) and bool(_REPORTING_AFTER.search(after))


# --------------------------------------------------------------------------- helpers


def _utc_date(published: datetime.datetime) -> datetime.date:
    if published.tzinfo is not None:
        published = published.astimezone(datetime.UTC)
    return published.date()


def _make_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None

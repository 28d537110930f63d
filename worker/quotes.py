"""Quote finding and speaker attribution. Pure regex work: no I/O, linear-ish time.

A quote is a passage in double quotes (straight, curly, low-high „“) or guillemets of at
least four words, or in single curly quotes of at least eight words. Shorter quoted
phrases (scare quotes: "meaningful", "political settlement") are kept only when an
attribution follows them directly (“No,” he said).

The speaker is looked for, in order:

1. right after the quote: ``“...,” Zelensky wrote`` / ``“...,” said John Kirby, a
   spokesman`` / ``“...,” National Security Council spokesman John Kirby said`` /
   ``“...,” according to the ministry``;
2. before the quote in the same sentence: ``Xi told Zelensky that China will “...”`` /
   ``According to the Chinese Foreign Ministry, China will “...”`` / ``The Russian Foreign
   Ministry ..., saying “...”`` (the subject of a sentence whose verb is "saying");
3. when the quote opens its sentence with no attribution: the speaker of a quote in the
   previous sentence, else the one who "said" something in the previous sentence.

Speaker names lose titles ("President", "Foreign Minister", "spokesman", "Mr") and
determiners, and a one-word name becomes the longest full name in the text that starts or
ends with it ("Zelensky" -> "Volodymyr Zelensky", "Xi" -> "Xi Jinping"). "he"/"she"
resolve to the previous named speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.models import Quote

__all__ = ["find_quotes"]

_MAX_TEXT = 400_000  # characters examined; longer inputs are truncated
_MAX_QUOTE = 3_000
_MIN_WORDS = 4
_MIN_WORDS_SINGLE = 8
_PRE_WINDOW = 300
_POST_WINDOW = 200

_QUOTE_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(rf"“([^“”\n]{{1,{_MAX_QUOTE}}})[”\"]"), False),
    (re.compile(rf"„([^„“”\n]{{1,{_MAX_QUOTE}}})[“”]"), False),
    (re.compile(rf"\"([^\"“”\n]{{1,{_MAX_QUOTE}}})[\"”]"), False),
    (re.compile(rf"«\s?([^«»\n]{{1,{_MAX_QUOTE}}})»"), False),
    # Single curly quotes: an apostrophe (’ followed by a letter) does not close them.
    (re.compile(rf"(?<!\w)‘((?:[^‘’\n]|’(?=\w)){{1,{_MAX_QUOTE}}}?)’(?!\w)"), True),
)

_VERBS = (
    r"said|says|say|told|tells|wrote|writes|added|adds|stated|declared|declares|"
    r"announced|announces|tweeted|tweets|posted|insisted|insists|warned|warns|noted|"
    r"explained|explains|argued|argues|claimed|stressed|urged|urges|asked|"
    r"asks|replied|continued|remarked|acknowledged|admitted|conceded|cautioned|"
    r"emphasi[sz]ed|emphasi[sz]es|underlined|pointed out|recalled|complained|vowed|pledged|"
    r"promised|confirmed|suggested|predicted|concluded|answered|responded|commented|"
    r"observed|reiterated|maintained|contended|lamented|revealed|reveals|recounted|recounts|"
    r"testified|joked|quipped|shouted|admits|wrote on \w+|posted on \w+"
)
_PARTICIPLES = (
    r"saying|adding|writing|telling|warning|noting|insisting|stressing|arguing|claiming|"
    r"declaring|calling|describing|urging|vowing|promising|explaining"
)
_VERB_RE = re.compile(rf"\b(?:{_VERBS})\b")
_PARTICIPLE_RE = re.compile(rf"\b(?:{_PARTICIPLES})\b")
_ACCORDING = re.compile(r"\b[Aa]ccording to\s+")
_PRONOUN = re.compile(r"^(?:he|she|He|She)$")

_TOKEN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ſ][\w'’.\-]*|\d+|[^\w\s]")
_PARTICLES = frozenset(
    {"al", "el", "bin", "ibn", "bint", "abu", "de", "da", "del", "der", "di", "du", "la",
     "le", "van", "von", "ter", "den", "dos", "das", "y", "ould"}
)  # fmt: skip
_TITLES = frozenset(
    {"president", "vice", "prime", "minister", "secretary", "spokesman", "spokeswoman",
     "spokesperson", "ambassador", "envoy", "chancellor", "premier", "general", "gen",
     "gen.", "adm", "adm.", "admiral", "chief", "head", "leader", "director", "deputy",
     "official", "officials", "adviser", "advisor", "commander", "mr", "mr.", "mrs", "mrs.",
     "ms", "ms.", "dr", "dr.", "prof", "prof.", "sen", "sen.", "senator", "rep", "rep.",
     "gov", "gov.", "governor", "mayor", "chairman", "chairwoman", "chair", "coordinator",
     "negotiator", "mediator", "representative", "counterpart", "diplomat", "lawmaker",
     "analyst", "correspondent", "reporter", "editor", "professor", "expert", "researcher",
     "fellow", "officer", "commissioner", "lt", "lt.", "col", "col.", "maj", "maj.",
     "capt", "capt.", "sgt", "sgt.", "boss", "speaker", "founder", "ceo", "owner", "chairperson",
     "former", "acting", "interim", "senior", "top",
     "foreign", "defence", "defense", "press", "national", "security", "state", "prince",
     "crown", "sheikh", "emir"}
)  # fmt: skip
# Title words that only count as titles when lowercase or followed by a name (they also
# begin organisation names: "National Security Council", "State Department").
_WEAK_TITLES = frozenset(
    {"foreign", "defence", "defense", "press", "national", "security", "state", "senior",
     "top", "former", "acting", "interim", "vice", "prime", "crown"}
)  # fmt: skip
_DEPARTMENTS = frozenset(
    {"state", "defense", "defence", "foreign", "affairs", "interior", "justice", "treasury",
     "commerce", "energy", "health", "finance", "security", "homeland", "war", "the", "and",
     "agriculture", "education", "labor", "labour", "trade", "information", "staff"}
)  # fmt: skip
_STOPWORDS = frozenset(
    {"the", "a", "an", "on", "in", "at", "but", "and", "also", "meanwhile", "however",
     "later", "earlier", "then", "when", "while", "after", "before", "separately",
     "speaking", "asked", "as", "if", "despite", "according", "now", "yet", "so", "this",
     "that", "these", "those", "it", "he", "she", "they", "we", "i", "our", "his", "her",
     "their", "its", "for", "to", "of", "with", "by", "from", "monday", "tuesday",
     "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
     "march", "april", "june", "july", "august", "september", "october", "november",
     "december", "twitter", "facebook", "telegram", "instagram", "tv", "television"}
)  # fmt: skip
_ORG_WORDS = frozenset(
    {"ministry", "house", "council", "office", "department", "government", "party", "army",
     "forces", "force", "union", "nations", "organization", "organisation", "agency",
     "committee", "bureau", "foundation", "institute", "university", "times", "post",
     "news", "press", "kremlin", "commission", "court", "assembly", "parliament", "senate",
     "congress", "administration", "embassy", "group", "front", "movement", "brigades",
     "republic", "kingdom", "states", "service", "services", "network", "channel",
     "agreement", "plan", "talks", "war", "crisis", "call", "deal"}
)  # fmt: skip
# Lowercase institution nouns that may end a speaker phrase after a capitalised word
# ("the Sudanese army", "Russia's foreign ministry", "the Egyptian presidency").
_INSTITUTIONS = frozenset(
    {"army", "military", "presidency", "government", "ministry", "cabinet", "embassy",
     "delegation", "mission", "office", "council", "parliament", "militia", "movement",
     "authorities", "police", "command", "junta", "administration", "leadership",
     "politburo", "bureau", "secretariat", "court", "navy", "forces"}
)  # fmt: skip
_PREPOSITIONS = frozenset(
    {"in", "at", "from", "of", "with", "by", "for", "to", "on", "near", "across", "inside",
     "outside", "into", "over", "under", "about", "against", "between", "among", "than"}
)  # fmt: skip
_TERMINAL = frozenset(".!?")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int  # opening mark
    end: int  # just after closing mark
    inner_start: int
    inner_end: int
    single: bool


def find_quotes(text: str) -> list[Quote]:
    """Quoted passages of ``text`` with their speakers, in text order, deduplicated."""
    text = text[:_MAX_TEXT]
    spans = _find_spans(text)
    if not spans:
        return []
    masked = _mask(text, spans)
    names = _full_names(masked)
    boundaries = _sentence_starts(masked)
    quotes: list[Quote] = []
    seen: set[str] = set()
    last_speaker: str | None = None
    prev: tuple[_Span, str | None] | None = None
    for span in spans:
        body = " ".join(text[span.inner_start : span.inner_end].split()).strip(" ,;:")
        words = len(body.split())
        attributed, raw = _after(masked, span, boundaries)
        long_enough = words >= (_MIN_WORDS_SINGLE if span.single else _MIN_WORDS)
        if not long_enough and raw is None:
            continue  # a scare-quoted phrase, not something somebody said
        if not attributed:
            raw = _before(masked, span, boundaries)
            if raw is None:
                raw = _previous(masked, span, boundaries, prev)
        speaker = _canonical(raw, names, last_speaker, masked, boundaries, span)
        if speaker is not None:
            last_speaker = speaker
        prev = (span, speaker)
        key = body.casefold().rstrip(".!?…")
        if not body or key in seen:
            continue
        seen.add(key)
        quotes.append(Quote(speaker=speaker, text=body))
    return quotes


# --------------------------------------------------------------------------- quote spans


def _find_spans(text: str) -> list[_Span]:
    found: list[_Span] = []
    for pattern, single in _QUOTE_PATTERNS:
        for m in pattern.finditer(text):
            found.append(_Span(m.start(), m.end(), m.start(1), m.end(1), single))
    found.sort(key=lambda s: (s.start, -s.end))
    kept: list[_Span] = []
    for span in found:
        if kept and span.start < kept[-1].end:
            continue  # nested or overlapping: the outer/earlier quote wins
        kept.append(span)
    return kept


def _mask(text: str, spans: list[_Span]) -> str:
    """Quote contents become 'x' (a final . ! or ? is kept so sentence ends stay visible)."""
    parts: list[str] = []
    pos = 0
    for span in spans:
        inner = text[span.inner_start : span.inner_end].rstrip()
        last = inner[-1:] if inner[-1:] in _TERMINAL else ""
        length = span.inner_end - span.inner_start
        parts.append(text[pos : span.inner_start])
        parts.append("x" * (length - len(last)) + last)
        pos = span.inner_end
    parts.append(text[pos:])
    return "".join(parts)


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[”\"’»)\]]*\s+(?=[“\"‘«(\[]|[A-Z0-9])|\n+")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gen|Lt|Col|Maj|Capt|Sgt|Gov|Sen|Rep|Rev|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|No|vs|U\.S|U\.K|U\.N|E\.U)|\b[A-Z])\.$"
)


def _sentence_starts(masked: str) -> list[int]:
    starts = [0]
    for m in _SENTENCE_BREAK.finditer(masked):
        head = masked[max(0, m.start() - 8) : m.start()].rstrip('”"’»)] ')
        if "\n" not in m.group(0) and _ABBREV.search(head):
            continue
        starts.append(m.end())
    return starts


def _sentence_start(boundaries: list[int], pos: int) -> int:
    lo, hi = 0, len(boundaries)
    while lo < hi:  # last boundary <= pos
        mid = (lo + hi) // 2
        if boundaries[mid] <= pos:
            lo = mid + 1
        else:
            hi = mid
    return boundaries[lo - 1] if lo else 0


def _sentence_end(boundaries: list[int], pos: int, limit: int) -> int:
    lo, hi = 0, len(boundaries)
    while lo < hi:  # first boundary > pos
        mid = (lo + hi) // 2
        if boundaries[mid] <= pos:
            lo = mid + 1
        else:
            hi = mid
    return min(boundaries[lo], limit) if lo < len(boundaries) else limit


# --------------------------------------------------------------------------- attribution


_AFTER_VERB_FIRST = re.compile(rf"^[\s,—–-]*(?:{_VERBS})\s+(?P<rest>.*)$", re.S)
_AFTER_ACCORDING = re.compile(r"^[\s,—–-]*according to\s+(?P<rest>.*)$", re.S)
_PHRASE_END = re.compile(r"[,.;:!?]|\s(?:on|in|at|during|after|to|via|who|which|when|while)\b")
_AFTER_FOLLOW = re.compile(
    r"^\s*(?:[.,;!?]|$|(?:on|in|at|during|after|to|of|via|later|earlier|last|this|from|"
    r"before|when|while|yesterday|today|late|early|who|which|adding|as|and|but|told|"
    r"said|says|wrote|added)\b)"
)


def _after(masked: str, span: _Span, boundaries: list[int]) -> tuple[bool, str | None]:
    """Attribution right after the quote: (an attribution clause follows, raw speaker).

    The speaker is None for unnamed sources ("a senior official said").
    """
    skip = span.end
    while skip < len(masked) and masked[skip] in " \t":
        skip += 1
    stop = _sentence_end(boundaries, skip, span.end + _POST_WINDOW)
    nl = masked.find("\n", span.end, stop)
    post = masked[span.end : nl if nl >= 0 else stop]
    ended = masked[span.inner_start : span.inner_end].rstrip()[-1:] in _TERMINAL
    m = _AFTER_VERB_FIRST.match(post) or _AFTER_ACCORDING.match(post)
    if m is not None:
        rest = m.group("rest")
        first = rest.split(" ", 1)[0].strip(",.")
        if _PRONOUN.match(first):
            return True, first
        np, used = _forward_np(rest)
        if ended and not _AFTER_FOLLOW.match(rest[used:]):
            return False, None
        if np is not None and not _AFTER_FOLLOW.match(rest[used:]):
            # "said Hamas' political bureau chief Ismail Haniyeh": the name after the title;
            # "says UK education secretary": a description, no name.
            phrase = _PHRASE_END.split(rest, 1)[0]
            picked = _name_suffix([tok for tok, _, _ in _tokens(phrase)])
            if len(phrase.split()) <= 10 and any(_is_title(tok) for tok in picked):
                return True, _clean_np(picked)
            return True, None
        return np is not None, np
    verb = _VERB_RE.search(post, 0, 160)
    if verb is None:
        return False, None
    head = post[: verb.start()].strip(" ,—–-")
    if not head or "“" in head or '"' in head or len(head.split()) > 8:
        return False, None
    told = verb.group(0) in ("told", "tells")  # "Blinken told reporters."
    if ended and not told and not _AFTER_FOLLOW.match(post[verb.end() :]):
        return False, None
    if "," in head:
        head = head.split(",", 1)[0]  # "Kirby, a spokesman for the council, said"
    if _PRONOUN.match(head):
        return True, head
    np, used = _forward_np(head)
    if not head[used:].strip(" ."):
        return True, np  # the whole head is a name or a description ("a senior official")
    tail = [tok for tok, _, _ in _tokens(head)]
    picked = _name_suffix(tail)
    if any(_is_title(tok) for tok in picked):
        return True, _clean_np(picked)  # "Qatari foreign ministry spokesman Majed al-Ansari"
    return False, None  # not an attribution clause ("but did not confirm Russian claims")


def _before(masked: str, span: _Span, boundaries: list[int]) -> str | None:
    start = max(_sentence_start(boundaries, span.start), span.start - _PRE_WINDOW)
    nl = masked.rfind("\n", start, span.start)
    pre = masked[(nl + 1 if nl >= 0 else start) : span.start]
    if not pre.strip(' “"‘«'):
        return None
    return _attribution_in(pre)


def _attribution_in(pre: str) -> str | None:
    """The speaker of a clause that introduces reported speech, from its text."""
    verbs = list(_VERB_RE.finditer(pre))
    according = list(_ACCORDING.finditer(pre))
    participles = list(_PARTICIPLE_RE.finditer(pre))
    last_verb = verbs[-1].start() if verbs else -1
    last_acc = according[-1].start() if according else -1
    last_part = participles[-1].start() if participles else -1
    best = max(last_verb, last_acc, last_part)
    if best < 0:
        return None
    if best == last_acc:
        phrase = pre[according[-1].end() :].split(",", 1)[0]
        return _whole_np(phrase)
    if best == last_verb:
        head = pre[:last_verb].rstrip()
        if head.endswith(","):  # "Kirby, a spokesman, said": skip the apposition
            inner = head[:-1].rfind(",")
            if inner >= 0 and len(head) - inner <= 100:
                head = head[:inner]
        last_word = head.rsplit(None, 1)[-1] if head.split() else ""
        if _PRONOUN.match(last_word):
            return last_word
        return _backward_np(head)
    # "..., saying": the sentence subject speaks.
    if not pre[:last_part].rstrip().endswith((",", "—", "–")):
        return None  # "to file a brief saying ...": only ", saying" points at the subject
    return _subject(pre[:last_part])


_LEADING_ADVERBIAL = re.compile(
    r"^\s*(?:On|In|At|During|After|Before|Meanwhile|However|Later|Earlier|Separately|Also|"
    r"But|And|Yet|Still|Speaking|Asked|Despite|Following|Late|Early)\b[^,]{0,80},\s*"
)


_IRREGULAR_VERBS = frozenset(
    {"threw", "said", "told", "has", "had", "have", "was", "were", "is", "are", "made",
     "held", "sent", "took", "gave", "spoke", "met", "went", "came", "put", "set", "hit",
     "struck", "broke", "led", "left", "won", "lost", "fought", "sought", "brought",
     "wrote", "will", "would", "could", "can", "may", "might", "must", "should", "did",
     "does", "also", "again", "then", "on", "in", "at", "late", "early", "once"}
)  # fmt: skip


def _subject(clause: str) -> str | None:
    """The sentence subject, when a verb follows it ("The Sudanese army rejected ...")."""
    clause = _LEADING_ADVERBIAL.sub("", clause, count=1)
    np, used = _forward_np(clause)
    following = clause[used:].split(None, 1)
    nxt = following[0].lower().strip(",") if following else ""
    if nxt.endswith(("ed", "s")) or nxt in _IRREGULAR_VERBS or nxt == ",":
        return np
    return None


def _previous(
    masked: str, span: _Span, boundaries: list[int], prev: tuple[_Span, str | None] | None
) -> str | None:
    """A quote opening its sentence: the previous sentence's speaker."""
    start = _sentence_start(boundaries, span.start)
    if masked[start : span.start].strip(' “"‘«'):
        return None  # the quote is inside its sentence: no attribution was found there
    if start == 0:
        return None
    prev_start = _sentence_start(boundaries, start - 1)
    if _title_case(masked[prev_start:start]):
        return None  # a headline is not an attribution
    if prev is not None and prev[0].end > prev_start and prev[1] is not None:
        return prev[1]
    return _attribution_in(masked[prev_start:start])


# --------------------------------------------------------------------------- noun phrases


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Word and punctuation tokens; a final period stays only on short abbreviations."""
    out: list[tuple[str, int, int]] = []
    for m in _TOKEN.finditer(text):
        tok, start, end = m.group(0), m.start(), m.end()
        if tok.endswith(".") and len(tok.rstrip(".")) > 3 and tok.count(".") == 1:
            tok, end = tok[:-1], end - 1
        while len(tok) > 1 and tok[-1] in "'’" and not tok.endswith(("s'", "s’")):
            tok, end = tok[:-1], end - 1  # a closing single quote glued to the word
        out.append((tok, start, end))
    return out


def _is_name_token(tok: str) -> bool:
    return tok[:1].isupper() or tok.lower() in _PARTICLES or tok.lower().startswith(("al-", "el-"))


def _allowed_lower(tok: str) -> bool:
    low = tok.lower()
    return (
        low in _TITLES
        or low in _PARTICLES
        or low in _INSTITUTIONS
        or low.startswith(("al-", "el-"))
    )


def _forward_np(text: str) -> tuple[str | None, int]:
    """The name phrase at the start of ``text`` and how many characters it used."""
    tokens: list[str] = []
    used = 0
    for tok, start, end in _tokens(text):
        if text[used:start].strip():
            break
        if not (tok[:1].isalpha() and (_is_name_token(tok) or _allowed_lower(tok))) and not (
            not tokens and tok.lower() in ("the", "a", "an")
        ):
            break
        tokens.append(tok)
        used = end
    return _clean_np(tokens), used


def _name_suffix(tokens: list[str]) -> list[str]:
    """The longest run of name-like tokens ending the list ("Secretary of State X Y")."""
    picked: list[str] = []
    i = len(tokens) - 1
    while i >= 0:
        tok = tokens[i]
        namelike = tok[:1].isalpha() and (_is_name_token(tok) or _allowed_lower(tok))
        # "of" inside a title: "Secretary of State Antony Blinken"
        title_of = tok in ("of", "for") and i > 0 and _is_title(tokens[i - 1])
        if not (namelike or title_of):
            break
        picked.append(tok)
        i -= 1
    picked.reverse()
    return picked


def _backward_np(text: str) -> str | None:
    tokens = [tok for tok, _, _ in _tokens(text[-200:])]
    picked = _name_suffix(tokens)
    before = tokens[len(tokens) - len(picked) - 1] if len(picked) < len(tokens) else ""
    if before.lower() in _PREPOSITIONS:
        return None  # "officials in Washington said": Washington is not the speaker
    return _clean_np(picked)


def _whole_np(text: str) -> str | None:
    """``text`` as a name phrase, or None if it holds anything else."""
    np, used = _forward_np(text.strip())
    return np if np is not None and not text.strip()[used:].strip(" .,") else None


def _is_title(tok: str) -> bool:
    return any(p in _TITLES and p not in _WEAK_TITLES for p in tok.lower().split("-"))


def _clean_np(tokens: list[str]) -> str | None:
    tokens = [t for t in tokens if t]
    while tokens and tokens[0].lower() in ("the", "a", "an"):
        tokens = tokens[1:]
    # Drop everything up to the last title word ("National Security Council spokesman John
    # Kirby" -> "John Kirby"), then "of State"-like remnants ("Secretary of State X").
    last_title = -1
    for i, tok in enumerate(tokens):
        if _is_title(tok):
            last_title = i
    if last_title >= 0:
        tokens = tokens[last_title + 1 :]
        while tokens and tokens[0].lower() in ("of", "for", "the"):
            tokens = tokens[1:]
            while len(tokens) > 1 and tokens[0].lower() in _DEPARTMENTS:
                tokens = tokens[1:]
    tokens = [_strip_possessive(t) for t in tokens]
    while tokens and tokens[0].lower() in _STOPWORDS:
        tokens = tokens[1:]
    while tokens and (tokens[-1].lower() in _STOPWORDS or tokens[-1].lower() in _PARTICLES):
        tokens = tokens[:-1]
    if not tokens or not any(t[:1].isupper() for t in tokens):
        return None
    return " ".join(tokens)


def _strip_possessive(tok: str) -> str:
    return tok[:-2] if tok.endswith(("'s", "’s")) else tok


# --------------------------------------------------------------------------- full names


_RUN_PARTICLE = (
    r"(?:al|el)-[A-Za-z][\w\-]*|(?:al|el|bin|ibn|abu|de|van|von|da|del|der|di|du|le|la)(?![\w-])"
)
_RUN = re.compile(
    rf"\b(?:[A-Z][\w'’.\-]*|{_RUN_PARTICLE})(?:[ \t]+(?:[A-Z][\w'’.\-]*|{_RUN_PARTICLE}))*"
)
_LINE_SENTENCE = re.compile(r"[^.!?\n]+")


def _full_names(masked: str) -> list[tuple[str, ...]]:
    """Person-like names (2 to 4 tokens, titles removed) found outside title-case lines."""
    names: list[tuple[str, ...]] = []
    for piece in _LINE_SENTENCE.finditer(masked):
        sentence = piece.group(0)
        if _title_case(sentence):
            continue
        for run in _RUN.finditer(sentence):
            tokens = [t[:-1] if t.endswith(".") and len(t) > 4 else t for t in run.group(0).split()]
            cleaned: list[str] = []
            for tok in tokens:
                if tok.endswith(("'s", "’s")):
                    cleaned = []  # "China’s Xi Jinping": the possessor is not the name
                    continue
                cleaned.append(tok)
            name = _clean_np(cleaned)
            if name is None:
                continue
            parts = tuple(name.split())
            while len(parts) > 2 and parts[0].lower() in _DEPARTMENTS:
                parts = parts[1:]  # "State Antony Blinken" from "Secretary of State ..."
            if not 2 <= len(parts) <= 4:
                continue
            if any(p.lower() in _ORG_WORDS or p.lower() in _STOPWORDS for p in parts):
                continue
            names.append(parts)
    return names


def _title_case(sentence: str) -> bool:
    words = re.findall(r"[A-Za-z][\w'’\-]*", sentence)
    if len(words) < 4:
        return False
    upper = sum(1 for w in words if w[0].isupper())
    return upper / len(words) >= 0.75


def _canonical(
    raw: str | None,
    names: list[tuple[str, ...]],
    last: str | None,
    masked: str,
    boundaries: list[int],
    span: _Span,
) -> str | None:
    if raw is None:
        return None
    if _PRONOUN.match(raw):
        return last if last is not None else _previous_subject(masked, boundaries, span, names)
    parts = raw.split()
    if len(parts) != 1:
        return raw
    word = parts[0]
    pool = [n for n in names if n[-1] == word] or [n for n in names if n[0] == word]
    if not pool:
        return raw
    best: tuple[str, ...] = max(pool, key=len)
    return " ".join(best)


def _previous_subject(
    masked: str, boundaries: list[int], span: _Span, names: list[tuple[str, ...]]
) -> str | None:
    """ "he said" with no earlier speaker: a person who is the previous sentence's subject."""
    start = _sentence_start(boundaries, span.start)
    if start == 0:
        return None
    previous = masked[_sentence_start(boundaries, start - 1) : start]
    if _title_case(previous):
        return None
    speaker = _attribution_in(previous)
    if speaker is not None and not _PRONOUN.match(speaker):
        return _canonical(speaker, names, None, masked, boundaries, span)
    subject = _subject(previous)
    if subject is None:
        return None
    parts = tuple(subject.split())
    if parts in names:
        return subject
    if len(parts) == 1:
        return (
            _canonical(subject, names, None, masked, boundaries, span)
            if any(parts[0] in (n[0], n[-1]) for n in names)
            else None
        )
    return None

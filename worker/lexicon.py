"""The mediation lexicon: settlement, facilitation, appeal, rejection and negative-context cues.

The vocabulary lives in ``worker/data/lexicon.toml`` (read once, via importlib.resources);
this module compiles it so a text is scanned in a single left-to-right pass::

    lexicon = Lexicon.default()
    for cue in lexicon.scan("Qatar brokers a truce in Gaza"):
        cue.term.category, cue.term.name, cue.text   # "facilitate", "broker", "brokers" ...

Cue categories (see the TOML file for the full story): ``void`` (look-alikes such as
"olympic truce" that swallow the cue they contain), ``negative`` (context of labour, court,
trade, climate... stories; ``term.domain`` names which), ``settle`` (ceasefire, peace talks,
prisoner swap, restore ties), ``facilitate`` (broker, mediate, envoy, talks in Doha),
``process`` (talks, negotiations: weak on their own), ``appeal`` (call for, urge),
``reject`` (reject, collapse, violate) and ``conflict`` (war, rebels; rivals, tensions).

``Lexicon.extended(terms, venues=...)`` adds user terms (config) to the packaged ones;
``Lexicon.may_matter(text)`` is a cheap test that a text holds any gating cue at all.
Scanning is fast because each pattern is indexed by the first letters it can start with
(derived from the parsed regex) and each gating pattern by a substring every match holds.

``Lexicon.event_pattern(event)`` gives a compiled pattern per contract event type
(``ceasefire``, ``proposal``, ``agreement``, ``offer``, ``envoy``, ``appeal``, ``rejection``,
``breakdown``, ``talks``, ``meeting``) for stages that want the same vocabulary.
Pure: no I/O except reading the packaged data file once.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from worker.errors import ConfigError

CATEGORIES: Final = (
    "void",
    "negative",
    "settle",
    "facilitate",
    "process",
    "appeal",
    "reject",
    "conflict",
)
"""Cue categories in priority order: at one position, an earlier category wins."""

_PRIORITY: Final = {name: index for index, name in enumerate(CATEGORIES)}
_LINE_BREAK = re.compile(r"\n[ \t]*")


@dataclass(frozen=True, slots=True)
class Term:
    """One lexicon entry: a named group of patterns with one meaning."""

    name: str
    category: str
    weight: float
    event: str | None = None
    domain: str | None = None
    gate: bool = False  # a text without any gating cue cannot be about mediation


@dataclass(frozen=True, slots=True)
class Cue:
    """One occurrence of a term in a text (offsets into the text given to ``scan``)."""

    term: Term
    start: int
    end: int
    text: str


# Typographic apostrophes and dashes read as their ASCII forms (one character each).
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "–": "-", "—": "-", "‐": "-", "‑": "-"})


def _lower_same_length(text: str) -> str:
    """Lower-case ``text`` keeping every offset valid (rare characters are left alone)."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(ch if len(low := ch.lower()) != 1 else low for ch in text)
    return lowered.translate(_TYPOGRAPHY)


_PREFIX = 5  # dispatch on up to this many leading word characters
_GATE = 12  # gate substrings are up to this long
_OPEN = "\x00"  # marks a partial prefix: the match goes on with something not enumerated
_SHORT_HEAD = 3  # gate keys whose first word is shorter than _PREFIX are indexed by this many
_MAX_PREFIXES = 20000
_TOKEN = re.compile(r"\b(\w{1,5})")
_NON_WORD = re.compile(r"\W")
_NON_WORDS = re.compile(r"[\W_]+")


def _class_chars(items: Any) -> set[str] | None:
    """The characters a character class can match, or None when too many to list."""
    chars: set[str] = set()
    for op, value in items:
        name = str(op)
        if name == "LITERAL":
            chars.add(chr(value))
        elif name == "RANGE" and value[1] - value[0] <= 64:
            chars.update(chr(code) for code in range(value[0], value[1] + 1))
        elif name == "CATEGORY" and str(value) == "CATEGORY_DIGIT":
            chars.update("0123456789")
        else:
            return None
    return chars


def _extend(heads: set[str], tails: set[str], size: int) -> set[str] | None:
    out = {h for h in heads if len(h) >= size}
    out.update((h + t)[:size] for h in heads if len(h) < size for t in tails)
    return out if len(out) <= _MAX_PREFIXES else None


def _item_prefixes(op: Any, value: Any, size: int) -> set[str] | None:
    """What one parsed regex item can match, cut to ``size`` characters; None: unknown."""
    name = str(op)
    if name == "LITERAL":
        return {chr(value)}
    if name == "IN":
        return _class_chars(value)
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return {""}
    if name == "SUBPATTERN":
        return _prefixes(value[-1], size)
    if name == "ATOMIC_GROUP":
        return _prefixes(value, size)
    if name == "BRANCH":
        union: set[str] = set()
        for alternative in value[1]:
            found = _prefixes(alternative, size)
            if found is None:
                return None
            union |= found
        return union
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = value
        once = _prefixes(sub, size)
        if once is None:
            return None
        level: set[str] | None = {""}
        accepted: set[str] = {""} if low == 0 else set()
        for count in range(1, min(max(low, size), high) + 1):
            level = _extend(level, once, size) if level is not None else None
            if level is None:
                return None
            if count >= low:
                accepted |= level
        if high > max(low, size) and level is not None:
            accepted |= level
        return accepted
    return None


def _prefixes(items: Any, size: int, *, partial: bool = False) -> set[str] | None:
    """Every possible start of a match of parsed ``items``, cut to ``size`` characters.

    With ``partial``, an item that cannot be enumerated ends the prefixes early instead
    of giving up (each is then still a substring of every match).
    """
    heads: set[str] | None = {""}
    for op, value in items:
        assert heads is not None
        if all(len(h) >= size for h in heads):
            break
        tails = _item_prefixes(op, value, size)
        if tails is None:
            if not partial or "" in heads:
                return None
            return {h if len(h) >= size else h + _OPEN for h in heads}
        heads = _extend(heads, tails, size)
        if heads is None:
            return None
    return heads


# Frequent words make poor gate keys: a gating phrase is keyed on its rarest-looking word.
_COMMON_WORDS = (
    "the a an and or of to in on at by for from with as is are was were be been has have had "
    "will would can could may might must should this that these those its their his her our "
    "your it he she they we you not no new more most over after before about into than then "
    "also just only back last take make made come plan play free want seek step stop end hand "
    "push tell say says said war deal agreement between border trade down"
)
_COMMON = frozenset(_COMMON_WORDS.split())


def _ends_non_word(items: Any) -> bool:
    """Whether every match of parsed ``items`` ends with a non-word character."""
    items = list(items)
    if not items:
        return False
    op, value = items[-1]
    name = str(op)
    if name == "LITERAL":
        return not (chr(value).isalnum() or chr(value) == "_")
    if name == "SUBPATTERN":
        return _ends_non_word(value[-1])
    if name == "BRANCH":
        return all(_ends_non_word(alternative) for alternative in value[1])
    return False


def _word_starts_at(items: list[Any], index: int) -> bool:
    """Whether item ``index`` of a parsed sequence always begins a word."""
    back = index - 1
    while back >= 0:
        op, value = items[back]
        name = str(op)
        if name == "LITERAL":
            return not (chr(value).isalnum() or chr(value) == "_")
        if name in ("MAX_REPEAT", "MIN_REPEAT") and value[0] == 0 and _ends_non_word(value[2]):
            back -= 1
            continue
        return False
    return True


def _keys_of(prefixes: set[str] | None) -> set[str] | None:
    if not prefixes:
        return None
    keys = {_NON_WORD.split(prefix, maxsplit=1)[0] for prefix in prefixes}
    return None if "" in keys else keys


def _parse(fragment: str) -> list[Any] | None:
    try:
        import re._parser as sre_parser  # private, so used defensively

        return list(sre_parser.parse(fragment))
    except Exception:  # pragma: no cover - a future parser with another shape
        return None


def _prefix_set(fragment: str) -> tuple[int, set[str]] | None:
    """Dispatch keys of ``fragment``: (size, keys), the word characters (at most ``size``)
    a match can start with, cut at the first non-word character; None when they cannot be
    told. A key shorter than ``size`` is a whole word; one of ``size`` characters starts one.

    Only a speed-up: a fragment whose keys are unknown is tried at every word.
    """
    items = _parse(fragment)
    if items is None:
        return None
    for size in range(_PREFIX, 1, -1):
        keys = _keys_of(_prefixes(items, size))
        if keys is not None:
            return size, keys
    return None


def _gate_form(text: str) -> str:
    """Text as the gate sees it: lower case, every run of non-word characters one space."""
    return _NON_WORDS.sub(" ", text.lower())


def _gate_key(prefix: str) -> str:
    """A prefix of a match in gate form; a whole match ending in a letter gets the space
    that must follow it (the gate puts one at the end of every text too)."""
    if prefix.endswith(_OPEN):
        return _gate_form(prefix[:-1])
    form = _gate_form(prefix)
    if len(prefix) < _GATE and form[-1:].isalnum():
        form += " "
    return form


def _gate_set(fragment: str) -> set[str] | None:
    """Substrings (in gate form) one of which every match of ``fragment`` contains, taken
    where they look least common; None when none can be told."""
    items = _parse(fragment)
    if items is None:
        return None
    best: tuple[tuple[int, int, int, int], set[str]] | None = None
    for index in range(len(items)):
        found = _prefixes(items[index:], _GATE, partial=True)
        if not found or "" in found:
            continue
        lead = " " if index == 0 or _word_starts_at(items, index) else ""
        keys = {lead + _gate_key(key) for key in found}
        if any(not key.strip() for key in keys):
            continue
        words = {key.split()[0] for key in keys}
        rank = (
            int(bool(lead)),  # a whole word can be looked up by its head; a word part cannot
            -sum(word in _COMMON for word in words),
            min(min(len(word) for word in words), 5),
            -len(words),
        )
        if best is None or rank > best[0]:
            best = (rank, keys)
    return None if best is None else best[1]


@cache
def _packaged_data() -> dict[str, Any]:
    source = resources.files("worker.data").joinpath("lexicon.toml")
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:  # pragma: no cover - packaging error
        raise ConfigError(f"cannot read the packaged lexicon: {exc}") from exc


class Lexicon:
    """Compiled cue patterns. Build with :meth:`default`, :meth:`from_toml` or the constructor.

    Scanning dispatches on the first character of each word to a pattern holding only the
    fragments that can start with it, so a text costs one short match per word.
    """

    def __init__(
        self, terms: Iterable[tuple[Term, Sequence[str]]], *, venues: Sequence[str] = ()
    ) -> None:
        venue_alternation = "|".join(re.escape(v.lower()) for v in venues if v.strip()) or "(?!)"
        entries: list[tuple[Term, list[str]]] = []
        for term, patterns in terms:
            if term.category not in _PRIORITY:
                raise ConfigError(f"lexicon term {term.name!r}: unknown category {term.category!r}")
            fragments = [
                _LINE_BREAK.sub("", p).replace("{venues}", venue_alternation)
                for p in patterns
                if p.strip()
            ]
            if not fragments:
                raise ConfigError(f"lexicon term {term.name!r} has no patterns")
            for fragment in fragments:
                try:
                    compiled = re.compile(fragment)
                except re.error as exc:
                    raise ConfigError(
                        f"lexicon term {term.name!r}: bad pattern {fragment!r}: {exc}"
                    ) from exc
                if compiled.groups:
                    raise ConfigError(
                        f"lexicon term {term.name!r}: use (?:...) instead of capturing "
                        f"groups in {fragment!r}"
                    )
            entries.append((term, fragments))
        entries.sort(key=lambda item: _PRIORITY[item[0].category])  # stable within a category
        self.terms: tuple[Term, ...] = tuple(term for term, _ in entries)
        self._groups: dict[str, Term] = {}
        starts: list[list[tuple[str, tuple[int, set[str]] | None]]] = []
        for index, (term, fragments) in enumerate(entries):
            self._groups[f"t{index}"] = term
            starts.append([(fragment, _prefix_set(fragment)) for fragment in fragments])
        # dispatch key (first word characters) -> indices of the fragments that can start so
        self._fragments: list[tuple[int, str]] = []  # (term index, fragment), priority order
        by_key: dict[str, set[int]] = {}
        by_head: dict[int, dict[str, set[int]]] = {}  # keys shorter than _PREFIX: word heads
        wild: set[int] = set()
        gate_keys: set[str] = set()
        gate_wild = False
        for term_index, group in enumerate(starts):
            gating = self.terms[term_index].gate
            for fragment, found in group:
                fragment_index = len(self._fragments)
                self._fragments.append((term_index, fragment))
                if found is None:
                    wild.add(fragment_index)
                else:
                    size, keys = found
                    for key in keys:
                        table = by_key if len(key) < size or size == _PREFIX else None
                        if table is None:
                            table = by_head.setdefault(size, {})
                        table.setdefault(key, set()).add(fragment_index)
                if gating:
                    word_keys = _gate_set(fragment)
                    if word_keys is None:
                        gate_wild = True
                    else:
                        gate_keys.update(word_keys)
        # A token's set also holds the fragments keyed on a head of it.
        for key, members in by_key.items():
            for size, table in by_head.items():
                if len(key) >= size:
                    members |= table.get(key[:size], set())
        self._wild = frozenset(wild)
        self._by_key = {key: frozenset(found | wild) for key, found in by_key.items()}
        self._by_head = [
            (size, {key: frozenset(found | wild) for key, found in table.items()})
            for size, table in sorted(by_head.items(), reverse=True)
        ]
        self._compiled: dict[frozenset[int], re.Pattern[str]] = {}
        # Gate substrings: drop any that contains a shorter one (it can add nothing).
        ordered = sorted(gate_keys, key=len)
        minimal: list[str] = []
        for key in ordered:
            if not any(shorter in key for shorter in minimal):
                minimal.append(key)
        self._gate: tuple[str, ...] | None = None if gate_wild else tuple(minimal)
        # Keys that begin a word are indexed by the head (first letters) of that word,
        # so a text only tries the keys whose head it has; the others are always tried.
        loose: list[str] = []
        heads: dict[int, dict[str, list[str]]] = {}
        for key in minimal:
            word = key[1:].split(" ", 1)[0] if key.startswith(" ") else ""
            size = _PREFIX if len(word) >= _PREFIX else _SHORT_HEAD
            if len(word) >= size:
                heads.setdefault(size, {}).setdefault(word[:size], []).append(key)
            else:
                loose.append(key)
        self._gate_loose = tuple(loose)
        self._gate_index = tuple(sorted(heads.items(), reverse=True))
        by_event: dict[str, list[str]] = {}
        by_category: dict[str, list[str]] = {}
        for term, fragments in entries:
            by_category.setdefault(term.category, []).extend(fragments)
            if term.event:
                by_event.setdefault(term.event, []).extend(fragments)
        self._events = {
            event: re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE)
            for event, alts in by_event.items()
        }
        self._categories = {
            category: re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE)
            for category, alts in by_category.items()
        }

    # -- construction -----------------------------------------------------------------
    @classmethod
    @cache
    def default(cls) -> Lexicon:
        """The packaged lexicon (``worker/data/lexicon.toml``), loaded and compiled once."""
        return cls.from_mapping(_packaged_data())

    @classmethod
    def extended(
        cls, terms: Sequence[Mapping[str, Any]] = (), *, venues: Sequence[str] = ()
    ) -> Lexicon:
        """The packaged lexicon plus user ``[[term]]`` tables and venues (from the config)."""
        data = _packaged_data()
        return cls.from_mapping(
            {
                "venues": [*data.get("venues", []), *venues],
                "term": [*data.get("term", []), *(dict(t) for t in terms)],
            }
        )

    @classmethod
    def from_toml(cls, text: str) -> Lexicon:
        """A lexicon from TOML text in the format of ``worker/data/lexicon.toml``."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"lexicon is not valid TOML: {exc}") from exc
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Lexicon:
        """A lexicon from already parsed TOML data (``venues`` and ``term`` tables)."""
        raw_terms = data.get("term", [])
        venues = data.get("venues", [])
        if not isinstance(raw_terms, list) or not isinstance(venues, list):
            raise ConfigError("lexicon: 'term' must be an array of tables, 'venues' a list")
        terms: list[tuple[Term, Sequence[str]]] = []
        for index, raw in enumerate(raw_terms):
            if not isinstance(raw, dict):
                raise ConfigError(f"lexicon: term #{index + 1} is not a table")
            name = str(raw.get("name") or f"term-{index + 1}")
            patterns = raw.get("patterns")
            if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
                raise ConfigError(f"lexicon term {name!r}: 'patterns' must be a list of strings")
            weight = raw.get("weight", 1.0)
            if not isinstance(weight, int | float) or isinstance(weight, bool):
                raise ConfigError(f"lexicon term {name!r}: 'weight' must be a number")
            event = raw.get("event")
            domain = raw.get("domain")
            category = str(raw.get("category", ""))
            term = Term(
                name=name,
                category=category,
                weight=float(weight),
                event=str(event) if event else None,
                domain=str(domain) if domain else None,
                gate=bool(raw.get("gate", category in ("settle", "facilitate"))),
            )
            if term.category == "negative" and not term.domain:
                raise ConfigError(f"lexicon term {name!r}: negative terms need a 'domain'")
            terms.append((term, patterns))
        return cls(terms, venues=[str(v) for v in venues])

    # -- use ------------------------------------------------------------------------------
    def _pattern_for(self, fragments: frozenset[int]) -> re.Pattern[str]:
        """The compiled alternation of some fragments, grouped by term, in priority order."""
        pattern = self._compiled.get(fragments)
        if pattern is None:
            by_term: dict[int, list[str]] = {}
            for index in sorted(fragments):
                term_index, fragment = self._fragments[index]
                by_term.setdefault(term_index, []).append(fragment)
            parts = [f"(?P<t{t}>{'|'.join(f)})" for t, f in sorted(by_term.items())]
            pattern = re.compile("(?:" + "|".join(parts) + r")\b")
            self._compiled[fragments] = pattern
        return pattern

    def may_matter(self, text: str) -> bool:
        """False when ``text`` surely holds no gating cue (settle, facilitate, talks, peace).

        A cheap test (a few substring searches) for skipping the full scan.
        """
        if self._gate is None:
            return True
        form = " " + _gate_form(text) + " "
        if any(key in form for key in self._gate_loose):
            return True
        words = form.split()
        for size, table in self._gate_index:
            heads = {word[:size] for word in words}
            for head in heads.intersection(table):
                if any(key in form for key in table[head]):
                    return True
        return False

    def scan(self, text: str) -> list[Cue]:
        """Every cue in ``text``, left to right, non-overlapping (case-insensitive)."""
        lowered = _lower_same_length(text)
        by_key = self._by_key
        by_head = self._by_head
        wild = self._wild
        groups = self._groups
        compiled = self._compiled
        cues: list[Cue] = []
        resume = 0
        for token in _TOKEN.finditer(lowered):
            start = token.start()
            if start < resume:
                continue
            key = token.group(1)
            candidates = by_key.get(key)
            if candidates is None:
                for size, table in by_head:
                    found = table.get(key[:size]) if len(key) >= size else None
                    if found:
                        candidates = found if candidates is None else candidates | found
                if candidates is None:
                    candidates = wild
            if not candidates:
                continue
            pattern = compiled.get(candidates) or self._pattern_for(candidates)
            match = pattern.match(lowered, start)
            if match is None or match.lastgroup is None:
                continue
            resume = match.end()
            cues.append(Cue(groups[match.lastgroup], start, resume, text[start:resume]))
        return cues

    @property
    def fully_indexed(self) -> bool:
        """Whether every pattern got dispatch keys and the gate is active (the fast path).

        A pattern whose start cannot be enumerated (say one opening with ``\\w+``) is tried
        at every word, and a gating pattern without a required substring disables the gate:
        both still work, only slower.
        """
        return not self._wild and self._gate is not None

    def event_pattern(self, event: str) -> re.Pattern[str] | None:
        """A case-insensitive pattern for the cues that suggest ``event``, if any."""
        return self._events.get(event)

    def category_pattern(self, category: str) -> re.Pattern[str] | None:
        """A case-insensitive pattern for every cue of ``category``, if any."""
        return self._categories.get(category)

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(sorted(self._events))

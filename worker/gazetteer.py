"""Who is named in a text: states, organisations, armed groups, their capitals and leaders.

The gazetteer maps surface forms ("Beijing", "the Kremlin", "Xi", "Qatari") to contract
actor ids ("CN", "RU", "QA") and knows the conflicts those actors are parties to. Its data
lives in ``worker/data/gazetteer.toml`` and ``worker/data/conflicts.toml``; users can add
actors from their config with :meth:`Gazetteer.with_extra`.

Matching (:meth:`Gazetteer.mentions`) is one compiled regular expression built as a
character trie over every surface, so a text is scanned once, left to right, longest
match first, on word boundaries. Matching is case-sensitive as the data writes each
surface: "US" never matches "us", "Turkey" never matches "turkey". Possessives ("China's")
and curly apostrophes are handled; a leading "the" also matches "The"; surfaces of four
letters or more also match in capitals ("UKRAINE").
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

from worker.errors import ConfigError

ActorKind = Literal["state", "org", "nonstate"]
Via = Literal["name", "alias", "demonym", "capital", "institution", "person"]

_KINDS: tuple[ActorKind, ...] = ("state", "org", "nonstate")
_SECTIONS: tuple[tuple[str, ActorKind], ...] = (
    ("states", "state"),
    ("orgs", "org"),
    ("nonstate", "nonstate"),
)
_FIELDS: tuple[tuple[str, Via], ...] = (
    ("aliases", "alias"),
    ("capitals", "capital"),
    ("institutions", "institution"),
    ("demonyms", "demonym"),
)
# Surnames that are ordinary words or too common to stand for one person.
_SURNAME_STOP_TEXT = """
    Ahmed Ali Hassan Hussein Khan Kim Lee Li Wang Zhang Park Martin Price Wallace
    Cohen Miller Burns Wu Chen Mohamed Mohammed Muhammad Abdullah Ibrahim Smith
    Johnson Garcia Rodriguez Fernandez Costa Michel Wong Hammer Malley Austin Henry
    Sall Arce Reda Thani
"""
_SURNAME_STOP = frozenset(_SURNAME_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    name: str
    kind: ActorKind


@dataclass(frozen=True, slots=True)
class Mention:
    actor: str  # contract actor id: "CN", "UA", "un", "hamas"
    start: int  # char offsets in the searched text
    end: int
    surface: str  # the matched text
    via: Via
    person: str | None = None  # canonical person name when via == "person"
    role: str | None = None  # e.g. "President", "Foreign Minister"


@dataclass(frozen=True, slots=True)
class Conflict:
    name: str
    sides: tuple[frozenset[str], frozenset[str]]
    cues: tuple[str, ...]
    primary: tuple[str, ...] = ()  # parties implied when only the conflict is named
    dyad: bool = True  # False: implied by a cue only, never by the two sides alone
    allies: frozenset[str] = frozenset()  # backers of a side: never its mediators by appeal
    defaults: frozenset[str] = frozenset()  # actors that, named alone, mean this conflict

    def side_of(self, actor: str) -> int | None:
        """0 or 1 when ``actor`` is on a side of this conflict, else None."""
        if actor in self.sides[0]:
            return 0
        if actor in self.sides[1]:
            return 1
        return None


@dataclass(frozen=True, slots=True)
class _Target:
    actor: str | None  # None: a blocker phrase, matched and dropped
    via: Via
    person: str | None = None
    role: str | None = None


@dataclass(slots=True)
class _Person:
    name: str
    actor: str
    role: str | None
    aliases: list[str] = field(default_factory=list)
    surname: bool = True


@dataclass(slots=True)
class _Spec:
    """Everything the gazetteer is built from (plain data, before compiling)."""

    actors: dict[str, Actor] = field(default_factory=dict)
    surfaces: dict[str, list[tuple[str, Via]]] = field(default_factory=dict)
    people: list[_Person] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


# ---------------------------------------------------------------------------- surfaces

_APOSTROPHES = "'’ʼ‘"
_DASHES = "-‐‑–—"
_KEY_SPACE = re.compile(r"\s+")
_KEY_APOS = re.compile(f"[{_APOSTROPHES}]")
_KEY_DASH = re.compile(f"[{_DASHES}]")


def _key(text: str) -> str:
    """Normalise a surface or a matched text for lookup (spacing, quotes and dashes)."""
    text = _KEY_APOS.sub("'", text)
    text = _KEY_DASH.sub("-", text)
    return _KEY_SPACE.sub(" ", text.strip())


def _atoms(surface: str) -> tuple[str, ...]:
    out: list[str] = []
    for ch in surface:
        if ch.isspace():
            out.append(r"\s+")
        elif ch in _APOSTROPHES:
            out.append(f"[{_APOSTROPHES}]")
        elif ch in _DASHES:
            out.append("[-‐‑–]")
        else:
            out.append(re.escape(ch))
    return tuple(out)


def _variants(surface: str) -> set[str]:
    """The case forms a surface matches: as written, capitalised, and ALL CAPS if long."""
    forms = {surface}
    if surface[:1].islower():
        forms.add(surface[0].upper() + surface[1:])
    letters = sum(1 for c in surface if c.isalpha())
    if letters >= 4 and any(c.islower() for c in surface):
        forms.add(surface.upper())
    return forms


class _Trie:
    __slots__ = ("children", "terminal")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.terminal = False

    def add(self, atoms: Sequence[str]) -> None:
        node = self
        for atom in atoms:
            node = node.children.setdefault(atom, _Trie())
        node.terminal = True

    def pattern(self) -> str:
        if not self.children:
            return ""
        alternatives = [atom + child.pattern() for atom, child in sorted(self.children.items())]
        if len(alternatives) == 1 and not self.terminal:
            return alternatives[0]
        body = "(?:" + "|".join(alternatives) + ")"
        return body + "?" if self.terminal else body


# ---------------------------------------------------------------------------- loading


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return [v.strip() for v in value if v.strip()]


def _add_actor(
    spec: _Spec, actor_id: str, body: Mapping[str, Any], kind: ActorKind, where: str
) -> None:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    existing = spec.actors.get(actor_id)
    if existing is None:
        spec.actors[actor_id] = Actor(actor_id, name.strip(), kind)
    spec.surfaces.setdefault(name.strip(), []).append((actor_id, "name"))
    for key, via in _FIELDS:
        for surface in _str_list(body.get(key), f"{where}.{key}"):
            spec.surfaces.setdefault(surface, []).append((actor_id, via))
            if via == "demonym" and surface[-1] in "ni" and " " not in surface:
                spec.surfaces.setdefault(surface + "s", []).append((actor_id, via))
    for i, raw in enumerate(body.get("people") or []):
        _add_person(spec, raw, f"{where}.people[{i}]", default_actor=actor_id)


def _add_person(spec: _Spec, raw: Any, where: str, *, default_actor: str | None = None) -> None:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table with 'name'")
    name = raw.get("name")
    actor = raw.get("actor", default_actor)
    role = raw.get("role")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    if not isinstance(actor, str) or not actor:
        raise ConfigError(f"{where} ({name}): 'actor' must be an actor id")
    if role is not None and not isinstance(role, str):
        raise ConfigError(f"{where} ({name}): 'role' must be a string")
    surname = raw.get("surname", True)
    if not isinstance(surname, bool):
        raise ConfigError(f"{where} ({name}): 'surname' must be true or false")
    spec.people.append(
        _Person(
            name=name.strip(),
            actor=actor,
            role=role,
            aliases=_str_list(raw.get("aliases"), f"{where}.aliases"),
            surname=surname,
        )
    )


def _load_toml(filename: str) -> dict[str, Any]:
    text = resources.files("worker.data").joinpath(filename).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - packaged data
        raise ConfigError(f"worker/data/{filename}: {exc}") from exc


def _load_conflicts(data: Mapping[str, Any]) -> list[Conflict]:
    out: list[Conflict] = []
    for i, raw in enumerate(data.get("conflict", [])):
        where = f"conflicts.toml conflict[{i}]"
        name = raw.get("name")
        sides = raw.get("sides")
        if not isinstance(name, str) or not isinstance(sides, list) or len(sides) != 2:
            raise ConfigError(f"{where}: needs 'name' and two 'sides'")
        side_a = frozenset(_str_list(sides[0], f"{where}.sides"))
        side_b = frozenset(_str_list(sides[1], f"{where}.sides"))
        primary = _str_list(raw.get("primary"), f"{where}.primary")
        if not primary:
            primary = [s[0] for s in (sides[0], sides[1]) if s]
        out.append(
            Conflict(
                name=name,
                sides=(side_a, side_b),
                cues=tuple(_str_list(raw.get("cues"), f"{where}.cues")),
                primary=tuple(primary),
                dyad=bool(raw.get("dyad", True)),
                allies=frozenset(_str_list(raw.get("allies"), f"{where}.allies")),
                defaults=frozenset(_str_list(raw.get("defaults"), f"{where}.defaults")),
            )
        )
    return out


def _default_spec() -> _Spec:
    data = _load_toml("gazetteer.toml")
    spec = _Spec()
    for section, kind in _SECTIONS:
        for actor_id, body in data.get(section, {}).items():
            _add_actor(spec, actor_id, body, kind, f"gazetteer.toml [{section}.{actor_id}]")
    for i, raw in enumerate(data.get("person", [])):
        _add_person(spec, raw, f"gazetteer.toml person[{i}]")
    spec.blockers = _str_list(data.get("blockers", {}).get("phrases"), "blockers")
    spec.regions = _str_list(data.get("regions", {}).get("names"), "regions")
    spec.conflicts = _load_conflicts(_load_toml("conflicts.toml"))
    return spec


def _copy_spec(spec: _Spec) -> _Spec:
    return _Spec(
        actors=dict(spec.actors),
        surfaces={k: list(v) for k, v in spec.surfaces.items()},
        people=[_Person(p.name, p.actor, p.role, list(p.aliases), p.surname) for p in spec.people],
        blockers=list(spec.blockers),
        regions=list(spec.regions),
        conflicts=list(spec.conflicts),
    )


# ---------------------------------------------------------------------------- gazetteer

_CUE_SEP = re.compile(r"[\s\-‐‑–—]+")


def _cue_key(cue: str) -> str:
    """Lookup form of a phrase: lower case, separators collapsed, straight apostrophes."""
    return " ".join(p for p in _CUE_SEP.split(_KEY_APOS.sub("'", cue.strip().lower())) if p)


def _phrase_regex(keys: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive trie pattern over phrases given by their ``_cue_key``."""
    trie = _Trie()
    for key in keys:
        atoms: list[str] = []
        for ch in key:
            if ch == " ":
                atoms.append(r"[\s\-‐‑–—]+")
            elif ch == "'":
                atoms.append(f"[{_APOSTROPHES}]")
            else:
                atoms.append(re.escape(ch))
        if atoms:
            trie.add(atoms)
    if not trie.children:
        return None
    return re.compile(r"(?<!\w)(?:" + trie.pattern() + r")(?!\w)", re.IGNORECASE)


class Gazetteer:
    """Actors, their surface forms and the conflicts between them. Immutable once built."""

    def __init__(self, spec: _Spec) -> None:
        self._spec = spec
        self._actors = dict(spec.actors)
        self._targets: dict[str, _Target] = {}
        self._build_targets()
        trie = _Trie()
        for form in self._targets:
            trie.add(_atoms(form))
        self._regex = re.compile(r"(?<!\w)(?:" + trie.pattern() + r")(?!\w)")
        self._conflicts = tuple(spec.conflicts)
        # One pattern over every cue (longest first); a matched cue maps back to the
        # conflicts that list it.
        self._cue_owners: dict[str, list[int]] = {}
        for index, conflict in enumerate(self._conflicts):
            for cue in conflict.cues:
                owners = self._cue_owners.setdefault(_cue_key(cue), [])
                if index not in owners:
                    owners.append(index)
        self._cue_regex = _phrase_regex(self._cue_owners)
        self._region_names = {_cue_key(r): r for r in reversed(spec.regions)}
        self._region_regex = _phrase_regex(self._region_names)

    def _claim(self, surface: str, target: _Target, *, override: bool = False) -> None:
        for form in _variants(surface):
            key = _key(form)
            if override or key not in self._targets:
                self._targets[key] = target

    def _build_targets(self) -> None:
        spec = self._spec
        # Blockers first: they win any tie with an actor surface of the same text.
        for phrase in spec.blockers:
            self._claim(phrase, _Target(None, "name"))
        order: dict[Via, int] = {
            "name": 0,
            "alias": 1,
            "capital": 2,
            "institution": 3,
            "demonym": 4,
            "person": 5,
        }
        for surface, claims in spec.surfaces.items():
            # The last actor to claim a surface keeps it (user extensions come last);
            # among its claims, the strongest kind wins ("name" over "capital").
            actor = claims[-1][0]
            via = min((c[1] for c in claims if c[0] == actor), key=order.__getitem__)
            self._claim(surface, _Target(actor, via))
        for person in spec.people:
            target = _Target(person.actor, "person", person.name, person.role)
            for surface in (person.name, *person.aliases):
                self._claim(surface, target)
        surname_owner: dict[str, set[str]] = {}
        for person in spec.people:
            parts = person.name.split()
            if person.surname and len(parts) > 1:
                surname_owner.setdefault(parts[-1], set()).add(person.actor)
        for person in spec.people:
            parts = person.name.split()
            if not person.surname or len(parts) < 2:
                continue
            last = parts[-1]
            if len(last) < 4 or last in _SURNAME_STOP or len(surname_owner[last]) > 1:
                continue
            self._claim(last, _Target(person.actor, "person", person.name, person.role))

    # -- construction -------------------------------------------------------------------

    @classmethod
    def default(cls) -> Gazetteer:
        """The packaged gazetteer (loaded and compiled once per process)."""
        return _default_gazetteer()

    def with_extra(self, actors: Sequence[Mapping[str, Any]]) -> Gazetteer:
        """A new gazetteer with user actors added (or existing ones extended).

        Each entry: ``{id, name, kind, aliases=[...], demonyms=[...], capitals=[...],
        institutions=[...], people=[{name, role, aliases}]}``. A bad entry raises
        :class:`ConfigError` naming it.
        """
        if not actors:
            return self
        spec = _copy_spec(self._spec)
        for i, raw in enumerate(actors):
            label = raw.get("id") if isinstance(raw, Mapping) else None
            where = f"gazetteer actor #{i + 1}" + (f" ({label!r})" if label else "")
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{where}: expected a table")
            actor_id = raw.get("id")
            if not isinstance(actor_id, str) or not re.fullmatch(r"[A-Za-z0-9][\w-]*", actor_id):
                raise ConfigError(f"{where}: 'id' must be an actor id such as 'QA' or 'hamas'")
            kind = raw.get(
                "kind", self._actors[actor_id].kind if actor_id in self._actors else None
            )
            if kind not in _KINDS:
                raise ConfigError(f"{where}: 'kind' must be one of {', '.join(_KINDS)}")
            unknown = set(raw) - {
                "id",
                "name",
                "kind",
                "aliases",
                "demonyms",
                "capitals",
                "institutions",
                "people",
            }
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            body = dict(raw)
            if "name" not in body and actor_id in self._actors:
                body["name"] = self._actors[actor_id].name
            if not isinstance(body.get("people", []), list):
                raise ConfigError(f"{where}: 'people' must be a list of tables")
            _add_actor(spec, actor_id, body, cast(ActorKind, kind), where)
        return Gazetteer(spec)

    # -- queries ------------------------------------------------------------------------

    def actor(self, actor_id: str) -> Actor | None:
        return self._actors.get(actor_id)

    @property
    def actors(self) -> Mapping[str, Actor]:
        return self._actors

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        return self._conflicts

    def conflict(self, name: str) -> Conflict | None:
        for conflict in self._conflicts:
            if conflict.name == name:
                return conflict
        return None

    def mentions(self, text: str) -> list[Mention]:
        """Actor mentions, non-overlapping, left to right, longest match first."""
        out: list[Mention] = []
        targets = self._targets
        for match in self._regex.finditer(text):
            surface = match.group(0)
            target = targets.get(_key(surface))
            if target is None or target.actor is None:
                continue
            out.append(
                Mention(
                    actor=target.actor,
                    start=match.start(),
                    end=match.end(),
                    surface=surface,
                    via=target.via,
                    person=target.person,
                    role=target.role,
                )
            )
        return out

    def regions(self, text: str) -> list[tuple[str, int, int]]:
        """Places that are not actors ("Gaza", "Donbas"): (canonical name, start, end)."""
        if self._region_regex is None:
            return []
        out = []
        for match in self._region_regex.finditer(text):
            name = self._region_names.get(_cue_key(match.group(0)), match.group(0))
            out.append((name, match.start(), match.end()))
        return out

    def cue_positions(self, text: str) -> dict[str, int]:
        """For each conflict named by a cue in ``text``: the offset of its first cue."""
        found: dict[str, int] = {}
        if self._cue_regex is None:
            return found
        for match in self._cue_regex.finditer(text):
            for index in self._cue_owners.get(_cue_key(match.group(0)), ()):
                found.setdefault(self._conflicts[index].name, match.start())
        return found

    def conflicts_in(self, text: str, actors: Iterable[str]) -> list[Conflict]:
        """Conflicts implied by cues in ``text`` or by actors of both sides in ``actors``.

        Ordered: conflicts with both a cue and both sides present first, then by the
        position of the first evidence (a cue, or the mention completing the dyad);
        conflicts whose actors are passed but not found in the text come last, in the
        order of ``actors``.
        """
        ranked = list(dict.fromkeys(actors))
        present = set(ranked)
        first_pos: dict[str, int] | None = None
        cue_at = self.cue_positions(text)
        far = len(text) + 1
        scored: list[tuple[int, int, int, Conflict]] = []
        for index, conflict in enumerate(self._conflicts):
            a = [x for x in conflict.sides[0] if x in present]
            b = [x for x in conflict.sides[1] if x in present]
            dyad = conflict.dyad and bool(a) and bool(b)
            cue = cue_at.get(conflict.name)
            if not dyad and cue is None:
                continue
            if dyad:
                if first_pos is None:
                    first_pos = {}
                    for mention in self.mentions(text):
                        first_pos.setdefault(mention.actor, mention.start)
                pos_a = min(first_pos.get(x, far + ranked.index(x)) for x in a)
                pos_b = min(first_pos.get(x, far + ranked.index(x)) for x in b)
                dyad_pos = max(pos_a, pos_b)
            else:
                dyad_pos = far * 2
            tier = 0 if dyad and cue is not None else 1
            pos = min(dyad_pos, cue if cue is not None else far * 2)
            scored.append((tier, pos, index, conflict))
        scored.sort(key=lambda t: (t[0], t[1], t[2]))
        return [t[3] for t in scored]


@cache
def _default_gazetteer() -> Gazetteer:
    return Gazetteer(_default_spec())

"""The gazetteer: surface forms to actor ids, case rules, conflicts, user extensions."""

from __future__ import annotations

import pytest

from worker.errors import ConfigError
from worker.gazetteer import Gazetteer


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.default()


def _found(gaz: Gazetteer, text: str) -> list[tuple[str, str, str]]:
    return [(m.surface, m.actor, m.via) for m in gaz.mentions(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Case rules: "US" only in capitals; lower-case common words are not countries.
        ("Let us hope the US listens.", [("US", "US", "alias")]),
        ("We ate turkey with a guy called chad.", []),
        ("Turkey's president spoke.", [("Turkey", "TR", "name")]),
        ("THE UKRAINE FILE", [("UKRAINE", "UA", "name")]),
        # Curly and straight possessives.
        ("China’s Xi Jinping", [("China", "CN", "name"), ("Xi Jinping", "CN", "person")]),
        ("China's envoy", [("China", "CN", "name")]),
        # Capitals and seats of government as metonyms, with or without "the".
        (
            "The Kremlin and the White House",
            [("Kremlin", "RU", "capital"), ("White House", "US", "capital")],
        ),
        ("talks in Doha and Jeddah", [("Doha", "QA", "capital"), ("Jeddah", "SA", "capital")]),
        # Longest match wins.
        ("South Sudan and Sudan", [("South Sudan", "SS", "name"), ("Sudan", "SD", "name")]),
        ("Guinea-Bissau, not Guinea", [("Guinea-Bissau", "GW", "name"), ("Guinea", "GN", "name")]),
        (
            "the Democratic Republic of the Congo",
            [("Democratic Republic of the Congo", "CD", "name")],
        ),
        ("the UN Security Council", [("UN Security Council", "un", "alias")]),
        (
            "North Korea and South Korea",
            [("North Korea", "KP", "name"), ("South Korea", "KR", "name")],
        ),
        # Blockers swallow look-alikes.
        ("Latin America and the Washington Post", []),
        # Armed groups and organisations use contract slugs.
        (
            "Ansar Allah and the Rapid Support Forces",
            [("Ansar Allah", "houthis", "alias"), ("Rapid Support Forces", "rsf", "name")],
        ),
        (
            "the African Union and Nato",
            [("African Union", "au", "name"), ("Nato", "nato", "alias")],
        ),
        ("Palestinian Islamic Jihad", [("Palestinian Islamic Jihad", "pij", "name")]),
        # Demonyms, including plurals.
        (
            "Qatari and Emirati officials met Israelis",
            [
                ("Qatari", "QA", "demonym"),
                ("Emirati", "AE", "demonym"),
                ("Israelis", "IL", "demonym"),
            ],
        ),
        # Institutions.
        ("the Chinese Foreign Ministry said", [("Chinese Foreign Ministry", "CN", "institution")]),
    ],
)
def test_mentions(gaz: Gazetteer, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert _found(gaz, text) == expected


@pytest.mark.parametrize(
    ("text", "person", "actor", "role"),
    [
        ("Zelenskyy said", "Volodymyr Zelensky", "UA", "President"),
        ("Blinken flew in", "Antony Blinken", "US", "Secretary of State"),
        ("Hemedti's fighters", "Mohamed Hamdan Dagalo", "rsf", "RSF Commander"),
        ("Mohammed bin Salman hosted", "Mohammed bin Salman", "SA", "Crown Prince"),
        ("Guterres warned", "Antonio Guterres", "un", "Secretary-General"),
        ("Pope Francis prayed", "Pope Francis", "VA", "Pope"),
        ("Kim Jong Un fired", "Kim Jong Un", "KP", "Leader"),
    ],
)
def test_people_resolve_to_their_actor(
    gaz: Gazetteer, text: str, person: str, actor: str, role: str
) -> None:
    mention = gaz.mentions(text)[0]
    assert (mention.via, mention.person, mention.actor, mention.role) == (
        "person",
        person,
        actor,
        role,
    )


def test_offsets_point_at_the_surface(gaz: Gazetteer) -> None:
    text = "Yesterday Egypt and Qatar said so."
    for mention in gaz.mentions(text):
        assert text[mention.start : mention.end] == mention.surface


def test_actor_lookup(gaz: Gazetteer) -> None:
    qatar = gaz.actor("QA")
    assert qatar is not None
    assert (qatar.name, qatar.kind) == ("Qatar", "state")
    hamas = gaz.actor("hamas")
    assert hamas is not None and hamas.kind == "nonstate"
    un = gaz.actor("un")
    assert un is not None and un.kind == "org"
    assert gaz.actor("ZZ") is None


def test_every_un_member_and_the_observers_are_present(gaz: Gazetteer) -> None:
    states = [a for a in gaz.actors.values() if a.kind == "state"]
    assert len(states) >= 197
    for code in ("PS", "VA", "XK", "TW", "SS", "TL", "KN", "VC", "ST", "FM"):
        assert gaz.actor(code) is not None, code


@pytest.mark.parametrize(
    ("text", "actors", "first"),
    [
        ("Hopes rise for a Gaza truce", [], "Israel–Gaza war"),
        ("Saudi Arabia and Iran restore ties", ["SA", "IR"], "Saudi Arabia–Iran rivalry"),
        ("Fighting in Nagorno-Karabakh", [], "Armenia–Azerbaijan conflict"),
        ("Kyiv and Moscow swap prisoners", ["UA", "RU"], "Russia–Ukraine war"),
        ("The army and the RSF agree a pause", ["SD", "rsf"], "Sudan war"),
    ],
)
def test_conflicts_in(gaz: Gazetteer, text: str, actors: list[str], first: str) -> None:
    found = gaz.conflicts_in(text, actors)
    assert found, text
    assert found[0].name == first


def test_no_conflict_for_unrelated_dyads(gaz: Gazetteer) -> None:
    assert gaz.conflicts_in("Japan and Canada hold trade talks", ["JP", "CA"]) == []


def test_conflict_actors_are_known(gaz: Gazetteer) -> None:
    names = [c.name for c in gaz.conflicts]
    assert len(names) == len(set(names))
    for conflict in gaz.conflicts:
        assert conflict.primary, conflict.name
        sides = conflict.sides[0] | conflict.sides[1]
        assert set(conflict.primary) <= sides, conflict.name
        assert set(conflict.defaults) <= sides, conflict.name
        assert not conflict.allies & sides, conflict.name
        for actor in sides | conflict.allies:
            assert gaz.actor(actor) is not None, (conflict.name, actor)


def test_default_is_loaded_once() -> None:
    assert Gazetteer.default() is Gazetteer.default()


def test_with_extra_adds_actors_and_people(gaz: Gazetteer) -> None:
    extra = gaz.with_extra(
        [
            {
                "id": "example-front",
                "name": "Example Liberation Front",
                "kind": "nonstate",
                "aliases": ["ELF"],
                "people": [{"name": "Ada Quillfeather", "role": "Commander"}],
            },
            {"id": "QA", "aliases": ["the Gulf emirate"]},
        ]
    )
    found = _found(extra, "The ELF and the Gulf emirate; Quillfeather agreed")
    assert found == [
        ("ELF", "example-front", "alias"),
        ("the Gulf emirate", "QA", "alias"),
        ("Quillfeather", "example-front", "person"),
    ]
    assert extra.actor("example-front") is not None
    # The original is untouched.
    assert gaz.actor("example-front") is None
    assert _found(gaz, "The ELF") == []


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"name": "No Id"}, "'id'"),
        ({"id": "x y", "name": "Bad Id", "kind": "state"}, "'id'"),
        ({"id": "newgroup", "name": "New Group", "kind": "militia"}, "'kind'"),
        ({"id": "newgroup", "name": "New Group", "kind": "nonstate", "aliases": "NG"}, None),
        ({"id": "newgroup", "name": "New Group", "kind": "nonstate", "aliases": [1]}, "aliases"),
        ({"id": "newgroup", "kind": "nonstate"}, "'name'"),
        ({"id": "newgroup", "name": "New Group", "kind": "nonstate", "colour": "red"}, "colour"),
        ({"id": "newgroup", "name": "New Group", "kind": "nonstate", "people": [{}]}, "'name'"),
    ],
)
def test_with_extra_rejects_bad_entries(
    gaz: Gazetteer, entry: dict[str, object], fragment: str | None
) -> None:
    if fragment is None:  # a single string is accepted as a one-item list
        assert _found(gaz.with_extra([entry]), "NG said") == [("NG", "newgroup", "alias")]
        return
    with pytest.raises(ConfigError) as info:
        gaz.with_extra([entry])
    message = str(info.value)
    assert fragment in message
    assert "gazetteer actor #1" in message


def test_regions_are_places_not_actors(gaz: Gazetteer) -> None:
    names = [name for name, _s, _e in gaz.regions("Shelling in the Gaza Strip and Donbas")]
    assert names == ["Gaza Strip", "Donbas"]
    assert gaz.mentions("Donbas") == []

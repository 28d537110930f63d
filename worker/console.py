"""Human-readable output: rich tables and story panels on a terminal (plain when piped)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=False, highlight=False)
err = Console(stderr=True, highlight=False)


def _join(items: Iterable[Any]) -> str:
    return ", ".join(str(i) for i in items) or "-"


def story_lines(story: Mapping[str, Any]) -> list[str]:
    """A story object as short labelled lines (for `check` without --json)."""
    med = story["mediation"]
    facts = story["facts"]
    lines = [
        f"[bold]{story['title']}[/bold]",
        f"  {story.get('source') or '-'} · {story['published']} · {story.get('url') or ''}",
        f"  label: {med['label']} (score {med['score']:.2f})",
    ]
    if med["label"] == "mediation":
        lines += [
            f"  mediators → parties: {_join(facts['mediators'])} → {_join(facts['parties'])}",
            f"  event: {_join(facts['event_types'])} on {facts['event_date'] or 'unknown date'}",
        ]
        if facts.get("conflict"):
            lines.append(f"  conflict: {facts['conflict']}")
        if facts["people"]:
            people = (
                f"{p['name']} ({p.get('role') or '?'}, {p.get('actor') or '?'})"
                for p in facts["people"]
            )
            lines.append(f"  people: {_join(people)}")
        for quote in facts["quotes"][:3]:
            lines.append(f"  quote: “{quote['text']}” — {quote.get('speaker') or 'unattributed'}")
        for stance in facts["stances"]:
            lines.append(f"  stance: {stance['actor']} {stance['stance']}: {stance['evidence']}")
    for phrase in med["evidence"]:
        lines.append(f"  evidence: {phrase}")
    return lines


def print_story(story: Mapping[str, Any]) -> None:
    for line in story_lines(story):
        out.print(line, markup=True)
    out.print()


def stories_table(stories: Sequence[Mapping[str, Any]], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("published", no_wrap=True)
    table.add_column("source")
    table.add_column("title")
    table.add_column("mediators → parties")
    table.add_column("events")
    table.add_column("score", justify="right")
    for story in stories:
        facts = story["facts"]
        table.add_row(
            str(story["published"])[:16].replace("T", " "),
            story.get("source") or "-",
            story["title"],
            f"{_join(facts['mediators'])} → {_join(facts['parties'])}",
            _join(facts["event_types"]),
            f"{story['mediation']['score']:.2f}",
        )
    return table


def records_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("-" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table

"""How a story reads in an alert: subject lines, plain text, HTML and Slack Block Kit.

Pure functions of the contract's story object (``Story.to_dict()``); no I/O. Every string
that came from a feed (title, source, quotes, evidence, conflict, names) is treated as
hostile:

- plain text: control characters dropped, whitespace collapsed, long text cut with "…";
- HTML: ``html.escape`` on every feed-derived string; a link only for an http(s) URL;
- Slack mrkdwn: ``&``, ``<``, ``>`` escaped (so no ``<!channel>`` or ``<http://x|y>`` can come
  from a feed), formatting characters (``*_~```) replaced by look-alikes so nothing becomes
  bold, italic, struck or code, a zero-width space after ``@`` so no ``@here`` is read as a
  mention, ``verbatim`` text objects (Slack parses no mentions, channels or bare URLs), and a
  link ``<url|text>`` only for an http(s) URL without ``|``, ``<``, ``>`` or whitespace. Each
  section stays within Slack's 3,000 characters, the message within 50 blocks.

Public API (stable; the email and Apprise channels use it)::

    headline(story) -> str            actors_line(story) -> str
    subject(story) -> str             plain_text(story) -> str
    email_html(story) -> str          slack_message(story) -> {"text": ..., "blocks": [...]}
    digest_subject(stories) -> str    digest_text(stories) -> str    digest_html(stories) -> str
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

Story = Mapping[str, Any]

ELLIPSIS: Final = "…"
ARROW: Final = "→"
EMPTY_SIDE: Final = "–"
SUBJECT_PREFIX: Final = "[PeaceWatch]"

SUBJECT_MAX: Final = 200
HEADLINE_MAX: Final = 300
QUOTE_MAX: Final = 500
SPEAKER_MAX: Final = 100
EVIDENCE_MAX: Final = 400
EVIDENCE_ITEMS: Final = 5
FIELD_MAX: Final = 200  # source, conflict, actor ids, event types

SLACK_SECTION_MAX: Final = 3000
SLACK_TEXT_MAX: Final = 3000
SLACK_BLOCKS_MAX: Final = 50
SLACK_CONTEXT_ELEMENTS_MAX: Final = 10

_WS = re.compile(r"\s+")
_URL_FORBIDDEN = re.compile(r"[\s|<>\"'`\\]")
# Slack mrkdwn formatting characters and the look-alikes that show them without formatting.
_SLACK_LOOKALIKE: Final = {"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"}
_ZWSP: Final = "\u200b"


# ---------------------------------------------------------------- cleaning (all formats)


def clean(value: object) -> str:
    """One line of readable text: control/format characters dropped, whitespace collapsed."""
    if value is None:
        return ""
    text = str(value)
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return _WS.sub(" ", kept).strip()


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def _field(value: object, limit: int = FIELD_MAX) -> str:
    return clip(clean(value), limit)


def safe_url(value: object) -> str | None:
    """The URL when it is a plain absolute http(s) URL safe to link; else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > 2048 or _URL_FORBIDDEN.search(url):
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


# ---------------------------------------------------------------- story accessors


def _facts(story: Story) -> Mapping[str, Any]:
    facts = story.get("facts")
    return facts if isinstance(facts, Mapping) else {}


def _ids(values: object) -> list[str]:
    if not isinstance(values, list | tuple):
        return []
    return [c for c in (_field(v, 40) for v in values) if c]


def _side(values: object) -> str:
    ids = _ids(values)
    return clip(", ".join(ids), FIELD_MAX) if ids else EMPTY_SIDE


def _event_types(story: Story) -> list[str]:
    return _ids(_facts(story).get("event_types"))


def _published(story: Story) -> str:
    raw = story.get("published")
    if not raw:
        return ""
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return _field(raw, 40)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _key_quote(story: Story) -> tuple[str, str] | None:
    """The first quote with text: (text, speaker); speaker may be empty."""
    quotes = _facts(story).get("quotes")
    if not isinstance(quotes, list | tuple):
        return None
    for quote in quotes:
        if isinstance(quote, Mapping):
            text = _field(quote.get("text"), QUOTE_MAX)
            if text:
                return text, _field(quote.get("speaker"), SPEAKER_MAX)
    return None


def _evidence(story: Story) -> list[str]:
    mediation = story.get("mediation")
    items = mediation.get("evidence") if isinstance(mediation, Mapping) else None
    if not isinstance(items, list | tuple):
        return []
    lines = [c for c in (_field(item, EVIDENCE_MAX) for item in items) if c]
    return lines[:EVIDENCE_ITEMS]


def _score(story: Story) -> float | None:
    mediation = story.get("mediation")
    score = mediation.get("score") if isinstance(mediation, Mapping) else None
    return float(score) if isinstance(score, int | float) else None


def _events_line(story: Story) -> str:
    """ "call, offer (event date 2023-04-26)", or "" when there is neither."""
    types = ", ".join(_event_types(story))
    date = _field(_facts(story).get("event_date"), 40)
    if types and date:
        return f"{clip(types, FIELD_MAX)} (event date {date})"
    if date:
        return f"event date {date}"
    return clip(types, FIELD_MAX)


def _meta_line(story: Story) -> str:
    """ "Outlet · 2023-04-26 19:30 UTC" (either part may be missing)."""
    return " · ".join(p for p in (_field(story.get("source")), _published(story)) if p)


# ---------------------------------------------------------------- plain text


def headline(story: Story) -> str:
    """The story's title as one clean line (at most 300 characters)."""
    return clip(clean(story.get("title")), HEADLINE_MAX) or "(untitled story)"


def actors_line(story: Story) -> str:
    """``"CN → UA, RU"``: mediators → parties, "–" for a side nobody was found for."""
    facts = _facts(story)
    return f"{_side(facts.get('mediators'))} {ARROW} {_side(facts.get('parties'))}"


def _has_actors(story: Story) -> bool:
    facts = _facts(story)
    return bool(_ids(facts.get("mediators")) or _ids(facts.get("parties")))


def subject(story: Story) -> str:
    """``"[PeaceWatch] CN → UA, RU: <headline>"``, one line, at most 200 characters."""
    title = clean(story.get("title")) or "(untitled story)"
    if _has_actors(story):
        return clip(f"{SUBJECT_PREFIX} {actors_line(story)}: {title}", SUBJECT_MAX)
    return clip(f"{SUBJECT_PREFIX} {title}", SUBJECT_MAX)


def plain_text(story: Story) -> str:
    """A readable plain-text rendering of one story (email text part, Apprise body)."""
    lines = [headline(story)]
    meta = _meta_line(story)
    if meta:
        lines.append(meta)
    lines.append("")
    lines.append(f"Mediators {ARROW} parties: {actors_line(story)}")
    events = _events_line(story)
    if events:
        lines.append(f"Events: {events}")
    conflict = _field(_facts(story).get("conflict"))
    if conflict:
        lines.append(f"Conflict: {conflict}")
    quote = _key_quote(story)
    if quote:
        text, speaker = quote
        lines.append(f"Quote: “{text}”" + (f" — {speaker}" if speaker else ""))
    evidence = _evidence(story)
    if evidence:
        lines.append("Evidence:")
        lines.extend(f"- {item}" for item in evidence)
    url = safe_url(story.get("url"))
    if url:
        lines.append("")
        lines.append(url)
    return "\n".join(lines)


# ---------------------------------------------------------------- HTML


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_fragment(story: Story) -> str:
    """One story as an HTML block (no <html> wrapper); every feed string escaped."""
    title = _h(headline(story))
    url = safe_url(story.get("url"))
    heading = f'<a href="{_h(url)}">{title}</a>' if url else title
    parts = [f'<h2 style="margin:0 0 4px 0;font-size:18px">{heading}</h2>']
    meta = _meta_line(story)
    if meta:
        parts.append(f'<p style="margin:0 0 8px 0;color:#666">{_h(meta)}</p>')
    rows = [("Mediators → parties", actors_line(story))]
    events = _events_line(story)
    if events:
        rows.append(("Events", events))
    conflict = _field(_facts(story).get("conflict"))
    if conflict:
        rows.append(("Conflict", conflict))
    parts.append('<table style="border-collapse:collapse;margin:0 0 8px 0">')
    parts.extend(
        f'<tr><th style="text-align:left;padding:2px 8px 2px 0;vertical-align:top">{_h(k)}</th>'
        f'<td style="padding:2px 0">{_h(v)}</td></tr>'
        for k, v in rows
    )
    parts.append("</table>")
    quote = _key_quote(story)
    if quote:
        text, speaker = quote
        cite = f"<br><cite>— {_h(speaker)}</cite>" if speaker else ""
        parts.append(
            '<blockquote style="margin:0 0 8px 0;padding-left:8px;border-left:3px solid #ccc">'
            f"“{_h(text)}”{cite}</blockquote>"
        )
    evidence = _evidence(story)
    if evidence:
        parts.append('<p style="margin:0">Evidence:</p><ul style="margin:0 0 8px 0">')
        parts.extend(f"<li>{_h(item)}</li>" for item in evidence)
        parts.append("</ul>")
    return "\n".join(parts)


def _html_document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{_h(title)}</title></head>\n"
        '<body style="font-family:sans-serif;font-size:14px;line-height:1.4">\n'
        f"{body}\n</body></html>\n"
    )


def email_html(story: Story) -> str:
    """A complete HTML document for one story (the email's HTML part)."""
    return _html_document(subject(story), _html_fragment(story))


# ---------------------------------------------------------------- digests


def digest_subject(stories: Sequence[Story]) -> str:
    """Subject of a digest: the single story's subject, or a count and the first headline."""
    if not stories:
        return f"{SUBJECT_PREFIX} no new mediation stories"
    if len(stories) == 1:
        return subject(stories[0])
    first = clean(stories[0].get("title")) or "(untitled story)"
    return clip(
        f"{SUBJECT_PREFIX} {len(stories)} mediation stories: {first} and {len(stories) - 1} more",
        SUBJECT_MAX,
    )


def _digest_intro(stories: Sequence[Story]) -> str:
    n = len(stories)
    return f"PeaceWatch digest: {n} mediation {'story' if n == 1 else 'stories'}"


def digest_text(stories: Sequence[Story]) -> str:
    """Plain text listing every story of a digest, separated by rules."""
    if not stories:
        return _digest_intro(stories)
    body = "\n\n----\n\n".join(plain_text(s) for s in stories)
    return f"{_digest_intro(stories)}\n\n{body}"


def digest_html(stories: Sequence[Story]) -> str:
    """An HTML document listing every story of a digest."""
    intro = f'<h1 style="font-size:20px">{_h(_digest_intro(stories))}</h1>'
    sep = '\n<hr style="border:0;border-top:1px solid #ddd;margin:16px 0">\n'
    return _html_document(
        digest_subject(stories), intro + "\n" + sep.join(_html_fragment(s) for s in stories)
    )


# ---------------------------------------------------------------- Slack


def slack_escape(text: str) -> list[str]:
    """Slack mrkdwn units of ``text`` (already clean): each unit one shown character.

    Returned as units so a clip never cuts an entity such as ``&amp;`` in half.
    """
    units: list[str] = []
    for ch in text:
        if ch == "&":
            units.append("&amp;")
        elif ch == "<":
            units.append("&lt;")
        elif ch == ">":
            units.append("&gt;")
        elif ch in _SLACK_LOOKALIKE:
            units.append(_SLACK_LOOKALIKE[ch])
        elif ch == "@":
            units.append("@" + _ZWSP)
        else:
            units.append(ch)
    return units


def _join_clipped(units: Iterable[str], limit: int) -> str:
    """Units joined, at most ``limit`` characters, ending in "…" when cut."""
    units = list(units)
    total = sum(len(u) for u in units)
    if total <= limit:
        return "".join(units)
    out: list[str] = []
    used = 0
    for unit in units:
        if used + len(unit) > limit - 1:
            break
        out.append(unit)
        used += len(unit)
    return "".join(out).rstrip() + ELLIPSIS


def slack_text(value: object, limit: int) -> str:
    """Feed text made safe for Slack mrkdwn, at most ``limit`` characters."""
    return _join_clipped(slack_escape(clean(value)), limit)


def slack_link(url: object, text: str) -> str:
    """``<url|text>`` when ``url`` is a safe http(s) URL, else ``text``; text already escaped."""
    safe = safe_url(url)
    if safe is None:
        return text
    href = safe.replace("&", "&amp;")
    return f"<{href}|{text}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_fit(text, SLACK_SECTION_MAX))}


def _fit(text: str, limit: int) -> str:
    """Last resort: never exceed ``limit``; cut before a dangling entity or link."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp, semi = cut.rfind("&"), cut.rfind(";")
    if amp > semi:
        cut = cut[:amp]
    lt, gt = cut.rfind("<"), cut.rfind(">")
    if lt > gt:
        cut = cut[:lt]
    return cut.rstrip() + ELLIPSIS


def slack_message(story: Story) -> dict[str, Any]:
    """The Block Kit message of one story: ``{"text": fallback, "blocks": [...]}``."""
    esc: Callable[[object, int], str] = slack_text
    title = esc(story.get("title"), HEADLINE_MAX) or "(untitled story)"
    blocks: list[dict[str, Any]] = [_section(f"*{slack_link(story.get('url'), title)}*")]

    context = [
        _mrkdwn(esc(part, FIELD_MAX))
        for part in (story.get("source"), _published(story))
        if clean(part)
    ]
    score = _score(story)
    if score is not None:
        context.append(_mrkdwn(f"score {score:.2f}"))
    if context:
        blocks.append({"type": "context", "elements": context[:SLACK_CONTEXT_ELEMENTS_MAX]})

    facts = _facts(story)
    fact_lines = [f"*Mediators {ARROW} parties:* {esc(actors_line(story), 2 * FIELD_MAX + 10)}"]
    events = _events_line(story)
    if events:
        fact_lines.append(f"*Events:* {esc(events, FIELD_MAX + 40)}")
    conflict = clean(facts.get("conflict"))
    if conflict:
        fact_lines.append(f"*Conflict:* {esc(conflict, FIELD_MAX)}")
    blocks.append(_section("\n".join(fact_lines)))

    quote = _key_quote(story)
    if quote:
        text, speaker = quote
        line = f"> “{esc(text, 4 * QUOTE_MAX)}”"
        if speaker:
            line += f"\n> — {esc(speaker, 2 * SPEAKER_MAX)}"
        blocks.append(_section(line))

    evidence = _evidence(story)
    if evidence:
        header = "*Evidence*"
        budget = (SLACK_SECTION_MAX - len(header)) // len(evidence) - 4
        items = [f"• {esc(item, budget)}" for item in evidence]
        blocks.append(_section("\n".join([header, *items])))

    fallback = slack_text(subject(story), SLACK_TEXT_MAX)
    return {"text": fallback, "blocks": blocks[:SLACK_BLOCKS_MAX]}

"""Plain-text helpers: HTML to clean text, whitespace, sentence splitting. Pure functions."""

from __future__ import annotations

import html
import re

_DROP_BLOCKS = re.compile(
    r"<(script|style|noscript|template|iframe|object|svg)\b[^>]*>.*?</\1\s*>", re.I | re.S
)
_COMMENTS = re.compile(r"<!--.*?-->", re.S)
_BLOCK_TAGS = re.compile(
    r"</?(p|div|br|li|ul|ol|h[1-6]|blockquote|tr|td|th|table|section|article|figure|"
    r"figcaption|header|footer|hr|pre)\b[^>]*>",
    re.I,
)
_TAGS = re.compile(r"<[^>]{0,2000}>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Feed boilerplate that carries no meaning for a reader.
_BOILERPLATE = re.compile(
    r"(continue reading\.*|read more\.*|the post .{0,300}? appeared first on .{0,200}?\.)\s*$",
    re.I,
)


def clean_whitespace(text: str) -> str:
    """Collapse runs of spaces, keep single newlines between paragraphs."""
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()


def html_to_text(markup: str | None) -> str:
    """Strip tags and decode entities; block elements become line breaks.

    Safe on plain text (it only decodes entities there) and on malformed markup.
    """
    if not markup:
        return ""
    text = markup
    if "<" in text:
        text = _COMMENTS.sub(" ", text)
        text = _DROP_BLOCKS.sub(" ", text)
        text = _BLOCK_TAGS.sub("\n", text)
        text = _TAGS.sub("", text)
    text = html.unescape(html.unescape(text)) if "&" in text else text
    text = clean_whitespace(text)
    return _BOILERPLATE.sub("", text).strip()


_ABBREVIATIONS = (
    "mr|mrs|ms|dr|prof|sr|jr|st|gen|lt|col|maj|capt|sgt|gov|sen|rep|pres|rev|hon|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|no|vs|etc|approx|inc|ltd|co|corp|"
    "u\\.s|u\\.k|u\\.n|e\\.u|a\\.m|p\\.m|i\\.e|e\\.g"
)
_SENTENCE_END = re.compile(
    r"""(?<=[.!?])["'”’)\]]*\s+(?=["'“‘(\[]*[A-Z0-9])|\n+""",
)
_ABBREV_TAIL = re.compile(rf"(?:\b(?:{_ABBREVIATIONS})|\b[A-Z])\.$", re.I)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; abbreviations such as "Mr." and "U.S." do not end one."""
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].rstrip()
        head = text[start : match.start()]
        stripped = head.rstrip("\"'”’)] \t")
        if (
            match.group(0).strip() == ""
            and "\n" not in match.group(0)
            and _ABBREV_TAIL.search(stripped)
        ):
            continue
        if candidate.strip():
            pieces.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in (s.strip() for s in pieces) if p]

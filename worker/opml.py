"""OPML import and export of feed lists. Parsing refuses entities and DTDs (defusedxml)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from worker.errors import InputError


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    name: str | None = None


def parse_opml(data: bytes, where: str) -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, nested folders included, in document order."""
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as exc:
        raise InputError(f"{where}: not a valid OPML document: {exc}") from exc
    if root.tag.lower() != "opml":
        raise InputError(f"{where}: not an OPML document (root element <{root.tag}>)")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        name = outline.get("title") or outline.get("text")
        feeds.append(OpmlFeed(url=url, name=name.strip() if name else None))
    return feeds


def export_opml(feeds: Iterable[OpmlFeed], title: str = "PeaceWatch feeds") -> str:
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    body = SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "xmlUrl": feed.url, "text": feed.name or feed.url}
        if feed.name:
            attrs["title"] = feed.name
        SubElement(body, "outline", attrs)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"

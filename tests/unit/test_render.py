"""Rendering a story for alerts: hostile feed text stays inert, limits hold, formats read well."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from worker.render import (
    actors_line,
    digest_html,
    digest_subject,
    digest_text,
    email_html,
    headline,
    plain_text,
    slack_message,
    subject,
)


def make_story(**overrides: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "event_types": ["meeting", "talks"],
        "mediators": ["TR"],
        "parties": ["AZ", "AM"],
        "conflict": "Nagorno-Karabakh conflict",
        "people": [],
        "places": ["Antalya"],
        "event_date": "2024-03-02",
        "quotes": [{"speaker": "Hakan Fidan", "text": "Both sides agreed to keep talking."}],
        "stances": [],
    }
    facts.update(overrides.pop("facts", {}))
    story: dict[str, Any] = {
        "id": "st-render-1",
        "url": "https://news.example.net/2024/03/antalya-talks",
        "title": "Turkey hosts Azerbaijani and Armenian ministers in Antalya",
        "source": "Example Wire",
        "published": "2024-03-02T14:05:00+00:00",
        "mediation": {
            "label": "mediation",
            "score": 0.88,
            "evidence": ["hosted a trilateral meeting", "agreed to continue talks"],
        },
        "facts": facts,
    }
    story.update(overrides)
    return story


HOSTILE_TITLE = "Breaking <!channel> @here <http://evil.example|bbc.com> *bold* _it_ ~x~ `c` &amp;"
HOSTILE_QUOTE = "<!everyone> see <https://phish.example|your bank> & *act now*"


def section_texts(message: dict[str, Any]) -> list[str]:
    texts = []
    for block in message["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts.extend(e["text"] for e in block.get("elements", []))
    return texts


def all_slack_text(message: dict[str, Any]) -> str:
    return "\n".join([message["text"], *section_texts(message)])


# ---------------------------------------------------------------- plain helpers


def test_actors_line_and_headline() -> None:
    story = make_story()
    assert actors_line(story) == "TR → AZ, AM"
    assert headline(story) == "Turkey hosts Azerbaijani and Armenian ministers in Antalya"
    empty = make_story(facts={"mediators": [], "parties": ["SD", "rsf"]})
    assert actors_line(empty) == "– → SD, rsf"


def test_headline_collapses_whitespace_and_cuts_long_titles() -> None:
    assert headline(make_story(title="  Envoy\n\tarrives \r\n in Doha ")) == "Envoy arrives in Doha"
    long = headline(make_story(title="word " * 10_000))
    assert len(long) <= 300 and long.endswith("…")
    assert headline(make_story(title="")) == "(untitled story)"


def test_subject_format() -> None:
    assert subject(make_story()) == (
        "[PeaceWatch] TR → AZ, AM: Turkey hosts Azerbaijani and Armenian ministers in Antalya"
    )
    nobody = make_story(facts={"mediators": [], "parties": []})
    assert subject(nobody) == (
        "[PeaceWatch] Turkey hosts Azerbaijani and Armenian ministers in Antalya"
    )


def test_subject_is_one_line_and_cut() -> None:
    story = make_story(title="Line one\nBcc: victim@example.org\r\n" + "z" * 50_000)
    text = subject(story)
    assert "\n" not in text and "\r" not in text
    assert len(text) <= 200 and text.endswith("…")
    assert text.startswith("[PeaceWatch] TR → AZ, AM: Line one Bcc: victim@example.org")


def test_plain_text_reads_well() -> None:
    text = plain_text(make_story())
    lines = text.splitlines()
    assert lines[0] == "Turkey hosts Azerbaijani and Armenian ministers in Antalya"
    assert lines[1] == "Example Wire · 2024-03-02 14:05 UTC"
    assert "Mediators → parties: TR → AZ, AM" in lines
    assert "Events: meeting, talks (event date 2024-03-02)" in lines
    assert "Conflict: Nagorno-Karabakh conflict" in lines
    assert "Quote: “Both sides agreed to keep talking.” — Hakan Fidan" in lines
    assert "- hosted a trilateral meeting" in lines
    assert lines[-1] == "https://news.example.net/2024/03/antalya-talks"


def test_plain_text_with_empty_facts_and_missing_fields() -> None:
    story = make_story(
        url=None,
        source=None,
        facts={
            "event_types": [],
            "mediators": [],
            "parties": [],
            "conflict": None,
            "event_date": None,
            "quotes": [],
        },
        mediation={"label": "mediation", "score": 0.6, "evidence": []},
    )
    text = plain_text(story)
    assert "Mediators → parties: – → –" in text
    assert "Events" not in text and "Quote" not in text and "Evidence" not in text
    assert "None" not in text


def test_plain_text_bounds_huge_fields() -> None:
    story = make_story(
        title="t" * 50_000,
        facts={"quotes": [{"speaker": "s" * 5000, "text": "q" * 50_000}]},
        mediation={"label": "mediation", "score": 0.9, "evidence": ["e" * 50_000] * 40},
    )
    text = plain_text(story)
    assert len(text) < 5000
    assert text.count("\n- ") == 5  # at most five evidence lines


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example.org/x",
        "https://example.org/a|b",
        "https://example.org/a b",
        "https://example.org/<x>",
        "//example.org/relative",
        "",
        None,
    ],
)
def test_unsafe_urls_are_never_links(url: str | None) -> None:
    story = make_story(url=url)
    assert "href" not in email_html(story)
    first = slack_message(story)["blocks"][0]["text"]["text"]
    assert "<" not in first.replace("&lt;", "")  # no Slack link markup at all
    if url:
        assert url not in plain_text(story)


# ---------------------------------------------------------------- HTML


def test_email_html_escapes_every_feed_string() -> None:
    story = make_story(
        title='<script>alert("t")</script> & <b>bold</b>',
        source="<img src=x onerror=alert(1)>",
        facts={
            "conflict": "<i>war</i>",
            "quotes": [{"speaker": "<u>Someone</u>", "text": '"quoted" <a href=x>link</a>'}],
        },
        mediation={"label": "mediation", "score": 0.9, "evidence": ["<iframe src=x>"]},
    )
    page = email_html(story)
    for raw in ("<script>", "<b>bold", "<img", "<i>war", "<u>Someone", "<a href=x>", "<iframe"):
        assert raw not in page
    assert html.escape('<script>alert("t")</script>') in page
    assert "&lt;iframe src=x&gt;" in page
    assert '<a href="https://news.example.net/2024/03/antalya-talks">' in page


def test_email_html_escapes_url_attribute() -> None:
    story = make_story(url="https://example.org/search?q=1&lang=en")
    assert '<a href="https://example.org/search?q=1&amp;lang=en">' in email_html(story)


# ---------------------------------------------------------------- Slack


def test_slack_message_shape() -> None:
    message = slack_message(make_story())
    assert message["text"].startswith("[PeaceWatch] TR → AZ, AM: Turkey hosts")
    first = message["blocks"][0]["text"]["text"]
    assert first == (
        "*<https://news.example.net/2024/03/antalya-talks|"
        "Turkey hosts Azerbaijani and Armenian ministers in Antalya>*"
    )
    body = all_slack_text(message)
    assert "Example Wire" in body and "2024-03-02 14:05 UTC" in body
    assert "TR → AZ, AM" in body
    assert "meeting, talks (event date 2024-03-02)" in body
    assert "Both sides agreed to keep talking." in body and "Hakan Fidan" in body
    assert "hosted a trilateral meeting" in body
    for block in message["blocks"]:
        assert block["type"] in ("section", "context")
    json.dumps(message)  # serialisable


def test_slack_escapes_hostile_title_and_quote() -> None:
    story = make_story(
        title=HOSTILE_TITLE, facts={"quotes": [{"speaker": "@channel", "text": HOSTILE_QUOTE}]}
    )
    message = slack_message(story)
    body = all_slack_text(message)
    # No control sequence from the feed survives: no <!...>, no @here, no disguised link.
    assert "<!channel>" not in body and "<!everyone>" not in body
    assert "&lt;!channel&gt;" in body and "&lt;!everyone&gt;" in body
    assert "@here" not in body and "@channel" not in body
    assert "<http://evil" not in body and "<https://phish" not in body
    assert "&lt;http://evil.example|bbc.com&gt;" in body
    # Feed "&amp;" is shown literally, so its & is escaped again.
    assert "&amp;amp;" in body
    # Formatting characters from the feed cannot format.
    assert "*bold*" not in body and "_it_" not in body and "~x~" not in body and "`c`" not in body
    # The only link is ours, to the story URL.
    links = re.findall(r"<([^>]*)>", body)
    assert links == ["https://news.example.net/2024/03/antalya-talks|" + links[0].split("|", 1)[1]]
    # Every text object is verbatim (Slack parses no mentions or bare URLs in it).
    for block in message["blocks"]:
        objects = [block["text"]] if "text" in block else block["elements"]
        assert all(o["type"] == "mrkdwn" and o["verbatim"] is True for o in objects)


def test_slack_link_url_ampersand_is_escaped() -> None:
    message = slack_message(make_story(url="https://example.org/a?x=1&y=<2>"))
    assert "<https://" not in message["blocks"][0]["text"]["text"]  # < in URL: no link
    message = slack_message(make_story(url="https://example.org/a?x=1&y=2"))
    assert message["blocks"][0]["text"]["text"].startswith("*<https://example.org/a?x=1&amp;y=2|")


def test_slack_limits_hold_for_huge_text() -> None:
    huge = "<&>" * 20_000  # each character escapes to 4-5
    story = make_story(
        title=huge,
        source=huge,
        facts={
            "conflict": huge,
            "mediators": ["x" * 5000] * 200,
            "parties": ["y" * 5000] * 200,
            "event_types": ["z" * 1000] * 200,
            "quotes": [{"speaker": huge, "text": huge}],
        },
        mediation={"label": "mediation", "score": 0.9, "evidence": [huge] * 100},
    )
    message = slack_message(story)
    assert len(message["text"]) <= 3000
    assert len(message["blocks"]) <= 50
    total = 0
    for text in section_texts(message):
        assert len(text) <= 3000
        # Cut only between whole entities: no dangling "&am" before the ellipsis.
        assert not re.search(r"&[a-z]{0,3}…", text)
        total += len(text)
    assert total <= 12_000  # well inside Slack's whole-message budget


def test_slack_empty_story_fields() -> None:
    story = make_story(
        url=None,
        source=None,
        title="",
        facts={"event_types": [], "mediators": [], "parties": [], "quotes": [], "conflict": None},
        mediation={"label": "mediation", "score": 0.5, "evidence": []},
    )
    message = slack_message(story)
    assert message["blocks"][0]["text"]["text"] == "*(untitled story)*"
    assert "– → –" in all_slack_text(message)


# ---------------------------------------------------------------- digests


def test_digest_of_many_stories() -> None:
    stories = [
        make_story(
            id=f"st-{i}", title=f"Round {i} of talks <i>&</i> {i}", url=f"https://ex.org/{i}"
        )
        for i in range(120)
    ]
    assert digest_subject(stories) == (
        "[PeaceWatch] 120 mediation stories: Round 0 of talks <i>&</i> 0 and 119 more"
    )
    text = digest_text(stories)
    assert text.startswith("PeaceWatch digest: 120 mediation stories")
    assert all(f"https://ex.org/{i}" in text for i in range(120))
    page = digest_html(stories)
    assert page.count('<a href="https://ex.org/') == 120
    assert "<i>&" not in page and "Round 7 of talks &lt;i&gt;&amp;&lt;/i&gt; 7" in page


def test_digest_of_one_and_none() -> None:
    one = [make_story()]
    assert digest_subject(one) == subject(one[0])
    assert digest_text(one).startswith("PeaceWatch digest: 1 mediation story\n")
    assert digest_subject([]) == "[PeaceWatch] no new mediation stories"
    assert "0 mediation stories" in digest_html([])

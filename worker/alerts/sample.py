"""A sample story for ``peacewatch alerts test NAME``: clearly marked, never stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def sample_story(now: datetime) -> dict[str, Any]:
    """A made-up mediation story in the contract's shape, with an id unique to ``now``."""
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    return {
        "id": f"test-{stamp}",
        "url": "https://example.org/peacewatch/test-alert",
        "title": "[PeaceWatch test] Qatar and Egypt broker a pause in the fighting in Gaza",
        "source": "PeaceWatch",
        "published": now.isoformat(),
        "mediation": {
            "label": "mediation",
            "score": 0.99,
            "evidence": [
                "This is a test alert: mediators in Doha said a four-day pause would begin "
                "on Thursday, with hostages freed in exchange for prisoners."
            ],
        },
        "facts": {
            "event_types": ["ceasefire", "agreement"],
            "mediators": ["QA", "EG"],
            "parties": ["IL", "hamas"],
            "conflict": "Israel–Hamas war",
            "people": [],
            "places": ["Gaza", "Doha"],
            "event_date": now.date().isoformat(),
            "quotes": [
                {"speaker": "PeaceWatch", "text": "If you can read this, the channel works."}
            ],
            "stances": [],
        },
    }

"""Questions about regions: which region a municipality belongs to, today and after a dated change
(municipalities.yml: region_changes), answered with the change's source."""

from __future__ import annotations

import datetime as dt
import re

from rasa_sdk import Tracker

from actions import slots
from core.replies import payload, source_line
from core.replies import text as bot_text
from knowledge_base.store import KnowledgeBase

REGION_WORD = re.compile(r"\bregion(en|erne|er)?\b|\bregionsrådet\b", re.IGNORECASE)
# without a municipality or a region by name, only a question about the change itself is a region question:
# "hvad er forskellen på regionen og kommunen?" asks who does what (a topic), not about 2027
CHANGE_WORD = re.compile(
    r"\b(20[2-9]\d|ændr\w*|sammenlæg\w*|lægges sammen|nedlæg\w*|reform\w*|ny region\w*|"
    r"østdanmark|strukturreform\w*|sundhedsreform\w*)\b",
    re.IGNORECASE,
)


def region_message(kb: KnowledgeBase, text: str, tracker: Tracker) -> dict | None:
    """Which region a municipality is in (today, and after a dated change), or what changes; None when the
    message is no region question."""
    if not REGION_WORD.search(text):
        return None
    today = dt.date.today()
    named = next(
        (
            e.get("value")
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == "municipality"
        ),
        None,
    )
    municipality = kb.municipality(str(named)) if named else None
    asked_region = kb.region_named(text)
    changes = [c for c in kb.region_changes() if dt.date.fromisoformat(str(c["date"])) > today]
    parts, sources = [], list(kb.municipality_sources())
    if municipality:
        region = kb.region_of(municipality, today)
        if asked_region and asked_region not in (region, kb.region_of(municipality, dt.date.max)):
            parts.append(bot_text("region_no", municipality=municipality, asked=asked_region, region=region))
        elif asked_region:
            parts.append(bot_text("region_yes", municipality=municipality, region=region))
        else:
            parts.append(bot_text("region_is", municipality=municipality, region=region))
        changes = [c for c in changes if region in c["from"]]
    elif asked_region:
        changes = [c for c in changes if asked_region in c["from"] or asked_region == c["to"]]
    elif not CHANGE_WORD.search(text):
        return None
    for change in changes:
        date = dt.date.fromisoformat(str(change["date"]))
        parts.append(
            bot_text(
                "region_change",
                date=f"{date.day}. {MONTHS[date.month - 1]} {date.year}",
                regions=" og ".join(f"Region {r}" for r in change["from"]),
                to=change["to"],
                note=" ".join(str(change.get("note") or "").split()),
            )
        )
        sources = list(change.get("sources") or []) + sources
    if not parts:
        return None
    parts.append(bot_text("region_health"))
    parts.append(source_line(sources[:2]))
    region = tracker.get_slot(slots.REGION) or (kb.region_of(municipality, today) if municipality else None)
    return {
        "text": "\n\n".join(parts),
        "json_message": payload(
            "region", sources=sources[:2], region=region, audience=tracker.get_slot(slots.ROLE)
        ),
    }


MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)

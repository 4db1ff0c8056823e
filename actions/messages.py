"""Formats KB content as chat replies (text, buttons, payload): a topic's overview, one question entry, the
overview for a family's life phase, and a region answer."""

from __future__ import annotations

import json

from core.replies import payload, source_line
from core.replies import text as bot_text
from knowledge_base.store import KnowledgeBase

MAX_RELATED_BUTTONS = 2
MAX_OVERVIEW_TOPICS = 6


def ask_payload(**entity: str) -> str:
    """A button payload that asks for one entry directly (`/ask_question{"topic_id": "1.6"}`), whatever
    the matcher would make of its title."""
    return "/ask_question" + json.dumps(entity, ensure_ascii=False)


def topic_button(kb: KnowledgeBase, topic_id: str) -> dict:
    return {"title": kb.topic(topic_id)["title"], "payload": ask_payload(topic_id=topic_id)}


def question_button(kb: KnowledgeBase, question_id: str) -> dict:
    return {
        "title": kb.question(question_id)["asks"][0].strip().rstrip("?").capitalize() + "?",
        "payload": ask_payload(question_id=question_id),
    }


def next_step_buttons(kb: KnowledgeBase, related: list[dict], offer_checklist: bool = False) -> list[dict]:
    checklist = (
        [{"title": bot_text("button_checklist"), "payload": "/request_checklist"}] if offer_checklist else []
    )
    return (
        related[:MAX_RELATED_BUTTONS]
        + checklist
        + [
            {"title": bot_text("button_find_organisations"), "payload": "/find_organisation"},
            {"title": bot_text("button_talk_to_human"), "payload": "/request_human"},
        ]
    )


def phase_note(kb: KnowledgeBase, topic: dict, life_phase: str | None) -> str | None:
    """The topic's note for the child's life phase ("16–17 år: …"), when it has one."""
    note = (topic.get("phase_notes") or {}).get(life_phase) if life_phase else None
    if not note:
        return None
    phase = kb.life_phase_by_id(life_phase) or {"name": life_phase}
    return bot_text("phase_note", phase=phase["name"], note=note.strip())


def answer_message(
    kb: KnowledgeBase,
    topic_id: str,
    audience: str | None,
    *,
    life_phase: str | None = None,
    region: str | None = None,
    intro: str | None = None,
    offer_checklist: bool = False,
) -> dict:
    """kwargs for dispatcher.utter_message: the topic's overview for the audience, a note for the life phase,
    for professionals the checklist and legal references, the source line, and next steps (with
    `offer_checklist`, also the printable meeting checklist)."""
    topic = kb.topic(topic_id, audience)
    sources = kb.sources(topic_id)
    parts = [intro] if intro else []
    parts.append(topic["text"])
    note = phase_note(kb, topic, life_phase)
    if note:
        parts.append(note)
    if audience == "fagperson":
        checklist = topic.get("checklist")
        if checklist:
            items = "\n".join(f"☐ {item}" for item in checklist["items"])
            parts.append(bot_text("checklist", title=checklist["title"], items=items))
        if topic.get("legal_refs"):
            parts.append(bot_text("legal_refs", refs=", ".join(topic["legal_refs"])))
    parts.append(source_line(sources))
    related = [topic_button(kb, t) for t in (topic.get("related_topics") or []) if kb.topic(t)]
    return {
        "text": "\n\n".join(parts),
        "buttons": next_step_buttons(kb, related, offer_checklist),
        "json_message": payload(
            "answer",
            topic=topic_id,
            audience=topic["audience"],
            sources=sources,
            organisations=kb.organisations_for_topic(topic_id),
            region=region,
        ),
    }


def question_message(
    kb: KnowledgeBase,
    question_id: str,
    audience: str | None,
    *,
    life_phase: str | None = None,
    region: str | None = None,
    offer_checklist: bool = False,
) -> dict:
    """kwargs for dispatcher.utter_message: one question entry's short answer, the topic's note for the life
    phase, its legal references for a professional, the source line, the topic's overview one button away
    and a sibling question."""
    entry = kb.question(question_id, audience)
    topic = kb.topic(entry["topic"])
    parts = [entry["text"]]
    note = phase_note(kb, topic, life_phase)
    if note:
        parts.append(note)
    if entry["audience"] == "fagperson" and entry.get("legal_refs"):
        parts.append(bot_text("legal_refs", refs=", ".join(entry["legal_refs"])))
    parts.append(source_line(entry["sources"]))
    overview = {
        "title": bot_text("button_topic_overview", title=topic["title"]),
        "payload": ask_payload(topic_id=topic["id"]),
    }
    siblings = [question_button(kb, q["id"]) for q in kb.questions_of(topic["id"]) if q["id"] != question_id]
    return {
        "text": "\n\n".join(parts),
        "buttons": next_step_buttons(kb, [overview, *siblings[:1]], offer_checklist),
        "json_message": payload(
            "answer",
            topic=topic["id"],
            question=question_id,
            audience=entry["audience"],
            sources=entry["sources"],
            organisations=kb.organisations_for_topic(topic["id"]),
            region=region,
        ),
    }


def overview_message(
    kb: KnowledgeBase,
    *,
    audience: str | None,
    life_phase: str | None,
    diagnosis: dict | None,
    region: str | None,
    starter_topics: tuple[str, ...],
) -> dict:
    """The general "hvad kan vi få af hjælp?": the entries that matter most in the family's life phase, as
    buttons; without a known age, the starter topics and a request for the child's age."""
    phase = kb.life_phase_by_id(life_phase) if life_phase else None
    topic_ids = [t for t in (phase or {}).get("topics") or starter_topics if kb.topic(t)][
        :MAX_OVERVIEW_TOPICS
    ]
    lines = "\n".join(
        f"• {kb.topic(t)['title']}: {' '.join(kb.topic(t)['summary'].split())}" for t in topic_ids
    )
    if phase:
        situation = phase["name"] + (f", {diagnosis['name']}" if diagnosis else "")
        key = (
            "overview_phase_professional"
            if audience == "fagperson"
            else ("overview_phase_young" if audience == "ung" else "overview_phase")
        )
        text = bot_text(key, situation=situation, topics=lines)
    else:
        text = bot_text("overview_general", topics=lines)
    return {
        "text": text,
        "buttons": [topic_button(kb, t) for t in topic_ids],
        "json_message": payload("overview", audience=audience, region=region, topics=topic_ids),
    }


def feedback_message() -> dict:
    return {
        "text": bot_text("feedback_question"),
        "buttons": [
            {"title": "👍", "payload": "/feedback_positive"},
            {"title": "👎", "payload": "/feedback_negative"},
        ],
    }

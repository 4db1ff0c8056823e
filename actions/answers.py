"""Formats a KB topic as a chat reply (text, buttons, payload), for the user's audience and life phase."""
from __future__ import annotations

from actions.replies import payload, source_line, text as bot_text
from knowledge_base.store import KnowledgeBase

MAX_RELATED_BUTTONS = 2


def topic_button(kb: KnowledgeBase, topic_id: str) -> dict:
    """A button that asks for one topic through its own intent, whatever NLU would make of its title."""
    return {"title": kb.topic(topic_id)["title"], "payload": f"/{kb.intent_for_topic(topic_id)}"}


def next_step_buttons(kb: KnowledgeBase, topic: dict, offer_checklist: bool = False) -> list[dict]:
    related = [topic_button(kb, t) for t in (topic.get("related_topics") or []) if kb.topic(t)]
    checklist = [{"title": bot_text("button_checklist"), "payload": "/request_checklist"}] if offer_checklist else []
    return related[:MAX_RELATED_BUTTONS] + checklist + [
        {"title": bot_text("button_find_organisations"), "payload": "/find_organisation"},
        {"title": bot_text("button_talk_to_human"), "payload": "/request_human"},
    ]


def answer_message(kb: KnowledgeBase, topic_id: str, audience: str | None, *, life_phase: str | None = None,
                   region: str | None = None, intro: str | None = None, offer_checklist: bool = False) -> dict:
    """kwargs for dispatcher.utter_message: the topic's text for the audience, a note for the life phase,
    for professionals the checklist and legal references, the source line, and next steps (with
    `offer_checklist`, also the printable meeting checklist)."""
    topic = kb.topic(topic_id, audience)
    sources = kb.sources(topic_id)
    parts = [intro] if intro else []
    parts.append(topic["text"])
    note = (topic.get("phase_notes") or {}).get(life_phase) if life_phase else None
    if note:
        phase = next((p for p in kb.life_phases() if p["id"] == life_phase), {"name": life_phase})
        parts.append(bot_text("phase_note", phase=phase["name"], note=note.strip()))
    if audience == "fagperson":
        checklist = topic.get("checklist")
        if checklist:
            items = "\n".join(f"☐ {item}" for item in checklist["items"])
            parts.append(bot_text("checklist", title=checklist["title"], items=items))
        if topic.get("legal_refs"):
            parts.append(bot_text("legal_refs", refs=", ".join(topic["legal_refs"])))
    parts.append(source_line(sources))
    return {
        "text": "\n\n".join(parts),
        "buttons": next_step_buttons(kb, topic, offer_checklist),
        "json_message": payload("answer", topic=topic_id, audience=topic["audience"], sources=sources,
                                organisations=kb.organisations_for_topic(topic_id), region=region),
    }


def feedback_message() -> dict:
    return {"text": bot_text("feedback_question"),
            "buttons": [{"title": "👍", "payload": "/feedback_positive"},
                        {"title": "👎", "payload": "/feedback_negative"}]}

"""Formats a KB topic as a chat reply (text, buttons, payload). Shared by every action that answers."""
from __future__ import annotations

from actions.replies import payload, source_line
from knowledge_base.store import KnowledgeBase

MAX_RELATED_BUTTONS = 3


def topic_button(kb: KnowledgeBase, topic_id: str) -> dict:
    """A button that asks for one topic by id, whatever NLU would make of its title."""
    return {"title": kb.topic(topic_id)["title"], "payload": f'/ask_question{{"topic": "{topic_id}"}}'}


def answer_message(kb: KnowledgeBase, topic_id: str, audience: str | None, intro: str | None = None) -> dict:
    """kwargs for dispatcher.utter_message: the topic's text for the audience, its source, next steps."""
    topic = kb.topic(topic_id, audience)
    sources = kb.sources(topic_id)
    parts = [intro] if intro else []
    parts += [topic["text"], source_line(sources)]
    buttons = [topic_button(kb, related) for related in (topic.get("related_topics") or [])[:MAX_RELATED_BUTTONS]
               if kb.topic(related)]
    return {
        "text": "\n\n".join(parts),
        "buttons": buttons,
        "json_message": payload("answer", topic=topic_id, audience=topic["audience"], sources=sources,
                                organisations=kb.organisations_for_topic(topic_id)),
    }

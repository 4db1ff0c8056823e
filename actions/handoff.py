"""Hands the user over to a human: the deployment's configured contact and what to have ready.

In Slack and Teams the assistant is a caseworkers' internal helpdesk, and a request for a person should reach
a colleague. There the reply also carries `escalation` in its payload (the caseworker's question, redacted,
and the topic discussed); the Slack or Teams channel posts that to its expert channel and replaces the text
by what actually happened (bot/server/channels/escalation.py). The text sent from here is always the contact,
so a channel that does not escalate never claims that anything was passed on.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.base import KnowledgeAction
from core.config import deployment_overrides
from core.redaction import quoted
from core.replies import payload
from core.replies import text as bot_text
from knowledge_base.store import KnowledgeBase

# Rasa's input channel names where caseworkers use the assistant as an internal helpdesk
HELPDESK_CHANNELS = ("slack", "teams")
# what is said around a question, not the question a colleague should see (domain.yml's intents)
NOT_QUESTIONS = {
    "greet",
    "goodbye",
    "thank",
    "feedback_positive",
    "feedback_negative",
    "start_over",
    "bot_challenge",
    "request_checklist",
    "request_human",
}


def handoff_message(
    kb: KnowledgeBase, intro: str | None = None, region: str | None = None, escalation: dict | None = None
) -> dict:
    deployment = kb.deployment(deployment_overrides())
    contact = deployment["contact"]
    parts = [intro] if intro else []
    parts.append(bot_text("handoff", municipality=deployment["municipality"], **contact))
    bring = contact.get("bring") or []
    if bring:
        parts.append(bot_text("handoff_bring", items="\n".join(f"• {item}" for item in bring)))
    buttons = (
        [{"title": contact["name"], "url": contact["url"], "type": "web_url"}] if contact.get("url") else []
    )
    custom = payload("handoff", region=region)
    if escalation is not None:
        custom["escalation"] = escalation  # kept even when empty: it is the channel's signal to pass it on
    return {"text": "\n\n".join(parts), "buttons": buttons, "json_message": custom}


def _typed(event: dict) -> str | None:
    """A user event's text if the user typed it (not a button's /payload, not empty), redacted and cut."""
    text = event.get("text")
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("/"):
        return None
    return quoted(text)


def _intent(event: dict) -> str | None:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    return intent.get("name") if isinstance(intent, dict) else None


def escalation_details(kb: KnowledgeBase, tracker: Tracker) -> dict:
    """What a colleague needs to pick the question up: the caseworker's last typed question before asking for
    a person (not thanks, greetings or feedback), the request's own words when typed ("kan en kollega se på
    det her?"), and the topic discussed.
    Only this session counts; personal numbers and addresses are replaced by core.redaction."""
    users = []
    for event in tracker.events:
        if event.get("event") in ("session_started", "restart"):
            users = []
        elif event.get("event") == "user":
            users.append(event)
    request = users.pop() if users else (tracker.latest_message or {})
    earlier = [_typed(event) for event in users if _intent(event) not in NOT_QUESTIONS]
    question = next((text for text in reversed(earlier) if text), None)
    topic_id = tracker.get_slot(slots.TOPIC)
    topic = kb.topic(str(topic_id)) if topic_id else None
    details = {
        "question": question,
        "request": _typed(request),
        "topic": topic["id"] if topic else None,
        "topic_title": topic["title"] if topic else None,
    }
    return {key: value for key, value in details.items() if value}


def distress_message(kb: KnowledgeBase, region: str | None = None) -> dict:
    """For someone who cannot go on: warmth, 112 for acute danger, and the deployment's human contact."""
    deployment = kb.deployment(deployment_overrides())
    buttons = (
        [{"title": deployment["contact"]["name"], "url": deployment["contact"]["url"], "type": "web_url"}]
        if deployment["contact"].get("url")
        else []
    )
    return {
        "text": bot_text("distress", **deployment["contact"]),
        "buttons": buttons,
        "json_message": payload("handoff", region=region),
    }


class ActionHandoff(KnowledgeAction):
    def name(self) -> str:
        return "action_handoff"

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        escalation = (
            escalation_details(self.kb, tracker)
            if tracker.get_latest_input_channel() in HELPDESK_CHANNELS
            else None
        )
        dispatcher.utter_message(
            **handoff_message(self.kb, region=tracker.get_slot(slots.REGION), escalation=escalation)
        )
        return []

"""Hands the user over to a human: the deployment's configured contact and what to have ready."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.base import KnowledgeAction
from actions.replies import payload, text as bot_text
from bot.config import deployment_overrides
from knowledge_base.store import KnowledgeBase


def handoff_message(kb: KnowledgeBase, intro: str | None = None, region: str | None = None) -> dict:
    deployment = kb.deployment(deployment_overrides())
    contact = deployment["contact"]
    parts = [intro] if intro else []
    parts.append(bot_text("handoff", municipality=deployment["municipality"], **contact))
    bring = contact.get("bring") or []
    if bring:
        parts.append(bot_text("handoff_bring", items="\n".join(f"• {item}" for item in bring)))
    buttons = [{"title": contact["name"], "url": contact["url"], "type": "web_url"}] if contact.get("url") else []
    return {"text": "\n\n".join(parts), "buttons": buttons, "json_message": payload("handoff", region=region)}


def distress_message(kb: KnowledgeBase, region: str | None = None) -> dict:
    """For someone who cannot go on: warmth, 112 for acute danger, and the deployment's human contact."""
    deployment = kb.deployment(deployment_overrides())
    buttons = ([{"title": deployment["contact"]["name"], "url": deployment["contact"]["url"], "type": "web_url"}]
               if deployment["contact"].get("url") else [])
    return {"text": bot_text("distress", **deployment["contact"]), "buttons": buttons,
            "json_message": payload("handoff", region=region)}


class ActionHandoff(KnowledgeAction):
    def name(self) -> str:
        return "action_handoff"

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        dispatcher.utter_message(**handoff_message(self.kb, region=tracker.get_slot(slots.REGION)))
        return []

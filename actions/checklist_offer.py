"""The printable meeting checklist ("Tag med til mødet"): a short chat message plus a link to the page.

The link's token is stored with the conversation's sender_id in the tracker-store database
(core.checklist_links); the web app builds the page from the stored events on request
(bot.web.checklist_pages). Asked for before anything was answered, the reply says what to ask first and
carries `kind: checklist` without a `url`, so a client can tell that no checklist was made; so does the
reply when the database cannot store the link.
"""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import slots
from actions.base import KnowledgeAction
from actions.messages import topic_button
from core.checklist_links import create_link, engine_for, link_url
from core.config import load_settings
from core.conversation import read_conversation
from core.replies import payload
from core.replies import text as bot_text
from knowledge_base.content import DEFAULT_AUDIENCE

SUGGESTED_TOPICS = ("overgang-til-voksenlivet", "1.7", "1.8")  # what a checklist is most often about


class ActionChecklist(KnowledgeAction):
    def name(self) -> str:
        return "action_checklist"

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        conversation = read_conversation(tracker.events)
        audience = tracker.get_slot(slots.ROLE) or DEFAULT_AUDIENCE
        region = tracker.get_slot(slots.REGION)
        if conversation.is_empty:
            buttons = [topic_button(self.kb, t) for t in SUGGESTED_TOPICS if self.kb.topic(t)]
            dispatcher.utter_message(
                text=bot_text("checklist_too_early"),
                buttons=buttons,
                json_message=payload("checklist", audience=audience, region=region),
            )
            return []
        settings = load_settings()
        try:
            link = await asyncio.to_thread(
                create_link, engine_for(settings.tracker_store_url), tracker.sender_id
            )
        except SQLAlchemyError:
            dispatcher.utter_message(
                text=bot_text("checklist_unavailable"),
                json_message=payload("checklist", audience=audience, region=region),
            )
            return []
        url = link_url(settings.web_url, link.token)
        items = [f"• {self.kb.topic(t)['title']}" for t in conversation.topics if self.kb.topic(t)]
        organisations = [o for o in map(self.kb.organisation, conversation.organisations) if o]
        names = [o["name"] for o in organisations]
        if names:
            items.append("• " + bot_text("checklist_organisations_item", names=", ".join(names)))
        agenda = audience == "fagperson"
        message = bot_text(
            "checklist_ready_agenda" if agenda else "checklist_ready", items="\n".join(items), url=url
        )
        button = {
            "title": bot_text("button_open_agenda" if agenda else "button_open_checklist"),
            "url": url,
            "type": "web_url",
        }
        body = payload(
            "checklist",
            audience=audience,
            region=region,
            topics=conversation.topics,
            url=url,
            organisations=organisations,
        )
        dispatcher.utter_message(text=message, buttons=[button], json_message=body)
        return []

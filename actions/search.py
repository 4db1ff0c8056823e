"""Questions NLU cannot place go to knowledge-base search, never to "I did not understand"."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_message, topic_button
from actions.base import KnowledgeAction
from actions.replies import payload, text as bot_text
from knowledge_base.text import clean

CLARIFY_OPTIONS = 3
DEFAULT_AUDIENCE = "foraelder"


class ActionSearchKB(KnowledgeAction):
    def name(self) -> str:
        return "action_search_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        requested = next(tracker.get_latest_entity_values("topic"), None)
        if requested and self.kb.topic(requested):
            dispatcher.utter_message(**answer_message(self.kb, requested, DEFAULT_AUDIENCE))
            return []
        text = clean(tracker.latest_message.get("text") or "")
        if not text:
            dispatcher.utter_message(text=bot_text("empty_message"),
                                     json_message=payload("fallback"))
            return []
        hits = self.kb.search(text, kinds=("topic",), limit=CLARIFY_OPTIONS)
        if self.kb.is_good(hits):
            intro = bot_text("search_closest", title=hits[0].title)
            dispatcher.utter_message(**answer_message(self.kb, hits[0].id, DEFAULT_AUDIENCE, intro=intro))
        elif hits:
            dispatcher.utter_message(text=bot_text("clarify"),
                                     buttons=[topic_button(self.kb, h.id) for h in hits],
                                     json_message=payload("clarify"))
        else:
            dispatcher.utter_message(text=bot_text("no_answer"),
                                     buttons=[topic_button(self.kb, t) for t in ("1.6", "1.7", "merudgifter")],
                                     json_message=payload("fallback"))
        return []

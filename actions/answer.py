"""Answers a topic question (one intent per KB topic) for the user's role and life phase."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.answers import answer_message, feedback_message
from actions.base import KnowledgeAction
from bot.checklists import read_conversation


def answer_events(kb, dispatcher: CollectingDispatcher, tracker: Tracker, topic_id: str,
                  intro: str | None = None) -> list:
    """Utter the answer and the feedback question; remember the topic, reset the miss counter.
    From the second answer on, the answer offers the printable meeting checklist."""
    dispatcher.utter_message(**answer_message(
        kb, topic_id, tracker.get_slot(slots.ROLE) or slots.DEFAULT_AUDIENCE,
        life_phase=tracker.get_slot(slots.LIFE_PHASE), region=tracker.get_slot(slots.REGION), intro=intro,
        offer_checklist=read_conversation(tracker.events).answers >= 1))
    dispatcher.utter_message(**feedback_message())
    return [SlotSet(slots.TOPIC, topic_id), SlotSet(slots.MISSES, 0.0)]


class ActionAnswer(KnowledgeAction):
    def name(self) -> str:
        return "action_answer"

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topic_id = self.kb.topic_for_intent(intent or "")
        if topic_id is None:  # an intent without a topic (a stale model): let search decide
            from actions.search import ActionSearchKB

            return await ActionSearchKB(self.kb).respond(dispatcher, tracker, domain)
        return answer_events(self.kb, dispatcher, tracker, topic_id)

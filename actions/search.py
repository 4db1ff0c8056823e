"""Questions NLU cannot place go to knowledge-base search, never to "I did not understand".

A confident hit is answered (saying it is the closest match); otherwise "Mente du …?" with the top three
topics; after two misses in a row the assistant offers a human.
"""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.answer import answer_events
from actions.answers import topic_button
from actions.base import KnowledgeAction
from actions.handoff import handoff_message
from actions.replies import payload, text as bot_text
from knowledge_base.text import clean

CLARIFY_OPTIONS = 3
MISSES_BEFORE_HANDOFF = 2
STARTER_TOPICS = ("overgang-til-voksenlivet", "1.7", "merudgifter")
NLU_GUESSES = 2
NLU_GUESS_CONFIDENCE = 0.2


class ActionSearchKB(KnowledgeAction):
    def name(self) -> str:
        return "action_search_kb"

    def nlu_topic_guesses(self, tracker: Tracker) -> list[str]:
        """Topics of the intents NLU found plausible but not sure enough (FallbackClassifier kicked in)."""
        ranking = tracker.latest_message.get("intent_ranking") or []
        topics = [self.kb.topic_for_intent(r.get("name") or "") for r in ranking[:NLU_GUESSES + 1]
                  if (r.get("confidence") or 0) >= NLU_GUESS_CONFIDENCE]
        return [t for t in topics if t][:NLU_GUESSES]

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        text = clean(tracker.latest_message.get("text") or "")
        if not text:
            dispatcher.utter_message(text=bot_text("empty_message"), json_message=payload("fallback"))
            return []
        hits = self.kb.search(text, kinds=("topic",), limit=CLARIFY_OPTIONS)
        guesses = self.nlu_topic_guesses(tracker)
        # the search's own confidence, or NLU's runner-up topics agreeing with the search's first hit
        if self.kb.is_good(hits) or (hits and hits[0].id in guesses):
            return answer_events(self.kb, dispatcher, tracker, hits[0].id,
                                 intro=bot_text("search_closest", title=hits[0].title))
        misses = int(tracker.get_slot(slots.MISSES) or 0) + 1
        if misses >= MISSES_BEFORE_HANDOFF:
            dispatcher.utter_message(**handoff_message(self.kb, intro=bot_text("handoff_after_misses")))
            return [SlotSet(slots.MISSES, 0.0)]
        options = list(dict.fromkeys(guesses + [h.id for h in hits]))[:CLARIFY_OPTIONS]
        if options:
            dispatcher.utter_message(text=bot_text("clarify"), buttons=[topic_button(self.kb, t) for t in options],
                                     json_message=payload("clarify"))
        else:
            dispatcher.utter_message(text=bot_text("no_answer"),
                                     buttons=[topic_button(self.kb, t) for t in STARTER_TOPICS],
                                     json_message=payload("fallback"))
        return [SlotSet(slots.MISSES, float(misses))]

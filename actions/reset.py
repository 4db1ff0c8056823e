""" "Start forfra": forgets everything the user told (role, age, municipality, diagnosis, topic)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

from core.replies import payload
from core.replies import text as bot_text


class ActionStartOver(Action):
    def name(self) -> str:
        return "action_start_over"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        dispatcher.utter_message(text=bot_text("start_over"), json_message=payload("smalltalk"))
        return [AllSlotsReset()]

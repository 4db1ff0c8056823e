"""Shared plumbing for actions that answer from the knowledge base.

Usage:

    class ActionAnswer(KnowledgeAction):
        def name(self) -> str:
            return "action_answer"

        async def respond(self, dispatcher, tracker, domain):
            topic = self.kb.topic("1.6", "foraelder")
            dispatcher.utter_message(text=..., json_message=payload("answer", topic="1.6"))
            return []

`run` calls `respond` (kept as the one place to add checks every action shares). Tests hand a KnowledgeBase to
the constructor; the action server constructs actions without arguments, and they then share one KnowledgeBase
read from the configured database, refreshed when it is rebuilt.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from functools import lru_cache

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.config import load_settings
from knowledge_base.store import KnowledgeBase

REFRESH_SECONDS = 5.0


@lru_cache(maxsize=1)
def _shared_kb() -> KnowledgeBase:
    return KnowledgeBase.from_url(load_settings().kb_database_url)


class KnowledgeMixin:
    """Gives an action `self.kb`: the one handed in, or the shared one (checked for rebuilds)."""

    def __init__(self, kb: KnowledgeBase | None = None):
        self._kb = kb
        self._checked = 0.0

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is not None:
            return self._kb
        kb = _shared_kb()
        if time.monotonic() - self._checked > REFRESH_SECONDS:
            kb.refresh()
            self._checked = time.monotonic()
        return kb


class KnowledgeAction(KnowledgeMixin, Action, ABC):
    @abstractmethod
    def name(self) -> str:
        """Every concrete action names itself; abstract, so rasa_sdk does not register this base."""

    @abstractmethod
    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        """The action's reply to a Danish message."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        return await self.respond(dispatcher, tracker, domain)

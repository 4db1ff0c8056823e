"""Rasa's SQL tracker store, with personal data redacted before any event is written.

endpoints.yml names its subclass `bot.tracker_store.ConversationStore` (faster queries, outage handling);
the URL comes from TRACKER_STORE_URL (SQLite file by default, PostgreSQL in production). The conversation in memory
keeps the user's words for the turn in progress, so NLU works on what was typed; what is stored (and
read back next turn) holds placeholders instead.
"""
from __future__ import annotations

from typing import Iterator

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event

from bot.privacy.redaction import redact_value


class RedactingSQLTrackerStore(SQLTrackerStore):
    def _additional_events(self, session, tracker) -> Iterator[Event]:
        for event in super()._additional_events(session, tracker):
            yield Event.from_parameters(redact_value(event.as_dict()))

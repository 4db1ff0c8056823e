"""Rasa's SQL tracker store, with personal data redacted before any event is written.

Configured in endpoints.yml (`type: bot.privacy.tracker_store.RedactingSQLTrackerStore`); the URL comes
from TRACKER_STORE_URL (SQLite file by default, PostgreSQL in production). The conversation in memory
keeps the user's words for the turn in progress, so NLU works on what was typed; what is stored (and
read back next turn) holds placeholders instead.

After a database outage the pooled connections are dead; the engine tests each connection before use
(`pool_pre_ping`, one round trip), so the first message after the database is back is answered normally,
and a PostgreSQL server that does not answer fails a connection after CONNECT_TIMEOUT seconds instead of
blocking Rasa's event loop (see bot/availability.py for what the user is told meanwhile).
"""
from __future__ import annotations

from typing import Iterator

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, is_postgresql_url
from rasa.shared.core.events import Event

from bot.privacy.redaction import redact_value

CONNECT_TIMEOUT = 5  # seconds


class RedactingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        options = create_engine_kwargs(url)
        if is_postgresql_url(url):
            options.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT)
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **options)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    def _additional_events(self, session, tracker) -> Iterator[Event]:
        for event in super()._additional_events(session, tracker):
            yield Event.from_parameters(redact_value(event.as_dict()))

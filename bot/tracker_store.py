"""The tracker store configured in endpoints.yml: Rasa's SQL tracker store with redaction (bot/privacy),
made cheaper per message and kept off the event loop.

Profiling the Rasa server under load (py-spy, 10 concurrent conversations on PostgreSQL) put 25 % of its
CPU in SQLAlchemy's ORM, all of it inside Rasa's SQLTrackerStore: each message loads every event of the
conversation as an ORM object and writes each new event with its own INSERT through the unit of work. And
Rasa runs those queries synchronously on its single event loop, so every other conversation waits for
PostgreSQL's round trips and commits. Here the same queries are plain SQLAlchemy Core statements (one
SELECT of the `data` column, one multi-row INSERT), run in a worker thread. The table, the rows, the order
(by id), the conversation-session rule (events since the latest session start) and the redaction of every
stored event are Rasa's and bot/privacy's, unchanged. A turn whose user message has an id that is stored
already (nginx resent it after the replica that stored it died, see bot/cluster.py) is not stored twice.

Outages (see bot/availability.py for what the user is told meanwhile): after a database restart the pooled
connections are dead; a read or write that finds its connection gone is run once more on a fresh one
(SQLAlchemy then discards the whole stale pool), so the first message after the database is back is
answered normally; only a failed commit is not repeated, as it may have been stored. A PostgreSQL server
that does not answer fails a connection after CONNECT_TIMEOUT seconds.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging

import sqlalchemy as sa
from rasa.core.tracker_store import create_engine_kwargs, is_postgresql_url
from rasa.shared.core.events import SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.privacy.tracker_store import RedactingSQLTrackerStore

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds


def _message_ids(events) -> set[str]:
    return {e.message_id for e in events if isinstance(e, UserUttered) and e.message_id}


def _once_more_after_disconnect(work, *args):
    try:
        return work(*args)
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return work(*args)


class ConversationStore(RedactingSQLTrackerStore):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if is_postgresql_url(self.engine.url):
            url, options = self.engine.url, create_engine_kwargs(self.engine.url)
            options.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT)
            self.engine.dispose()
            self.engine = sa.create_engine(url, **options)
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    def _events_query(self, sender_id: str, fetch_events_from_all_sessions: bool):
        events = self.SQLEvent.__table__
        query = sa.select(events.c.data).where(events.c.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = (sa.select(sa.func.max(events.c.timestamp))
                             .where(events.c.sender_id == sender_id, events.c.type_name == SessionStarted.type_name)
                             .scalar_subquery())
            query = query.where(sa.or_(events.c.timestamp >= session_start, session_start.is_(None)))
        return query.order_by(events.c.id)

    def _load(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = session.execute(self._events_query(sender_id, fetch_events_from_all_sessions)).scalars().all()
        if not (self.domain and rows):
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in rows], self.domain.slots)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        return await asyncio.to_thread(_once_more_after_disconnect, self._load, sender_id,
                                       fetch_events_from_all_sessions)

    def _store(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            new = list(self._additional_events(session, tracker))  # redacted (bot/privacy)
            stored = itertools.islice(tracker.events, len(tracker.events) - len(new))
            if _message_ids(new) & _message_ids(stored):
                logger.info("A resent message is stored already (same message id); its turn is not stored again")
                return
            rows = []
            for event in new:
                data = event.as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                             "timestamp": data.get("timestamp"), "action_name": data.get("name"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "data": json.dumps(data)})
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            try:
                session.commit()
            except sa.exc.DBAPIError as error:  # stored or not is unknown: never repeated here
                raise RuntimeError("the tracker store's commit failed") from error

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        await asyncio.to_thread(_once_more_after_disconnect, self._store, tracker)

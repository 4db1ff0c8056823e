"""The tracker store configured in endpoints.yml: Rasa's SQL tracker store with redaction (core/redaction.py),
made cheaper per message and kept off the event loop.

Under load, a large part of the Rasa server's CPU was SQLAlchemy's ORM inside Rasa's SQLTrackerStore
(profile: benchmarks/results/load.md): each message loads every event of the
conversation as an ORM object and writes each new event with its own INSERT through the unit of work. And
Rasa runs those queries synchronously on its single event loop, so every other conversation waits for
PostgreSQL's round trips and commits. Here the same queries are plain SQLAlchemy Core statements (one
SELECT of the `data` column, one multi-row INSERT), run in a worker thread. The table, the rows, the order
(by id), the conversation-session rule (events since the latest session start) and the redaction of every
stored event are Rasa's and core/redaction.py's, unchanged. A turn whose user message has an id that is stored
already (nginx resent it after the replica that stored it died, see bot/ops/cluster.py) is not stored twice.

Outages (see bot/server/availability.py for what the user is told meanwhile): after a database restart the
pooled connections are dead; a read or write that finds its connection gone is run once more on a fresh one
(SQLAlchemy then discards the whole stale pool), so the first message after the database is back is
answered normally; only a failed commit is not repeated, as it may have been stored. A PostgreSQL server
that does not answer fails a connection after CONNECT_TIMEOUT seconds.

Cache: reading every event of the conversation for each message made a message's cost grow with
the conversation. The process keeps the stored rows (the `data` text exactly as read, so a served tracker is
what a fresh load would give: redacted, never the in-memory tracker that was saved) of the latest session
of up to TRACKER_CACHE_SIZE recently used conversations, with the highest row id read. A retrieve then
asks for the rows of that sender with id >= that id, in one SELECT on Rasa's sender_id index: the rows
other replicas or this one wrote since (a conversation's lock is held while its rows are written, so a
newer row always has a larger id), plus the highest row read itself. That row must come back unchanged:
if it is gone the conversation was erased (core/events_table.py, in any process), and if it differs
SQLite reused the id of an erased row; either way the cache entry is dropped and the conversation is
loaded afresh. Rasa's session rule (events whose timestamp is >= the latest session start's) is applied to
the cached rows and the new ones, as the database would. `retrieve_full_tracker` (all sessions) and
saving are not cached: `save` still counts the stored rows of the session in the database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, is_postgresql_url
from rasa.shared.core.events import Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from core.config import load_settings
from core.redaction import redact_value

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, with personal data redacted (core/redaction.py) before any event is written.
    The conversation in memory keeps the user's words for the turn in progress, so NLU works on what was
    typed; what is stored (and read back next turn) holds placeholders instead."""

    def _additional_events(self, session, tracker):
        for event in super()._additional_events(session, tracker):
            yield Event.from_parameters(redact_value(event.as_dict()))


def _message_ids(events) -> set[str]:
    return {e.message_id for e in events if isinstance(e, UserUttered) and e.message_id}


def _once_more_after_disconnect(work, *args):
    try:
        return work(*args)
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return work(*args)


@dataclass(frozen=True)
class _Row:
    id: int
    timestamp: float | None
    data: str


@dataclass(frozen=True)
class _Cached:
    """What a fresh load of one conversation's latest session gives, and how far it has been read.
    Never changed in place: worker threads may hold an entry while another thread replaces it."""

    rows: tuple[_Row, ...]  # the latest session's rows, by id
    session_start: float | None  # the latest session start's timestamp (None: no session started yet)
    last: _Row  # the highest row read, possibly outside the session (a session start with an older timestamp)

    @classmethod
    def of(cls, rows: list[tuple]) -> "_Cached":
        """From the (id, timestamp, type_name, data) rows of a fresh load of the latest session."""
        starts = [ts for _, ts, kind, _ in rows if kind == SessionStarted.type_name and ts is not None]
        kept = tuple(_Row(id_, ts, data) for id_, ts, _, data in rows)
        return cls(kept, max(starts, default=None), kept[-1])

    def extended(self, rows: list[tuple]) -> "_Cached":
        """With the rows written since (id order). Rasa's rule is by timestamp, not by position: the
        `action_session_start` event stored before `session_started` has a later timestamp and stays."""
        start = self.session_start
        for _, ts, kind, _ in rows:
            if kind == SessionStarted.type_name and ts is not None and (start is None or ts > start):
                start = ts
        new = [_Row(id_, ts, data) for id_, ts, _, data in rows]
        if start == self.session_start:
            kept, candidates = self.rows, new
        else:
            # a later session start: what is kept is among the cached rows (all >= the old start) and the new
            kept, candidates = (), [*self.rows, *new]
        kept += tuple(
            row
            for row in candidates
            if start is None or (row.timestamp is not None and row.timestamp >= start)
        )
        return _Cached(kept, start, new[-1] if new else self.last)


class _Recent:
    """A bounded, thread-safe LRU of conversations (the tracker store runs its queries in worker threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sender_id: str) -> _Cached | None:
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is not None:
                self._entries.move_to_end(sender_id)
            return entry

    def put(self, sender_id: str, entry: _Cached) -> None:
        with self._lock:
            self._entries[sender_id] = entry
            self._entries.move_to_end(sender_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, sender_id: str) -> None:
        with self._lock:
            self._entries.pop(sender_id, None)


def _sqlite_pragmas(connection, _record) -> None:
    """The SQLite file (`make run`'s default) in write-ahead-log mode: readers (the web app, the action
    server's checklist links) do not block the writer, and a commit appends to the log without an fsync
    (synchronous=NORMAL; after a power cut the last turns may be lost, the file stays consistent). Under
    SQLAlchemy 1.4 a file database also got a new connection per query; the pool keeps them open (the
    queries run in worker threads, hence check_same_thread=False; each connection is used by one thread at a
    time)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ConversationStore(RedactingSQLTrackerStore):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._recent = _Recent(load_settings().tracker_cache_size)
        url = self.engine.url
        sqlite = url.get_backend_name() == "sqlite"
        if is_postgresql_url(url):
            options = create_engine_kwargs(url)
            options.setdefault("connect_args", {}).setdefault("connect_timeout", CONNECT_TIMEOUT)
        elif sqlite and url.database not in (None, "", ":memory:"):
            options = {"poolclass": sa.pool.QueuePool, "connect_args": {"check_same_thread": False}}
        else:
            return
        self.engine.dispose()
        self.engine = sa.create_engine(url, **options)
        if sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    def _events_query(self, sender_id: str, fetch_events_from_all_sessions: bool, *columns):
        events = self.SQLEvent.__table__
        query = sa.select(*columns or [events.c.data]).where(events.c.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = (
                sa.select(sa.func.max(events.c.timestamp))
                .where(events.c.sender_id == sender_id, events.c.type_name == SessionStarted.type_name)
                .scalar_subquery()
            )
            query = query.where(sa.or_(events.c.timestamp >= session_start, session_start.is_(None)))
        return query.order_by(events.c.id)

    def _load(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions or not self._recent.size:
            with self.session_scope() as session:
                rows = (
                    session.execute(self._events_query(sender_id, fetch_events_from_all_sessions))
                    .scalars()
                    .all()
                )
        else:
            rows = [row.data for row in self._read(sender_id)]
        if not (self.domain and rows):
            return None
        return DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in rows], self.domain.slots
        )

    def _read(self, sender_id: str) -> tuple[_Row, ...]:
        """The latest session's rows, through the cache: only rows written since it was read are fetched."""
        events = self.SQLEvent.__table__
        columns = (events.c.id, events.c.timestamp, events.c.type_name, events.c.data)
        cached = self._recent.get(sender_id)
        with self.session_scope() as session:
            if cached is not None:
                since = session.execute(
                    sa.select(*columns)
                    .where(events.c.sender_id == sender_id, events.c.id >= cached.last.id)
                    .order_by(events.c.id)
                ).all()
                if since and since[0].id == cached.last.id and since[0].data == cached.last.data:
                    entry = cached.extended([tuple(row) for row in since[1:]])
                    self._recent.put(sender_id, entry)
                    return entry.rows
                # the highest row read is gone (erased, maybe written anew): read it all again
                self._recent.drop(sender_id)
            rows = session.execute(self._events_query(sender_id, False, *columns)).all()
        if not rows:
            return ()
        entry = _Cached.of([tuple(row) for row in rows])
        self._recent.put(sender_id, entry)
        return entry.rows

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await asyncio.to_thread(
            _once_more_after_disconnect, self._load, sender_id, fetch_events_from_all_sessions
        )

    def _store(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            new = list(self._additional_events(session, tracker))  # redacted (core/redaction.py)
            stored = itertools.islice(tracker.events, len(tracker.events) - len(new))
            if _message_ids(new) & _message_ids(stored):
                logger.info(
                    "A resent message is stored already (same message id); its turn is not stored again"
                )
                return
            rows = []
            for event in new:
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "action_name": data.get("name"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            try:
                session.commit()
            except sa.exc.DBAPIError as error:  # stored or not is unknown: never repeated here
                raise RuntimeError("the tracker store's commit failed") from error

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        await asyncio.to_thread(_once_more_after_disconnect, self._store, tracker)

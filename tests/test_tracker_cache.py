"""The tracker store's cache of recent conversations (bot/server/tracker_store.py, issue 19) on real SQLite
files and a real PostgreSQL: whatever it serves must equal what a fresh load from the database gives, with
other replicas writing the same conversation, after a session restart, after erasure (in another process) and
after a resent message; and a retrieve must read only the rows written since the last one."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from core.config import ROOT, SettingsError, load_settings
from tests.conftest import POSTGRES_URL, postgres_available, require_service

TURNS = 22
SESSION_RESTART = 11  # the turn before which a new conversation session starts (as after an idle hour)


@pytest.fixture(scope="module")
def domain():
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.sqlite'}"
        return
    require_service("PostgreSQL", postgres_available(), POSTGRES_URL)
    schema = f"tracker_cache_test_{os.getpid()}"  # a schema of its own: other test runs use the same database
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def make_store(domain, monkeypatch):
    """make_store(url, cache_size) → a ConversationStore, as a Rasa process (replica) would create it."""
    from bot.server.tracker_store import ConversationStore

    stores = []

    def make(url: str, cache_size: int = 300):
        monkeypatch.setenv("TRACKER_CACHE_SIZE", str(cache_size))
        stores.append(ConversationStore(domain=domain, host=url))
        return stores[-1]

    yield make
    for store in stores:
        store.engine.dispose()


@pytest.fixture
def fetched(monkeypatch):
    """Counts the rows the tracker store's SELECTs return (all its reads end in `.all()`)."""
    from sqlalchemy.engine.result import Result, ScalarResult

    counter = {"rows": 0}

    def counting(original):
        def all_rows(self):
            rows = original(self)
            counter["rows"] += len(rows)
            return rows

        return all_rows

    for kind in (Result, ScalarResult):
        monkeypatch.setattr(kind, "all", counting(kind.all))
    return counter


def session_start(tracker) -> None:
    """What Rasa's action_session_start leaves: `session_started` is made inside the action, before the
    `action_session_start` event that Rasa logs first, so that one has the later timestamp."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet

    started = SessionStarted(timestamp=time.time())
    tracker.update(ActionExecuted("action_session_start", timestamp=started.timestamp + 0.001))
    tracker.update(started)
    for name in ("municipality", "diagnosis"):  # carried over to the new session
        if tracker.get_slot(name) is not None:
            tracker.update(SlotSet(name, tracker.get_slot(name)))
    tracker.update(ActionExecuted("action_listen"))


ROWS_PER_TURN = 7


def turn(tracker, number: int) -> None:
    """One message and the assistant's answer, as the Rasa server leaves them in the tracker."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    municipality = ("Aalborg", "Vejle", "Odense")[number % 3]
    text = f"vi bor i {municipality}, ring på 12 34 56 {number:02d}"  # a phone number: stored redacted
    entities = [
        {"entity": "municipality", "value": municipality, "start": 9, "end": 9 + len(municipality)},
        {"entity": "age", "value": number % 18, "start": 0, "end": 2},
    ]
    tracker.update(
        UserUttered(
            text, {"name": "inform", "confidence": 0.93}, entities, message_id=f"{tracker.sender_id}-{number}"
        )
    )
    tracker.update(SlotSet("municipality", municipality))
    tracker.update(SlotSet("age", float(number % 18)))
    tracker.update(ActionExecuted("action_answer"))
    tracker.update(
        BotUttered(f"Svar {number} for {municipality}", {"custom": {"kind": "answer", "region": "x"}})
    )
    tracker.update(SlotSet("topic", f"emne-{number}"))
    tracker.update(ActionExecuted("action_listen"))


def as_compared(tracker) -> dict:
    return {
        "events": [event.as_dict() for event in tracker.events],
        "slots": tracker.current_slot_values(),
        "latest_message": tracker.latest_message.as_dict() if tracker.latest_message else None,
    }


async def converse(stores, fresh, sender: str, fetched=None) -> list[int]:
    """TURNS turns, turn n handled by stores[n % len(stores)] (replicas taking turns); after each save every
    store's tracker must be what the cache-less store loads. Returns the rows each turn's retrieve read."""
    tracker = await stores[0].get_or_create_tracker(sender)
    session_start(tracker)
    rows_read = []
    for number in range(1, TURNS + 1):
        store = stores[number % len(stores)]
        if number > 1:
            before = fetched["rows"] if fetched else 0
            tracker = await store.retrieve(sender)  # the next message's retrieve, as in the Rasa server
            rows_read.append((fetched["rows"] - before) if fetched else 0)
        if number == SESSION_RESTART:
            session_start(tracker)
        turn(tracker, number)
        await store.save(tracker)
        expected = as_compared(await fresh.retrieve(sender))
        for each in stores:
            assert as_compared(await each.retrieve(sender)) == expected, f"turn {number}"
    return rows_read


def test_served_trackers_equal_fresh_loads_and_read_only_new_rows(url, make_store, fetched):
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    from bot.server.tracker_store import RedactingSQLTrackerStore

    cached, fresh = make_store(url), make_store(url, cache_size=0)

    async def main():
        # the comparison retrieves of converse() are counted too; measure the next-message retrieves alone
        rows_read = []
        tracker = await cached.get_or_create_tracker("anna")
        session_start(tracker)
        for number in range(1, TURNS + 1):
            if number > 1:
                before = fetched["rows"]
                tracker = await cached.retrieve("anna")
                rows_read.append(fetched["rows"] - before)
                before = fetched["rows"]
                assert as_compared(tracker) == as_compared(await fresh.retrieve("anna")), f"turn {number}"
                rows_read[-1] = (rows_read[-1], fetched["rows"] - before)
            if number == SESSION_RESTART:
                session_start(tracker)
            turn(tracker, number)
            await cached.save(tracker)
        rasas = RedactingSQLTrackerStore(domain=cached.domain, host=url)
        try:
            return rows_read, await cached.retrieve("anna"), await rasas.retrieve("anna")
        finally:
            rasas.engine.dispose()

    rows_read, served, rasas = asyncio.run(main())
    assert as_compared(served) == as_compared(rasas)  # and what Rasa's own SQLTrackerStore loads
    # the latest session only, from its action_session_start (stored before session_started, later timestamp)
    first, second = list(served.events)[:2]
    assert isinstance(first, ActionExecuted) and first.action_name == "action_session_start"
    assert isinstance(second, SessionStarted)
    assert sum(isinstance(e, UserUttered) for e in served.events) == TURNS - SESSION_RESTART + 1
    assert all("[telefonnummer fjernet]" in e.text for e in served.events if isinstance(e, UserUttered))
    (cached_2nd, fresh_2nd), (cached_20th, fresh_20th) = rows_read[0], rows_read[18]
    print(
        f"\n[{url.split(':')[0]}] rows fetched by the 2nd retrieve: cached {cached_2nd}, fresh {fresh_2nd}; "
        f"by the 20th: cached {cached_20th}, fresh {fresh_20th}"
    )
    # the 2nd is the cache's first read (the 1st found no conversation); then only the turn's rows + the last
    assert cached_2nd == fresh_2nd and cached_20th == ROWS_PER_TURN + 1 < fresh_20th


def test_two_replicas_writing_in_turns_each_see_the_others_events(url, make_store):
    first, second, fresh = make_store(url), make_store(url), make_store(url, cache_size=0)
    asyncio.run(converse([first, second], fresh, "bo"))


def test_an_erased_conversation_is_not_served_from_the_cache(url, make_store):
    """Erased by the CLI (another process), then by retention.erase as "Slet samtalen" does in the Rasa
    process, and then written anew by another replica: on SQLite the new rows reuse the erased rows' ids."""
    from core.events_table import erase

    store, other, fresh = make_store(url), make_store(url), make_store(url, cache_size=0)

    async def main():
        await converse([store], fresh, "carl")
        env = {**os.environ, "TRACKER_STORE_URL": url}
        subprocess.run(
            [sys.executable, "-m", "bot", "privacy", "forget", "carl"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        assert await store.retrieve("carl") is None
        new = await store.get_or_create_tracker("carl")
        assert [e.as_dict()["event"] for e in new.events] == ["action"]  # a new, empty conversation

        await converse([store], fresh, "dora")
        anchor = store._recent.get("dora").last
        assert erase(url, "dora") > 0
        again = await other.get_or_create_tracker("dora")  # the other replica starts it again, a bit longer
        session_start(again)
        for number in range(1, TURNS + 3):
            turn(again, number)
        await other.save(again)
        with other.engine.connect() as connection:
            reused = connection.execute(
                sa.text("SELECT sender_id, data FROM events WHERE id = :id"), {"id": anchor.id}
            ).first()
        return (
            anchor,
            reused,
            as_compared(await store.retrieve("dora")),
            as_compared(await fresh.retrieve("dora")),
        )

    anchor, reused, served, loaded = asyncio.run(main())
    assert served == loaded
    if url.startswith("sqlite"):  # SQLite gave the cached last row's id to a new row of the same conversation
        assert reused.sender_id == "dora" and reused.data != anchor.data
    else:  # PostgreSQL's sequence never hands out an id twice
        assert reused is None


def test_a_resent_message_is_stored_once(url, make_store):
    from rasa.shared.core.events import BotUttered, UserUttered

    store, fresh = make_store(url), make_store(url, cache_size=0)

    async def main():
        tracker = await store.get_or_create_tracker("eva")
        turn(tracker, 1)
        await store.save(tracker)
        again = await store.retrieve("eva")
        again.update(
            UserUttered("vi bor i Vejle, ring på 12 34 56 01", {"name": "inform"}, message_id="eva-1")
        )  # nginx resent it after the replica that stored it died
        again.update(BotUttered("Svar"))
        await store.save(again)
        return await store.retrieve("eva"), await fresh.retrieve("eva")

    served, loaded = asyncio.run(main())
    assert as_compared(served) == as_compared(loaded)
    assert [e.message_id for e in served.events if isinstance(e, UserUttered)] == ["eva-1"]


def test_the_cache_holds_at_most_its_size_and_zero_turns_it_off(tmp_path, make_store):
    url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    small, off, fresh = (
        make_store(url, cache_size=2),
        make_store(url, cache_size=0),
        make_store(url, cache_size=0),
    )

    async def main():
        for sender in ("a", "b", "c"):
            await converse([small], fresh, sender)
        assert list(small._recent._entries) == ["b", "c"]  # "a", least recently used, was dropped
        assert as_compared(await small.retrieve("a")) == as_compared(await fresh.retrieve("a"))
        assert list(small._recent._entries) == ["c", "a"]
        await off.retrieve("a")
        assert not off._recent._entries

    asyncio.run(main())


@pytest.mark.parametrize(
    "url", ["postgresql"], indirect=True
)  # its pooled connections are what a restart breaks
def test_after_a_database_restart_the_cached_conversation_is_read_on_a_fresh_connection(url, make_store):
    """The pooled connections die with the database (here: their backends are terminated); the read is
    run once more on a fresh connection and the cache, untouched by the failed read, still serves."""
    name = f"tracker_cache_outage_{os.getpid()}"
    store, fresh = make_store(f"{url}&application_name={name}"), make_store(url, cache_size=0)

    async def main():
        await converse([store], fresh, "finn")
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as connection:
            killed = connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"
                ),
                {"name": name},
            ).all()
        admin.dispose()
        assert killed  # the store's pooled connection was there to be broken
        return as_compared(await store.retrieve("finn")), as_compared(await fresh.retrieve("finn"))

    served, loaded = asyncio.run(main())
    assert served == loaded


@pytest.mark.parametrize("value", ["-1", "mange", "1.5"])
def test_a_bad_cache_size_is_refused_with_the_variables_name(value):
    with pytest.raises(SettingsError, match="TRACKER_CACHE_SIZE"):
        load_settings({"TRACKER_CACHE_SIZE": value})
    assert (
        load_settings({}).tracker_cache_size
        == load_settings({"TRACKER_CACHE_SIZE": ""}).tracker_cache_size
        == 300
    )


def test_the_sqlite_file_is_written_in_wal_mode_from_several_threads(tmp_path, make_store):
    """The SQLite file of `make run` in write-ahead-log mode (readers do not block the writer, a commit needs
    no fsync), on pooled connections used from the worker threads the store runs its queries in."""
    path = tmp_path / "tracker.sqlite"
    store, fresh = make_store(f"sqlite:///{path}"), make_store(f"sqlite:///{path}", cache_size=0)

    async def main():
        await asyncio.gather(*(converse([store], fresh, f"wal-{n}") for n in range(4)))

    asyncio.run(main())
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        senders = {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}
    assert senders == {f"wal-{n}" for n in range(4)}
    assert type(store.engine.pool).__name__ == "QueuePool"

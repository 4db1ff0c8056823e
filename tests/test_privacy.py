"""Redaction of CPR numbers, phone numbers and e-mail addresses."""
import pytest

from bot.privacy.redaction import redact, redact_value


@pytest.mark.parametrize("text, kinds, kept", [
    ("min søns cpr er 120385-1234", {"cpr"}, "min søns cpr er [CPR-nummer fjernet]"),
    ("cpr 1203851234 tak", {"cpr"}, "cpr [CPR-nummer fjernet] tak"),
    ("ring på 12 34 56 78", {"phone"}, "ring på [telefonnummer fjernet]"),
    ("ring på +45 12345678", {"phone"}, "ring på [telefonnummer fjernet]"),
    ("ring på 0045 1234 5678 i morgen", {"phone"}, "ring på [telefonnummer fjernet] i morgen"),
    ("skriv til anna.hansen@example.dk", {"email"}, "skriv til [e-mail fjernet]"),
])
def test_personal_data_is_replaced(text, kinds, kept):
    redacted, found = redact(text)
    assert found == kinds and redacted == kept


@pytest.mark.parametrize("text", ["123456", "hun er 16 år", "Barnets lov § 86", "999999-1234", "5.519 kr. i 2024",
                                  "sagsnummer 2024-118", "a 1234567"])
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == (text, set())


def test_nested_event_values_are_redacted():
    event = {"event": "user", "text": "cpr 120385-1234", "parse_data": {"text": "cpr 120385-1234",
             "entities": [{"value": "anna@example.dk"}]}, "timestamp": 1.0}
    redacted = redact_value(event)
    assert "120385" not in str(redacted) and "anna@" not in str(redacted)
    assert redacted["timestamp"] == 1.0


# -- retention and erasure on a real tracker store ---------------------------------------------------
import asyncio  # noqa: E402
import time  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from bot.privacy.retention import RetentionError, check_database, forget, parse_duration, purge  # noqa: E402
from tests.conftest import POSTGRES_URL, postgres_available, require_service  # noqa: E402

DAY = 86_400


def fill(url: str, conversations: dict[str, float]) -> None:
    """Store one real conversation per sender through the redacting tracker store, then age it."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.privacy.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(domain=Domain.empty(), host=url)
    for sender, age_days in conversations.items():
        tracker = DialogueStateTracker(sender, [])
        for event in (ActionExecuted("action_listen"),
                      UserUttered(f"min søn har cpr 120385-1234, skriv til far@example.dk ({sender})",
                                  {"name": "ask_aflastning", "confidence": 0.9}),
                      BotUttered("Svar")):
            tracker.update(event)
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        for sender, age_days in conversations.items():
            connection.execute(text("UPDATE events SET timestamp = :t WHERE sender_id = :s"),
                               {"t": time.time() - age_days * DAY, "s": sender})
    engine.dispose()


def rows(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        result = connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")).all()
    engine.dispose()
    stored: dict[str, list[str]] = {}
    for sender, data in result:
        stored.setdefault(sender, []).append(data)
    return stored


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.sqlite'}"
        return
    require_service("PostgreSQL", postgres_available(), POSTGRES_URL)
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS privacy_test CASCADE"))
        connection.execute(text("CREATE SCHEMA privacy_test"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3Dprivacy_test"
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS privacy_test CASCADE"))
    engine.dispose()


def test_stored_events_hold_placeholders_not_personal_data(tracker_url):
    fill(tracker_url, {"anna": 0})
    stored = " ".join(rows(tracker_url)["anna"])
    assert "120385" not in stored and "far@example.dk" not in stored
    assert "[CPR-nummer fjernet]" in stored and "[e-mail fjernet]" in stored
    assert "ask_aflastning" in stored


def test_purge_deletes_only_old_conversations(tracker_url):
    fill(tracker_url, {"gammel": 40, "ny": 2})
    assert purge(tracker_url, parse_duration("30d")) == 3
    assert set(rows(tracker_url)) == {"ny"}


def test_forget_deletes_one_conversation_and_leaves_the_others(tracker_url):
    fill(tracker_url, {"anna": 1, "bo": 1})
    assert forget(tracker_url, "anna") == 3
    assert set(rows(tracker_url)) == {"bo"}
    with pytest.raises(RetentionError, match="Ingen samtale"):
        forget(tracker_url, "anna")
    assert set(rows(tracker_url)) == {"bo"}


@pytest.mark.parametrize("value", ["", "30", "30 dage", "-3d", "0d", "abc", "30y"])
def test_bad_duration_is_refused(value):
    with pytest.raises(RetentionError, match="Ugyldig varighed"):
        parse_duration(value)


def test_corrupt_sqlite_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "tracker.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RetentionError, match="kan ikke bruges"):
        check_database(f"sqlite:///{broken}")


def test_locked_sqlite_file_is_a_clear_error_not_a_hang(tmp_path):
    import sqlite3

    path = tmp_path / "tracker.sqlite"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(RetentionError, match="låst"):
        check_database(f"sqlite:///{path}", timeout=0.5)
    assert time.monotonic() - started < 5
    holder.rollback()
    holder.close()


# -- links to printable meeting checklists go with their conversation -----------------------------------
def links(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        senders = [row[0] for row in connection.execute(text("SELECT sender_id FROM checklist_links ORDER BY sender_id"))]
    engine.dispose()
    return senders


def make_links(url: str, senders: list[str]) -> None:
    from bot.privacy.checklist_links import create_link

    engine = create_engine(url)
    for sender in senders:
        create_link(engine, sender)
    engine.dispose()


def test_forget_deletes_the_conversations_checklist_links(tracker_url):
    fill(tracker_url, {"anna": 1, "bo": 1})
    make_links(tracker_url, ["anna", "anna", "bo"])
    forget(tracker_url, "anna")
    assert links(tracker_url) == ["bo"]


def test_purge_deletes_the_checklist_links_of_purged_conversations(tracker_url):
    fill(tracker_url, {"gammel": 40, "ny": 2})
    make_links(tracker_url, ["gammel", "ny"])
    assert purge(tracker_url, parse_duration("30d")) == 3
    assert links(tracker_url) == ["ny"]


def test_purge_and_forget_work_before_any_checklist_was_made(tracker_url):
    fill(tracker_url, {"gammel": 40, "anna": 1})
    assert purge(tracker_url, parse_duration("30d")) == 3 and forget(tracker_url, "anna") == 3
    engine = create_engine(tracker_url)
    with engine.connect() as connection:
        assert not engine.dialect.has_table(connection, "checklist_links")  # created on demand, not here
    engine.dispose()


def test_checklist_link_tokens_are_random_and_say_nothing_about_the_conversation(tmp_path):
    from bot.privacy.checklist_links import create_link, find_link

    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.sqlite'}")
    made = [create_link(engine, "anna-hansen") for _ in range(20)]
    assert len({link.token for link in made}) == 20
    assert all(len(link.token) == 32 and "anna" not in link.token for link in made)
    assert find_link(engine, made[0].token).sender_id == "anna-hansen"
    token = made[0].token
    assert find_link(engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    engine.dispose()

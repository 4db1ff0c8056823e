"""Rasa's tracker store table `events`, read and deleted from outside Rasa, via SQLAlchemy: one
conversation's stored events, retention and the right to erasure.

`purge(url, older_than)` deletes whole conversations whose last event is older than the cut-off;
`forget(url, sender_id)` deletes one conversation (the widget's "Slet samtalen" uses `erase`, which is the
same without treating an empty conversation as an error). Both run in one transaction and report what they
deleted; bad input raises RetentionError before anything is touched. The links to printable meeting
checklists (core.checklist_links) go in the same transaction as their conversation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import time

from sqlalchemy import Column, MetaData, String, Table, create_engine, delete, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from core import checklist_links

DURATION = re.compile(r"^\s*(\d{1,5})\s*([dhw])\s*$")
UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


class RetentionError(ValueError):
    """A clear, Danish reason why nothing was deleted."""


def parse_duration(value: str) -> dt.timedelta:
    """'30d', '12h', '2w' → timedelta; anything else is an error."""
    match = DURATION.match(value or "")
    if not match or int(match.group(1)) == 0:
        raise RetentionError(f"Ugyldig varighed {value!r}: skriv fx 30d (dage), 12h (timer) eller 2w (uger).")
    return int(match.group(1)) * UNITS[match.group(2)]


def check_database(url: str, timeout: float = 3.0) -> None:
    """Fails fast, with a reason, on a corrupt or locked SQLite file (instead of hanging later)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    try:
        connection = sqlite3.connect(parsed.database, timeout=timeout)
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()[0]
            connection.execute("BEGIN IMMEDIATE")
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise RetentionError(
            f"Samtaledatabasen {parsed.database} kan ikke bruges ({exc}). "
            "Er den låst af et andet program eller beskadiget?"
        ) from exc
    if result != "ok":
        raise RetentionError(f"Samtaledatabasen {parsed.database} er beskadiget: {result}")


def _execute(url: str, statement: str, delete_links, **params) -> int:
    """Run the DELETE on `events`, then `delete_links(connection)`, in one transaction."""
    check_database(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if not engine.dialect.has_table(connection, "events"):
                return 0
            deleted = connection.execute(text(statement), params).rowcount
            delete_links(connection)
            return deleted
    except SQLAlchemyError as exc:
        raise RetentionError(
            f"Samtaledatabasen kunne ikke ændres ({exc.__class__.__name__}); intet er slettet."
        ) from exc
    finally:
        engine.dispose()


def _delete_orphan_links(connection) -> int:
    """Within the caller's transaction: delete checklist links whose conversation has no events left."""
    links = checklist_links.links
    if not connection.dialect.has_table(connection, links.name):
        return 0
    events = Table("events", MetaData(), Column("sender_id", String(255)))
    return connection.execute(
        delete(links).where(links.c.sender_id.not_in(select(events.c.sender_id)))
    ).rowcount


def purge(url: str, older_than: dt.timedelta, now: float | None = None) -> int:
    """Delete conversations whose latest event is older than `older_than`; returns events deleted."""
    cutoff = (now or time.time()) - older_than.total_seconds()
    return _execute(
        url,
        "DELETE FROM events WHERE sender_id IN (SELECT sender_id FROM events "
        "GROUP BY sender_id HAVING MAX(timestamp) < :cutoff)",
        _delete_orphan_links,
        cutoff=cutoff,
    )


def erase(url: str, sender_id: str) -> int:
    """Delete whatever is stored of one conversation (its events and checklist links); 0 when nothing was.
    A database that cannot be changed raises RetentionError."""
    if not sender_id or not sender_id.strip():
        raise RetentionError("Angiv samtalens id (sender_id).")
    return _execute(
        url,
        "DELETE FROM events WHERE sender_id = :sender_id",
        lambda connection: checklist_links.delete_for_sender(connection, sender_id),
        sender_id=sender_id,
    )


def forget(url: str, sender_id: str) -> int:
    """Delete every event of one conversation; an unknown sender is an error."""
    deleted = erase(url, sender_id)
    if deleted == 0:
        raise RetentionError(f"Ingen samtale med id {sender_id!r}; intet er slettet.")
    return deleted


def stored_events(engine: Engine, sender_id: str, until: float) -> list[dict]:
    """One conversation's events from the tracker store, up to `until` (when the checklist was asked for)."""
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, "events"):
            return []
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :sender AND timestamp <= :until ORDER BY id"),
            {"sender": sender_id, "until": until},
        ).all()
    return [json.loads(row[0]) for row in rows]


def events_since(engine: Engine, cutoff: float) -> list[tuple[str, str, float, str]] | None:
    """(sender_id, type_name, timestamp, data) of every event stored at or after `cutoff`, conversation by
    conversation in stored order; None when there is no `events` table yet."""
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, "events"):
            return None
        rows = connection.execute(
            text(
                "SELECT sender_id, type_name, timestamp, data FROM events "
                "WHERE timestamp >= :cutoff ORDER BY sender_id, id"
            ),
            {"cutoff": cutoff},
        ).all()
    return [tuple(row) for row in rows]

"""Links to printable meeting checklists: token → conversation, in the tracker-store database.

A link is `{web_url}/huskeliste/<token>` with a random, unguessable token (`secrets.token_urlsafe(24)`);
the URL holds nothing personal. The table `checklist_links` stores only the token, the conversation's
sender_id and when the link was made; the page is built from the conversation's events on request, so a
link stops working as soon as the conversation is purged or forgotten (core.events_table deletes the
tokens in the same transaction). The table is created on first use, not at import.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, delete, select
from sqlalchemy.engine import Connection, Engine

TOKEN_BYTES = 24
PATH = "/huskeliste/"  # where the web app serves a checklist: PATH + token

metadata = MetaData()
links = Table(
    "checklist_links",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True)
class Link:
    token: str
    sender_id: str
    created_at: float


@lru_cache(maxsize=4)
def link_url(web_url: str, token: str) -> str:
    """The address a user opens: the web app's public address, PATH and the token."""
    return f"{web_url}{PATH}{token}"


def engine_for(url: str) -> Engine:
    """One engine per database URL and process (the action server and the web app each keep theirs)."""
    return create_engine(url, pool_pre_ping=True)


def create_link(engine: Engine, sender_id: str, now: float | None = None) -> Link:
    """A new link for the conversation `sender_id`; creates the table when it is missing."""
    links.create(engine, checkfirst=True)
    link = Link(secrets.token_urlsafe(TOKEN_BYTES), sender_id, time.time() if now is None else now)
    with engine.begin() as connection:
        connection.execute(
            links.insert().values(token=link.token, sender_id=link.sender_id, created_at=link.created_at)
        )
    return link


def find_link(engine: Engine, token: str) -> Link | None:
    """The link for `token`, or None (unknown token, or no link was ever made)."""
    if not token or len(token) > 64:
        return None
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, links.name):
            return None
        row = connection.execute(select(links).where(links.c.token == token)).first()
    return Link(row.token, row.sender_id, row.created_at) if row else None


def delete_for_sender(connection: Connection, sender_id: str) -> int:
    """Within the caller's transaction: delete the links of one conversation."""
    if not connection.dialect.has_table(connection, links.name):
        return 0
    return connection.execute(delete(links).where(links.c.sender_id == sender_id)).rowcount

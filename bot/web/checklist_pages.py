"""Printable meeting checklists ("Tag med til mødet") served by the web app at /huskeliste/<token>.

The page is built on request from the conversation's events in the tracker store (up to the moment the
checklist was asked for) and the KB, so nothing but the token link is stored, and the page disappears
with the conversation. Unknown, purged or forgotten → 404 with a Danish explanation. Every value that
comes from the conversation is HTML-escaped (Jinja2 autoescape); the page runs only its own print
script (Content-Security-Policy with a nonce) and sends no Referer to the organisations it links to,
because the URL is the key to the page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.web.checklist_content import build_checklist
from bot.web.rendering import render
from core.checklist_links import PATH, engine_for, find_link
from core.config import Settings
from core.conversation import read_conversation
from core.events_table import stored_events
from knowledge_base.store import KnowledgeBase, KnowledgeBaseUnavailable

ROUTE = PATH + "{token:.*}"


def _headers(nonce: str) -> dict:
    return {
        "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Content-Type-Options": "nosniff",
    }


def _page(template: str, status: int = 200, **values) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    body = render(template, nonce=nonce, **values)
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=_headers(nonce)
    )


class ChecklistPages:
    """Reads links and events through the tracker-store engine and content through the KB (both lazily)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._kb: KnowledgeBase | None = None

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = KnowledgeBase.from_url(self.settings.kb_database_url)
        else:
            self._kb.refresh()
        return self._kb

    def checklist(self, token: str):
        """The checklist and the link's creation time, or None when the token leads to no conversation."""
        engine = engine_for(self.settings.tracker_store_url)
        link = find_link(engine, token)
        if link is None:
            return None
        conversation = read_conversation(stored_events(engine, link.sender_id, link.created_at))
        if conversation.is_empty:  # the conversation was deleted after the link was made
            return None
        return build_checklist(self.kb, conversation), dt.datetime.fromtimestamp(link.created_at)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            found = await asyncio.to_thread(self.checklist, request.match_info["token"])
        except (SQLAlchemyError, KnowledgeBaseUnavailable):
            return _page("checklist_unavailable.html", status=503)
        if found is None:
            return _page("checklist_missing.html", status=404)
        checklist, created = found
        return _page("checklist.html", c=checklist, created=created.strftime("%d.%m.%Y"))


def add_routes(app: web.Application, settings: Settings) -> None:
    """Mount the checklist pages on `app`."""
    app.router.add_get(ROUTE, ChecklistPages(settings).handle)

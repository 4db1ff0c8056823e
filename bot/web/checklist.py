"""Printable meeting checklists ("Tag med til mødet") served by the web app."""
from __future__ import annotations

from aiohttp import web

from bot.config import Settings


def add_routes(app: web.Application, settings: Settings) -> None:
    """Mount the checklist pages on `app`."""

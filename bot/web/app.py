"""The aiohttp application; `create_app(settings)` builds it, nothing runs at import."""
from __future__ import annotations

from aiohttp import web

from bot.config import Settings
from bot.web import checklist


def create_app(settings: Settings) -> web.Application:
    app = web.Application()
    checklist.add_routes(app, settings)
    return app

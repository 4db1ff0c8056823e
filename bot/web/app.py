"""The aiohttp application; `create_app(settings)` builds it, nothing runs at import.

The demo page (`/`) is `static/index.html` with the deployment's values filled in: the municipality, where
the browser reaches Rasa's socket.io, and how long conversations are kept (the widget's privacy notice
must tell the truth, so it comes from the same setting `python -m bot privacy purge` uses). The widget
itself (`/widget.js`, `/widget.css`) is plain static files: any page can embed it with one script tag.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from aiohttp import web

from bot.web import checklist_pages
from core.config import Settings, deployment_overrides
from core.events_table import DURATION, RetentionError

STATIC = Path(__file__).with_name("static")
STATIC_FILES = {"/widget.js": "application/javascript", "/widget.css": "text/css", "/demo.css": "text/css"}
UNITS = {"h": ("time", "timer"), "d": ("dag", "dage"), "w": ("uge", "uger")}
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def retention_text(value: str) -> str:
    """'30d' → '30 dage', '1w' → '1 uge': the retention period as the privacy notice says it."""
    match = DURATION.match(value or "")
    if not match or int(match.group(1)) == 0:
        raise RetentionError(
            f"Ugyldig opbevaringsperiode {value!r}: skriv fx 30d (dage), 12h (timer) eller 2w (uger)."
        )
    number = int(match.group(1))
    singular, plural = UNITS[match.group(2)]
    return f"{number} {singular if number == 1 else plural}"


def page_config(settings: Settings) -> dict[str, str]:
    """What the demo page tells the widget (data-attributes on its script tag)."""
    from knowledge_base import load_content

    deployment = load_content(settings.content_dir).deployment
    retention = settings.retention or f"{deployment['privacy']['retention_days']}d"
    return {
        "server_url": settings.rasa_public_url,
        "municipality": deployment_overrides().get("municipality") or deployment["municipality"],
        "retention": retention_text(retention),
    }


def content_security_policy(settings: Settings) -> str:
    """Only the project's own servers: the page and widget from here, the socket to Rasa."""
    rasa = urlsplit(settings.rasa_public_url)
    socket_scheme = "wss" if rasa.scheme == "https" else "ws"
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {rasa.scheme}://{rasa.netloc} {socket_scheme}://{rasa.netloc}; "
        f"frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    )


def create_app(settings: Settings) -> web.Application:
    config = page_config(settings)
    template = Template((STATIC / "index.html").read_text(encoding="utf-8"))
    page = template.substitute({key: html.escape(value, quote=True) for key, value in config.items()})
    policy = content_security_policy(settings)

    async def demo_page(_request: web.Request) -> web.Response:
        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={**COMMON_HEADERS, "Content-Security-Policy": policy},
        )

    def static_file(path: str, content_type: str):
        async def handler(_request: web.Request) -> web.FileResponse:
            return web.FileResponse(
                STATIC / path.lstrip("/"),
                headers={
                    **COMMON_HEADERS,
                    "Content-Type": f"{content_type}; charset=utf-8",
                    "Cache-Control": "no-cache",
                },
            )

        return handler

    app = web.Application()
    app.router.add_get("/", demo_page)
    for path, content_type in STATIC_FILES.items():
        app.router.add_get(path, static_file(path, content_type))
    checklist_pages.add_routes(app, settings)
    return app

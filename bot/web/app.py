"""The aiohttp application; `create_app(settings)` builds it, nothing runs at import.

The demo page (`/`) is `static/index.html` with the deployment's values filled in: the municipality, where
the browser reaches Rasa's socket.io, and how long conversations are kept (the widget's privacy notice
must tell the truth, so it comes from the same setting `python -m bot privacy purge` uses). The widget
itself is plain static files (`/widget.js`, which loads `/widget-store.js`, `/widget-render.js`,
`/widget-client.js` and `/widget.css` from beside itself): any page can embed it with one script tag. Its
socket.io client is npm's `socket.io-client` (pinned in package-lock.json), served from node_modules as
`/vendor/socket.io.min.js`: without `npm ci`, `python -m bot.web` refuses to start (check_vendor_files)
rather than serve a widget that cannot connect.
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
STATIC_FILES = {
    "/widget.js": "application/javascript",
    "/widget-store.js": "application/javascript",
    "/widget-render.js": "application/javascript",
    "/widget-client.js": "application/javascript",
    "/widget.css": "text/css",
    "/demo.css": "text/css",
}
# served from the project's node_modules (npm ci), never copied into the repository
VENDOR_FILES = {
    "/vendor/socket.io.min.js": (
        Path("node_modules/socket.io-client/dist/socket.io.min.js"),
        "application/javascript",
    ),
}
UNITS = {"h": ("time", "timer"), "d": ("dag", "dage"), "w": ("uge", "uger")}
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class VendorFileError(RuntimeError):
    """A file the widget needs from npm is missing; the message (Danish, for operators) says what to run."""


def vendor_files(root: Path) -> dict[str, tuple[Path, str]]:
    """VENDOR_FILES under `root`: URL → (file, content type)."""
    return {url: (root / relative, content_type) for url, (relative, content_type) in VENDOR_FILES.items()}


def check_vendor_files(root: Path) -> None:
    """Raises VendorFileError when a file of VENDOR_FILES is missing (no `npm ci`): `python -m bot.web` stops
    with that message rather than serve a widget that cannot connect. create_app does not check, so that
    tests of the other pages need no npm."""
    for path, _ in vendor_files(root).values():
        if not path.is_file():
            raise VendorFileError(
                f"chatwidgettens socket.io-klient mangler ({path}). Den kommer fra npm: "
                f"kør 'npm ci' i {root} (kræver Node.js og npm; versionen står i package-lock.json)."
            )


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
    """Only the project's own servers: the page, the widget and its socket.io client from here (script-src
    'self' covers /vendor/socket.io.min.js), the socket to Rasa."""
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
    vendor = vendor_files(settings.root)

    async def demo_page(_request: web.Request) -> web.Response:
        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={**COMMON_HEADERS, "Content-Security-Policy": policy},
        )

    def static_file(path: Path, content_type: str):
        async def handler(_request: web.Request) -> web.FileResponse:
            if not path.is_file():  # a vendor file after `rm -rf node_modules`: not there, not a server error
                raise web.HTTPNotFound()
            return web.FileResponse(
                path,
                headers={
                    **COMMON_HEADERS,
                    "Content-Type": f"{content_type}; charset=utf-8",
                    "Cache-Control": "no-cache",
                },
            )

        return handler

    app = web.Application()
    app.router.add_get("/", demo_page)
    for url, content_type in STATIC_FILES.items():
        app.router.add_get(url, static_file(STATIC / url.lstrip("/"), content_type))
    for url, (path, content_type) in vendor.items():
        app.router.add_get(url, static_file(path, content_type))
    checklist_pages.add_routes(app, settings)
    return app

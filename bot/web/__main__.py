"""`python -m bot.web`: serve the web app on FORLOB_HOST:WEB_PORT (started by `make run` beside Rasa)."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from bot.web.app import VendorFileError, check_vendor_files, create_app
from core.config import load_settings
from core.events_table import RetentionError
from knowledge_base.content import ContentFileError


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM; a port in use raises OSError before anything is served."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    settings = load_settings()
    try:
        check_vendor_files(settings.root)
        app = create_app(settings)
    except (RetentionError, ContentFileError, VendorFileError) as exc:
        print(f"Webappen kunne ikke starte: {exc}", file=sys.stderr)
        return 1
    except KeyError as exc:
        print(f"Webappen kunne ikke starte: deployment.yml mangler feltet {exc}.", file=sys.stderr)
        return 1
    try:
        asyncio.run(serve(app, settings.host, settings.web_port))
    except OSError as exc:
        print(
            f"Webappen kunne ikke lytte på {settings.host}:{settings.web_port}: {exc.strerror or exc}. "
            f"Vælg en anden port med WEB_PORT.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs Rasa's own CLI (`python -m bot.server.rasa_server run …`) after bot/server/patches.py has installed
this project's changes to Rasa's internals: three performance fixes (bot/server/speedups.py), the outage
handling of bot/server/availability.py, the REST rules of bot/server/channels/rest.py and the health
endpoints of bot/server/health.py. It refuses to start on a Rasa version other than the pinned one.
"""

from __future__ import annotations


def main() -> None:
    from bot.server.patches import install

    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()

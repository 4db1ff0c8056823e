"""Helpers the test modules share (fixtures live in conftest.py): talking to a running assistant over REST,
the operator CLI, conversations stored through the redacting tracker store, and what the assistant trains on.
Test modules import from here, never from each other."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from sqlalchemy import create_engine, text

from core.config import ROOT
from evaluation.nlu import examples
from knowledge_base import load_content
from tests.conftest import CONTENT

DAY = 24 * 3600
REPLY = 90_000  # ms a browser test waits for a reply; a fresh server is slow on a busy 2-core machine


# -- the REST webhook of a running assistant ---------------------------------------------------------------
def post(url: str, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def say(assistant, sender: str, message: str) -> list[dict]:
    status, body = post(
        f"{assistant.rasa_url}/webhooks/rest/webhook",
        json.dumps({"sender": sender, "message": message}).encode(),
    )
    assert status == 200, body
    return json.loads(body)


def texts(messages):
    return [m["text"] for m in messages if "text" in m]


def customs(messages):
    return [m["custom"] for m in messages if "custom" in m]


# -- the operator CLI (`python -m bot …`) --------------------------------------------------------------------
def cli(*args, env_extra=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


# -- conversations in a tracker store ------------------------------------------------------------------------
def fill(url: str, conversations: dict[str, float]) -> None:
    """Store one real conversation per sender through the redacting tracker store, then age it."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.server.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(domain=Domain.empty(), host=url)
    for sender, age_days in conversations.items():
        tracker = DialogueStateTracker(sender, [])
        for event in (
            ActionExecuted("action_listen"),
            UserUttered(
                f"min søn har cpr 120385-1234, skriv til far@example.dk ({sender})",
                {"name": "ask_aflastning", "confidence": 0.9},
            ),
            BotUttered("Svar"),
        ):
            tracker.update(event)
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        for sender, age_days in conversations.items():
            connection.execute(
                text("UPDATE events SET timestamp = :t WHERE sender_id = :s"),
                {"t": time.time() - age_days * DAY, "s": sender},
            )
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


# -- what the assistant learns from ----------------------------------------------------------------------
def trained_texts() -> set[str]:
    """Everything the assistant learns from: data/nlu and the knowledge base's asks and off-topic examples."""
    content = load_content(CONTENT)
    texts = {text for path in (ROOT / "data" / "nlu").glob("*.yml") for text, _ in examples(path)}
    texts |= {a for t in content.topics for a in t.get("asks") or []}
    texts |= {a for q in content.questions() for a in q.get("asks") or []}
    texts |= set(content.off_topic) | set(content.overview.get("asks") or [])
    texts |= set(content.referral.get("asks") or [])
    texts |= {t for messages in content.role_examples.values() for t in messages or []}
    return {" ".join(t.lower().split()) for t in texts}


# -- Debian's Chromium on the command line (printing and screenshots) -------------------------------------
def headless_chromium(chromium: str, profile) -> list[str]:
    """The start of a headless Chromium command: no network of its own, no first-run work, its log on
    stderr, a throw-away profile."""
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
    ]

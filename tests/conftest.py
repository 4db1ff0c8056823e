"""Shared fixtures: the real KB built into temporary databases, Rasa SDK tracker/dispatcher/domain, a
model trained once per session, and a running stack (action server + Rasa server) on free ports."""
from __future__ import annotations

import os
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from bot.config import ROOT, load_settings
from knowledge_base import KnowledgeBase, build_database

CONTENT = ROOT / "knowledge_base" / "content"
API_TOKEN = "test-token"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def require_service(name: str, available: bool, how: str) -> None:
    """Skip with a reason where the service is absent; CI (REQUIRE_SERVICES=1) fails instead."""
    if available:
        return
    message = f"{name} is not reachable ({how})"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; REQUIRE_SERVICES=1 makes this a failure")
    pytest.skip(message)


def postgres_available(url: str = POSTGRES_URL) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return True
    except SQLAlchemyError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def kb_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.sqlite'}"
    build_database(CONTENT, url)
    return url


@pytest.fixture(scope="session")
def kb(kb_url) -> KnowledgeBase:
    return KnowledgeBase.from_url(kb_url)


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A private copy of the real content, for tests that break it on purpose."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# -- rasa_sdk fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher():
    from rasa_sdk.executor import CollectingDispatcher

    return CollectingDispatcher()


@pytest.fixture
def tracker():
    """A factory: tracker(text, intent=..., entities=[...], slots={...})."""
    from rasa_sdk import Tracker

    def make(text: str = "", intent: str = "nlu_fallback", entities: list | None = None,
             slots: dict | None = None, events: list | None = None) -> Tracker:
        latest = {"text": text, "intent": {"name": intent, "confidence": 0.4}, "entities": entities or []}
        return Tracker("test-sender", slots or {}, latest, events or [], False, None, {}, "action_listen")

    return make


# -- a trained model and a running assistant ---------------------------------------------------------
@pytest.fixture(scope="session")
def trained_model() -> Path:
    """Trains once per session (skipped when config, domain, data and pipeline are unchanged)."""
    from bot.nlp.builder import build_pipeline
    from bot.training import train

    settings = load_settings()
    if not (settings.spacy_model_dir / "meta.json").exists():
        build_pipeline(settings.content_dir, settings.spacy_model_dir, settings.spacy_model_name)
    return train(settings)


@contextmanager
def running_stack(folder: Path, kb_url: str, extra_env: dict | None = None):
    """Action server, Rasa server and web app on free ports with their own tracker store in `folder`;
    their logs are printed when start-up fails. `extra_env` configures channels (Slack, Teams, …)."""
    from bot.processes import make_stack

    rasa_port, web_port = free_port(), free_port()
    env = {"KB_DATABASE_URL": kb_url, "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.sqlite'}",
           "FORLOB_WEB_URL": f"http://127.0.0.1:{web_port}", "FORLOB_RASA_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
           **(extra_env or {})}
    stack = make_stack(load_settings(), rasa_port=rasa_port, action_port=free_port(), web_port=web_port,
                       extra_env=env, log_dir=folder / "logs")
    stack.tracker_db = folder / "tracker.sqlite"
    try:
        stack.start()
    except Exception:
        for log in (folder / "logs").glob("*.log"):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        raise
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def assistant(trained_model, kb_url, tmp_path_factory):
    """The real action server, Rasa server and web app on free ports, with a temporary tracker store."""
    with running_stack(tmp_path_factory.mktemp("assistant"), kb_url, {"RASA_API_TOKEN": API_TOKEN}) as stack:
        yield stack

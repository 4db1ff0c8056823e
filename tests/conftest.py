"""Shared fixtures: the real KB built into temporary databases, Rasa SDK tracker/dispatcher/domain, a
model trained once per session, and a running stack (action server + Rasa server) on free ports."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from core.config import ROOT, load_settings
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

    def make(
        text: str = "",
        intent: str = "nlu_fallback",
        entities: list | None = None,
        slots: dict | None = None,
        events: list | None = None,
    ) -> Tracker:
        latest = {"text": text, "intent": {"name": intent, "confidence": 0.4}, "entities": entities or []}
        return Tracker("test-sender", slots or {}, latest, events or [], False, None, {}, "action_listen")

    return make


# -- a trained model and a running assistant ---------------------------------------------------------
@pytest.fixture(scope="session")
def trained_model() -> Path:
    """Trains once per session (skipped when config, domain, data and pipeline are unchanged)."""
    from bot.ops.spacy_pipeline import build_pipeline
    from bot.ops.training import train

    settings = load_settings()
    if not (settings.spacy_model_dir / "meta.json").exists():
        build_pipeline(settings.content_dir, settings.spacy_model_dir, settings.spacy_model_name)
    return train(settings)


@contextmanager
def running_stack(
    folder: Path, kb_url: str, extra_env: dict | None = None, also_allowed: tuple[str, ...] = ()
):
    """Action server, Rasa server and web app on free ports with their own tracker store in `folder`;
    their logs are printed when start-up fails. `extra_env` configures channels (Slack, Teams, …);
    `also_allowed` are page origins besides the web app's own whose browsers may use socket.io."""
    from bot.ops.processes import make_stack
    from bot.web.app import VENDOR_FILES
    from core.config import allowed_origins

    # the web app refuses to start without the widget's socket.io client from npm
    for relative, _ in VENDOR_FILES.values():
        require_service(f"npm's {relative}", (ROOT / relative).is_file(), "run 'npm ci' (make test does)")
    rasa_port, web_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    env = {
        "KB_DATABASE_URL": kb_url,
        "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.sqlite'}",
        "FORLOB_WEB_URL": web_url,
        "FORLOB_RASA_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
        **(extra_env or {}),
    }
    if (
        also_allowed
    ):  # setting FORLOB_ALLOWED_ORIGINS replaces the default, so the web app's own are listed too
        env["FORLOB_ALLOWED_ORIGINS"] = ",".join([*allowed_origins("", web_url), *also_allowed])
    stack = make_stack(
        load_settings(),
        rasa_port=rasa_port,
        action_port=free_port(),
        web_port=web_port,
        extra_env=env,
        log_dir=folder / "logs",
    )
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


WEBCHAT_PAGE = ROOT / "tests" / "webchat" / "index.html"
WEBCHAT_BUNDLE = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"  # its UMD build (npm ci)


@pytest.fixture(scope="session")
def test_pages():
    """A page on an origin of its own that embeds Rasa's standard web client, rasa-webchat (tests/webchat/,
    its bundle from node_modules), as a municipality's site would. Up for the whole session, so that the
    assistant can allow its origin at start-up. Yields the page's origin."""
    files = {
        "/webchat/": (WEBCHAT_PAGE, "text/html; charset=utf-8"),
        "/webchat/rasa-webchat.js": (WEBCHAT_BUNDLE, "text/javascript; charset=utf-8"),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path, kind = files.get(self.path.split("?", 1)[0], (None, None))
            if path is None or not path.exists():
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def assistant(trained_model, kb_url, tmp_path_factory, test_pages):
    """The real action server, Rasa server and web app on free ports, with a temporary tracker store; the
    web app's pages and `test_pages` may use its socket.io."""
    with running_stack(
        tmp_path_factory.mktemp("assistant"),
        kb_url,
        {"RASA_API_TOKEN": API_TOKEN},
        also_allowed=(test_pages,),
    ) as stack:
        yield stack


# Markers follow what a test uses, so that `make test-fast` (`-m "not rasa and not services and not browser
# and not slow"`) never trains a model, starts a browser or needs PostgreSQL or Redis.
MARKED_BY_FIXTURE = {"trained_model": "rasa", "browser": "browser"}


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKED_BY_FIXTURE.items():
            if fixture in used:
                item.add_marker(marker)
        if "postgresql" in getattr(getattr(item, "callspec", None), "params", {}).values():
            item.add_marker("services")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    require_service(
        "Chromium", shutil.which("chromium") is not None, "`make system-deps` installs Debian's chromium"
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("Playwright", False, "pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()

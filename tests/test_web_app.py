"""The web app without a browser: the demo page with its injected widget config, the widget's files (and
socket.io-client from node_modules), 404s, and the start-up error without `npm ci`."""

import json
import re
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

import bot.web.__main__ as web_main
from bot.web.app import (
    STATIC,
    STATIC_FILES,
    VENDOR_FILES,
    VendorFileError,
    check_vendor_files,
    create_app,
    retention_text,
)
from core.config import ROOT, load_settings
from core.events_table import RetentionError
from tests.conftest import require_service

SOCKET_IO = VENDOR_FILES["/vendor/socket.io.min.js"][0]  # node_modules/socket.io-client/dist/…
STAND_IN = "/* a stand-in for socket.io-client's browser bundle */"
WIDGET_SCRIPTS = [path for path in STATIC_FILES if path.endswith(".js")]


@pytest.fixture
def settings(monkeypatch, tmp_path):
    """Settings whose root holds a stand-in for the npm bundle, so that these tests need no `npm ci`
    (test_socket_io_client_is_served_from_node_modules checks the real one)."""
    monkeypatch.delenv("FORLOB_MUNICIPALITY", raising=False)
    (tmp_path / SOCKET_IO).parent.mkdir(parents=True)
    (tmp_path / SOCKET_IO).write_text(STAND_IN, encoding="utf-8")
    settings = load_settings(
        {
            "FORLOB_RASA_PUBLIC_URL": "https://rasa.eksempelby.invalid/",
            "FORLOB_WEB_URL": "https://chat.eksempelby.invalid",
        }
    )
    return replace(settings, root=tmp_path)


async def get(app, path: str):
    async with TestClient(TestServer(app)) as client:
        response = await client.get(path)
        return response.status, response.headers, await response.text()


def script_tag(page: str) -> str:
    tags = re.findall(r"<script[^>]*>", page)
    assert len(tags) == 1, tags  # the widget is embedded by one script tag
    return tags[0]


async def test_demo_page_embeds_the_widget_with_the_deployment_config(settings):
    status, headers, page = await get(create_app(settings), "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    tag = script_tag(page)
    assert 'src="/widget.js"' in tag
    assert 'data-server-url="https://rasa.eksempelby.invalid"' in tag
    assert 'data-municipality="Eksempelby Kommune"' in tag
    assert 'data-retention="30 dage"' in tag  # privacy.retention_days in deployment.yml
    assert '<html lang="da">' in page and "$" not in page
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "wss://rasa.eksempelby.invalid" in policy
    assert "script-src 'self';" in policy  # the widget's files and /vendor/socket.io.min.js, all from here
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from other servers


async def test_config_follows_the_environment_and_is_escaped(settings, monkeypatch):
    monkeypatch.setenv("FORLOB_MUNICIPALITY", 'Fjordby "Kommune" <b>')
    _, _, page = await get(create_app(replace(settings, retention="2w")), "/")
    tag = script_tag(page)
    assert 'data-municipality="Fjordby &quot;Kommune&quot; &lt;b&gt;"' in tag
    assert 'data-retention="2 uger"' in tag


@pytest.mark.parametrize(
    "path, content_type, marker",
    [
        ("/widget.js", "application/javascript; charset=utf-8", '"widget-client.js"'),
        ("/widget-store.js", "application/javascript; charset=utf-8", "ns.store = "),
        ("/widget-render.js", "application/javascript; charset=utf-8", "ns.render = "),
        ("/widget-client.js", "application/javascript; charset=utf-8", "ns.client = "),
        ("/widget.css", "text/css; charset=utf-8", ".fg-root"),
        ("/demo.css", "text/css; charset=utf-8", "body"),
        ("/vendor/socket.io.min.js", "application/javascript; charset=utf-8", STAND_IN),
    ],
)
async def test_widget_files_are_served_with_their_content_type(settings, path, content_type, marker):
    status, headers, body = await get(create_app(settings), path)
    assert status == 200 and headers["Content-Type"] == content_type
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert marker in body


def test_widget_js_loads_each_of_its_parts():
    """The loader names every part the web app serves, and each part attaches its object to the namespace."""
    loader = (STATIC / "widget.js").read_text(encoding="utf-8")
    parts = [path.lstrip("/") for path in WIDGET_SCRIPTS if path != "/widget.js"]
    assert parts == ["widget-store.js", "widget-render.js", "widget-client.js"]  # the order they load in
    assert f"var MODULES = {json.dumps(parts)};" in loader
    assert '"vendor/socket.io.min.js"' in loader
    for part in parts:
        code = (STATIC / part).read_text(encoding="utf-8")
        assert code.rstrip().endswith("})(window.Forlobsguiden = window.Forlobsguiden || {});"), part


async def test_socket_io_client_is_served_from_node_modules(settings):
    """The real browser bundle of the socket.io-client version package-lock.json pins."""
    require_service("socket.io-client", (ROOT / SOCKET_IO).is_file(), "run 'npm ci' (make test does)")
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/socket.io-client"]["version"]
    assert lock["packages"][""]["dependencies"]["socket.io-client"] == version  # a runtime dependency, exact
    status, headers, body = await get(create_app(replace(settings, root=ROOT)), "/vendor/socket.io.min.js")
    assert status == 200 and headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert f"Socket.IO v{version}" in body and ".io=" in body  # the UMD bundle that sets window.io


async def test_a_missing_socket_io_bundle_stops_the_start_with_a_clear_message(
    settings, tmp_path, monkeypatch, capsys
):
    bare = replace(settings, root=tmp_path / "without-npm-ci")
    with pytest.raises(VendorFileError, match="kør 'npm ci'"):
        check_vendor_files(bare.root)
    status, _, _ = await get(create_app(bare), "/vendor/socket.io.min.js")
    assert status == 404  # create_app itself does not check (tests of the other pages need no npm)
    monkeypatch.setattr(web_main, "load_settings", lambda: bare)
    assert web_main.main() == 1
    error = capsys.readouterr().err
    assert error.startswith("Webappen kunne ikke starte: chatwidgettens socket.io-klient mangler")
    assert "socket.io-client/dist/socket.io.min.js" in error and "kør 'npm ci'" in error


@pytest.mark.parametrize("path", WIDGET_SCRIPTS)
async def test_widget_never_writes_html(settings, path):
    _, _, script = await get(create_app(settings), path)
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)
    code = script.split("*/", 1)[1]  # after the header comment (which shows examples with URLs)
    code = code.replace('"http://www.w3.org/2000/svg"', "")  # a namespace name, never fetched
    assert not re.search(r"[\"'](https?:)?//", code)  # no URL of another server in the code


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/static/index.html",
        "/widget.js/../index.html",
        "/index.html",
        "/vendor/socket.io.js",  # only the one bundle, not node_modules
        "/node_modules/socket.io-client/dist/socket.io.min.js",
        "/vendor/../package.json",
    ],
)
async def test_unknown_paths_are_404(settings, path):
    status, _, _ = await get(create_app(settings), path)
    assert status == 404


def test_retention_text():
    assert [retention_text(v) for v in ("30d", "1d", "12h", "1w", "2w")] == [
        "30 dage",
        "1 dag",
        "12 timer",
        "1 uge",
        "2 uger",
    ]
    with pytest.raises(RetentionError, match="30d"):
        retention_text("en måned")

"""The web app without a browser: the demo page with its injected widget config, the widget's files, 404s."""

import re
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.app import create_app, retention_text
from core.config import load_settings
from core.events_table import RetentionError


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.delenv("FORLOB_MUNICIPALITY", raising=False)
    return load_settings(
        {
            "FORLOB_RASA_PUBLIC_URL": "https://rasa.eksempelby.invalid/",
            "FORLOB_WEB_URL": "https://chat.eksempelby.invalid",
        }
    )


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
        ("/widget.js", "application/javascript; charset=utf-8", "session_request"),
        ("/widget.css", "text/css; charset=utf-8", ".fg-root"),
        ("/demo.css", "text/css; charset=utf-8", "body"),
    ],
)
async def test_widget_files_are_served_with_their_content_type(settings, path, content_type, marker):
    status, headers, body = await get(create_app(settings), path)
    assert status == 200 and headers["Content-Type"] == content_type
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert marker in body


async def test_widget_never_writes_html(settings):
    _, _, script = await get(create_app(settings), "/widget.js")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)
    code = script.split("*/", 1)[1]  # after the header comment (which shows an embed example)
    code = code.replace('"http://www.w3.org/2000/svg"', "")  # a namespace name, never fetched
    assert not re.search(r"[\"'](https?:)?//", code)  # no URL of another server in the code


@pytest.mark.parametrize("path", ["/nope", "/static/index.html", "/widget.js/../index.html", "/index.html"])
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

"""The chat widget in real headless Chromium against the real stack (web app, Rasa socket.io, actions).

Playwright drives Debian's /usr/bin/chromium (no `playwright install`); axe-core comes from node_modules
(`npm ci`, done by `make test`). Screenshot of the open widget: tests/artefacts/widget.png. The last tests
load the widget's parts (widget-store.js, widget-render.js, widget-client.js) on their own into an empty
page, without any server.
"""

import http.server
import json
import re
import shutil
import threading
from urllib.parse import unquote

import pytest

from core.config import ROOT
from tests.conftest import require_service
from tests.support import REPLY

pytestmark = pytest.mark.rasa

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
HISTORY = (
    "JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage)"
    '.find(k => k.startsWith("forlobsguiden:"))))'
)
# wait_for_function takes functions, not expressions: the demo page's CSP forbids eval
MORE_BOT_MESSAGES = "n => document.querySelectorAll('.fg-log .fg-msg--bot').length > n"


def new_page(browser, url: str, viewport: dict | None = None, before=None, **options):
    """A fresh browser context (empty sessionStorage) on `url`, recording script errors and dialogs;
    `before(page)` runs before the page loads (e.g. to route its WebSocket)."""
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 800}, locale="da-DK", **options
    )
    page = context.new_page()
    if before:
        before(page)
    page.set_default_timeout(REPLY)
    page.errors, page.dialogs = [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    return page


@pytest.fixture
def page(browser, assistant):
    """The demo page as served (with its Content-Security-Policy); fails on any script error or dialog."""
    page = new_page(browser, assistant.web_url + "/")
    yield page
    page.context.close()
    assert page.errors == [] and page.dialogs == []


def open_widget(page):
    page.get_by_role("button", name="Spørg Forløbsguiden").click()
    # by id: on a small screen the open panel covers the window and the launcher is hidden
    assert page.locator("#fg-launcher").get_attribute("aria-expanded") == "true"
    return page.get_by_role("textbox", name="Skriv dit spørgsmål")


def bot_messages(page) -> int:
    return page.locator(".fg-log .fg-msg--bot").count()


def ask(page, text: str) -> None:
    """Type and send; wait until at least one reply arrived."""
    before = bot_messages(page)
    page.get_by_role("textbox", name="Skriv dit spørgsmål").fill(text)
    page.keyboard.press("Enter")
    page.wait_for_function(MORE_BOT_MESSAGES, arg=before)


def wait_for_answer(page, answers: int) -> None:
    """An answer is complete when its linked source line and the feedback question have arrived."""
    from playwright.sync_api import expect

    expect(page.locator(".fg-log .fg-source")).to_have_count(answers)
    expect(page.locator(".fg-log .fg-msg--bot", has_text="Var svaret til hjælp?")).to_have_count(answers)


def stored(page) -> dict:
    return page.evaluate(HISTORY)


def custom_payloads(page) -> list[dict]:
    return [e["message"]["custom"] for e in stored(page)["history"] if "custom" in e.get("message", {})]


def test_ask_answer_with_source_then_a_button(page):
    from playwright.sync_api import expect

    notice = page.locator(".fg-privacy-short")
    expect(notice).to_be_hidden()
    input_box = open_widget(page)
    expect(input_box).to_be_focused()
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Skriv ikke CPR-nummer")
    expect(notice).to_contain_text("En sjælden diagnose sammen med alder og by")
    ask(page, "hvad er aflastning")
    wait_for_answer(page, 1)
    log = page.locator(".fg-log")
    expect(log.locator(".fg-msg--user .fg-bubble").last).to_have_text("hvad er aflastning")
    answer = custom_payloads(page)[0]
    source = log.locator(".fg-source").first
    expect(source).to_contain_text("Kilde: ")
    href = source.get_by_role("link").first.get_attribute("href")
    assert unquote(href) == unquote(answer["sources"][0]["url"])
    assert log.locator(".fg-msg--bot", has_text="Kilde:").count() == 1  # linked, not repeated
    assert custom_payloads(page)[0]["kind"] == "answer" and custom_payloads(page)[0]["topic"] == "aflastning"

    artefacts = ROOT / "tests" / "artefacts"
    artefacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artefacts / "widget.png"))

    button = log.locator(".fg-source").locator("..").get_by_role("button").first
    title = button.inner_text()
    button.click()
    expect(log.locator(".fg-msg--user .fg-bubble").last).to_have_text(title)
    wait_for_answer(page, 2)
    topics = [c.get("topic") for c in custom_payloads(page) if c["kind"] == "answer"]
    assert topics[0] == "aflastning" and topics[1] not in (None, "aflastning")


def test_feedback_buttons_send_the_feedback_intents(page):
    from playwright.sync_api import expect

    open_widget(page)
    ask(page, "hvad er merudgifter")
    wait_for_answer(page, 1)
    thumbs_up = page.get_by_role("button", name="Ja", exact=True)
    expect(thumbs_up).to_be_visible()
    expect(page.get_by_role("button", name="Nej", exact=True)).to_be_visible()
    assert (
        thumbs_up.locator("svg").count() == 1 and "👍" not in thumbs_up.inner_text()
    )  # no emoji font needed
    thumbs_up.click()
    expect(page.locator(".fg-log .fg-msg--user .fg-bubble").last).to_have_text("Ja")
    expect(page.locator(".fg-log .fg-msg--bot").last).to_contain_text("tak for din tilbagemelding")


def turn_done(page, payloads: int) -> None:
    """Wait until `payloads` custom payloads are stored: every reply here ends with one, so the turn is over
    and no late write to sessionStorage can race a reload."""
    page.wait_for_function(
        f"n => ({HISTORY}).history.filter(e => e.message && e.message.custom).length >= n", arg=payloads
    )


def test_reload_keeps_the_conversation_and_start_over_clears_it(page):
    from playwright.sync_api import expect

    open_widget(page)
    ask(page, "jeg er sagsbehandler")
    turn_done(page, 1)
    session = stored(page)["sessionId"]
    page.reload()
    log = page.locator(".fg-log")
    expect(page.get_by_role("textbox", name="Skriv dit spørgsmål")).to_be_visible()  # still open
    expect(log).to_contain_text("jeg er sagsbehandler")
    ask(page, "hvad er aflastning")  # same session after the reload: the role is remembered
    wait_for_answer(page, 1)
    assert stored(page)["sessionId"] == session
    assert [c["audience"] for c in custom_payloads(page) if c["kind"] == "answer"] == ["fagperson"]

    page.get_by_role("button", name="Slet samtalen").click()
    page.get_by_role("button", name="Ja, slet samtalen").click()
    expect(log).not_to_contain_text("jeg er sagsbehandler")
    expect(log.locator(".fg-source")).to_have_count(0)
    page.wait_for_function(f"old => ({HISTORY}).sessionId && ({HISTORY}).sessionId !== old", arg=session)
    page.reload()
    expect(log).not_to_contain_text("jeg er sagsbehandler")
    expect(log).not_to_contain_text("Aflastning betyder")
    ask(page, "hvad er aflastning")  # a new conversation: the role is forgotten
    wait_for_answer(page, 1)
    assert [c["audience"] for c in custom_payloads(page) if c["kind"] == "answer"] == ["foraelder"]


def test_reconnects_and_sends_what_was_typed_while_offline(page):
    from playwright.sync_api import expect

    sockets = []

    def through(route):  # pass the widget's WebSocket through to Rasa, keeping a handle to drop it
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/socket\.io/"), through)
    page.reload()
    open_widget(page)
    ask(page, "hej")
    turn_done(page, 1)
    sockets[0].close()
    status = page.locator(".fg-status")
    expect(status).to_contain_text("Forbindelsen er afbrudt")
    ask(page, "hvad er aflastning")  # sent once the widget is back on the same session
    wait_for_answer(page, 1)
    expect(status).to_have_text("")
    assert len(sockets) == 2


def test_keyboard_only(page):
    from playwright.sync_api import expect

    launcher = page.get_by_role("button", name="Spørg Forløbsguiden")
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "fg-launcher":
            break
    expect(launcher).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"  # visible focus
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("textbox", name="Skriv dit spørgsmål")).to_be_focused()
    page.keyboard.type("hvad er aflastning")
    page.keyboard.press("Enter")
    wait_for_answer(page, 1)

    for _ in range(40):  # from the input, Tab through the panel to the answer's first topic button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.fg-log button.fg-choice')"):
            break
    title = page.locator(":focus").inner_text()
    assert title and page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "3px"
    page.keyboard.press("Enter")
    expect(page.locator(".fg-log .fg-msg--user .fg-bubble").last).to_have_text(title)
    # focus follows the conversation: back to the input, not stranded on a used button
    expect(page.get_by_role("textbox", name="Skriv dit spørgsmål")).to_be_focused()
    wait_for_answer(page, 2)

    page.keyboard.press("Escape")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(launcher).to_be_focused()
    expect(page.locator("#fg-panel")).to_be_hidden()


HOSTILE_BOT_MESSAGES = [
    {
        "from": "bot",
        "message": {
            "text": "<b>fed</b> <img src=x onerror=alert(3)> se https://example.org/a.",
            "quick_replies": [
                {"type": "web_url", "title": "<i>x</i>", "url": "javascript:alert(4)"},
                {"title": "<u>y</u>", "payload": "/greet"},
            ],
        },
    },
    {
        "from": "bot",
        "message": {
            "custom": {
                "kind": "organisations",
                "sources": [{"title": "<script>alert(5)</script>", "url": "javascript:alert(6)"}],
                "source_line": [
                    {"text": "Kilde: "},
                    {"text": "<script>alert(5)</script>", "url": "javascript:alert(6)"},
                ],
                "organisations": [
                    {
                        "name": "<img src=y onerror=alert(7)>",
                        "url": "javascript:alert(8)",
                        "phone": "12 34 56 78",
                    }
                ],
            }
        },
    },
]


def test_html_in_messages_is_shown_as_text(browser, assistant):
    """With the page's CSP switched off (so an injected handler *would* fire), markup stays text: typed by
    the user, restored after a reload, and in bot text, sources, organisations and link buttons."""
    from playwright.sync_api import expect

    page = new_page(browser, assistant.web_url + "/", bypass_csp=True)
    open_widget(page)
    attacks = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>"]
    for attack in attacks:
        ask(page, attack)
    users = page.locator(".fg-log .fg-msg--user .fg-bubble")
    expect(users).to_have_text(attacks)
    turn_done(page, len(attacks))

    # the stored conversation plus hostile bot messages, written before the widget reads it on the reload
    page.add_init_script(
        script=f"""(() => {{
        const key = Object.keys(sessionStorage).find(k => k.startsWith("forlobsguiden:"));
        const state = JSON.parse(sessionStorage.getItem(key));
        state.history.push(...{json.dumps(HOSTILE_BOT_MESSAGES)});
        sessionStorage.setItem(key, JSON.stringify(state)); }})()"""
    )
    page.reload()
    log = page.locator(".fg-log")
    expect(users).to_have_text(attacks)
    expect(log).to_contain_text("<b>fed</b> <img src=x onerror=alert(3)> se https://example.org/a")
    expect(log).to_contain_text("Kilde: <script>alert(5)</script>")
    expect(log.get_by_role("button", name="<u>y</u>")).to_be_visible()
    expect(log.get_by_role("link", name="https://example.org/a")).to_have_attribute(
        "href", "https://example.org/a"
    )
    expect(log.get_by_role("link", name="Ring 12 34 56 78")).to_have_attribute("href", "tel:12345678")
    assert log.locator("img, script, b, i, u").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    page.wait_for_timeout(500)  # an injected handler would have fired by now
    page.context.close()
    assert page.errors == [] and page.dialogs == []


def test_organisations_are_cards_with_links_and_phone(page, kb):
    from playwright.sync_api import expect

    home = kb.organisation("sjaeldne-diagnoser")["url"]

    open_widget(page)
    ask(page, "er der en forening for angelman")
    cards = page.locator(".fg-log .fg-org")
    expect(cards.first).to_be_visible()
    card = cards.filter(has_text="Sjældne Diagnoser").first
    expect(card.get_by_role("link", name="Hjemmeside Sjældne Diagnoser")).to_have_attribute("href", home)
    kinds = [c["kind"] for c in custom_payloads(page)]
    assert "organisations" in kinds
    # the reply's link buttons that a card repeats are left out
    assert page.locator(f".fg-choice--link[href='{home}']").count() == 0
    # an organisation with a sourced phone number gets a link that calls it
    phone = kb.organisation("viso")["phone"]
    ask(page, "hvem er VISO?")
    viso = page.locator(".fg-log .fg-org").filter(has_text="VISO").last
    expect(viso.get_by_role("link", name=f"Ring {phone}")).to_have_attribute(
        "href", "tel:" + phone.replace(" ", "")
    )


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_accessibility_axe_and_small_screens(browser, assistant):
    from playwright.sync_api import expect

    require_service("axe-core", AXE.exists(), "run 'npm ci' (make test does)")
    page = new_page(browser, assistant.web_url + "/", bypass_csp=True)  # axe is injected as an inline script
    assert axe_violations(page) == []  # closed
    open_widget(page)
    ask(page, "hvad er aflastning")
    wait_for_answer(page, 1)
    page.locator(".fg-privacy summary").click()
    # what is removed before storage, and what is not (the README and docs/privacy.md say the same)
    details = page.locator(".fg-privacy")
    expect(details).to_contain_text("adresser og de fleste navne fjernes, før noget gemmes")
    expect(details).to_contain_text("helbredsoplysninger kan ikke fjernes automatisk")
    assert axe_violations(page) == []  # open, with an answer, buttons, links and the privacy details

    for width, height in ((320, 640), (640, 400)):  # a phone, and 1280×800 at 200 % zoom
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        for control in (
            page.get_by_role("textbox", name="Skriv dit spørgsmål"),
            page.get_by_role("button", name="Send"),
            page.get_by_role("button", name="Luk chatten"),
        ):
            expect(control).to_be_in_viewport()
        assert axe_violations(page) == []
    page.context.close()
    assert page.errors == []


@pytest.fixture
def foreign_page(assistant):
    """A page on another origin (another port) that embeds the widget from the web app."""
    page = (
        f'<!doctype html><html lang="da"><title>En anden side</title><body><main><h1>En anden side</h1>'
        f'</main><script src="{assistant.web_url}/widget.js" data-server-url="{assistant.rasa_url}" defer>'
        f"</script></body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_without_its_socket_io_client_the_widget_says_it_is_offline_and_tries_again(browser, assistant):
    """/vendor/socket.io.min.js cannot be loaded (the web app is down for a moment): the widget shows itself
    and says it is offline, throws nothing at the page, and connects once the file can be had again."""
    from playwright.sync_api import expect

    blocked = re.compile(r"/vendor/socket\.io\.min\.js$")
    page = new_page(
        browser, assistant.web_url + "/", before=lambda page: page.route(blocked, lambda r: r.abort())
    )
    input_box = open_widget(page)
    status = page.locator(".fg-status")
    expect(status).to_contain_text("Forbindelsen er afbrudt")
    before = bot_messages(page)
    input_box.fill("hvad er aflastning")  # kept in the outbox meanwhile
    page.keyboard.press("Enter")
    page.unroute(blocked)
    page.wait_for_function(MORE_BOT_MESSAGES, arg=before)
    wait_for_answer(page, 1)
    expect(status).to_have_text("")
    page.context.close()
    assert page.errors == [] and page.dialogs == []


def test_a_page_on_another_origin_cannot_talk_to_the_assistant(browser, foreign_page):
    from playwright.sync_api import expect

    page = new_page(browser, foreign_page)
    open_widget(page).fill("hej")  # the widget itself loads fine there
    page.keyboard.press("Enter")
    expect(page.locator(".fg-status")).to_contain_text("Forbindelsen er afbrudt")
    page.wait_for_timeout(3000)
    assert bot_messages(page) == 1  # only the widget's own introduction: Rasa refused the socket
    assert "sessionId" not in stored(page)
    page.context.close()


# -- on a phone, at zoom and by keyboard (the answer in view, focus that follows, an honest reset) -----------
SIZES = [
    ("phone", 375, 740, 1),
    ("desktop", 1280, 800, 1),
    ("zoom200", 640, 400, 2),
    ("zoom400", 320, 256, 4),
]
NEWEST_ANSWER = """() => {
    const log = document.querySelector('.fg-log');
    const users = log.querySelectorAll('.fg-msg--user');
    const first = users[users.length - 1].nextElementSibling;
    const box = log.getBoundingClientRect(), start = first.getBoundingClientRect();
    const end = log.lastElementChild.getBoundingClientRect();
    return {logTop: box.top, logBottom: box.bottom, firstTop: start.top, turnHeight: end.bottom - start.top,
            text: first.textContent};
}"""
TAB_STOPS = (
    "() => Array.from(document.querySelectorAll('#fg-panel a[href], #fg-panel button, #fg-panel input, "
    "#fg-panel summary, #fg-panel [tabindex]')).filter(e => e.tabIndex >= 0 && !e.disabled "
    "&& e.getClientRects().length && !e.closest('[hidden]')).length"
)


@pytest.mark.parametrize("name, width, height, scale", SIZES)
def test_the_newest_answer_starts_in_view_and_the_header_stays(
    browser, assistant, name, width, height, scale
):
    from playwright.sync_api import expect

    require_service("axe-core", AXE.exists(), "run 'npm ci' (make test does)")
    page = new_page(
        browser,
        assistant.web_url + "/",
        viewport={"width": width, "height": height},
        device_scale_factor=scale,
        bypass_csp=True,
    )  # axe is injected as an inline script
    open_widget(page)
    expect(page.locator(".fg-privacy-short")).to_be_visible()
    ask(page, "hvad er aflastning")
    wait_for_answer(page, 1)
    # once the conversation has started, the notice is one line with its disclosure, still reachable
    expect(page.locator(".fg-privacy-short")).to_be_hidden()
    expect(page.locator(".fg-privacy summary")).to_be_in_viewport()
    ask(page, "hvad sker der med hjælpen, når vores søn fylder 18?")
    wait_for_answer(page, 2)
    page.wait_for_timeout(200)
    seen = page.evaluate(NEWEST_ANSWER)
    assert seen["logTop"] - 1 <= seen["firstTop"] < seen["logBottom"] - 16, seen  # its first line is visible
    if name != "desktop":  # where the turn is taller than the log, scrolling to the end would hide its start
        assert seen["turnHeight"] > seen["logBottom"] - seen["logTop"], seen
    for control in (
        page.get_by_role("button", name="Luk chatten"),
        page.get_by_role("textbox", name="Skriv dit spørgsmål"),
    ):
        expect(control).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    artefacts = ROOT / "tests" / "artefacts"
    artefacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artefacts / f"widget-{name}.png"))
    assert axe_violations(page) == []
    page.context.close()
    assert page.errors == []


def test_focus_follows_the_conversation_and_tab_stops_do_not_pile_up(page):
    from playwright.sync_api import expect

    input_box = open_widget(page)
    stops = []
    for question in ("hvad er aflastning", "hvad er tabt arbejdsfortjeneste"):
        ask(page, question)
        wait_for_answer(page, len(stops) + 1)
        stops.append(page.evaluate(TAB_STOPS))
    # a quick reply pressed from the keyboard: focus goes back to the input
    button = page.locator(".fg-log button.fg-choice:not([disabled])").first
    button.focus()
    page.keyboard.press("Enter")
    expect(input_box).to_be_focused()
    wait_for_answer(page, 3)
    stops.append(page.evaluate(TAB_STOPS))
    assert max(stops[1:]) <= stops[0] + 2, stops  # an answer's own controls, not every earlier one
    assert page.locator(".fg-log button.fg-choice:not([disabled])").count() <= 8
    # the log's focus ring is inside the panel, not clipped by its edge
    page.locator(".fg-log").focus()
    assert page.evaluate("getComputedStyle(document.querySelector('.fg-log')).outlineOffset") == "-3px"


def stored_events(db, sender: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]


def test_deleting_the_conversation_asks_first_then_deletes_it_on_the_server(page, assistant):
    import urllib.error
    import urllib.request

    from playwright.sync_api import expect

    open_widget(page)
    ask(page, "hvad er aflastning")
    wait_for_answer(page, 1)
    ask(page, "kan jeg få en huskeliste til mødet med kommunen")
    checklist = page.locator(".fg-log a[href*='/huskeliste/']").first
    expect(checklist).to_be_attached()
    link = checklist.get_attribute("href")
    session = stored(page)["sessionId"]
    assert stored_events(assistant.tracker_db, session) > 0
    with urllib.request.urlopen(link, timeout=30) as response:
        assert response.status == 200

    reset = page.get_by_role("button", name="Slet samtalen")
    reset.click()  # nothing happens without a confirmation
    expect(page.get_by_text("Vil du slette samtalen og starte forfra?")).to_be_visible()
    expect(page.get_by_role("button", name="Nej, fortsæt")).to_be_focused()
    page.get_by_role("button", name="Nej, fortsæt").click()
    expect(page.get_by_text("Vil du slette samtalen og starte forfra?")).to_be_hidden()
    assert stored_events(assistant.tracker_db, session) > 0 and stored(page)["sessionId"] == session

    reset.click()
    page.get_by_role("button", name="Ja, slet samtalen").click()
    status = page.locator(".fg-status")
    expect(status).to_contain_text("slettet i din browser og i Forløbsguidens database")
    page.wait_for_function(f"old => ({HISTORY}).sessionId && ({HISTORY}).sessionId !== old", arg=session)
    assert stored_events(assistant.tracker_db, session) == 0
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(link, timeout=30)
    assert gone.value.code == 404
    expect(page.locator(".fg-log .fg-msg--user")).to_have_count(0)
    ask(page, "hej")  # the status line clears with the next message
    expect(status).to_have_text("")


def test_a_reader_who_scrolls_up_while_an_answer_arrives_is_not_yanked(browser, assistant):
    # The server's frames are held while the reader scrolls, so that the answer arrives after the scroll
    # has reached the page's script (as it does for a person), not in the same frame as a scripted wheel.
    relay = {"hold": False, "held": []}

    def flush():
        while relay["held"] and not relay["hold"]:
            ws, frame = relay["held"].pop(0)
            ws.send(frame)

    def route(page):
        def connect(ws):
            server = ws.connect_to_server()
            server.on_message(lambda frame: (relay["held"].append((ws, frame)), flush()))

        page.route_web_socket(re.compile(r"/socket\.io/"), connect)

    page = new_page(browser, assistant.web_url + "/", viewport={"width": 375, "height": 740}, before=route)
    open_widget(page)
    for question in ("hvad er aflastning", "hvad er tabt arbejdsfortjeneste"):
        ask(page, question)
        wait_for_answer(page, 1 if question.endswith("aflastning") else 2)
    before = bot_messages(page)
    relay["hold"] = True
    page.get_by_role("textbox", name="Skriv dit spørgsmål").fill("hvad sker der, når vores søn fylder 18?")
    page.keyboard.press("Enter")
    log = page.locator(".fg-log")
    log.hover()
    page.mouse.wheel(0, -5000)  # back to the start of the conversation while the answer is on its way
    page.wait_for_function("() => document.querySelector('.fg-log').scrollTop < 50")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    for _ in range(300):  # until the answer's frames are here (callbacks run while Playwright waits)
        if any("bot_uttered" in str(frame) for _, frame in relay["held"]):
            break
        page.wait_for_timeout(100)
    relay["hold"] = False
    flush()
    page.wait_for_function(MORE_BOT_MESSAGES, arg=before)
    wait_for_answer(page, 3)
    assert log.evaluate("e => e.scrollTop") < 50
    page.context.close()
    assert page.errors == []


# -- the widget's parts on their own: no web app, no Rasa, no socket ---------------------------------------
STATIC = ROOT / "bot" / "web" / "static"
# an origin of its own (so that sessionStorage works), answered by Playwright itself: no server
BLANK_ORIGIN = "http://widget.invalid"
BLANK = '<!doctype html><html lang="da"><head><title>Tom side</title></head><body><main></main></body></html>'


@pytest.fixture
def blank_page(browser):
    """An empty page on an origin of its own (so that sessionStorage works), served by Playwright itself;
    a test adds the widget's parts with `add_parts`. Fails on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="da-DK")
    context.route(f"{BLANK_ORIGIN}/**", lambda route: route.fulfill(content_type="text/html", body=BLANK))
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{BLANK_ORIGIN}/")
    page.set_content(BLANK)
    yield page
    context.close()
    assert page.errors == []


def add_parts(page, *names: str) -> None:
    for name in names:
        page.add_script_tag(path=str(STATIC / name))


STORED = """key => { const store = Forlobsguiden.store.open(key);
    return {history: store.history(), session: store.sessionId(), open: store.isOpen()}; }"""


def test_the_store_keeps_the_conversation_across_a_reload(blank_page):
    page = blank_page
    add_parts(page, "widget-store.js")
    assert page.evaluate(STORED, "forlobsguiden:a") == {"history": [], "session": None, "open": False}
    page.evaluate(
        """() => { const store = Forlobsguiden.store.open("forlobsguiden:a");
        store.remember({from: "user", text: "hvad er aflastning"});
        store.remember({from: "bot", message: {text: "Aflastning betyder …"}});
        store.setSessionId("abc123"); store.setOpen(true); }"""
    )
    page.reload()
    add_parts(page, "widget-store.js")
    kept = page.evaluate(STORED, "forlobsguiden:a")
    assert kept == {
        "history": [
            {"from": "user", "text": "hvad er aflastning"},
            {"from": "bot", "message": {"text": "Aflastning betyder …"}},
        ],
        "session": "abc123",
        "open": True,
    }
    assert page.evaluate(STORED, "forlobsguiden:b")["history"] == []  # one conversation per Rasa server

    # "Slet samtalen": history and session go, the open panel stays; a long conversation keeps its newest
    page.evaluate(
        """() => { const store = Forlobsguiden.store.open("forlobsguiden:a"); store.clear();
        for (let i = 0; i < Forlobsguiden.store.MAX_HISTORY + 5; i++) {
            store.remember({from: "user", text: "" + i}); } }"""
    )
    page.reload()
    add_parts(page, "widget-store.js")
    kept = page.evaluate(STORED, "forlobsguiden:a")
    assert kept["session"] is None and kept["open"] is True
    assert len(kept["history"]) == 300 and kept["history"][0]["text"] == "5"

    # a browser that refuses sessionStorage: the conversation is kept in memory for the page's life
    page.evaluate(
        """() => Object.defineProperty(window, "sessionStorage", {get() {
        throw new DOMException("blocked", "SecurityError"); }})"""
    )
    assert page.evaluate("() => { try { return !sessionStorage; } catch (e) { return true; } }")
    page.evaluate(
        """() => { const store = Forlobsguiden.store.open("forlobsguiden:c");
        store.remember({from: "user", text: "hej"}); store.setSessionId("def456"); }"""
    )
    assert page.evaluate(STORED, "forlobsguiden:c") == {
        "history": [{"from": "user", "text": "hej"}],
        "session": "def456",
        "open": False,
    }


SOURCE_LINE = [
    {"text": "Kilde: "},
    {"text": "Socialstyrelsen", "url": "https://socialstyrelsen.dk/aflastning"},
    {"text": ", "},
    {"text": "<b>VISO</b>", "url": "javascript:alert(1)"},
    {"text": " og "},
    {"text": "<img src=x onerror=alert(2)>", "url": "data:text/html,<script>alert(3)</script>"},
    {"text": "."},
]
PLAIN_SOURCE_LINE = "".join(part["text"] for part in SOURCE_LINE)
SOURCES = """() => Array.from(document.querySelectorAll('.fg-log .fg-source')).map(line => {
    const copy = line.cloneNode(true);
    copy.querySelectorAll('.fg-sr-only').forEach(hidden => hidden.remove());  // "(åbner i et nyt vindue)"
    return {text: copy.textContent, message: line.closest('.fg-msg').querySelector('.fg-bubble') === line
                                             ? 'first' : 'later',
            links: Array.from(line.querySelectorAll('a')).map(a => [a.textContent, a.getAttribute('href'),
                                                                    a.target, a.rel])};
})"""


def test_the_renderer_turns_the_source_line_into_one_line_with_safe_links(blank_page):
    """Without a server: the payload's `source_line` parts become one line, linked only where a part has an
    http(s) `url`, all text as text; in place of the reply's paragraph that says the same, or added to it."""
    from playwright.sync_api import expect

    page = blank_page
    add_parts(page, "widget-store.js", "widget-render.js")
    page.evaluate(
        """([line, plain]) => {
        const view = Forlobsguiden.render.create({municipality: "Eksempelby Kommune"});
        window.view = view;
        view.mount(); view.setOpen(true, false);
        view.showSent("hvad er aflastning");
        view.showAnswer({text: "Aflastning betyder, at andre passer jeres barn i en periode."});
        view.showAnswer({text: plain, quick_replies: [{title: "Ja", payload: "/feedback_positive"}]});
        view.showAnswer({custom: {kind: "answer", source_line: line}});
        view.showSent("og hvem betaler?");
        view.showAnswer({text: "Det gør kommunen."});  // no paragraph with the source: the line is added
        view.showAnswer({custom: {kind: "answer", source_line: line}});
        }""",
        [SOURCE_LINE, PLAIN_SOURCE_LINE],
    )
    link = [  # a new window, and a screen reader is told so
        "Socialstyrelsen (åbner i et nyt vindue)",
        "https://socialstyrelsen.dk/aflastning",
        "_blank",
        "noopener noreferrer",
    ]
    lines = page.evaluate(SOURCES)
    assert lines == [
        {"text": PLAIN_SOURCE_LINE, "message": "first", "links": [link]},
        {"text": PLAIN_SOURCE_LINE, "message": "later", "links": [link]},
    ]
    log = page.locator(".fg-log")
    expect(log.locator(".fg-msg--bot", has_text="Kilde:")).to_have_count(2)  # replaced, not repeated
    assert log.locator("b, img, script").count() == 0
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0
    expect(log.get_by_role("button", name="Ja")).to_be_visible()
    assert page.evaluate("Forlobsguiden.client") is None  # the renderer needed no connection
    page.wait_for_timeout(300)  # an injected handler would have fired by now


def test_the_client_waits_for_its_session_and_keeps_an_outbox(blank_page):
    """widget-client.js against a stand-in for socket.io's `io`: nothing goes out before session_confirm,
    and what was sent while disconnected goes out in order on the same session after the reconnect."""
    page = blank_page
    add_parts(page, "widget-client.js")
    assert page.evaluate(
        "() => Forlobsguiden.client.endpoint('https://rasa.example/proxy/', '/socket.io')"
    ) == {"url": "https://rasa.example", "path": "/proxy/socket.io"}
    sent = page.evaluate(
        """() => {
        const log = [], handlers = {};
        const socket = {connected: false, active: true, on: (name, f) => { handlers[name] = f; },
                        emit: (name, data) => log.push([name, data]), connect: () => log.push(["connect()"])};
        const fire = (name, arg) => { if (name === "connect") socket.connected = true;
                                      if (name === "disconnect") socket.connected = false;
                                      handlers[name](arg); };
        let stored = null;
        const client = Forlobsguiden.client.create(
          {serverUrl: "http://127.0.0.1:5005", socketPath: "/socket.io", sessionId: () => stored},
          {offline: () => log.push(["offline"]), session: id => { stored = id; log.push(["session", id]); },
           message: m => log.push(["message", m]), forgotten: deleted => log.push(["forgotten", deleted])});
        client.send("hej");  // typed before socket.io-client has even loaded
        client.connect((url, options) => { log.push(["io", url, options]); return socket; });
        fire("connect");
        client.send("hvad er aflastning");  // connected, but the session is not confirmed yet
        fire("session_confirm", "abc");
        fire("bot_uttered", {text: "Hej!"});
        fire("disconnect", "transport close");
        client.send("og hvem betaler?");
        fire("connect");
        fire("session_confirm", "abc");
        return log;
        }"""
    )
    assert sent == [
        ["io", "http://127.0.0.1:5005", {"path": "/socket.io", "transports": ["websocket"]}],
        ["session_request", {"session_id": None}],
        ["session", "abc"],
        ["user_uttered", {"message": "hej", "session_id": "abc"}],
        ["user_uttered", {"message": "hvad er aflastning", "session_id": "abc"}],
        ["message", {"text": "Hej!"}],
        ["offline"],
        ["session_request", {"session_id": "abc"}],
        ["session", "abc"],
        ["user_uttered", {"message": "og hvem betaler?", "session_id": "abc"}],
    ]

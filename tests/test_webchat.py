"""Rasa's standard web client, rasa-webchat 1.0.1 (pinned in package.json, its UMD bundle from node_modules),
embedded in a page on another origin (tests/webchat/index.html, allowed by the `assistant` fixture), in real
headless Chromium against our socket.io channel: greeting, answer, quick reply, and a reload.

What rasa-webchat 1.0.1 does, read from its bundle and seen here: it keeps `{session_id, conversation, …}` in
the browser's storage under `chat_session` (sessionStorage on the test page, as our privacy notice promises;
its default is localStorage). On every connect it sends `session_request` with the stored id; when
`session_confirm` returns that same id it keeps the stored messages and sends nothing, when it returns another
id it stores that one and sends its init payload (without `initPayload`: a message without text, which our
server answers with the greeting of a new session). Only the last message's quick replies are shown, and
`{"custom": …}` messages are not shown at all (no `customComponent`).
"""

import json
import re
import sqlite3
import time

import pytest

from tests.conftest import WEBCHAT_BUNDLE, require_service
from tests.support import REPLY

pytestmark = pytest.mark.rasa

MESSAGES = ".rw-messages-container"
BOT_TEXTS = f"{MESSAGES} .rw-response .rw-message-text"
USER_TEXTS = f"{MESSAGES} .rw-client .rw-message-text"
FEEDBACK = "Var svaret til hjælp?"


@pytest.fixture
def webchat(browser, assistant, test_pages):  # noqa: F811 - `browser` is the imported fixture
    from playwright.sync_api import expect

    require_service("rasa-webchat", WEBCHAT_BUNDLE.exists(), "run 'npm ci' (make test does)")
    # rasa-webchat shows a reply's messages one by one with a typing delay of up to 3 s each
    expect.set_options(timeout=REPLY)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="da-DK")
    # its stylesheet loads a font from fonts.googleapis.com: refused here, the test needs nothing from outside
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(REPLY)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{test_pages}/webchat/?server={assistant.rasa_url}")
    yield page
    expect.set_options(timeout=5000)  # Playwright's default, for the other modules
    context.close()
    assert page.errors == []


def stored_session(page) -> dict:
    return json.loads(page.evaluate("sessionStorage.getItem('chat_session')") or "{}")


def user_messages(db, sender: str, expected: list[str], timeout: float = 15) -> list[str]:
    """The conversation's stored user messages, once they equal `expected` or `timeout` is up (Rasa sends a
    turn's replies before it saves the turn)."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db) as connection:
            rows = connection.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
            ).fetchall()
        stored = [json.loads(data)["text"] for (data,) in rows]
        if stored == expected or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def ask(page, text: str) -> None:
    page.get_by_placeholder("Skriv dit spørgsmål").fill(text)
    page.keyboard.press("Enter")


def wait_for_feedback_question(page, answers: int) -> None:
    """An answer is complete once its last message, the feedback question, is shown (rasa-webchat shows a
    reply's messages one by one, with a typing delay)."""
    from playwright.sync_api import expect

    expect(page.locator(BOT_TEXTS, has_text=FEEDBACK)).to_have_count(answers)


def test_greeting_answer_and_a_quick_reply(webchat, assistant):
    from playwright.sync_api import expect

    bot = webchat.locator(BOT_TEXTS)
    expect(bot.first).to_have_text("Hej, og velkommen til Forløbsguiden 👋")  # the first thing shown
    expect(bot.nth(2)).to_contain_text("Jeg giver vejledning, ikke afgørelser")
    assert webchat.locator(USER_TEXTS).count() == 0  # the init message without text is not shown
    session = stored_session(webchat)["session_id"]
    assert user_messages(assistant.tracker_db, session, [""]) == [""]

    ask(webchat, "hvad er aflastning?")
    expect(webchat.locator(USER_TEXTS).last).to_have_text("hvad er aflastning?")
    expect(webchat.locator(MESSAGES)).to_contain_text("Aflastning betyder, at andre passer jeres barn")
    wait_for_feedback_question(webchat, 1)
    expect(webchat.locator(MESSAGES)).to_contain_text("Kilde: ")

    replies = webchat.locator(f"{MESSAGES} .rw-replies .rw-reply")  # the last message's quick replies
    expect(replies).to_have_text(["👍", "👎"])
    replies.first.click()
    expect(webchat.locator(USER_TEXTS).last).to_have_text("👍")
    expect(bot.last).to_contain_text("tak for din tilbagemelding")
    # the button's payload reached Rasa, not its title
    sent = ["", "hvad er aflastning?", "/feedback_positive"]
    assert user_messages(assistant.tracker_db, session, sent) == sent


def test_a_reload_keeps_the_messages_and_the_conversation(webchat, assistant):
    from playwright.sync_api import expect

    bot = webchat.locator(BOT_TEXTS)
    expect(bot.first).to_have_text("Hej, og velkommen til Forløbsguiden 👋")
    ask(webchat, "jeg er sagsbehandler")
    expect(bot.last).to_contain_text("fagperson")
    # the reply is complete once its button (on its last message) is shown and the turn is stored
    expect(webchat.locator(f"{MESSAGES} .rw-replies .rw-reply").last).to_be_visible()
    session = stored_session(webchat)["session_id"]
    assert user_messages(assistant.tracker_db, session, ["", "jeg er sagsbehandler"]) == [
        "",
        "jeg er sagsbehandler",
    ]
    shown = bot.count()

    # rasa-webchat logs "session_confirm:<socket id> session_id:<id>" for what the server confirmed
    with webchat.expect_console_message(lambda m: m.text.startswith("session_confirm:")) as confirmed:
        webchat.reload()
    assert confirmed.value.text.endswith(f" session_id:{session}")  # the stored session, not a new one
    expect(webchat.locator(USER_TEXTS)).to_have_text(["jeg er sagsbehandler"])  # the stored messages
    expect(bot).to_have_count(shown)
    expect(bot.first).to_have_text("Hej, og velkommen til Forløbsguiden 👋")
    assert stored_session(webchat)["session_id"] == session

    ask(webchat, "hvordan forbereder jeg overgangen når den unge fylder 18")
    wait_for_feedback_question(webchat, 1)
    expect(webchat.locator(MESSAGES)).to_contain_text("Tjekliste")  # a caseworker's answer: the role was kept
    assert bot.filter(has_text="Hej, og velkommen").count() == 1
    sent = ["", "jeg er sagsbehandler", "hvordan forbereder jeg overgangen når den unge fylder 18"]
    assert user_messages(assistant.tracker_db, session, sent) == sent  # one conversation, before and after

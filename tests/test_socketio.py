"""The socket.io channel with session persistence: replies arrive, also after a reconnect (page reload); the
input rules of bot/server/channels/rules.py on `user_uttered` and `session_request`,
with a real socket.io client."""

import asyncio
import json
import re
import sqlite3

import pytest
import socketio

from bot.server.channels.rules import MAX_MESSAGE_LENGTH, too_long_text

pytestmark = pytest.mark.rasa


async def exchange(url: str, session_id: str, message: str) -> list[dict]:
    """Connect like a web client, request the session, send one message, collect the replies."""
    client = socketio.AsyncClient()
    replies: list[dict] = []
    confirmed = asyncio.Event()
    done = asyncio.Event()

    @client.on("session_confirm")
    async def on_confirm(data):
        confirmed.set()

    @client.on("bot_uttered")
    async def on_bot(data):
        replies.append(data)
        if "custom" in data:  # every reply here ends with its payload
            done.set()

    # long-polling: the websocket transport of the engineio client needs a newer aiohttp than Rasa pins
    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), 10)
        await client.emit("user_uttered", {"message": message, "session_id": session_id})
        await asyncio.wait_for(done.wait(), 30)
    finally:
        await client.eio.disconnect(abort=True)  # a polite long-polling disconnect waits ~30 s
        await asyncio.sleep(0.2)  # the client's read and write loops end before the test's event loop closes
    return replies


async def test_replies_arrive_with_session_persistence(assistant):
    replies = await exchange(assistant.rasa_url, "widget-session-1", "hej")
    assert replies[0]["text"].startswith("Hej, og velkommen")
    assert any(r.get("custom") == {"kind": "smalltalk"} for r in replies)


async def test_the_conversation_survives_a_reconnect(assistant):
    await exchange(assistant.rasa_url, "widget-session-2", "jeg er sagsbehandler")
    replies = await exchange(assistant.rasa_url, "widget-session-2", "hvad er aflastning")
    answers = [r["custom"] for r in replies if r.get("custom", {}).get("kind") == "answer"]
    assert answers and answers[0]["audience"] == "fagperson"


# -- the input rules (bot/server/channels/rules.py) on user_uttered ------------------------------------------
class Connection:
    """One socket.io connection of a web client, kept open across messages;
    `bot_uttered` payloads queue up."""

    def __init__(self, url: str):
        self.url = url
        self.client = socketio.AsyncClient()
        self.replies: asyncio.Queue = asyncio.Queue()
        self.confirmed: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", self.confirmed.put)

    async def __aenter__(self) -> "Connection":
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.eio.disconnect(abort=True)  # a polite long-polling disconnect waits ~30 s
        await asyncio.sleep(0.2)  # the client's read and write loops end before the test's event loop closes

    async def session(self, session_id) -> str:
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.confirmed.get(), 10)

    async def answered(self, data: dict) -> list[dict]:
        """The replies of one turn that Rasa handled: every turn here ends with a custom payload."""
        await self.client.emit("user_uttered", data)
        replies = [await asyncio.wait_for(self.replies.get(), 60)]
        while "custom" not in replies[-1]:
            replies.append(await asyncio.wait_for(self.replies.get(), 60))
        return replies

    async def refused(self, data: dict) -> dict:
        """The one reply to a message the channel refuses (that nothing reached Rasa,
        the tracker store shows)."""
        await self.client.emit("user_uttered", data)
        return await asyncio.wait_for(self.replies.get(), 30)


def stored_user_messages(db, sender) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (str(sender),)
        )
        return [json.loads(data)["text"] for (data,) in rows]


async def stored_after_the_turn(db, sender, expected: list[str], timeout: float = 15) -> list[str]:
    """Rasa sends a turn's replies before it saves the turn:
    wait until `expected` is stored (or time is up)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (
        stored := stored_user_messages(db, sender)
    ) != expected and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    return stored


NOT_TEXT = "Feltet 'message' skal være tekst."


@pytest.mark.parametrize(
    "name, message, reason",
    [
        ("list", ["hej"], NOT_TEXT),
        ("number", 7, NOT_TEXT),
        ("object", {"text": "hej"}, NOT_TEXT),
        ("too-long", "hjælp " * (MAX_MESSAGE_LENGTH // 6 + 10), too_long_text()),
    ],
)
async def test_a_refused_message_gets_its_danish_reason_and_the_socket_goes_on(
    assistant, name, message, reason
):
    session = f"sio-rules-{name}"
    async with Connection(assistant.rasa_url) as connection:
        assert await connection.session(session) == session
        assert await connection.refused({"message": message, "session_id": session}) == {"text": reason}
        replies = await connection.answered({"message": "hej", "session_id": session})  # same socket
    assert replies[0]["text"].startswith("Hej, og velkommen")
    # one conversation's messages are handled in order: the refused one, had it reached Rasa, would be first
    assert await stored_after_the_turn(assistant.tracker_db, session, ["hej"]) == ["hej"]


@pytest.mark.parametrize(
    "name, bad, reason",
    [
        ("too-long", "x" * 129, "Feltet 'session_id' er for langt: højst 128 tegn."),
        ("newline", "anna\nbent", "Feltet 'session_id' må ikke indeholde kontroltegn (fx linjeskift)."),
        ("blank", "   ", "Feltet 'session_id' mangler eller er tomt."),
        ("number", 42, "Feltet 'session_id' mangler eller er tomt."),
        ("missing", None, "Feltet 'session_id' mangler eller er tomt."),
    ],
)
async def test_a_bad_session_id_gets_its_danish_reason_and_nothing_is_stored(assistant, name, bad, reason):
    good = f"sio-good-{name}"
    async with Connection(assistant.rasa_url) as connection:
        assert await connection.session(good) == good
        data = {"message": "hvad er aflastning"} | ({} if bad is None else {"session_id": bad})
        refusal = await connection.refused(data)
        assert (
            refusal["text"].startswith(reason) and refusal["text"].isprintable() and set(refusal) == {"text"}
        )
        replies = await connection.answered({"message": "hej", "session_id": good})  # the socket still works
    assert replies[0]["text"].startswith("Hej, og velkommen")
    assert await stored_after_the_turn(assistant.tracker_db, good, ["hej"]) == ["hej"]
    if bad is not None:
        assert stored_user_messages(assistant.tracker_db, bad) == []
    assert assistant.processes[1].poll() is None  # the Rasa server is still running


async def test_a_session_request_with_an_id_the_rules_refuse_gets_a_new_one(assistant):
    """Confirming it would leave the client in a session where every message is refused."""
    async with Connection(assistant.rasa_url) as connection:
        for bad in ("x" * 129, "anna\nbent", "   ", 42):
            fresh = await connection.session(bad)
            assert fresh != bad and re.fullmatch(r"[0-9a-f]{32}", fresh)
        kept = await connection.session("sio-kept-1")  # a valid one is kept: a reloaded page goes on
        replies = await connection.answered({"message": "hej", "session_id": fresh})
    assert kept == "sio-kept-1"
    assert replies[0]["text"].startswith("Hej, og velkommen")

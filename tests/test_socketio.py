"""The socket.io channel with session persistence: replies arrive, also after a reconnect (page reload)."""
import asyncio

import pytest
import socketio

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

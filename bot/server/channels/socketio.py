"""Rasa's socket.io channel, fixed for python-socketio 5.x and for the reply contract.

Two defects of Rasa 3.6.21's channel with the python-socketio 5.x that pip resolves for it:
- `session_request` calls `sio.enter_room(...)` without `await`, but `AsyncServer.enter_room` is a
  coroutine there, so with `session_persistence: true` the socket never joins its session's room and
  every bot reply is silently lost ("coroutine 'AsyncServer.enter_room' was never awaited");
- `send_custom_json` emits the payload as keyword arguments (`emit(event, kind=…)`), which fails for our
  custom payload. Here it is sent as `{"custom": {...}}`, the same shape as in Rasa's REST output;
- `send_text_with_buttons` reads `button["payload"]`, so a link button (`url`, no payload; the organisation
  replies have them) raised KeyError and lost the reply. Here it becomes a quick reply
  `{"type": "web_url", "title": …, "url": …}`, as rasa-webchat reads it.
Rasa also switches python-engineio's origin check off (`cors_allowed_origins=[]`, CORS is left to Sanic's
`--cors`), so a page anywhere could talk to the assistant in its visitors' name. Here the socket.io
`connect` handler refuses browsers from origins not in `settings.allowed_origins` (FORLOB_ALLOWED_ORIGINS,
by default the web app's own) before Rasa's own handler runs. (Turning engineio's check back on would add
its CORS headers to Sanic's, and browsers reject a doubled Access-Control-Allow-Origin, which breaks
long-polling clients.) Clients that send no Origin header (servers, tests) are not affected.
`session_request` confirms the client's own `session_id` when it passes the sender rules of
bot/server/channels/rules.py, so a conversation goes on after a reload: rasa-webchat keeps its stored messages
only when the confirmed id equals the one it sent (otherwise it takes the new id and starts over with its init
message). An id the rules would refuse (too long, control characters) gets a new one instead of a session
in which every message would be refused. `user_uttered` applies the same rules (a message without a valid
`session_id`, one that is not text, one over 5 000 characters): the Danish reason comes back as a
`bot_uttered` to that socket only, and nothing reaches Rasa or is stored.
"Slet samtalen" in the widget sends `forget_session` with its session id; a socket that has joined that
session's room may delete it, as `python -m bot privacy forget` does (its events and its checklist links),
and is answered `session_forgotten` with `{"deleted": true|false}`.
Event names stay Rasa's (`user_uttered`, `bot_uttered`, `session_request`, `session_confirm`), so
existing Rasa web clients keep working. Configure it in credentials.yml as
`bot.server.channels.socketio.PersistentSocketIOInput`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import uuid

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

from bot.server.channels.rules import check_message, check_sender, too_long, too_long_text
from core.config import load_settings
from core.events_table import RetentionError, erase

logger = logging.getLogger(__name__)


def quick_reply(button: dict) -> dict:
    if "payload" not in button and button.get("url"):
        return {
            "content_type": "text",
            "type": "web_url",
            "title": button.get("title", ""),
            "url": button["url"],
        }
    return {"content_type": "text", "title": button.get("title", ""), "payload": button.get("payload", "")}


class ContractSocketIOOutput(SocketIOOutput):
    async def send_custom_json(self, recipient_id, json_message, **kwargs) -> None:
        await self._send_message(recipient_id, {"custom": json_message})

    async def send_text_with_buttons(self, recipient_id, text, buttons, **kwargs) -> None:
        messages = [{"text": part} for part in text.strip().split("\n\n")]
        messages[-1]["quick_replies"] = [quick_reply(button) for button in buttons]
        for message in messages:
            await self._send_message(recipient_id, message)


class PersistentSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self):
        return ContractSocketIOOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message):
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        settings = load_settings()
        allowed = settings.allowed_origins
        rasa_connect = sio.handlers[self.namespace or "/"]["connect"]

        async def connect(sid, environ, auth=None):
            origin = environ.get("HTTP_ORIGIN")
            if origin and "*" not in allowed and origin not in allowed:
                return False
            return await rasa_connect(sid, environ, auth)

        async def session_request(sid, data):
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if (
                check_sender(session_id, "session_id") is not None
            ):  # none yet, or one user_uttered would refuse
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def handle_message(sid, data):
            data = data if isinstance(data, dict) else {}
            # Rasa ignores a message without a session in silence; here the client is told why, like for a bad
            # id, since a developer wiring up a web client reads the chat first
            sender_id = data.get("session_id") if self.session_persistence else sid
            refusal = check_sender(sender_id, "session_id") or check_message(data.get("message"))
            if refusal or too_long(data.get("message")):
                # the rules of the REST webhook (bot/server/channels/rules.py); socket.io has no status code,
                # so the reason is said in the chat, and nothing reaches Rasa
                text = refusal.reason if refusal else too_long_text()
                await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=self.namespace)
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message = str(data.get("message") or "")
            await on_new_message(
                UserMessage(
                    message,
                    ContractSocketIOOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        async def forget_session(sid, data):
            session_id = data.get("session_id") if isinstance(data, dict) else None
            joined = (
                self.session_persistence
                and isinstance(session_id, str)
                and session_id in (sio.rooms(sid, namespace=self.namespace) or [])
            )
            deleted = False
            if joined:
                try:
                    await asyncio.to_thread(erase, settings.tracker_store_url, session_id)
                    deleted = True
                except RetentionError as exc:  # the database is down or locked: nothing was deleted
                    logger.warning("Could not delete a conversation on request: %s", exc)
            await sio.emit("session_forgotten", {"deleted": deleted}, room=sid, namespace=self.namespace)

        sio.on("connect", namespace=self.namespace)(connect)
        sio.on("forget_session", namespace=self.namespace)(forget_session)
        sio.on("session_request", namespace=self.namespace)(session_request)
        sio.on(self.user_message_evt, namespace=self.namespace)(handle_message)
        return blueprint

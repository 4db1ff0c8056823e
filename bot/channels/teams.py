"""Microsoft Teams channel (Azure Bot Service / Bot Framework), replacing Rasa 3.6.21's `botframework` one.

Why not Rasa's channel: it gets tokens only from the multi-tenant `botframework.com` endpoint, which new
(single-tenant) bots cannot use; it sends hero-card buttons of Rasa's shape, which Teams cannot click; it
ignores `conversationUpdate`, so nobody is welcomed; it posts the custom payload as raw JSON; and it makes
blocking `requests` calls inside async handlers. Here:

- every request's Bot Framework token is checked, and replies carry the bot's own token from the tenant's
  endpoint (bot.channels.teams_auth);
- each bot message becomes one Teams message, an Adaptive Card or Markdown text (bot.channels.teams_cards),
  posted with aiohttp to `{serviceUrl}/v3/conversations/{id}/activities/{replyToId}`;
- a `messageBack` click is routed as its payload; `conversationUpdate` with added members is routed as
  `/greet`, so the welcome is the domain's `utter_greet`.

Configured in credentials.yml as `bot.channels.teams.TeamsInput` (values from TEAMS_* variables, see
bot/config.py and docs/teams.md); webhook `/webhooks/teams/webhook`. The tracker's sender id is the Teams
user id (`from.id`), so a user's context (role, age, municipality) follows them across chats with the bot.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from yarl import URL

from bot.channels.teams_auth import (MicrosoftUnavailable, SigningKeys, TokenProvider, TokenVerifier, Unauthorized,
                                     check_activity)
from bot.channels.teams_cards import render

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)
MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)


def message_text(activity: dict) -> str:
    """What the user said: a clicked button's payload, else the text without @-mentions of the bot."""
    value = activity.get("value")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if isinstance(value, dict) and isinstance(value.get("payload"), str) and value["payload"].strip():
        return value["payload"].strip()
    return MENTION.sub(" ", str(activity.get("text") or "")).strip()


# -- the channel -------------------------------------------------------------------------------------------
class TeamsOutput(OutputChannel):
    """Replies to one incoming activity, in its conversation. Rasa hands over each bot message whole
    (`send_response`), so text, buttons and payload become one Teams message."""

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenProvider, activity: dict) -> None:
        self.session = session
        self.tokens = tokens
        self.activity = activity
        self.sent: list[dict] = []

    @classmethod
    def name(cls) -> str:
        return "teams"

    def reply_url(self) -> URL:
        base = self.activity["serviceUrl"].rstrip("/")
        conversation = quote(self.activity["conversation"]["id"], safe="")
        url = f"{base}/v3/conversations/{conversation}/activities"
        if self.activity.get("id"):
            url += "/" + quote(str(self.activity["id"]), safe="")
        return URL(url, encoded=True)

    async def send_response(self, recipient_id: str, message: dict) -> None:
        fields = render(message)
        if fields is None:
            return
        activity = {"type": "message", "from": self.activity.get("recipient"),
                    "recipient": self.activity.get("from") or {"id": recipient_id},
                    "conversation": {"id": self.activity["conversation"]["id"]}, **fields}
        if self.activity.get("id"):
            activity["replyToId"] = self.activity["id"]
        try:
            token = await self.tokens.get(self.session)
            async with self.session.post(self.reply_url(), json=activity,
                                         headers={"Authorization": f"Bearer {token}"}) as reply:
                if reply.status >= 300:
                    logger.error("Teams: the connector refused a reply (%s): %s", reply.status,
                                 (await reply.text())[:300])
                    return
        except (MicrosoftUnavailable, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.error("Teams: could not send a reply: %s", exc)
            return
        self.sent.append(activity)


def _refuse(status: int, error: str, reason: str) -> HTTPResponse:
    logger.warning("Teams: request refused (%s %s): %s", status, error, reason)
    return response.json({"error": error, "reason": reason}, status=status)


class TeamsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "teams"

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> "TeamsInput":
        credentials = credentials or {}
        return cls(**{key: str(credentials.get(key) or "") for key in
                      ("app_id", "app_password", "tenant_id", "openid_metadata_url", "token_url", "issuer")})

    def __init__(self, app_id: str, app_password: str, tenant_id: str, openid_metadata_url: str,
                 token_url: str, issuer: str) -> None:
        self.missing = [name for name, value in
                        (("app_id", app_id), ("app_password", app_password), ("tenant_id", tenant_id),
                         ("openid_metadata_url", openid_metadata_url), ("token_url", token_url),
                         ("issuer", issuer)) if not value]
        self.verifier = TokenVerifier(app_id, issuer, SigningKeys(openid_metadata_url))
        self.tokens = TokenProvider(token_url.replace("{tenant}", tenant_id), app_id, app_password)
        self.session: aiohttp.ClientSession | None = None

    def http(self) -> aiohttp.ClientSession:
        """One client session per process, opened in the server's event loop on first use."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
        return self.session

    async def close(self, *_args: Any) -> None:
        if self.session is not None:
            await self.session.close()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        teams = Blueprint("teams_webhook", __name__)
        teams.listener("after_server_stop")(self.close)

        @teams.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": not self.missing})

        @teams.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        return teams

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                      ) -> HTTPResponse:
        """Check who sent it (configuration, token, body, token against body), then handle the activity."""
        if self.missing:
            return _refuse(503, "teams_not_configured", f"{', '.join(self.missing)} missing: set TEAMS_APP_ID, "
                                                        "TEAMS_APP_PASSWORD and TEAMS_TENANT_ID (docs/teams.md)")
        authorization = request.headers.get("Authorization")
        if not authorization:
            return _refuse(401, "no_authorization", "no Authorization header")
        try:
            verified = await self.verifier.verify(self.http(), authorization)
        except Unauthorized as exc:
            return _refuse(401, "unauthorized", str(exc))
        except MicrosoftUnavailable as exc:
            return _refuse(503, "signing_keys_unavailable", str(exc))
        try:
            activity = json.loads(request.body or b"")
        except ValueError as exc:
            return _refuse(400, "invalid_json", f"the body is not JSON: {exc}")
        if not isinstance(activity, dict):
            return _refuse(400, "invalid_activity", "the body is not a Bot Framework activity (a JSON object)")
        try:
            check_activity(activity, verified)
        except Unauthorized as exc:
            return _refuse(401, "unauthorized", str(exc))
        return await self.handle(activity, on_new_message)

    async def handle(self, activity: dict, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                     ) -> HTTPResponse:
        kind = activity.get("type")
        if kind == "message":
            text = message_text(activity)
        elif kind == "conversationUpdate" and activity.get("membersAdded"):
            text = "/greet"  # the bot was added, or someone joined: the domain's welcome
        else:
            return response.json({"status": "ignored", "reason": f"activity type {kind!r} needs no answer"})
        service_url = activity.get("serviceUrl")
        conversation = activity.get("conversation")
        sender = activity.get("from") if isinstance(activity.get("from"), dict) else {}
        if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
            return _refuse(400, "invalid_activity", "the activity has no serviceUrl")
        if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
            return _refuse(400, "invalid_activity", "the activity has no conversation.id")
        output = TeamsOutput(self.http(), self.tokens, activity)
        await on_new_message(UserMessage(text, output, str(sender.get("id") or conversation["id"]),
                                         input_channel=self.name()))
        return response.json({"status": "ok", "replies": len(output.sent)})

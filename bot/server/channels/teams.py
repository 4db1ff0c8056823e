"""Microsoft Teams channel (Azure Bot Service / Bot Framework), replacing Rasa 3.6.21's `botframework` one.

Why not Rasa's channel: it gets tokens only from the multi-tenant `botframework.com` endpoint, which new
(single-tenant) bots cannot use; it sends hero-card buttons of Rasa's shape, which Teams cannot click; it
ignores `conversationUpdate`, so nobody is welcomed; it posts the custom payload as raw JSON; and it makes
blocking `requests` calls inside async handlers. Here:

- every request's Bot Framework token is checked, and replies carry the bot's own token from the tenant's
  endpoint (bot.server.channels.teams_auth);
- each bot message becomes one Teams message, an Adaptive Card or Markdown text
  (bot.server.channels.teams_cards), posted with aiohttp to
  `{serviceUrl}/v3/conversations/{id}/activities/{replyToId}`;
- a `messageBack` click is routed as its payload; `conversationUpdate` with added members is routed as
  `/greet`, so the welcome is the domain's `utter_greet`;
- a handoff reply that asks for escalation (bot.server.channels.escalation) is first posted to the expert
  channel, TEAMS_ESCALATION_CONVERSATION through the Bot Connector or else TEAMS_ESCALATION_WEBHOOK, with a
  deep link to the caseworker's message; the caseworker then reads where it went,
  or that nothing was sent and the contact.

Configured in credentials.yml as `bot.server.channels.teams.TeamsInput` (values from TEAMS_* variables, see
core/config.py and docs/teams.md); webhook `/webhooks/teams/webhook`. The tracker's sender id is the Teams
user id (`from.id`), so a user's context (role, age, municipality) follows them across chats with the bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlencode

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from yarl import URL

from bot.server.channels.escalation import Escalation, Outcome, caseworker_reply, requested
from bot.server.channels.teams_auth import (
    MicrosoftUnavailable,
    SigningKeys,
    TokenProvider,
    TokenVerifier,
    Unauthorized,
    check_activity,
)
from bot.server.channels.teams_cards import ADAPTIVE_CARD, escalation_card, render
from core.config import EscalationSettings, load_settings

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)
MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
TEAMS_WEB = "https://teams.microsoft.com"


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


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


class NotPosted(Exception):
    """Microsoft did not take a message (refused, unreachable, no token); the text says why, for the log."""


# -- the outside services: one thin wrapper each -------------------------------------------------------------
class Connector:
    """The Bot Connector service: posts an activity into a conversation with the bot's own token."""

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenProvider) -> None:
        self.session = session
        self.tokens = tokens

    async def post(
        self, service_url: str, conversation_id: str, activity: dict, reply_to: str | None = None
    ) -> dict:
        """The connector's answer (`{"id": …}`); raises NotPosted unless it took the activity."""
        url = f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        if reply_to:
            url += "/" + quote(str(reply_to), safe="")
        try:
            token = await self.tokens.get(self.session)
            async with self.session.post(
                URL(url, encoded=True), json=activity, headers={"Authorization": f"Bearer {token}"}
            ) as answer:
                text = await answer.text()
        except (MicrosoftUnavailable, aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise NotPosted(str(exc) or type(exc).__name__) from exc
        if answer.status >= 300:
            raise NotPosted(f"the connector answered {answer.status}: {text[:300]}")
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:  # taken all the same; only the resource id is missing
            body = {}
        return body if isinstance(body, dict) else {}


async def post_to_webhook(session: aiohttp.ClientSession, url: str, card: dict) -> None:
    """An Adaptive Card to a Teams incoming webhook (or a Workflows "when a Teams webhook request is received"
    URL); raises NotPosted unless it was taken. The old Office 365 connector answers 200 even when delivery
    failed, with the error as text; only a number in the body (messages delivered) means success. Workflows
    answer 202 Accepted."""
    message = {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }
    try:
        async with session.post(url, json=message) as answer:
            body = (await answer.text()).strip()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise NotPosted(str(exc) or type(exc).__name__) from exc
    if not (answer.status == 202 or (200 <= answer.status < 300 and body.isdigit() and int(body) > 0)):
        raise NotPosted(f"the webhook answered {answer.status}: {body[:300]}")


def message_link(activity: dict) -> str | None:
    """A Teams deep link to the user's message, for colleagues: in a channel the message in its thread, in a
    group chat the message in the chat. None in a personal chat with the bot, which nobody else can open."""
    conversation = _dict(activity.get("conversation"))
    conversation_id, message_id = conversation.get("id"), activity.get("id")
    if not isinstance(conversation_id, str) or not isinstance(message_id, str) or not message_id:
        return None
    channel_data = _dict(activity.get("channelData"))
    tenant = conversation.get("tenantId") or _dict(channel_data.get("tenant")).get("id")
    query = {"tenantId": tenant} if isinstance(tenant, str) and tenant else {}
    kind = conversation.get("conversationType")
    if kind == "channel":
        # a channel thread's conversation id is "19:…@thread.tacv2;messageid=<the thread's first message>"
        channel, _, parent = conversation_id.partition(";messageid=")
        query["parentMessageId"] = parent or message_id
        group = _dict(channel_data.get("team")).get("aadGroupId")
        if isinstance(group, str) and group:
            query["groupId"] = group
        return (
            f"{TEAMS_WEB}/l/message/{quote(channel, safe='')}/{quote(message_id, safe='')}?{urlencode(query)}"
        )
    if kind == "groupChat":
        query["context"] = json.dumps({"contextType": "chat"}, separators=(",", ":"))
        return (
            f"{TEAMS_WEB}/l/message/{quote(conversation_id, safe='')}/{quote(message_id, safe='')}"
            f"?{urlencode(query)}"
        )
    return None


# -- the channel -------------------------------------------------------------------------------------------
class TeamsOutput(OutputChannel):
    """Replies to one incoming activity, in its conversation. Rasa hands over each bot message whole
    (`send_response`), so text, buttons and payload become one Teams message."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenProvider,
        activity: dict,
        escalation: EscalationSettings | None = None,
    ) -> None:
        self.session = session
        self.connector = Connector(session, tokens)
        self.activity = activity
        self.escalation = escalation or EscalationSettings()
        self.sent: list[dict] = []

    @classmethod
    def name(cls) -> str:
        return "teams"

    async def send_response(self, recipient_id: str, message: dict) -> None:
        escalation = requested(message)
        if escalation is not None:
            message = await self.escalate(message, escalation)
        fields = render(message)
        if fields is None:
            return
        activity = {
            "type": "message",
            "from": self.activity.get("recipient"),
            "recipient": self.activity.get("from") or {"id": recipient_id},
            "conversation": {"id": self.activity["conversation"]["id"]},
            **fields,
        }
        if self.activity.get("id"):
            activity["replyToId"] = self.activity["id"]
        try:
            await self.connector.post(
                self.activity["serviceUrl"],
                self.activity["conversation"]["id"],
                activity,
                reply_to=self.activity.get("id"),
            )
        except NotPosted as exc:
            logger.error("Teams: could not send a reply: %s", exc)
            return
        self.sent.append(activity)

    async def escalate(self, message: dict, escalation: Escalation) -> dict:
        """Post the caseworker's question to the expert channel; the message the caseworker gets says what
        happened. Only a post Microsoft took counts as sent."""
        settings = self.escalation
        if not settings.teams_configured:
            return caseworker_reply(message, Outcome.NOT_CONFIGURED, settings)
        name = _dict(self.activity.get("from")).get("name")
        private = _dict(self.activity.get("conversation")).get("conversationType") == "personal"
        card = escalation_card(
            escalation,
            name if isinstance(name, str) and name.strip() else None,
            message_link(self.activity),
            private,
        )
        try:
            if settings.teams_conversation:
                # the caseworker's own serviceUrl: the tenant's Teams region,
                # which also serves the expert channel
                await self.connector.post(
                    self.activity["serviceUrl"],
                    settings.teams_conversation,
                    {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": card}]},
                )
            else:
                await post_to_webhook(self.session, settings.teams_webhook, card)
        except NotPosted as exc:
            logger.error("Teams: the escalation was not sent: %s", exc)
            return caseworker_reply(message, Outcome.FAILED, settings)
        return caseworker_reply(message, Outcome.SENT, settings, settings.teams_channel_name or None)


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
        return cls(
            **{
                key: str(credentials.get(key) or "")
                for key in (
                    "app_id",
                    "app_password",
                    "tenant_id",
                    "openid_metadata_url",
                    "token_url",
                    "issuer",
                )
            },
            escalation=load_settings().escalation,
        )  # read when Rasa starts the channel, not at import

    def __init__(
        self,
        app_id: str,
        app_password: str,
        tenant_id: str,
        openid_metadata_url: str,
        token_url: str,
        issuer: str,
        escalation: EscalationSettings | None = None,
    ) -> None:
        self.missing = [
            name
            for name, value in (
                ("app_id", app_id),
                ("app_password", app_password),
                ("tenant_id", tenant_id),
                ("openid_metadata_url", openid_metadata_url),
                ("token_url", token_url),
                ("issuer", issuer),
            )
            if not value
        ]
        self.verifier = TokenVerifier(app_id, issuer, SigningKeys(openid_metadata_url))
        self.tokens = TokenProvider(token_url.replace("{tenant}", tenant_id), app_id, app_password)
        self.escalation = escalation or EscalationSettings()
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

    async def receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Check who sent it (configuration, token, body, token against body), then handle the activity."""
        if self.missing:
            return _refuse(
                503,
                "teams_not_configured",
                f"{', '.join(self.missing)} missing: set TEAMS_APP_ID, "
                "TEAMS_APP_PASSWORD and TEAMS_TENANT_ID (docs/teams.md)",
            )
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
            return _refuse(
                400, "invalid_activity", "the body is not a Bot Framework activity (a JSON object)"
            )
        try:
            check_activity(activity, verified)
        except Unauthorized as exc:
            return _refuse(401, "unauthorized", str(exc))
        return await self.handle(activity, on_new_message)

    async def handle(
        self, activity: dict, on_new_message: Callable[[UserMessage], Awaitable[Any]]
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
        output = TeamsOutput(self.http(), self.tokens, activity, self.escalation)
        await on_new_message(
            UserMessage(text, output, str(sender.get("id") or conversation["id"]), input_channel=self.name())
        )
        return response.json({"status": "ok", "replies": len(output.sent)})

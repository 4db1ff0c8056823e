"""Slack: Rasa's SlackInput with stricter request checks, retry de-duplication and Block Kit replies.

Configure it in credentials.yml as `bot.server.channels.slack.ForlobSlackInput` (set-up: docs/slack.md).
Events (Events API) and button clicks (Interactivity) both arrive at `/webhooks/slack/webhook`. What differs
from Rasa 3.6.21's channel (rasa/core/channels/slack.py), and why:
- Rasa refuses to start without a signing secret. Here Rasa starts, and while the bot token or the signing
  secret is empty every webhook request is answered 503 with a reason: one credentials.yml for all
  deployments, Slack or not.
- A wrong signature is 401 (Rasa: 400) and a timestamp more than 5 minutes off is 401 with its own reason
  (replays); a body that is not JSON, or a form without a JSON `payload`, is 400 (Rasa: an exception).
- Slack re-sends an event it believes failed (`X-Slack-Retry-Num`, same `event_id`): it is answered once.
- Edits, deletions and other message subtypes and the bot's own messages are not answered.
- Replies are rendered by bot.server.channels.slack_blocks, one Slack message per bot message, in the thread
  of the question; the custom payload becomes blocks of that message and is never posted raw.
- A handoff reply that asks for escalation (bot.server.channels.escalation) is first posted to the expert
  channel SLACK_ESCALATION_CHANNEL with a link to the thread; the caseworker then reads where it went, or that
  nothing was sent and the contact.
Request refusals are logged without the user's text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Awaitable, Callable

from aiohttp import ClientError
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.server.channels.escalation import Escalation, Outcome, caseworker_reply, requested
from bot.server.channels.slack_blocks import escalation_post, render_message
from core.config import EscalationSettings, load_settings

logger = logging.getLogger(__name__)

MAX_REQUEST_AGE = 5 * 60  # seconds; Slack's own recommendation against replays
REMEMBERED_EVENTS = 10_000  # Slack retries after about 0 s, 1 min and 5 min
_SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")  # <url>, <url|label>, <mailto:…|…>, <#C1|name>
# Rasa's sender id is the Slack user id, or "user_channel[_thread]" with another conversation_granularity
_SENDER_USER = re.compile(r"^([UW][A-Z0-9]+)(?:_|$)")


class RecentEvents:
    """Event ids seen lately, the oldest forgotten first, so a retried event is answered once.

    It lives in memory, per process: with several Rasa replicas a retry can reach a replica that did not
    see the first delivery. Rasa's retry headers cover the common case there: a retry because our answer
    was slow (`X-Slack-Retry-Reason: http_timeout`) is acknowledged with `X-Slack-No-Retry` and not answered.
    """

    def __init__(self, size: int = REMEMBERED_EVENTS) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


def user_text(raw: str, bot_users: list[str]) -> str:
    """What the user typed, from Slack's message markup: mentions of the bot removed, links and mailto links
    as their text (so the tracker store's redaction sees a plain e-mail address), `&amp;`, `&lt;`, `&gt;`
    back to characters."""
    text = SlackInput._sanitize_user_message(raw, bot_users)
    text = _SLACK_MARKUP.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def refuse(status: HTTPStatus, error: str, reason: str) -> HTTPResponse:
    logger.warning("Slack request refused (%s): %s", status.value, error)
    return response.json({"error": error, "reason": reason}, status=status)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code (`ok: false`), or the HTTP status when the answer was not Slack's JSON
    (a 500 page)."""
    data = exc.response.data
    return str(data.get("error")) if isinstance(data, dict) else f"HTTP {exc.response.status_code}"


def mention(sender_id: str | None) -> str | None:
    """A Slack mention of the user behind Rasa's sender id, or None when it is not a Slack user id."""
    match = _SENDER_USER.match(sender_id or "")
    return f"<@{match.group(1)}>" if match else None


class ForlobSlackBot(SlackBot):
    """Posts each bot message as one Block Kit message (see bot.server.channels.slack_blocks)."""

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        api_url: str | None = None,
        escalation: EscalationSettings | None = None,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        if api_url:
            self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy)
        self.escalation = escalation or EscalationSettings()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        escalation = requested(message)
        if escalation is not None:
            message = await self.escalate(recipient_id, message, escalation)
        rendered = render_message(message)
        if rendered is None:
            return
        try:
            await self._post_message(
                channel=self.slack_channel or recipient_id, unfurl_links=False, unfurl_media=False, **rendered
            )
        except SlackApiError as exc:
            logger.error("Slack refused chat.postMessage: %s", slack_error(exc))
        except (ClientError, asyncio.TimeoutError) as exc:
            logger.error("Slack's Web API is unreachable: %s", exc)

    # -- escalation to the expert channel ------------------------------------------------------------------
    async def escalate(self, recipient_id: str, message: dict, escalation: Escalation) -> dict:
        """Post the caseworker's question to SLACK_ESCALATION_CHANNEL; the message the caseworker gets says
        what happened. Only a post Slack confirmed (`ok: true`) counts as sent."""
        settings = self.escalation
        if not settings.slack_configured:
            return caseworker_reply(message, Outcome.NOT_CONFIGURED, settings)
        private = (self.slack_channel or "").startswith("D")  # a direct message: colleagues cannot open it
        thread_url = None if private else await self.permalink(self.slack_channel, self.thread_id)
        post = escalation_post(escalation, mention(recipient_id), thread_url, private)
        try:
            sent = await self.client.chat_postMessage(
                channel=settings.slack_channel, unfurl_links=False, unfurl_media=False, **post
            )
        except SlackApiError as exc:
            logger.error("Slack refused the escalation to %s: %s", settings.slack_channel, slack_error(exc))
            return caseworker_reply(message, Outcome.FAILED, settings)
        except (ClientError, asyncio.TimeoutError) as exc:
            logger.error("Slack's Web API is unreachable, escalation not sent: %s", exc)
            return caseworker_reply(message, Outcome.FAILED, settings)
        where_url = await self.permalink(settings.slack_channel, sent.get("ts"))
        return caseworker_reply(
            message, Outcome.SENT, settings, settings.slack_channel_name or None, where_url
        )

    async def permalink(self, channel: str | None, ts: str | None) -> str | None:
        """chat.getPermalink (no scope needed); None when Slack cannot give one: the post goes on without."""
        if not channel or not ts:
            return None
        try:
            found = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            logger.warning("Slack gave no permalink for %s: %s", channel, slack_error(exc))
            return None
        except (ClientError, asyncio.TimeoutError) as exc:
            logger.warning("Slack gave no permalink for %s: %s", channel, exc)
            return None
        url = found.get("permalink")
        return url if isinstance(url, str) and url.startswith("https://") else None


class ForlobSlackInput(SlackInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "ForlobSlackInput":
        channel = super().from_credentials(credentials)
        channel.api_url = (credentials or {}).get("slack_api_url") or None
        channel.escalation = load_settings().escalation  # read when Rasa starts the channel, not at import
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_url: str | None = None
        self.escalation = EscalationSettings()
        self.recent_events = RecentEvents()

    def _validate_credentials(self) -> None:
        """Rasa raises here without a signing secret; we refuse requests instead (see the module doc)."""

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> ForlobSlackBot:
        return ForlobSlackBot(
            self.slack_token,
            channel or self.slack_channel,
            thread_id,
            self.proxy,
            self.api_url,
            self.escalation,
        )

    # -- checks ------------------------------------------------------------------------------------------
    def configuration_problem(self) -> str | None:
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_token),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            )
            if not value
        ]
        if missing:
            return f"Slack er ikke sat op på denne server: {' og '.join(missing)} mangler (se docs/slack.md)."
        return None

    def signature_problem(self, request: Request) -> tuple[str, str] | None:
        """(error, reason) when the request is not signed by Slack with our secret just now, else None."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not signature:
            return "unsigned", "X-Slack-Request-Timestamp eller X-Slack-Signature mangler eller er ugyldig."
        if abs(time.time() - int(timestamp)) > MAX_REQUEST_AGE:
            return (
                "stale_request",
                "Forespørgslens tidsstempel er mere end 5 minutter gammelt (mulig genafspilning).",
            )
        # slack_sdk's verifier checks the age again and the HMAC; the reasons above stay ours
        verifier = SignatureVerifier(self.slack_signing_secret)
        if not verifier.is_valid(request.body, timestamp, signature):
            return "bad_signature", "X-Slack-Signature passer ikke med signing secret og indhold."
        return None

    # -- requests ----------------------------------------------------------------------------------------
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = Blueprint("slack_webhook", __name__)

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(
                {"status": "ok" if self.configuration_problem() is None else "not configured"}
            )

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            problem = self.configuration_problem()
            if problem:
                return refuse(HTTPStatus.SERVICE_UNAVAILABLE, "slack_not_configured", problem)
            signature_problem = self.signature_problem(request)
            if signature_problem:
                return refuse(HTTPStatus.UNAUTHORIZED, *signature_problem)
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if content_type == "application/x-www-form-urlencoded":
                return await self.handle_interaction(request, on_new_message)
            return await self.handle_event(request, on_new_message)

        return slack_webhook

    async def handle_event(self, request: Request, on_new_message) -> HTTPResponse:
        """Events API: url_verification, then event_callback with a user's message or mention."""
        try:
            body = json.loads(request.body)
        except ValueError:
            return refuse(HTTPStatus.BAD_REQUEST, "invalid_json", "Indholdet er ikke gyldig JSON.")
        if not isinstance(body, dict):
            return refuse(HTTPStatus.BAD_REQUEST, "invalid_json", "Indholdet skal være et JSON-objekt.")
        if body.get("type") == "url_verification":
            return response.json({"challenge": body.get("challenge")})
        event = _dict(body.get("event"))
        event_id = body.get("event_id")
        if isinstance(event_id, str) and not self.recent_events.first_time(event_id):
            logger.info(
                "Slack event %s already handled (retry %s)",
                event_id,
                request.headers.get(self.retry_num_header),
            )
            return response.text("already handled", headers={"X-Slack-No-Retry": "1"})
        bot_users = [a.get("user_id") for a in body.get("authorizations") or [] if isinstance(a, dict)]
        bot_users += [u for u in body.get("authed_users") or [] if isinstance(u, str)]
        metadata = {
            "out_channel": event.get("channel"),
            "thread_id": event.get("thread_ts") or event.get("ts"),
            "users": [u for u in bot_users if u],
        }
        if not self.is_question(body, event, metadata):
            return response.text("not a question for the bot")
        sender_id = self._get_conversation_id(event["user"], metadata["out_channel"], metadata["thread_id"])
        text = user_text(event["text"], metadata["users"])
        return await self.process_message(request, on_new_message, text, sender_id, metadata)

    def is_question(self, body: dict, event: dict, metadata: dict) -> bool:
        """A user's new message to the bot: a mention, a direct message or one in the configured channel."""
        return (
            body.get("type") == "event_callback"
            and event.get("type") in ("app_mention", "message")
            and not event.get("subtype")  # message_changed, message_deleted, bot_message, joins …
            and not event.get("bot_id")
            and isinstance(event.get("user"), str)
            and event["user"] not in metadata["users"]
            and isinstance(event.get("text"), str)
            and isinstance(metadata["out_channel"], str)
            and self._is_supported_channel(body, metadata)
        )

    async def handle_interaction(self, request: Request, on_new_message) -> HTTPResponse:
        """Interactivity: a click on one of our buttons (`block_actions`) is sent to Rasa as its payload."""
        try:
            payload = json.loads(request.form.get("payload") or "")
        except ValueError:
            return refuse(
                HTTPStatus.BAD_REQUEST, "invalid_payload", "Feltet `payload` mangler eller er ikke JSON."
            )
        payload = _dict(payload)
        action = _dict((payload.get("actions") or [None])[0])
        user_id = _dict(payload.get("user")).get("id")
        if payload.get("type") != "block_actions" or not self._is_interactive_message(payload):
            return response.text("interaction not handled")
        if not isinstance(user_id, str):
            return refuse(HTTPStatus.BAD_REQUEST, "invalid_payload", "block_actions uden user.id.")
        text = self._get_interactive_response(action)
        if not isinstance(text, str) or not text:
            return response.text("link button")  # a link button has no value; Slack opened the page
        message = _dict(payload.get("message"))
        container = _dict(payload.get("container"))
        metadata = {
            "out_channel": _dict(payload.get("channel")).get("id") or container.get("channel_id"),
            "thread_id": message.get("thread_ts") or message.get("ts") or container.get("message_ts"),
        }
        sender_id = self._get_conversation_id(user_id, metadata["out_channel"], metadata["thread_id"])
        return await self.process_message(request, on_new_message, text, sender_id, metadata)

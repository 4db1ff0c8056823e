"""Microsoft Teams channel (Azure Bot Service / Bot Framework), replacing Rasa 3.6.21's `botframework` one.

Why not Rasa's channel: it gets tokens only from the multi-tenant `botframework.com` endpoint, which new
(single-tenant) bots cannot use; it sends hero-card buttons of Rasa's shape, which Teams cannot click; it
ignores `conversationUpdate`, so nobody is welcomed; it posts the custom payload as raw JSON; and it makes
blocking `requests` calls inside async handlers. Here:

- incoming requests carry a JWT signed by Bot Framework. It is checked against the keys behind the OpenID
  metadata URL (RS256, audience = our app id, issuer, expiry with Microsoft's 5-minute clock tolerance), the
  key must be endorsed for the activity's channel, and the activity's `serviceUrl` must be the token's
  `serviceurl` claim when it has one (Bot Framework's always has; else an activity could send our bearer
  token to any host);
- replies get a token from the tenant's own endpoint (client credentials), cached until 5 minutes before it
  expires, and are posted with aiohttp to `{serviceUrl}/v3/conversations/{id}/activities/{replyToId}`;
- a reply with buttons, sources or organisations becomes an Adaptive Card (not a hero card: hero cards
  cannot show the source line and the organisations as separate, linked parts of the card, and their text
  renders no Markdown in Teams); buttons become `messageBack` actions whose value carries the Rasa payload,
  links become `Action.OpenUrl`; other replies are Markdown text;
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
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlsplit

import aiohttp
import jwt
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from yarl import URL

from actions.replies import text as bot_text

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
CLOCK_TOLERANCE = 300  # seconds; what Microsoft's Bot Framework SDKs allow
TOKEN_REFRESH_MARGIN = 300  # seconds before an outgoing token expires that a new one is fetched
KEYS_MAX_AGE = 24 * 3600  # signing keys are fetched again after a day ...
UNKNOWN_KEY_REFETCH_INTERVAL = 60  # ... or when a token names an unknown key, at most once a minute
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)
BEARER = re.compile(r"Bearer\s+(\S+)\s*$", re.IGNORECASE)
MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


class Unauthorized(Exception):
    """The request is not from Bot Framework for this bot; the message is the reason sent back (401)."""


class MicrosoftUnavailable(Exception):
    """A Microsoft endpoint (signing keys, login) could not be reached or gave no usable answer."""


# -- incoming: Bot Framework's JWT ---------------------------------------------------------------------------
class SigningKeys:
    """Bot Framework's public signing keys (OpenID metadata → jwks_uri), cached by key id."""

    def __init__(self, metadata_url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.metadata_url = metadata_url
        self.clock = clock
        self.keys: dict[str, dict] | None = None
        self.fetched_at = 0.0
        self.refetched_at: float | None = None
        self.lock = asyncio.Lock()

    async def get(self, session: aiohttp.ClientSession, kid: str) -> dict | None:
        async with self.lock:
            now = self.clock()
            if self.keys is None or now - self.fetched_at > KEYS_MAX_AGE:
                await self._refresh(session)
            elif kid not in self.keys and (self.refetched_at is None
                                           or now - self.refetched_at > UNKNOWN_KEY_REFETCH_INTERVAL):
                self.refetched_at = now  # Microsoft rotated its keys, or someone tries unknown ids
                await self._refresh(session)
            return self.keys.get(kid)

    async def _refresh(self, session: aiohttp.ClientSession) -> None:
        try:
            metadata = await _get_json(session, self.metadata_url)
            jwks = await _get_json(session, metadata["jwks_uri"])
            keys = {key["kid"]: key for key in jwks["keys"]}
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, TypeError) as exc:
            if self.keys is None:
                raise MicrosoftUnavailable(f"could not fetch Bot Framework's signing keys ({exc!r})") from exc
            logger.warning("Teams: could not refresh the signing keys, keeping the old ones (%r)", exc)
            return
        self.keys = keys
        self.fetched_at = self.clock()


async def _get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as reply:
        reply.raise_for_status()
        return await reply.json(content_type=None)


@dataclass
class Verified:
    claims: dict
    endorsements: list | None  # channels the signing key is endorsed for; None when the key says nothing


class TokenVerifier:
    def __init__(self, app_id: str, issuer: str, keys: SigningKeys) -> None:
        self.app_id = app_id
        self.issuer = issuer
        self.keys = keys

    async def verify(self, session: aiohttp.ClientSession, authorization: str) -> Verified:
        match = BEARER.match(authorization)
        if not match:
            raise Unauthorized("the Authorization header is not 'Bearer <token>'")
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized(f"token algorithm {header.get('alg')!r} is not RS256")
        key = await self.keys.get(session, str(header.get("kid")))
        if key is None:
            raise Unauthorized(f"token signed with unknown key {header.get('kid')!r}")
        try:
            claims = jwt.decode(token, jwt.PyJWK(key, algorithm="RS256").key, algorithms=["RS256"],
                                audience=self.app_id, issuer=self.issuer, leeway=CLOCK_TOLERANCE,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return Verified(claims, key.get("endorsements"))


def check_activity(activity: dict, verified: Verified) -> None:
    """What the token says must fit the activity it came with."""
    claimed = verified.claims.get("serviceurl")
    if claimed is not None and claimed != activity.get("serviceUrl"):
        raise Unauthorized("the activity's serviceUrl is not the one in the token")
    channel = activity.get("channelId")
    if verified.endorsements is not None and channel not in verified.endorsements:
        raise Unauthorized(f"the signing key is not endorsed for channel {channel!r}")


# -- outgoing: the bot's own token --------------------------------------------------------------------------
class TokenProvider:
    """Client-credentials token from the tenant's endpoint; one fetch serves every reply until near expiry."""

    def __init__(self, url: str, app_id: str, password: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.form = {"grant_type": "client_credentials", "client_id": app_id, "client_secret": password,
                     "scope": BOT_FRAMEWORK_SCOPE}
        self.clock = clock
        self.token: str | None = None
        self.valid_until = 0.0
        self.lock = asyncio.Lock()

    async def get(self, session: aiohttp.ClientSession) -> str:
        async with self.lock:  # concurrent replies wait for the one fetch in flight
            if self.token is None or self.clock() >= self.valid_until:
                await self._fetch(session)
            return self.token

    async def _fetch(self, session: aiohttp.ClientSession) -> None:
        try:
            async with session.post(self.url, data=self.form) as reply:
                body = await reply.json(content_type=None)
                if reply.status != 200 or not isinstance(body, dict) or "access_token" not in body:
                    detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
                    raise MicrosoftUnavailable(f"login endpoint answered {reply.status}: {detail}")
                lifetime = int(body.get("expires_in", 3600))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, TypeError) as exc:
            raise MicrosoftUnavailable(f"login endpoint failed: {exc!r}") from exc
        self.token = body["access_token"]
        self.valid_until = self.clock() + lifetime - TOKEN_REFRESH_MARGIN


# -- rendering: a Rasa bot message as a Bot Framework activity ---------------------------------------------
def render(message: dict) -> dict | None:
    """The activity fields for one Rasa bot message (text, buttons, custom payload); None if nothing to show.

    The custom payload is never posted as such: its sources and organisations are rendered in the card, the
    rest (kind, topic, audience, region) is for other channels and the analytics."""
    text = (message.get("text") or "").strip()
    buttons = [b for b in (message.get("buttons") or message.get("quick_replies") or []) if b.get("title")]
    custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
    if buttons or custom.get("sources") or custom.get("organisations"):
        card = adaptive_card(text, buttons, custom)
        if card["body"] or card["actions"]:
            return {"attachments": [{"contentType": ADAPTIVE_CARD, "content": card}]}
    if not text:
        return None
    # Teams' Markdown does not reliably break on a single newline; every line becomes its own paragraph
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {"textFormat": "markdown", "text": "\n\n".join(lines)}


def adaptive_card(text: str, buttons: list[dict], custom: dict) -> dict:
    sources = custom.get("sources") or []
    source_prefix = bot_text("source_line", sources="")
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if sources:  # the text's own "Kilde: …" line is replaced by the linked one below
        paragraphs = [p for p in paragraphs if not p.strip().startswith(source_prefix)]
    body = [block for paragraph in paragraphs for block in _text_blocks(paragraph)]
    if sources:
        body.append({"type": "TextBlock", "text": source_markdown(sources), "wrap": True, "isSubtle": True,
                     "size": "Small", "spacing": "Medium"})
    facts = [_organisation_fact(org) for org in custom.get("organisations") or []
             if org.get("name") and org["name"] not in text]  # an organisations reply names them already
    if facts:
        body.append({"type": "FactSet", "facts": facts, "spacing": "Medium"})
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4", "body": body, "actions": _actions(buttons), "msteams": {"width": "Full"}}


def _text_blocks(paragraph: str) -> list[dict]:
    """One TextBlock per line (Markdown in a TextBlock has no reliable line break), spaced per paragraph."""
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    return [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Medium" if i == 0 else "None"}
            for i, line in enumerate(lines)]


def source_markdown(sources: list[dict]) -> str:
    """The source line of actions/texts.yml, each source linked to its page where it has one."""
    labels = []
    for source in sources:
        title, ref = source.get("title") or "", source.get("ref")
        label = f"{ref} – {title}" if ref and ref not in title else title or ref or ""
        labels.append(f"[{label}]({source['url']})" if source.get("url") else label)
    return bot_text("source_line", sources="; ".join(labels))


def _organisation_fact(org: dict) -> dict:
    links = [org["phone"]] if org.get("phone") else []
    if org.get("url"):
        links.append(f"[{urlsplit(org['url']).netloc or org['url']}]({org['url']})")
    return {"title": org["name"], "value": " · ".join(links) or " "}


def _actions(buttons: list[dict]) -> list[dict]:
    actions, seen = [], set()
    for button in buttons:
        url, payload = button.get("url"), button.get("payload")
        if url and url not in seen:
            seen.add(url)
            actions.append({"type": "Action.OpenUrl", "title": button["title"], "url": url})
        elif payload and not url:
            actions.append({"type": "Action.Submit", "title": button["title"], "data": {"msteams": {
                "type": "messageBack", "displayText": button["title"], "text": button["title"],
                "value": json.dumps({"payload": payload}, ensure_ascii=False)}}})
    return actions


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

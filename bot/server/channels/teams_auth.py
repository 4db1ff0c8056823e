"""Bot Framework tokens for the Teams channel:
the one on each incoming request, and the bot's own for replies.

Incoming: the JWT is checked against the keys behind the OpenID metadata URL (RS256, audience = our app id,
issuer, expiry with Microsoft's 5-minute clock tolerance); the key must be endorsed for the activity's
channel, and the activity's `serviceUrl` must be the token's `serviceurl` claim when it has one (Bot
Framework's always has; else an activity could send our bearer token to any host).
Outgoing: a client-credentials token from the tenant's own endpoint (Rasa's channel only knows the
multi-tenant one, which single-tenant bots cannot use), cached until 5 minutes before it expires.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

import aiohttp
import jwt

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
CLOCK_TOLERANCE = 300  # seconds; what Microsoft's Bot Framework SDKs allow
TOKEN_REFRESH_MARGIN = 300  # seconds before an outgoing token expires that a new one is fetched
KEYS_MAX_AGE = 24 * 3600  # signing keys are fetched again after a day ...
UNKNOWN_KEY_REFETCH_INTERVAL = 60  # ... or when a token names an unknown key, at most once a minute
BEARER = re.compile(r"Bearer\s+(\S+)\s*$", re.IGNORECASE)


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
            elif kid not in self.keys and (
                self.refetched_at is None or now - self.refetched_at > UNKNOWN_KEY_REFETCH_INTERVAL
            ):
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
            claims = jwt.decode(
                token,
                jwt.PyJWK(key, algorithm="RS256").key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_TOLERANCE,
                options={"require": ["exp", "iss", "aud"]},
            )
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

    def __init__(
        self, url: str, app_id: str, password: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url = url
        self.form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": password,
            "scope": BOT_FRAMEWORK_SCOPE,
        }
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
                    detail = (
                        body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
                    )
                    raise MicrosoftUnavailable(f"login endpoint answered {reply.status}: {detail}")
                lifetime = int(body.get("expires_in", 3600))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, TypeError) as exc:
            raise MicrosoftUnavailable(f"login endpoint failed: {exc!r}") from exc
        self.token = body["access_token"]
        self.valid_until = self.clock() + lifetime - TOKEN_REFRESH_MARGIN

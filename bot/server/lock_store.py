"""The lock store chosen by LOCK_STORE_URL: Redis when replicas share conversations, in memory otherwise.

Rasa handles the messages of one conversation one at a time under a ticket lock (first come, first
served; a ticket expires after TICKET_LOCK_LIFETIME seconds, so a crashed holder cannot block forever).
With several Rasa replicas that lock must live in Redis, or two replicas could handle two messages of one
conversation at once and store them out of order. Configured in endpoints.yml as
`type: bot.server.lock_store.ConfiguredLockStore` (Rasa 3.6 creates a custom lock store as
`Class(endpoint_config=…)`, rasa/core/lock_store.py); `url: ${LOCK_STORE_URL}` is
`redis://[user:password@]host:port/db` (`rediss://` for TLS) or empty (Rasa's in-memory lock store).

Rasa's own RedisLockStore reads, changes and writes back a JSON lock in separate calls: seven blocking
round trips per message on the event loop, and two
replicas issuing tickets for one conversation at the same moment can overwrite each other's ticket. Here
each step is one Lua script that Redis runs atomically: take a ticket (and learn whether it is being
served), check again while waiting, give it back: two round trips per message when nobody waits. The
tickets of a conversation are a sorted set `forlob:lock:<conversation id>` of "number:expiry" members.

A Redis outage raises `ServiceUnavailable` before the message is handled (the user is asked to try again,
see bot/server/availability.py). Giving a ticket back after the turn is stored is best effort: failing then
would ask the user to resend a message that was already answered; the ticket expires by itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager

from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore

from bot.server.availability import ServiceUnavailable

logger = logging.getLogger(__name__)

KEY_PREFIX = "forlob:lock:"
REDIS_TIMEOUT = 3.0  # seconds; Redis calls block the event loop while they wait
POLL_SECONDS = 0.05  # how often a waiting message checks whether its turn has come

# KEYS[1] = the conversation's tickets; ARGV = now, lifetime. Drops expired tickets, takes the next number.
# Returns {ticket, 1 if it is served now else 0}.
TAKE = """
local now = tonumber(ARGV[1])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if tonumber(string.match(member, ':(.*)$')) < now then redis.call('ZREM', KEYS[1], member) end
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ticket = 0
if last[2] then ticket = tonumber(last[2]) + 1 end
redis.call('ZADD', KEYS[1], ticket, ticket .. ':' .. (now + tonumber(ARGV[2])))
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) * 2 + 10)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if tonumber(first[2]) == ticket then return {ticket, 1} end
return {ticket, 0}
"""
# KEYS[1]; ARGV = now, ticket. Drops other expired tickets; 1 when the ticket is first (or the key is gone).
SERVED = """
local now, mine = tonumber(ARGV[1]), tonumber(ARGV[2])
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local number = tonumber(entries[i + 1])
  if number == mine then return 1 end
  if tonumber(string.match(entries[i], ':(.*)$')) >= now then return 0 end
  redis.call('ZREM', KEYS[1], entries[i])
end
return 1
"""
# KEYS[1]; ARGV = ticket. Gives the ticket back; the key goes when no ticket is left.
RETURN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
"""


class ConfiguredLockStore(LockStore):
    def __init__(self, endpoint_config=None) -> None:
        url = getattr(endpoint_config, "url", None)
        self.memory = None if url else InMemoryLockStore()
        self.client = None  # the Redis client, for the readiness check (bot/server/health.py)
        if url:
            import redis

            if not url.startswith(("redis://", "rediss://")):
                raise ValueError(f"LOCK_STORE_URL skal være redis://vært:port/db, ikke {url!r}")
            client = self.client = redis.Redis.from_url(
                url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
            self._errors = (redis.RedisError, OSError)
            self._take, self._served, self._return = (
                client.register_script(s) for s in (TAKE, SERVED, RETURN)
            )
        super().__init__()

    def _redis(self, script, key: str, *args):
        try:
            return script(keys=[KEY_PREFIX + key], args=list(args))
        except self._errors as exc:
            raise ServiceUnavailable(f"lock store: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def lock(
        self,
        conversation_id,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ):
        if self.memory:  # one process: Rasa's in-memory lock as it is
            async with self.memory.lock(conversation_id, lock_lifetime, wait_time_in_seconds) as lock:
                yield lock
            return
        ticket, served = self._redis(self._take, conversation_id, time.time(), lock_lifetime)
        try:
            while not served:
                await asyncio.sleep(wait_time_in_seconds)
                served = self._redis(self._served, conversation_id, time.time(), ticket)
            yield ticket
        finally:
            try:
                self._redis(self._return, conversation_id, ticket)
            except ServiceUnavailable as exc:
                logger.warning(
                    "Could not give a conversation's lock back (%s); it expires by itself", exc.__cause__
                )

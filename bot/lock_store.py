"""The lock store chosen by LOCK_STORE_URL: Redis when replicas share conversations, in memory otherwise.

Rasa handles the messages of one conversation one at a time under a ticket lock. With several Rasa
replicas that lock must live in Redis, or two replicas could handle two messages of one conversation at
once and store them out of order. Configured in endpoints.yml as `type: bot.lock_store.ConfiguredLockStore`
(Rasa 3.6 creates a custom lock store as `Class(endpoint_config=…)`, rasa/core/lock_store.py);
`url: ${LOCK_STORE_URL}` is `redis://[user:password@]host:port/db` (`rediss://` for TLS) or empty.

A Redis outage raises `ServiceUnavailable` before the message is handled (the user is asked to try again,
see bot/availability.py). Releasing a lock after the turn is stored is best effort: failing it then would
ask the user to resend a message that was already answered; an unreleased ticket expires after
TICKET_LOCK_LIFETIME seconds.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore

from bot.availability import ServiceUnavailable

logger = logging.getLogger(__name__)

REDIS_SOCKET_TIMEOUT = 3.0  # seconds; Rasa's Redis calls block the event loop while they wait


def redis_lock_store(url: str, **kwargs) -> RedisLockStore:
    """Rasa's RedisLockStore from a redis:// URL (endpoint keys such as key_prefix pass through)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"LOCK_STORE_URL skal være redis://vært:port/db, ikke {url!r}")
    kwargs.setdefault("socket_timeout", REDIS_SOCKET_TIMEOUT)
    return RedisLockStore(host=parts.hostname, port=parts.port or 6379, db=int(parts.path.strip("/") or 0),
                          username=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None,
                          use_ssl=parts.scheme == "rediss", **kwargs)


class ConfiguredLockStore(LockStore):
    def __init__(self, endpoint_config=None) -> None:
        url = getattr(endpoint_config, "url", None)
        kwargs = dict(getattr(endpoint_config, "kwargs", None) or {})
        self.backend = redis_lock_store(url, **kwargs) if url else InMemoryLockStore()
        self._errors = self._backend_errors()
        super().__init__()

    def _backend_errors(self) -> tuple[type[Exception], ...]:
        if isinstance(self.backend, RedisLockStore):
            from redis.exceptions import RedisError

            return (RedisError, OSError)
        return ()

    def _call(self, method, *args):
        try:
            return method(*args)
        except self._errors as exc:
            raise ServiceUnavailable(f"lock store: {type(exc).__name__}") from exc

    def get_lock(self, conversation_id):
        return self._call(self.backend.get_lock, conversation_id)

    def delete_lock(self, conversation_id) -> None:
        self._call(self.backend.delete_lock, conversation_id)

    def save_lock(self, lock) -> None:
        self._call(self.backend.save_lock, lock)

    def issue_ticket(self, conversation_id, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """As Rasa's, without re-wrapping ServiceUnavailable into a generic LockError."""
        lock = self.get_or_create_lock(conversation_id)
        ticket = lock.issue_ticket(lock_lifetime)
        self.save_lock(lock)
        return ticket

    @asynccontextmanager
    async def lock(self, conversation_id, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1):
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            except ServiceUnavailable as exc:
                logger.warning("Could not release a conversation lock (%s); it expires by itself", exc.__cause__)

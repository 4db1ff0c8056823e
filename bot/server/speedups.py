"""Two performance fixes to Rasa's internals, installed by bot/server/patches.py (what they saved:
benchmarks/results/load.md).

- Rasa validates every action-server response with `jsonschema.validate`, which re-checks the (large,
  draft 2020-12) events schema against its meta-schema on every call. Here each schema is checked once and
  its validator re-used; the validation of every response itself still runs, with the same errors.
- Rasa opens a new HTTP session, and so a new TCP connection, for every call to the action server (two per
  message here). Each endpoint now keeps one session whose idle connections are re-used for a few seconds
  (less than the action server's own keep-alive, so Rasa never sends on a connection the server is
  closing).
"""

from __future__ import annotations

import json

import jsonschema
from jsonschema import exceptions, validators

MAX_CACHED_SCHEMAS = 64


def cached_validate(original=jsonschema.validate):
    cache: dict[str, object] = {}

    def validate(instance, schema, cls=None, *args, **kwargs):
        if cls is not None or args or kwargs:
            return original(instance, schema, cls, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True, default=str)
        validator = cache.get(key)
        if validator is None:
            klass = validators.validator_for(schema)
            klass.check_schema(schema)
            validator = klass(schema)
            if len(cache) < MAX_CACHED_SCHEMAS:
                cache[key] = validator
        error = exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    return validate


KEEP_ALIVE_SECONDS = 3  # Sanic, which runs the action server, closes idle connections after 5 s


class _SharedSession:
    """`async with` hands out the endpoint's one session and leaves it open."""

    def __init__(self, session) -> None:
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *_exc) -> bool:
        return False


def shared_session(self):
    """EndpointConfig.session, made once per endpoint and event loop (Rasa's headers, auth and timeout)."""
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    loop, made = getattr(self, "_shared_session", (None, None))
    if made is None or made.closed or loop is not asyncio.get_running_loop():
        auth = (
            aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            if self.basic_auth
            else None
        )
        made = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS),
        )
        self._shared_session = asyncio.get_running_loop(), made
    return _SharedSession(made)

"""Four performance fixes to Rasa's internals, installed by bot/server/patches.py (what they saved:
benchmarks/results/load.md).

- Rasa validates every action-server response with `jsonschema.validate`, which re-checks the (large,
  draft 2020-12) events schema against its meta-schema on every call. Here each schema is checked once and
  its validator re-used; the validation of every response itself still runs, with the same errors.
- Rasa finds an event's class by its type name (`Event.resolve_by_type`) by walking every subclass of
  Event and checking each for abstractness, for every event it reads: the events of every action-server
  response and of every tracker loaded. Here the table is built once and again only for a name it does not
  hold (a subclass imported since); what it does not find goes to Rasa's own function, so "topic", a
  default and the error for an unknown name are Rasa's.
- Rasa opens a new HTTP session, and so a new TCP connection, for every call to the action server (two per
  message here). Each endpoint now keeps one session whose idle connections are re-used for a few seconds
  (less than the action server's own keep-alive, so Rasa never sends on a connection the server is
  closing).
- Rasa sends the whole conversation (every event since the session began, about 100 kB after 20 turns) to the
  action server with each call, twice per message: once for `action_validate_slot_mappings`, which reads
  only the slots, the latest message and the slot events that follow it, and once for the action that
  answers. The validation call now carries the events from the latest user message on; its slots, latest
  message and other state are unchanged. The answering actions still get every event (the checklist and
  the handoff read the whole conversation).
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


def cached_resolve_by_type(original):
    """Event.resolve_by_type from a table of type name → first matching class, in Rasa's order."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    def table() -> dict:
        found: dict = {}
        for cls in all_subclasses(Event):
            found.setdefault(cls.type_name, cls)  # Rasa returns the first match
        return found

    state = {"table": table()}

    def resolve_by_type(type_name, default=None):
        cls = state["table"].get(type_name)
        if cls is None:
            state["table"] = table()  # replaced whole, never changed in place: threads read it
            cls = state["table"].get(type_name)
        return cls if cls is not None else original(type_name, default)

    return staticmethod(resolve_by_type)


class _ThisTurn:
    """A tracker as `action_validate_slot_mappings` needs it: its state with the events from the latest user
    message on. Everything but `current_state` is the tracker's own."""

    def __init__(self, tracker) -> None:
        self._tracker = tracker

    def __getattr__(self, name):
        return getattr(self._tracker, name)

    def current_state(self, event_verbosity=None) -> dict:
        from rasa.shared.core.events import UserUttered
        from rasa.shared.core.trackers import EventVerbosity

        state = self._tracker.current_state(EventVerbosity.NONE)
        events = list(self._tracker.events)
        start = max((i for i, e in enumerate(events) if isinstance(e, UserUttered)), default=0)
        state["events"] = [event.as_dict() for event in events[start:]]
        return state


def validation_sees_this_turn(original):
    """RemoteAction._action_call_format: the validation action's call with only this turn's events."""
    from rasa.shared.core.constants import ACTION_VALIDATE_SLOT_MAPPINGS

    def action_call_format(self, tracker, domain):
        if self.name() == ACTION_VALIDATE_SLOT_MAPPINGS:
            tracker = _ThisTurn(tracker)
        return original(self, tracker, domain)

    return action_call_format

"""Every change this project makes to Rasa's internals, and every private API of Rasa or python-socketio it
relies on, in one place.

`install()` is the only way the changes get in: bot/server/rasa_server.py calls it before Rasa's CLI starts
(the action server, the web app and `rasa train` never see them). It first refuses to start on a version of
Rasa, python-socketio or python-engineio other than the pinned one (constraints.txt), because each entry
below was written against that version. tests/test_rasa_contract.py checks, without a model and in about a
second, that every target still exists and takes the parameters its replacement assumes, in the spirit of
rasa-sdk's `fail_if_undefined`: an upgrade fails in CI, not at model load or during an outage.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

PINNED = {"rasa": "3.6.21", "python-socketio": "5.18.1", "python-engineio": "4.15.1"}


@dataclass(frozen=True)
class Patch:
    target: str  # "module:Attribute.path"
    parameters: (
        tuple[str, ...] | None
    )  # the parameters the replacement assumes (None: passed through as given)
    reason: str
    replace: Callable[[Any], Any]  # the original → what is installed in its place


@dataclass(frozen=True)
class Relied:
    """A private API that a subclass calls or overrides; not changed, but it must stay as assumed."""

    target: str
    parameters: tuple[str, ...] | None  # None: an attribute, not called
    reason: str


def _speedups():
    from bot.server import speedups

    return speedups


def _availability():
    from bot.server import availability

    return availability


def _with_edges(configure_app):
    def configure_app_with_edges(*args, **kwargs):
        from bot.server.availability import add_status_middleware
        from bot.server.channels.rest import add_rest_rules
        from bot.server.health import add_health_routes

        app = configure_app(*args, **kwargs)
        add_status_middleware(app)  # 503 + Retry-After while a store is down
        add_rest_rules(app)  # 400 with a Danish reason for a malformed REST request
        add_health_routes(app)  # /health and /health/ready
        return app

    return configure_app_with_edges


# In order: jsonschema is patched before Rasa imports it.
PATCHES = (
    Patch(
        "jsonschema:validate",
        ("instance", "schema", "cls", "args", "kwargs"),
        "each schema is checked once and its validator re-used (jsonschema re-checked it on every response)",
        lambda original: _speedups().cached_validate(original),
    ),
    Patch(
        "rasa.shared.core.events:Event.resolve_by_type",
        ("type_name", "default"),
        "an event's class from a table built once (Rasa walked every Event subclass for every event read)",
        lambda original: _speedups().cached_resolve_by_type(original),
    ),
    Patch(
        "rasa.utils.endpoints:EndpointConfig.session",
        ("self",),
        "one kept-alive HTTP session per endpoint instead of a new connection per action-server call",
        lambda original: _speedups().shared_session,
    ),
    Patch(
        "rasa.core.actions.action:RemoteAction._action_call_format",
        ("self", "tracker", "domain"),
        "the slot validation's call carries this turn's events, not the whole conversation",
        lambda original: _speedups().validation_sees_this_turn(original),
    ),
    Patch(
        "rasa.core.agent:FailSafeTrackerStore",
        ("tracker_store", "on_tracker_store_error", "fallback_tracker_store"),
        "a failing tracker store refuses the message instead of carrying on in memory",
        lambda original: _availability().strict_tracker_store(original),
    ),
    Patch(
        "rasa.core.agent:Agent.handle_message",
        ("self", "message"),
        "a refused message is answered 'prøv igen om lidt' (HTTP 503); nginx's X-Request-ID becomes its id",
        lambda original: _availability().refusing_handle_message(original),
    ),
    Patch(
        "rasa.core.actions.action:RemoteAction.run",
        ("self", "output_channel", "nlg", "tracker", "domain"),
        "a failing action server is noticed, so the user reads 'prøv igen om lidt' (HTTP 503), not silence",
        lambda original: _availability().reporting_remote_action(original),
    ),
    Patch(
        "rasa.core.run:configure_app",
        None,
        "adds the 503 middleware, the REST rules (400 with a Danish reason) and /health, /health/ready",
        _with_edges,
    ),
)

SLACK, SQL, SOCKETIO = "rasa.core.channels.slack", "rasa.core.tracker_store", "rasa.core.channels.socketio"
RELIED = (
    Relied(
        f"{SLACK}:SlackInput._sanitize_user_message",
        ("text", "uids_to_remove"),
        "Slack text is cleaned as Rasa cleans it (bot/server/channels/slack.py)",
    ),
    Relied(
        f"{SLACK}:SlackInput._get_conversation_id",
        ("self", "sender_id", "channel_id", "thread_id"),
        "one conversation per Slack user, channel and thread, as Rasa's",
    ),
    Relied(
        f"{SLACK}:SlackInput._is_supported_channel",
        ("self", "slack_event", "metadata"),
        "which Slack events are messages to the assistant",
    ),
    Relied(f"{SLACK}:SlackInput._get_interactive_response", ("action",), "a pressed button's payload"),
    Relied(f"{SLACK}:SlackInput._is_interactive_message", ("payload",), "a button press"),
    Relied(
        f"{SLACK}:SlackInput._validate_credentials",
        ("self",),
        "overridden: the signing secret is checked by us",
    ),
    Relied(f"{SLACK}:SlackBot._post_message", ("self", "channel", "kwargs"), "posts our blocks"),
    Relied(
        f"{SQL}:SQLTrackerStore._additional_events",
        ("self", "session", "tracker"),
        "overridden: each new event is redacted before it is written",
    ),
    Relied(
        f"{SQL}:SQLTrackerStore._retrieve",
        ("self", "sender_id", "fetch_events_from_all_sessions"),
        "overridden: the cached, delta-reading retrieve (bot/server/tracker_store.py)",
    ),
    Relied(f"{SQL}:SQLTrackerStore.session_scope", ("self",), "the store's SQLAlchemy session"),
    Relied(
        f"{SQL}:SQLTrackerStore.SQLEvent.__table__", None, "Rasa's `events` table, read and written with Core"
    ),
    Relied(
        f"{SOCKETIO}:SocketIOOutput._send_message",
        ("self", "socket_id", "response"),
        "the reply contract's payload sent to the widget",
    ),
    Relied(
        f"{SOCKETIO}:SocketIOInput.blueprint",
        ("self", "on_new_message"),
        "extended: origin check, session rules, forget_session",
    ),
    Relied(
        "socketio:AsyncServer.handlers",
        None,
        "Rasa's connect handler is read from the server's handler table and wrapped (an instance attribute)",
    ),
)


class UnsupportedVersion(SystemExit):
    pass


def resolve(target: str) -> tuple[Any, str, Any]:
    """ "module:A.b" → (the object holding b, "b", b); raises AttributeError or ImportError if gone."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name, getattr(owner, name)


def check_versions(installed: Callable[[str], str] = metadata.version) -> None:
    wrong = []
    for package, pinned in PINNED.items():
        try:
            found = installed(package)
        except metadata.PackageNotFoundError:
            found = "ikke installeret"
        if found != pinned:
            wrong.append(f"{package} {pinned} (fundet: {found})")
    if wrong:
        raise UnsupportedVersion(
            "Forløbsguiden starter ikke: den ændrer dele af Rasa, som kun er afprøvet med "
            + ", ".join(wrong)
            + ". Installér versionerne fra constraints.txt (make .venv/.installed), eller ret og afprøv "
            "bot/server/patches.py til de nye versioner."
        )


_installed: list[str] = []


def install() -> None:
    """Check the versions, then put each replacement in place (once per process)."""
    if _installed:
        return
    check_versions()
    for patch in PATCHES:
        owner, name, original = resolve(patch.target)
        setattr(owner, name, patch.replace(original))
        _installed.append(patch.target)

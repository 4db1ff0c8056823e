"""What the Rasa server does while the tracker store (PostgreSQL) or the lock store (Redis) is down.

Rasa 3.6 carries on regardless: the Agent wraps every tracker store in `FailSafeTrackerStore`, which answers
an unreadable database with an empty, in-memory conversation (so the user gets replies without context that
are never stored), and a Redis error ends in an empty reply with HTTP 200. Here the message is refused as a
whole instead: nothing of it is stored, the user reads a Danish "prøv igen om lidt", and a REST client also
gets HTTP 503 with Retry-After (so nginx may try another replica, and a client knows it can resend). The
next message after the service is back is handled normally; no stored conversation is touched.

When the action server cannot be reached or fails (the process died, a 500), Rasa logs the error and
answers nothing: a REST client gets HTTP 200 and `[]`, a widget silence. Here the user reads the same Danish
"prøv igen om lidt" and a REST client gets the 503, so nginx tries another replica with the same message id.
The user's message is stored; the answer that was lost is not.

A message that nginx resends after a replica died (bot/ops/cluster.py) carries the same X-Request-ID; it
becomes the id of the user's message, so the tracker store can store it once (bot/server/tracker_store.py).

bot/server/patches.py installs `strict_tracker_store`, `refusing_handle_message` and
`reporting_remote_action`, and adds `add_status_middleware` to Rasa's app.
"""

from __future__ import annotations

import contextvars
import logging

from rasa.core.actions.action import ActionExecutionRejection
from rasa.shared.exceptions import RasaException

from core.replies import text as bot_text

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def unavailable_text() -> str:
    """Shown to the user (every channel) and in the REST body of the 503 (core/texts.yml)."""
    return bot_text("unavailable")


_refused: contextvars.ContextVar[list | None] = contextvars.ContextVar("forlob_refused", default=None)
# nginx's X-Request-ID: the same on each try of one request, so a retried message keeps its id
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("forlob_request_id", default=None)
MAX_REQUEST_ID_LENGTH = 64
# the custom actions of the message being handled that failed because of the action server
_failed_actions: contextvars.ContextVar[list | None] = contextvars.ContextVar("forlob_failed", default=None)


class ServiceUnavailable(RasaException):
    """The conversation store or the lock store cannot be reached; the message was not handled."""


def _raise_unavailable(error: Exception) -> None:
    raise ServiceUnavailable(f"tracker store: {type(error).__name__}") from error


def strict_tracker_store(base):
    """Rasa's FailSafeTrackerStore, but a failing store refuses the message instead of continuing in
    memory."""

    class StrictTrackerStore(base):
        def __init__(self, tracker_store, on_tracker_store_error=None, fallback_tracker_store=None):
            super().__init__(
                tracker_store, on_tracker_store_error or _raise_unavailable, fallback_tracker_store
            )

    return StrictTrackerStore


def reporting_remote_action(original):
    """RemoteAction.run that notes a failure of the action server for the message being handled (Rasa's
    processor catches the error and carries on without the action's reply)."""

    async def run(self, output_channel, nlg, tracker, domain):
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # the action itself declined (a form's validation): not a failure
        except RasaException:
            failed = _failed_actions.get()
            if failed is not None:
                failed.append(self.name())
            raise

    return run


async def _refuse(message) -> None:
    """Tell the user to try again (instead of any reply computed so far) and mark the request for a 503."""
    collected = getattr(message.output_channel, "messages", None)
    if isinstance(collected, list):
        collected.clear()  # replies computed before the failure are incomplete: do not show them
    await message.output_channel.send_text_message(message.sender_id, unavailable_text())
    flag = _refused.get()
    if flag is not None:
        flag.append(True)


def refusing_handle_message(original):
    """Agent.handle_message that answers "prøv igen om lidt" when a store or the action server is down (no
    user text is logged)."""

    async def handle_message(self, message):
        request_id = _request_id.get()
        if request_id:
            message.message_id = request_id
        failed: list[str] = []
        _failed_actions.set(failed)
        try:
            result = await original(self, message)
        except ServiceUnavailable as exc:
            cause = exc.__cause__
            # class names only: a database error's text can quote the (user's) data it failed to write
            logger.error(
                "Message not handled, %s (%s)", exc, type(getattr(cause, "orig", None) or cause).__name__
            )
            await _refuse(message)
            return None
        if failed:
            logger.error("The action server did not run %s; the user is asked to retry", ", ".join(failed))
            await _refuse(message)
        return result

    return handle_message


def add_status_middleware(app) -> None:
    """HTTP 503 + Retry-After on a request whose message was refused (the body stays Rasa's message list);
    an X-Request-ID header becomes the message's id (see bot/server/tracker_store.py)."""

    @app.middleware("request")
    async def track_refusal(request):
        _refused.set([])
        request_id = request.headers.get("X-Request-ID", "")
        _request_id.set(request_id if 0 < len(request_id) <= MAX_REQUEST_ID_LENGTH else None)

    @app.middleware("response")
    async def refused_is_503(request, response):
        if _refused.get():
            response.status = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)

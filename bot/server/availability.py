"""What the Rasa server does while the tracker store (PostgreSQL) or the lock store (Redis) is down.

Rasa 3.6 carries on regardless: the Agent wraps every tracker store in `FailSafeTrackerStore`, which answers
an unreadable database with an empty, in-memory conversation (so the user gets replies without context that
are never stored), and a Redis error ends in an empty reply with HTTP 200. Here the message is refused as a
whole instead: nothing of it is stored, the user reads a Danish "prøv igen om lidt", and a REST client also
gets HTTP 503 with Retry-After (so nginx may try another replica, and a client knows it can resend). The
next message after the service is back is handled normally; no stored conversation is touched.

A message that nginx resends after a replica died (bot/ops/cluster.py) carries the same X-Request-ID; it
becomes the id of the user's message, so the tracker store can store it once (bot/server/tracker_store.py).

bot/server/patches.py installs `strict_tracker_store` and `refusing_handle_message` and adds
`add_status_middleware` to Rasa's app.
"""

from __future__ import annotations

import contextvars
import logging

from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# Shown to the user (every channel) and in the REST body of the 503; kept with the code that sends it
# because the Rasa server sends it when it cannot reach the conversation store, without domain or actions.
UNAVAILABLE_TEXT = (
    "Undskyld, jeg kan ikke svare lige nu på grund af en teknisk fejl hos os. "
    "Prøv igen om lidt – det, du har skrevet indtil nu, er ikke gået tabt."
)

_refused: contextvars.ContextVar[list | None] = contextvars.ContextVar("forlob_refused", default=None)
# nginx's X-Request-ID: the same on each try of one request, so a retried message keeps its id
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("forlob_request_id", default=None)
MAX_REQUEST_ID_LENGTH = 64


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


def refusing_handle_message(original):
    """Agent.handle_message that answers "prøv igen om lidt" when a store is down (no user text is logged)."""

    async def handle_message(self, message):
        request_id = _request_id.get()
        if request_id:
            message.message_id = request_id
        try:
            return await original(self, message)
        except ServiceUnavailable as exc:
            cause = exc.__cause__
            # class names only: a database error's text can quote the (user's) data it failed to write
            logger.error(
                "Message not handled, %s (%s)", exc, type(getattr(cause, "orig", None) or cause).__name__
            )
            collected = getattr(message.output_channel, "messages", None)
            if isinstance(collected, list):
                collected.clear()  # replies computed before a failed save were never stored: do not show them
            await message.output_channel.send_text_message(message.sender_id, UNAVAILABLE_TEXT)
            flag = _refused.get()
            if flag is not None:
                flag.append(True)
            return None

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

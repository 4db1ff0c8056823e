"""What a message must look like before it reaches Rasa, on the REST webhook and on socket.io alike.

Rasa 3.6 takes any JSON: a body without `sender` is answered in one conversation called "default", shared
by every client that forgets the field (one family could read the context another left); a `message` that
is a list, or a sender of 5 000 characters, is accepted; a 100 000-character message is answered with `[]`.
Here a missing, empty or non-text sender, one longer than MAX_SENDER_LENGTH or with control characters,
and a message that is not text are refused with a Danish reason; a message longer than MAX_MESSAGE_LENGTH
is not handled (nothing is stored) and answered with a Danish request for a shorter question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.replies import text as bot_text

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_LENGTH = 5000
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def too_long_text() -> str:
    """The Danish request for a shorter question (core/texts.yml)."""
    return bot_text("too_long", limit=MAX_MESSAGE_LENGTH)


@dataclass(frozen=True)
class Refusal:
    reason: str  # Danish, shown to the developer or the client


def check_sender(sender, field: str = "sender") -> Refusal | None:
    """`field` is the name the client used: `sender` on REST, `session_id` on socket.io."""
    if not isinstance(sender, str) or not sender.strip():
        return Refusal(
            f"Feltet '{field}' mangler eller er tomt. Giv hver samtale sit eget id (tekst), så to "
            "brugere aldrig deler en samtale."
        )
    if len(sender) > MAX_SENDER_LENGTH:
        return Refusal(f"Feltet '{field}' er for langt: højst {MAX_SENDER_LENGTH} tegn.")
    if CONTROL.search(sender):
        return Refusal(f"Feltet '{field}' må ikke indeholde kontroltegn (fx linjeskift).")
    return None


def check_message(message) -> Refusal | None:
    """None for text (or no text at all, which the assistant answers itself); a refusal for anything else."""
    if message is not None and not isinstance(message, str):
        return Refusal("Feltet 'message' skal være tekst.")
    return None


def too_long(message) -> bool:
    return isinstance(message, str) and len(message) > MAX_MESSAGE_LENGTH

"""A caseworker's request for a colleague in Slack or Teams, the part both channels share.

The handoff action (actions/handoff.py) marks its reply in Slack and Teams with `escalation` in the custom
payload: the caseworker's question, the request's own words, the topic discussed. The Slack or Teams output
channel posts that to its configured expert channel, each through its own client (slack.py, teams.py), and
then shows the caseworker `caseworker_reply(message, outcome)` instead of the action's reply:

- sent: where it went and who answers when (ESCALATION_ANSWER_TIME), not the citizen contact;
- not set up, or the post failed: plainly that nothing was sent, then the action's own text (the contact).

Nothing here talks to a service, so the decision what the caseworker reads is made in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from core.config import EscalationSettings
from core.redaction import quoted, shortened
from core.replies import text as bot_text


class Outcome(Enum):
    SENT = "sent"
    NOT_CONFIGURED = "not_configured"
    FAILED = "failed"


@dataclass(frozen=True)
class Escalation:
    """What is posted to colleagues. What the caseworker typed is redacted here too, though the action did
    already: this is where it leaves the assistant, whoever built the payload."""

    question: str | None = None
    request: str | None = None
    topic_title: str | None = None  # the KB's own title, not the caseworker's words

    @classmethod
    def from_payload(cls, details: dict) -> "Escalation":
        return cls(
            question=_typed(details.get("question")),
            request=_typed(details.get("request")),
            topic_title=_plain(details.get("topic_title")),
        )

    def fields(self) -> list[tuple[str, str]]:
        """The labelled fields both channels post, in order; the question always (with a placeholder when
        the caseworker gave none), the others only when there is something to say."""
        fields = [
            (bot_text("escalation_post_question"), self.question or bot_text("escalation_post_no_question")),
            (bot_text("escalation_post_request"), self.request),
            (bot_text("escalation_post_topic"), self.topic_title),
        ]
        return [(label, value) for label, value in fields if value]


def _plain(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return shortened(" ".join(value.split()))


def _typed(value: object) -> str | None:
    return quoted(value) if isinstance(value, str) and value.strip() else None


def requested(message: dict) -> Escalation | None:
    """The escalation a bot message asks for, or None (any other reply, or a malformed payload)."""
    custom = message.get("custom")
    if not isinstance(custom, dict) or custom.get("kind") != "handoff":
        return None
    details = custom.get("escalation")
    return Escalation.from_payload(details) if isinstance(details, dict) else None


def caseworker_reply(
    message: dict,
    outcome: Outcome,
    settings: EscalationSettings,
    where: str | None = None,
    where_url: str | None = None,
) -> dict:
    """The bot message the caseworker gets. `where` names the expert channel (a configured name, else a plain
    "ekspertkanalen"); `where_url` links it where the channel knows a link to the post."""
    custom = {key: value for key, value in message["custom"].items() if key != "escalation"}
    if outcome is Outcome.SENT:
        label = where or bot_text("escalation_default_channel")
        answer_time = settings.answer_time or bot_text("escalation_answer_time")
        where_text = f"[{label}]({where_url})" if where_url else label
        return {
            "text": bot_text("escalation_sent", where=where_text, answer_time=answer_time),
            "custom": custom,
        }
    notice = bot_text("escalation_failed" if outcome is Outcome.FAILED else "escalation_not_configured")
    contact = (message.get("text") or "").strip()
    return {**message, "text": f"{notice}\n\n{contact}" if contact else notice, "custom": custom}

"""What a conversation holds, read from its events: the context told, the topics answered, the
organisations listed.

`read_conversation(events)` reads what a conversation holds: the context slots, the topics answered
(payloads `kind: answer`) and the organisations listed (payloads `kind: organisations`). It reads Rasa's
event dicts, so the action server (rasa_sdk `tracker.events`) and the web app (the `data` column of the
tracker store's `events` table) see the same thing. Like Rasa, it starts from the latest session
(slots are carried over into it as slot events), and "start forfra" or a restart forgets everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

CONTEXT_SLOTS = ("role", "age", "life_phase", "municipality", "region", "diagnosis")


@dataclass
class Conversation:
    slots: dict[str, Any] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)  # answered, in order, each once
    organisations: list[str] = field(default_factory=list)  # listed in organisation replies, each once
    answers: int = 0  # answer replies in this session (the offer of a checklist starts at the second)

    @property
    def is_empty(self) -> bool:
        return not self.topics and not self.organisations


def read_conversation(events: Iterable[dict]) -> Conversation:
    conversation = Conversation()
    for event in events:
        kind = event.get("event")
        if kind in ("session_started", "restart", "reset_slots"):
            conversation = Conversation()
        elif kind == "slot" and event.get("name") in CONTEXT_SLOTS:
            conversation.slots[event["name"]] = event.get("value")
        elif kind == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if custom.get("kind") == "answer" and custom.get("topic"):
                conversation.answers += 1
                _add(conversation.topics, custom["topic"])
            elif custom.get("kind") == "organisations":
                for organisation in custom.get("organisations") or []:
                    _add(conversation.organisations, organisation.get("id"))
    return conversation


def _add(items: list[str], item: str | None) -> None:
    if item and item not in items:
        items.append(item)

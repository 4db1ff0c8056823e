"""The meeting checklist ("Tag med til mødet"): structured content built from a conversation and the KB.

`build_checklist(kb, conversation)` turns a conversation (core/conversation.py) into structured content: per
topic its summary, the recommendation and the law to point to and the KB's questions for the municipality; the
organisations with their contact details; and for a professional a meeting agenda for a netværksmøde drawn
from recommendations 1.4 (network meeting), 1.5 (coordination) and 1.6 (transitions). No Danish text is
made here: the page template (bot/web/templates/) and core/texts.yml word it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.conversation import Conversation
from knowledge_base.content import AUDIENCES, DEFAULT_AUDIENCE
from knowledge_base.store import KnowledgeBase

RECOMMENDATION_REF = re.compile(r"^Anbefaling (1\.\d)$")
NETWORK_MEETING, COORDINATION, TRANSITIONS = "1.4", "1.5", "1.6"
TRANSITION_TOPICS = (TRANSITIONS, "overgang-til-voksenlivet")
YOUNG_PHASES = ("16-17", "18-25")  # the young person takes part in the meeting
SPECIALIST_TYPES = ("national", "hospital")  # organisations a caseworker can invite or consult
MAX_SPECIALISTS = 4


@dataclass
class TopicItem:
    id: str
    title: str
    summary: str
    recommendations: list[tuple[str, str]]  # (number, title), e.g. ("1.6", "Forberedelse af overgange")
    laws: list[str]  # e.g. "Barnets lov §§ 122–123"
    questions: list[str]  # "det kan du spørge kommunen om"


@dataclass
class Agenda:
    """A netværksmøde (recommendation 1.4) for a professional: who to invite and what to cover."""

    young_person_attends: bool
    adult_services: bool  # the transition to adult life is on the table: invite the adult-area caseworker
    phase_participants: str | None  # 1.4's note for the child's life phase (who belongs at the table)
    specialists: list[dict]
    meeting: dict  # 1.4: its title, summary, checklist
    coordination: dict  # 1.5: its title and summary
    transition: dict | None  # 1.6 and its handover checklist, when the transition is relevant


# The page prints on one A4 sheet: the first (most important) references and questions of each topic
MAX_LAWS = 3
MAX_QUESTIONS = 4
MAX_CHECKLIST_ITEMS = 6


@dataclass
class Checklist:
    audience: str  # foraelder | fagperson | ung
    age: int | None
    life_phase: str | None  # the phase's name
    municipality: str | None
    region: str | None
    diagnosis: str | None  # the diagnosis's name (or what the slot held)
    topics: list[TopicItem]
    organisations: list[dict]
    agenda: Agenda | None
    reviewed: str  # the newest review date of the topics used


def topic_item(kb: KnowledgeBase, topic_id: str) -> TopicItem | None:
    topic = kb.topic(topic_id)
    if topic is None:
        return None
    numbers = [topic_id] if topic.get("kind") == "anbefaling" else []
    for source in topic.get("sources") or []:
        match = RECOMMENDATION_REF.match(source.get("ref") or "")
        if match and match.group(1) not in numbers and kb.topic(match.group(1)):
            numbers.append(match.group(1))
    return TopicItem(
        topic_id,
        topic["title"],
        topic["summary"].strip(),
        [(n, kb.topic(n)["title"]) for n in numbers],
        list(topic.get("legal_refs") or [])[:MAX_LAWS],
        list(topic.get("ask_municipality") or [])[:MAX_QUESTIONS],
    )


def _fits_age(organisation: dict, age: float | None) -> bool:
    return age is None or organisation.get("max_age") is None or age <= organisation["max_age"]


def agenda(kb: KnowledgeBase, conversation: Conversation, found: list[dict]) -> Agenda:
    phase = conversation.slots.get("life_phase")
    age = conversation.slots.get("age")
    transition = any(t in TRANSITION_TOPICS for t in conversation.topics) or phase in YOUNG_PHASES
    candidates = found + [
        kb.organisation(o)
        for t in conversation.topics
        for o in (kb.topic(t) or {}).get("organisations") or []
    ]
    specialists: list[dict] = []
    for organisation in candidates:
        if (
            organisation
            and organisation["type"] in SPECIALIST_TYPES
            and _fits_age(organisation, age)
            and organisation not in specialists
        ):
            specialists.append(organisation)
    meeting = kb.topic(NETWORK_MEETING)
    return Agenda(
        young_person_attends=phase in YOUNG_PHASES,
        adult_services=transition,
        phase_participants=(meeting.get("phase_notes") or {}).get(phase) if phase else None,
        specialists=specialists[:MAX_SPECIALISTS],
        meeting=_shortened(meeting),
        coordination=kb.topic(COORDINATION),
        transition=_shortened(kb.topic(TRANSITIONS)) if transition else None,
    )


def _shortened(topic: dict) -> dict:
    """The topic with its checklist's first items only, so that the agenda prints on one A4 sheet."""
    checklist = topic.get("checklist")
    if not checklist:
        return topic
    return {**topic, "checklist": {**checklist, "items": list(checklist["items"])[:MAX_CHECKLIST_ITEMS]}}


def build_checklist(kb: KnowledgeBase, conversation: Conversation) -> Checklist:
    slots = conversation.slots
    audience = slots.get("role") if slots.get("role") in AUDIENCES else DEFAULT_AUDIENCE
    age = slots.get("age")
    phase = (kb.life_phase_by_id(slots.get("life_phase")) or {}).get("name")
    diagnosis = kb.diagnosis(str(slots["diagnosis"])) if slots.get("diagnosis") else None
    topics = [item for item in (topic_item(kb, t) for t in conversation.topics) if item]
    found = [o for o in (kb.organisation(i) for i in conversation.organisations) if o]
    used = [kb.topic(t.id) for t in topics]
    return Checklist(
        audience=audience,
        age=int(age) if isinstance(age, (int, float)) else None,
        life_phase=phase,
        municipality=slots.get("municipality") or None,
        region=slots.get("region") or None,
        diagnosis=diagnosis["name"]
        if diagnosis
        else (str(slots["diagnosis"]) if slots.get("diagnosis") else None),
        topics=topics,
        organisations=found,
        agenda=agenda(kb, conversation, found) if audience == "fagperson" else None,
        reviewed=max((str(t.get("reviewed", "")) for t in used), default=""),
    )

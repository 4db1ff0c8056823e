"""What the user tells about their situation: normalised after every message, acknowledged on `inform`.

`action_validate_slot_mappings` runs after every user message (Rasa 3): a municipality entity becomes the
canonical name plus its region on today's date, a diagnosis becomes its KB id, an age becomes a number
and a life phase ("fylder 18 til foråret" is 17 today), and "jeg er 17" makes the writer a young person. Who
writes comes from the phrases in roles.yml, else, while the conversation has no role, from the voice of the
message (the KB's role classifier).
"""

from __future__ import annotations

import datetime as dt
import re

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.forms import ValidationAction

from actions import slots
from actions.base import KnowledgeMixin
from actions.messages import topic_button
from actions.organisations import referral_message
from core.redaction import redact
from core.replies import payload
from core.replies import text as bot_text
from knowledge_base.content import AUDIENCES
from knowledge_base.referral import Referral
from knowledge_base.store import KnowledgeBase
from knowledge_base.text import terms

# a message in a professional's or a young person's voice this likely sets the role when nothing else has
# (chosen on tests/data/dev.yml with benchmarks/tune.py); a parent needs no role: theirs is the default text
ROLE_CONFIDENCE = 0.6
VOICED_ROLES = ("fagperson", "ung")
CONTEXT_ENTITIES = {"municipality", "age", "diagnosis", "role"}
SELF_AGE = re.compile(r"\bjeg er (\d{1,2})\b", re.IGNORECASE)
AGE_IN_TEXT = re.compile(
    r"\b(?:fylder(?: snart)?|er) (\d{1,2})(?: år)?\b"
    r"(?! ?(?:uger?|dage?|måned|timer?|minutter|kr|%|gange|procent))",
    re.IGNORECASE,
)
TURNS = re.compile(r"\bfylder (?:snart )?(\d{1,2})\b", re.IGNORECASE)
PLACE_PHRASE = re.compile(
    r"\b(?:bor (?:i|på)|flyttet til|kommune(?:n)? er|fra) ([A-ZÆØÅa-zæøå][\wæøåÆØÅ-]{2,})"
    r"|\b([A-ZÆØÅ][\wæøåÆØÅ-]{2,}) [Kk]ommune\b"
)
ROLE_NAMES = {"foraelder": "forælder", "fagperson": "fagperson", "ung": "ung"}
# What the privacy note ("Jeg gemmer ikke CPR-numre, telefonnumre eller e-mailadresser") is about. Names and
# addresses are redacted before storage too, but they are found by context and are common in a family's
# story ("min datter Ida"): a note after a name the user did not think of as personal data, or after a
# word wrongly taken for one, would interrupt more than it reassures.
NOTED_KINDS = frozenset({"cpr", "phone", "email"})


class ValidateSlotMappings(KnowledgeMixin, ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(self, dispatcher, tracker, domain):
        """Also tells the user, once, when the message held personal data that will not be stored."""
        events = await super().run(dispatcher, tracker, domain)
        text = tracker.latest_message.get("text") or ""
        stated = AGE_IN_TEXT.search(text)
        if stated and not any(e.get("name") == slots.AGE for e in events):
            # the CRF's age is learned and can miss "fylder 18 til foråret"; the plain wording is a safe net
            events += [
                SlotSet(name, value)
                for name, value in self.validate_age(stated.group(1), dispatcher, tracker, domain).items()
            ]
        role = self.kb.role_in(text)  # the writer's own words (roles.yml) say more than one extracted word
        if (
            not role
            and not tracker.get_slot(slots.ROLE)
            and not any(e.get("name") == slots.ROLE for e in events)
        ):
            role = voiced_role(self.kb, text)
        if role:
            # always sent: rasa_sdk has already applied this turn's events to `tracker`, so comparing with
            # its slot would drop a role that the age validation set ("jeg er 17") in the same turn
            events = [e for e in events if e.get("name") != slots.ROLE] + [SlotSet(slots.ROLE, role)]
        _, found = redact(text)
        if found & NOTED_KINDS and not tracker.get_slot(slots.PRIVACY_NOTED):
            dispatcher.utter_message(text=bot_text("privacy_note"))
            events.append(SlotSet(slots.PRIVACY_NOTED, True))
        return events

    def validate_municipality(self, value, dispatcher, tracker, domain):
        name = self.kb.municipality(str(value)) if value else None
        if not name:
            return {slots.MUNICIPALITY: None}
        return {slots.MUNICIPALITY: name, slots.REGION: self.kb.region_of(name, dt.date.today())}

    def validate_diagnosis(self, value, dispatcher, tracker, domain):
        diagnosis = self.kb.diagnosis(str(value)) if value else None
        return {slots.DIAGNOSIS: diagnosis["id"] if diagnosis else None}

    def validate_age(self, value, dispatcher, tracker, domain):
        try:
            age = float(str(value).strip())
        except ValueError:
            return {slots.AGE: None}
        if not 0 <= age <= 30:
            return {slots.AGE: None}
        text = tracker.latest_message.get("text") or ""
        turns = TURNS.search(text)
        if turns and float(turns.group(1)) == age and age >= 1:
            age -= 1  # "hun fylder 18 til foråret": she is 17 now, in the phase that prepares adulthood
        result = {slots.AGE: age}
        phase = self.kb.life_phase(int(age))
        result[slots.LIFE_PHASE] = phase["id"] if phase else None
        said = SELF_AGE.search(text)
        if said and not tracker.get_slot(slots.ROLE) and float(said.group(1)) == age:
            result[slots.ROLE] = "ung"
        return result

    def validate_role(self, value, dispatcher, tracker, domain):
        return {slots.ROLE: value if value in AUDIENCES else None}


def voiced_role(kb: KnowledgeBase, text: str) -> str | None:
    """A professional's or a young person's role when the message is clearly written in that voice."""
    role, probability = kb.likely_role(text)
    return role if role in VOICED_ROLES and probability >= ROLE_CONFIDENCE else None


def tells_situation(kb: KnowledgeBase, tracker: Tracker) -> bool:
    """Whether the latest message tells something about the situation that we keep: a place (known or not),
    an age, a diagnosis, or who writes."""
    text = tracker.latest_message.get("text") or ""
    told = {e.get("entity") for e in tracker.latest_message.get("entities") or []} & CONTEXT_ENTITIES
    return bool(told or AGE_IN_TEXT.search(text) or unknown_place(kb, tracker) or kb.role_in(text))


# words that only frame the situation ("min søn er 10", "hun er 6 uger gammel", "hej, vi bor i …"), as lemmas
FRAMING = frozenset(
    terms(
        "hej hejsa goddag søn datter barn børn dreng pige baby tvilling bror søster "
        "mor far forælder forældre mormor farmor "
        "år uge måned dag gammel gamle bo bor boede hedde"
    )
)


def only_context(tracker: Tracker) -> bool:
    """Whether the latest message says nothing but the situation: an age, a place, a diagnosis, who it is
    about, and no other word ("viden om Williams syndrom" asks for something). Such a message is acknowledged
    even when the matcher reads it as outside the domain ("min søn er 10" is no question about anything)."""
    text = tracker.latest_message.get("text") or ""
    told = set()
    for entity in tracker.latest_message.get("entities") or []:
        told.update(terms(str(entity.get("value", ""))))
        start, end = entity.get("start"), entity.get("end")
        if isinstance(start, int) and isinstance(end, int):
            told.update(terms(text[start:end]))
    rest = [t for t in terms(text) if t not in told and t not in FRAMING and not t.isdigit()]
    return not rest


def tells_more_than_age(kb: KnowledgeBase, tracker: Tracker) -> bool:
    """Whether the latest message tells a place, a diagnosis, or that a professional or a young person writes:
    enough to belong to the domain whatever else it says. An age or "vores dreng" alone does not ("vores pige
    på 8 er bange for mørke" is about any child)."""
    text = tracker.latest_message.get("text") or ""
    told = {e.get("entity") for e in tracker.latest_message.get("entities") or []} - {"age", "role"}
    return bool(
        told & CONTEXT_ENTITIES or unknown_place(kb, tracker) or kb.role_in(text) in ("fagperson", "ung")
    )


def acknowledgement(kb: KnowledgeBase, tracker: Tracker, topic_id: str | None = None) -> dict:
    """Says back what was understood (so the user can correct it), with the topic the message seems to be
    about as a button; a place we do not know gets a clear answer and the national options."""
    place = unknown_place(kb, tracker)
    region = tracker.get_slot(slots.REGION)
    if place:
        referral = Referral([kb.organisation(o) for o in kb.referral_routes["national"]], "national")
        return referral_message(kb, referral, tracker, intro=bot_text("unknown_place", place=place))
    facts = []
    role = tracker.get_slot(slots.ROLE)
    if role:
        facts.append(bot_text("fact_role", role=ROLE_NAMES[role]))
    age = tracker.get_slot(slots.AGE)
    if age is not None:
        phase = kb.life_phase(int(age))
        facts.append(bot_text("fact_age", age=int(age), phase=phase["name"] if phase else ""))
    municipality = tracker.get_slot(slots.MUNICIPALITY)
    if municipality:
        facts.append(bot_text("fact_municipality", municipality=municipality, region=region))
    diagnosis_id = tracker.get_slot(slots.DIAGNOSIS)
    if diagnosis_id:
        facts.append(bot_text("fact_diagnosis", diagnosis=kb.diagnosis(diagnosis_id)["name"]))
    if not facts:
        return {"text": bot_text("context_nothing"), "json_message": payload("clarify", region=region)}
    buttons = [topic_button(kb, topic_id)] if topic_id and kb.topic(topic_id) else []
    buttons.append({"title": bot_text("button_find_organisations"), "payload": "/find_organisation"})
    return {
        "text": bot_text("context_ack", facts=", ".join(facts)),
        "buttons": buttons,
        "json_message": payload("smalltalk", region=region, audience=role),
    }


def unknown_place(kb: KnowledgeBase, tracker: Tracker) -> str | None:
    """A place named in the message ("bor i Narnia") that is no Danish municipality, or None."""
    if any(e.get("entity") == "municipality" for e in tracker.latest_message.get("entities") or []):
        return None
    for match in PLACE_PHRASE.finditer(tracker.latest_message.get("text") or ""):
        place = match.group(1) or match.group(2)
        if kb.municipality(place) is None and kb.diagnosis(place) is None and place[0].isupper():
            return place[:40]
    return None

"""Organisation look-up: the right organisations for the family's situation, as a short Danish list."""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.base import KnowledgeAction
from actions.regions import region_message
from core.config import deployment_overrides
from core.replies import payload
from core.replies import text as bot_text
from knowledge_base.referral import Referral, find_organisations
from knowledge_base.store import KnowledgeBase

MAX_LINK_BUTTONS = 3
# "hvem er DUKH?", "hvad kan Danske Handicaporganisationer hjælpe med?": a question about one organisation
ORGANISATION_OPENS = 3  # at most this many words before the name: the question is about the organisation
ORGANISATION_QUESTION = re.compile(
    r"\b(hvem er|hvad er|hvad laver|hvad gør|hvad kan|hvordan kontakter|"
    r"kontakt|fortæl om|hvad hjælper|kan .{0,40} hjælpe|hvad med|hvad bruger|"
    r"hvad betyder|hvad står .{1,12} for|for noget|hvad det er|rolle|"
    r"(bruge|ringe til|skrive til|henvende (os|mig|sig) til|kontakte) (dem|det|den))\b",
    re.IGNORECASE,
)


def _intro(kb: KnowledgeBase, referral: Referral, tracker: Tracker) -> str:
    if referral.basis in ("diagnosis", "no_association"):
        return bot_text(f"organisations_{referral.basis}", diagnosis=referral.diagnosis["name"])
    if referral.basis == "need":
        return bot_text("organisations_need", need=referral.need["label"].lower())
    if referral.basis == "topic":
        return bot_text("organisations_topic", topic=kb.topic(tracker.get_slot(slots.TOPIC))["title"])
    return bot_text("organisations_general")


def _line(org: dict) -> str:
    contact = org.get("how_to_contact") or ""
    phone = f" Tlf. {org['phone']}." if org.get("phone") and org["phone"] not in contact else ""
    return bot_text(
        "organisation_line",
        name=org["name"],
        helps_with=org["helps_with"].strip(),
        contact=(contact.strip() + phone).strip(),
    )


def _local_contact(kb: KnowledgeBase, municipality: str | None) -> str | None:
    """The deployment's own human contact, when the family lives in that municipality."""
    deployment = kb.deployment(deployment_overrides())
    own = kb.municipality(deployment.get("municipality", ""))
    if not municipality or own != municipality:
        return None
    contact = deployment["contact"]
    return bot_text("local_contact", municipality=deployment["municipality"], **contact)


def referral_message(
    kb: KnowledgeBase, referral: Referral, tracker: Tracker, intro: str | None = None
) -> dict:
    """kwargs for dispatcher.utter_message: list, link buttons, payload `kind: organisations`."""
    parts = [intro or _intro(kb, referral, tracker)]
    parts += [_line(org) for org in referral.organisations]
    for org, reason in referral.excluded:
        if reason == "min_age":
            parts.append(bot_text("excluded_min_age", name=org["name"], min_age=org["min_age"]))
    municipality = tracker.get_slot(slots.MUNICIPALITY)
    local = _local_contact(kb, municipality)
    if local:
        parts.append(local)
    elif not municipality and referral.basis in ("need", "general"):
        parts.append(bot_text("ask_municipality"))
    buttons = [
        {"title": org["name"], "url": org["url"], "type": "web_url"}
        for org in referral.organisations
        if org.get("url")
    ][:MAX_LINK_BUTTONS]
    region = tracker.get_slot(slots.REGION)
    return {
        "text": "\n\n".join(parts),
        "buttons": buttons,
        "json_message": payload(
            "organisations",
            organisations=referral.organisations,
            region=region,
            audience=tracker.get_slot(slots.ROLE),
        ),
    }


def named_organisation_message(kb: KnowledgeBase, text: str, tracker: Tracker) -> dict | None:
    """The card of the one organisation a message asks about by name; None when it names none."""
    mention = kb.organisation_mention(text)
    if not mention:
        return None
    named, words_before = mention
    # asked about: "hvad er VISO?", "VISO?", or a question that opens with it ("kan VISO komme ud på skolen?",
    # "kan vi bruge Center for Sjældne Sygdomme på Skejby …?");
    # not one mentioned on the way to another question
    opens_question = words_before <= ORGANISATION_OPENS and "?" in text
    if not (ORGANISATION_QUESTION.search(text) or len(text.split()) <= 5 or opens_question):
        return None
    org = kb.organisation(named)
    return referral_message(
        kb, Referral([org], "named"), tracker, intro=bot_text("organisations_named", name=org["name"])
    )


class ActionFindOrganisations(KnowledgeAction):
    def name(self) -> str:
        return "action_find_organisations"

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        # Rasa's intent says "organisations"; a region question or one organisation by name is more specific
        text = tracker.latest_message.get("text") or ""
        specific = region_message(self.kb, text, tracker) or named_organisation_message(
            self.kb, text, tracker
        )
        if specific:
            dispatcher.utter_message(**specific)
            return []
        latest_diagnosis = next(tracker.get_latest_entity_values("diagnosis"), None)
        diagnosis = self.kb.diagnosis(latest_diagnosis) if latest_diagnosis else None
        referral = find_organisations(
            self.kb,
            text=tracker.latest_message.get("text") or "",
            diagnosis_id=diagnosis["id"] if diagnosis else tracker.get_slot(slots.DIAGNOSIS),
            topic_id=tracker.get_slot(slots.TOPIC),
            audience=tracker.get_slot(slots.ROLE),
            age=tracker.get_slot(slots.AGE),
        )
        dispatcher.utter_message(**referral_message(self.kb, referral, tracker))
        return []

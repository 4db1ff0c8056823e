"""Answers a question: which entry of the knowledge base it asks for, decided by the KB's matcher.

Rasa's NLU only tells the conversational act (a question, telling about oneself, asking for a human …);
every question-like message (`ask_question`, `out_of_scope`, low NLU confidence, and a message that tells
the situation and asks in the same breath) comes here. In order:

1. a button that names an entry (`/ask_question{"question_id": …}` or `{"topic_id": …}`) is answered directly;
2. someone in distress ("jeg kan ikke mere": distress.yml, or Rasa's express_distress) gets warmth, 112 and
   a person, before anything else;
3. a message that only tells the situation (a place, an age, a diagnosis, who writes; no question) is said
   back, with the topic it seems to be about as a button;
4. a long message is read by the question it contains (its last sentences with a question mark);
5. a question about regions, or about one organisation by name, gets that answer;
6. what is about an adult over 25 or an elderly relative (outside.yml), or what the matcher's domain score
   says is not ours, is turned away kindly, saying who can help; a short message that refers back after an
   answer ("og hvis de siger nej?") is first read together with the question before it;
7. a wish for organisations ("hvem kan vi kontakte?") gets the organisation look-up with the context;
8. a general "hvad kan vi få af hjælp?" gets the overview for the family's life phase;
9. a confident match is answered: the question entry when one fits, else the topic's overview;
10. otherwise "Mente du …?" with the likeliest topics, and after two misses in a row a human.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import slots
from actions.base import KnowledgeAction
from actions.context import acknowledgement, only_context, tells_more_than_age, tells_situation
from actions.handoff import distress_message, handoff_message
from actions.messages import (
    answer_message,
    feedback_message,
    overview_message,
    question_message,
    topic_button,
)
from actions.organisations import named_organisation_message, referral_message
from actions.regions import region_message
from core.conversation import read_conversation
from core.redaction import without_personal_numbers
from core.replies import payload
from core.replies import text as bot_text
from knowledge_base.content import DEFAULT_AUDIENCE
from knowledge_base.referral import find_organisations
from knowledge_base.store import KnowledgeBase
from knowledge_base.text import clean, fold, looks_english, words

ANSWER_CONFIDENCE = 0.4  # a topic this likely is answered (chosen on tests/data/dev.yml: benchmarks/tune.py;
# what else was tried: benchmarks/results/nlu.md)
QUESTION_SCORE_MIN = -0.25  # a question entry answers when its own SVM scores the message at least this
# (0 is that SVM's boundary; a little below it, the entry still fits best)
CLARIFY_CONFIDENCE = 0.15  # below this, nothing is offered as "Mente du …?"
DOMAIN_MIN = 0.6  # below this the message is not about our domain (dev.yml, as above)
RASA_OUT_OF_SCOPE = 0.6  # Rasa's own out_of_scope this sure …
RASA_DISTRESS = 0.6  # Rasa's express_distress this sure is answered as distress
MATCH_OVERRULES_RASA = 0.8  # … is overruled only by a match this sure
CLARIFY_OPTIONS = 3
# a short message that refers back ("kan jeg klage over det?", "og hvis de siger nej?") after a topic was
# answered is read in the light of the question before it; the domain score of such a message says little
# on its own ("klage over det" is also what off-topic complaints look like)
FOLLOW_UP_WORDS = 15
FOLLOW_UP_DOMAIN_MIN = 0.3
REFERS_BACK = re.compile(r"\b(det|den|dem|de|så|hvis|også|dette|ham|hende|deres|her)\b", re.IGNORECASE)
MISSES_BEFORE_HANDOFF = 2
STARTER_TOPICS = ("overgang-til-voksenlivet", "1.7", "merudgifter")
LONG_MESSAGE = 250
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# a question word anywhere ("… hvem bevilger det"); "hvor" only where a clause starts, since it is also a
# relative word in statements ("der hvor vi bor")
QUESTION_WORD = re.compile(r"\b(hvad|hvordan|hvem|hvornår|hvorfor|hvilke[nt]?)\b", re.IGNORECASE)
QUESTION_START = re.compile(
    r"(^|[,.;:–-]\s*|\bog\s+)(hvor|"
    # a yes/no question puts the verb first and its subject right after ("må hun …",
    # "kan vi …", "er der …"); chat Danish also drops the subject of a statement ("har en
    # sjælden sygdom og …"), so the subject is required
    r"(må|kan|skal|er|har|bliver|får|vil|bør|gør|plejer|ved|kunne|skulle|ville|burde) "
    r"(jeg|vi|man|i|du|hun|han|de|det|der|min|mit|mine|vores|hans|hendes|deres|barnet|"
    r"kommunen|skolen|dette|disse|\w+s)|"
    r"(gælder|findes|dækker|koster|betaler|hjælper|tæller|hører|ligger|passer))\b",
    re.IGNORECASE,
)
# someone the sentence is about: the writer, the family, the child, the professional's "vi"
TELLER = re.compile(
    r"\b(jeg|vi|min|mit|mine|vores|han|hun|de|barnet|eleven|borgeren)\b"
    # chat Danish drops the subject: "er 17 og har Pompe", "hej, er lærer for en dreng …"
    r"|^(hej\W*\s*)?(og\s+)?(er|har|holder|arbejder|sidder|bor)\b",
    re.IGNORECASE,
)
STATEMENT_WORDS = 25
# asking without a question mark: "jeg vil gerne vide mere om …", "fortæl om …", "vi har brug for hjælp til …"
REQUEST = re.compile(
    r"\b((jeg|vi) (vil|ville) gerne|(vil|ville) (jeg|vi) gerne|huskeliste|tjekliste|checkliste|"
    r"(jeg|vi) (mangler|søger|leder efter)|har brug for|"
    r"fortæl|forklar|giv (mig|os)|send (mig|os)|lav (en|mig|os)|hjælp (mig|os|til))\b",
    re.IGNORECASE,
)


def intent_name(latest: dict) -> str | None:
    return (latest.get("intent") or {}).get("name")


def intent_confidence(latest: dict) -> float:
    return float((latest.get("intent") or {}).get("confidence") or 0.0)


def question_parts(text: str) -> list[str]:
    """What a message asks, most specific first: a short message whole; of a long story, its last sentences
    with a question mark (or its last two), then those with the sentence before them ("… den løn, jeg
    mister. Er det rigtigt, og hvordan søger man det?"), then the whole story."""
    if len(text) <= LONG_MESSAGE:
        return [text]
    sentences = [s.strip() for s in SENTENCE.split(text) if s.strip()]
    asked = [i for i, s in enumerate(sentences) if s.endswith("?")][-2:] or list(range(len(sentences)))[-2:]
    first = asked[0]
    return [
        " ".join(sentences[i] for i in asked),
        " ".join(sentences[max(0, first - 1) : asked[-1] + 1]),
        text,
    ]


def about(kb: KnowledgeBase, text: str):
    """The matcher's reading of what a message is about: without its personal numbers, which say nothing
    about the topic but pull a question away from the domain."""
    return kb.match(without_personal_numbers(text))


def best_match(kb: KnowledgeBase, parts: list[str]):
    """The first part the matcher is sure of, else the surest; with the part it was read from."""
    matches = []
    for part in parts:  # most specific first; the longer readings only when it is not sure
        match = about(kb, part)
        if match.topic and match.confidence >= ANSWER_CONFIDENCE:
            return part, match
        matches.append((part, match))
    return max(matches, key=lambda pm: pm[1].confidence if pm[1].topic else -1)


def previous_question(tracker: Tracker) -> str | None:
    """The user's text before the latest message in this session (not a button's payload), or None."""
    users = [e for e in tracker.events if e.get("event") == "user"][:-1]
    for event in reversed(users):
        text = clean(event.get("text") or "")
        if text and not text.startswith("/"):
            return text
    return None


def follow_up_match(kb: KnowledgeBase, tracker: Tracker, asked: str, match):
    """For a short message that refers back after an answer: the match, read together with the question
    before it when alone it is no confident topic; None when the message is no such follow-up."""
    if not (
        tracker.get_slot(slots.TOPIC)
        and len(asked.split()) <= FOLLOW_UP_WORDS
        and REFERS_BACK.search(asked)
        and match.domain >= FOLLOW_UP_DOMAIN_MIN
    ):
        return None
    if match.topic and match.confidence >= ANSWER_CONFIDENCE:
        return match
    previous = previous_question(tracker)
    combined = about(kb, f"{previous} {asked}") if previous else None
    return combined if combined and combined.topic and combined.confidence >= ANSWER_CONFIDENCE else None


def said_anything_before(tracker: Tracker) -> bool:
    """Whether the user wrote any text in this session before the latest message."""
    events = tracker.events
    starts = [
        i
        for i, e in enumerate(events)
        if e.get("event") == "action" and e.get("name") == "action_session_start"
    ]
    users = [e for e in events[(starts[-1] if starts else 0) :] if e.get("event") == "user"]
    return any(clean(e.get("text") or "") for e in users[:-1])


def asks_something(text: str) -> bool:
    """Whether a message that tells the situation also asks a question, or asks for something."""
    return "?" in text or bool(
        QUESTION_START.search(text) or QUESTION_WORD.search(text) or REQUEST.search(text)
    )


def only_tells(kb: KnowledgeBase, tracker: Tracker, text: str) -> bool:
    """A short message that tells the situation in a sentence about someone ("vores søn på 10 har NCL", "jeg
    sidder på voksenhandicap i Silkeborg") and asks nothing; not a search-like phrase ("viden om Williams
    syndrom") and not a long story, which is answered by what it is about."""
    return (
        len(text.split()) <= STATEMENT_WORDS
        and not asks_something(text)
        and tells_situation(kb, tracker)
        # a sentence about someone, or the bare situation ("bor i Næstved", an answer to "hvor bor I?")
        and bool(TELLER.search(text) or only_context(tracker))
    )


def wants_organisations(kb: KnowledgeBase, text: str) -> bool:
    """The phrases in referral.yml (`asks`) that mean "who can we contact?"."""
    said = " " + " ".join(fold(w) for w in words(text)) + " "  # punctuation does not matter: "nogen, der"
    return any(
        f" {' '.join(fold(w) for w in words(phrase))} " in said
        for phrase in kb.referral_routes.get("asks") or []
    )


def out_of_domain(dispatcher: CollectingDispatcher, text: str, region: str | None) -> list:
    """Kindly: what we can help with, and who can help instead (or, in English, that we answer in Danish)."""
    key = "english" if looks_english(text) else "out_of_domain"
    dispatcher.utter_message(text=bot_text(key), json_message=payload("out_of_scope", region=region))
    return [SlotSet(slots.MISSES, 0.0)]


def answer_events(
    kb: KnowledgeBase,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    topic_id: str,
    question_id: str | None = None,
    intro: str | None = None,
) -> list:
    """Utter the answer (a question entry, or the topic's overview) and the feedback question; remember the
    topic, reset the miss counter. From the second answer on, the answer offers the meeting checklist."""
    audience = tracker.get_slot(slots.ROLE) or DEFAULT_AUDIENCE
    situation = {
        "life_phase": tracker.get_slot(slots.LIFE_PHASE),
        "region": tracker.get_slot(slots.REGION),
        "offer_checklist": read_conversation(tracker.events).answers >= 1,
    }
    if question_id:
        message = question_message(kb, question_id, audience, **situation)
    else:
        message = answer_message(kb, topic_id, audience, intro=intro, **situation)
    dispatcher.utter_message(**message)
    dispatcher.utter_message(**feedback_message())
    return [SlotSet(slots.TOPIC, topic_id), SlotSet(slots.MISSES, 0.0)]


def missed(kb: KnowledgeBase, dispatcher: CollectingDispatcher, tracker: Tracker, reply) -> list:
    """A message we could not answer: `reply()` says so, and the second miss in a row offers a person."""
    misses = int(tracker.get_slot(slots.MISSES) or 0) + 1
    if misses >= MISSES_BEFORE_HANDOFF:
        dispatcher.utter_message(
            **handoff_message(
                kb, intro=bot_text("handoff_after_misses"), region=tracker.get_slot(slots.REGION)
            )
        )
        return [SlotSet(slots.MISSES, 0.0)]
    reply()
    return [SlotSet(slots.MISSES, float(misses))]


async def respond_to_question(kb: KnowledgeBase, dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    """The whole decision described in the module docstring; returns the events to apply."""
    latest = tracker.latest_message
    entities = {e.get("entity"): e.get("value") for e in latest.get("entities") or []}
    region = tracker.get_slot(slots.REGION)
    audience = tracker.get_slot(slots.ROLE)
    question = kb.question(str(entities["question_id"])) if entities.get("question_id") else None
    if question:
        return answer_events(kb, dispatcher, tracker, question["topic"], question["id"])
    if entities.get("topic_id") and kb.topic(str(entities["topic_id"])):
        return answer_events(kb, dispatcher, tracker, str(entities["topic_id"]))
    text = clean(latest.get("text") or "")
    if not text:
        if not said_anything_before(tracker):
            # a standard web client (rasa-webchat in embedded mode) sends an empty message on connect: the
            # first thing a visitor reads is the greeting, as if the client had sent /greet
            dispatcher.utter_message(response="utter_greet")
            return []
        dispatcher.utter_message(
            text=bot_text("empty_message"), json_message=payload("fallback", region=region)
        )
        return []
    if text.startswith("/"):  # a payload no button of ours sends: a miss like any other
        return missed(
            kb,
            dispatcher,
            tracker,
            lambda: dispatcher.utter_message(
                text=bot_text("empty_message"), json_message=payload("fallback", region=region)
            ),
        )
    if kb.distress_in(text) or (
        intent_name(latest) == "express_distress" and intent_confidence(latest) >= RASA_DISTRESS
    ):
        # never a topic text first to someone who cannot go on
        dispatcher.utter_message(**distress_message(kb, region=region))
        return [SlotSet(slots.MISSES, 0.0)]
    if only_tells(kb, tracker, text):
        # "jeg sidder på voksenhandicap i Silkeborg", "vores søn på 4 har fået en diagnose": the situation,
        # not yet a question. Said back, with the topic it seems to be about one button away.
        match = about(kb, text)
        ours = match.domain >= DOMAIN_MIN and bool(match.topic or match.overview)
        if kb.outside_domain(text) or not (ours or only_context(tracker) or tells_more_than_age(kb, tracker)):
            # "min far er 67 og skal have en trappelift", "vores pige på 8 er bange for mørke": an age is
            # told, but what the message is about lies outside what we know
            return out_of_domain(dispatcher, text, region)
        topic = match.topic if match.domain >= DOMAIN_MIN and match.confidence >= ANSWER_CONFIDENCE else None
        dispatcher.utter_message(**acknowledgement(kb, tracker, topic))
        return [SlotSet(slots.MISSES, 0.0)]
    parts = question_parts(text)
    asked = parts[0]

    specific = region_message(kb, asked, tracker) or named_organisation_message(kb, asked, tracker)
    if specific:
        dispatcher.utter_message(**specific)
        return []

    asked, match = best_match(kb, parts)
    rasa_says_off = intent_name(latest) == "out_of_scope" and intent_confidence(latest) >= RASA_OUT_OF_SCOPE
    outside = kb.outside_domain(asked)  # an adult over 25 or an elderly relative, whatever the topic words
    follow_up = follow_up_match(kb, tracker, asked, match)
    if follow_up:
        match = follow_up
    domain_min = FOLLOW_UP_DOMAIN_MIN if follow_up else DOMAIN_MIN
    in_domain = (
        match.domain >= domain_min
        and (match.topic or match.overview)
        and not (rasa_says_off and match.confidence < MATCH_OVERRULES_RASA)
    )
    organisations_wanted = wants_organisations(kb, asked)
    if outside or (not in_domain and not organisations_wanted):
        return out_of_domain(dispatcher, asked, region)
    if organisations_wanted:
        referral = find_organisations(
            kb,
            text=asked,
            diagnosis_id=tracker.get_slot(slots.DIAGNOSIS),
            topic_id=tracker.get_slot(slots.TOPIC),
            audience=audience,
            age=tracker.get_slot(slots.AGE),
        )
        dispatcher.utter_message(**referral_message(kb, referral, tracker))
        return []
    if match.overview:
        diagnosis_id = tracker.get_slot(slots.DIAGNOSIS)
        dispatcher.utter_message(
            **overview_message(
                kb,
                audience=audience,
                life_phase=tracker.get_slot(slots.LIFE_PHASE),
                diagnosis=kb.diagnosis(diagnosis_id) if diagnosis_id else None,
                region=region,
                starter_topics=STARTER_TOPICS,
            )
        )
        return []
    if match.confidence >= ANSWER_CONFIDENCE:
        question = match.question if match.question_score >= QUESTION_SCORE_MIN else None
        return answer_events(kb, dispatcher, tracker, match.topic, question)
    options = [t for t, p in match.ranked if p >= CLARIFY_CONFIDENCE][:CLARIFY_OPTIONS]

    def ask_back() -> None:
        if options:
            dispatcher.utter_message(
                text=bot_text("clarify"),
                buttons=[topic_button(kb, t) for t in options],
                json_message=payload("clarify", region=region),
            )
        else:
            dispatcher.utter_message(
                text=bot_text("no_answer"),
                buttons=[topic_button(kb, t) for t in STARTER_TOPICS],
                json_message=payload("fallback", region=region),
            )

    return missed(kb, dispatcher, tracker, ask_back)


class ActionAnswer(KnowledgeAction):
    def name(self) -> str:
        return "action_answer"

    async def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        return await respond_to_question(self.kb, dispatcher, tracker)


class ActionAcknowledgeContext(ActionAnswer):
    """After `inform`: the same decision as for a question. A message that only tells the situation is said
    back; one that also asks ("vi bor i Vejle … – hvem kan vi kontakte?") or tells nothing we keep ("vores
    kat har fået lopper") is answered as a question, so that nothing is lost."""

    def name(self) -> str:
        return "action_acknowledge_context"

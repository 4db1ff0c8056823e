"""Answer, search, handoff and reset actions with the real KB handed to their constructors."""

import pytest
from rasa_sdk.events import AllSlotsReset, SlotSet

from actions.answer import ActionAnswer
from actions.handoff import ActionHandoff
from actions.reset import ActionStartOver
from core.replies import payload

TOPIC_1_6 = [{"entity": "topic_id", "value": "1.6"}]


async def answer(kb, tracker, dispatcher, domain, intent, **kwargs):
    events = await ActionAnswer(kb).run(dispatcher, tracker(intent=intent, **kwargs), domain)
    message, feedback = dispatcher.messages
    assert feedback["text"] == "Var svaret til hjælp?"
    assert [b["payload"] for b in feedback["buttons"]] == ["/feedback_positive", "/feedback_negative"]
    return message, events


async def test_parent_gets_the_parents_text_with_source_and_next_steps(kb, tracker, dispatcher, domain):
    message, events = await answer(
        kb,
        tracker,
        dispatcher,
        domain,
        "ask_question",
        entities=[{"entity": "topic_id", "value": "overgang-til-voksenlivet"}],
    )
    topic = kb.topic("overgang-til-voksenlivet", "foraelder")
    assert message["text"].startswith(topic["text"][:60])
    assert f"Kilde: {topic['sources'][0]['ref']}" in message["text"]
    assert "Tjekliste" not in message["text"]
    custom = message["custom"]
    assert custom["kind"] == "answer" and custom["topic"] == "overgang-til-voksenlivet"
    assert custom["audience"] == "foraelder"
    assert [s["ref"] for s in custom["sources"]] == [s["ref"] for s in topic["sources"]]
    titles = [b["title"] for b in message["buttons"]]
    assert titles[-2:] == ["Find organisationer", "Tal med en medarbejder"]
    assert message["buttons"][0]["payload"].startswith('/ask_question{"topic_id": ')
    assert SlotSet("topic", "overgang-til-voksenlivet") in events


async def test_professional_gets_checklist_and_legal_references(kb, tracker, dispatcher, domain):
    message, _ = await answer(
        kb, tracker, dispatcher, domain, "ask_question", entities=TOPIC_1_6, slots={"role": "fagperson"}
    )
    topic = kb.topic("1.6", "fagperson")
    assert message["text"].startswith(topic["text"][:60])
    assert f"Tjekliste – {topic['checklist']['title']}:" in message["text"]
    assert "☐ " + topic["checklist"]["items"][0] in message["text"]
    assert "Lovgrundlag: " in message["text"] and topic["legal_refs"][0] in message["text"]
    assert "Kilde: Anbefaling 1.6" in message["text"]
    assert message["custom"]["audience"] == "fagperson"


@pytest.mark.parametrize("phase", ["0-5", "16-17"])
async def test_life_phase_adds_its_note(kb, tracker, dispatcher, domain, phase):
    message, _ = await answer(
        kb, tracker, dispatcher, domain, "ask_question", entities=TOPIC_1_6, slots={"life_phase": phase}
    )
    note = kb.topic("1.6")["phase_notes"][phase].strip()
    assert note in message["text"]
    other = "16-17" if phase == "0-5" else "0-5"
    assert kb.topic("1.6")["phase_notes"][other].strip() not in message["text"]


async def test_young_person_gets_the_young_text_where_there_is_one(kb, tracker, dispatcher, domain):
    message, _ = await answer(
        kb,
        tracker,
        dispatcher,
        domain,
        "ask_question",
        entities=[{"entity": "topic_id", "value": "1.5"}],
        slots={"role": "ung"},
    )
    assert message["custom"]["audience"] == "ung"
    assert message["text"].startswith(kb.topic("1.5", "ung")["text"][:60])


async def test_young_person_gets_the_parents_text_where_there_is_no_young_text(
    kb, tracker, dispatcher, domain
):
    without_young = next(q["id"] for q in map(kb.question, kb.question_ids()) if "ung" not in q["answers"])
    message, _ = await answer(
        kb,
        tracker,
        dispatcher,
        domain,
        "ask_question",
        entities=[{"entity": "question_id", "value": without_young}],
        slots={"role": "ung"},
    )
    assert message["custom"]["audience"] == "foraelder" and message["custom"]["question"] == without_young


async def ask(kb, tracker, dispatcher, domain, text, **kwargs):
    events = await ActionAnswer(kb).run(
        dispatcher, tracker(text=text, intent="ask_question", **kwargs), domain
    )
    return dispatcher.messages[0], events


async def test_a_specific_question_gets_its_question_entry_with_the_overview_one_button_away(
    kb, tracker, dispatcher, domain
):
    entry = kb.questions_of("klage")[0]
    message, events = await ask(
        kb, tracker, dispatcher, domain, "", entities=[{"entity": "question_id", "value": entry["id"]}]
    )
    assert message["text"].startswith(kb.question(entry["id"], "foraelder")["text"][:60])
    assert message["custom"]["kind"] == "answer"
    assert message["custom"]["topic"] == "klage" and message["custom"]["question"] == entry["id"]
    assert message["buttons"][0] == {
        "title": "Mere om Klage over en afgørelse",
        "payload": '/ask_question{"topic_id": "klage"}',
    }
    assert SlotSet("topic", "klage") in events


async def test_a_topic_button_gets_the_topics_overview(kb, tracker, dispatcher, domain):
    message, _ = await ask(
        kb, tracker, dispatcher, domain, "", entities=[{"entity": "topic_id", "value": "aflastning"}]
    )
    assert message["text"].startswith(kb.topic("aflastning", "foraelder")["text"][:60])
    assert message["custom"]["topic"] == "aflastning" and "question" not in message["custom"]


@pytest.mark.parametrize(
    "text", ["tænd lyset i stuen", "sæt en timer på ti minutter", "hvordan bliver vejret i morgen"]
)
async def test_requests_outside_the_domain_are_turned_away_kindly(kb, tracker, dispatcher, domain, text):
    message, events = await ask(kb, tracker, dispatcher, domain, text, slots={"region": "Nordjylland"})
    assert message["text"].startswith("Det ligger uden for, hvad jeg ved.")
    assert "borgerservice" in message["text"]
    assert message["custom"] == {"kind": "out_of_scope", "region": "Nordjylland"}
    assert "Mente du" not in message["text"]


async def test_a_general_request_for_help_gets_the_overview_for_the_life_phase(
    kb, tracker, dispatcher, domain
):
    message, _ = await ask(
        kb,
        tracker,
        dispatcher,
        domain,
        "hvad kan vi få af hjælp?",
        slots={"role": "foraelder", "age": 16.0, "life_phase": "16-17", "diagnosis": "angelman"},
    )
    expected = next(p for p in kb.life_phases() if p["id"] == "16-17")["topics"]
    assert message["custom"]["kind"] == "overview" and message["custom"]["topics"] == expected
    assert [b["payload"] for b in message["buttons"]] == [
        f'/ask_question{{"topic_id": "{t}"}}' for t in expected
    ]
    assert "16–17 år" in message["text"] and "Angelman" in message["text"]


async def test_a_general_request_without_an_age_asks_for_it(kb, tracker, dispatcher, domain):
    message, _ = await ask(kb, tracker, dispatcher, domain, "hvad kan vi få af hjælp?")
    assert message["custom"]["kind"] == "overview" and "hvor gammelt barnet er" in message["text"]


@pytest.mark.parametrize(
    "text, organisation",
    [
        ("hvem er DUKH?", "dukh"),
        ("hvad er VISO", "viso"),
        ("hvad kan Danske Handicaporganisationer hjælpe med?", "danske-handicaporganisationer"),
        # a question that opens with the organisation is about it
        ("kan VISO give vores PPR sparring om en elev?", "viso"),
        ("hvad er VISO's opgave i en sag som vores?", "viso"),
        ("er der et European Reference Network for knoglesygdomme?", "ern"),
        ("tager Center for Sjældne Sygdomme på AUH også unge over 18?", "css-aarhus"),
    ],
)
async def test_an_organisation_asked_by_name_gets_its_card(
    kb, tracker, dispatcher, domain, text, organisation
):
    message, _ = await ask(kb, tracker, dispatcher, domain, text)
    assert message["custom"]["kind"] == "organisations"
    assert message["custom"]["organisations"][0]["id"] == organisation
    assert kb.organisation(organisation)["helps_with"].strip()[:40] in message["text"]


async def test_an_organisation_mentioned_on_the_way_to_another_question_is_no_card(
    kb, tracker, dispatcher, domain
):
    text = (
        "vores læge har sendt en henvisning til Center for Sjældne Sygdomme på Rigshospitalet, kan vi få "
        "tabt arbejdsfortjeneste når vi skal derind?"
    )
    message, _ = await ask(kb, tracker, dispatcher, domain, text)
    assert message["custom"]["kind"] == "answer"


async def test_a_region_question_is_answered_with_the_region_and_the_2027_change(
    kb, tracker, dispatcher, domain
):
    entities = [{"entity": "municipality", "value": "Vordingborg"}]
    message, _ = await ask(
        kb,
        tracker,
        dispatcher,
        domain,
        "ligger Vordingborg i Region Sjælland?",
        entities=entities,
        slots={"municipality": "Vordingborg", "region": "Sjælland"},
    )
    assert message["text"].startswith("Ja, Vordingborg Kommune ligger i Region Sjælland.")
    assert "Region Østdanmark" in message["text"]
    assert message["custom"]["kind"] == "region" and message["custom"]["region"] == "Sjælland"


@pytest.mark.parametrize(
    "text, kind",
    [
        ("hvad ændrer sig for regionerne i 2027?", "region"),
        ("skal regionen eller kommunen betale for barnets genoptræning efter operationen?", "answer"),
        ("hvad skal regionen hjælpe med, og hvad skal kommunen?", "answer"),
    ],
)
async def test_region_in_a_question_about_who_does_what_is_no_region_question(
    kb, tracker, dispatcher, domain, text, kind
):
    message, _ = await ask(kb, tracker, dispatcher, domain, text)
    assert message["custom"]["kind"] == kind


async def test_a_long_story_is_answered_by_the_question_at_its_end(kb, tracker, dispatcher, domain):
    story = (
        "Vi har det virkelig svært for tiden. Vores datter fik sin diagnose for et år siden, og siden har "
        "hverdagen været en lang række af hospitalsbesøg, møder og telefonopkald. Min mand arbejder meget, "
        "og jeg føler, at jeg står alene med det hele. Vores ældste søn på 12 bliver også glemt lidt, og "
        "jeg kan mærke, at han er ked af det. Vi elsker hende jo, men vi er så trætte. "
        "Kan vi få en pause, hvor nogen andre passer hende en weekend?"
    )
    message, _ = await ask(kb, tracker, dispatcher, domain, story)
    assert message["custom"]["kind"] == "answer" and message["custom"]["topic"] == "aflastning"


async def test_vague_question_gets_did_you_mean_with_topics(kb, tracker, dispatcher, domain):
    message, events = await ask(kb, tracker, dispatcher, domain, "overgang")
    assert message["custom"] == {"kind": "clarify"} or message["custom"]["kind"] == "answer"
    if message["custom"]["kind"] == "clarify":
        assert all(b["payload"].startswith("/ask_question{") for b in message["buttons"])
        assert events == [SlotSet("misses", 1.0)]


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07"])
async def test_empty_message_gets_a_danish_request_for_text(kb, tracker, dispatcher, domain, text):
    earlier = [{"event": "user", "text": "hvad er aflastning"}, {"event": "user", "text": text}]
    message, events = await ask(kb, tracker, dispatcher, domain, text, events=earlier)
    assert message["text"].startswith("Jeg fik ikke nogen tekst")
    assert message["custom"]["kind"] == "fallback" and events == []


@pytest.mark.parametrize(
    "earlier",
    [
        [],  # the first message of a conversation: a standard web client's empty message on connect
        [
            {"event": "user", "text": "hej"},
            {"event": "action", "name": "action_session_start"},
        ],  # a new session
    ],
)
async def test_an_empty_first_message_of_a_session_gets_the_greeting(
    kb, tracker, dispatcher, domain, earlier
):
    message, events = await ask(
        kb, tracker, dispatcher, domain, "", events=earlier + [{"event": "user", "text": ""}]
    )
    assert message == {**message, "response": "utter_greet"} and events == []


async def test_handoff_gives_the_configured_contact_and_what_to_have_ready(
    kb, tracker, dispatcher, domain, monkeypatch
):
    monkeypatch.setenv("FORLOB_CONTACT_EMAIL", "familie@aalborg.example")
    await ActionHandoff(kb).run(dispatcher, tracker(intent="request_human"), domain)
    [message] = dispatcher.messages
    contact = kb.deployment()["contact"]
    assert message["custom"] == {"kind": "handoff"}
    for value in (contact["phone"], contact["opening_hours"], "familie@aalborg.example", contact["bring"][0]):
        assert value in message["text"]


def said(text: str, intent: str, channel: str) -> dict:
    """A user event as the action server receives it."""
    return {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": []},
    }


@pytest.mark.parametrize("channel", ["slack", "teams"])
async def test_in_slack_and_teams_the_handoff_carries_the_question_for_colleagues(
    kb, tracker, dispatcher, domain, channel
):
    events = [
        {"event": "session_started"},
        said("hvordan klager vi? far har CPR 120385-1234 og tlf. 22 33 44 55", "ask_question", channel),
        {"event": "bot", "text": "…", "data": {"custom": {"kind": "answer", "topic": "klage"}}},
        said("tak", "thank", channel),
        said("/request_human", "request_human", channel),
    ]
    await ActionHandoff(kb).run(
        dispatcher,
        tracker("/request_human", intent="request_human", events=events, slots={"topic": "klage"}),
        domain,
    )
    [message] = dispatcher.messages
    assert message["custom"] == {
        "kind": "handoff",
        "escalation": {  # thanks are no question, the button no words
            "question": "hvordan klager vi? far har CPR [CPR-nummer fjernet] og tlf. [telefonnummer fjernet]",
            "topic": "klage",
            "topic_title": kb.topic("klage")["title"],
        },
    }


async def test_the_question_for_colleagues_is_the_last_one_typed_and_is_redacted(
    kb, tracker, dispatcher, domain
):
    events = [
        said("gammelt spørgsmål fra før", "ask_question", "slack"),
        {"event": "session_started"},
        said("hvordan klager vi? far har CPR 120385-1234 og tlf. 22 33 44 55", "ask_question", "slack"),
        said('/ask_question{"topic_id": "klage"}', "ask_question", "slack"),
        said("kan en kollega se på det, mor har mail mor@eksempel.dk", "request_human", "slack"),
    ]
    await ActionHandoff(kb).run(dispatcher, tracker("…", intent="request_human", events=events), domain)
    [message] = dispatcher.messages
    assert message["custom"]["escalation"] == {
        "question": "hvordan klager vi? far har CPR [CPR-nummer fjernet] og tlf. [telefonnummer fjernet]",
        "request": "kan en kollega se på det, mor har mail [e-mail fjernet]",
    }
    # the text is still the contact: only a channel that really passed it on may say so
    assert kb.deployment()["contact"]["phone"] in message["text"]


async def test_on_the_web_and_rest_the_handoff_is_the_contact_as_before(kb, tracker, dispatcher, domain):
    events = [
        said("hvordan klager vi?", "ask_question", "socketio"),
        said("/request_human", "request_human", "rest"),
    ]
    await ActionHandoff(kb).run(dispatcher, tracker(intent="request_human", events=events), domain)
    [message] = dispatcher.messages
    assert message["custom"] == {"kind": "handoff"}


async def test_start_over_forgets_the_context(tracker, dispatcher, domain):
    events = await ActionStartOver().run(dispatcher, tracker(intent="restart", slots={"role": "ung"}), domain)
    assert events == [AllSlotsReset()]
    assert dispatcher.messages[0]["text"].startswith("Så starter vi forfra")


def test_payload_sends_only_keys_with_a_value():
    assert payload("answer", topic="1.6", region=None, organisations=[]) == {"kind": "answer", "topic": "1.6"}
    with pytest.raises(ValueError):
        payload("nonsense")


async def test_an_english_request_outside_the_domain_is_told_the_assistant_speaks_danish(
    kb, tracker, dispatcher, domain
):
    message, _ = await ask(kb, tracker, dispatcher, domain, "what is the weather like in London today")
    assert message["text"].startswith("Jeg taler kun dansk")
    assert message["custom"] == {"kind": "out_of_scope"}


async def test_danish_with_english_words_is_answered_in_danish(kb, tracker, dispatcher, domain):
    message, _ = await ask(
        kb,
        tracker,
        dispatcher,
        domain,
        "kan vi få respite care så vi kan få en weekend fri fra vores handicappede søn",
    )
    assert message["custom"]["kind"] == "answer" and message["custom"]["topic"] == "aflastning"


def test_danish_is_not_taken_for_english():
    from knowledge_base.text import looks_english

    assert not looks_english("hvad sker der når min søn fylder 18")
    assert not looks_english("kan vi få hjælp til en bil")
    assert looks_english("how can I get support for my daughter")


async def test_cpr_number_in_a_question_is_not_echoed(kb, tracker, dispatcher, domain):
    message, _ = await ask(
        kb, tracker, dispatcher, domain, "min søn 120385-1234 skal have aflastning, hvordan søger vi"
    )
    assert all("120385" not in m.get("text", "") for m in dispatcher.messages)
    assert message["custom"]["topic"] == "aflastning"


def test_a_long_story_is_read_by_its_question_then_with_the_sentence_before_then_whole():
    from actions.answer import question_parts

    story = (
        "Vi har haft et hårdt år med mange undersøgelser. " * 6
        + "Min mor siger, at vi kan få dækket den løn, jeg mister. Hvordan søger vi det?"
    )
    assert question_parts(story) == [
        "Hvordan søger vi det?",
        "Min mor siger, at vi kan få dækket den løn, jeg mister. Hvordan søger vi det?",
        story,
    ]
    assert question_parts("hvad er aflastning") == ["hvad er aflastning"]


@pytest.mark.parametrize(
    "text, entities, slots_after, topic",
    [
        # only the situation: said back, the topic it is about one button away, nothing answered yet
        (
            "vores datter på 9 er i aflastning hver anden weekend",
            [{"entity": "age", "value": "9"}],
            {"age": 9.0, "role": "foraelder"},
            "aflastning",
        ),
        (
            "jeg arbejder som fysioterapeut i Randers",
            [{"entity": "municipality", "value": "Randers"}],
            {"municipality": "Randers", "region": "Midtjylland", "role": "fagperson"},
            None,
        ),
        # without the subject, as people chat
        (
            "er pædagog for en pige på 5 med Angelman",
            [{"entity": "age", "value": "5"}, {"entity": "diagnosis", "value": "Angelman"}],
            {"age": 5.0, "role": "fagperson"},
            None,
        ),
        # the bare situation, which the matcher alone would read as outside the domain
        ("min datter er 4", [{"entity": "age", "value": "4"}], {"age": 4.0}, None),
        (
            "bor i Svendborg",
            [{"entity": "municipality", "value": "Svendborg", "start": 7, "end": 16}],
            {"municipality": "Svendborg", "region": "Syddanmark"},
            None,
        ),
    ],
)
async def test_a_message_that_only_tells_the_situation_is_said_back(
    kb, tracker, dispatcher, domain, text, entities, slots_after, topic
):
    await ActionAnswer(kb).run(
        dispatcher, tracker(text=text, intent="ask_question", entities=entities, slots=slots_after), domain
    )
    [message] = dispatcher.messages
    assert message["text"].startswith("Tak, det har jeg noteret")
    assert message["custom"]["kind"] == "smalltalk"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads[-1] == "/find_organisation"
    if topic:
        assert payloads[0] == f'/ask_question{{"topic_id": "{topic}"}}'
    else:
        assert len(payloads) <= 2


@pytest.mark.parametrize(
    "text, entities",
    [
        ("vores dreng på 6 tør ikke sove uden lys", [{"entity": "age", "value": "6"}]),
        ("min far er 71 og har lige fået ny hofte", [{"entity": "age", "value": "71"}]),
    ],
)
async def test_a_situation_outside_the_domain_is_turned_away_not_said_back(
    kb, tracker, dispatcher, domain, text, entities
):
    await ActionAnswer(kb).run(dispatcher, tracker(text=text, intent="inform", entities=entities), domain)
    [message] = dispatcher.messages
    assert message["text"].startswith("Det ligger uden for, hvad jeg ved.")
    assert message["custom"]["kind"] == "out_of_scope"


@pytest.mark.parametrize(
    "text",
    [
        "vi bor i Horsens og vores søn på 6 har Noonan. hvad kan vi få af hjælp",
        "jeg vil gerne vide mere om aflastning, vores søn er 8",
    ],
)
async def test_the_situation_with_a_question_or_a_request_is_answered(kb, tracker, dispatcher, domain, text):
    await ActionAnswer(kb).run(
        dispatcher,
        tracker(text=text, intent="ask_question", entities=[{"entity": "age", "value": "8"}]),
        domain,
    )
    assert not dispatcher.messages[0]["text"].startswith("Tak, det har jeg noteret")


FOLLOW_UP_CONTEXT = [
    {"event": "user", "text": "kommunen har givet afslag på aflastning til vores søn"},
    {"event": "bot", "text": "…"},
]


@pytest.mark.parametrize(
    "text, topic_before, kind, topic",
    [
        # refers back after an answer: read with the question before it
        ("og hvis de siger nej igen?", "aflastning", "answer", "klage"),
        # the same words with nothing answered before: not a topic of its own
        ("og hvis de siger nej igen?", None, "not answer", None),
        # a command stays outside the domain, whatever came before
        ("sæt en timer på det", "aflastning", "out_of_scope", None),
    ],
)
async def test_a_short_follow_up_is_read_with_the_question_before_it(
    kb, tracker, dispatcher, domain, text, topic_before, kind, topic
):
    events = FOLLOW_UP_CONTEXT + [{"event": "user", "text": text}]
    await ActionAnswer(kb).run(
        dispatcher,
        tracker(text=text, intent="ask_question", events=events, slots={"topic": topic_before}),
        domain,
    )
    custom = dispatcher.messages[0]["custom"]
    if kind == "not answer":
        assert custom["kind"] != "answer"
    else:
        assert custom["kind"] == kind and custom.get("topic") == topic


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("er der nogen, der kan hjælpe os med at forstå afgørelsen?", True),  # punctuation inside the phrase
        ("Hvem kan familien kontakte om en second opinion?", True),
        ("hvem har ret til aflastning?", False),
    ],
)
def test_ways_of_asking_who_can_help(kb, text, wanted):
    from actions.answer import wants_organisations

    assert wants_organisations(kb, text) is wanted

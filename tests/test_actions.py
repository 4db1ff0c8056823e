"""Answer, search, handoff and reset actions with the real KB handed to their constructors."""
import pytest
from rasa_sdk.events import AllSlotsReset, SlotSet

from actions.answer import ActionAnswer
from actions.handoff import ActionHandoff
from actions.replies import payload
from actions.reset import ActionStartOver
from actions.search import ActionSearchKB


async def answer(kb, tracker, dispatcher, domain, intent, **kwargs):
    events = await ActionAnswer(kb).run(dispatcher, tracker(intent=intent, **kwargs), domain)
    message, feedback = dispatcher.messages
    assert feedback["text"] == "Var svaret til hjælp?"
    assert [b["payload"] for b in feedback["buttons"]] == ["/feedback_positive", "/feedback_negative"]
    return message, events


async def test_parent_gets_the_parents_text_with_source_and_next_steps(kb, tracker, dispatcher, domain):
    message, events = await answer(kb, tracker, dispatcher, domain, "ask_overgang_voksenlivet",
                                   text="hvad sker der når min søn fylder 18")
    topic = kb.topic("overgang-til-voksenlivet", "foraelder")
    assert message["text"].startswith(topic["text"][:60])
    assert "Kilde: Barnets lov" in message["text"]
    assert "Tjekliste" not in message["text"]
    custom = message["custom"]
    assert custom["kind"] == "answer" and custom["topic"] == "overgang-til-voksenlivet"
    assert custom["audience"] == "foraelder"
    assert [s["ref"] for s in custom["sources"]] == [s["ref"] for s in topic["sources"]]
    titles = [b["title"] for b in message["buttons"]]
    assert titles[-2:] == ["Find organisationer", "Tal med en medarbejder"]
    assert message["buttons"][0]["payload"].startswith("/ask_")
    assert SlotSet("topic", "overgang-til-voksenlivet") in events


async def test_professional_gets_checklist_and_legal_references(kb, tracker, dispatcher, domain):
    message, _ = await answer(kb, tracker, dispatcher, domain, "ask_overgange", text="overdragelse",
                              slots={"role": "fagperson"})
    topic = kb.topic("1.6", "fagperson")
    assert message["text"].startswith(topic["text"][:60])
    assert f"Tjekliste – {topic['checklist']['title']}:" in message["text"]
    assert "☐ " + topic["checklist"]["items"][0] in message["text"]
    assert "Lovgrundlag: " in message["text"] and topic["legal_refs"][0] in message["text"]
    assert "Kilde: Anbefaling 1.6" in message["text"]
    assert message["custom"]["audience"] == "fagperson"


@pytest.mark.parametrize("phase", ["0-5", "16-17"])
async def test_life_phase_adds_its_note(kb, tracker, dispatcher, domain, phase):
    message, _ = await answer(kb, tracker, dispatcher, domain, "ask_overgange", slots={"life_phase": phase})
    note = kb.topic("1.6")["phase_notes"][phase].strip()
    assert note in message["text"]
    other = "16-17" if phase == "0-5" else "0-5"
    assert kb.topic("1.6")["phase_notes"][other].strip() not in message["text"]


async def test_young_person_gets_the_young_text_where_there_is_one(kb, tracker, dispatcher, domain):
    message, _ = await answer(kb, tracker, dispatcher, domain, "ask_koordinerende_funktion", slots={"role": "ung"})
    assert message["custom"]["audience"] == "ung"
    assert message["text"].startswith(kb.topic("1.5", "ung")["text"][:60])


async def test_young_person_gets_the_parents_text_where_there_is_no_young_text(kb, tracker, dispatcher, domain):
    message, _ = await answer(kb, tracker, dispatcher, domain, "ask_vidensberedskab", slots={"role": "ung"})
    assert message["custom"]["audience"] == "foraelder"


async def search(kb, tracker, dispatcher, domain, **kwargs):
    events = await ActionSearchKB(kb).run(dispatcher, tracker(**kwargs), domain)
    return dispatcher.messages[0], events


async def test_confident_search_hit_is_answered_saying_it_is_the_closest(kb, tracker, dispatcher, domain):
    message, events = await search(kb, tracker, dispatcher, domain, text="hvad er aflastning")
    assert message["custom"]["kind"] == "answer" and message["custom"]["topic"] == "aflastning"
    assert message["text"].startswith("Det nærmeste, jeg har fundet, handler om: Aflastning.")
    assert SlotSet("misses", 0.0) in events


async def test_vague_question_gets_did_you_mean_with_three_topics(kb, tracker, dispatcher, domain):
    message, events = await search(kb, tracker, dispatcher, domain, text="overgang")
    assert message["custom"] == {"kind": "clarify"}
    assert "Mente du" in message["text"]
    assert len(message["buttons"]) == 3 and all(b["payload"].startswith("/ask_") for b in message["buttons"])
    assert events == [SlotSet("misses", 1.0)]


async def test_second_miss_in_a_row_offers_a_human(kb, tracker, dispatcher, domain):
    message, events = await search(kb, tracker, dispatcher, domain, text="qwxz blorp", slots={"misses": 1.0})
    assert message["custom"] == {"kind": "handoff"}
    assert "medarbejder" in message["text"] and kb.deployment()["contact"]["phone"] in message["text"]
    assert events == [SlotSet("misses", 0.0)]


async def test_nonsense_first_time_gets_fallback_with_topics(kb, tracker, dispatcher, domain):
    message, _ = await search(kb, tracker, dispatcher, domain, text="qwxz blorp")
    assert message["custom"] == {"kind": "fallback"} and len(message["buttons"]) == 3


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07"])
async def test_empty_message_gets_a_danish_request_for_text(kb, tracker, dispatcher, domain, text):
    message, events = await search(kb, tracker, dispatcher, domain, text=text)
    assert message["text"].startswith("Jeg fik ikke nogen tekst")
    assert message["custom"]["kind"] == "fallback" and events == []


async def test_handoff_gives_the_configured_contact_and_what_to_have_ready(kb, tracker, dispatcher, domain,
                                                                           monkeypatch):
    monkeypatch.setenv("FORLOB_CONTACT_EMAIL", "familie@aalborg.example")
    await ActionHandoff(kb).run(dispatcher, tracker(intent="request_human"), domain)
    [message] = dispatcher.messages
    contact = kb.deployment()["contact"]
    assert message["custom"] == {"kind": "handoff"}
    for value in (contact["phone"], contact["opening_hours"], "familie@aalborg.example", contact["bring"][0]):
        assert value in message["text"]


async def test_start_over_forgets_the_context(tracker, dispatcher, domain):
    events = await ActionStartOver().run(dispatcher, tracker(intent="restart", slots={"role": "ung"}), domain)
    assert events == [AllSlotsReset()]
    assert dispatcher.messages[0]["text"].startswith("Så starter vi forfra")


def test_payload_sends_only_keys_with_a_value():
    assert payload("answer", topic="1.6", region=None, organisations=[]) == {"kind": "answer", "topic": "1.6"}
    with pytest.raises(ValueError):
        payload("nonsense")


@pytest.mark.parametrize("intent", ["nlu_fallback", "ask_overgang_voksenlivet"])
async def test_english_question_is_answered_in_danish_saying_it_speaks_danish(kb, tracker, dispatcher, domain, intent):
    action = ActionSearchKB(kb) if intent == "nlu_fallback" else ActionAnswer(kb)
    await action.run(dispatcher, tracker(text="What happens when my son turns 18?", intent=intent), domain)
    [message] = dispatcher.messages
    assert message["text"].startswith("Jeg taler kun dansk")
    assert message["custom"] == {"kind": "fallback"}


def test_danish_is_not_taken_for_english():
    from knowledge_base.text import looks_english

    assert not looks_english("hvad sker der når min søn fylder 18")
    assert not looks_english("kan vi få hjælp til en bil")
    assert looks_english("how can I get support for my daughter")


async def test_cpr_number_in_a_question_is_not_echoed(kb, tracker, dispatcher, domain):
    await ActionSearchKB(kb).run(dispatcher, tracker(text="min søn 120385-1234 skal have aflastning"), domain)
    assert all("120385" not in m.get("text", "") for m in dispatcher.messages)
    assert dispatcher.messages[0]["custom"]["topic"] == "aflastning"


async def test_nlu_runner_up_agreeing_with_search_is_answered(kb, tracker, dispatcher, domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.55}, {"name": "ask_overgange", "confidence": 0.47},
               {"name": "ask_overgang_voksenlivet", "confidence": 0.47}]
    t = tracker(text="hvordan forbereder jeg overgangen når den unge fylder 18")
    t.latest_message["intent_ranking"] = ranking
    await ActionSearchKB(kb).run(dispatcher, t, domain)
    assert dispatcher.messages[0]["custom"]["kind"] == "answer"
    assert dispatcher.messages[0]["custom"]["topic"] in ("1.6", "overgang-til-voksenlivet")


async def test_clarify_offers_nlu_guesses_first(kb, tracker, dispatcher, domain):
    t = tracker(text="qwxz")
    t.latest_message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.6},
                                          {"name": "ask_klage", "confidence": 0.3}]
    await ActionSearchKB(kb).run(dispatcher, t, domain)
    assert dispatcher.messages[0]["custom"] == {"kind": "clarify"}
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/ask_klage"

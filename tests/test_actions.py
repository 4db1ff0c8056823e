"""action_search_kb with the real KB handed to its constructor: answer, clarify, fallback."""
import pytest

from actions.replies import payload
from actions.search import ActionSearchKB


async def run(kb, tracker, dispatcher, domain, **kwargs):
    events = await ActionSearchKB(kb).run(dispatcher, tracker(**kwargs), domain)
    assert events == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


async def test_confident_hit_is_answered_with_its_source(kb, tracker, dispatcher, domain):
    message = await run(kb, tracker, dispatcher, domain, text="hvad er aflastning")
    custom = message["custom"]
    assert custom["kind"] == "answer" and custom["topic"] == "aflastning" and custom["audience"] == "foraelder"
    assert custom["sources"][0]["ref"] and custom["sources"][0]["reviewed"]
    assert message["text"].startswith("Det nærmeste, jeg har fundet, handler om: Aflastning.")
    assert "Kilde: " in message["text"]
    assert all(b["payload"].startswith("/ask_question{") for b in message["buttons"])


async def test_topic_entity_from_a_button_answers_that_topic(kb, tracker, dispatcher, domain):
    message = await run(kb, tracker, dispatcher, domain, text='/ask_question{"topic": "1.5"}',
                        entities=[{"entity": "topic", "value": "1.5"}])
    assert message["custom"]["topic"] == "1.5"
    assert message["text"].startswith(kb.topic("1.5")["text"][:40])
    assert {o["id"] for o in message["custom"]["organisations"]} == set(kb.topic("1.5")["organisations"])


async def test_vague_question_gets_did_you_mean_buttons(kb, tracker, dispatcher, domain):
    message = await run(kb, tracker, dispatcher, domain, text="overgang")
    assert message["custom"] == {"kind": "clarify"}
    assert "Mente du" in message["text"]
    assert 2 <= len(message["buttons"]) <= 3


async def test_nonsense_gets_a_fallback_with_topics(kb, tracker, dispatcher, domain):
    message = await run(kb, tracker, dispatcher, domain, text="qwxz blorp")
    assert message["custom"] == {"kind": "fallback"}
    assert message["buttons"]


@pytest.mark.parametrize("text", ["", "   ", "\x00\x07"])
async def test_empty_message_gets_a_danish_request_for_text(kb, tracker, dispatcher, domain, text):
    message = await run(kb, tracker, dispatcher, domain, text=text)
    assert message["text"].startswith("Jeg fik ikke nogen tekst")
    assert message["custom"]["kind"] == "fallback"


def test_payload_sends_only_keys_with_a_value():
    assert payload("answer", topic="1.6", region=None, organisations=[]) == {"kind": "answer", "topic": "1.6"}
    with pytest.raises(ValueError):
        payload("nonsense")

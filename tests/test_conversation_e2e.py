"""Whole conversations through the real REST webhook: payload contract, context across turns, feedback
stored in the tracker store, start over, and awkward input."""

import pytest
from sqlalchemy import create_engine, text

from tests.support import customs, say, texts

pytestmark = pytest.mark.rasa


def payloads(messages, kind):
    return [c for c in customs(messages) if c["kind"] == kind]


@pytest.mark.parametrize(
    "question, topic",
    [
        ("hvad sker der når min datter fylder 18", "overgang-til-voksenlivet"),
        ("kan vi få dækket ekstra udgifter til medicin", "merudgifter"),
        ("hvordan klager vi over kommunens afgørelse", "klage"),
        ("vi er helt udkørte, kan vi få aflastning", "aflastning"),
        ("kan vi få hjælp til en kørestol", "hjaelpemidler"),
        ("hvordan møder vi andre familier med samme diagnose", "1.8"),
    ],
)
def test_answers_keep_the_payload_contract(assistant, kb, question, topic):
    messages = say(assistant, f"e2e-contract-{topic}", question)
    [answer] = payloads(messages, "answer")
    assert answer["topic"] == topic and answer["audience"] == "foraelder"
    assert answer["sources"] and all({"title", "ref", "reviewed"} <= s.keys() for s in answer["sources"])
    assert {o["id"] for o in answer.get("organisations", [])} == set(kb.topic(topic)["organisations"])
    assert set(answer) <= {
        "kind",
        "topic",
        "question",
        "audience",
        "sources",
        "source_line",
        "organisations",
        "region",
    }
    # the ready-made source line is the text's own last paragraph, each source with a page linked
    line = answer["source_line"]
    plain = "".join(part["text"] for part in line)
    assert plain.startswith("Kilde: ") and any(plain in t.split("\n\n") for t in texts(messages))
    assert [p["url"] for p in line if "url" in p] == [s["url"] for s in answer["sources"] if "url" in s]
    assert "Var svaret til hjælp?" in texts(messages)


def test_a_caseworker_gets_the_checklist_in_a_later_turn(assistant):
    say(assistant, "e2e-caseworker", "jeg er sagsbehandler")
    messages = say(assistant, "e2e-caseworker", "hvordan forbereder jeg overgangen når den unge fylder 18")
    [answer] = payloads(messages, "answer")
    assert answer["audience"] == "fagperson"
    assert any("Tjekliste" in t for t in texts(messages))


def test_turning_18_in_spring_gets_the_note_for_the_years_before_18(assistant, kb):
    """The mission's own question: "fylder 18 til foråret" means 17 today,
    the phase that prepares adulthood."""
    messages = say(assistant, "e2e-turning-18", "min datter fylder 18 til foråret, hvad sker der så?")
    [answer] = payloads(messages, "answer")
    assert answer["topic"] == "overgang-til-voksenlivet"
    note = kb.topic("overgang-til-voksenlivet")["phase_notes"]["16-17"]
    assert any(note in t and "16–17 år" in t for t in texts(messages))


def test_municipality_told_once_gives_the_region_later(assistant):
    acknowledged = say(assistant, "e2e-place", "vi bor i Århus")
    assert any("Aarhus (Region Midtjylland)" in t for t in texts(acknowledged))
    messages = say(assistant, "e2e-place", "hvem kan give os uvildig rådgivning")
    [organisations] = payloads(messages, "organisations")
    assert organisations["region"] == "Midtjylland"
    assert {"dukh", "viso"} <= {o["id"] for o in organisations["organisations"]}


def test_association_by_diagnosis_with_a_misspelling(assistant):
    messages = say(assistant, "e2e-association", "er der en forening for angelmann syndrom")
    [organisations] = payloads(messages, "organisations")
    assert organisations["organisations"][0]["id"] == "angelmanforeningen"


def test_feedback_is_stored_as_conversation_events(assistant):
    say(assistant, "e2e-feedback", "hvad er aflastning")
    messages = say(assistant, "e2e-feedback", "/feedback_negative")
    assert any("Tal med en medarbejder" == b["title"] for m in messages for b in m.get("buttons", []))
    engine = create_engine(f"sqlite:///{assistant.tracker_db}")
    with engine.connect() as connection:
        intents = [
            row[0]
            for row in connection.execute(
                text(
                    "select intent_name from events where sender_id = 'e2e-feedback' and type_name = 'user' "
                    "order by id"
                )
            )
        ]
        topic_slots = [
            row[0]
            for row in connection.execute(
                text(
                    "select data from events where sender_id = 'e2e-feedback' and type_name = 'slot' "
                    "and action_name = 'topic'"
                )
            )
        ]
    engine.dispose()
    assert intents[-1] == "feedback_negative"
    assert any('"aflastning"' in data for data in topic_slots)


def test_start_over_forgets_the_role(assistant):
    say(assistant, "e2e-reset", "jeg er sagsbehandler")
    assert any("forfra" in t for t in texts(say(assistant, "e2e-reset", "start forfra")))
    [answer] = payloads(say(assistant, "e2e-reset", "hvad er aflastning"), "answer")
    assert answer["audience"] == "foraelder"


def test_unknown_place(assistant):
    messages = say(assistant, "e2e-narnia", "vi bor i Narnia")
    assert any("Narnia" in t and "kender ikke" in t for t in texts(messages))
    assert payloads(messages, "organisations")


def test_english_question_gets_a_danish_reply(assistant, kb):
    understood = say(assistant, "e2e-english", "What happens when my son turns 18?")
    assert payloads(understood, "answer")  # understood: answered, in Danish
    assert texts(understood)[0].startswith(
        kb.topic(payloads(understood, "answer")[0]["topic"], "foraelder")["text"][:40]
    )
    messages = say(assistant, "e2e-english-2", "Can you recommend a good pizza place nearby?")
    assert texts(messages)[0].startswith("Jeg taler kun dansk")


def test_cpr_number_is_not_echoed(assistant):
    messages = say(assistant, "e2e-cpr", "min datter 120385-1234 skal have aflastning, hvad gør vi")
    assert texts(messages) and all("120385" not in t for t in texts(messages))


def test_two_misses_in_a_row_offer_a_human(assistant):
    # "/nlu_fallback" is what NLU makes of a message it cannot place;
    # nonsense words are classified unpredictably
    first = say(assistant, "e2e-misses", "/nlu_fallback")
    assert payloads(first, "fallback") or payloads(first, "clarify")
    messages = say(assistant, "e2e-misses", "/nlu_fallback")
    assert payloads(messages, "handoff")


def test_one_word_question(assistant):
    messages = say(assistant, "e2e-one-word", "aflastning")
    [answer] = payloads(messages, "answer")
    assert answer["topic"] == "aflastning"


def test_young_person_is_not_sent_to_the_adult_helpline(assistant):
    say(assistant, "e2e-young", "jeg er 16 og har en sjælden sygdom")
    messages = say(assistant, "e2e-young", "hvor kan jeg få rådgivning")
    [organisations] = payloads(messages, "organisations")
    assert "sjaeldne-helpline" not in {o["id"] for o in organisations["organisations"]}
    assert organisations["audience"] == "ung"


def stored_events(assistant, sender: str) -> str:
    """Everything the tracker store holds of one conversation, as stored."""
    engine = create_engine(f"sqlite:///{assistant.tracker_db}")
    with engine.connect() as connection:
        rows = connection.execute(text("select data from events where sender_id = :s"), {"s": sender})
        stored = " ".join(row[0] for row in rows)
    engine.dispose()
    return stored


def test_personal_data_is_noted_once_and_stored_redacted_and_user_text_stays_out_of_logs(assistant):
    marker = "Zebrafinke"
    first = say(
        assistant,
        "e2e-privacy",
        f"{marker} her, min søns cpr er 120385-1234. Hvordan søger vi om aflastning?",
    )
    assert texts(first)[0].startswith("En lille ting først")
    assert payloads(first, "answer")
    second = say(assistant, "e2e-privacy", "ring til mig på 12 34 56 78")
    assert not any(t.startswith("En lille ting først") for t in texts(second))
    stored = stored_events(assistant, "e2e-privacy")
    assert "120385" not in stored and "12 34 56 78" not in stored and "[CPR-nummer fjernet]" in stored
    for log in assistant.log_dir.glob("*.log"):
        content = log.read_text(errors="replace")
        assert marker not in content and "120385" not in content, log.name


def test_names_and_addresses_are_stored_redacted_but_understood_in_the_turn(assistant):
    """The town is only inside the address: the reply names it (NLU read what was typed), the store holds
    neither the street, the town after the postcode, nor the child's name."""
    reply = say(
        assistant, "e2e-address", "Vi bor på Vestergade 12, 2. tv, 9000 Aalborg og min datter Ida er 7"
    )
    assert "Aalborg" in texts(reply)[0] and "Nordjylland" in texts(reply)[0]
    stored = stored_events(assistant, "e2e-address")
    assert "Vestergade" not in stored and "9000" not in stored and "Ida" not in stored
    assert "[adresse fjernet]" in stored and "[navn fjernet]" in stored

"""IntentEnsemble: Rasa's tokenizer in front, a DIET-like ranking on the message, the average out."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.server.intent_ensemble import IntentEnsemble

TRAINING = {
    "greet": ["hej", "hej med dig", "goddag", "godmorgen", "hejsa"],
    "ask_aflastning": [
        "aflastning",
        "kan vi få aflastning",
        "vi har brug for en pause",
        "aflastningsfamilie",
        "weekendaflastning",
    ],
    "ask_klage": [
        "klage",
        "hvordan klager jeg",
        "vi vil klage over afgørelsen",
        "klagefrist",
        "ankestyrelsen",
    ],
}


def trained(tmp_path, intents, **config) -> tuple:
    """A whitespace tokenizer and an ensemble trained on TRAINING's examples of the given intents."""
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    ensemble = IntentEnsemble.create(
        {**IntentEnsemble.get_default_config(), **config}, storage, Resource("ensemble"), context
    )
    data = TrainingData(
        [Message.build(text=text, intent=intent) for intent in intents for text in TRAINING[intent]]
    )
    tokenizer.process_training_data(data)
    ensemble.train(data)
    return tokenizer, ensemble, storage, context


@pytest.fixture
def components(tmp_path):
    return trained(tmp_path, TRAINING, diet_weight=0.25)


def tokenized(components, text: str, ranking: list[dict] | None = None) -> Message:
    message = Message.build(text=text)
    components[0].process([message])
    if ranking is not None:
        message.set("intent_ranking", ranking)
    return message


def test_alone_it_ranks_by_its_own_probabilities(components):
    ensemble = components[1]
    message = ensemble.process([tokenized(components, "hvordan klager vi")])[0]
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == "ask_klage"
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)
    assert [entry["confidence"] for entry in ranking] == sorted(
        (e["confidence"] for e in ranking), reverse=True
    )


def test_the_earlier_ranking_is_averaged_in_with_its_weight(components):
    ensemble = components[1]
    own = {
        e["name"]: e["confidence"]
        for e in ensemble.process([tokenized(components, "aflastning")])[0].get("intent_ranking")
    }
    diet = [{"name": "greet", "confidence": 0.9}, {"name": "ask_aflastning", "confidence": 0.1}]
    message = ensemble.process([tokenized(components, "aflastning", diet)])[0]
    combined = {e["name"]: e["confidence"] for e in message.get("intent_ranking")}
    assert combined["greet"] == pytest.approx(0.25 * 0.9 + 0.75 * own["greet"])
    assert combined["ask_aflastning"] == pytest.approx(0.25 * 0.1 + 0.75 * own["ask_aflastning"])
    assert combined["ask_klage"] == pytest.approx(0.75 * own["ask_klage"])  # absent from the earlier ranking
    assert message.get("intent")["name"] == max(combined, key=combined.get)
    assert sum(combined.values()) == pytest.approx(1.0)


def test_a_loaded_model_predicts_what_the_trained_one_did(components):
    ensemble, storage, context = components[1:4]
    loaded = IntentEnsemble.load(ensemble.config, storage, Resource("ensemble"), context)
    for text in ("godmorgen", "klagefrist", "en pause"):
        assert loaded.process([tokenized(components, text)])[0].get("intent_ranking") == ensemble.process(
            [tokenized(components, text)]
        )[0].get("intent_ranking")


def test_with_two_intents_both_are_ranked(tmp_path):
    """A linear machine gives one decision value for two classes; the ranking must still hold both."""
    two = trained(tmp_path, ["greet", "ask_klage"])
    ensemble, message = two[1], tokenized(two, "klagefrist")
    ranking = ensemble.process([message])[0].get("intent_ranking")
    assert [entry["name"] for entry in ranking] == ["ask_klage", "greet"]
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["", "€€€"])
def test_a_message_without_known_ngrams_is_not_guessed(components, text):
    """Without features the machine abstains (equal shares), so only the earlier ranking can be confident."""
    ensemble = components[1]
    message = ensemble.process([tokenized(components, text, [{"name": "greet", "confidence": 0.4}])])[0]
    combined = {e["name"]: e["confidence"] for e in message.get("intent_ranking")}
    assert combined == pytest.approx(
        {"greet": 0.25 * 0.4 + 0.75 / 3, "ask_aflastning": 0.75 / 3, "ask_klage": 0.75 / 3}
    )


@pytest.fixture
def closed(tmp_path):
    return trained(tmp_path, TRAINING, closed_acts=["greet"])


@pytest.mark.parametrize("text", ["hejsa", "hej med dig", "godmorgen du", "hej med dig lampe"])
def test_a_closed_act_worded_like_its_examples_stays(closed, text):
    message = closed[1].process([tokenized(closed, text)])[0]
    assert message.get("intent")["name"] == "greet"


@pytest.mark.parametrize("text", ["hejsa sluk lampen i stuen", "godmorgen tænd radioen"])
def test_a_closed_act_with_mostly_other_words_gives_way_to_the_next_act(closed, tmp_path_factory, text):
    """Unfitted, the machine would call these greetings; more than half of their words, and at least two,
    never occur in a greeting, so the greeting leaves the ranking."""
    unguarded = trained(tmp_path_factory.mktemp("unguarded"), TRAINING)
    assert unguarded[1].process([tokenized(unguarded, text)])[0].get("intent")["name"] == "greet"
    message = closed[1].process([tokenized(closed, text)])[0]
    assert message.get("intent")["name"] in ("ask_aflastning", "ask_klage")
    assert "greet" not in [entry["name"] for entry in message.get("intent_ranking")]


def test_a_loaded_model_keeps_the_closed_acts_words(closed):
    ensemble, storage, context = closed[1:4]
    loaded = IntentEnsemble.load(ensemble.config, storage, Resource("ensemble"), context)
    assert loaded.act_words == ensemble.act_words and "hejsa" in loaded.act_words["greet"]
    message = loaded.process([tokenized(closed, "hejsa sluk lampen i stuen")])[0]
    assert message.get("intent")["name"] != "greet"

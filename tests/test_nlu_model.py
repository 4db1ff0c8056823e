"""The trained model on data it never saw: held-out intents, off-topic rejection, entities (via /model/parse)."""
import json
import urllib.request

import pytest
import yaml

from actions.context import normalised_entities
from benchmarks.nlu import REJECTED, examples
from bot.config import ROOT
from tests.conftest import API_TOKEN

pytestmark = pytest.mark.rasa
DATA = ROOT / "tests" / "data"


def parse(assistant, text: str) -> dict:
    request = urllib.request.Request(f"{assistant.rasa_url}/model/parse?token={API_TOKEN}",
                                     data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_held_out_set_is_large_and_never_trained_on():
    held_out = {text.lower() for text, _ in examples(DATA / "nlu_holdout.yml")}
    trained = {text.lower() for path in (ROOT / "data" / "nlu").glob("*.yml") for text, _ in examples(path)}
    assert len(held_out) >= 150
    assert not held_out & trained


def test_held_out_intent_accuracy(assistant):
    pairs = examples(DATA / "nlu_holdout.yml")
    right = sum(parse(assistant, text)["intent"]["name"] == intent for text, intent in pairs)
    assert right / len(pairs) >= 0.90


def test_off_topic_questions_are_rejected(assistant):
    pairs = examples(DATA / "nlu_offtopic.yml")
    assert len(pairs) >= 50
    rejected = sum(parse(assistant, text)["intent"]["name"] in REJECTED for text, _ in pairs)
    assert rejected / len(pairs) >= 0.90


@pytest.fixture(scope="module")
def entity_sentences():
    sentences = yaml.safe_load((DATA / "nlu_entities.yml").read_text(encoding="utf-8"))["sentences"]
    assert len(sentences) >= 40
    return sentences


def test_entities_through_the_trained_model(assistant, kb, entity_sentences):
    misses = []
    for sentence in entity_sentences:
        got = normalised_entities(kb, parse(assistant, sentence["text"])["entities"])
        for name, value in sentence["entities"].items():
            if got.get(name) != str(value):
                misses.append((sentence["text"], name, value, got.get(name)))
    assert misses == []

"""The Danish spaCy pipeline: lookup lemmas, and the entity ruler built from the KB."""

import pytest

from bot.ops.spacy_pipeline import base_pipeline, build_pipeline, entity_patterns
from knowledge_base import load_content
from tests.conftest import CONTENT


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    import spacy

    out = build_pipeline(CONTENT, tmp_path_factory.mktemp("spacy") / "da_forlob", base_model="no_such_model")
    return spacy.load(out)


@pytest.mark.parametrize(
    "word, lemma",
    [
        ("overgangen", "overgang"),
        ("kommunen", "kommune"),
        ("børnene", "barn"),
        ("merudgifterne", "merudgift"),
    ],
)
def test_lookup_lemmas(nlp, word, lemma):
    assert nlp(f"Det handler om {word}")[3].lemma_ == lemma


@pytest.mark.parametrize(
    "text, label, value",
    [
        ("Vi bor i Aalborg", "municipality", "Aalborg"),
        ("vi bor i århus", "municipality", "Aarhus"),
        ("Høje-Taastrup Kommune", "municipality", "Høje-Taastrup"),
        ("min søn har Angelman syndrom", "diagnosis", "angelman"),
        ("hun har 22q11", "diagnosis", "22q11"),
        ("kan VISO hjælpe", "organisation", "viso"),
    ],
)
def test_entity_ruler_finds_kb_entities(nlp, text, label, value):
    entities = [(e.label_, e.ent_id_) for e in nlp(text).ents]
    assert (label, value) in entities


def test_no_entity_in_plain_text(nlp):
    assert list(nlp("hvad er aflastning").ents) == []


def test_blank_base_when_the_danish_model_is_not_installed():
    nlp = base_pipeline("no_such_model")
    assert nlp.lang == "da" and nlp.pipe_names == ["lemmatizer"]


def test_patterns_cover_all_municipalities():
    patterns = entity_patterns(load_content(CONTENT))
    municipalities = {p["id"] for p in patterns if p["label"] == "municipality"}
    assert len(municipalities) == 98  # includes the case-sensitive ones


def test_municipality_that_is_also_a_common_word_needs_a_capital(nlp):
    assert [e.ent_id_ for e in nlp("vi bor i Vejen").ents] == ["Vejen"]
    assert [e.ent_id_ for e in nlp("vi bor i Vejen Kommune").ents] == ["Vejen"]
    assert list(nlp("jeg ringer på vejen hjem").ents) == []


def test_committed_lookup_tables_match_the_content():
    from bot.ops.spacy_pipeline import lookup_tables
    from core.config import ROOT

    committed = (ROOT / "data" / "nlu" / "lookups.yml").read_text(encoding="utf-8")
    assert committed == lookup_tables(load_content(CONTENT)), "run `python -m bot nlp build` and commit"

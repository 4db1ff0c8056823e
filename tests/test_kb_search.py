"""Danish search: accuracy on the question set, and odd input never raises."""
import pytest

from benchmarks.kb_search import evaluate, load_questions


def test_question_set_is_large_and_covers_every_topic(kb):
    questions = load_questions()
    assert len(questions) >= 80
    assert {q["topic"] for q in questions} == set(kb.topic_ids())


def test_top1_and_top3_accuracy_meet_the_targets(kb):
    result = evaluate(kb, load_questions())
    assert result["top1"] >= 0.85, result["misses"]
    assert result["top3"] >= 0.95, result["misses"]


@pytest.mark.parametrize("query, topic", [
    ("min datter fylder 18 til foråret, hvad sker der så?", "overgang-til-voksenlivet"),
    ("hjaelpemidlerne til min søn", "hjaelpemidler"),        # without æ, inflected
    ("aflasning", "aflastning"),                              # typo
    ("aflastningsfamilie", "aflastning"),                     # compound
    ("hvad er merudgifter", "merudgifter"),
])
def test_normalisation(kb, query, topic):
    assert kb.search(query, kinds=("topic",))[0].id == topic


def test_hits_carry_id_kind_score_and_snippet(kb):
    hit = kb.search("hvordan klager jeg over en afgørelse")[0]
    assert hit.as_dict().keys() == {"id", "kind", "title", "snippet", "score", "confidence"}
    assert hit.snippet and 0 < hit.confidence <= 1


@pytest.mark.parametrize("query", ["", "   ", "!!! ??? ...", "x" * 10_000, "hej " * 2_500,
                                   "'; DROP TABLE kb_topic; --", "SELECT * FROM kb_topic", "\x00\x1b[31m", "😀🎉",
                                   "<script>alert(1)</script>"])
def test_bad_input_gives_a_list_never_an_exception(kb, query):
    hits = kb.search(query)
    assert isinstance(hits, list)
    assert not kb.is_good(hits) or hits[0].kind in ("topic", "glossary", "organisation")


def test_no_good_hit_for_nonsense(kb):
    assert not kb.is_good(kb.search("qwxz blorp fnaset"))
    assert kb.search("") == []


def test_confidence_does_not_depend_on_the_limit(kb):
    query = "overgang"
    assert kb.search(query, kinds=("topic",), limit=1)[0].confidence == kb.search(query, kinds=("topic",))[0].confidence
    assert not kb.is_good(kb.search(query, kinds=("topic",), limit=1))


def test_a_topic_and_its_glossary_entry_do_not_make_a_question_ambiguous(kb):
    hits = kb.search("hvad er aflastning")
    assert {h.kind for h in hits[:2]} == {"topic", "glossary"}
    assert kb.is_good(hits)

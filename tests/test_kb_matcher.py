"""The KB's matcher (knowledge_base/matcher.py) on the older question set (tests/data/kb_questions.yml, the
first 18 topics), its normalisation of how people spell, and bad input."""

import pytest

from evaluation.matcher import evaluate, load_questions


def test_question_set_is_large_and_covers_the_first_eighteen_topics(kb):
    questions = load_questions()
    assert len(questions) >= 80
    assert len({q["topic"] for q in questions}) == 18 and {q["topic"] for q in questions} <= set(
        kb.topic_ids()
    )


def test_top1_and_top3_accuracy_meet_the_targets(kb):
    result = evaluate(kb, load_questions())
    assert result["top1"] >= 0.85, result["misses"]
    assert result["top3"] >= 0.95, result["misses"]


@pytest.mark.parametrize(
    "query, topic",
    [
        ("min datter fylder 18 til foråret, hvad sker der så?", "overgang-til-voksenlivet"),
        ("hjaelpemidlerne til min søn", "hjaelpemidler"),  # without æ, inflected
        ("aflasning", "aflastning"),  # typo
        ("aflastningsfamilie", "aflastning"),  # compound
        ("hvad er kompensationsydelse", "merudgifter"),
    ],
)
def test_normalisation(kb, query, topic):
    assert kb.match(query).topic == topic


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "!!! ??? ...",
        "x" * 10_000,
        "hej " * 2_500,
        "'; DROP TABLE kb_topic; --",
        "SELECT * FROM kb_topic",
        "\x00\x1b[31m",
        "😀🎉",
        "<script>alert(1)</script>",
        None,
        42,
    ],
)
def test_bad_input_gives_a_match_never_an_exception(kb, query):
    match = kb.match(query)
    assert 0.0 <= match.confidence <= 1.0 and 0.0 <= match.domain <= 1.0


def test_nothing_to_read_is_no_topic(kb):
    assert kb.match("").topic is None and kb.match("!!! ???").topic is None
    assert kb.match("qwxz blorp fnaset").domain < 0.6 or kb.match("qwxz blorp fnaset").confidence < 0.3


@pytest.mark.parametrize(
    "text, expected",
    [
        ("kan vi få Respite Care?", "kan vi få aflastning?"),  # a phrase, whatever the case
        ("respite  care eller care", "aflastning eller omsorg"),  # the phrase before its word
        ("vores barn har et handicap", "vores barn har et handicap"),  # Danish is left alone
        ("careful", "careful"),  # whole words only
    ],
)
def test_english_words_are_read_as_the_danish_the_kb_uses(text, expected):
    from knowledge_base.text import english_pattern, translate_english

    terms = {"respite care": "aflastning", "care": "omsorg"}
    assert translate_english(text, english_pattern(terms), terms) == expected
    assert translate_english(text, english_pattern({}), {}) == text


@pytest.mark.parametrize(
    "text, topic",
    [
        ("kan vi få respite care til vores søn?", "aflastning"),
        ("min datter skal have en wheelchair, hvem betaler?", "hjaelpemidler"),
        ("hvordan klager vi over et afslag – what is the deadline for an appeal?", "klage"),
    ],
)
def test_danish_with_english_words_finds_its_topic(kb, text, topic):
    match = kb.match(text)
    assert match.topic == topic and match.domain >= 0.6

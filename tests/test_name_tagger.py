"""bot/ops/name_tagger.py: the training data it makes and when it trains (the tagger's effect on redaction is
tested in tests/test_privacy.py)."""

from __future__ import annotations

import random

import pytest

from core.redaction import Lexicon


@pytest.fixture
def small_lexicon():
    return Lexicon.from_dict(
        {
            "first": {"mads": 5, "ida": 3, "karl": 9, "bo": 40},
            "last": {"jensen": 1, "holm": 30},
            "common": ["bo"],
        }
    )


def test_other_names_take_the_marked_spans_and_nothing_else(small_lexicon):
    from bot.ops.name_tagger import VARIANTS, with_other_names

    text = "han hedder Mads Jensen og bor på Vestergade 12"
    name, address = text.index("Mads Jensen"), text.index("Vestergade 12")
    cases = [(text, [(name, name + 11, "name"), (address, address + 13, "address")]), ("ingen navne her", [])]
    out = with_other_names(cases, small_lexicon, random.Random(1))
    assert len(out) == VARIANTS  # only the message with a name
    for text, spans in out:
        (a, b, kind), (c, d, other) = spans
        assert (kind, other) == ("name", "address")
        name = text[a:b].split()
        assert (
            len(name) == 2
            and name[0].lower() in {"mads", "ida", "karl"}
            and name[1].lower() in {"jensen", "holm"}
        )
        assert text[c:d] == "Vestergade 12"  # an address is kept as it is
        assert text.startswith("han hedder ") and " og bor på " in text


def test_labels_follow_the_spans():
    from bot.ops.name_tagger import labels_of

    words = [(0, 3, {}), (4, 10, {}), (11, 15, {}), (16, 21, {})]
    assert labels_of([(11, 21, "name")], words) == ["O", "O", "name", "name"]


def test_a_second_build_with_the_same_inputs_reuses_the_model(tmp_path, monkeypatch):
    from bot.ops import name_tagger

    data = tmp_path / "set.yml"
    data.write_text(
        "sentences:\n"
        "  - 'min datter [[Ida]] er 6'\n  - 'han hedder [[Karl]]'\n  - 'vi bor på {{Vestergade 12}}'\n"
        "  - 'hvad er aflastning'\n",
        encoding="utf-8",
    )
    lexicon_file = tmp_path / "names.json"
    lexicon_file.write_text(
        '{"first": {"ida": 3, "karl": 9, "mads": 5}, "last": {"jensen": 1}}', encoding="utf-8"
    )
    monkeypatch.setattr(name_tagger, "TRAINING_SETS", (data,))
    out = tmp_path / "name_tagger.crfsuite"
    first = name_tagger.train(lexicon_file, out)
    assert not first["reused"] and first["messages"] > 4 and out.stat().st_size > 0
    assert name_tagger.train(lexicon_file, out)["reused"]
    data.write_text(data.read_text(encoding="utf-8") + "  - 'hej [[Mads]]'\n", encoding="utf-8")
    assert not name_tagger.train(lexicon_file, out)["reused"]  # a changed set trains again

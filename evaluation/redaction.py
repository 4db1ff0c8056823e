"""Scoring the name and address redaction on annotated sets (the development and the frozen sets in
tests/data/): the figures that benchmarks/redaction.py prints and tests/test_privacy.py guards."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from core.config import ROOT
from core.redaction import TOKEN, personal_spans

TARGET_CAUGHT, TARGET_WRONG = 0.95, 0.01  # the targets: names/addresses caught, words wrongly removed
DEV = ROOT / "tests" / "data" / "redaction_dev.yml"


FROZEN = ROOT / "tests" / "data" / "redaction.yml"


MARK = re.compile(r"\[\[(.+?)\]\]|\{\{(.+?)\}\}")


def parse_marked(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """'han hedder [[Mads]]' → ('han hedder Mads', [(11, 15, 'name')])."""
    text, spans, position = "", [], 0
    for match in MARK.finditer(line):
        text += line[position : match.start()]
        inner = match.group(1) or match.group(2)
        spans.append((len(text), len(text) + len(inner), "name" if match.group(1) else "address"))
        text += inner
        position = match.end()
    return text + line[position:], spans


def load_dev(path: Path = DEV) -> list[tuple[str, list]]:
    return [parse_marked(line) for line in yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]]


def load_frozen(path: Path = FROZEN) -> list[tuple[str, list]]:
    """The frozen set's format (see its header): sentences: [{text, spans: [{text, kind}]}]; a span's text is
    found verbatim in the message (every occurrence counts, but not inside another word: "Frederik" in
    "Frederikssund" is no name; a genitive "Asgers" is)."""
    cases = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]:
        text, spans = item["text"], []
        for span in item.get("spans") or []:
            for match in re.finditer(rf"(?<!\w){re.escape(span['text'])}(?=s?(?!\w))", text):
                spans.append((match.start(), match.end(), span["kind"]))
        cases.append((text, spans))
    return cases


def load_any(path: Path) -> list[tuple[str, list]]:
    """A set in either format: the frozen one (items with `text`) or the dev one (marked strings)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]
    return load_frozen(path) if items and isinstance(items[0], dict) else load_dev(path)


def evaluate(cases: list[tuple[str, list]], lexicon=None) -> dict:
    """The figures of `personal_spans` with `lexicon` (None: the installation's, with its tagger)."""
    spans_total = spans_caught = 0
    by_kind: dict[str, list[int]] = {}
    words_outside = words_removed = 0
    clean_total = clean_changed = 0
    misses, wrong = [], []
    for text, spans in cases:
        removed = personal_spans(text, lexicon)
        covered, covered_as_person = set(), set()
        for start, end, kind in removed:
            covered.update(range(start, end))
            if kind in ("name", "address"):
                # the sets mark names and addresses only; a phone number or CPR number removed is not a word
                # wrongly removed
                covered_as_person.update(range(start, end))
        for start, end, kind in spans:
            whole = all(i in covered for i in range(start, end) if not text[i].isspace())
            spans_total += 1
            spans_caught += whole
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += whole
            by_kind[kind][1] += 1
            if not whole:
                misses.append((text, text[start:end], kind))
        annotated = set()
        for start, end, _ in spans:
            annotated.update(range(start, end))
        for match in TOKEN.finditer(text):
            if any(i in annotated for i in range(*match.span())):
                continue
            words_outside += 1
            if any(i in covered_as_person for i in range(*match.span())):
                words_removed += 1
                wrong.append((text, match.group(0)))
        if not spans:
            clean_total += 1
            clean_changed += bool(covered_as_person)
    return {
        "messages": len(cases),
        "spans": spans_total,
        "caught": spans_caught / max(spans_total, 1),
        "by_kind": {k: (c, n) for k, (c, n) in sorted(by_kind.items())},
        "words": words_outside,
        "wrong_words": words_removed / max(words_outside, 1),
        "wrong_count": words_removed,
        "clean": clean_total,
        "clean_changed": clean_changed / max(clean_total, 1),
        "clean_changed_count": clean_changed,
        "misses": misses,
        "wrong": wrong,
    }

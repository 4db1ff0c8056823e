"""The content itself, read from the built knowledge base: the corrections of the content review hold, the
0–25 span is covered, and no text carries an amount without its year, a source without a page, or a phone
number that the sourced facts do not hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import ROOT
from knowledge_base import load_content
from knowledge_base.schema import AMOUNT_PATTERN, PAGE_URL, SENTENCE_SPLIT, YEAR_PATTERN

SHARED = ROOT.parent / "shared"
PHONE = re.compile(r"(?<![\d.,])(?:\+45 ?)?\d{2} ?\d{2} ?\d{2} ?\d{2}(?![\d.,])")
NEW_TOPICS = (
    "specialundervisning",
    "saerlige-dagtilbud",
    "boernefaglig-undersoegelse",
    "underretning",
    "barsel-og-indlaeggelse",
    "bil-og-boligindretning",
    "hospital-og-kommune",
    "sagsbehandling",
    "krise-og-sorg",
    "socialpaedagogisk-stoette",
    "bpa-og-ledsagelse",
    "bolig-og-botilbud",
    "foertidspension-og-forsoergelse",
    "stu-og-uddannelse",
    "vaergemaal",
)
YOUNG_CHILDREN_ONLY = ("saerlige-dagtilbud",)  # about children under school age: no text for the young person


def every_text(kb) -> list[tuple[str, str]]:
    """(where, text) for every text a reader can get: topics and question entries per audience, summaries,
    key points, checklists, life-phase notes, questions for the municipality, the "Kilde" labels of sources,
    life phases, the glossary, organisations. Not deployment.yml: its contact is the deploying municipality's
    own (the repository's is a fictional placeholder)."""
    found = []
    for tid in kb.topic_ids():
        raw = kb.topic(tid)
        for audience in ("foraelder", "fagperson", "ung"):
            found.append((f"{tid}:{audience}", kb.topic(tid, audience)["text"]))
        found += [(f"{tid}:summary", raw["summary"])] + [
            (f"{tid}:key_points", p) for p in raw.get("key_points") or []
        ]
        found += [(f"{tid}:checklist", i) for i in (raw.get("checklist") or {}).get("items") or []]
        found += [(f"{tid}:phase_notes:{k}", n) for k, n in (raw.get("phase_notes") or {}).items()]
        found += [(f"{tid}:ask_municipality", q) for q in raw.get("ask_municipality") or []]
        found += [(f"{tid}:source", f"{s['title']}: {s.get('ref') or ''}") for s in kb.sources(tid)]
    for qid in kb.question_ids():
        question = kb.question(qid)
        found += [(f"{qid}:{a}", t) for a, t in question["answers"].items()]
        found += [(f"{qid}:source", f"{s['title']}: {s.get('ref') or ''}") for s in question["sources"]]
    found += [(f"phase:{p['id']}", p["description"]) for p in kb.life_phases()]
    glossary = load_content(ROOT / "knowledge_base" / "content").glossary  # the ids; the texts from the KB
    found += [(f"glossary:{g['id']}", kb.glossary(g["id"])["explanation"]) for g in glossary]
    for oid in [o for t in kb.topic_ids() for o in kb.topic(t).get("organisations") or []]:
        org = kb.organisation(oid)
        found += [
            (oid, f"{org.get('helps_with', '')} {org.get('how_to_contact', '')} {org.get('phone') or ''}")
        ]
    return found


def test_no_amount_without_its_year(kb):
    missing = [
        (where, s.strip()[:80])
        for where, text in every_text(kb)
        for s in SENTENCE_SPLIT.split(text)
        if AMOUNT_PATTERN.search(s) and not YEAR_PATTERN.search(s)
    ]
    assert missing == []


def test_every_source_names_a_page_not_a_domain(kb):
    sources = [s for t in kb.topic_ids() for s in kb.sources(t)]
    sources += [s for q in kb.question_ids() for s in kb.question(q)["sources"]]
    assert len(sources) > 100
    assert [s["url"] for s in sources if s.get("url") and not PAGE_URL.match(s["url"])] == []


@pytest.mark.skipif(
    not (SHARED / "facts-2026-12.md").exists(), reason="../shared/facts-2026-12.md is not beside the checkout"
)
def test_every_phone_number_is_one_the_facts_hold(kb):
    # facts-2026-12.md corrects facts.md and names the only numbers a source page showed
    facts = (SHARED / "facts-2026-12.md").read_text(encoding="utf-8")
    known = {re.sub(r"\D", "", n)[-8:] for n in PHONE.findall(facts)}
    found = {(where, number) for where, text in every_text(kb) for number in PHONE.findall(text)}
    assert found, "the organisations' phone numbers should be found"
    assert [(where, n) for where, n in found if re.sub(r"\D", "", n)[-8:] not in known] == []


def test_merudgifter_is_the_kompensationsydelse_everywhere(kb):
    topic = kb.topic("merudgifter")
    assert "kompensationsydelse" in topic["title"].lower()
    assert "1. september 2027" in kb.topic("merudgifter", "foraelder")["text"] + " ".join(topic["key_points"])
    texts = " ".join(t for _, t in every_text(kb))
    assert "5.519" not in texts and "§ 86 (merudgifter)" not in texts


def test_klage_aflastning_and_18_say_what_the_law_says(kb):
    klage = kb.topic("klage", "foraelder")["text"] + " ".join(kb.topic("klage")["key_points"])
    assert "4 uger" in klage and "Ankestyrelsen" in klage and "Klagenævnet for Specialundervisning" in klage
    assert re.search(r"genvurder", klage)
    aflastning = kb.topic("aflastning", "fagperson")["text"] + " ".join(kb.topic("aflastning")["legal_refs"])
    assert "§ 32" in aflastning and "§ 84" in aflastning
    at_18 = kb.topic("overgang-til-voksenlivet", "foraelder")["text"]
    assert "§ 86" in at_18 and "§ 87" in at_18


def test_center_for_rare_diseases_in_aarhus_is_not_for_children_only(kb):
    aarhus = kb.organisation("css-aarhus")
    assert not aarhus.get("max_age") and "ung" in aarhus["audiences"]


def test_the_whole_span_from_birth_to_25_is_covered(kb):
    assert set(NEW_TOPICS) <= set(kb.topic_ids())
    assert all(len(kb.questions_of(t)) >= 5 for t in kb.topic_ids())
    assert len(kb.question_ids()) >= 250


def test_young_people_are_spoken_to_as_themselves(kb):
    for tid in kb.topic_ids():
        if tid in YOUNG_CHILDREN_ONLY:
            continue
        young = kb.topic(tid, "ung")
        assert young["audience"] == "ung", f"{tid} has no text for the young person"
        assert not re.search(r"\bdit barn\b|\bjeres barn\b", young["text"], re.IGNORECASE), tid
    for qid in kb.question_ids():
        young = kb.question(qid)["answers"].get("ung")
        assert not young or not re.search(r"\bdit barn\b|\bjeres barn\b", young, re.IGNORECASE), qid


def test_recommendations_are_not_presented_as_duties(kb):
    """A "skal" about the municipality in a recommendation topic's texts and question entries cites a law in
    the same sentence."""
    law = re.compile(r"§|lov\b|loven|lovens|bekendtgørelse", re.IGNORECASE)
    texts = [
        (tid, kb.topic(tid, audience)["text"])
        for tid in kb.topic_ids()
        if kb.topic(tid)["kind"] == "anbefaling"
        for audience in ("foraelder", "fagperson", "ung")
    ]
    texts += [
        (q["id"], answer)
        for tid in kb.topic_ids()
        if kb.topic(tid)["kind"] == "anbefaling"
        for q in kb.questions_of(tid)
        for answer in q["answers"].values()
    ]
    duties = [
        (where, s.strip()[:90])
        for where, text in texts
        for s in SENTENCE_SPLIT.split(text)
        if re.search(r"\bkommunen skal\b", s, re.IGNORECASE) and not law.search(s)
    ]
    assert duties == []


def test_review_warnings_name_old_reviews_and_old_amounts(content_copy):
    import datetime as dt

    from knowledge_base import review_warnings
    from tests.conftest import edit_yaml

    edit_yaml(content_copy / "topics" / "klage.yml", lambda topic: topic.update(reviewed=dt.date(2024, 1, 2)))
    warnings = review_warnings(load_content(content_copy), today=dt.date(2026, 12, 4))
    assert any(w.entry == "klage" and w.field == "reviewed" for w in warnings)
    assert any("beløb fra" in w.message for w in warnings)  # the latest verified amounts carry older years
    assert not any(
        w.entry == "klage"
        for w in review_warnings(
            load_content(Path(ROOT / "knowledge_base" / "content")), today=dt.date(2026, 12, 4)
        )
    )

"""The real content validates; broken content fails with messages naming file, entry and field."""

import datetime as dt

import pytest

from knowledge_base import load_content, validate
from knowledge_base.content import ContentFileError
from knowledge_base.schema import REQUIRED_TOPICS
from tests.conftest import CONTENT, edit_yaml


def messages(content_dir) -> list[str]:
    return [str(p) for p in validate(load_content(content_dir))]


def test_real_content_is_valid():
    assert messages(CONTENT) == []


def test_real_content_has_every_required_topic_with_sources_and_review_date():
    content = load_content(CONTENT)
    topics = {t["id"]: t for t in content.topics}
    assert set(REQUIRED_TOPICS) <= set(topics)
    for topic_id in REQUIRED_TOPICS:
        assert topics[topic_id]["sources"], topic_id
        assert topics[topic_id]["reviewed"] <= dt.date.today()
    for number in range(1, 9):
        refs = [s["ref"] for s in topics[f"1.{number}"]["sources"]]
        assert f"Anbefaling 1.{number}" in refs


def test_rarity_topic_says_the_sources_disagree():
    topic = {t["id"]: t for t in load_content(CONTENT).topics}["sjaelden-definition"]
    text = topic["answers"]["foraelder"]
    assert "1.000" in text and "10.000" in text


def test_duplicate_topic_id_is_reported(content_copy):
    (content_copy / "topics" / "kopi.yml").write_text(
        (content_copy / "topics" / "klage.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert any("klage: id: findes to gange" in m for m in messages(content_copy))


def test_dangling_references_are_reported(content_copy):
    edit_yaml(content_copy / "topics" / "1.6.yml", lambda d: d["related_topics"].append("findes-ikke"))
    edit_yaml(content_copy / "topics" / "klage.yml", lambda d: d["organisations"].append("ukendt-org"))
    found = messages(content_copy)
    assert any(m.startswith("topics/1.6.yml: 1.6: related_topics:") and "findes-ikke" in m for m in found)
    assert any(m.startswith("topics/klage.yml: klage: organisations:") and "ukendt-org" in m for m in found)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.pop("sources"), "sources: mindst én kilde"),
        (lambda d: d.update(reviewed="i går"), "reviewed: skal være en dato"),
        (
            lambda d: d.update(reviewed=dt.date.today() + dt.timedelta(days=30)),
            "reviewed: ligger i fremtiden",
        ),
        (lambda d: d["answers"].update(foraelder="  "), "answers.foraelder: tom eller mangler"),
        (lambda d: d["answers"].update(fagperson="Tilskuddet er 5.519 kr. om året."), "beløb uden årstal"),
        (
            lambda d: d.update(amounts=[{"label": "x", "value": 1, "unit": "kr."}]),
            "amounts[0]: beløb skal have et år",
        ),
    ],
)
def test_broken_topic_field_is_reported_with_file_entry_and_field(content_copy, change, expected):
    edit_yaml(content_copy / "topics" / "merudgifter.yml", change)
    found = messages(content_copy)
    assert any(m.startswith("topics/merudgifter.yml: merudgifter: ") and expected in m for m in found), found


def test_diagnosis_with_unknown_association_is_reported(content_copy):
    edit_yaml(content_copy / "diagnoses.yml", lambda d: d[0].update(association="ingen-saadan"))
    assert any(
        m.startswith("diagnoses.yml: ") and "association" in m and "ingen-saadan" in m
        for m in messages(content_copy)
    )


def test_municipality_variant_shared_by_two_municipalities_is_reported(content_copy):
    edit_yaml(
        content_copy / "municipalities.yml",
        lambda d: d["municipalities"][0].setdefault("variants", []).append("Aalborg"),
    )
    assert any("Aalborg" in m and "also used by" in m for m in messages(content_copy))


def test_invalid_yaml_is_a_clear_error(content_copy):
    (content_copy / "glossary.yml").write_text("- id: x\n  term: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentFileError, match="glossary.yml: ugyldig YAML"):
        load_content(content_copy)


def test_too_few_role_examples_and_an_unknown_role_are_reported(content_copy):
    def change(data):
        data["ung"] = data["ung"][:3]
        data["laerer"] = ["jeg underviser i 4.b"]

    edit_yaml(content_copy / "role_examples.yml", change)
    found = messages(content_copy)
    assert any(m.startswith("role_examples.yml: ung: ") and "mindst 20 beskeder" in m for m in found), found
    assert any(m.startswith("role_examples.yml: laerer: ") and "ukendt rolle" in m for m in found), found


def test_a_profession_cue_without_its_title_slot_is_reported(content_copy):
    edit_yaml(content_copy / "roles.yml", lambda d: d["professions"][0]["cues"].append("jeg er ansat"))
    found = messages(content_copy)
    assert any("roles.yml" in m and "jeg er ansat" in m and "{}" in m for m in found), found

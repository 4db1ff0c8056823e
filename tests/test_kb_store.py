"""The loader builds the database atomically; look-ups answer from it (SQLite and PostgreSQL)."""

import datetime as dt

import pytest
from sqlalchemy import create_engine, func, select, text

from knowledge_base import ContentError, KnowledgeBase, build_database, load_content
from knowledge_base import models as m
from tests.conftest import CONTENT, POSTGRES_URL, edit_yaml, postgres_available, require_service

BEFORE_MERGER = dt.date(2026, 12, 31)
AFTER_MERGER = dt.date(2027, 1, 1)


def count(url, model) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return value


def test_database_holds_the_content(kb_url):
    content = load_content(CONTENT)
    assert count(kb_url, m.Topic) == len(content.topics)
    assert count(kb_url, m.Organisation) == len(content.organisations)
    assert count(kb_url, m.Municipality) == 98
    assert count(kb_url, m.Diagnosis) == len(content.diagnoses)


@pytest.mark.slow
def test_broken_content_leaves_the_old_database_in_place(tmp_path, content_copy):
    url = f"sqlite:///{tmp_path / 'kb.sqlite'}"
    version = build_database(content_copy, url)
    edit_yaml(content_copy / "topics" / "klage.yml", lambda d: d["related_topics"].append("findes-ikke"))
    with pytest.raises(ContentError, match="findes-ikke"):
        build_database(content_copy, url)
    kb = KnowledgeBase.from_url(url)
    assert kb.version == version
    assert (
        kb.topic("klage")["related_topics"]
        == load_content(CONTENT).topics[[t["id"] for t in load_content(CONTENT).topics].index("klage")][
            "related_topics"
        ]
    )


@pytest.mark.slow
def test_rebuild_is_picked_up_by_a_running_reader(tmp_path, content_copy):
    url = f"sqlite:///{tmp_path / 'kb.sqlite'}"
    build_database(content_copy, url)
    kb = KnowledgeBase.from_url(url)
    edit_yaml(content_copy / "topics" / "klage.yml", lambda d: d.update(title="Klage – ny titel"))
    new_version = build_database(content_copy, url)
    assert kb.refresh() is True
    assert kb.version == new_version
    assert kb.topic("klage")["title"] == "Klage – ny titel"
    assert kb.refresh() is False


@pytest.mark.services
def test_build_on_postgresql(content_copy):
    require_service("PostgreSQL", postgres_available(), POSTGRES_URL)
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS kb_test CASCADE"))
        connection.execute(text("CREATE SCHEMA kb_test"))
    engine.dispose()
    url = f"{POSTGRES_URL}?options=-csearch_path%3Dkb_test"
    try:
        version = build_database(content_copy, url)
        assert build_database(content_copy, url) == version  # a rebuild replaces, never duplicates
        kb = KnowledgeBase.from_url(url)
        assert kb.version == version
        assert count(url, m.Municipality) == 98
        assert kb.region_of("Aalborg", BEFORE_MERGER) == "Nordjylland"
        assert kb.match("hvad er aflastning").topic == "aflastning"
    finally:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS kb_test CASCADE"))
        engine.dispose()


def test_every_municipality_and_variant_resolves_to_its_region(kb):
    municipalities = load_content(CONTENT).municipalities["municipalities"]
    assert len(municipalities) == 98
    per_region = {}
    for entry in municipalities:
        per_region[entry["region"]] = per_region.get(entry["region"], 0) + 1
        for spelling in [entry["name"], *(entry.get("variants") or [])]:
            assert kb.municipality(spelling) == entry["name"], spelling
            assert kb.region_of(spelling, BEFORE_MERGER) == entry["region"], spelling
    assert per_region == {
        "Hovedstaden": 29,
        "Midtjylland": 19,
        "Nordjylland": 11,
        "Sjælland": 17,
        "Syddanmark": 22,
    }


@pytest.mark.parametrize(
    "written, name",
    [
        ("Århus", "Aarhus"),
        ("i Aalborg", "Aalborg"),
        ("Københavns Kommune", "København"),
        ("Lyngby", "Lyngby-Taarbæk"),
        ("Høje Taastrup kommune", "Høje-Taastrup"),
        ("hoeje-taastrup", "Høje-Taastrup"),
        ("AALBORG", "Aalborg"),
        ("Odenses", "Odense"),
        ("Frederikshavns kommune", "Frederikshavn"),
    ],
)
def test_common_spellings(kb, written, name):
    assert kb.municipality(written) == name


def test_region_merger_on_2027_01_01(kb):
    assert kb.region_of("København", BEFORE_MERGER) == "Hovedstaden"
    assert kb.region_of("Roskilde", BEFORE_MERGER) == "Sjælland"
    assert kb.region_of("København", AFTER_MERGER) == "Østdanmark"
    assert kb.region_of("Roskilde", AFTER_MERGER) == "Østdanmark"
    assert kb.region_of("Aalborg", AFTER_MERGER) == "Nordjylland"
    names = [m["name"] for m in load_content(CONTENT).municipalities["municipalities"]]

    def municipalities_in(region, on):
        return [name for name in names if kb.region_of(name, on) == region]

    assert len(municipalities_in("Østdanmark", AFTER_MERGER)) == 46
    assert municipalities_in("Østdanmark", BEFORE_MERGER) == []


def test_unknown_place(kb):
    assert kb.municipality("Narnia") is None
    assert kb.region_of("Narnia") is None


@pytest.mark.parametrize(
    "written, diagnosis_id, association",
    [
        ("Angelman", "angelman", "angelmanforeningen"),
        ("angelman syndrom", "angelman", "angelmanforeningen"),
        ("angelmann", "angelman", "angelmanforeningen"),
        ("22q11", "22q11", "22q11-danmark"),
        ("Williams", "williams", "dansk-forening-for-williams-syndrom"),
        ("glasknogler", "osteogenesis-imperfecta", "dansk-forening-for-osteogenesis-imperfecta"),
        ("Prader-Willi", "prader-willi", None),
    ],
)
def test_diagnosis_lookup(kb, written, diagnosis_id, association):
    diagnosis = kb.diagnosis(written)
    assert diagnosis is not None, written
    assert diagnosis["id"] == diagnosis_id
    assert diagnosis.get("association") == association


def test_unknown_diagnosis(kb):
    assert kb.diagnosis("kaktus") is None


def test_topic_for_audience_falls_back_to_the_parents_text(kb):
    professional = kb.topic("1.6", "fagperson")
    assert professional["audience"] == "fagperson" and professional["checklist"]["items"]
    without_young = next(q["id"] for q in map(kb.question, kb.question_ids()) if "ung" not in q["answers"])
    assert kb.question(without_young, "ung")["audience"] == "foraelder"
    assert kb.question(without_young, "ung")["text"] == kb.question(without_young, "foraelder")["text"]
    assert kb.topic("findes-ikke") is None


@pytest.mark.parametrize(
    "age, phase",
    [
        (0, "0-5"),
        (5, "0-5"),
        (6, "6-15"),
        (15, "6-15"),
        (16, "16-17"),
        (17, "16-17"),
        (18, "18-25"),
        (25, "18-25"),
    ],
)
def test_life_phase(kb, age, phase):
    assert kb.life_phase(age)["id"] == phase


def test_deployment_is_fictional_and_environment_overrides_win(kb):
    from core.config import deployment_overrides

    assert kb.deployment()["fictional"] is True
    overridden = kb.deployment(
        deployment_overrides(
            {"FORLOB_MUNICIPALITY": "Aalborg Kommune", "FORLOB_CONTACT_PHONE": "99 31 31 31"}
        )
    )
    assert overridden["municipality"] == "Aalborg Kommune"
    assert overridden["contact"]["phone"] == "99 31 31 31"
    assert overridden["contact"]["email"] == kb.deployment()["contact"]["email"]


def test_missing_database_is_a_clear_error(tmp_path):
    from knowledge_base.store import KnowledgeBaseUnavailable

    with pytest.raises(KnowledgeBaseUnavailable, match="make kb"):
        KnowledgeBase.from_url(f"sqlite:///{tmp_path / 'tom.sqlite'}")


@pytest.mark.parametrize(
    "text, outside",
    [
        ("min mormor skal have hjemmehjælp", True),
        ("jeg er 47 og har selv fået sklerose, kan jeg få hjælp", True),
        ("min far er 70 og skal have en rollator", True),
        ("min datter er 17 og skal flytte hjemmefra", False),
        ("mormor vil gerne passe vores søn med handicap i weekenden", False),  # about a child: ours
        ("hun er 30 uger henne, og scanningen viste en sjælden fejl", False),
        ("jeg er 24 og har en sjælden muskelsygdom", False),
        ("må vores datter komme i vuggestue med skoldkopper", True),  # an ordinary childhood illness
    ],
)
def test_adults_and_elderly_relatives_are_outside_the_domain(kb, text, outside):
    assert kb.outside_domain(text) is outside


@pytest.mark.parametrize(
    "text, organisation",
    [
        ("hvad laver Sjældne Diagnosers rådgivning?", "sjaeldne-diagnoser"),
        ("hvad er DUKHs rolle i en klagesag", "dukh"),
        ("VISOs tilbud til skoler", "viso"),
        ("vi bor i Sjællands Odde", None),
    ],
)
def test_an_organisation_named_in_the_genitive_is_found(kb, text, organisation):
    mention = kb.organisation_mention(text)
    assert (mention[0] if mention else None) == organisation


@pytest.mark.parametrize(
    "text, role",
    [
        ("jeg er skolepsykolog og har en elev med NF1", "fagperson"),  # a title × "jeg er {}"
        (
            "jeg sidder i handicapafdelingen og har fået en ny sag",
            "fagperson",
        ),  # a workplace × "jeg sidder i {}"
        ("vores sagsbehandler her i kommunen siger nej", None),  # a parent speaking of one
    ],
)
def test_job_titles_and_workplaces_show_a_professional(kb, text, role):
    assert kb.role_in(text) == role

"""Redaction of CPR numbers, phone numbers, e-mail addresses, street addresses and names."""

import pytest

from core.redaction import redact, redact_value
from tests.support import fill, rows


@pytest.mark.parametrize(
    "text, kinds, kept",
    [
        ("min søns cpr er 120385-1234", {"cpr"}, "min søns cpr er [CPR-nummer fjernet]"),
        ("cpr 1203851234 tak", {"cpr"}, "cpr [CPR-nummer fjernet] tak"),
        ("ring på 12 34 56 78", {"phone"}, "ring på [telefonnummer fjernet]"),
        ("ring på +45 12345678", {"phone"}, "ring på [telefonnummer fjernet]"),
        ("ring på 0045 1234 5678 i morgen", {"phone"}, "ring på [telefonnummer fjernet] i morgen"),
        ("skriv til anna.hansen@example.dk", {"email"}, "skriv til [e-mail fjernet]"),
    ],
)
def test_personal_data_is_replaced(text, kinds, kept):
    redacted, found = redact(text)
    assert found == kinds and redacted == kept


@pytest.mark.parametrize(
    "text",
    [
        "123456",
        "hun er 16 år",
        "Barnets lov § 86",
        "999999-1234",
        "5.519 kr. i 2024",
        "sagsnummer 2024-118",
        "a 1234567",
    ],
)
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == (text, set())


def test_nested_event_values_are_redacted():
    event = {
        "event": "user",
        "text": "cpr 120385-1234",
        "parse_data": {"text": "cpr 120385-1234", "entities": [{"value": "anna@example.dk"}]},
        "timestamp": 1.0,
    }
    redacted = redact_value(event)
    assert "120385" not in str(redacted) and "anna@" not in str(redacted)
    assert redacted["timestamp"] == 1.0


def test_stored_strings_are_redacted_the_same_from_the_cache_and_the_cache_holds_no_typed_text():
    from core import redaction

    typed = "min søn Mads Jensen bor på Vestergade 12 i Aalborg, cpr 120385-1234"
    reply = "Her er det, du kan gøre, når kommunen siger nej. " * 20
    event = {"event": "user", "text": typed, "parse_data": {"text": typed}}
    first, again = redact_value(event), redact_value({**event, "data": {"reply": reply}})
    assert first["text"] == again["text"] == first["parse_data"]["text"] == redact(typed)[0]
    assert "Mads" not in first["text"] and "Vestergade" not in first["text"] and "120385" not in first["text"]
    assert again["data"]["reply"] == redact(reply)[0]
    cached = redaction._stored.entries
    assert redact(typed)[0] in cached.values()
    assert all(isinstance(key, bytes) and len(key) == 16 for key in cached)
    assert not any("Mads" in value or "120385" in value for value in cached.values())
    redaction._stored.lexicon = None  # as after a rebuilt name list: nothing cached survives
    redact_value("ny tekst")
    assert list(redaction._stored.entries.values()) == ["ny tekst"]


# -- names and street addresses ------------------------------------------------------------------------
from pathlib import Path  # noqa: E402


@pytest.fixture(scope="module")
def lexicon():
    """The installation's name list (var/names.json, made by `make kb`); built here if it is missing."""
    from bot.ops.name_tagger import train
    from bot.ops.names import build
    from core.config import load_settings
    from core.redaction import default_lexicon, lexicon_path, tagger_path

    settings = load_settings()
    if not lexicon_path(settings.var_dir).exists():
        build(settings.content_dir, lexicon_path(settings.var_dir))
    if not tagger_path(settings.var_dir).exists():
        train(lexicon_path(settings.var_dir), tagger_path(settings.var_dir))
    found = default_lexicon()
    assert len(found.first) > 5000 and len(found.last) > 5000, "var/names.json holds no names: run `make kb`"
    assert found.tagger is not None, "var/name_tagger.crfsuite is missing: run `make kb`"
    return found


@pytest.mark.parametrize(
    "text, kept",
    [
        (
            "han hedder Mads Jensen og bor på Vestergade 12 i Aalborg",
            "han hedder [navn fjernet] og bor på [adresse fjernet] i Aalborg",
        ),
        ("min datter Ida har Angelman syndrom", "min datter [navn fjernet] har Angelman syndrom"),
        (
            "Ida og Karl har begge Williams syndrom",
            "[navn fjernet] og [navn fjernet] har begge Williams syndrom",
        ),
        ("min søn hedder mads og er 7", "min søn hedder [navn fjernet] og er 7"),
        ("vores pige hedder liva", "vores pige hedder [navn fjernet]"),
        ("mine børn hedder ida og karl", "mine børn hedder [navn fjernet] og [navn fjernet]"),
        ("han hedder Bo og er 15", "han hedder [navn fjernet] og er 15"),
        ("Mads har fået bevilget aflastning", "[navn fjernet] har fået bevilget aflastning"),
        (
            "vi har talt med overlæge Søren Kristensen på Rigshospitalet",
            "vi har talt med overlæge [navn fjernet] på Rigshospitalet",
        ),
        ("Vi har talt med Per fra kommunen", "Vi har talt med [navn fjernet] fra kommunen"),
        ("Idas lærer siger nej", "[navn fjernet] lærer siger nej"),
        ("jeg er mor til Anne-Sofie på 14", "jeg er mor til [navn fjernet] på 14"),
        ("mvh Karina Larsen", "mvh [navn fjernet]"),
        ("adressen er Vestergade 12, 2. tv, 9000 Aalborg", "adressen er [adresse fjernet]"),
        ("vi bor på Nørregade 4B i Aarhus", "vi bor på [adresse fjernet] i Aarhus"),
        ("send det til Jens Baggesens Vej 5, 8200 Aarhus N", "send det til [adresse fjernet]"),
        ("vi bor på nørregade 4 i viborg", "vi bor på [adresse fjernet] i viborg"),
        ("vi bor på Rosenvænget i Holbæk", "vi bor på [adresse fjernet] i Holbæk"),
    ],
)
def test_names_and_addresses_are_replaced(lexicon, text, kept):
    redacted, found = redact(text)
    assert redacted == kept
    assert found <= {"name", "address"} and found


@pytest.mark.parametrize(
    "text, kept",
    [
        # names that are also words, first in a sentence or in a list; month names used as names
        ("Kim skal til tandlæge på fredag", "[navn fjernet] skal til tandlæge på fredag"),
        ("Bo, min mand, passer hende i dag", "[navn fjernet], min mand, passer hende i dag"),
        ("August fik sin diagnose sidste år", "[navn fjernet] fik sin diagnose sidste år"),
        ("Maj er 4 og går i børnehave", "[navn fjernet] er 4 og går i børnehave"),
        ("Storm og Ask er tvillinger", "[navn fjernet] og [navn fjernet] er tvillinger"),
        ("Liv og Emma sover sammen", "[navn fjernet] og [navn fjernet] sover sammen"),
        ("vi var til fest hos Maj", "vi var til fest hos [navn fjernet]"),
        # cues: any person noun or a possessive before "hedder", "og hedder", "far/mor til"
        ("hans pædagog hedder noah", "hans pædagog hedder [navn fjernet]"),
        ("vores genbo hedder jens", "vores genbo hedder [navn fjernet]"),
        ("hun er 5 og hedder oscar", "hun er 5 og hedder [navn fjernet]"),
        ("jeg er far til noah og august", "jeg er far til [navn fjernet] og [navn fjernet]"),
        ("jeg er farmor til oscar", "jeg er farmor til [navn fjernet]"),
        # lower-case addresses and postal districts
        ("vi bor på gl. strandvej 7", "vi bor på [adresse fjernet]"),
        ("adressen er birkevej 2, 6700 esbjerg", "adressen er [adresse fjernet]"),
        ("vi bor på egelunden 9", "vi bor på [adresse fjernet]"),
        ("send det til Vestergade 3, 5000 Odense M", "send det til [adresse fjernet]"),
        ("vi bor på Frederikssundsvej 50, 2400 København NV", "vi bor på [adresse fjernet]"),
        ("adressen er Banegårdsgade 1, 8000 Aarhus C", "adressen er [adresse fjernet]"),
    ],
)
def test_names_that_are_words_new_cues_and_lower_case_addresses_are_replaced(lexicon, text, kept):
    assert redact(text)[0] == kept


@pytest.mark.parametrize(
    "text",
    [
        "August plejer at være stille",
        "Maj og juni er travle",
        "Fra maj skal han på ny skole",
        "Vi fik svar i August",
        "Maj har 31 dage",
        "Lillebror er begyndt i vuggestue",
        "Mormor og morfar hjælper",
        "Per uge får vi seks timer",
        "Sol og regn",
        "Bo alene kan han ikke",
        "Dag for dag går det bedre",
        "hun har Pierre Robin sekvens",
        "min søn har Pierre Robin-sekvens",
        "Dandy Walker komplekset blev fundet",
        "han har Arnold Chiari anomali",
        "appen hedder Aula",
        "vores læge hedder noget med H",
        "jeg er mor til en pige på 4",
        "jeg er far til to",
        "vi bor på 3. sal",
        "han bor på afdeling 12 i to uger",
        "vi har boet på hospitalet 3 uger",
        "vi bor i Odense og hun går i skole i Odense C",
    ],
)
def test_month_names_kin_words_eponyms_and_wards_are_kept(lexicon, text):
    assert redact(text) == (text, set())


@pytest.mark.parametrize(
    "text",
    [
        "vi bor i Aalborg",
        "vi bor i Aalborg Kommune",
        "vi er flyttet fra Esbjerg til Vejle",
        "vi bor i Rønne",
        "min søn har Williams syndrom",
        "min datter har Rett syndrom",
        "hun har Prader-Willi",
        "har I noget om Angelman?",
        "vores dreng har Downs syndrom",
        "vi har fået diagnosen Cornelia de Lange syndrom",
        "skal jeg kontakte Sjældne Diagnoser, VISO eller DUKH?",
        "vi har været på Center for Sjældne Sygdomme i Aarhus",
        "vi har været på Kennedy Centret",
        "hun blev undersøgt på H.C. Andersen Børnehospital",
        "Region Midtjylland har et videnscenter",
        "Vi tog til Danmarks største hospital",
        "vi bo i et hus med have og der er sol hele dagen",
        "Per måned får vi 5.519 kr. i merudgifter",
        "Kan vi få hjælp?",
        "Hjem fra skole kl. 14",
        "Dag og nat er det hårdt",
        "Tro mig, vi har prøvet alt",
        "det er en holm ude i fjorden",
        "vi bor vest for byen",
        "i august starter han i skole",
        "hun fylder 18 i maj",
        "Hans far og jeg er skilt",
        "Kan min datter bo hjemme efter hun fylder 18?",
        "Det er en Dag vi aldrig glemmer",
        "hvordan klager man over en afgørelse fra kommunen",
        "ring på 12 34 56 78",
    ],
)
def test_towns_diagnoses_organisations_and_ordinary_words_are_kept(lexicon, text):
    redacted, found = redact(text)
    assert found <= {"phone"} and (redacted == text or found == {"phone"})


@pytest.mark.parametrize(
    "text, kept",
    [
        # foreign surnames after a title (abbreviated or not) or a first name
        ("Dr. Mbeki ringer i morgen", "Dr. [navn fjernet] ringer i morgen"),
        ("vi skal til møde med hr. Wiśniewski", "vi skal til møde med hr. [navn fjernet]"),
        ("psykologen Farouk har skrevet en udtalelse", "psykologen [navn fjernet] har skrevet en udtalelse"),
        ("fru Nowak kommer kl. 10", "fru [navn fjernet] kommer kl. 10"),
        ("hans far hedder Murat Yilmaz", "hans far hedder [navn fjernet]"),
        # names that are words or months: before "fylder", beside a name, after a preposition
        ("Storm fylder 7 i morgen", "[navn fjernet] fylder 7 i morgen"),
        (
            "Sol og Ida har fået plads i samme klasse",
            "[navn fjernet] og [navn fjernet] har fået plads i samme klasse",
        ),
        (
            "vi har lavet en plan for Noah sammen med skolen",
            "vi har lavet en plan for [navn fjernet] sammen med skolen",
        ),
        ("farmor passer på Oscar om fredagen", "farmor passer på [navn fjernet] om fredagen"),
        ("jeg er bekymret for at Noah ikke spiser", "jeg er bekymret for at [navn fjernet] ikke spiser"),
        ("det er hårdt for August at skifte skole", "det er hårdt for [navn fjernet] at skifte skole"),
        # lower case after a preposition, a kinship word, a greeting; lower-case full names
        ("vi sover hos yasmin i nat", "vi sover hos [navn fjernet] i nat"),
        ("min svigerfar bent hjælper med kørsel", "min svigerfar [navn fjernet] hjælper med kørsel"),
        ("hej lise, hvad gør vi nu", "hej [navn fjernet], hvad gør vi nu"),
        ("hej bo!", "hej [navn fjernet]!"),
        ("kære abdi, tak for i dag", "kære [navn fjernet], tak for i dag"),
        ("fatima ali er min kone", "[navn fjernet] er min kone"),
        # only the name goes, never the greeting, title or kinship word
        ("Hej Trine! Kan I hjælpe?", "Hej [navn fjernet]! Kan I hjælpe?"),
        ("Kære Birgit, tak for svaret", "Kære [navn fjernet], tak for svaret"),
        ("Fru Pedersen og hr. Jensen var med", "Fru [navn fjernet] og hr. [navn fjernet] var med"),
        ("Farfar Erik henter ham", "Farfar [navn fjernet] henter ham"),
        ("Lærer Sørensen har skrevet i Aula", "Lærer [navn fjernet] har skrevet i Aula"),
        # nicknames and particles
        ("vi kalder hende Pusling", "vi kalder hende [navn fjernet]"),
        ("vi har talt med Charlotte von Bülow", "vi har talt med [navn fjernet]"),
        ("overlæge Marie de Lichtenberg ringede", "overlæge [navn fjernet] ringede"),
        ("Johan af Wetterstedt er hans pædagog", "[navn fjernet] er hans pædagog"),
        # lower-case multiword addresses; a case number is no phone and no part of an address
        ("vi bor på skt. pauls gade 12, 1. th", "vi bor på [adresse fjernet]"),
        ("adressen er sankt jørgens allé 5", "adressen er [adresse fjernet]"),
        ("vi bor på h.c. ørsteds vej 40 1879 frederiksberg c", "vi bor på [adresse fjernet]"),
        ("Vi bor på Lindevej 8. Sagsnummer 2023-4410", "Vi bor på [adresse fjernet]. Sagsnummer 2023-4410"),
    ],
)
def test_third_round_names_and_addresses_are_replaced(lexicon, text, kept):
    assert redact(text)[0] == kept


@pytest.mark.parametrize(
    "text",
    [
        "Vi spiser and til Mortens aften",
        "Sankt Hans aften er han bange for bålet",
        "Kristi himmelfartsdag holder vi fri",
        "Han ser Paw Patrol og Gurli Gris",
        "Hun spiller Minecraft og Roblox med sin bror",
        "Han samler på Pokémon-kort",
        "Vi har søgt Anne og Poul Hansens Fond",
        "Vi har fået støtte fra Tryg Fonden",
        "Vi har sommerhus ved Limfjorden og Ringkøbing Fjord",
        "Vi bor tæt på Arresø",
        "Vi går tur i Gribskov og Rold Skov",
        "Vi bor på Amager",
        "Han går i skole på Østerbro",
        "Vi bor i Hasseris",
        "Vi har været på Rømø",
        "Sagsnummer 2024-1187 står i brevet",
        "sagsnr. 2023-4410",
        "Hej, vi har fået afslag",
        "Hej igen, tak for svaret",
        "Kære alle, tak",
        "hej mor, ring lige",
        "Tak for hjælpen",
        "Planen for August er klar",
        "glæder os til August",
        "vi kalder ham bare lille",
        "vi kalder det aflastning",
        "hans vej hjem er 12 km",
        "vi passer på huset",
        "Fru og hr. er gammeldags",
        "Hvad betyder Sotos?",
    ],
)
def test_holidays_brands_funds_places_and_greetings_are_kept(lexicon, text):
    assert redact(text) == (text, set())


def test_foreign_surnames_are_listed_but_never_read_as_genitives(lexicon):
    """Surnames from the immigrant-origin countries are in the list, marked -1 when not seen in Denmark."""
    assert lexicon.last.get("nowak") == -1 and lexicon.last.get("jensen", 0) > 0


def test_redaction_leaves_placeholders_and_rasa_identifiers_alone(lexicon):
    once = redact("han hedder Mads Jensen, cpr 120385-1234, og bor på Vestergade 12")[0]
    assert redact(once) == (once, set())
    event = {
        "event": "user",
        "text": "min datter Ida",
        "message_id": "ida0karl",
        "input_channel": "socketio",
        "parse_data": {"intent": {"name": "inform_ida"}, "entities": [{"entity": "name", "value": "Ida"}]},
    }
    redacted = redact_value(event)
    assert redacted["text"] == "min datter [navn fjernet]" and redacted["message_id"] == "ida0karl"
    assert redacted["parse_data"]["intent"]["name"] == "inform_ida"
    assert redacted["parse_data"]["entities"] == [{"entity": "name", "value": "[navn fjernet]"}]


def test_protected_words_come_from_the_kb_content(lexicon, content_copy):
    """A word the editors add to a diagnosis is kept from then on:
    it is read from the content at build time."""
    import dataclasses

    from bot.ops.names import protected_terms
    from core.redaction import Lexicon
    from knowledge_base import load_content
    from tests.conftest import edit_yaml

    assert redact("hun har Mikkelsen", lexicon)[0] == "hun har [navn fjernet]"  # a surname, as things are
    edit_yaml(content_copy / "diagnoses.yml", lambda entries: entries[0]["synonyms"].append("mikkelsen"))
    terms = protected_terms(load_content(content_copy), lexicon.first, lexicon.stop)
    assert "mikkelsen" in terms["words"] and "aalborg" in terms["words"] and "syndrom" in terms["heads"]
    edited = dataclasses.replace(lexicon, protected=frozenset(terms["words"]))
    assert redact("hun har Mikkelsen", edited) == ("hun har Mikkelsen", set())
    assert Lexicon.from_dict({}).first == {}


def test_without_the_name_list_names_after_a_cue_and_addresses_are_still_removed(tmp_path):
    from core.redaction import load_lexicon

    empty = load_lexicon(str(tmp_path / "missing.json"))
    assert (
        redact("han hedder Nouraya og bor på Vestergade 12", empty)[0]
        == "han hedder [navn fjernet] og bor på [adresse fjernet]"
    )


@pytest.mark.parametrize(
    "name, floor",
    [
        # measured after the first round of rules; its misses' kinds then guided the second round, so it is no
        # longer an independent measurement, only a guard
        ("redaction.yml", 0.97),
        # written by another author after the second round and measured once (benchmarks/results/redaction.md)
        ("redaction_frozen2.yml", 0.89),
        # written by a third author during the third round, measured once; these three and the development set
        # are now the name tagger's training data (bot/ops/name_tagger.py)
        ("redaction_frozen3.yml", 0.92),
        # never trained on: 0.913 by the rules of the fourth round, 0.926 with the name tagger
        ("redaction_frozen4.yml", 0.92),
        # written while the tagger was built, measured once: 0.919 by the rules, 0.954 with the tagger
        ("redaction_frozen5.yml", 0.95),
    ],
)
def test_frozen_evaluation_sets_do_not_get_worse(lexicon, name, floor):
    """Names and addresses removed whole at least as often as measured, ≤ 1 % of the other words removed."""
    from evaluation.redaction import TARGET_WRONG, evaluate, load_frozen

    result = evaluate(load_frozen(Path(__file__).parent / "data" / name))
    assert result["caught"] >= floor and result["wrong_words"] <= TARGET_WRONG, (
        result["caught"],
        result["wrong_words"],
    )


def store_conversation(url: str, sender: str, messages: list[str]) -> None:
    """Store a conversation through the redacting tracker store, as the Rasa server does after each turn."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.server.tracker_store import RedactingSQLTrackerStore

    store = RedactingSQLTrackerStore(domain=Domain.empty(), host=url)
    tracker = DialogueStateTracker(sender, [])
    for message in messages:
        for event in (
            ActionExecuted("action_listen"),
            UserUttered(
                message,
                {"name": "inform", "confidence": 0.9},
                [{"entity": "municipality", "value": "Aalborg", "start": 0, "end": 7}],
            ),
            BotUttered("Tak. Hvad vil du vide om aflastning?"),
        ):
            tracker.update(event)
        asyncio.run(store.save(tracker))  # one save per turn, like the server
    store.engine.dispose()


def test_stored_conversation_holds_no_names_or_addresses(lexicon, tracker_url):
    store_conversation(
        tracker_url,
        "familie",
        [
            "Hej, jeg hedder Mette Sørensen og er mor til Ida på 9",
            "hun har Angelman syndrom og vi bor på Vestergade 12, 2. tv, 9000 Aalborg",
            "min søn hedder mads, han er 12 og går til Sjældne Diagnoser",
        ],
    )
    import json

    stored = " ".join(
        json.dumps(json.loads(data), ensure_ascii=False) for data in rows(tracker_url)["familie"]
    )
    assert stored.count('"event": "user"') == 3
    for private in ("Mette", "Sørensen", "Ida", "mads", "Vestergade", "9000"):
        assert private not in stored
    for kept in (
        "[navn fjernet]",
        "[adresse fjernet]",
        "Angelman syndrom",
        "Aalborg",
        "Sjældne Diagnoser",
        "action_listen",
        '"inform"',
        "municipality",
    ):
        assert kept in stored


# -- retention and erasure on a real tracker store ---------------------------------------------------
import asyncio  # noqa: E402
import time  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402

from core.events_table import RetentionError, check_database, forget, parse_duration, purge  # noqa: E402
from tests.conftest import POSTGRES_URL, postgres_available, require_service  # noqa: E402

DAY = 86_400


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.sqlite'}"
        return
    require_service("PostgreSQL", postgres_available(), POSTGRES_URL)
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS privacy_test CASCADE"))
        connection.execute(text("CREATE SCHEMA privacy_test"))
    yield f"{POSTGRES_URL}?options=-csearch_path%3Dprivacy_test"
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS privacy_test CASCADE"))
    engine.dispose()


def test_stored_events_hold_placeholders_not_personal_data(tracker_url):
    fill(tracker_url, {"anna": 0})
    stored = " ".join(rows(tracker_url)["anna"])
    assert "120385" not in stored and "far@example.dk" not in stored
    assert "[CPR-nummer fjernet]" in stored and "[e-mail fjernet]" in stored
    assert "ask_aflastning" in stored


def test_purge_deletes_only_old_conversations(tracker_url):
    fill(tracker_url, {"gammel": 40, "ny": 2})
    assert purge(tracker_url, parse_duration("30d")) == 3
    assert set(rows(tracker_url)) == {"ny"}


def test_forget_deletes_one_conversation_and_leaves_the_others(tracker_url):
    fill(tracker_url, {"anna": 1, "bo": 1})
    assert forget(tracker_url, "anna") == 3
    assert set(rows(tracker_url)) == {"bo"}
    with pytest.raises(RetentionError, match="Ingen samtale"):
        forget(tracker_url, "anna")
    assert set(rows(tracker_url)) == {"bo"}


@pytest.mark.parametrize("value", ["", "30", "30 dage", "-3d", "0d", "abc", "30y"])
def test_bad_duration_is_refused(value):
    with pytest.raises(RetentionError, match="Ugyldig varighed"):
        parse_duration(value)


def test_corrupt_sqlite_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "tracker.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RetentionError, match="kan ikke bruges"):
        check_database(f"sqlite:///{broken}")


def test_locked_sqlite_file_is_a_clear_error_not_a_hang(tmp_path):
    import sqlite3

    path = tmp_path / "tracker.sqlite"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(RetentionError, match="låst"):
        check_database(f"sqlite:///{path}", timeout=0.5)
    assert time.monotonic() - started < 5
    holder.rollback()
    holder.close()


# -- links to printable meeting checklists go with their conversation -----------------------------------
def links(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        senders = [
            row[0]
            for row in connection.execute(text("SELECT sender_id FROM checklist_links ORDER BY sender_id"))
        ]
    engine.dispose()
    return senders


def make_links(url: str, senders: list[str]) -> None:
    from core.checklist_links import create_link

    engine = create_engine(url)
    for sender in senders:
        create_link(engine, sender)
    engine.dispose()


def test_forget_deletes_the_conversations_checklist_links(tracker_url):
    fill(tracker_url, {"anna": 1, "bo": 1})
    make_links(tracker_url, ["anna", "anna", "bo"])
    forget(tracker_url, "anna")
    assert links(tracker_url) == ["bo"]


def test_purge_deletes_the_checklist_links_of_purged_conversations(tracker_url):
    fill(tracker_url, {"gammel": 40, "ny": 2})
    make_links(tracker_url, ["gammel", "ny"])
    assert purge(tracker_url, parse_duration("30d")) == 3
    assert links(tracker_url) == ["ny"]


def test_purge_and_forget_work_before_any_checklist_was_made(tracker_url):
    fill(tracker_url, {"gammel": 40, "anna": 1})
    assert purge(tracker_url, parse_duration("30d")) == 3 and forget(tracker_url, "anna") == 3
    engine = create_engine(tracker_url)
    with engine.connect() as connection:
        assert not engine.dialect.has_table(connection, "checklist_links")  # created on demand, not here
    engine.dispose()


def test_checklist_link_tokens_are_random_and_say_nothing_about_the_conversation(tmp_path):
    from core.checklist_links import create_link, find_link

    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.sqlite'}")
    made = [create_link(engine, "anna-hansen") for _ in range(20)]
    assert len({link.token for link in made}) == 20
    assert all(len(link.token) == 32 and "anna" not in link.token for link in made)
    assert find_link(engine, made[0].token).sender_id == "anna-hansen"
    token = made[0].token
    assert find_link(engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    engine.dispose()


def test_the_matcher_reads_a_message_without_its_personal_numbers():
    from core.redaction import without_personal_numbers

    typed = "hvad er tabt arbejdsfortjeneste? far har CPR 120385-1234 og tlf. 22 33 44 55, mail a@b.dk"
    assert without_personal_numbers(typed) == "hvad er tabt arbejdsfortjeneste? far har CPR og tlf. , mail"
    stored = redact("min søn har CPR 120385-1234")[0]  # a later turn reads the stored, redacted text
    assert without_personal_numbers(stored) == "min søn har CPR"


# -- the name tagger: names in contexts the rules pass over ----------------------------------------------
@pytest.mark.parametrize(
    "text, kept",
    [
        ("sara går i 3. klasse og har det svært", "[navn fjernet] går i 3. klasse og har det svært"),
        ("frida skal til kontrol på Rigshospitalet", "[navn fjernet] skal til kontrol på Rigshospitalet"),
        ("ali har fået bevilget en kontaktperson", "[navn fjernet] har fået bevilget en kontaktperson"),
        (
            "Hvad siger I til at ahmad skal i specialklasse",
            "Hvad siger I til at [navn fjernet] skal i specialklasse",
        ),
    ],
)
def test_the_tagger_finds_lower_case_names_the_rules_pass_over(lexicon, text, kept):
    from dataclasses import replace

    assert redact(text, replace(lexicon, tagger=None)) == (text, set())  # the rules alone keep it
    assert redact(text, lexicon) == (kept, {"name"})
    assert redact(text) == (kept, {"name"})  # what the tracker store uses


@pytest.mark.parametrize(
    "text",
    [
        "vi bor i Aarhus og hun går i skole i Viborg",
        "har Rett syndrom noget med Angelman at gøre?",
        "Planen for August er klar",
        "Vi har møde med Ankestyrelsen i næste uge",
        "mit nummer er for langt til formularen",  # a name's place, but an ordinary word in lower case
        "vores plan er klar, og hans tid er knap",
    ],
)
def test_the_tagger_never_takes_what_the_rules_block(lexicon, text):
    assert redact(text, lexicon) == (text, set())


def test_a_model_file_that_is_no_model_leaves_the_rules(tmp_path, caplog):
    from core.redaction import load_lexicon, tagger_path

    (tmp_path / "names.json").write_text('{"first": {"sara": 40}}', encoding="utf-8")
    tagger_path(tmp_path).write_bytes(b"not a model")
    with caplog.at_level("WARNING"):
        found = load_lexicon(str(tmp_path / "names.json"))
    assert found.tagger is None and found.first == {"sara": 40}
    assert "rules only" in caplog.text

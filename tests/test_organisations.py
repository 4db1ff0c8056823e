"""Organisation look-up: ranking in the KB layer and the action's reply for each path."""

import pytest

from actions.answer import ActionAcknowledgeContext
from actions.context import ValidateSlotMappings
from actions.organisations import ActionFindOrganisations
from knowledge_base.referral import find_organisations


def ids(organisations):
    return [o["id"] for o in organisations]


async def find(kb, tracker, dispatcher, domain, **kwargs):
    assert (
        await ActionFindOrganisations(kb).run(
            dispatcher, tracker(intent="find_organisation", **kwargs), domain
        )
        == []
    )
    [message] = dispatcher.messages
    return message


async def test_diagnosis_gives_its_association(kb, tracker, dispatcher, domain):
    message = await find(
        kb,
        tracker,
        dispatcher,
        domain,
        text="Er der en forening for Angelman?",
        entities=[{"entity": "diagnosis", "value": "Angelman"}],
    )
    assert message["custom"]["kind"] == "organisations"
    assert message["custom"]["organisations"][0] == {"id": "angelmanforeningen", "name": "Angelmanforeningen"}
    assert message["text"].startswith("Der er en forening for Angelman syndrom")
    assert "• Angelmanforeningen:" in message["text"]


async def test_misspelt_diagnosis_still_finds_the_association(kb, tracker, dispatcher, domain):
    message = await find(
        kb,
        tracker,
        dispatcher,
        domain,
        text="forening for angelmann",
        entities=[{"entity": "diagnosis", "value": "angelmann"}],
    )
    assert message["custom"]["organisations"][0]["id"] == "angelmanforeningen"


async def test_diagnosis_without_association_says_so_and_gives_the_other_routes(
    kb, tracker, dispatcher, domain
):
    message = await find(
        kb,
        tracker,
        dispatcher,
        domain,
        text="findes der en forening for Marfan",
        entities=[{"entity": "diagnosis", "value": "Marfan"}],
    )
    assert ids(message["custom"]["organisations"])[:4] == [
        "sjaeldne-netvaerket",
        "sjaeldne-diagnoser",
        "orphanet",
        "eurordis",
    ]
    assert "Jeg kender ikke en dansk forening for netop Marfan syndrom" in message["text"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hvem kan vi klage til", {"ankestyrelsen", "dukh"}),
        ("hvor kan vi få uvildig rådgivning", {"viso", "dukh", "sjaeldne-helpline"}),
        ("hvor kan min datter blive udredt", {"css-aarhus", "css-rigshospitalet", "ern"}),
    ],
)
async def test_need_in_the_question_picks_the_organisations(kb, tracker, dispatcher, domain, text, expected):
    message = await find(kb, tracker, dispatcher, domain, text=text)
    assert expected <= set(ids(message["custom"]["organisations"]))
    for org in message["custom"]["organisations"]:
        assert org["name"] in message["text"]


async def test_topic_being_discussed_is_used_when_nothing_else_is_said(kb, tracker, dispatcher, domain):
    message = await find(
        kb, tracker, dispatcher, domain, text="find organisationer", slots={"topic": "klage"}
    )
    assert ids(message["custom"]["organisations"]) == kb.topic("klage")["organisations"][:5]
    assert message["text"].startswith("Disse organisationer kan hjælpe med Klage")


async def test_nothing_known_gives_broad_entry_points_and_a_skippable_question(
    kb, tracker, dispatcher, domain
):
    message = await find(kb, tracker, dispatcher, domain, text="find organisationer")
    assert ids(message["custom"]["organisations"]) == ["sjaeldne-diagnoser", "viso", "dukh"]
    assert "hvilken kommune I bor i" in message["text"] and "springe det over" in message["text"]


async def test_helpline_is_not_offered_to_a_16_year_old_and_the_reply_says_why(
    kb, tracker, dispatcher, domain
):
    message = await find(
        kb, tracker, dispatcher, domain, text="hvor kan jeg få rådgivning", slots={"role": "ung", "age": 16.0}
    )
    assert "sjaeldne-helpline" not in ids(message["custom"]["organisations"])
    assert "rådgiver kun personer fra 18 år" in message["text"]
    adult = find_organisations(kb, text="hvor kan jeg få rådgivning", audience="ung", age=19)
    assert "sjaeldne-helpline" in ids(adult.organisations)


def test_the_centre_in_aarhus_is_offered_to_young_adults_too(kb):
    """The content review: Center for Sjældne Sygdomme in Aarhus is not for children only."""
    assert "css-aarhus" in ids(find_organisations(kb, need_id="udredning", age=19).organisations)
    assert "css-aarhus" in ids(find_organisations(kb, need_id="udredning", age=9).organisations)


@pytest.mark.slow
def test_an_organisation_for_children_only_is_not_offered_to_a_19_year_old(content_copy, tmp_path):
    from knowledge_base import KnowledgeBase, build_database
    from tests.conftest import edit_yaml

    def children_only(organisations):
        next(o for o in organisations if o["id"] == "css-aarhus")["max_age"] = 17

    edit_yaml(content_copy / "organisations.yml", children_only)
    url = f"sqlite:///{tmp_path / 'kb.sqlite'}"
    build_database(content_copy, url)
    kb = KnowledgeBase.from_url(url)
    assert "css-aarhus" not in ids(find_organisations(kb, need_id="udredning", age=19).organisations)
    assert "css-aarhus" in ids(find_organisations(kb, need_id="udredning", age=9).organisations)


async def test_diagnosis_told_earlier_is_reused_in_a_later_turn(kb, tracker, dispatcher, domain):
    message = await find(
        kb, tracker, dispatcher, domain, text="er der en forening for det", slots={"diagnosis": "22q11"}
    )
    assert message["custom"]["organisations"][0]["id"] == "22q11-danmark"


async def test_region_goes_into_the_payload_and_own_municipality_gets_the_local_contact(
    kb, tracker, dispatcher, domain, monkeypatch
):
    monkeypatch.setenv("FORLOB_MUNICIPALITY", "Aalborg Kommune")
    monkeypatch.setenv("FORLOB_CONTACT_PHONE", "11 22 33 44")
    message = await find(
        kb,
        tracker,
        dispatcher,
        domain,
        text="hvem kan rådgive os",
        slots={"municipality": "Aalborg", "region": "Nordjylland"},
    )
    assert message["custom"]["region"] == "Nordjylland"
    assert "I Aalborg Kommune kan du også kontakte" in message["text"] and "11 22 33 44" in message["text"]


async def test_phone_numbers_only_from_the_kb(kb, tracker, dispatcher, domain):
    message = await find(kb, tracker, dispatcher, domain, text="hvor kan vi få uvildig rådgivning")
    for org in message["custom"]["organisations"]:
        assert org.get("phone") == kb.organisation(org["id"]).get("phone")


# -- context: slot normalisation and acknowledgement -----------------------------------------------
@pytest.mark.parametrize(
    "slot, value, expected",
    [
        ("municipality", "Århus", {"municipality": "Aarhus", "region": "Midtjylland"}),
        ("municipality", "Høje Taastrup kommune", {"municipality": "Høje-Taastrup"}),
        ("municipality", "Narnia", {"municipality": None}),
        ("diagnosis", "angelmann", {"diagnosis": "angelman"}),
        ("age", "16", {"age": 16.0, "life_phase": "16-17"}),
        ("age", "4", {"age": 4.0, "life_phase": "0-5"}),
        ("age", "200", {"age": None}),
        ("role", "fagperson", {"role": "fagperson"}),
    ],
)
def test_slot_values_are_normalised(kb, tracker, dispatcher, domain, slot, value, expected):
    action = ValidateSlotMappings(kb)
    result = getattr(action, f"validate_{slot}")(value, dispatcher, tracker(text=str(value)), domain)
    assert expected.items() <= result.items()


def test_jeg_er_17_makes_the_writer_a_young_person(kb, tracker, dispatcher, domain):
    result = ValidateSlotMappings(kb).validate_age(
        "17", dispatcher, tracker(text="jeg er 17 og har Marfan"), domain
    )
    assert result["role"] == "ung" and result["life_phase"] == "16-17"


@pytest.mark.parametrize(
    "text, value, age, phase",
    [
        ("min datter fylder 18 til foråret, hvad sker der så?", "18", 17.0, "16-17"),
        ("han fylder snart 16", "16", 15.0, "6-15"),
        ("hun er 18 og fylder 19 til sommer", "18", 18.0, "18-25"),
    ],
)
def test_turning_n_means_n_minus_one_today(kb, tracker, dispatcher, domain, text, value, age, phase):
    result = ValidateSlotMappings(kb).validate_age(value, dispatcher, tracker(text=text), domain)
    assert (result["age"], result["life_phase"]) == (age, phase)


async def test_context_is_said_back(kb, tracker, dispatcher, domain):
    await ActionAcknowledgeContext(kb).run(
        dispatcher,
        tracker(
            text="jeg er mor til en pige på 16 i Aalborg",
            intent="inform",
            entities=[  # as the NLU pipeline finds them (CRF age, the KB ruler's municipality)
                {"entity": "age", "value": "16", "start": 26, "end": 28},
                {"entity": "municipality", "value": "Aalborg", "start": 31, "end": 38},
            ],
            slots={"role": "foraelder", "age": 16.0, "municipality": "Aalborg", "region": "Nordjylland"},
        ),
        domain,
    )
    [message] = dispatcher.messages
    assert "du er forælder" in message["text"] and "alder 16 år" in message["text"]
    assert "Aalborg (Region Nordjylland)" in message["text"]


async def test_unknown_place_gets_a_clear_answer_and_national_options(kb, tracker, dispatcher, domain):
    await ActionAcknowledgeContext(kb).run(
        dispatcher, tracker(text="vi bor i Narnia", intent="inform"), domain
    )
    [message] = dispatcher.messages
    assert "Jeg kender ikke en dansk kommune, der hedder «Narnia»" in message["text"]
    assert message["custom"]["kind"] == "organisations"
    assert ids(message["custom"]["organisations"]) == kb.referral_routes["national"]


async def test_personal_data_gets_a_gentle_note_once(kb, tracker, dispatcher, domain):
    action = ValidateSlotMappings(kb)
    events = await action.run(dispatcher, tracker(text="hans cpr er 120385-1234"), domain)
    assert dispatcher.messages[0]["text"].startswith("En lille ting først")
    assert {"event": "slot", "timestamp": None, "name": "privacy_noted", "value": True} in events
    dispatcher.messages.clear()
    await action.run(dispatcher, tracker(text="ring 12345678", slots={"privacy_noted": True}), domain)
    assert dispatcher.messages == []


async def test_the_age_and_the_writers_own_words_set_the_role_in_the_same_turn(
    kb, tracker, dispatcher, domain
):
    """rasa_sdk applies the turn's validated slots to the tracker before `run` returns; the role must still
    be among the events sent back ("jeg er 17" sets it by age and by roles.yml in one turn)."""
    text = "jeg er 17 og har osteogenesis imperfecta. hvad sker der med min hjælp når jeg bliver 18"
    turn = tracker(
        text=text,
        intent="ask_question",
        entities=[{"entity": "age", "value": "17"}],
        slots={"age": "17"},
        events=[{"event": "user", "text": text}, {"event": "slot", "name": "age", "value": "17"}],
    )
    events = await ValidateSlotMappings(kb).run(dispatcher, turn, domain)
    assert {"event": "slot", "timestamp": None, "name": "role", "value": "ung"} in events
    assert {"event": "slot", "timestamp": None, "name": "age", "value": 17.0} in events


async def test_an_age_the_model_missed_is_read_from_the_plain_wording(kb, tracker, dispatcher, domain):
    text = "min datter fylder 18 til foråret, hvad sker der så?"
    turn = tracker(text=text, intent="ask_question", events=[{"event": "user", "text": text}])
    events = await ValidateSlotMappings(kb).run(dispatcher, turn, domain)
    assert {"event": "slot", "timestamp": None, "name": "age", "value": 17.0} in events
    assert {"event": "slot", "timestamp": None, "name": "life_phase", "value": "16-17"} in events


@pytest.mark.parametrize(
    "text, role",
    [
        ("hvordan vurderer vi behovet for aflastning i den her sag?", "fagperson"),
        ("hvordan dokumenterer vi tilbuddet i handleplanen, så det holder ved en klage?", "fagperson"),
        ("hvordan får jeg SU når jeg ikke kan tage fuld tid pga min sygdom", "ung"),
    ],
)
async def test_the_voice_of_the_message_sets_the_role_when_nobody_says(
    kb, tracker, dispatcher, domain, text, role
):
    assert kb.role_in(text) is None  # no phrase of roles.yml: the voice alone decides
    turn = tracker(text=text, intent="ask_question", events=[{"event": "user", "text": text}])
    events = await ValidateSlotMappings(kb).run(dispatcher, turn, domain)
    assert {"event": "slot", "timestamp": None, "name": "role", "value": role} in events


@pytest.mark.parametrize(
    "text, slots_before",
    [
        # a parent's own voice: no role is set, the parents' text is the default
        ("vi er helt slidte og ved ikke hvor vi skal starte. hvad kan vi få af hjælp?", {}),
        # a role told earlier is not overruled by the voice of one message
        ("hvordan vurderer vi behovet for aflastning i den her sag?", {"role": "foraelder"}),
    ],
)
async def test_the_voice_never_overrules_a_role_or_makes_a_parent_someone_else(
    kb, tracker, dispatcher, domain, text, slots_before
):
    turn = tracker(
        text=text, intent="ask_question", slots=slots_before, events=[{"event": "user", "text": text}]
    )
    events = await ValidateSlotMappings(kb).run(dispatcher, turn, domain)
    assert not [e for e in events if e.get("name") == "role"]

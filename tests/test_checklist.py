"""The meeting checklist ("Tag med til mødet"): built from a real conversation's events, served by the web app
over real HTTP, printed by headless Chromium, and gone with the conversation.

The scripted conversations run the real actions (answer, organisation look-up, checklist) on a Rasa tracker
and store the events through the project's redacting SQL tracker store in a temporary SQLite file; the
REST test at the end runs the same conversation through the real Rasa and action servers.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil

import pytest
from aiohttp import ClientSession, web
from markupsafe import escape
from sqlalchemy import create_engine, text

from bot.web.app import create_app
from bot.web.checklist_content import build_checklist
from core.checklist_links import find_link
from core.config import ROOT, load_settings
from core.conversation import read_conversation
from core.events_table import forget, parse_duration, purge, stored_events
from tests.conftest import free_port, require_service
from tests.support import headless_chromium

TOKEN_URL = re.compile(r"^(?P<base>.+)/huskeliste/(?P<token>[A-Za-z0-9_-]{32})$")
PARENT_TOPICS = ["overgang-til-voksenlivet", "1.7"]


class Script:
    """Plays user turns through real actions the way Rasa does, keeping the events on a Rasa tracker."""

    def __init__(self, kb, sender: str):
        from rasa.shared.core.domain import Domain
        from rasa.shared.core.trackers import DialogueStateTracker

        self.kb, self.domain = kb, Domain.load(str(ROOT / "domain.yml"))
        self.tracker = DialogueStateTracker.from_events(sender, [], slots=self.domain.slots)

    async def say(self, text: str, intent: str, action, entities=(), slots=None) -> list[dict]:
        from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
        from rasa.shared.core.trackers import EventVerbosity
        from rasa_sdk import Tracker
        from rasa_sdk.executor import CollectingDispatcher

        self.tracker.update(ActionExecuted("action_listen"))
        self.tracker.update(UserUttered(text, {"name": intent, "confidence": 0.95}, list(entities)))
        for name, value in (slots or {}).items():  # what action_validate_slot_mappings sets
            self.tracker.update(SlotSet(name, value))
        dispatcher = CollectingDispatcher()
        state = self.tracker.current_state(EventVerbosity.ALL)
        events = await action(self.kb).run(dispatcher, Tracker.from_dict(state), self.domain.as_dict())
        self.tracker.update(ActionExecuted(action(self.kb).name()))
        for message in dispatcher.messages:
            self.tracker.update(
                BotUttered(
                    message.get("text"),
                    data={"buttons": message.get("buttons"), "custom": message.get("custom")},
                )
            )
        for event in events:
            self.tracker.update(Event.from_parameters(event))
        return dispatcher.messages

    async def save(self, url: str) -> None:
        from bot.server.tracker_store import RedactingSQLTrackerStore

        store = RedactingSQLTrackerStore(domain=self.domain, host=url)
        await store.save(self.tracker)
        store.engine.dispose()


def customs(messages, kind):
    return [m["custom"] for m in messages if (m.get("custom") or {}).get("kind") == kind]


@pytest.fixture
def tracker_url(tmp_path, monkeypatch):
    """A fresh tracker-store database; the actions in this process read it (and the web URL) from the env."""
    url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    monkeypatch.setenv("TRACKER_STORE_URL", url)
    monkeypatch.setenv("FORLOB_WEB_URL", "https://forlob.example.dk")
    return url


async def family_conversation(
    kb,
    url: str,
    sender: str,
    role: str = "foraelder",
    municipality: str = "Aalborg",
    diagnosis: str = "angelman",
) -> dict:
    """A parent (or caseworker) of a 16-year-old in Aalborg: the transition to adult life, support for the
    family, the association for a diagnosis, then the checklist. Returns what each step replied."""
    from actions.answer import ActionAnswer
    from actions.checklist_offer import ActionChecklist
    from actions.organisations import ActionFindOrganisations

    script = Script(kb, sender)
    context = {
        "role": role,
        "age": 16.0,
        "life_phase": "16-17",
        "municipality": municipality,
        "region": kb.region_of("Aalborg"),
    }
    first = await script.say("hvad sker der når hun fylder 18", "ask_question", ActionAnswer, slots=context)
    second = await script.say("hvilken støtte kan vi få som familie", "ask_question", ActionAnswer)
    organisations = await script.say(
        "er der en forening for angelman",
        "find_organisation",
        ActionFindOrganisations,
        entities=[{"entity": "diagnosis", "value": "angelman"}],
        slots={"diagnosis": diagnosis},
    )
    checklist = await script.say("lav en huskeliste til mødet", "request_checklist", ActionChecklist)
    await script.save(url)
    return {"first": first, "second": second, "organisations": organisations, "checklist": checklist}


def token_of(messages) -> str:
    [custom] = customs(messages, "checklist")
    return TOKEN_URL.match(custom["url"]).group("token")


def checklist_for(kb, url: str, token: str):
    engine = create_engine(url)
    link = find_link(engine, token)
    events = stored_events(engine, link.sender_id, link.created_at)
    engine.dispose()
    return build_checklist(kb, read_conversation(events))


# -- the chat side ---------------------------------------------------------------------------------------
async def test_the_second_answer_offers_the_checklist_and_the_reply_links_to_it(kb, tracker_url):
    replies = await family_conversation(kb, tracker_url, "familie-aalborg")
    first_buttons = [b.get("payload") for m in replies["first"] for b in m.get("buttons") or []]
    second_buttons = [
        (b["title"], b.get("payload")) for m in replies["second"] for b in m.get("buttons") or []
    ]
    assert "/request_checklist" not in first_buttons
    assert ("Lav en huskeliste til mødet", "/request_checklist") in second_buttons

    [custom] = customs(replies["checklist"], "checklist")
    [found] = customs(replies["organisations"], "organisations")
    assert custom["topics"] == PARENT_TOPICS
    assert [o["id"] for o in custom["organisations"]] == [o["id"] for o in found["organisations"]]
    assert custom["organisations"][0]["id"] == "angelmanforeningen"
    assert custom["audience"] == "foraelder" and custom["region"] == "Nordjylland"
    match = TOKEN_URL.match(custom["url"])
    assert match and match.group("base") == "https://forlob.example.dk"
    assert "aalborg" not in custom["url"].lower() and "familie" not in custom["url"]
    [message] = [m for m in replies["checklist"] if m.get("custom")]
    assert message["text"].startswith("Her er din huskeliste til næste møde med kommunen.")
    assert (
        f"• {kb.topic('overgang-til-voksenlivet')['title']}" in message["text"]
        and custom["url"] in message["text"]
    )
    assert "Angelmanforeningen" in message["text"]
    assert message["buttons"] == [{"title": "Åbn huskelisten", "url": custom["url"], "type": "web_url"}]

    engine = create_engine(tracker_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT token, sender_id FROM checklist_links")).all()
    engine.dispose()
    assert rows == [(match.group("token"), "familie-aalborg")]  # only token → conversation is stored


async def test_asking_before_any_answer_says_what_to_ask_first(kb, tracker_url):
    from actions.checklist_offer import ActionChecklist

    messages = await Script(kb, "for-tidligt").say(
        "kan jeg få det samlet?", "request_checklist", ActionChecklist
    )
    [message] = messages
    assert message["custom"] == {"kind": "checklist", "audience": "foraelder"}
    assert "vi har ikke talt om noget endnu" in message["text"] and "Stil først" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [
        f'/ask_question{{"topic_id": "{t}"}}' for t in ("overgang-til-voksenlivet", "1.7", "1.8")
    ]
    engine = create_engine(tracker_url)
    with engine.connect() as connection:
        assert not engine.dialect.has_table(
            connection, "checklist_links"
        )  # nothing stored, not even the table
    engine.dispose()


async def test_a_database_that_cannot_store_the_link_gets_a_danish_reply(
    kb, tracker_url, tmp_path, monkeypatch
):
    from actions.answer import ActionAnswer
    from actions.checklist_offer import ActionChecklist

    script = Script(kb, "uden-database")
    await script.say("hvad er aflastning", "ask_question", ActionAnswer)
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'findes-ikke' / 'tracker.sqlite'}")
    [message] = await script.say("lav en huskeliste", "request_checklist", ActionChecklist)
    assert message["text"].startswith("Jeg kan desværre ikke lave huskelisten lige nu")
    assert message["custom"] == {"kind": "checklist", "audience": "foraelder"}


# -- the builder -----------------------------------------------------------------------------------------
async def test_checklist_holds_exactly_the_topics_references_questions_and_organisations(kb, tracker_url):
    replies = await family_conversation(kb, tracker_url, "familie-builder")
    checklist = checklist_for(kb, tracker_url, token_of(replies["checklist"]))
    [found] = customs(replies["organisations"], "organisations")

    assert checklist.audience == "foraelder" and checklist.agenda is None
    assert (checklist.age, checklist.life_phase) == (16, "16–17 år (forberedelse af voksenlivet)")
    assert (checklist.municipality, checklist.region, checklist.diagnosis) == (
        "Aalborg",
        "Nordjylland",
        "Angelman syndrom",
    )
    assert [t.id for t in checklist.topics] == PARENT_TOPICS
    transition, family = checklist.topics
    assert transition.recommendations == [("1.6", "Forberedelse af overgange")]
    assert transition.laws == kb.topic("overgang-til-voksenlivet")["legal_refs"][:3]
    assert transition.questions == kb.topic("overgang-til-voksenlivet")["ask_municipality"][:4]
    assert transition.summary == kb.topic("overgang-til-voksenlivet")["summary"].strip()
    assert family.recommendations == [("1.7", kb.topic("1.7")["title"])]
    assert family.laws == kb.topic("1.7")["legal_refs"][:3]
    assert family.questions == kb.topic("1.7")["ask_municipality"][:4]
    assert [o["id"] for o in checklist.organisations] == [o["id"] for o in found["organisations"]]


async def test_for_a_caseworker_it_is_an_agenda_for_a_network_meeting(kb, tracker_url):
    replies = await family_conversation(kb, tracker_url, "sagsbehandler", role="fagperson")
    [custom] = customs(replies["checklist"], "checklist")
    assert custom["audience"] == "fagperson"
    assert [b["title"] for m in replies["checklist"] for b in m.get("buttons") or []] == ["Åbn dagsordenen"]
    checklist = checklist_for(kb, tracker_url, token_of(replies["checklist"]))
    agenda = checklist.agenda
    assert [t.id for t in checklist.topics] == PARENT_TOPICS
    assert agenda.young_person_attends and agenda.adult_services  # 16 years old, transition discussed
    assert agenda.phase_participants == kb.topic("1.4")["phase_notes"]["16-17"]
    assert [agenda.meeting["id"], agenda.coordination["id"], agenda.transition["id"]] == ["1.4", "1.5", "1.6"]
    assert agenda.specialists and all(o["type"] in ("national", "hospital") for o in agenda.specialists)
    assert {o["id"] for o in agenda.specialists} <= (
        {o for t in PARENT_TOPICS for o in kb.topic(t)["organisations"]}
        | {o["id"] for o in custom["organisations"]}
    )


def test_start_over_and_a_new_session_forget_what_came_before():
    answer = {"event": "bot", "data": {"custom": {"kind": "answer", "topic": "klage"}}}
    orgs = {"event": "bot", "data": {"custom": {"kind": "organisations", "organisations": [{"id": "dukh"}]}}}
    role = {"event": "slot", "name": "role", "value": "fagperson"}
    assert read_conversation([role, answer, orgs]).topics == ["klage"]
    assert read_conversation([role, answer, orgs, {"event": "reset_slots"}]).is_empty
    carried = read_conversation([role, answer, {"event": "session_started"}, role])
    assert carried.is_empty and carried.slots == {"role": "fagperson"} and carried.answers == 0
    twice = read_conversation([answer, answer, orgs, orgs])
    assert twice.topics == ["klage"] and twice.organisations == ["dukh"] and twice.answers == 2


# -- the page ----------------------------------------------------------------------------------------------
@pytest.fixture
async def web_app(kb_url, tracker_url):
    """The project's web app on a free loopback port, reading the test's tracker store and KB."""
    settings = load_settings({**os.environ, "TRACKER_STORE_URL": tracker_url, "KB_DATABASE_URL": kb_url})
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def fetch(url: str) -> tuple[int, str, dict]:
    async with ClientSession() as session, session.get(url) as response:
        return response.status, await response.text(), dict(response.headers)


async def test_the_page_shows_the_checklist_and_can_be_printed(kb, tracker_url, web_app):
    replies = await family_conversation(kb, tracker_url, "familie-side")
    status, page, headers = await fetch(f"{web_app}/huskeliste/{token_of(replies['checklist'])}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<h1>Huskeliste til mødet med kommunen</h1>" in page
    assert "Udskriv / gem som PDF" in page and "window.print()" in page and "@media print" in page
    assert "Aalborg (Region Nordjylland)" in page and "Angelman syndrom" in page and "16 år" in page
    assert "Socialstyrelsens anbefaling 1.6: Forberedelse af overgange" in page
    assert "Barnets lov §§ 122–123" in page
    for topic in PARENT_TOPICS:
        assert str(escape(kb.topic(topic)["title"])) in page
        for question in kb.topic(topic)["ask_municipality"][:4]:
            assert str(escape(question)) in page
    assert (
        "Angelmanforeningen" in page
        and str(escape(kb.organisation("angelmanforeningen")["how_to_contact"])) in page
    )
    assert page.count("<div></div>") == 4  # lines for the family's own notes
    assert "Dagsorden" not in page
    assert (
        headers["Referrer-Policy"] == "no-referrer"
        and "script-src 'nonce-" in headers["Content-Security-Policy"]
    )
    assert headers["Cache-Control"] == "no-store"


async def test_the_caseworker_page_is_a_meeting_agenda(kb, tracker_url, web_app):
    replies = await family_conversation(kb, tracker_url, "sagsbehandler-side", role="fagperson")
    status, page, _ = await fetch(f"{web_app}/huskeliste/{token_of(replies['checklist'])}")
    assert status == 200 and "<h1>Dagsorden til netværksmøde</h1>" in page
    assert "Deltagere at invitere" in page and "den kommende sagsbehandler fra voksenområdet" in page
    assert "Familien – forældrene og den unge selv" in page
    assert "Hvem koordinerer?" in page and "Socialstyrelsens anbefaling 1.5: Koordinerende funktion" in page
    for item in kb.topic("1.4")["checklist"]["items"][:6] + kb.topic("1.6")["checklist"]["items"][:6]:
        assert str(escape(item)) in page
    assert "Tovholder:" in page and "Huskeliste til mødet med kommunen" not in page


async def test_user_given_values_are_escaped(kb, tracker_url, web_app):
    replies = await family_conversation(
        kb,
        tracker_url,
        "familie-xss",
        municipality="<script>alert(1)</script>",
        diagnosis='<img src=x onerror="alert(2)">',
    )
    status, page, _ = await fetch(f"{web_app}/huskeliste/{token_of(replies['checklist'])}")
    assert status == 200
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page
    assert page.count("<script") == 1  # only the page's own print script


@pytest.mark.parametrize(
    "path", ["/huskeliste/ukendt-token-123", "/huskeliste/", "/huskeliste/a/b", "/huskeliste/" + "x" * 500]
)
async def test_unknown_token_is_a_danish_404(web_app, path):
    status, page, _ = await fetch(web_app + path)
    assert status == 404
    assert "Huskelisten findes ikke" in page and "samtalen er slettet" in page


@pytest.mark.parametrize("delete", ["forget", "purge"])
async def test_the_link_stops_working_when_the_conversation_is_deleted(kb, tracker_url, web_app, delete):
    replies = await family_conversation(kb, tracker_url, "familie-slet")
    other = await family_conversation(kb, tracker_url, "familie-bliver")
    url, kept = (f"{web_app}/huskeliste/{token_of(r['checklist'])}" for r in (replies, other))
    assert (await fetch(url))[0] == 200
    if delete == "forget":
        forget(tracker_url, "familie-slet")
    else:
        engine = create_engine(tracker_url)
        with engine.begin() as connection:  # the conversation went quiet 40 days ago
            connection.execute(
                text("UPDATE events SET timestamp = timestamp - 3456000 WHERE sender_id = 'familie-slet'")
            )
        engine.dispose()
        purge(tracker_url, parse_duration("30d"))
    status, page, _ = await fetch(url)
    assert status == 404 and "Huskelisten findes ikke" in page
    assert (await fetch(kept))[0] == 200
    engine = create_engine(tracker_url)
    with engine.connect() as connection:
        senders = [row[0] for row in connection.execute(text("SELECT sender_id FROM checklist_links"))]
    engine.dispose()
    assert senders == ["familie-bliver"]


@pytest.mark.browser
async def test_the_page_prints_to_one_a4_page_in_headless_chromium(kb, tracker_url, web_app, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_service("Chromium", chromium is not None, "`make system-deps` installs Debian's chromium")
    artefacts = ROOT / "tests" / "artefacts"
    artefacts.mkdir(exist_ok=True)
    replies = await family_conversation(kb, tracker_url, "familie-pdf")
    agenda = await family_conversation(kb, tracker_url, "sagsbehandler-pdf", role="fagperson")
    base = headless_chromium(chromium, tmp_path / "profile")

    async def chromium_run(*args):
        process = await asyncio.create_subprocess_exec(
            *base, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
        assert "Uncaught" not in stderr.decode(errors="replace")
        return stderr.decode(errors="replace")

    for name, conversation in (("checklist", replies), ("checklist_agenda", agenda)):
        url = f"{web_app}/huskeliste/{token_of(conversation['checklist'])}"
        pdf = tmp_path / f"{name}.pdf"
        stderr = await chromium_run("--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)
        assert "Content Security Policy" not in stderr  # the page's own script and styles are allowed
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF")
        assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1, name
        assert re.search(rb"/MediaBox\s*\[0 0 59[45]\.\d+ 841\.\d+\]", data), "A4"
    shot = artefacts / "checklist.png"
    url = f"{web_app}/huskeliste/{token_of(replies['checklist'])}"
    await chromium_run(f"--screenshot={shot}", "--window-size=900,1700", url)
    assert shot.exists() and shot.stat().st_size > 10_000


# -- the whole way through the real servers ------------------------------------------------------------------
@pytest.mark.rasa
async def test_rest_conversation_to_checklist_page_and_forget(assistant, kb, kb_url):
    from tests.support import cli, post

    sender = "e2e-huskeliste"

    async def say(message: str) -> list[dict]:
        status, body = await asyncio.to_thread(
            post,
            f"{assistant.rasa_url}/webhooks/rest/webhook",
            json.dumps({"sender": sender, "message": message}).encode(),
        )
        assert status == 200, body
        return json.loads(body)

    too_early = await say("/request_checklist")
    assert customs(too_early, "checklist") == [{"kind": "checklist", "audience": "foraelder"}]
    await say("jeg er mor til en pige på 16")
    await say("vi bor i Aalborg")
    first = await say("hvad sker der når hun fylder 18")
    second = await say("hvilken støtte kan vi få som familie")
    assert customs(first, "answer")[0]["topic"] == "overgang-til-voksenlivet"
    assert customs(second, "answer")[0]["topic"] == "1.7"
    assert "/request_checklist" not in [b.get("payload") for m in first for b in m.get("buttons") or []]
    assert "/request_checklist" in [b.get("payload") for m in second for b in m.get("buttons") or []]
    found = customs(await say("er der en forening for angelman"), "organisations")[0]
    reply = await say("/request_checklist")
    [custom] = customs(reply, "checklist")
    assert custom["topics"] == PARENT_TOPICS and custom["region"] == "Nordjylland"
    assert [o["id"] for o in custom["organisations"]] == [o["id"] for o in found["organisations"]]
    match = TOKEN_URL.match(custom["url"])
    assert (
        match and match.group("base") == load_settings(assistant.env).web_url
    )  # the action server's setting

    tracker_url = f"sqlite:///{assistant.tracker_db}"
    settings = load_settings({**os.environ, "TRACKER_STORE_URL": tracker_url, "KB_DATABASE_URL": kb_url})
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        page_url = f"http://127.0.0.1:{port}/huskeliste/{match.group('token')}"
        status, page, _ = await fetch(page_url)
        assert status == 200
        assert "Aalborg (Region Nordjylland)" in page and "Angelman syndrom" in page
        assert "Socialstyrelsens anbefaling 1.6: Forberedelse af overgange" in page
        assert str(escape(kb.topic("1.7")["ask_municipality"][0])) in page and "Angelmanforeningen" in page
        result = await asyncio.to_thread(
            cli, "privacy", "forget", sender, env_extra={"TRACKER_STORE_URL": tracker_url}
        )
        assert result.returncode == 0, result.stderr
        status, page, _ = await fetch(page_url)
        assert status == 404 and "Huskelisten findes ikke" in page
    finally:
        await runner.cleanup()

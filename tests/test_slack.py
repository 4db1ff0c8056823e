"""The Slack channel: Block Kit rendering (unit), and a running Rasa stack receiving signed Events API and
Interactivity requests in Slack's own formats, answering through a local fake of Slack's Web API."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from actions.handoff import handoff_message
from actions.messages import answer_message
from bot.server.channels.slack import ForlobSlackBot, RecentEvents, user_text
from bot.server.channels.slack_blocks import SECTION_LIMIT, render_message, split_sections, to_mrkdwn
from core.config import EscalationSettings
from tests.conftest import free_port, running_stack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
TEAM = "T0TEAM0001"
BOT_USER = "U0BOT00001"
EXPERTS = "C0EKSPERT1"  # the expert channel of the escalation tests
WORKSPACE = "https://eksempelby.slack.com"
rasa = pytest.mark.rasa


# -- rendering (no Rasa) ---------------------------------------------------------------------------------
def sections(rendered: dict) -> list[str]:
    return [b["text"]["text"] for b in rendered["blocks"] if b["type"] == "section"]


def blocks_of(rendered: dict, kind: str) -> list[dict]:
    return [b for b in rendered["blocks"] if b["type"] == kind]


def test_user_text_echoed_by_the_bot_cannot_ping_or_link():
    rendered = render_message({"text": "Jeg kender ikke «<!channel> & <https://ondt.example|klik her>»."})
    assert sections(rendered) == [
        "Jeg kender ikke «&lt;!channel&gt; &amp; &lt;https://ondt.example|klik her&gt;»."
    ]
    assert "<!channel>" not in rendered["text"]


def test_bold_and_links_become_mrkdwn():
    assert (
        to_mrkdwn("Søg **skriftligt** hos [DUKH](https://dukh.dk/?a=1&b=2) – 2 < 3")
        == "Søg *skriftligt* hos <https://dukh.dk/?a=1&amp;b=2|DUKH> – 2 &lt; 3"
    )


def test_long_text_is_split_within_the_section_limit_without_losing_or_breaking_anything():
    paragraph = " ".join(f"ord{i} & [kilde](https://eksempel.dk/{i})" for i in range(300))  # ~11 000 chars
    text = "Første afsnit.\n\n" + paragraph + "\n\nSidste afsnit."
    rendered = render_message({"text": text})
    parts = sections(rendered)
    assert len(parts) >= 4 and all(len(p) <= SECTION_LIMIT for p in parts)
    assert " ".join(parts).split() == to_mrkdwn(text).split()  # every word kept, in order
    for part in parts:  # no link or &entity; cut in two
        assert part.count("<") == part.count(">") and part.count("&") == part.count(";")


def test_a_single_overlong_word_is_cut_hard():
    assert [len(p) for p in split_sections("x" * 7000)] == [3000, 3000, 1000]


@pytest.mark.parametrize(
    "kind, noticed",
    [
        ("organisations", True),
        ("out_of_scope", True),
        ("handoff", True),
        ("clarify", True),
        ("smalltalk", False),
    ],
)
def test_every_informing_reply_says_it_comes_from_an_automated_assistant(kind, noticed):
    """Slack has no welcome message: the first reply a caseworker reads may be any of these."""
    rendered = render_message({"text": "Her er et svar.", "custom": {"kind": kind}})
    notices = [
        b for b in blocks_of(rendered, "context") if "automatisk assistent" in b["elements"][0]["text"]
    ]
    assert bool(notices) is noticed
    if noticed:
        assert "ikke et menneske" in notices[0]["elements"][0]["text"]


def test_real_answer_sources_become_one_linked_context_block(kb):
    message = answer_message(kb, "aflastning", "foraelder")
    rendered = render_message(
        {"text": message["text"], "buttons": message["buttons"], "custom": message["json_message"]}
    )
    body = "\n".join(sections(rendered))
    first_line = kb.topic("aflastning", "foraelder")["text"].splitlines()[0][:40]
    assert first_line in body and "Kilde:" not in body  # the source line is not shown twice
    [context, notice] = blocks_of(rendered, "context")
    source = context["elements"][0]["text"]
    first = kb.sources("aflastning")[0]
    assert source.startswith(f"Kilde: <{first['url']}|{first['ref']}")
    assert notice["elements"][0]["text"].startswith("Svar fra en automatisk assistent")  # AI Act transparency
    assert "Kilde:" in rendered["text"]  # the notification text keeps the source
    organisations = "\n".join(sections(rendered)[-1:])
    assert organisations.startswith("• <") and "DUKH" in organisations
    [actions] = blocks_of(rendered, "actions")
    values = [e["value"] for e in actions["elements"]]
    assert values[-2:] == ["/find_organisation", "/request_human"]
    assert rendered["blocks"][-1] is actions and "kind" not in json.dumps(rendered)


def test_organisations_already_named_in_the_text_are_not_listed_again():
    custom = {
        "kind": "organisations",
        "organisations": [
            {"id": "viso", "name": "VISO", "url": "https://viso.dk"},
            {"id": "dukh", "name": "DUKH", "phone": "33 11 10 44"},
        ],
    }
    rendered = render_message({"text": "• VISO: rådgivning", "custom": custom})
    assert sections(rendered) == ["• VISO: rådgivning", "• DUKH · 33 11 10 44"]


def test_buttons_carry_the_rasa_payload_and_links_open_pages():
    rendered = render_message(
        {
            "text": "Var svaret til hjælp?",
            "buttons": [
                {"title": "👍", "payload": "/feedback_positive"},
                {"title": "Et meget langt knapnavn " * 5, "payload": "/request_human"},
                {"title": "VISO", "url": "https://viso.dk", "type": "web_url"},
            ],
        }
    )
    first, long, link = blocks_of(rendered, "actions")[0]["elements"]
    assert first["value"] == "/feedback_positive" and first["text"]["text"] == "👍"
    assert len(long["text"]["text"]) == 75 and long["value"] == "/request_human"
    assert link["url"] == "https://viso.dk" and "value" not in link
    assert len({first["action_id"], long["action_id"], link["action_id"]}) == 3


def test_a_payload_alone_posts_nothing():
    assert render_message({"custom": {"kind": "smalltalk"}}) is None


def test_slack_markup_in_the_users_text_is_read_as_plain_text():
    raw = (
        f"<@{BOT_USER}> mor &amp; far vil klage &lt;3 – skriv til <mailto:anna@eksempel.dk|anna@eksempel.dk> "
        "eller se <https://dukh.dk|dukh.dk> og <https://www.sbst.dk>"
    )
    assert (
        user_text(raw, [BOT_USER])
        == "mor & far vil klage <3 – skriv til anna@eksempel.dk eller se dukh.dk og https://www.sbst.dk"
    )


def test_recent_events_forget_the_oldest():
    recent = RecentEvents(size=2)
    assert [recent.first_time(e) for e in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]


# -- a fake Slack Web API ----------------------------------------------------------------------------------
class FakeSlackWebAPI:
    """chat.postMessage and chat.getPermalink as Slack answers them (token checked), every post recorded; on
    loopback, own thread. `failing[channel]` makes posts to that channel fail: "500" (an HTTP error) or a
    Slack error code such as "not_in_channel" (`ok: false`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts: list[dict] = []
        self.failing: dict[str, str] = {}
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def _post_message(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await request.json()
        failure = self.failing.get(body.get("channel"))
        if failure == "500":
            return web.Response(status=500, text="Internal Server Error")
        if failure:
            return web.json_response({"ok": False, "error": failure})
        ts = f"1700000000.{next(self._ts):06d}"
        with self._changed:
            self.posts.append({"ts": ts, **body})
            self._changed.notify_all()
        return web.json_response(
            {
                "ok": True,
                "channel": body["channel"],
                "ts": ts,
                "message": {
                    "type": "message",
                    "bot_id": "B0BOT00001",
                    "user": BOT_USER,
                    "text": body.get("text"),
                    "ts": ts,
                },
            }
        )

    async def _get_permalink(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        channel, ts = request.query.get("channel"), request.query.get("message_ts")
        if not channel or not ts:
            return web.json_response({"ok": False, "error": "invalid_arguments"})
        return web.json_response({"ok": True, "channel": channel, "permalink": permalink(channel, ts)})

    def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_get("/api/chat.getPermalink", self._get_permalink)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())
        self._loop.close()

    def start(self) -> "FakeSlackWebAPI":
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def in_channel(self, channel: str) -> list[dict]:
        with self._changed:
            return [p for p in self.posts if p["channel"] == channel]

    def in_thread(self, channel: str, thread_ts: str) -> list[dict]:
        with self._changed:
            return [p for p in self.posts if p["channel"] == channel and p.get("thread_ts") == thread_ts]

    def wait_for(self, channel: str, thread_ts: str, needle: str, timeout: float = 60) -> list[dict]:
        """The posts in a thread, once one of them contains `needle`."""

        def found():
            return any(
                needle in json.dumps(p, ensure_ascii=False) for p in self.in_thread(channel, thread_ts)
            )

        with self._changed:
            assert self._changed.wait_for(found, timeout), f"no reply with {needle!r}: {self.posts[-3:]}"
        return self.in_thread(channel, thread_ts)


def permalink(channel: str, ts: str) -> str:
    """Slack's permalink format: the workspace, the channel and the message's ts without its dot."""
    return f"{WORKSPACE}/archives/{channel}/p{ts.replace('.', '')}"


@pytest.fixture(scope="module")
def slack_api():
    fake = FakeSlackWebAPI().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def slack_stack(trained_model, kb_url, slack_api, tmp_path_factory):
    with running_stack(
        tmp_path_factory.mktemp("slack"),
        kb_url,
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack_api.url,
            "SLACK_ESCALATION_CHANNEL": EXPERTS,
            "SLACK_ESCALATION_CHANNEL_NAME": "#faglig-sparring",
            "ESCALATION_ANSWER_TIME": "Teamet svarer samme dag.",
        },
    ) as stack:
        yield stack


# -- Slack's requests --------------------------------------------------------------------------------------
def new_ts() -> str:
    return f"{time.time():.6f}"


def event_callback(event: dict) -> dict:
    """An Events API delivery as Slack sends it."""
    return {
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "team_id": TEAM,
        "api_app_id": "A0APP00001",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMFRFQU0wMDAxIn0",
    }


def rich_text(text: str) -> list[dict]:
    return [
        {
            "type": "rich_text",
            "block_id": "eXhe",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


def app_mention(user: str, channel: str, text: str) -> dict:
    ts = new_ts()
    return event_callback(
        {
            "client_msg_id": str(uuid.uuid4()),
            "type": "app_mention",
            "text": f"<@{BOT_USER}> {text}",
            "user": user,
            "ts": ts,
            "blocks": rich_text(text),
            "team": TEAM,
            "channel": channel,
            "event_ts": ts,
        }
    )


def direct_message(user: str, channel: str, text: str, **extra) -> dict:
    ts = new_ts()
    return event_callback(
        {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": text,
            "user": user,
            "ts": ts,
            "blocks": rich_text(text),
            "team": TEAM,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im",
            **extra,
        }
    )


def block_actions(user: str, channel: str, post: dict, button: dict) -> dict:
    """An Interactivity request for a click on `button` in the bot's message `post`."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "anna", "name": "anna", "team_id": TEAM},
        "api_app_id": "A0APP00001",
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "container": {
            "type": "message",
            "message_ts": post["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
            "thread_ts": post["thread_ts"],
        },
        "trigger_id": "1234567890.123456789.abcdef",
        "team": {"id": TEAM, "domain": "eksempelby"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": {
            "bot_id": "B0BOT00001",
            "type": "message",
            "text": post["text"],
            "user": BOT_USER,
            "ts": post["ts"],
            "app_id": "A0APP00001",
            "blocks": post["blocks"],
            "team": TEAM,
            "thread_ts": post["thread_ts"],
            "parent_user_id": user,
        },
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0TEAM0001/1/abc",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "xYz1",
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": new_ts(),
            }
        ],
    }


def send(
    stack,
    body: bytes,
    *,
    content_type: str = "application/json",
    timestamp: int | None = None,
    secret: str = SECRET,
    headers: dict | None = None,
) -> tuple[int, dict, dict | str]:
    """POST to the Slack webhook, signed as Slack signs (slack_sdk's own signature code)."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/slack/webhook",
        data=body,
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, reply_headers, raw = response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, error.headers, error.read().decode()
    reply_headers = {name.lower(): value for name, value in reply_headers.items()}
    try:
        return status, reply_headers, json.loads(raw)
    except ValueError:
        return status, reply_headers, raw


def health(stack) -> dict:
    with urllib.request.urlopen(f"{stack.rasa_url}/webhooks/slack/", timeout=30) as response:
        return json.loads(response.read())


def send_event(stack, delivery: dict, **kwargs):
    return send(stack, json.dumps(delivery).encode(), **kwargs)


def send_click(stack, payload: dict):
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return send(stack, body, content_type="application/x-www-form-urlencoded")


def answers_in(posts: list[dict]) -> list[dict]:
    return [p for p in posts if any(b["type"] == "context" for b in p.get("blocks", []))]


def feedback_post(posts: list[dict]) -> dict:
    return next(p for p in posts if "Var svaret til hjælp" in p["text"])


# -- against the running server ----------------------------------------------------------------------------
@rasa
def test_url_verification_echoes_the_challenge(slack_stack):
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    status, _, body = send_event(
        slack_stack, {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"}
    )
    assert (status, body) == (200, {"challenge": challenge})
    assert health(slack_stack) == {"status": "ok"}


@rasa
def test_a_mention_gets_one_threaded_answer_with_source_and_buttons(slack_stack, slack_api):
    delivery = app_mention("U0ANNA0001", "C0FAMILIE1", "hvad er aflastning?")
    status, _, _ = send_event(slack_stack, delivery)
    assert status == 200
    ts = delivery["event"]["ts"]
    posts = slack_api.wait_for("C0FAMILIE1", ts, "Var svaret til hjælp")
    [answer] = answers_in(posts)
    assert answer["thread_ts"] == ts and answer["channel"] == "C0FAMILIE1"
    assert set(answer) <= {"ts", "channel", "thread_ts", "text", "blocks", "unfurl_links", "unfurl_media"}
    body = " ".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    assert "aflastning" in body.lower() and "Kilde" not in body
    [context, notice] = [b for b in answer["blocks"] if b["type"] == "context"]
    assert context["elements"][0]["text"].startswith("Kilde: <https://")
    assert notice["elements"][0]["text"].startswith("Svar fra en automatisk assistent")
    [actions] = [b for b in answer["blocks"] if b["type"] == "actions"]
    assert [e["value"] for e in actions["elements"]][-2:] == ["/find_organisation", "/request_human"]
    assert all(e["type"] == "button" for e in actions["elements"])
    # the payload is rendered, never posted on its own
    assert not any("kind" in p or '"answer"' in p["text"] for p in posts)


@rasa
def test_a_button_click_is_answered_as_its_payload_in_the_same_thread(slack_stack, slack_api):
    delivery = direct_message("U0BENT0001", "D0BENT0001", "hvad er aflastning")
    assert send_event(slack_stack, delivery)[0] == 200
    ts = delivery["event"]["ts"]
    feedback = feedback_post(slack_api.wait_for("D0BENT0001", ts, "Var svaret til hjælp"))
    thumbs_up = feedback["blocks"][-1]["elements"][0]
    assert thumbs_up["value"] == "/feedback_positive"
    status, _, _ = send_click(slack_stack, block_actions("U0BENT0001", "D0BENT0001", feedback, thumbs_up))
    assert status == 200
    posts = slack_api.wait_for("D0BENT0001", ts, "Godt at høre")
    assert sum("Godt at høre" in p["text"] for p in posts) == 1


@rasa
def test_a_retried_event_is_answered_once(slack_stack, slack_api):
    delivery = app_mention("U0CARL0001", "C0FAMILIE1", "hvad er aflastning")
    ts = delivery["event"]["ts"]
    assert send_event(slack_stack, delivery)[0] == 200
    status, headers, _ = send_event(
        slack_stack, delivery, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    )
    assert status == 200 and headers.get("x-slack-no-retry") == "1"
    slack_api.wait_for("C0FAMILIE1", ts, "Var svaret til hjælp")
    # a later message in the same conversation is handled after anything queued before it
    later = app_mention("U0CARL0001", "C0FAMILIE1", "tak")
    assert send_event(slack_stack, later)[0] == 200
    slack_api.wait_for("C0FAMILIE1", later["event"]["ts"], "Selv tak")
    assert len(answers_in(slack_api.in_thread("C0FAMILIE1", ts))) == 1


@rasa
def test_edits_and_the_bots_own_messages_are_not_answered(slack_stack, slack_api):
    original = new_ts()
    edited = event_callback(
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": "D0DORA0001",
            "ts": new_ts(),
            "event_ts": new_ts(),
            "channel_type": "im",
            "message": {
                "type": "message",
                "user": "U0DORA0001",
                "text": "hvad er aflastning",
                "ts": original,
                "edited": {"user": "U0DORA0001", "ts": new_ts()},
            },
            "previous_message": {
                "type": "message",
                "user": "U0DORA0001",
                "text": "hvad er afl",
                "ts": original,
            },
        }
    )
    own = direct_message(BOT_USER, "D0DORA0001", "Var svaret til hjælp?", bot_id="B0BOT00001")
    for delivery in (edited, own):
        assert send_event(slack_stack, delivery)[0] == 200
    question = direct_message("U0DORA0001", "D0DORA0001", "tak")
    assert send_event(slack_stack, question)[0] == 200
    slack_api.wait_for("D0DORA0001", question["event"]["ts"], "Selv tak")
    assert slack_api.in_thread("D0DORA0001", edited["event"]["ts"]) == []
    assert slack_api.in_thread("D0DORA0001", own["event"]["ts"]) == []


@rasa
def test_a_wrong_signature_is_refused(slack_stack):
    status, _, body = send_event(
        slack_stack, app_mention("U0EVIL0001", "C0FAMILIE1", "hej"), secret="forkert"
    )
    assert status == 401 and body["error"] == "bad_signature"
    status, _, body = send(slack_stack, b"{}", headers={"X-Slack-Signature": ""})
    assert status == 401 and body["error"] == "unsigned"
    status, _, body = send(slack_stack, b"{}", headers={"X-Slack-Request-Timestamp": "1" * 5000})
    assert status == 401 and body["error"] == "unsigned"


@rasa
def test_a_request_older_than_five_minutes_is_refused(slack_stack):
    delivery = app_mention("U0EVIL0001", "C0FAMILIE1", "hej")
    status, _, body = send_event(slack_stack, delivery, timestamp=int(time.time()) - 6 * 60)
    assert status == 401 and body["error"] == "stale_request" and "5 minutter" in body["reason"]


@rasa
def test_bad_json_is_a_400_with_a_reason(slack_stack):
    status, _, body = send(slack_stack, b'{"type": "event_callback", ')
    assert status == 400 and body["error"] == "invalid_json" and body["reason"]
    status, _, body = send(
        slack_stack, b"payload=%7Bikke-json", content_type="application/x-www-form-urlencoded"
    )
    assert status == 400 and body["error"] == "invalid_payload"


QUESTION = "hvad er tabt arbejdsfortjeneste? far har CPR 120385-1234 og tlf. 22 33 44 55"


@rasa
def test_asking_for_a_person_posts_the_question_to_the_expert_channel(slack_stack, slack_api, kb):
    """A caseworker asks in a channel, then clicks "Tal med en medarbejder": the question goes to the expert
    channel without CPR and phone number, with the topic and a link to the thread;
    the caseworker reads where."""
    delivery = app_mention("U0SARA0001", "C0SAGER001", QUESTION)
    assert send_event(slack_stack, delivery)[0] == 200
    ts = delivery["event"]["ts"]
    [answer] = answers_in(slack_api.wait_for("C0SAGER001", ts, "Var svaret til hjælp"))
    [talk] = [e for e in answer["blocks"][-1]["elements"] if e.get("value") == "/request_human"]
    assert send_click(slack_stack, block_actions("U0SARA0001", "C0SAGER001", answer, talk))[0] == 200

    posts = slack_api.wait_for("C0SAGER001", ts, "videre til dine kolleger")
    [escalation] = slack_api.in_channel(EXPERTS)
    posted = json.dumps(escalation, ensure_ascii=False)
    assert "120385-1234" not in posted and "22 33 44 55" not in posted
    assert "hvad er tabt arbejdsfortjeneste? far har CPR [CPR-nummer fjernet]" in posted
    assert "*Emne:* Tabt arbejdsfortjeneste" in posted and "<@U0SARA0001>" in posted
    assert f"<{permalink('C0SAGER001', ts)}|Åbn samtalen>" in posted
    assert "thread_ts" not in escalation  # a new message in the expert channel, not a reply somewhere

    [reply] = [p for p in posts if "videre til dine kolleger" in p["text"]]
    assert reply["text"].startswith(
        "Jeg har sendt dit spørgsmål videre til dine kolleger i "
        f"<{permalink(EXPERTS, escalation['ts'])}|#faglig-sparring>. "
        "Teamet svarer samme dag."
    )
    assert (
        kb.deployment()["contact"]["phone"] not in reply["text"]
    )  # a colleague answers, not the citizen line
    assert "Der er ikke sendt noget" not in reply["text"]


@rasa
def test_without_slack_configured_the_webhook_says_why(assistant):
    """The default stack has no Slack variables: Rasa runs, and the webhook answers 503 with the reason."""
    status, _, body = send_event(assistant, app_mention("U0ANNA0001", "C0FAMILIE1", "hej"))
    assert status == 503 and body["error"] == "slack_not_configured"
    assert "SLACK_SIGNING_SECRET" in body["reason"]
    assert health(assistant) == {"status": "not configured"}


# -- escalation through the channel's own client, against the fake (no Rasa) ---------------------------------
def handoff_reply(kb, question: str) -> dict:
    """The handoff action's reply in Slack, as Rasa hands it to the output channel."""
    message = handoff_message(kb, escalation={"question": question, "topic": "klage", "topic_title": "Klage"})
    return {"text": message["text"], "buttons": message["buttons"], "custom": message["json_message"]}


async def test_an_escalation_from_a_direct_message_is_redacted_escaped_and_names_the_asker(slack_api, kb):
    ts = new_ts()
    bot = ForlobSlackBot(
        TOKEN,
        "D0SARA0003",
        ts,
        api_url=slack_api.url,
        escalation=EscalationSettings(slack_channel="C0EKSPERT3"),
    )
    typed = (
        "<!channel> far har CPR 1203851234, ring +45 22334455 eller skriv til far@eksempel.dk. "
        "Min datter Ida Holm bor hos sin mor på Nørregade 4B, 8000 Aarhus C"
    )
    await bot.send_response("U0SARA0003", handoff_reply(kb, typed))

    [post] = slack_api.in_channel("C0EKSPERT3")
    posted = json.dumps(post, ensure_ascii=False)
    for personal in ("1203851234", "22334455", "far@eksempel.dk", "Ida", "Holm", "Nørregade", "8000"):
        assert personal not in posted
    assert "<!channel>" not in posted and "&lt;!channel&gt; far har CPR [CPR-nummer fjernet]" in posted
    assert "Min datter [navn fjernet] bor hos sin mor på [adresse fjernet]" in posted
    assert "*Emne:* Klage" in posted
    # colleagues cannot open someone's direct messages: no link, but who to write to
    assert "/archives/D0SARA0003" not in posted and "som kun <@U0SARA0003> kan se" in posted

    [reply] = slack_api.in_thread("D0SARA0003", ts)
    assert reply["text"].startswith(
        "Jeg har sendt dit spørgsmål videre til dine kolleger i "
        f"<{permalink('C0EKSPERT3', post['ts'])}|ekspertkanalen>. "
        "En kollega svarer normalt inden for arbejdsdagen."
    )


FAILED = "Jeg kunne desværre ikke sende dit spørgsmål videre til en kollega lige nu. Der er ikke sendt noget."


@pytest.mark.parametrize(
    "experts, failure, notice",
    [
        (
            "C0EKSPERT4",
            None,
            "der er ikke sat en ekspertkanal op. Der er ikke sendt noget.",
        ),  # not configured
        ("C0EKSPERT5", "500", FAILED),  # Slack answers with an HTTP error
        ("C0EKSPERT6", "not_in_channel", FAILED),  # ok: false (the bot was not invited to the channel)
    ],
)
async def test_when_nothing_reached_a_colleague_the_caseworker_is_told_and_gets_the_contact(
    slack_api, kb, experts, failure, notice
):
    ts = new_ts()
    settings = EscalationSettings(slack_channel=experts) if failure else EscalationSettings()
    if failure:
        slack_api.failing[experts] = failure
    bot = ForlobSlackBot(TOKEN, "C0SAGER002", ts, api_url=slack_api.url, escalation=settings)
    await bot.send_response("U0SARA0002", handoff_reply(kb, "kan vi klage over afslaget?"))

    assert slack_api.in_channel(experts) == []
    [reply] = slack_api.in_thread("C0SAGER002", ts)
    assert notice in reply["text"]
    contact = kb.deployment()["contact"]
    assert f"Telefon: {contact['phone']}" in reply["text"] and "videre til dine kolleger" not in reply["text"]

"""The Microsoft Teams channel end to end: a running Rasa server and action server, with Microsoft's side
(the tenant's login endpoint, Bot Framework's OpenID metadata and signing keys, the Bot Connector service)
faked on loopback with their real payload formats;
plus the card rendering and the token cache on their own."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time

import aiohttp
import jwt
import pytest
import requests
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from actions.handoff import handoff_message
from bot.server.channels.teams import TeamsOutput, message_text
from bot.server.channels.teams_auth import MicrosoftUnavailable, TokenProvider
from bot.server.channels.teams_cards import ADAPTIVE_CARD, render
from core.config import EscalationSettings
from core.replies import payload
from core.replies import text as bot_text
from tests.conftest import running_stack

APP_ID = "6f1c0a52-4d0e-4b7b-9a1e-0c1d2e3f4a5b"
APP_PASSWORD = "test-client-secret"
TENANT_ID = "3c2b1a09-8f7e-4d6c-b5a4-93827161504f"
ISSUER = "https://api.botframework.com"
UNIT_TENANT = "unit-test-tenant"  # the token-cache tests log in here, apart from the running bot
ACTIVITY_IDS = itertools.count(1700000000001)
EXPERTS = "19:ekspert0000@thread.tacv2"  # the expert channel of the escalation tests
REFUSED = "19:lukket0000@thread.tacv2"  # a conversation the fake connector refuses (500)
# the fake incoming webhook at /webhook/<name>: (status, body) as Microsoft's services answer, and whether the
# card reached the channel
WEBHOOK_ANSWERS = {
    "connector": (200, "1", True),  # an Office 365 connector: the number of messages delivered
    "workflow": (202, "", True),  # a Workflows "when a Teams webhook request is received" URL
    "delivery-failed": (
        200,
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned "
        "HTTP error 400 with ContextId tcid=0,server=msgapi-production-weu,cv=abc.0..",
        False,
    ),
    "down": (500, "Internal Server Error", False),
}


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeMicrosoft:
    """Microsoft's servers on loopback, in a thread of their own; records what the bot asks of them."""

    def __init__(self) -> None:
        self.signing_keys = {"key-a": new_key()}
        self.endorsements = ["msteams", "webchat"]
        self.logins: list[dict] = []
        self.jwks_fetches = 0
        self.posts: list[dict] = []
        self.webhook_posts: list[dict] = []  # cards that reached the channel through the webhook
        self.loop = asyncio.new_event_loop()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.url}/connector/"  # Teams' service URLs end with a slash, e.g. …/emea/

    # -- the endpoints
    async def login(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        if form.get("client_secret") != APP_PASSWORD:
            return web.json_response(
                {"error": "invalid_client", "error_description": "AADSTS7000215"}, status=401
            )
        token = f"access-token-{len(self.logins) + 1}"
        self.logins.append({"tenant": request.match_info["tenant"], "form": form, "token": token})
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}
        )

    def bot_logins(self) -> list[dict]:
        return [login for login in self.logins if login["tenant"] == TENANT_ID]

    async def metadata(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{self.url}/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def keys(self, _request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        keys = [
            {
                **RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
                "kid": kid,
                "use": "sig",
                "endorsements": self.endorsements,
            }
            for kid, key in self.signing_keys.items()
        ]
        return web.json_response({"keys": keys})

    async def connector(self, request: web.Request) -> web.Response:
        if request.match_info["conversation"] == REFUSED:
            return web.json_response({"error": {"code": "ServiceError", "message": "Unknown"}}, status=500)
        self.posts.append(
            {
                "conversation": request.match_info["conversation"],
                "reply_to": request.match_info.get("activity"),
                "authorization": request.headers.get("Authorization"),
                "activity": await request.json(),
            }
        )
        return web.json_response({"id": f"reply-{len(self.posts)}"}, status=201)

    async def webhook(self, request: web.Request) -> web.Response:
        status, body, delivered = WEBHOOK_ANSWERS[request.match_info["name"]]
        if delivered:
            self.webhook_posts.append({"name": request.match_info["name"], "message": await request.json()})
        return web.Response(status=status, text=body)

    # -- running it
    def start(self) -> "FakeMicrosoft":
        app = web.Application()
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.login)
        app.router.add_get("/openid", self.metadata)
        app.router.add_get("/keys", self.keys)
        app.router.add_post(
            "/connector/v3/conversations/{conversation}/activities/{activity}", self.connector
        )
        app.router.add_post("/connector/v3/conversations/{conversation}/activities", self.connector)
        app.router.add_post("/webhook/{name}", self.webhook)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.runner = runner
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    # -- what Bot Framework sends
    def token(self, kid: str = "key-a", key: rsa.RSAPrivateKey | None = None, **claims) -> str:
        now = int(time.time())
        body = {
            "serviceurl": self.service_url,
            "nbf": now - 5,
            "exp": now + 3600,
            "iss": ISSUER,
            "aud": APP_ID,
            **claims,
        }
        return jwt.encode(body, key or self.signing_keys[kid], algorithm="RS256", headers={"kid": kid})

    def replies_to(self, conversation: str) -> list[dict]:
        return [post for post in self.posts if post["conversation"] == conversation]


def activity(
    text: str = "hvad er aflastning", *, user: str, conversation: str | None = None, service_url: str, **extra
) -> dict:
    """A Teams message activity as Bot Framework delivers it to the messaging endpoint."""
    return {
        "type": "message",
        "id": str(next(ACTIVITY_IDS)),
        "timestamp": "2026-11-22T09:00:00Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user, "name": "Anna", "aadObjectId": "0a1b2c3d-0000-4000-8000-00000000000a"},
        "conversation": {
            "conversationType": "personal",
            "tenantId": TENANT_ID,
            "id": conversation or f"a:1{user}-personal",
        },
        "recipient": {"id": f"28:{APP_ID}", "name": "Forløbsguiden"},
        "textFormat": "plain",
        "locale": "da-DK",
        "text": text,
        "channelData": {"tenant": {"id": TENANT_ID}},
        **extra,
    }


def card_of(post: dict) -> dict:
    attachments = post["activity"].get("attachments") or []
    assert attachments and attachments[0]["contentType"] == ADAPTIVE_CARD, post["activity"]
    return attachments[0]["content"]


def card_text(card: dict) -> str:
    return "\n".join(block["text"] for block in card["body"] if block["type"] == "TextBlock")


def shown(post: dict) -> str:
    """What the user reads in a posted reply: a card's text blocks, or the Markdown text."""
    return card_text(card_of(post)) if post["activity"].get("attachments") else post["activity"]["text"]


def facts(card: dict) -> dict[str, str]:
    return {
        f["title"]: f["value"] for block in card["body"] if block["type"] == "FactSet" for f in block["facts"]
    }


def click_values(card: dict) -> list[dict]:
    return [
        json.loads(action["data"]["msteams"]["value"])
        for action in card["actions"]
        if action["type"] == "Action.Submit"
    ]


# -- fixtures ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def microsoft():
    fake = FakeMicrosoft().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def teams(trained_model, kb_url, microsoft, tmp_path_factory):
    """Action server + Rasa server whose Teams channel talks to the fakes above."""
    with running_stack(
        tmp_path_factory.mktemp("teams"),
        kb_url,
        {
            "TEAMS_APP_ID": APP_ID,
            "TEAMS_APP_PASSWORD": APP_PASSWORD,
            "TEAMS_TENANT_ID": TENANT_ID,
            "TEAMS_OPENID_METADATA_URL": f"{microsoft.url}/openid",
            "TEAMS_TOKEN_URL": f"{microsoft.url}/{{tenant}}/oauth2/v2.0/token",
            "TEAMS_ESCALATION_CONVERSATION": EXPERTS,
            "TEAMS_ESCALATION_CHANNEL_NAME": "Faglig sparring",
        },
    ) as stack:
        stack.webhook = f"{stack.rasa_url}/webhooks/teams/webhook"
        yield stack


def post(teams, body, token: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(teams.webhook, data=data, headers=headers, timeout=60)


# -- end to end ---------------------------------------------------------------------------------------------
def test_a_question_gets_a_card_with_answer_source_and_buttons(teams, microsoft, kb):
    conversation = "19:3f2e1d0c@thread.tacv2;messageid=1700000000001"  # a channel thread: needs quoting
    message = activity(
        user="29:1anna",
        conversation=conversation,
        service_url=microsoft.service_url,
        text="<at>Forløbsguiden</at> hvad er aflastning",
    )
    reply = post(teams, message, microsoft.token())
    assert reply.status_code == 200, reply.text

    posts = microsoft.replies_to(conversation)
    assert len(posts) >= 2  # the answer, then "Var svaret til hjælp?"
    assert all(p["reply_to"] == message["id"] for p in posts)
    login = microsoft.bot_logins()[0]
    assert all(p["authorization"] == f"Bearer {login['token']}" for p in posts)
    assert login["form"] == {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_PASSWORD,
        "scope": "https://api.botframework.com/.default",
    }
    answer = posts[0]["activity"]
    assert answer["type"] == "message" and answer["replyToId"] == message["id"]
    assert answer["recipient"]["id"] == "29:1anna" and answer["from"]["id"] == f"28:{APP_ID}"

    card = card_of(posts[0])
    shown = card_text(card)
    topic = kb.topic("aflastning")
    assert topic["text"].strip().splitlines()[0].strip() in shown
    source = kb.sources("aflastning")[0]
    assert f"Kilde: [{source['ref']}" in shown and f"]({source['url']})" in shown
    assert shown.count("Kilde:") == 1
    payloads = [value["payload"] for value in click_values(card)]
    assert "/find_organisation" in payloads and "/request_human" in payloads
    submits = [a for a in card["actions"] if a["type"] == "Action.Submit"]
    assert all(a["data"]["msteams"]["type"] == "messageBack" for a in submits)
    organisations = [
        fact["title"] for block in card["body"] if block["type"] == "FactSet" for fact in block["facts"]
    ]
    assert organisations == [org["name"] for org in kb.organisations_for_topic("aflastning")]

    feedback = card_of(posts[1])
    assert [v["payload"] for v in click_values(feedback)] == ["/feedback_positive", "/feedback_negative"]
    assert '"kind"' not in json.dumps([p["activity"] for p in posts])  # the payload is never posted raw


def test_one_token_serves_many_replies(teams, microsoft):
    for text in ("hvad er aflastning", "hvordan klager jeg over en afgørelse"):
        message = activity(
            text, user="29:1bo", conversation="a:1bo-personal", service_url=microsoft.service_url
        )
        assert post(teams, message, microsoft.token()).status_code == 200
    posts = microsoft.replies_to("a:1bo-personal")
    assert len(posts) >= 4
    logins = microsoft.bot_logins()
    assert len(logins) == 1
    assert {p["authorization"] for p in posts} == {f"Bearer {logins[0]['token']}"}


def test_a_button_click_is_routed_as_its_payload(teams, microsoft, kb):
    conversation = "a:1carl-personal"
    first = activity(
        "hvad er aflastning", user="29:1carl", conversation=conversation, service_url=microsoft.service_url
    )
    assert post(teams, first, microsoft.token()).status_code == 200
    card = card_of(microsoft.replies_to(conversation)[0])
    button = next(
        a
        for a in card["actions"]
        if a["type"] == "Action.Submit"
        and json.loads(a["data"]["msteams"]["value"])["payload"].startswith('/ask_question{"topic_id"')
    )
    back = button["data"]["msteams"]
    topic_id = json.loads(json.loads(back["value"])["payload"][len("/ask_question") :])["topic_id"]

    # what Teams sends on a messageBack click: the text field, and the value as an object
    click = activity(
        back["text"],
        user="29:1carl",
        conversation=conversation,
        service_url=microsoft.service_url,
        value=json.loads(back["value"]),
        id="1700000000999",
    )
    assert post(teams, click, microsoft.token()).status_code == 200
    reply = card_of(next(p for p in microsoft.replies_to(conversation) if p["reply_to"] == "1700000000999"))
    assert kb.topic(topic_id)["text"].strip().splitlines()[0].strip() in card_text(reply)

    # the value wins over whatever text comes with it
    forced = activity(
        "hej",
        user="29:1carl",
        conversation=conversation,
        service_url=microsoft.service_url,
        value={"payload": '/ask_question{"topic_id": "klage"}'},
        id="1700000001000",
    )
    assert post(teams, forced, microsoft.token()).status_code == 200
    reply = card_of(next(p for p in microsoft.replies_to(conversation) if p["reply_to"] == "1700000001000"))
    assert kb.topic("klage")["text"].strip().splitlines()[0].strip() in card_text(reply)


def test_adding_the_bot_posts_the_welcome(teams, microsoft, domain):
    conversation = "a:1dorte-personal"
    update = {
        "type": "conversationUpdate",
        "id": "f:1700000000555",
        "serviceUrl": microsoft.service_url,
        "channelId": "msteams",
        "from": {"id": "29:1dorte"},
        "recipient": {"id": f"28:{APP_ID}"},
        "conversation": {"conversationType": "personal", "tenantId": TENANT_ID, "id": conversation},
        "membersAdded": [{"id": f"28:{APP_ID}"}],
        "channelData": {"tenant": {"id": TENANT_ID}},
    }
    assert post(teams, update, microsoft.token()).status_code == 200
    posts = microsoft.replies_to(conversation)
    welcome = domain["responses"]["utter_greet"][0]["text"].split("\n\n")[0]
    assert len(posts) == 1 and posts[0]["activity"]["text"].startswith(welcome)
    assert posts[0]["activity"]["textFormat"] == "markdown"

    removed = {**update, "id": "f:1700000000556", "membersAdded": [], "membersRemoved": [{"id": "29:1erik"}]}
    assert post(teams, removed, microsoft.token()).json()["status"] == "ignored"
    assert len(microsoft.replies_to(conversation)) == 1

    # someone joins a team the bot is in: welcomed in the team's channel
    channel = "19:general0000@thread.tacv2"
    joined = {
        **update,
        "id": "f:1700000000557",
        "membersAdded": [{"id": "29:1frank"}],
        "conversation": {"conversationType": "channel", "tenantId": TENANT_ID, "id": channel},
        "channelData": {"eventType": "teamMemberAdded", "team": {"id": channel}, "tenant": {"id": TENANT_ID}},
    }
    assert post(teams, joined, microsoft.token()).status_code == 200
    assert [p["activity"]["text"].startswith(welcome) for p in microsoft.replies_to(channel)] == [True]


def test_a_picture_without_text_gets_a_clear_message(teams, microsoft):
    conversation = "a:1hanne-personal"
    picture = {
        "contentType": "image/*",
        "contentUrl": f"{microsoft.service_url}v3/attachments/0-weu-d1/views/original",
    }
    message = activity(
        "",
        user="29:1hanne",
        conversation=conversation,
        service_url=microsoft.service_url,
        attachments=[picture],
    )
    del message["text"]  # Teams sends no text with a bare picture
    first = activity("hej", user="29:1hanne", conversation=conversation, service_url=microsoft.service_url)
    assert (
        post(teams, first, microsoft.token()).status_code == 200
    )  # (a first empty message gets the greeting)
    assert post(teams, message, microsoft.token()).status_code == 200
    assert [p["activity"].get("text") for p in microsoft.replies_to(conversation)][-1] == bot_text(
        "empty_message"
    )


QUESTION = "hvad er tabt arbejdsfortjeneste? far har CPR 120385-1234 og tlf. 22 33 44 55"


def in_channel_thread(message: dict) -> dict:
    """`message` as Teams sends it from a team's channel: conversation type, team and its group id."""
    message["conversation"]["conversationType"] = "channel"
    message["channelData"].update(
        {
            "teamsChannelId": message["conversation"]["id"].split(";")[0],
            "team": {"id": "19:team0000@thread.tacv2", "aadGroupId": "5f3c2a10-0000-4000-8000-0000000000aa"},
        }
    )
    return message


def test_asking_for_a_person_posts_the_question_to_the_expert_channel(teams, microsoft, kb):
    """A caseworker asks in a team's channel, then clicks "Tal med en medarbejder": the question goes to the
    expert channel without CPR and phone number, with the topic and a deep link to the thread; the caseworker
    reads where it went."""
    conversation = "19:sager0000@thread.tacv2;messageid=1700000000100"
    question = in_channel_thread(
        activity(
            f"<at>Forløbsguiden</at> {QUESTION}",
            user="29:1sara",
            id="1700000000100",
            conversation=conversation,
            service_url=microsoft.service_url,
        )
    )
    assert post(teams, question, microsoft.token()).status_code == 200
    cards = [card_of(p) for p in microsoft.replies_to(conversation) if p["activity"].get("attachments")]
    [talk] = [
        a["data"]["msteams"]
        for card in cards
        for a in card["actions"]
        if a["type"] == "Action.Submit"
        and json.loads(a["data"]["msteams"]["value"]) == {"payload": "/request_human"}
    ]  # under the answer
    click = in_channel_thread(
        activity(
            talk["text"],
            user="29:1sara",
            conversation=conversation,
            id="1700000000101",
            service_url=microsoft.service_url,
            value=json.loads(talk["value"]),
        )
    )
    assert post(teams, click, microsoft.token()).status_code == 200

    [escalation] = microsoft.replies_to(EXPERTS)
    assert escalation["reply_to"] is None  # a new post in the expert channel
    assert escalation["authorization"] == f"Bearer {microsoft.bot_logins()[0]['token']}"
    card = card_of(escalation)
    posted = json.dumps(card, ensure_ascii=False)
    assert "120385-1234" not in posted and "22 33 44 55" not in posted
    assert facts(card)["Spørgsmål"].startswith(
        "hvad er tabt arbejdsfortjeneste? far har CPR [CPR-nummer fjernet]"
    )
    assert facts(card)["Emne"] == "Tabt arbejdsfortjeneste" and "fra Anna" in card_text(card)
    [link] = card["actions"]
    assert link == {
        "type": "Action.OpenUrl",
        "title": "Åbn samtalen",
        "url": "https://teams.microsoft.com/l/message/19%3Asager0000%40thread.tacv2/1700000000101"
        f"?tenantId={TENANT_ID}&parentMessageId=1700000000100"
        "&groupId=5f3c2a10-0000-4000-8000-0000000000aa",
    }

    [reply] = [p for p in microsoft.replies_to(conversation) if p["reply_to"] == "1700000000101"]
    assert shown(reply).startswith(
        "Jeg har sendt dit spørgsmål videre til dine kolleger i Faglig sparring. "
        "En kollega svarer normalt inden for arbejdsdagen."
    )
    assert kb.deployment()["contact"]["phone"] not in shown(reply)


@pytest.mark.parametrize(
    "case, claims, key",
    [
        ("bad signature", {}, "other"),
        ("expired", {"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200}, None),
        ("wrong audience", {"aud": "another-bot"}, None),
        ("wrong issuer", {"iss": "https://sts.windows.net/evil/"}, None),
        ("serviceUrl not the token's", {"serviceurl": "https://smba.trafficmanager.net/emea/"}, None),
    ],
)
def test_a_token_that_does_not_fit_is_refused(teams, microsoft, case, claims, key):
    before = len(microsoft.posts)
    token = microsoft.token(key=new_key() if key == "other" else None, **claims)
    reply = post(teams, activity(user="29:1eve", service_url=microsoft.service_url), token)
    assert reply.status_code == 401 and reply.json()["error"] == "unauthorized", case
    assert reply.json()["reason"]
    assert len(microsoft.posts) == before  # nothing was answered


def test_bad_requests_get_a_reason(teams, microsoft):
    message = activity(user="29:1frida", service_url=microsoft.service_url)
    missing = post(teams, message, None)
    assert missing.status_code == 401 and missing.json()["error"] == "no_authorization"
    assert post(teams, message, "not-a-jwt").status_code == 401
    basic = requests.post(
        teams.webhook, json=message, headers={"Authorization": "Basic dXNlcjpwdw=="}, timeout=10
    )
    assert basic.status_code == 401 and "Bearer" in basic.json()["reason"]

    broken = post(teams, '{"type": "message", ', microsoft.token())
    assert broken.status_code == 400 and broken.json()["error"] == "invalid_json"
    assert post(teams, "[1, 2]", microsoft.token()).json()["error"] == "invalid_activity"
    no_conversation = {k: v for k, v in message.items() if k != "conversation"}
    missing_field = post(teams, no_conversation, microsoft.token())
    assert missing_field.status_code == 400 and "conversation.id" in missing_field.json()["reason"]

    before = len(microsoft.posts)
    for kind in ("typing", "messageReaction", "installationUpdate"):
        ignored = post(teams, {**message, "type": kind}, microsoft.token())
        assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    other_channel = post(teams, {**message, "channelId": "slack"}, microsoft.token())
    assert other_channel.status_code == 401 and "endorsed" in other_channel.json()["reason"]
    assert len(microsoft.posts) == before


def test_rotated_signing_keys_are_fetched_again(teams, microsoft):
    post(teams, activity("hej", user="29:1gustav", service_url=microsoft.service_url), microsoft.token())
    fetches = microsoft.jwks_fetches
    microsoft.signing_keys["key-b"] = new_key()
    rotated = post(
        teams,
        activity("hej", user="29:1gustav", service_url=microsoft.service_url),
        microsoft.token(kid="key-b"),
    )
    assert rotated.status_code == 200 and microsoft.jwks_fetches == fetches + 1
    unknown = post(
        teams,
        activity("hej", user="29:1gustav", service_url=microsoft.service_url),
        microsoft.token(kid="key-z", key=new_key()),
    )
    assert unknown.status_code == 401 and "key-z" in unknown.json()["reason"]
    assert microsoft.jwks_fetches == fetches + 1  # unknown ids do not make us hammer Microsoft


def test_without_configuration_the_webhook_says_so(assistant):
    reply = requests.post(
        f"{assistant.rasa_url}/webhooks/teams/webhook", json={"type": "message"}, timeout=10
    )
    assert reply.status_code == 503 and reply.json()["error"] == "teams_not_configured"
    assert "TEAMS_APP_ID" in reply.json()["reason"]
    assert requests.get(f"{assistant.rasa_url}/webhooks/teams/", timeout=10).json() == {
        "status": "ok",
        "configured": False,
    }


# -- escalation through the channel's own clients, against the fakes (no Rasa) -------------------------------
def handoff_reply(kb, question: str) -> dict:
    """The handoff action's reply in Teams, as Rasa hands it to the output channel."""
    message = handoff_message(kb, escalation={"question": question, "topic": "klage", "topic_title": "Klage"})
    return {"text": message["text"], "buttons": message["buttons"], "custom": message["json_message"]}


async def escalate_from_personal_chat(microsoft, kb, settings: EscalationSettings, question: str) -> str:
    """A caseworker asks for a colleague in a personal chat with the bot; returns what they read."""
    conversation = f"a:1sara-personal-{next(ACTIVITY_IDS)}"
    message = activity(
        "tal med en medarbejder",
        user="29:1sara",
        conversation=conversation,
        service_url=microsoft.service_url,
    )
    tokens = TokenProvider(f"{microsoft.url}/{UNIT_TENANT}/oauth2/v2.0/token", APP_ID, APP_PASSWORD)
    async with aiohttp.ClientSession() as session:
        await TeamsOutput(session, tokens, message, settings).send_response(
            "29:1sara", handoff_reply(kb, question)
        )
    [reply] = microsoft.replies_to(conversation)
    return shown(reply)


@pytest.mark.parametrize("webhook", ["connector", "workflow"])
async def test_an_escalation_through_an_incoming_webhook_is_redacted_and_says_whom_to_write_to(
    microsoft, kb, webhook
):
    before = len(microsoft.webhook_posts)
    settings = EscalationSettings(teams_webhook=f"{microsoft.url}/webhook/{webhook}")
    typed = (
        "far har CPR 1203851234, ring +45 22334455 eller skriv til far@eksempel.dk; "
        "han hedder Mads Jensen og bor på Vestergade 12, 2. tv"
    )
    reply = await escalate_from_personal_chat(microsoft, kb, settings, typed)

    [sent] = microsoft.webhook_posts[before:]
    [attachment] = sent["message"]["attachments"]
    assert sent["message"]["type"] == "message" and attachment["contentType"] == ADAPTIVE_CARD
    card = attachment["content"]
    posted = json.dumps(card, ensure_ascii=False)
    for personal in ("1203851234", "22334455", "far@eksempel.dk", "Mads", "Jensen", "Vestergade"):
        assert personal not in posted
    assert facts(card) == {
        "Spørgsmål": "far har CPR [CPR-nummer fjernet], ring [telefonnummer fjernet] eller skriv "
        "til [e-mail fjernet]; han hedder [navn fjernet] og bor på [adresse fjernet]",
        "Emne": "Klage",
    }
    # nobody else can open a personal chat with the bot: no link, but whom to write to
    assert card["actions"] == [] and "som kun Anna kan se. Skriv direkte til Anna." in card_text(card)
    assert reply.startswith("Jeg har sendt dit spørgsmål videre til dine kolleger i ekspertkanalen.")


FAILED = "Jeg kunne desværre ikke sende dit spørgsmål videre til en kollega lige nu. Der er ikke sendt noget."


@pytest.mark.parametrize(
    "case, settings, notice",
    [
        ("not configured", {}, "der er ikke sat en ekspertkanal op. Der er ikke sendt noget."),
        ("the connector refuses", {"teams_conversation": REFUSED}, FAILED),
        ("webhook: 200 with an error", {"teams_webhook": "/webhook/delivery-failed"}, FAILED),
        ("webhook: 500", {"teams_webhook": "/webhook/down"}, FAILED),
    ],
)
async def test_when_nothing_reached_a_colleague_the_caseworker_is_told_and_gets_the_contact(
    microsoft, kb, case, settings, notice
):
    posts, webhook_posts = len(microsoft.posts), len(microsoft.webhook_posts)
    settings = {
        key: microsoft.url + value if value.startswith("/") else value for key, value in settings.items()
    }
    reply = await escalate_from_personal_chat(microsoft, kb, EscalationSettings(**settings), "kan vi klage?")

    assert notice in reply, case
    assert (
        f"Telefon: {kb.deployment()['contact']['phone']}" in reply and "videre til dine kolleger" not in reply
    )
    assert (
        len(microsoft.posts) == posts + 1 and len(microsoft.webhook_posts) == webhook_posts
    )  # the reply only


# -- the token cache on its own -----------------------------------------------------------------------------
async def test_the_token_is_cached_until_shortly_before_it_expires(microsoft):
    now = [1000.0]
    provider = TokenProvider(
        f"{microsoft.url}/{UNIT_TENANT}/oauth2/v2.0/token", APP_ID, APP_PASSWORD, clock=lambda: now[0]
    )
    before = len(microsoft.logins)
    async with aiohttp.ClientSession() as session:
        tokens = await asyncio.gather(*(provider.get(session) for _ in range(5)))
        assert len(set(tokens)) == 1 and len(microsoft.logins) == before + 1
        now[0] += 3600 - 301  # still valid for a little over 5 minutes
        assert await provider.get(session) == tokens[0] and len(microsoft.logins) == before + 1
        now[0] += 2  # within 5 minutes of expiry
        assert await provider.get(session) != tokens[0] and len(microsoft.logins) == before + 2


async def test_a_refused_login_is_an_error_with_microsofts_reason(microsoft):
    provider = TokenProvider(f"{microsoft.url}/{UNIT_TENANT}/oauth2/v2.0/token", APP_ID, "wrong-secret")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(MicrosoftUnavailable, match="401: AADSTS7000215"):
            await provider.get(session)


# -- rendering on its own -----------------------------------------------------------------------------------
ANSWER = {
    "text": "Aflastning giver familien et pusterum.\nDen kan være i hjemmet eller udenfor.\n\n"
    "Kilde: Anbefaling 1.7 – Støtte til hele familien",
    "buttons": [
        {"title": "Merudgifter", "payload": "/ask_merudgifter"},
        {"title": "Tal med en medarbejder", "payload": "/request_human"},
    ],
    "custom": payload(
        "answer",
        topic="aflastning",
        audience="foraelder",
        sources=[
            {
                "title": "Støtte til hele familien",
                "ref": "Anbefaling 1.7",
                "url": "https://example.org/1.7",
                "reviewed": "2026-11-22",
            }
        ],
        organisations=[{"id": "dukh", "name": "DUKH", "url": "https://dukh.dk", "phone": "76 30 19 50"}],
        region="Nordjylland",
    ),
}


def test_an_answer_becomes_one_adaptive_card():
    card = render(dict(ANSWER))["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card_text(card).splitlines() == [
        "Aflastning giver familien et pusterum.",
        "Den kan være i hjemmet eller udenfor.",
        "Kilde: [Anbefaling 1.7 – Støtte til hele familien](https://example.org/1.7)",
        "Svar fra en automatisk assistent, ikke et menneske – vejledning, ikke en afgørelse. "
        "Afgørelser træffer kommunen.",
    ]
    assert card["body"][1]["spacing"] == "None"  # same paragraph, next line
    fact = {"title": "DUKH", "value": "76 30 19 50 · [dukh.dk](https://dukh.dk)"}
    assert card["body"][-2] == {"type": "FactSet", "spacing": "Medium", "facts": [fact]}
    assert card["body"][-1]["isSubtle"] and card["body"][-1]["text"].startswith("Svar fra en automatisk")
    assert [(a["title"], click) for a, click in zip(card["actions"], click_values(card))] == [
        ("Merudgifter", {"payload": "/ask_merudgifter"}),
        ("Tal med en medarbejder", {"payload": "/request_human"}),
    ]
    assert card["actions"][0]["data"]["msteams"]["displayText"] == "Merudgifter"
    assert "Nordjylland" not in json.dumps(card) and "aflastning" not in json.dumps(card["actions"])


def test_links_open_and_listed_organisations_are_not_repeated():
    message = {
        "text": "Til klage kan I kontakte:\n\n• DUKH: rådgiver om klager.",
        "buttons": [
            {"title": "DUKH", "url": "https://dukh.dk", "type": "web_url"},
            {"title": "DUKH igen", "url": "https://dukh.dk", "type": "web_url"},
        ],
        "custom": {
            "kind": "organisations",
            "organisations": [{"id": "dukh", "name": "DUKH", "url": "https://dukh.dk"}],
        },
    }
    card = render(message)["attachments"][0]["content"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "DUKH", "url": "https://dukh.dk"}]
    assert all(block["type"] == "TextBlock" for block in card["body"])


def test_plain_replies_are_markdown_text_and_bare_payloads_are_not_posted():
    assert render({"text": "Tak!\nSkriv bare.\n\nHej igen", "custom": {"kind": "smalltalk"}}) == {
        "textFormat": "markdown",
        "text": "Tak!\n\nSkriv bare.\n\nHej igen",
    }
    assert render({"custom": {"kind": "smalltalk"}}) is None
    assert render({"text": "", "buttons": []}) is None


def test_what_the_user_said():
    assert message_text({"text": "<at>Forløbsguiden</at> hvad er aflastning"}) == "hvad er aflastning"
    assert (
        message_text({"text": "Merudgifter", "value": {"payload": "/ask_merudgifter"}}) == "/ask_merudgifter"
    )
    assert (
        message_text({"text": "Merudgifter", "value": '{"payload": "/ask_merudgifter"}'})
        == "/ask_merudgifter"
    )
    assert message_text({"text": "hej", "value": {"other": 1}}) == "hej"
    assert message_text({}) == ""

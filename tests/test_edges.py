"""At the edges, through the real servers: malformed REST requests refused with a Danish reason, an over-long
message answered without being handled, an empty first message greeted, and the health endpoints."""

import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from bot.server.availability import unavailable_text
from bot.server.channels.rules import MAX_MESSAGE_LENGTH, too_long_text
from tests.conftest import running_stack
from tests.support import post, say, texts

pytestmark = pytest.mark.rasa


def webhook(assistant, body) -> tuple[int, object]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, text = post(f"{assistant.rasa_url}/webhooks/rest/webhook", raw)
    return status, json.loads(text) if text.strip() else None


def senders(db) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events")}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"message": "hej"}, "sender"),  # no sender: no shared "default" conversation
        ({"sender": "", "message": "hej"}, "sender"),
        ({"sender": "   ", "message": "hej"}, "sender"),
        ({"sender": 42, "message": "hej"}, "sender"),
        ({"sender": "x" * 129, "message": "hej"}, "sender"),
        ({"sender": "anna\nbent", "message": "hej"}, "sender"),
        ({"sender": "edge-list", "message": ["hej"]}, "message"),
        ({"sender": "edge-number", "message": 7}, "message"),
        (["sender", "message"], "JSON-objekt"),
    ],
)
def test_a_malformed_request_gets_400_with_a_danish_reason(assistant, body, field):
    status, answer = webhook(assistant, body)
    assert status == 400
    assert field in answer["error"] and answer["error"].isprintable()
    assert "default" not in senders(assistant.tracker_db)


def test_an_over_long_message_asks_for_a_shorter_question_and_is_not_stored(assistant):
    status, answer = webhook(
        assistant, {"sender": "edge-long", "message": "hjælp " * (MAX_MESSAGE_LENGTH // 6 + 10)}
    )
    assert status == 200
    assert answer == [{"recipient_id": "edge-long", "text": too_long_text()}]
    assert "edge-long" not in senders(assistant.tracker_db)
    assert say(assistant, "edge-long", "hej")[0]["text"].startswith("Hej")  # the conversation goes on


def test_an_empty_first_message_is_greeted_and_a_later_one_asks_for_text(assistant):
    assert texts(say(assistant, "edge-empty", ""))[0].startswith("Hej, og velkommen til Forløbsguiden")
    say(assistant, "edge-empty", "hvad er aflastning")
    assert texts(say(assistant, "edge-empty", ""))[0].startswith("Jeg fik ikke nogen tekst")
    # a client that sends no `message` at all on connect is greeted the same way
    status, answer = webhook(assistant, {"sender": "edge-no-message"})
    assert status == 200 and answer[0]["text"].startswith("Hej, og velkommen til Forløbsguiden")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_health_readiness_and_a_dead_action_server(trained_model, kb_url, tmp_path):
    """One stack for both (a start costs half a minute): ready, then the action server dies; readiness says
    so, and a question gets the Danish 'prøv igen om lidt' with HTTP 503 (nginx tries another replica)
    instead of HTTP 200 and no reply."""
    with running_stack(tmp_path, kb_url) as stack:
        assert get(f"{stack.rasa_url}/health") == (200, {"status": "ok"})
        status, ready = get(f"{stack.rasa_url}/health/ready")
        assert status == 200 and ready == {
            "status": "ready",
            "checks": {"model": "ok", "tracker_store": "ok", "lock_store": "ok", "action_server": "ok"},
        }
        actions = stack.processes[0]  # the action server, started first
        actions.terminate()
        actions.wait(30)
        status, ready = get(f"{stack.rasa_url}/health/ready")
        assert status == 503 and ready["status"] == "not ready"
        assert ready["checks"]["action_server"] != "ok" and ready["checks"]["model"] == "ok"
        assert get(f"{stack.rasa_url}/health")[0] == 200  # alive, though not ready
        body = json.dumps({"sender": "edge-dead-actions", "message": "hvad er aflastning"}).encode()
        status, text = post(f"{stack.rasa_url}/webhooks/rest/webhook", body)
        assert status == 503
        assert json.loads(text) == [{"recipient_id": "edge-dead-actions", "text": unavailable_text()}]

"""Rasa itself: data validation, test stories, and the real servers over HTTP (REST webhook)."""

import subprocess
import sys

import pytest

from core.config import ROOT, load_settings, rasa_environment
from tests.support import customs, post, say, texts

pytestmark = pytest.mark.rasa


def rasa_cli(*args, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=rasa_environment(load_settings()),
    )


def test_data_validates_without_warnings():
    result = rasa_cli("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Rasa only warns (and skips the line) for a malformed training example; that is an error here
    assert "Issue found while processing" not in result.stdout + result.stderr


def test_conversation_stories_pass(trained_model, tmp_path):
    result = rasa_cli(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "tests/stories",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = (tmp_path / "failed_test_stories.yml").read_text()
    assert "None of the test stories failed" in failed


def test_hello_in_danish_with_payload(assistant):
    messages = say(assistant, "rest-hej", "hej")
    assert texts(messages)[0].startswith("Hej, og velkommen til Forløbsguiden")
    assert customs(messages) == [{"kind": "smalltalk"}]


def test_what_can_you_help_with(assistant):
    messages = say(assistant, "rest-capabilities", "hvad kan du hjælpe med?")
    assert "Jeg kan hjælpe med" in texts(messages)[0]
    assert [b["title"] for b in messages[0]["buttons"]][0] == "Hvad sker der ved 18 år?"
    assert customs(messages) == [{"kind": "smalltalk"}]


def test_out_of_scope(assistant):
    messages = say(assistant, "rest-oos", "hvem vandt fodboldkampen i går")
    assert customs(messages) == [{"kind": "out_of_scope"}]
    assert texts(messages)[0].startswith("Det ligger uden for, hvad jeg ved.")


def test_question_is_answered_from_the_knowledge_base_through_the_action_server(assistant):
    messages = say(assistant, "rest-question", "hvad er aflastning")
    payload = customs(messages)[0]
    assert payload["kind"] == "answer" and payload["topic"] == "aflastning"
    assert any("Kilde: " in t for t in texts(messages))


@pytest.mark.parametrize(
    "message", ["", "   \n\t ", "hej " * 1200, "hej\x00\x07\x1b[31m", "😀🎉👍", "<script>alert('x')</script>"]
)
def test_bad_input_gets_a_danish_answer_and_the_server_stays_up(assistant, message):
    messages = say(assistant, f"rest-bad-{abs(hash(message))}", message)
    assert texts(messages), messages
    assert customs(messages)[0]["kind"] in ("fallback", "clarify", "answer", "smalltalk", "out_of_scope")
    assert say(assistant, "rest-after-bad", "hej")[0]["text"].startswith("Hej")


def test_invalid_json_is_rejected_with_400(assistant):
    status, _ = post(f"{assistant.rasa_url}/webhooks/rest/webhook", b"{not json")
    assert status == 400
    assert say(assistant, "rest-after-json", "hej")[0]["text"].startswith("Hej")

"""The content editors' report on a conversation database with known counts."""

import asyncio
import datetime as dt
import shutil
import subprocess
import time

import pytest
from sqlalchemy import create_engine, text

from bot.ops.report import collect, render
from core.config import ROOT
from tests.conftest import require_service
from tests.support import cli, headless_chromium

DAY = 86_400


def conversation(sender, turns, channel="rest"):
    """turns: [(user text, intent, reply kind, topic or None)]"""
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender, [])
    for user_text, intent, kind, topic in turns:
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(user_text, {"name": intent, "confidence": 0.9}, input_channel=channel))
        custom = {"kind": kind, **({"topic": topic} if topic else {})}
        tracker.update(BotUttered("svar", data={"custom": custom}))
    return tracker


@pytest.fixture
def tracker_url(tmp_path):
    from rasa.shared.core.domain import Domain

    from bot.server.tracker_store import RedactingSQLTrackerStore

    url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    store = RedactingSQLTrackerStore(domain=Domain.empty(), host=url)
    trackers = [
        conversation(
            "a",
            [
                ("hvad er aflastning", "ask_aflastning", "answer", "aflastning"),
                ("/feedback_positive", "feedback_positive", "smalltalk", None),
                ("hvad er merudgifter", "ask_merudgifter", "answer", "merudgifter"),
                ("/feedback_negative", "feedback_negative", "smalltalk", None),
            ],
        ),
        conversation(
            "b",
            [
                ("aflastning om natten", "ask_aflastning", "answer", "aflastning"),
                ("/feedback_positive", "feedback_positive", "smalltalk", None),
                ("blorp", "nlu_fallback", "fallback", None),
                ("blorp", "nlu_fallback", "fallback", None),
                ("hvem vandt kampen", "out_of_scope", "out_of_scope", None),
            ],
            channel="socketio",
        ),
        conversation("c", [("min cpr er 120385-1234 og hvad med det", "nlu_fallback", "clarify", None)]),
        conversation("old", [("gammelt spørgsmål", "ask_klage", "answer", "klage")]),
    ]
    for tracker in trackers:
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE events SET timestamp = :t WHERE sender_id = 'old'"), {"t": time.time() - 40 * DAY}
        )
        connection.execute(
            text("UPDATE events SET timestamp = :t WHERE sender_id = 'c'"), {"t": time.time() - 1 * DAY}
        )
    engine.dispose()
    return url


def test_counts(tracker_url):
    report = collect(tracker_url)
    assert report.conversations == 4 and report.user_messages == 11
    assert report.questions_per_topic == {"aflastning": 2, "merudgifter": 1, "klage": 1}
    assert report.feedback["aflastning"] == {"up": 2} and report.feedback["merudgifter"] == {"down": 1}
    assert report.unanswered.most_common(1) == [("blorp", 2)]
    assert "min cpr er [cpr-nummer fjernet] og hvad med det" in report.unanswered
    assert report.channels == {"rest": 6, "socketio": 5}
    assert round(report.rate("answer"), 2) == round(4 / 8, 2)
    assert len(report.kinds_per_day) == 3  # today, yesterday, 40 days ago


def test_since_leaves_out_older_conversations(tracker_url):
    report = collect(tracker_url, since=dt.date.today() - dt.timedelta(days=7))
    assert report.conversations == 3 and "klage" not in report.questions_per_topic


def test_page_shows_the_numbers_and_escapes_user_text(tracker_url):
    report = collect(tracker_url, kb_version="abc123")
    report.unanswered["<script>alert(1)</script>"] += 1
    page = render(report, {"aflastning": "Aflastning"})
    assert '<strong id="conversations">4</strong>' in page
    assert "<tr><td>Aflastning</td><td>aflastning</td><td>2</td></tr>" in page
    assert "<tr><td>Aflastning</td><td>2</td><td>0</td></tr>" in page
    assert "abc123" in page and "data:image/png;base64," in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page  # self-contained


@pytest.mark.slow
def test_cli_writes_the_report_and_refuses_a_bad_date(tracker_url, tmp_path):
    out = tmp_path / "report.html"
    result = cli("report", "--out", str(out), env_extra={"TRACKER_STORE_URL": tracker_url})
    assert result.returncode == 0 and "4 samtaler" in result.stdout
    assert '<strong id="conversations">4</strong>' in out.read_text()
    bad = cli("report", "--since", "i går", "--out", str(out), env_extra={"TRACKER_STORE_URL": tracker_url})
    assert bad.returncode == 1 and "Ugyldig dato" in bad.stderr


@pytest.mark.browser
def test_report_opens_in_headless_chromium(tracker_url, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_service("Chromium", chromium is not None, "`make system-deps` installs Debian's chromium")
    page = tmp_path / "report.html"
    page.write_text(render(collect(tracker_url), {}), encoding="utf-8")
    artefacts = ROOT / "tests" / "artefacts"
    artefacts.mkdir(exist_ok=True)
    shot = artefacts / "report.png"
    result = subprocess.run(
        [
            *headless_chromium(chromium, tmp_path / "profile"),
            f"--screenshot={shot}",
            "--window-size=1000,1600",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
    assert "Uncaught" not in result.stderr

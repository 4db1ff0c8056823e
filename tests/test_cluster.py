"""The scale-out (bot/cluster.py): two Rasa replicas (each with its action server) behind nginx, on the
machine's PostgreSQL (a database of their own) and a private Redis (so that it can be stopped).

- With round-robin, consecutive messages of one conversation hit different replicas; afterwards the
  tracker store holds every answered message once, in the order sent, each with the bot turn the client got.
- A Redis outage and a database outage: HTTP 503 with the Danish "prøv igen om lidt", nothing of the
  refused message stored, the earlier conversation kept, and answers again once the service is back.
- A Rasa replica killed in the middle of the load: no client-visible error, no message lost.
- The model loaded the replicas' way (bot/rasa_server.py, without Rasa's one training step) predicts
  exactly what Rasa's own load predicts.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from benchmarks.load import closed_loop, conversation_turns, replica_switches, summarise, verify_tracker
from benchmarks.nlu import DATA, examples
from benchmarks.services import PrivateRedis
from bot.availability import UNAVAILABLE_TEXT
from bot.cluster import ensure_database, nginx_binary, start_cluster
from bot.config import cluster_settings, load_settings
from tests.conftest import POSTGRES_URL, free_port, postgres_available, require_service

pytestmark = [pytest.mark.rasa, pytest.mark.services]
RECOVERY_TIMEOUT = 30  # seconds; generous for a busy machine (answers usually resume within a second)


def _admin_engine():
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _sql(statement: str, **params) -> None:
    from sqlalchemy import text

    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def cluster(trained_model, kb_url, tmp_path_factory):
    require_service("PostgreSQL", postgres_available(), POSTGRES_URL)
    require_service("redis-server", PrivateRedis.available(), "Debian's redis-server is not installed")
    require_service("nginx", nginx_binary() is not None, "`make cluster` installs Debian's nginx as root")
    from sqlalchemy.engine import make_url

    folder = tmp_path_factory.mktemp("cluster")
    database = f"forlob_cluster_test_{os.getpid()}"
    database_url = str(make_url(POSTGRES_URL).set(database=database))
    ensure_database(database_url)
    redis = PrivateRedis(folder / "redis", free_port()).start()
    settings = cluster_settings(load_settings(), {"TRACKER_STORE_URL": database_url, "LOCK_STORE_URL": redis.url})
    try:
        running = start_cluster(settings, 2, port=free_port(), replica_ports=[(free_port(), free_port()) for _ in "ab"],
                                extra_env={"KB_DATABASE_URL": kb_url, "TICKET_LOCK_LIFETIME": "5"},
                                workdir=folder / "cluster")
    except Exception:
        redis.stop()
        for log in (folder / "cluster" / "logs").glob("*/*.log"):
            print(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    running.database, running.database_url, running.redis = database, database_url, redis
    yield running
    running.stop()
    redis.stop()
    _sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def post(base_url: str, sender: str, message: str) -> tuple[int, dict, list]:
    request = urllib.request.Request(f"{base_url}/webhooks/rest/webhook", method="POST",
                                     data=json.dumps({"sender": sender, "message": message}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"[]")


def answered_after_recovery(base_url: str, sender: str, message: str) -> list:
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        status, _, messages = post(base_url, sender, message)
        if status == 200:
            return messages
        assert status == 503 and messages[0]["text"] == UNAVAILABLE_TEXT
        time.sleep(0.5)
    pytest.fail(f"no answer within {RECOVERY_TIMEOUT} s after the service came back")


def stored_user_messages(cluster, sender: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("select data from events where sender_id = :s and type_name = 'user' "
                                           "order by id"), {"s": sender})
            return [json.loads(data)["text"] for (data,) in rows]
    finally:
        engine.dispose()


def assert_refused_in_danish(cluster, sender: str, message: str) -> None:
    status, headers, messages = post(cluster.url, sender, message)
    assert status == 503
    assert headers.get("Retry-After")
    assert [m["text"] for m in messages] == [UNAVAILABLE_TEXT]
    assert "prøv igen om lidt" in UNAVAILABLE_TEXT.lower()


def assert_answers_about_aflastning(messages: list) -> None:
    payloads = [m["custom"] for m in messages if "custom" in m]
    assert payloads and payloads[0]["kind"] == "answer" and payloads[0]["topic"] == "aflastning"


def test_every_conversation_is_stored_once_and_in_order_across_replicas(cluster):
    replies = asyncio.run(closed_loop(cluster.url, 8, conversation_turns(16), "order"))
    summary = summarise(replies, 1.0)
    assert summary["errors"] == 0, [(r.status, r.error) for r in replies if r.status != 200][:3]
    assert summary["empty"] == 0
    assert len({r.replica for r in replies}) == 2  # both replicas answered
    switched, pairs = replica_switches(replies)
    assert pairs == 16 * 4 and switched > 0
    check = verify_tracker(cluster.database_url, replies, "order")
    assert check["messages"] == 80 and check["problems"] == []


def test_redis_outage_is_answered_in_danish_and_recovers(cluster):
    status, _, _ = post(cluster.url, "redis-outage", "hej")
    assert status == 200
    cluster.redis.stop()
    try:
        assert_refused_in_danish(cluster, "redis-outage", "hvad er aflastning")
    finally:
        cluster.redis.start()
    assert_answers_about_aflastning(answered_after_recovery(cluster.url, "redis-outage", "hvad er aflastning"))
    assert stored_user_messages(cluster, "redis-outage") == ["hej", "hvad er aflastning"]


def test_database_outage_is_answered_in_danish_and_recovers(cluster):
    status, _, _ = post(cluster.url, "db-outage", "hej")
    assert status == 200
    # the database refuses connections and the replicas' pooled connections are cut, as in a restart
    _sql(f'ALTER DATABASE "{cluster.database}" ALLOW_CONNECTIONS false')
    try:
        _sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d", d=cluster.database)
        assert_refused_in_danish(cluster, "db-outage", "hvad er aflastning")
    finally:
        _sql(f'ALTER DATABASE "{cluster.database}" ALLOW_CONNECTIONS true')
    assert_answers_about_aflastning(answered_after_recovery(cluster.url, "db-outage", "hvad er aflastning"))
    assert stored_user_messages(cluster, "db-outage") == ["hej", "hvad er aflastning"]


def test_a_killed_replica_costs_no_message(cluster):
    """Last in this module: it leaves one replica running."""
    conversations = conversation_turns(12, seed=3)

    async def kill_after_a_third(replies) -> None:
        while len(replies) < 20:
            await asyncio.sleep(0.02)
        cluster.kill_rasa(1)

    replies = asyncio.run(closed_loop(cluster.url, 6, conversations, "kill", during=kill_after_a_third))
    assert cluster.rasa_process(1).poll() is not None
    assert [(r.status, r.error) for r in replies if r.status != 200 or not r.messages] == []
    check = verify_tracker(cluster.database_url, replies, "kill")
    assert check["messages"] == 60 and check["problems"] == []


SAME_PREDICTIONS = """
import asyncio, json, sys
from rasa.core.agent import load_agent
from rasa.utils.tensorflow.models import RasaModel
from bot.rasa_server import load_by_inference

async def predictions():
    agent = await load_agent(model_path=sys.argv[1])
    parsed = [await agent.parse_message(text) for text in json.loads(sys.argv[2])]
    return [[(i["name"], round(i["confidence"], 5)) for i in p["intent_ranking"]]
            + [(e["entity"], e["value"], e["extractor"]) for e in p["entities"]] for p in parsed]

rasa_own = asyncio.run(predictions())
RasaModel.load = load_by_inference(RasaModel.load.__func__)
print(json.dumps({"rasa": rasa_own, "ours": asyncio.run(predictions())}))
"""


def test_the_model_loaded_without_a_training_step_predicts_the_same(trained_model):
    from bot.config import ROOT, load_settings, rasa_environment

    texts = [text for text, _ in examples(DATA / "nlu_holdout.yml")[::5]]
    done = subprocess.run([sys.executable, "-c", SAME_PREDICTIONS, str(trained_model), json.dumps(texts)], cwd=ROOT,
                          env=rasa_environment(load_settings()), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["rasa"]) == len(texts) and result["ours"] == result["rasa"]

"""The scale-out (bot/ops/cluster.py): two Rasa replicas (each with its action server) behind nginx, on the
machine's PostgreSQL (a database of their own) and a private Redis (so that it can be stopped).

- With round-robin, consecutive messages of one conversation hit different replicas; afterwards the
  tracker store holds every answered message once, in the order sent, each with the bot turn the client got.
- A Redis outage and a database outage: HTTP 503 with the Danish "prøv igen om lidt", nothing of the
  refused message stored, the earlier conversation kept, and answers again once the service is back.
- A Rasa replica killed in the middle of the load: no client-visible error, no message lost or stored twice
  (a message delivered twice with the same X-Request-ID, as nginx resends it, is stored once).
- The model loaded the replicas' way (bot/server/rasa_server.py, without Rasa's one training step) predicts
  exactly what Rasa's own load predicts.
- On their own: the Redis lock admits one message of a conversation at a time across clients, and a dead
  holder's ticket expires; the tracker store reads back what Rasa's would, redacted, a resent message once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request

import pytest

from bot.ops.cluster import ensure_database, nginx_binary, start_cluster
from bot.server.availability import unavailable_text
from core.config import cluster_settings, load_settings
from evaluation.load_client import (
    closed_loop,
    conversation_turns,
    replica_switches,
    summarise,
    verify_tracker,
)
from evaluation.services import PrivateRedis
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
    require_service("nginx", nginx_binary() is not None, "`make system-deps` installs Debian's nginx")
    from sqlalchemy.engine import make_url

    folder = tmp_path_factory.mktemp("cluster")
    database = f"forlob_cluster_test_{os.getpid()}"
    database_url = str(make_url(POSTGRES_URL).set(database=database))
    ensure_database(database_url)
    redis = PrivateRedis(folder / "redis", free_port()).start()
    settings = cluster_settings(
        load_settings(), {"TRACKER_STORE_URL": database_url, "LOCK_STORE_URL": redis.url}
    )
    try:
        running = start_cluster(
            settings,
            2,
            port=free_port(),
            replica_ports=[(free_port(), free_port()) for _ in "ab"],
            extra_env={"KB_DATABASE_URL": kb_url, "TICKET_LOCK_LIFETIME": "5"},
            workdir=folder / "cluster",
        )
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


def post(base_url: str, sender: str, message: str, request_id: str | None = None) -> tuple[int, dict, list]:
    headers = {"Content-Type": "application/json", **({"X-Request-ID": request_id} if request_id else {})}
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        method="POST",
        headers=headers,
        data=json.dumps({"sender": sender, "message": message}).encode(),
    )
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
        assert status == 503 and messages[0]["text"] == unavailable_text()
        time.sleep(0.5)
    pytest.fail(f"no answer within {RECOVERY_TIMEOUT} s after the service came back")


def stored_user_messages(cluster, sender: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("select data from events where sender_id = :s and type_name = 'user' order by id"),
                {"s": sender},
            )
            return [json.loads(data)["text"] for (data,) in rows]
    finally:
        engine.dispose()


def assert_refused_in_danish(cluster, sender: str, message: str) -> None:
    status, headers, messages = post(cluster.url, sender, message)
    assert status == 503
    assert headers.get("Retry-After")
    assert [m["text"] for m in messages] == [unavailable_text()]
    assert "prøv igen om lidt" in unavailable_text().lower()


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
    assert_answers_about_aflastning(
        answered_after_recovery(cluster.url, "redis-outage", "hvad er aflastning")
    )
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


def test_a_message_delivered_twice_is_stored_once(cluster):
    """What nginx does when a replica dies after storing a message:
    the same request again, same X-Request-ID."""
    replica = cluster.replicas[0].rasa_url
    for _ in range(2):
        status, _, messages = post(replica, "twice", "hvad er aflastning", request_id="4f1c2a9e")
        assert status == 200
        assert_answers_about_aflastning(messages)
    post(replica, "twice", "tak", request_id="77d0b3c1")
    assert stored_user_messages(cluster, "twice") == ["hvad er aflastning", "tak"]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


READY = {
    "status": "ready",
    "checks": {"model": "ok", "tracker_store": "ok", "lock_store": "ok", "action_server": "ok"},
}


def test_health_and_readiness_through_nginx(cluster):
    """nginx answers /health itself; /health/ready is answered by a ready replica (a 503 moves on to the next
    one), /health/ready/<i> is replica i's own answer. A replica whose action server stopped is not ready;
    the cluster still is."""
    status, _, body = get(f"{cluster.url}/health")
    assert (status, body) == (200, {"status": "ok"})
    status, _, body = get(f"{cluster.url}/health/ready")
    assert (status, body) == (200, READY)
    for number in (1, 2):
        status, _, body = get(f"{cluster.url}/health/ready/{number}")
        assert (status, body) == (200, READY)

    actions = cluster.replicas[0].processes[0]  # replica 1's action server (each replica starts it first)
    os.killpg(actions.pid, signal.SIGTERM)
    actions.wait(30)
    try:
        status, _, body = get(f"{cluster.url}/health/ready/1")
        assert status == 503 and body["status"] == "not ready"
        assert body["checks"]["action_server"] != "ok" and body["checks"]["model"] == "ok"
        ready_replica = f"127.0.0.1:{cluster.replicas[1].rasa_port}"
        for _ in range(4):  # round-robin starts on either replica; replica 1's 503 moves on to replica 2
            status, headers, body = get(f"{cluster.url}/health/ready")
            assert (status, body) == (200, READY)
            assert headers["X-Forlob-Replica"].split(", ")[-1] == ready_replica
        assert get(f"{cluster.url}/health")[0] == 200
        status, _, body = get(f"{cluster.url}/health/ready/2")
        assert (status, body) == (200, READY)
    finally:
        cluster.replicas[0].start_actions()  # the tests after this one need both replicas
    status, _, body = get(f"{cluster.url}/health/ready/1")
    assert (status, body) == (200, READY)


def test_a_killed_replica_costs_no_message(cluster):
    """Last in this module: it leaves one replica running."""
    conversations = conversation_turns(12, seed=3)

    async def kill_after_a_third(replies) -> None:
        while len(replies) < 20:
            await asyncio.sleep(0.02)
        os.killpg(cluster.rasa_process(1).pid, signal.SIGKILL)  # the replica's Rasa server dies

    replies = asyncio.run(closed_loop(cluster.url, 6, conversations, "kill", during=kill_after_a_third))
    assert cluster.rasa_process(1).poll() is not None
    assert [(r.status, r.error) for r in replies if r.status != 200 or not r.messages] == []
    check = verify_tracker(cluster.database_url, replies, "kill")
    assert check["messages"] == 60 and check["problems"] == []


# -- the two stores on their own (no Rasa server) ------------------------------------------------------
def test_the_redis_lock_lets_one_message_of_a_conversation_in_at_a_time(tmp_path):
    require_service("redis-server", PrivateRedis.available(), "Debian's redis-server is not installed")
    from types import SimpleNamespace

    from bot.server.lock_store import ConfiguredLockStore

    redis = PrivateRedis(tmp_path / "redis", free_port()).start()
    try:
        replicas = [ConfiguredLockStore(SimpleNamespace(url=redis.url)) for _ in range(3)]  # one client each
        inside, overlaps, order = [], [], []

        async def message(store, number):
            async with store.lock("same-conversation", 10):
                inside.append(number)
                overlaps.append(len(inside) > 1)
                order.append(number)
                await asyncio.sleep(0.01)
                inside.remove(number)

        async def main():
            await asyncio.gather(*(message(replicas[n % 3], n) for n in range(12)))
            # a holder that died: its ticket (lifetime 1 s) does not block the next message for longer
            replicas[0]._redis(replicas[0]._take, "crashed", time.time(), 1)
            started = time.monotonic()
            async with replicas[1].lock("crashed", 10):
                return time.monotonic() - started

        waited = asyncio.run(main())
        assert not any(overlaps) and sorted(order) == list(range(12))
        assert 0.9 < waited < 5
    finally:
        redis.stop()


def test_the_tracker_store_reads_back_what_rasa_would_and_stores_a_message_id_once(tmp_path):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    from bot.server.tracker_store import ConversationStore, RedactingSQLTrackerStore
    from core.config import ROOT

    domain = Domain.load(str(ROOT / "domain.yml"))
    url = f"sqlite:///{tmp_path / 'tracker.sqlite'}"
    ours, rasas = (
        ConversationStore(domain=domain, host=url),
        RedactingSQLTrackerStore(domain=domain, host=url),
    )

    async def main():
        tracker = await ours.get_or_create_tracker("anna")
        tracker.update(
            UserUttered("mit nummer er 12 34 56 78", {"name": "inform", "confidence": 1.0}, message_id="m1")
        )
        tracker.update(ActionExecuted("action_acknowledge_context"))
        tracker.update(BotUttered("Tak."))
        await ours.save(tracker)
        again = await ours.retrieve("anna")
        again.update(UserUttered("mit nummer er 12 34 56 78", {"name": "inform"}, message_id="m1"))  # resent
        again.update(BotUttered("Tak."))
        await ours.save(again)
        return await ours.retrieve("anna"), await rasas.retrieve("anna")

    read_by_us, read_by_rasa = asyncio.run(main())
    assert [e.as_dict() for e in read_by_us.events] == [e.as_dict() for e in read_by_rasa.events]
    stored = [e.text for e in read_by_us.events if isinstance(e, UserUttered)]
    assert stored == ["mit nummer er [telefonnummer fjernet]"]  # redacted, and once

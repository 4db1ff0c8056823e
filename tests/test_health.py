"""bot/server/health.py's readiness checks, each on its own: what a probe reads when the tracker store or the
lock store does not answer (the whole endpoint through a running server is in tests/test_edges.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from types import SimpleNamespace

from bot.server import health


def app_with(lock_store=None, ready=True):
    agent = SimpleNamespace(is_ready=lambda: ready, lock_store=lock_store)
    return SimpleNamespace(ctx=SimpleNamespace(agent=agent))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_tracker_store_that_refuses_connections_is_reported_by_class(monkeypatch):
    url = f"postgresql://forlob:geheim@127.0.0.1:{closed_port()}/forlob"
    monkeypatch.setenv("TRACKER_STORE_URL", url)
    result = await health._run(health._tracker_store, app_with())
    assert result == "fejl: OperationalError"
    assert "geheim" not in result and "127.0.0.1" not in result  # no connection details in a public answer


async def test_a_tracker_store_that_answers_is_ok(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.sqlite'}")
    assert await health._run(health._tracker_store, app_with()) == "ok"


async def test_a_lock_store_that_hangs_is_not_ready_within_the_time_limit():
    class HangingRedis:
        def ping(self):
            time.sleep(health.CHECK_TIMEOUT + 1)

    started = time.monotonic()
    result = await health._run(health._lock_store, app_with(SimpleNamespace(client=HangingRedis())))
    assert result == f"svarer ikke inden for {health.CHECK_TIMEOUT:g} s"
    assert time.monotonic() - started < health.CHECK_TIMEOUT + 0.5


async def test_a_lock_store_that_fails_and_a_model_not_loaded_are_reported():
    class DownRedis:
        def ping(self):
            raise ConnectionError("Error 111 connecting to 10.0.0.5:6379")

    assert await health._run(health._lock_store, app_with(SimpleNamespace(red=DownRedis()))) == (
        "fejl: ConnectionError"
    )
    assert await health._run(health._model, app_with(ready=False)) == "fejl: modellen er ikke indlæst"
    assert await health._run(health._lock_store, app_with(None)) == "ok"  # in memory: nothing to ask


def test_the_checks_run_side_by_side_so_one_slow_check_costs_the_limit_once():
    async def slow(app):
        await asyncio.sleep(health.CHECK_TIMEOUT + 1)

    async def all_checks():
        return await asyncio.gather(*(health._run(slow, None) for _ in range(4)))

    started = time.monotonic()
    results = asyncio.run(all_checks())
    assert all(r.startswith("svarer ikke") for r in results)
    assert time.monotonic() - started < health.CHECK_TIMEOUT + 0.5

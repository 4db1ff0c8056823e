"""Health endpoints of the Rasa server, for a load balancer or Kubernetes (Rasa's HTTP API, with its
`/status`, stays off):

- `GET /health`: liveness, the process answers: `{"status": "ok"}`, 200.
- `GET /health/ready`: readiness, each check within CHECK_TIMEOUT seconds: the model is loaded, the tracker
  store and the lock store answer, the action server answers its `/health`. `{"status": "ready" | "not
  ready", "checks": {name: "ok" | reason}}` with 200 or 503.
"""

from __future__ import annotations

import asyncio

from sanic import response

CHECK_TIMEOUT = 2.0


async def _model(app) -> None:
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        raise RuntimeError("modellen er ikke indlæst")


async def _tracker_store(app) -> None:
    from sqlalchemy import create_engine, text

    from core.config import load_settings

    def ping() -> None:
        url = load_settings().tracker_store_url
        # a server that accepts no connection must not leave the probe's thread waiting after its answer
        timeout = {"connect_timeout": int(CHECK_TIMEOUT)} if url.startswith("postgresql") else {}
        engine = create_engine(url, connect_args=timeout)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()

    await asyncio.to_thread(ping)


async def _lock_store(app) -> None:
    agent = getattr(app.ctx, "agent", None)
    store = getattr(agent, "lock_store", None)
    # ours (bot/server/lock_store.py) keeps its Redis client as `client`, Rasa's RedisLockStore as `red`
    redis = getattr(store, "client", None) or getattr(store, "red", None)
    if redis is not None:
        await asyncio.to_thread(redis.ping)


async def _action_server(app) -> None:
    import aiohttp

    from core.config import load_settings

    url = load_settings().action_endpoint_url.rsplit("/", 1)[0] + "/health"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT)) as session:
        async with session.get(url) as answer:
            if answer.status != 200:
                raise RuntimeError(f"svarer {answer.status}")


CHECKS = {
    "model": _model,
    "tracker_store": _tracker_store,
    "lock_store": _lock_store,
    "action_server": _action_server,
}


async def _run(check, app) -> str:
    try:
        await asyncio.wait_for(check(app), CHECK_TIMEOUT)
        return "ok"
    except asyncio.TimeoutError:
        return f"svarer ikke inden for {CHECK_TIMEOUT:g} s"
    except Exception as exc:  # the reason, by class: a driver's message can quote connection details
        return f"fejl: {exc}" if isinstance(exc, RuntimeError) else f"fejl: {type(exc).__name__}"


def add_health_routes(app) -> None:
    async def health(request):
        return response.json({"status": "ok"})

    async def ready(request):
        results = await asyncio.gather(*(_run(check, request.app) for check in CHECKS.values()))
        checks = dict(zip(CHECKS, results))
        ok = all(result == "ok" for result in checks.values())
        return response.json(
            {"status": "ready" if ok else "not ready", "checks": checks}, status=200 if ok else 503
        )

    app.add_route(health, "/health", methods=["GET"], name="forlob_health")
    app.add_route(ready, "/health/ready", methods=["GET"], name="forlob_health_ready")

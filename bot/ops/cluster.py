"""`python -m bot cluster --replicas N` (`make cluster`): N Rasa servers and N action servers behind nginx,
sharing a PostgreSQL tracker store and a Redis lock store, everything on loopback.

Replica i is a Rasa server with its own action server (like a pod with a sidecar). nginx, run as our own
process from a generated config (`daemon off`), spreads REST requests round-robin, so consecutive messages
of one conversation land on different replicas; Rasa's lock in Redis keeps them in order and the shared
tracker store gives every replica the whole conversation. socket.io goes to a sticky upstream (`ip_hash`):
its long-polling transport must keep talking to the replica that holds the socket.

Retries: `proxy_next_upstream error timeout http_502 http_503 non_idempotent`. A POST is retried on the next
replica even after it was sent, because a Rasa replica stores a turn in one commit as its last step before
replying: a replica that dies mid-message has usually stored nothing of it, and our 503
(bot/server/availability.py) means "nothing stored" too. Without `non_idempotent` every message in flight on a
dying replica would reach the user as an error. A replica killed between its commit and its reply has stored
the message, and the retry would store it again: nginx sends the same `X-Request-ID` with every try of one
request, Rasa keeps it as the message's id, and the tracker store does not store a message id twice
(bot/server/tracker_store.py); the user reads the answer of the try that succeeded. The resent message waits
for the dead replica's conversation lock to expire (TICKET_LOCK_LIFETIME, core/config.py). When no replica
answers, nginx itself replies 503 with the Danish "prøv igen om lidt" message. nginx never takes a replica out
of the rotation (`max_fails=0`): on loopback a dead replica refuses the connection at once and the request
moves on, and a 503 during a PostgreSQL or Redis outage must not keep the replicas out for `fail_timeout` once
the service is back.

Health: nginx answers `GET /health` itself (its own liveness, whatever the replicas do). `GET /health/ready`
is passed to the replicas like a message, a 503 moving on to the next one, so it answers 200 with a ready
replica's checks (bot/server/health.py) while at least one replica can serve, and 503 when none can;
`/health/ready/<i>` is replica i's own answer (1-based; nginx's 503 when it does not answer), for a probe or
a person looking at one replica.
Open-source nginx has no active health checks, so a replica goes into service only once it is ready:
`start_cluster` starts nginx after every replica answered its `/health/ready` with 200, and nginx is up when
its own `/health/ready` answers. After that nginx learns only from the requests themselves (passive checks),
and it does not act on them (`max_fails=0`, see above): a replica that stops being ready stays in the
rotation. A dead Rasa server refuses the connection and the request moves on at once; a replica whose action
server is gone answers 503 with the Danish "prøv igen om lidt" (bot/server/availability.py), which nginx
passes on to the next replica — `make cluster` stops everything when any of its processes ends, and under
Kubernetes the readiness probe takes such a pod out of the Service.

PostgreSQL and Redis are the machine's own services, left running on Ctrl-C (which stops nginx and the
replicas). When one does not answer, `make cluster` says so and stops, unless it was told how to start it
(`make cluster POSTGRES_START='…' REDIS_START='…'`, i.e. `--postgres-start`/`--redis-start`): then it runs
that command and waits for the service. Nothing here knows how any particular machine starts them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.ops.processes import Stack, StartupError, make_stack, supervise
from bot.server.availability import RETRY_AFTER_SECONDS, unavailable_text
from core.config import Settings, cluster_settings

DEFAULT_PORTS = {"postgresql": 5432, "redis": 6379}


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def nginx_config(work: Path, host: str, port: int, upstream_ports: list[int]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    unavailable = json.dumps([{"recipient_id": "", "text": unavailable_text()}], ensure_ascii=False)
    unavailable = unavailable.replace("\\", "\\\\").replace("'", "\\'")  # inside a single-quoted nginx string
    templates = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # an nginx config, not HTML
    )
    return templates.get_template("nginx.conf.j2").render(
        work=work,
        listen=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        upstream_ports=upstream_ports,
        retry_after=RETRY_AFTER_SECONDS,
        unavailable=unavailable,
    )


# -- the shared services -------------------------------------------------------------------------------
def postgres_answers(url: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(make_url(url).set(database="postgres"), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_database(url: str) -> None:
    """Create the tracker store's PostgreSQL database when it does not exist (Rasa creates the table)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("select 1 from pg_database where datname = :name"), {"name": parsed.database}
            ).scalar()
            if not exists:
                connection.execute(
                    text(f"CREATE DATABASE {engine.dialect.identifier_preparer.quote(parsed.database)}")
                )
    finally:
        engine.dispose()


START_OPTION = {"postgresql": "--postgres-start (POSTGRES_START)", "redis": "--redis-start (REDIS_START)"}


def ensure_service(kind: str, url: str, start_command: str | None = None, timeout: float = 30) -> None:
    """The service answers at `url`; if not, `start_command` (the operator's own shell command) is run and
    the service waited for; without one, or if it still does not answer, a StartupError says what to do."""
    answers = postgres_answers if kind == "postgresql" else redis_answers
    if answers(url):
        return
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or DEFAULT_PORTS[kind]}"
    if start_command:
        print(f"Starter {kind}: {start_command}", flush=True)
        subprocess.run(start_command, shell=True, check=False, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers(url):
                return
            time.sleep(1)
        raise StartupError(f"{kind} svarer stadig ikke på {where} efter {start_command!r}")
    setting = "TRACKER_STORE_URL" if kind == "postgresql" else "LOCK_STORE_URL"
    raise StartupError(
        f"{kind} svarer ikke på {where}; start den, sæt {setting}, "
        f"eller sig med {START_OPTION[kind]}, hvordan den startes"
    )


# -- the cluster -------------------------------------------------------------------------------------------
@dataclass
class Cluster:
    settings: Settings
    port: int
    workdir: Path
    replicas: list[Stack] = field(default_factory=list)
    proxy: Stack | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    def rasa_process(self, index: int) -> subprocess.Popen:
        """The Rasa server of replica `index` (each replica starts its action server first)."""
        return self.replicas[index].processes[1]

    def running(self) -> bool:
        return all(p.poll() is None for s in [self.proxy, *self.replicas] if s for p in s.processes)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        with ThreadPoolExecutor(max(1, len(self.replicas))) as pool:
            list(pool.map(Stack.stop, self.replicas))


STARTUP_TIMEOUT = 300  # seconds for N replicas loading their models at once on a busy machine


def _start_replica(stack: Stack) -> Stack:
    stack.start_actions(timeout=STARTUP_TIMEOUT)
    stack.start_rasa(timeout=STARTUP_TIMEOUT)
    return stack


def start_cluster(
    settings: Settings,
    replicas: int,
    port: int | None = None,
    replica_ports: list[tuple[int, int]] | None = None,
    extra_env: dict | None = None,
    workdir: Path | None = None,
) -> Cluster:
    """Start `replicas` (Rasa port, action port) pairs, then nginx on `port`;
    stops what it started on failure.

    `settings` should come from `cluster_settings()`; the shared services must answer (see ensure_service).
    """
    port = port or settings.rasa_port
    replica_ports = replica_ports or [(port + 1 + i, settings.action_port + i) for i in range(replicas)]
    workdir = Path(workdir or settings.var_dir / "cluster")
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # nginx's workers (user nobody when we are root) create their temp folders here
    env = {
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "LOCK_STORE_URL": settings.lock_store_url,
        **(extra_env or {}),
    }
    cluster = Cluster(settings, port, workdir)
    cluster.replicas = [
        make_stack(
            settings, rasa_port=r, action_port=a, extra_env=env, log_dir=workdir / "logs" / f"replica-{i + 1}"
        )
        for i, (r, a) in enumerate(replica_ports)
    ]
    pool = ThreadPoolExecutor(len(cluster.replicas))
    try:
        for future in [pool.submit(_start_replica, stack) for stack in cluster.replicas]:
            future.result()  # re-raises the first failure
        nginx = nginx_binary()
        if nginx is None:
            raise StartupError("nginx findes ikke (make system-deps installerer det: apt-get install nginx)")
        conf = workdir / "nginx.conf"
        conf.write_text(
            nginx_config(workdir, settings.host, port, [r for r, _ in replica_ports]), encoding="utf-8"
        )
        cluster.proxy = make_stack(settings, rasa_port=port, log_dir=workdir / "logs")
        cluster.proxy.start_process(
            "nginx",
            [nginx, "-p", str(workdir), "-c", str(conf), "-e", "stderr"],
            f"{cluster.url}/health/ready",
        )
    except BaseException:
        cluster.stop()  # the replicas still starting see their processes end and give up at once
        pool.shutdown(wait=True)
        cluster.stop()
        raise
    pool.shutdown()
    return cluster


def run_cluster(
    settings: Settings, replicas: int, postgres_start: str | None = None, redis_start: str | None = None
) -> int:
    """`make cluster`: start everything, print where to talk to it, stop everything on Ctrl-C."""
    settings = cluster_settings(settings)
    started: list[Cluster] = []  # empty until start_cluster returns

    def start() -> Cluster:
        if settings.tracker_store_url.startswith(
            "postgresql"
        ):  # any SQLAlchemy URL works; this is the usual one
            ensure_service("postgresql", settings.tracker_store_url, postgres_start)
            ensure_database(settings.tracker_store_url)
        ensure_service("redis", settings.lock_store_url, redis_start)
        started.append(start_cluster(settings, replicas))
        return started[0]

    def banner(cluster: Cluster, seconds: float) -> str:
        where = {
            name: re.sub(r"//[^@/]*@", "//", url)
            for name, url in (  # without user and password
                ("samtaler", settings.tracker_store_url),
                ("låse", settings.lock_store_url),
            )
        }
        return (
            f"\nForløbsguiden kører med {replicas} replikaer bag nginx (klar efter {seconds:.0f} s).\n"
            f'  REST:      POST {cluster.url}/webhooks/rest/webhook  {{"sender": "…", "message": "hej"}}\n'
            f"  socket.io: {cluster.url}/socket.io\n"
            f"  Samtaler:  {where['samtaler']}   Låse: {where['låse']}\n"
            f"  Logfiler:  {cluster.workdir}\n"
            f"Tryk Ctrl-C for at stoppe."
        )

    def stop() -> None:
        for cluster in started:
            cluster.stop()

    return supervise(start, banner, lambda: started[0].running(), stop)

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
server is gone is not noticed by nginx and answers its share of messages with an empty reply (HTTP 200, `[]`)
— `make cluster` stops everything when any of its processes ends, and under Kubernetes the readiness probe
takes such a pod out of the Service.

PostgreSQL and Redis are the machine's own services: started (with the machine's service commands) only
when they do not answer, and left running on Ctrl-C, which stops nginx and the replicas.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.ops.processes import Stack, StartupError, make_stack, supervise
from bot.server.availability import RETRY_AFTER_SECONDS, UNAVAILABLE_TEXT
from core.config import Settings, cluster_settings

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# How this machine kind starts its shared services (/work/.library/env/machines/python-svc.md); used only
# for a loopback URL on the default port whose service does not answer.
SERVICE_COMMANDS = {
    "postgresql": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log",
}
DEFAULT_PORTS = {"postgresql": 5432, "redis": 6379}

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    log_format replica '$time_iso8601 $status $request_time "$request_method $uri" \
$upstream_addr $upstream_status';
    access_log {work}/nginx-access.log replica;
    server_tokens off;
    client_max_body_size 1m;
    upstream rasa {{
{servers}
        keepalive 32;
    }}
    upstream rasa_sticky {{
        ip_hash;
{sticky_servers}
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
    server {{
        listen {listen};
        add_header X-Forlob-Replica $upstream_addr always;
        error_page 502 504 = @unavailable;
        location = /health {{
            default_type application/json;
            return 200 '{{"status": "ok"}}';
        }}
        location = /health/ready {{
            proxy_pass http://rasa;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries {tries};
        }}
{replica_probes}
        location / {{
            proxy_pass http://rasa;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $request_id;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries {tries};
            proxy_next_upstream_timeout 50s;
        }}
        location /socket.io/ {{
            proxy_pass http://rasa_sticky;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
        }}
        location @unavailable {{
            default_type application/json;
            charset utf-8;
            charset_types application/json;
            add_header Retry-After {retry_after} always;
            return 503 '{unavailable}';
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


REPLICA_PROBE = """\
        location = /health/ready/{number} {{
            proxy_pass http://127.0.0.1:{port}/health/ready;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }}"""


def nginx_config(work: Path, host: str, port: int, upstream_ports: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in upstream_ports)
    probes = "\n".join(REPLICA_PROBE.format(number=i + 1, port=p) for i, p in enumerate(upstream_ports))
    sticky = "\n".join(f"        server 127.0.0.1:{p};" for p in upstream_ports)
    unavailable = json.dumps([{"recipient_id": "", "text": UNAVAILABLE_TEXT}], ensure_ascii=False)
    unavailable = unavailable.replace("\\", "\\\\").replace("'", "\\'")  # inside a single-quoted nginx string
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return NGINX_CONF.format(
        work=work,
        servers=servers,
        sticky_servers=sticky,
        listen=listen,
        replica_probes=probes,
        tries=len(upstream_ports),
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


def ensure_service(kind: str, url: str, timeout: float = 30) -> None:
    answers = postgres_answers if kind == "postgresql" else redis_answers
    if answers(url):
        return
    parts = urlsplit(url)
    if (
        parts.hostname in LOOPBACK
        and (parts.port or DEFAULT_PORTS[kind]) == DEFAULT_PORTS[kind]
        and shutil.which(SERVICE_COMMANDS[kind].split()[0])
    ):
        print(f"Starter maskinens {kind} …", flush=True)
        subprocess.run(SERVICE_COMMANDS[kind], shell=True, check=False, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers(url):
                return
            time.sleep(1)
    raise StartupError(
        f"{kind} svarer ikke på {parts.hostname}:{parts.port or DEFAULT_PORTS[kind]}; "
        f"start den, eller sæt {'TRACKER_STORE_URL' if kind == 'postgresql' else 'LOCK_STORE_URL'}"
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

    def kill_rasa(self, index: int, sig: int = signal.SIGKILL) -> None:
        os.killpg(self.rasa_process(index).pid, sig)

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


def run_cluster(settings: Settings, replicas: int) -> int:
    """`make cluster`: start everything, print where to talk to it, stop everything on Ctrl-C."""
    settings = cluster_settings(settings)
    started: list[Cluster] = []  # empty until start_cluster returns

    def start() -> Cluster:
        if settings.tracker_store_url.startswith(
            "postgresql"
        ):  # any SQLAlchemy URL works; this is the usual one
            ensure_service("postgresql", settings.tracker_store_url)
            ensure_database(settings.tracker_store_url)
        ensure_service("redis", settings.lock_store_url)
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

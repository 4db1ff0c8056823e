"""Load and reliability benchmark of the scale-out: closed-loop conversations through the REST webhook.

Same run, same machine, same PostgreSQL tracker store and Redis lock store (private servers on free
loopback ports, so the outages below touch nothing else):
1. ours on one replica against Rasa's own starter assistant (`rasa init`, trained into a temp folder,
   stock `rasa run`) on one replica: p50/p95/p99 latency, messages/s, errors, at 1 and 10 concurrent
   conversations, rounds alternating between the two; Rasa server RSS (/proc) and time to ready;
2. two replicas behind nginx (`bot.ops.cluster`), 20 concurrent conversations; afterwards the tracker store
   is read: every message the client got an answer to is stored once, in the order sent, with the bot
   turn the client saw; consecutive messages of a conversation that hit different replicas are counted;
3. a Redis outage and a PostgreSQL outage under load (stopped, then started again): what the client got
   meanwhile, when answers came back, and the tracker store check again;
4. one Rasa replica killed (SIGKILL) mid-load: client-visible errors, retried requests, tracker check.

Run: `python -m benchmarks.load [--rounds 2] [--baseline-model PATH]`; results also go to
benchmarks/results/load.md. Needs nginx, redis-server and PostgreSQL's server binaries. Each conversation
is five turns from tests/data/nlu_holdout.yml: a greeting, three questions, a thank-you/good-bye.

Multi-turn mode (issue 19): `python -m benchmarks.load --multi-turn [--rounds 3] [--conversations 10]
[--profile]`. Both run as a user runs them, no PostgreSQL, Redis or nginx: ours as `make run` starts it
(bot.ops.processes.make_stack: action server, Rasa server, web app; the SQLite tracker store, in-memory lock),
twice side by side, with TRACKER_CACHE_SIZE=300 (the default) and =0 (no tracker cache); Rasa's starter
assistant as `rasa init` makes it (its own endpoints.yml and credentials.yml: in-memory tracker and lock
store, no action server). The turns are the committed script benchmarks/data/load_conversations.yml
(10 conversations of 20 turns: greetings, context, topic questions, organisation look-ups, feedback
buttons, thanks), the same for all three. Per round (the servers' order rotates): all conversations at
once, closed loop (each user sends its next turn when the previous answer came): messages/s, p50/p95,
server CPU per message from /proc/<pid>/stat (ours: Rasa + action server; the web app is not on the
path). Then a single-conversation pass, one conversation at a time on each server in turn, samples the
servers' CPU time before and after each message (after a 30 ms settle), so each message's CPU cost is
its own: medians per turn index over the conversations (the 2nd vs the 20th message). Rasa server RSS
after the load. `--profile` adds an unmeasured pass under the same load with py-spy recording ours
(cache 300): Rasa server and action server (py-spy, installed by `make setup` from the `bench` extra).
Results replace the multi-turn section of benchmarks/results/load.md; the cluster section is left as it
is (and vice versa). Smoke test: `--multi-turn --rounds 1 --conversations 2 --no-write`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.server.availability import unavailable_text
from core.config import ROOT, load_settings, rasa_environment
from evaluation.load_client import (
    _send,
    closed_loop,
    conversation_turns,
    replica_switches,
    summarise,
    verify_tracker,
)

RESULTS = ROOT / "benchmarks" / "results" / "load.md"
TURNS = ROOT / "benchmarks" / "data" / "load_conversations.yml"
CACHE_SIZES = ("300", "0")  # TRACKER_CACHE_SIZE of the two copies of ours in the multi-turn mode
SETTLE = 0.03  # seconds between an answer and the CPU sample after it (work left after the reply)


# -- conversations and the closed loop ---------------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (/proc/<pid>/stat), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(
        sum(int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]) / ticks
        for pid in pids
    )


def run_seconds(pids: list[int]) -> float:
    """CPU time of the processes' live threads in ns precision (/proc/<pid>/task/<tid>/schedstat, first
    field), in seconds: the same clock as utime+stime,
    without its 10 ms ticks (a thread that ended is not counted)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


async def measure(
    url: str, concurrency: int, conversations: list[list[str]], prefix: str, pids: list[int]
) -> dict:
    """One closed-loop run after a short warm-up; also the servers' CPU time per answered message."""
    await closed_loop(url, concurrency, conversations[:concurrency], f"{prefix}-warm")
    started, cpu = time.monotonic(), cpu_seconds(pids)
    replies = await closed_loop(url, concurrency, conversations, prefix)
    result = summarise(replies, time.monotonic() - started)
    result["cpu_ms"] = 1000 * (cpu_seconds(pids) - cpu) / max(1, result["ok"])
    return result


# -- what the tracker store holds ------------------------------------------------------------------------


# -- the servers -------------------------------------------------------------------------------------------
def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def train_baseline(folder: Path) -> Path:
    """Rasa's starter assistant: `rasa init --no-prompt` trains it into `folder`/models."""
    folder.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(folder)],
        cwd=folder.parent,
        env=rasa_environment(load_settings()),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return next((folder / "models").glob("*.tar.gz"))


def start_baseline(model: Path, folder: Path, port: int, tracker_url: str, redis_port: int):
    """Stock `rasa run` of the starter assistant with the same kind of tracker and lock store as ours."""
    endpoints = folder / "bench-endpoints.yml"
    endpoints.write_text(
        yaml.safe_dump(
            {
                "tracker_store": {"type": "SQL", "url": tracker_url},
                "lock_store": {"type": "redis", "url": "127.0.0.1", "port": redis_port, "db": 2},
            }
        ),
        encoding="utf-8",
    )
    credentials = folder / "bench-credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    return run_starter(
        model,
        folder,
        port,
        "baseline.log",
        ["--endpoints", str(endpoints), "--credentials", str(credentials)],
    )


def run_starter(model: Path, folder: Path, port: int, log_name: str, extra: list[str]):
    """`rasa run` of the starter model in `folder` (its endpoints and credentials unless `extra` names
    others); the process and its seconds from start to ready."""
    from bot.ops.processes import wait_for_http

    started = time.monotonic()
    log = open(folder / log_name, "ab")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rasa",
            "run",
            "--model",
            str(model),
            *extra,
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=folder,
        env=rasa_environment(load_settings()),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process, 300)
    except BaseException:
        process.kill()
        raise
    return process, time.monotonic() - started


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- the phases --------------------------------------------------------------------------------------------
async def outage(cluster_url: str, stop, start, database_url: str, prefix: str, down: float = 6.0) -> dict:
    """Light load (4 users, a refused message resent after RETRY_PAUSE); the service is stopped after 3 s
    and started again `down` s later; the load goes on for 12 s after that."""
    marks = {}

    async def timeline(_replies) -> None:
        await asyncio.sleep(3)
        marks["down"] = time.monotonic()
        await asyncio.to_thread(stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(start)
        marks["up"] = time.monotonic()

    conversations = conversation_turns(40, seed=hash(prefix) % 1000)
    replies = await closed_loop(
        cluster_url,
        4,
        conversations,
        prefix,
        deadline=time.monotonic() + 3 + down + 12,
        resend_refused=True,
        during=timeline,
    )
    during = [r for r in replies if marks["down"] <= r.at <= marks["up"]]
    after = [r for r in replies if r.at > marks["up"]]
    first_ok = next((r.at for r in sorted(after, key=lambda r: r.at) if r.status == 200), None)
    refused = [r for r in replies if r.status == 503]
    danish = [r for r in refused if any(m.get("text") == unavailable_text() for m in r.messages)]
    other = [r for r in replies if r.status not in (200, 503) or (r.status == 200 and not r.messages)]
    last_503 = max((r.at for r in refused), default=None)
    return {
        "answered during": sum(r.status == 200 for r in during),
        "refused (503)": len(refused),
        "503 with the Danish text": len(danish),
        "other errors": len(other),
        "first answer after restart (s)": round(first_ok - marks["up"], 1) if first_ok else None,
        "last 503 after restart (s)": round(last_503 - marks["up"], 1)
        if last_503 and last_503 > marks["up"]
        else None,
        "tracker": verify_tracker(database_url, replies, prefix),
    }


async def failover(cluster, database_url: str, prefix: str, conversations: list[list[str]]) -> dict:
    """20 users; once a third of the messages are answered, replica 2's Rasa server is killed (SIGKILL)."""
    total = sum(len(c) for c in conversations)

    async def kill(replies) -> None:
        while len(replies) < total // 3:
            await asyncio.sleep(0.02)
        os.killpg(cluster.rasa_process(1).pid, signal.SIGKILL)  # the replica's Rasa server dies

    started = time.monotonic()
    replies = await closed_loop(cluster.url, 20, conversations, prefix, during=kill)
    summary = summarise(replies, time.monotonic() - started)
    summary["retried by nginx"] = sum("," in r.replica for r in replies)
    summary["error replies"] = [(r.status, r.error or r.messages[:1]) for r in replies if r.status != 200][:5]
    summary["tracker"] = verify_tracker(database_url, replies, prefix)
    return summary


def _row(name: str, s: dict) -> str:
    cpu = f"{s['cpu_ms']:.0f}" if "cpu_ms" in s else "–"
    return (
        f"| {name} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['rate']:.1f} | {cpu} | "
        f"{s['errors']} / {s['messages']} | {s['empty']} |"
    )


def _median_summary(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


async def compare_one_replica(
    ours_url: str,
    ours_pids: list[int],
    base_url: str,
    base_pid: int,
    rounds: int,
    conversations: list[list[str]],
) -> dict:
    """Ours and the baseline, one replica each, in alternating rounds at 1 and 10 concurrent conversations."""
    results = defaultdict(list)
    for number in range(rounds):
        for concurrency in (1, 10):
            runs = conversations[: max(concurrency * 6, 12)]
            for name, url, pids in (("ours", ours_url, ours_pids), ("baseline", base_url, [base_pid])):
                result = await measure(url, concurrency, runs, f"{name}-{number}-{concurrency}", pids)
                results[(name, concurrency)].append(result)
                print(
                    f"round {number + 1} {name:8} c={concurrency:<2} "
                    + ", ".join(
                        f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()
                    ),
                    flush=True,
                )
    return results


async def reliability(cluster, database_url: str, redis, pg) -> dict:
    """Order/no loss with 20 conversations, the two outages, then a killed replica (the last:
    it stays dead)."""
    await closed_loop(cluster.url, 4, conversation_turns(4, seed=2), "warm")
    started = time.monotonic()
    replies = await closed_loop(cluster.url, 20, conversation_turns(60, seed=11), "order")
    order = summarise(replies, time.monotonic() - started)
    order["tracker"] = verify_tracker(database_url, replies, "order")
    order["switched"], order["pairs"] = replica_switches(replies)
    print(f"2 replicas, 20 conversations: {order}", flush=True)
    redis_outage = await outage(cluster.url, redis.stop, redis.start, database_url, "redis")
    print(f"Redis outage: {redis_outage}", flush=True)
    pg_outage = await outage(cluster.url, pg.stop, pg.start, database_url, "postgres")
    print(f"PostgreSQL outage: {pg_outage}", flush=True)
    killed = await failover(cluster, database_url, "kill", conversation_turns(60, seed=13))
    print(f"replica killed: {killed}", flush=True)
    return {"order": order, "redis": redis_outage, "postgres": pg_outage, "killed": killed}


async def run(args) -> str:
    from bot.ops.cluster import start_cluster
    from bot.ops.training import train
    from core.config import cluster_settings
    from evaluation.services import PrivatePostgres, PrivateRedis
    from tests.conftest import free_port

    settings = load_settings()
    train(settings)
    figures = {"load_start": load_average(), "rounds": args.rounds}
    folder = (
        contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="forlob-load-")
    )
    with folder as tmp:
        tmp = Path(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o755)  # PostgreSQL runs as its own user (we may be root)
        redis, pg = PrivateRedis(tmp / "redis", free_port()), PrivatePostgres(tmp / "pg", free_port())
        baseline = cluster = None
        try:
            redis.start()
            pg.init().start()
            ours_db, base_db = pg.create_database("forlob"), pg.create_database("baseline")
            if args.baseline_model:
                model = Path(args.baseline_model)
            else:
                print("training Rasa's starter assistant (rasa init) …", flush=True)
                model = train_baseline(tmp / "starter")
            baseline, figures["base_ready"] = start_baseline(
                model, model.parent.parent, free_port(), base_db, redis.port
            )
            ours_settings = cluster_settings(
                settings, {"TRACKER_STORE_URL": ours_db, "LOCK_STORE_URL": redis.url}
            )
            started = time.monotonic()
            cluster = start_cluster(
                ours_settings,
                1,
                port=free_port(),
                replica_ports=[(free_port(), free_port())],
                workdir=tmp / "cluster-1",
            )
            figures["ready"] = time.monotonic() - started
            ours_pids = [p.pid for p in cluster.replicas[0].processes]
            figures["single"] = await compare_one_replica(
                cluster.replicas[0].rasa_url,
                ours_pids,
                f"http://127.0.0.1:{baseline.args[-1]}",
                baseline.pid,
                args.rounds,
                conversation_turns(args.conversations),
            )
            figures["rss"] = rss_mb(cluster.rasa_process(0).pid), rss_mb(baseline.pid), rss_mb(ours_pids[0])
            cluster.stop()
            started = time.monotonic()
            cluster = start_cluster(
                ours_settings,
                2,
                port=free_port(),
                replica_ports=[(free_port(), free_port()) for _ in range(2)],
                workdir=tmp / "cluster-2",
            )
            figures["ready_2"] = time.monotonic() - started
            figures.update(await reliability(cluster, ours_db, redis, pg))
        finally:
            if cluster is not None:
                cluster.stop()
            if baseline is not None:
                baseline.terminate()
                baseline.wait(30)
            redis.stop()
            pg.stop()
    figures["load_end"] = load_average()
    return report(figures)


def report(f: dict) -> str:
    single = f["single"]
    ours = {c: _median_summary(single[("ours", c)]) for c in (1, 10)}
    base = {c: _median_summary(single[("baseline", c)]) for c in (1, 10)}

    def paired(key: str, c: int) -> float:  # median over rounds of ours/baseline measured side by side
        return statistics.median(
            o[key] / b[key] for o, b in zip(single[("ours", c)], single[("baseline", c)])
        )

    ours_rss, base_rss, actions_rss = f["rss"]
    order, killed = f["order"], f["killed"]
    lines = [
        f"# Load benchmark ({dt.datetime.now():%Y-%m-%d %H:%M}, `python -m benchmarks.load`)",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other work: load average {f['load_start']} at the "
        f"start, {f['load_end']} at the end, so single figures are noisy; rows are medians of {f['rounds']} "
        "rounds that alternate between ours and the baseline, ratios the median of the per-round ratios. "
        "Each conversation: 5 turns from tests/data/nlu_holdout.yml, sent one after another (closed loop) "
        "through the REST webhook. Latency in ms over answered (HTTP 200) messages; CPU = the servers' CPU "
        "time per message (ours: Rasa + action server); empty = answered without a bot message.",
        "",
        "| run | p50 | p95 | p99 | messages/s | CPU ms/msg | errors | empty |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in (1, 10):
        lines += [
            _row(f"ours, 1 replica, {c} conversation(s)", ours[c]),
            _row(f"Rasa starter (`rasa init`), 1 replica, {c} conversation(s)", base[c]),
        ]
    lines += [
        _row("ours, 2 replicas behind nginx, 20 conversations", order),
        "",
        "| ours / baseline | value | target |",
        "|---|---|---|",
        f"| throughput at 10 conversations | {paired('rate', 10):.2f}× | ≥ 1.5× |",
        f"| p95 at 10 conversations | {paired('p95', 10):.2f} | ≤ 1 |",
        f"| CPU per message at 10 conversations | {paired('cpu_ms', 10):.2f} | – |",
        f"| p50 at 1 conversation | {paired('p50', 1):.2f} | – |",
        "",
        "| figure | ours | baseline | target |",
        "|---|---|---|---|",
        f"| Rasa server RSS after the load (peak) | {ours_rss[0]:.0f} MB ({ours_rss[1]:.0f} MB) | "
        f"{base_rss[0]:.0f} MB ({base_rss[1]:.0f} MB) | ≤ 1 200 MB |",
        f"| action server RSS | {actions_rss[0]:.0f} MB | – | – |",
        f"| start to ready, 1 replica (action + Rasa server, then nginx) | {f['ready']:.0f} s | "
        f"{f['base_ready']:.0f} s | ≤ 60 s |",
        f"| start to ready, 2 replicas at once | {f['ready_2']:.0f} s | – | – |",
        "",
        "Reliability (2 replicas behind nginx, PostgreSQL tracker store, Redis lock store):",
        "",
        f"- 20 concurrent conversations, {order['tracker']['messages']} messages: consecutive messages of "
        f"one conversation on different replicas in {order['switched']} of {order['pairs']} pairs; tracker "
        f"store: {len(order['tracker']['problems'])} problems (lost, duplicated, out of order or a different "
        "bot turn).",
        f"- Rasa replica 2 killed (SIGKILL) after a third of {killed['messages']} messages: "
        f"{killed['errors']} client-visible errors, {killed['retried by nginx']} requests retried by nginx, "
        f"max latency {killed['max'] / 1000:.1f} s; tracker store: {len(killed['tracker']['problems'])} "
        "problems.",
        f"- Redis stopped for 6 s under load: {_outage_line(f['redis'])}",
        f"- PostgreSQL stopped for 6 s under load: {_outage_line(f['postgres'])}",
    ]
    for check in (order["tracker"], killed["tracker"], f["redis"]["tracker"], f["postgres"]["tracker"]):
        lines += [f"  - {p}" for p in check["problems"][:5]]
    return "\n".join(lines) + "\n"


def _outage_line(result: dict) -> str:
    last = result["last 503 after restart (s)"]
    return (
        f"{result['refused (503)']} replies were HTTP 503 ({result['503 with the Danish text']} with the "
        f'Danish "prøv igen om lidt" text), {result["other errors"]} other errors; the first answer came '
        f"{result['first answer after restart (s)']} s after the restart, "
        f"{'no 503 after it' if last is None else f'the last 503 {last} s after it'}; "
        f"tracker store: {len(result['tracker']['problems'])} problems."
    )


# -- multi-turn mode (issue 19): as a user runs each, scripted conversations of 20 turns ------------------
def scripted_conversations(path: Path = TURNS) -> list[list[str]]:
    """The committed script: one list of turns (user messages) per conversation."""
    return [c["turns"] for c in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]]


@dataclass
class Server:
    key: str  # short name: ours-300, ours-0, starter
    label: str
    url: str
    pids: list[int]  # whose CPU time is counted
    rasa_pid: int
    ready: float  # seconds from start to ready


def start_starter(model: Path, port: int) -> tuple[subprocess.Popen, float]:
    """`rasa run` of the starter assistant in its `rasa init` folder, with that folder's endpoints.yml and
    credentials.yml as `rasa init` wrote them (tracker and lock store in memory, REST channel on)."""
    return run_starter(model, model.parent.parent, port, "starter.log", [])


def start_ours(settings, cache_size: str, folder: Path):
    """Ours as `make run` starts it (action server, Rasa server, web app), on a fresh SQLite tracker store."""
    from bot.ops.processes import make_stack
    from tests.conftest import free_port

    folder.mkdir(parents=True, exist_ok=True)
    stack = make_stack(
        settings,
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        extra_env={
            "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.sqlite'}",
            "LOCK_STORE_URL": "",
            "TRACKER_CACHE_SIZE": cache_size,
        },
        log_dir=folder,
    )
    started = time.monotonic()
    stack.start()
    return stack, time.monotonic() - started


async def multi_turn_run(server: Server, conversations: list[list[str]], prefix: str) -> dict:
    """All conversations at once, closed loop; the servers' CPU time per answered message."""
    started, cpu = time.monotonic(), cpu_seconds(server.pids)
    replies = await closed_loop(server.url, len(conversations), conversations, prefix)
    result = summarise(replies, time.monotonic() - started)
    result["cpu_ms"] = 1000 * (cpu_seconds(server.pids) - cpu) / max(1, result["ok"])
    return result


async def turn_costs(servers: list[Server], conversations: list[list[str]], prefix: str) -> dict:
    """One conversation at a time (on each server in turn): CPU ms and latency ms of each message, by server
    key and turn index, over the conversations; only messages answered with HTTP 200."""
    import aiohttp

    costs = {s.key: defaultdict(list) for s in servers}
    ticks = {s.key: defaultdict(list) for s in servers}  # the same from utime+stime (10 ms ticks), as a check
    latencies = {s.key: defaultdict(list) for s in servers}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for number, conversation in enumerate(conversations):
            for server in servers:
                for turn, text in enumerate(conversation):
                    await asyncio.sleep(SETTLE)
                    before, before_ticks = run_seconds(server.pids), cpu_seconds(server.pids)
                    reply = await _send(session, server.url, f"{prefix}-{server.key}-{number}", turn, text)
                    await asyncio.sleep(SETTLE)
                    if reply.status == 200:
                        costs[server.key][turn].append(1000 * (run_seconds(server.pids) - before))
                        ticks[server.key][turn].append(1000 * (cpu_seconds(server.pids) - before_ticks))
                        latencies[server.key][turn].append(1000 * reply.latency)
    return {"cpu": costs, "ticks": ticks, "latency": latencies}


def _collapsed(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: (frames root first, 'function (file)' without line numbers, count)."""
    import re

    samples = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            frame = re.sub(r":\d+\)$", ")", frame.strip())
            frame = re.sub(r"\(/.*?/site-packages/", "(", frame)
            frames.append(frame.replace(f"({ROOT}/", "("))
        samples.append((frames, int(count)))
    return samples


PROFILE_GROUPS = (  # (label, substring of a frame), the first one found from the leaf up names the sample
    ("tracker store: SQLite/SQLAlchemy", "sqlalchemy/"),
    ("tracker store: JSON and events (de)serialised", "rasa/shared/core/events.py"),
    ("tracker store: bot/server/tracker_store.py, other", "bot/server/tracker_store.py"),
    ("redaction (core/redaction.py)", "core/redaction.py"),
    ("TensorFlow / Keras (DIET, TED)", "tensorflow/"),
    ("TensorFlow / Keras (DIET, TED)", "keras/"),
    ("policies' featurisation and prediction (rasa/core)", "rasa/core/policies/"),
    ("policies' featurisation and prediction (rasa/core)", "rasa/core/featurizers/"),
    ("tracker: DialogueStateTracker replay / states", "rasa/shared/core/trackers.py"),
    ("tracker: DialogueStateTracker replay / states", "rasa/shared/core/generator.py"),
    ("NLU pipeline (spaCy, featurisers, our components)", "spacy/"),
    ("NLU pipeline (spaCy, featurisers, our components)", "rasa/nlu/"),
    ("NLU pipeline (spaCy, featurisers, our components)", "rasa/engine/"),
    ("our knowledge base / matcher", "knowledge_base/"),
    ("our actions", "actions/"),
    ("HTTP (sanic, aiohttp)", "sanic/"),
    ("HTTP (sanic, aiohttp)", "aiohttp/"),
    ("rasa other", "rasa/"),
    ("rasa_sdk other", "rasa_sdk/"),
)


# innermost frames of threads that wait, which py-spy does not recognise as idle: a worker thread waiting for
# work, the event loop waiting in uvloop's C code (sanic), a thread waiting on a condition
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py)",
    "serve (sanic/server/runners.py)",
    "wait (threading.py)",
    "select (selectors.py)",
    "run_forever (asyncio/base_events.py)",
    "_run_once (asyncio/base_events.py)",
)
# frames every busy sample passes through on the way to the work (entry points, HTTP, channel)
ENTRY_FRAMES = (
    "runpy.py)",
    "<module> (",
    "main (",
    "run (rasa/cli/",
    "run (rasa/api.py)",
    "serve_application (",
    "run (sanic/app.py)",
    "serve_single (",
    "serve (sanic/",
    "connection_task (",
    "http1 (",
    "handle_request (",
    "receive (rasa/core/channels/",
    "handler (rasa/core/channels/",
    "_bootstrap",
    "run (threading.py)",
    "_worker (concurrent/futures/thread.py)",
    "run (concurrent/futures/thread.py)",
    "run (rasa_sdk/endpoint",
    "main_from_args (",
    "_run (asyncio/events.py)",
)


def profile_summary(path: Path, top: int = 15) -> dict:
    """Busy samples (IDLE_LEAVES left out) by group (PROFILE_GROUPS, innermost match) and the functions with
    the largest share of busy samples on their stack (ENTRY_FRAMES left out) or innermost (self)."""
    samples = _collapsed(path)
    everything = sum(count for _, count in samples)
    samples = [(frames, count) for frames, count in samples if frames[-1] not in IDLE_LEAVES]
    total = sum(count for _, count in samples) or 1
    groups, inclusive, own = defaultdict(int), defaultdict(int), defaultdict(int)
    for frames, count in samples:
        group = next(
            (label for frame in reversed(frames) for label, key in PROFILE_GROUPS if key in frame), "other"
        )
        groups[group] += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def ranked(counts):
        return [
            (f, n / total)
            for f, n in sorted(counts.items(), key=lambda kv: -kv[1])
            if not any(b in f for b in ENTRY_FRAMES)
        ][:top]

    return {
        "samples": total,
        "idle": everything - total,
        "groups": sorted(((g, n / total) for g, n in groups.items()), key=lambda kv: -kv[1]),
        "functions": ranked(inclusive),
        "self": ranked(own),
    }


async def profile_ours(
    server: Server, actions_pid: int, conversations: list[list[str]], folder: Path, passes: int = 2
) -> dict:
    """py-spy records ours while all conversations run at once, `passes` times (fresh senders), twice: first
    the Rasa server and the action server (threads that are not idle: Python, C code, waiting on the disk),
    then the Rasa server with --gil (only samples holding the GIL: the Python work that queues behind the one
    interpreter lock). py-spy stops on SIGINT and writes its raw (collapsed-stack) output."""
    import signal

    spy = Path(sys.executable).parent / "py-spy"
    result = {"commands": {}, "runs": []}
    for group in (
        (("rasa", server.rasa_pid, []), ("actions", actions_pid, [])),
        (("rasa-gil", server.rasa_pid, ["--gil"]),),
    ):
        recorders = {}
        for name, pid, extra in group:
            out = folder / f"profile-{name}.txt"
            command = [
                str(spy),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "100",
                *extra,
                "--format",
                "raw",
                "--output",
                str(out),
            ]
            result["commands"][name] = (
                " ".join(command).replace(str(folder), "DIR").replace(str(ROOT) + "/", "")
            )
            recorders[name] = (
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                out,
            )
        await asyncio.sleep(2)
        started, cpu = time.monotonic(), cpu_seconds(server.pids)
        messages = 0
        for number in range(passes):
            replies = await closed_loop(
                server.url, len(conversations), conversations, f"profile-{group[0][0]}-{number}"
            )
            messages += sum(r.status == 200 for r in replies)
        wall, cpu = time.monotonic() - started, cpu_seconds(server.pids) - cpu
        result["runs"].append(
            {"messages": messages, "rate": messages / wall, "cpu_ms": 1000 * cpu / max(1, messages)}
        )
        for name, (process, out) in recorders.items():
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
            result[name] = profile_summary(out) if out.exists() else None
    return result


async def run_multi_turn(args) -> str:
    from bot.ops.training import train
    from tests.conftest import free_port

    settings = load_settings()
    train(settings)
    conversations = scripted_conversations()[: args.conversations or None]
    figures = {
        "load_start": load_average(),
        "rounds": args.rounds,
        "conversations": conversations,
        "command": args.command,
        "started": dt.datetime.now(),
    }
    folder = (
        contextlib.nullcontext(args.keep)
        if args.keep
        else tempfile.TemporaryDirectory(prefix="forlob-turns-")
    )
    with folder as tmp:
        tmp = Path(tmp).resolve()
        tmp.mkdir(parents=True, exist_ok=True)
        servers, stoppers = [], []
        try:
            if args.baseline_model:
                model = Path(args.baseline_model)
            else:
                print("training Rasa's starter assistant (rasa init) …", flush=True)
                model = train_baseline(tmp / "starter")
            starter, ready = start_starter(model, free_port())
            stoppers.append(lambda p=starter: (p.terminate(), p.wait(30)))
            servers.append(
                Server(
                    "starter",
                    "Rasa starter (`rasa init`, in-memory tracker store)",
                    f"http://127.0.0.1:{starter.args[-1]}",
                    [starter.pid],
                    starter.pid,
                    ready,
                )
            )
            actions = {}
            for size in CACHE_SIZES:
                stack, ready = start_ours(settings, size, tmp / f"ours-{size}")
                stoppers.append(stack.stop)
                action_process, rasa_process = stack.processes[0], stack.processes[1]
                actions[f"ours-{size}"] = action_process.pid
                servers.insert(
                    len(servers) - 1,
                    Server(
                        f"ours-{size}",
                        f"ours (`make run`, SQLite), TRACKER_CACHE_SIZE={size}",
                        stack.rasa_url,
                        [rasa_process.pid, action_process.pid],
                        rasa_process.pid,
                        ready,
                    ),
                )
            print("ready: " + ", ".join(f"{s.key} {s.ready:.0f} s" for s in servers), flush=True)
            for server in servers:  # warm-up: two conversations each (first TensorFlow calls, caches)
                await closed_loop(server.url, 2, conversations[:2], f"warm-{server.key}")
            results = defaultdict(list)
            for number in range(args.rounds):
                order = servers[number % len(servers) :] + servers[: number % len(servers)]
                for server in order:
                    result = await multi_turn_run(server, conversations, f"r{number}-{server.key}")
                    results[server.key].append(result)
                    print(
                        f"round {number + 1} {server.key:8} "
                        + ", ".join(
                            f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()
                        ),
                        flush=True,
                    )
            figures["results"] = results
            print("single-conversation pass (CPU per message by turn) …", flush=True)
            figures["turns"] = await turn_costs(servers, conversations, "turns")
            figures["rss"] = {s.key: rss_mb(s.rasa_pid) for s in servers}
            figures["actions_rss"] = {k: rss_mb(pid)[0] for k, pid in actions.items()}
            figures["servers"] = servers
            if args.profile:
                print("profiling ours (cache 300) with py-spy …", flush=True)
                ours = next(s for s in servers if s.key == "ours-300")
                figures["profile"] = await profile_ours(ours, actions["ours-300"], conversations, tmp)
        finally:
            for stop in reversed(stoppers):
                with contextlib.suppress(Exception):
                    stop()
    figures["load_end"] = load_average()
    return multi_turn_report(figures)


def _turn_figure(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} (mean {statistics.fmean(values):.0f})" if values else "–"


def multi_turn_report(f: dict) -> str:
    results, servers, turns = f["results"], f["servers"], f["turns"]
    base = "starter"
    lengths = sorted({len(c) for c in f["conversations"]})
    rows = {s.key: _median_summary(results[s.key]) for s in servers}

    def paired(key: str, ours: str) -> float:  # median over rounds of ours/starter measured in the same round
        return statistics.median(o[key] / b[key] for o, b in zip(results[ours], results[base]))

    def span(key: str, name: str) -> str:
        values = [r[key] for r in results[name]]
        return f"{min(values):.{1 if key == 'rate' else 0}f}–{max(values):.{1 if key == 'rate' else 0}f}"

    lines = [
        f"# Multi-turn load benchmark ({f['started']:%Y-%m-%d %H:%M}, `{f['command']}`)",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other work: load average {f['load_start']} at the "
        f"start, {f['load_end']} at the end. Turns: benchmarks/data/load_conversations.yml, "
        f"{len(f['conversations'])} conversations of {'/'.join(map(str, lengths))} turns (greetings, "
        "context, topic questions, organisation look-ups, feedback buttons, thanks), the same for each "
        "server. Each server as a user runs it: ours as `make run` starts it (SQLite tracker store, "
        "in-memory lock, action server), twice, with the tracker cache on (TRACKER_CACHE_SIZE=300, the "
        "default) and off (=0); Rasa's starter assistant as `rasa init` makes it (in-memory tracker store, "
        "no action server). All three run side by side; per round each gets all conversations at once, "
        f"closed loop, in rotating order. Rows: medians of {f['rounds']} rounds (range over rounds in "
        "brackets); ratios: median of the per-round ratios. Latency in ms over answered (HTTP 200) messages; "
        "CPU: the servers' utime+stime (/proc/<pid>/stat) per answered message (ours: Rasa + action server).",
        "",
        "| server | messages/s | p50 | p95 | p99 | CPU ms/msg | errors | empty | ready |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in servers:
        r = rows[s.key]
        lines.append(
            f"| {s.label} | {r['rate']:.1f} ({span('rate', s.key)}) | {r['p50']:.0f} | {r['p95']:.0f} "
            f"({span('p95', s.key)}) | {r['p99']:.0f} | {r['cpu_ms']:.0f} ({span('cpu_ms', s.key)}) | "
            f"{r['errors']:.0f} / {r['messages']:.0f} | {r['empty']:.0f} | {s.ready:.0f} s |"
        )
    lines += [
        "",
        "| ours / starter, all conversations at once | cache 300 | cache 0 | target |",
        "|---|---|---|---|",
        f"| throughput | {paired('rate', 'ours-300'):.2f}× | {paired('rate', 'ours-0'):.2f}× | ≥ 2.0× |",
        f"| p95 | {paired('p95', 'ours-300'):.2f} | {paired('p95', 'ours-0'):.2f} | ≤ 0.6 |",
        f"| server CPU per message | {paired('cpu_ms', 'ours-300'):.2f} | {paired('cpu_ms', 'ours-0'):.2f} | "
        "≤ 0.5 |",
        "",
    ]
    last = max(lengths) - 1
    lines += [
        "One conversation at a time (each message's own CPU cost: the servers' threads' run time from "
        "/proc/<pid>/task/*/schedstat before and after it, ns precision): median over the conversations "
        "(mean in brackets), in ms; the 1st message starts the session.",
        "",
        f"| server | CPU 1st | CPU 2nd | CPU {last + 1}th | {last + 1}th / 2nd | CPU turns 2–5 | CPU turns "
        f"{last - 2}–{last + 1} | latency 2nd | latency {last + 1}th |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in servers:
        cpu, lat = turns["cpu"][s.key], turns["latency"][s.key]
        early = [v for t in range(1, 5) for v in cpu.get(t, [])]
        late = [v for t in range(last - 3, last + 1) for v in cpu.get(t, [])]
        second, final = cpu.get(1, []), cpu.get(last, [])
        ratio = (
            f"{statistics.median(final) / statistics.median(second):.2f}"
            if second and final and statistics.median(second)
            else "–"
        )
        lines.append(
            f"| {s.key} | {_turn_figure(cpu.get(0, []))} | {_turn_figure(second)} | {_turn_figure(final)} | "
            f"{ratio} | {_turn_figure(early)} | {_turn_figure(late)} | "
            f"{_turn_figure(lat.get(1, []))} | {_turn_figure(lat.get(last, []))} |"
        )
    check = ", ".join(
        f"{s.key} {statistics.fmean(turns['ticks'][s.key][1]):.0f} → "
        f"{statistics.fmean(turns['ticks'][s.key][last]):.0f}"
        for s in servers
        if turns["ticks"][s.key].get(1) and turns["ticks"][s.key].get(last)
    )
    lines += [
        "",
        f"Target: the {last + 1}th message costs at most 1.2× the CPU of the 2nd (ours, cache 300). The same "
        f"from utime+stime (/proc/<pid>/stat, 10 ms ticks), mean of the 2nd → {last + 1}th: {check} ms.",
        "",
        "| Rasa server RSS after the load (peak) | value | target |",
        "|---|---|---|",
    ]
    for s in servers:
        now, peak = f["rss"][s.key]
        extra = f"; action server {f['actions_rss'][s.key]:.0f} MB" if s.key in f["actions_rss"] else ""
        lines.append(f"| {s.key} | {now:.0f} MB ({peak:.0f} MB){extra} | ≤ 1 200 MB |")
    profile = f.get("profile")
    if profile:
        runs = "; ".join(
            f"{r['messages']} messages, {r['rate']:.1f} messages/s, {r['cpu_ms']:.0f} ms CPU per message"
            for r in profile["runs"]
        )
        lines += [
            "",
            "Profile of ours (cache 300) under the same load: two extra unmeasured runs of all conversations "
            f"at once, twice each, with py-spy sampling at 100 Hz ({runs}). Commands (DIR: the run's work "
            "folder, `--keep DIR` keeps it):",
            "",
        ]
        lines += [f"    {command}" for command in profile["commands"].values()]
        for name, title in (
            ("rasa", "Rasa server, threads not idle"),
            ("rasa-gil", "Rasa server, samples holding the GIL (--gil)"),
            ("actions", "action server, threads not idle"),
        ):
            summary = profile.get(name)
            if not summary:
                lines += ["", f"{title}: no profile written."]
                continue
            lines += [
                "",
                f"{title}: {summary['samples']} busy samples ({summary['idle']} of threads waiting left "
                "out), by what the sample was doing (first match from the innermost frame out):",
                "",
                "| share | group |",
                "|---|---|",
            ]
            lines += [f"| {share:.0%} | {group} |" for group, share in summary["groups"][:12]]
            lines += [
                "",
                f"{title}: functions by share of busy samples, on the stack (inclusive) and innermost "
                "(self):",
                "",
                "| inclusive | function (file) | self | function (file) |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {a:.0%} | `{fa}` | {b:.0%} | `{fb}` |"
                for (fa, a), (fb, b) in zip(summary["functions"], summary["self"])
            ]
    return "\n".join(lines) + "\n"


def write_section(name: str, text: str) -> None:
    """Replace this mode's section of RESULTS (between its markers), leaving the rest of the file; a section
    not there yet goes first."""
    start, end = f"<!-- benchmarks.load {name}: start -->", f"<!-- benchmarks.load {name}: end -->"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + block + ("\n" + tail if tail else "")
    else:
        new = block + ("\n" + old if old else "")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--multi-turn",
        action="store_true",
        help="ours (cache 300 and 0) against the starter assistant as users run them, on the scripted "
        f"multi-turn conversations of {TURNS.relative_to(ROOT)} (no cluster, no outages)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating ours/baseline rounds (median reported)"
    )
    parser.add_argument(
        "--conversations",
        type=int,
        help="conversations per measured run (at most; default 60, "
        "with --multi-turn all of the script's, run at once)",
    )
    parser.add_argument("--profile", action="store_true", help="--multi-turn: also record ours with py-spy")
    parser.add_argument(
        "--baseline-model", help="a starter model already trained with `rasa init` (skips training)"
    )
    parser.add_argument(
        "--keep", help="work in this folder and keep it (logs of every server) instead of a temp one"
    )
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    shown, skip = [], False  # the command as written in the results: without where the logs went
    for arg in sys.argv[1:]:
        if not skip and arg not in ("--keep", "--no-write") and not arg.startswith("--keep="):
            shown.append(arg)
        skip = arg == "--keep"
    args.command = " ".join(["python -m benchmarks.load", *shown])
    if args.multi_turn:
        report, section = asyncio.run(run_multi_turn(args)), "multi-turn"
    else:
        args.conversations = args.conversations or 60
        report, section = asyncio.run(run(args)), "cluster"
    print("\n" + report)
    if not args.no_write:
        write_section(section, report)
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

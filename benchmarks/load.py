"""Load and reliability benchmark of the scale-out: closed-loop conversations through the REST webhook.

Same run, same machine, same PostgreSQL tracker store and Redis lock store (private servers on free
loopback ports, so the outages below touch nothing else):
1. ours on one replica against Rasa's own starter assistant (`rasa init`, trained into a temp folder,
   stock `rasa run`) on one replica: p50/p95/p99 latency, messages/s, errors, at 1 and 10 concurrent
   conversations, rounds alternating between the two; Rasa server RSS (/proc) and time to ready;
2. two replicas behind nginx (`bot.cluster`), 20 concurrent conversations; afterwards the tracker store
   is read: every message the client got an answer to is stored once, in the order sent, with the bot
   turn the client saw; consecutive messages of a conversation that hit different replicas are counted;
3. a Redis outage and a PostgreSQL outage under load (stopped, then started again): what the client got
   meanwhile, when answers came back, and the tracker store check again;
4. one Rasa replica killed (SIGKILL) mid-load: client-visible errors, retried requests, tracker check.

Run: `python -m benchmarks.load [--rounds 2] [--baseline-model PATH]`; results also go to
benchmarks/results/load.md. Needs nginx, redis-server and PostgreSQL's server binaries. Each conversation
is five turns from tests/data/nlu_holdout.yml: a greeting, three questions, a thank-you/good-bye.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmarks.matcher import percentile
from benchmarks.nlu import DATA, examples
from bot.availability import UNAVAILABLE_TEXT
from bot.config import ROOT, load_settings, rasa_environment

RESULTS = ROOT / "benchmarks" / "results" / "load.md"
OPENING = {"greet"}
CLOSING = {"thank", "goodbye"}
SKIPPED = OPENING | CLOSING | {"out_of_scope", "bot_challenge", "start_over", "feedback_positive",
                               "feedback_negative", "request_human"}
RETRY_PAUSE = 0.5  # seconds a client waits before resending a message that got 503


# -- conversations and the closed loop ---------------------------------------------------------------
def conversation_turns(count: int, seed: int = 7) -> list[list[str]]:
    """`count` conversations of five realistic turns each, drawn from the held-out NLU set."""
    by_intent = defaultdict(list)
    for text, intent in examples(DATA / "nlu_holdout.yml"):
        by_intent[intent].append(text)
    questions = [t for intent, texts in by_intent.items() if intent not in SKIPPED for t in texts]
    openings = [t for i in OPENING for t in by_intent[i]]
    closings = [t for i in CLOSING for t in by_intent[i]]
    rng = random.Random(seed)
    return [[rng.choice(openings), *rng.sample(questions, 3), rng.choice(closings)] for _ in range(count)]


@dataclass
class Reply:
    sender: str
    turn: int
    text: str
    status: int  # 0: no HTTP answer (connection error, timeout)
    latency: float  # seconds
    at: float  # time.monotonic() when the answer arrived
    replica: str = ""  # nginx's X-Forlob-Replica: the upstream(s) tried, comma-separated after a retry
    messages: list = field(default_factory=list)
    error: str = ""


async def _send(session, url: str, sender: str, turn: int, text: str) -> Reply:
    started = time.perf_counter()
    try:
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as resp:
            body = await resp.text()
            messages = json.loads(body) if body.startswith("[") else []
            return Reply(sender, turn, text, resp.status, time.perf_counter() - started, time.monotonic(),
                         resp.headers.get("X-Forlob-Replica", ""), messages)
    except (OSError, asyncio.TimeoutError, ValueError) as exc:  # aiohttp's errors are OSErrors or timeouts
        return Reply(sender, turn, text, 0, time.perf_counter() - started, time.monotonic(), error=repr(exc))


async def closed_loop(url: str, concurrency: int, conversations: list[list[str]], prefix: str,
                      deadline: float | None = None, resend_refused: bool = False, during=None) -> list[Reply]:
    """`concurrency` users, each taking the next conversation from the list and sending its turns one after
    another (each as soon as the previous answer arrived), until the list is used up or `deadline`
    (time.monotonic()) has passed; with `deadline` the list is cycled. `during(replies)` runs alongside."""
    import aiohttp

    replies: list[Reply] = []
    counter = iter(range(10**9))
    timeout = aiohttp.ClientTimeout(total=120)

    async def user(session) -> None:
        while True:
            number = next(counter)
            if deadline is None and number >= len(conversations):
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            sender = f"{prefix}-{number}"
            for turn, text in enumerate(conversations[number % len(conversations)]):
                while True:
                    reply = await _send(session, url, sender, turn, text)
                    replies.append(reply)
                    if not (resend_refused and reply.status == 503) or time.monotonic() >= (deadline or 0):
                        break
                    await asyncio.sleep(RETRY_PAUSE)

    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        side = asyncio.ensure_future(during(replies)) if during else None
        await asyncio.gather(*(user(session) for _ in range(concurrency)))
        if side is not None:
            await side
    return replies


def summarise(replies: list[Reply], wall: float) -> dict:
    """Latency and rate over the answered messages (HTTP 200); `empty`: answered with no bot message (the
    starter assistant does that for some questions); `errors`: anything but HTTP 200."""
    ok = [r for r in replies if r.status == 200]
    latencies = sorted(r.latency * 1000 for r in ok) or [0.0]
    return {"messages": len(replies), "ok": len(ok), "errors": len(replies) - len(ok),
            "empty": sum(not r.messages for r in ok),
            "p50": statistics.median(latencies), "p95": percentile(latencies, 95), "p99": percentile(latencies, 99),
            "max": latencies[-1], "rate": len(ok) / wall if wall else 0.0}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far (/proc/<pid>/stat), in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(sum(int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]) / ticks
               for pid in pids)


async def measure(url: str, concurrency: int, conversations: list[list[str]], prefix: str, pids: list[int]) -> dict:
    """One closed-loop run after a short warm-up; also the servers' CPU time per answered message."""
    await closed_loop(url, concurrency, conversations[:concurrency], f"{prefix}-warm")
    started, cpu = time.monotonic(), cpu_seconds(pids)
    replies = await closed_loop(url, concurrency, conversations, prefix)
    result = summarise(replies, time.monotonic() - started)
    result["cpu_ms"] = 1000 * (cpu_seconds(pids) - cpu) / max(1, result["ok"])
    return result


# -- what the tracker store holds ------------------------------------------------------------------------
def _joined(texts) -> str:
    return "\n\n".join(t for t in texts if t)


def verify_tracker(database_url: str, replies: list[Reply], prefix: str) -> dict:
    """Compare what each conversation's client was answered (HTTP 200) with the stored events: the user
    messages in the order sent, each once, each followed by exactly the bot turn the client received (as
    stored: phone numbers and e-mail addresses redacted, also in the bot's own replies)."""
    from sqlalchemy import create_engine, text

    from bot.privacy.redaction import redact_value

    expected = defaultdict(list)
    for reply in sorted(replies, key=lambda r: r.at):
        if reply.status == 200 and reply.messages:
            received = _joined(m.get("text") for m in reply.messages)
            expected[reply.sender].append((redact_value(reply.text), redact_value(received)))
    engine = create_engine(database_url)
    stored = defaultdict(list)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("select sender_id, type_name, data from events where sender_id like :p "
                                           "order by id"), {"p": f"{prefix}-%"})
            for sender, kind, data in rows:
                event = json.loads(data)
                if kind == "user":
                    stored[sender].append([event.get("text"), []])
                elif kind == "bot" and stored[sender]:
                    stored[sender][-1][1].append(event.get("text"))
    finally:
        engine.dispose()
    problems = []
    for sender in sorted(set(expected) | set(stored)):
        got = [(t, _joined(bot)) for t, bot in stored.get(sender, [])]
        want = expected.get(sender, [])
        if [t for t, _ in got] != [t for t, _ in want]:
            problems.append(f"{sender}: stored user messages {[t for t, _ in got]} != answered {[t for t, _ in want]}")
        elif got != want:
            turn = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
            problems.append(f"{sender}: stored bot turn {turn} {got[turn][1][:300]!r} "
                            f"!= received {want[turn][1][:300]!r}")
        elif any(not bot for _, bot in got):
            problems.append(f"{sender}: a user message without a bot turn")
    return {"conversations": len(expected), "messages": sum(len(v) for v in expected.values()), "problems": problems}


def replica_switches(replies: list[Reply]) -> tuple[int, int]:
    """(consecutive message pairs of one conversation served by different replicas, all such pairs)."""
    by_sender = defaultdict(list)
    for reply in sorted(replies, key=lambda r: r.at):
        if reply.status == 200:
            by_sender[reply.sender].append(reply.replica.split(",")[-1].strip())
    pairs = [(a, b) for served in by_sender.values() for a, b in zip(served, served[1:])]
    return sum(a != b for a, b in pairs), len(pairs)


# -- the servers -------------------------------------------------------------------------------------------
def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def train_baseline(folder: Path) -> Path:
    """Rasa's starter assistant: `rasa init --no-prompt` trains it into `folder`/models."""
    folder.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(folder)], cwd=folder.parent,
                   env=rasa_environment(load_settings()), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return next((folder / "models").glob("*.tar.gz"))


def start_baseline(model: Path, folder: Path, port: int, tracker_url: str, redis_port: int):
    """Stock `rasa run` of the starter assistant with the same kind of tracker and lock store as ours."""
    from bot.processes import wait_for_http

    endpoints = folder / "bench-endpoints.yml"
    endpoints.write_text(yaml.safe_dump({
        "tracker_store": {"type": "SQL", "url": tracker_url},
        "lock_store": {"type": "redis", "url": "127.0.0.1", "port": redis_port, "db": 2}}), encoding="utf-8")
    credentials = folder / "bench-credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    started = time.monotonic()
    log = open(folder / "baseline.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen([sys.executable, "-m", "rasa", "run", "--model", str(model), "--endpoints",
                                str(endpoints), "--credentials", str(credentials), "--interface", "127.0.0.1",
                                "--port", str(port)], cwd=folder, env=rasa_environment(load_settings()),
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
    replies = await closed_loop(cluster_url, 4, conversations, prefix, deadline=time.monotonic() + 3 + down + 12,
                                resend_refused=True, during=timeline)
    during = [r for r in replies if marks["down"] <= r.at <= marks["up"]]
    after = [r for r in replies if r.at > marks["up"]]
    first_ok = next((r.at for r in sorted(after, key=lambda r: r.at) if r.status == 200), None)
    refused = [r for r in replies if r.status == 503]
    danish = [r for r in refused if any(m.get("text") == UNAVAILABLE_TEXT for m in r.messages)]
    other = [r for r in replies if r.status not in (200, 503) or (r.status == 200 and not r.messages)]
    last_503 = max((r.at for r in refused), default=None)
    return {"answered during": sum(r.status == 200 for r in during), "refused (503)": len(refused),
            "503 with the Danish text": len(danish), "other errors": len(other),
            "first answer after restart (s)": round(first_ok - marks["up"], 1) if first_ok else None,
            "last 503 after restart (s)": round(last_503 - marks["up"], 1) if last_503 and last_503 > marks["up"]
            else None,
            "tracker": verify_tracker(database_url, replies, prefix)}


async def failover(cluster, database_url: str, prefix: str, conversations: list[list[str]]) -> dict:
    """20 users; once a third of the messages are answered, replica 2's Rasa server is killed (SIGKILL)."""
    total = sum(len(c) for c in conversations)

    async def kill(replies) -> None:
        while len(replies) < total // 3:
            await asyncio.sleep(0.02)
        cluster.kill_rasa(1)

    started = time.monotonic()
    replies = await closed_loop(cluster.url, 20, conversations, prefix, during=kill)
    summary = summarise(replies, time.monotonic() - started)
    summary["retried by nginx"] = sum("," in r.replica for r in replies)
    summary["error replies"] = [(r.status, r.error or r.messages[:1]) for r in replies if r.status != 200][:5]
    summary["tracker"] = verify_tracker(database_url, replies, prefix)
    return summary


def _row(name: str, s: dict) -> str:
    cpu = f"{s['cpu_ms']:.0f}" if "cpu_ms" in s else "–"
    return (f"| {name} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['rate']:.1f} | {cpu} | "
            f"{s['errors']} / {s['messages']} | {s['empty']} |")


def _median_summary(runs: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


async def compare_one_replica(ours_url: str, ours_pids: list[int], base_url: str, base_pid: int, rounds: int,
                              conversations: list[list[str]]) -> dict:
    """Ours and the baseline, one replica each, in alternating rounds at 1 and 10 concurrent conversations."""
    results = defaultdict(list)
    for number in range(rounds):
        for concurrency in (1, 10):
            runs = conversations[: max(concurrency * 6, 12)]
            for name, url, pids in (("ours", ours_url, ours_pids), ("baseline", base_url, [base_pid])):
                result = await measure(url, concurrency, runs, f"{name}-{number}-{concurrency}", pids)
                results[(name, concurrency)].append(result)
                print(f"round {number + 1} {name:8} c={concurrency:<2} " + ", ".join(
                    f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()), flush=True)
    return results


async def reliability(cluster, database_url: str, redis, pg) -> dict:
    """Order/no loss with 20 conversations, the two outages, then a killed replica (the last: it stays dead)."""
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
    from benchmarks.services import PrivatePostgres, PrivateRedis
    from bot.cluster import start_cluster
    from bot.config import cluster_settings
    from bot.training import train
    from tests.conftest import free_port

    settings = load_settings()
    train(settings)
    figures = {"load_start": load_average(), "rounds": args.rounds}
    folder = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="forlob-load-")
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
            baseline, figures["base_ready"] = start_baseline(model, model.parent.parent, free_port(), base_db,
                                                             redis.port)
            ours_settings = cluster_settings(settings, {"TRACKER_STORE_URL": ours_db, "LOCK_STORE_URL": redis.url})
            started = time.monotonic()
            cluster = start_cluster(ours_settings, 1, port=free_port(), replica_ports=[(free_port(), free_port())],
                                    workdir=tmp / "cluster-1")
            figures["ready"] = time.monotonic() - started
            ours_pids = [p.pid for p in cluster.replicas[0].processes]
            figures["single"] = await compare_one_replica(
                cluster.replicas[0].rasa_url, ours_pids, f"http://127.0.0.1:{baseline.args[-1]}", baseline.pid,
                args.rounds, conversation_turns(args.conversations))
            figures["rss"] = rss_mb(cluster.rasa_process(0).pid), rss_mb(baseline.pid), rss_mb(ours_pids[0])
            cluster.stop()
            started = time.monotonic()
            cluster = start_cluster(ours_settings, 2, port=free_port(),
                                    replica_ports=[(free_port(), free_port()) for _ in range(2)],
                                    workdir=tmp / "cluster-2")
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
        return statistics.median(o[key] / b[key] for o, b in zip(single[("ours", c)], single[("baseline", c)]))

    ours_rss, base_rss, actions_rss = f["rss"]
    order, killed = f["order"], f["killed"]
    lines = [f"# Load benchmark ({dt.datetime.now():%Y-%m-%d %H:%M}, `python -m benchmarks.load`)", "",
             f"Machine: {os.cpu_count()} cores, shared with other work: load average {f['load_start']} at the start, "
             f"{f['load_end']} at the end, so single figures are noisy; rows are medians of {f['rounds']} rounds that "
             "alternate between ours and the baseline, ratios the median of the per-round ratios. Each conversation: "
             "5 turns from tests/data/nlu_holdout.yml, sent one after another (closed loop) through the REST webhook. "
             "Latency in ms over answered (HTTP 200) messages; CPU = the servers' CPU time per message (ours: Rasa + "
             "action server); empty = answered without a bot message.", "",
             "| run | p50 | p95 | p99 | messages/s | CPU ms/msg | errors | empty |",
             "|---|---|---|---|---|---|---|---|"]
    for c in (1, 10):
        lines += [_row(f"ours, 1 replica, {c} conversation(s)", ours[c]),
                  _row(f"Rasa starter (`rasa init`), 1 replica, {c} conversation(s)", base[c])]
    lines += [_row("ours, 2 replicas behind nginx, 20 conversations", order), "",
              "| ours / baseline | value | target |", "|---|---|---|",
              f"| throughput at 10 conversations | {paired('rate', 10):.2f}× | ≥ 1.5× |",
              f"| p95 at 10 conversations | {paired('p95', 10):.2f} | ≤ 1 |",
              f"| CPU per message at 10 conversations | {paired('cpu_ms', 10):.2f} | – |",
              f"| p50 at 1 conversation | {paired('p50', 1):.2f} | – |", "",
              "| figure | ours | baseline | target |", "|---|---|---|---|",
              f"| Rasa server RSS after the load (peak) | {ours_rss[0]:.0f} MB ({ours_rss[1]:.0f} MB) | "
              f"{base_rss[0]:.0f} MB ({base_rss[1]:.0f} MB) | ≤ 1 200 MB |",
              f"| action server RSS | {actions_rss[0]:.0f} MB | – | – |",
              f"| start to ready, 1 replica (action + Rasa server, then nginx) | {f['ready']:.0f} s | "
              f"{f['base_ready']:.0f} s | ≤ 60 s |",
              f"| start to ready, 2 replicas at once | {f['ready_2']:.0f} s | – | – |", "",
              "Reliability (2 replicas behind nginx, PostgreSQL tracker store, Redis lock store):", "",
              f"- 20 concurrent conversations, {order['tracker']['messages']} messages: consecutive messages of one "
              f"conversation on different replicas in {order['switched']} of {order['pairs']} pairs; tracker store: "
              f"{len(order['tracker']['problems'])} problems (lost, duplicated, out of order or a different bot turn).",
              f"- Rasa replica 2 killed (SIGKILL) after a third of {killed['messages']} messages: "
              f"{killed['errors']} client-visible errors, {killed['retried by nginx']} requests retried by nginx, "
              f"max latency {killed['max'] / 1000:.1f} s; tracker store: {len(killed['tracker']['problems'])} "
              "problems.",
              f"- Redis stopped for 6 s under load: {_outage_line(f['redis'])}",
              f"- PostgreSQL stopped for 6 s under load: {_outage_line(f['postgres'])}"]
    for check in (order["tracker"], killed["tracker"], f["redis"]["tracker"], f["postgres"]["tracker"]):
        lines += [f"  - {p}" for p in check["problems"][:5]]
    return "\n".join(lines) + "\n"


def _outage_line(result: dict) -> str:
    last = result["last 503 after restart (s)"]
    return (f"{result['refused (503)']} replies were HTTP 503 ({result['503 with the Danish text']} with the Danish "
            f"\"prøv igen om lidt\" text), {result['other errors']} other errors; the first answer came "
            f"{result['first answer after restart (s)']} s after the restart, "
            f"{'no 503 after it' if last is None else f'the last 503 {last} s after it'}; "
            f"tracker store: {len(result['tracker']['problems'])} problems.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating ours/baseline rounds (median reported)")
    parser.add_argument("--conversations", type=int, default=60, help="conversations per measured run (at most)")
    parser.add_argument("--baseline-model", help="a starter model already trained with `rasa init` (skips training)")
    parser.add_argument("--keep", help="work in this folder and keep it (logs of every server) instead of a temp one")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print("\n" + report)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report, encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Driving a running assistant with conversations over REST in a closed loop, and checking what its tracker
store holds afterwards: used by benchmarks/load.py and the cluster tests (tests/test_cluster.py)."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

from evaluation.matcher import percentile
from evaluation.nlu import DATA, examples

OPENING = {"greet"}


CLOSING = {"thank", "goodbye"}


SKIPPED = (
    OPENING
    | CLOSING
    | {
        "out_of_scope",
        "bot_challenge",
        "start_over",
        "feedback_positive",
        "feedback_negative",
        "request_human",
    }
)


RETRY_PAUSE = 0.5  # seconds a client waits before resending a message that got 503


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
        async with session.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        ) as resp:
            body = await resp.text()
            messages = json.loads(body) if body.startswith("[") else []
            return Reply(
                sender,
                turn,
                text,
                resp.status,
                time.perf_counter() - started,
                time.monotonic(),
                resp.headers.get("X-Forlob-Replica", ""),
                messages,
            )
    except (OSError, asyncio.TimeoutError, ValueError) as exc:  # aiohttp's errors are OSErrors or timeouts
        return Reply(sender, turn, text, 0, time.perf_counter() - started, time.monotonic(), error=repr(exc))


async def closed_loop(
    url: str,
    concurrency: int,
    conversations: list[list[str]],
    prefix: str,
    deadline: float | None = None,
    resend_refused: bool = False,
    during=None,
) -> list[Reply]:
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
    return {
        "messages": len(replies),
        "ok": len(ok),
        "errors": len(replies) - len(ok),
        "empty": sum(not r.messages for r in ok),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1],
        "rate": len(ok) / wall if wall else 0.0,
    }


def _joined(texts) -> str:
    return "\n\n".join(t for t in texts if t)


def verify_tracker(database_url: str, replies: list[Reply], prefix: str) -> dict:
    """Compare what each conversation's client was answered (HTTP 200) with the stored events: the user
    messages in the order sent, each once, each followed by exactly the bot turn the client received (as
    stored: phone numbers and e-mail addresses redacted, also in the bot's own replies)."""
    from sqlalchemy import create_engine, text

    from core.redaction import redact_value

    expected = defaultdict(list)
    for reply in sorted(replies, key=lambda r: r.at):
        if reply.status == 200 and reply.messages:
            received = _joined(m.get("text") for m in reply.messages)
            expected[reply.sender].append((redact_value(reply.text), redact_value(received)))
    engine = create_engine(database_url)
    stored = defaultdict(list)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("select sender_id, type_name, data from events where sender_id like :p order by id"),
                {"p": f"{prefix}-%"},
            )
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
            problems.append(
                f"{sender}: stored user messages {[t for t, _ in got]} != answered {[t for t, _ in want]}"
            )
        elif got != want:
            turn = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
            problems.append(
                f"{sender}: stored bot turn {turn} {got[turn][1][:300]!r} != received {want[turn][1][:300]!r}"
            )
        elif any(not bot for _, bot in got):
            problems.append(f"{sender}: a user message without a bot turn")
    return {
        "conversations": len(expected),
        "messages": sum(len(v) for v in expected.values()),
        "problems": problems,
    }


def replica_switches(replies: list[Reply]) -> tuple[int, int]:
    """(consecutive message pairs of one conversation served by different replicas, all such pairs)."""
    by_sender = defaultdict(list)
    for reply in sorted(replies, key=lambda r: r.at):
        if reply.status == 200:
            by_sender[reply.sender].append(reply.replica.split(",")[-1].strip())
    pairs = [(a, b) for served in by_sender.values() for a, b in zip(served, served[1:])]
    return sum(a != b for a, b in pairs), len(pairs)

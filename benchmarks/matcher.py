"""The KB matcher's topic accuracy and latency on the older question set (tests/data/kb_questions.yml):
top-1/top-3 accuracy, p50/p95/p99 latency per message, and the time `make kb` spends building.

Run: `make benchmark` (or `python -m benchmarks.matcher [--misses]`). Builds the KB into a temporary
SQLite file from the committed content, so it measures exactly what is in the repo.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from core.config import load_settings
from knowledge_base import KnowledgeBase, build_database

QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "kb_questions.yml"


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [{"q": q["q"], "topic": str(q["topic"])} for q in yaml.safe_load(path.read_text())["questions"]]


def evaluate(kb: KnowledgeBase, questions: list[dict]) -> dict:
    """Accuracy of the matcher's topic, with the misses, and per-query latencies in ms."""
    top1 = top3 = 0
    misses, latencies = [], []
    for item in questions:
        started = time.perf_counter()
        match = kb.match(item["q"])
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [t for t, _ in match.ranked[:3]]
        top1 += ids[:1] == [item["topic"]]
        top3 += item["topic"] in ids
        if ids[:1] != [item["topic"]]:
            misses.append((item["q"], item["topic"], ids))
    return {
        "n": len(questions),
        "top1": top1 / len(questions),
        "top3": top3 / len(questions),
        "misses": misses,
        "latencies": latencies,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", action="store_true", help="list the questions not ranked first")
    parser.add_argument("--rounds", type=int, default=20, help="latency rounds over the question set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/kb.sqlite"
        started = time.perf_counter()
        build_database(load_settings().content_dir, url)
        build_seconds = time.perf_counter() - started
        kb = KnowledgeBase.from_url(url)
        questions = load_questions()
        result = evaluate(kb, questions)
        latencies = []
        for _ in range(args.rounds):
            latencies += evaluate(kb, questions)["latencies"]
    print(
        f"KB built in {build_seconds:.1f} s in this process (validation, matcher training, database; "
        f"`make kb` adds the spaCy pipeline and start-up; target ≤ 30 s)"
    )
    print(f"matcher on {result['n']} questions (version {kb.version})")
    print(f"  top-1 accuracy: {result['top1']:.3f}   (target ≥ 0.85)")
    print(f"  top-3 accuracy: {result['top3']:.3f}   (target ≥ 0.95)")
    print(
        f"  latency over {len(latencies)} queries: p50 {statistics.median(latencies):.2f} ms, "
        f"p95 {percentile(latencies, 95):.2f} ms, p99 {percentile(latencies, 99):.2f} ms   "
        "(target p95 ≤ 20 ms)"
    )
    if args.misses:
        for question, expected, got in result["misses"]:
            print(f"  MISS {expected:<26} got {got}  «{question}»")


if __name__ == "__main__":
    main()

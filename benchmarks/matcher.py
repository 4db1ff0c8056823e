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

from core.config import load_settings
from evaluation.matcher import evaluate, load_questions, percentile
from knowledge_base import KnowledgeBase, build_database


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

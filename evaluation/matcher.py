"""Scoring the KB matcher on the older question set (tests/data/kb_questions.yml): the figures that
benchmarks/matcher.py prints and tests/test_kb_matcher.py guards."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from knowledge_base import KnowledgeBase

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

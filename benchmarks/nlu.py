"""NLU quality and REST latency with the trained model: held-out intent accuracy, off-topic rejection,
per-intent F1 on the held-out set, entity accuracy, and one-message latency through the REST webhook.

Run: `python -m benchmarks.nlu [--cross-validation]` (the 5-fold cross-validation retrains five times,
about 25 minutes on 2 cores). Starts its own action and Rasa servers on free ports.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from benchmarks.kb_search import percentile
from bot.config import ROOT, load_settings, rasa_environment

DATA = ROOT / "tests" / "data"
REJECTED = {"out_of_scope", "nlu_fallback"}
TOKEN = "benchmark"


ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](\([^)]+\)|\{[^}]+\})")


def examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs from a Rasa NLU YAML file, entity markup removed."""
    pairs = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" not in block:  # lookup tables, synonyms
            continue
        for line in block.get("examples", "").splitlines():
            if line.strip().startswith("- "):
                pairs.append((ENTITY_MARKUP.sub(r"\1", line.strip()[2:].strip()), block["intent"]))
    return pairs


def parse(base_url: str, text: str) -> dict:
    request = urllib.request.Request(f"{base_url}/model/parse?token={TOKEN}", data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def intent_scores(base_url: str, pairs: list[tuple[str, str]]) -> dict:
    """Accuracy and per-intent F1; an utterance routed to nlu_fallback counts as not this intent."""
    counts = defaultdict(Counter)
    errors = []
    for text, expected in pairs:
        got = parse(base_url, text)["intent"]["name"]
        counts[expected]["support"] += 1
        if got == expected:
            counts[expected]["tp"] += 1
        else:
            counts[expected]["fn"] += 1
            counts[got]["fp"] += 1
            errors.append((expected, got, text))
    f1 = {}
    for intent, c in counts.items():
        if not c["support"]:
            continue
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / c["support"]
        f1[intent] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(c["tp"] for c in counts.values()) / len(pairs)
    return {"accuracy": accuracy, "f1": f1, "macro_f1": statistics.mean(f1.values()), "errors": errors}


def offtopic_rejection(base_url: str, pairs: list[tuple[str, str]]) -> tuple[float, list]:
    results = [(text, parse(base_url, text)["intent"]["name"]) for text, _ in pairs]
    accepted = [(t, i) for t, i in results if i not in REJECTED]
    return 1 - len(accepted) / len(results), accepted


def entity_accuracy(base_url: str) -> tuple[float, list]:
    """Share of expected entities found with the right normalised value (see tests/test_nlu_model.py)."""
    from actions.context import normalised_entities
    from knowledge_base import KnowledgeBase

    kb = KnowledgeBase.from_url(load_settings().kb_database_url)
    sentences = yaml.safe_load((DATA / "nlu_entities.yml").read_text(encoding="utf-8"))["sentences"]
    found, total, misses = 0, 0, []
    for sentence in sentences:
        got = normalised_entities(kb, parse(base_url, sentence["text"])["entities"])
        for name, value in sentence["entities"].items():
            total += 1
            if got.get(name) == str(value):
                found += 1
            else:
                misses.append((sentence["text"], name, value, got.get(name)))
    return found / total, misses


def rest_latency(base_url: str, rounds: int = 60) -> list[float]:
    timings = []
    for i in range(rounds):
        body = json.dumps({"sender": f"bench-{i % 5}", "message": "hvad er aflastning"}).encode()
        request = urllib.request.Request(f"{base_url}/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        timings.append((time.perf_counter() - started) * 1000)
    return timings[5:]  # first calls warm caches


def cross_validation() -> None:
    """Rasa's 5-fold cross-validation. Rasa's own "macro avg" also averages in `nlu_fallback`, a label
    no example has (F1 0 by definition), so the macro-F1 over the real intents is printed too."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "rasa", "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
                        "--cross-validation", "--folds", "5", "--out", out], cwd=ROOT, check=True,
                       env=rasa_environment(load_settings()), capture_output=True)
        report = json.loads((Path(out) / "intent_report.json").read_text())
    scores = {k: v["f1-score"] for k, v in report.items() if isinstance(v, dict) and v.get("support")
              and k not in ("macro avg", "weighted avg", "micro avg")}
    worst = min(scores, key=scores.get)
    print(f"5-fold cross-validation: intent macro-F1 over the {len(scores)} intents {statistics.mean(scores.values()):.3f} "
          f"(Rasa's macro avg incl. nlu_fallback {report['macro avg']['f1-score']:.3f}; target ≥ 0.92); "
          f"lowest {worst} {scores[worst]:.3f} (target ≥ 0.8)")
    for intent, score in sorted(scores.items(), key=lambda item: item[1])[:6]:
        print(f"  {intent:<32} F1 {score:.3f}")


def main() -> None:
    from bot.processes import make_stack
    from bot.training import train
    from tests.conftest import free_port

    parser = argparse.ArgumentParser()
    parser.add_argument("--cross-validation", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list misclassified held-out examples")
    args = parser.parse_args()
    settings = load_settings()
    train(settings)
    with tempfile.TemporaryDirectory() as folder:
        stack = make_stack(settings, rasa_port=free_port(), action_port=free_port(), web_port=free_port(),
                           extra_env={"RASA_API_TOKEN": TOKEN, "TRACKER_STORE_URL": f"sqlite:///{folder}/t.sqlite"},
                           log_dir=Path(folder))
        started = time.monotonic()
        stack.start()
        print(f"ready after {time.monotonic() - started:.1f} s")
        try:
            holdout = intent_scores(stack.rasa_url, examples(DATA / "nlu_holdout.yml"))
            rejection, accepted = offtopic_rejection(stack.rasa_url, examples(DATA / "nlu_offtopic.yml"))
            entities, entity_misses = entity_accuracy(stack.rasa_url)
            latency = rest_latency(stack.rasa_url)
        finally:
            stack.stop()
    worst = min(holdout["f1"], key=holdout["f1"].get)
    print(f"held-out intent accuracy: {holdout['accuracy']:.3f} (target ≥ 0.90); macro-F1 {holdout['macro_f1']:.3f}; "
          f"lowest {worst} {holdout['f1'][worst]:.3f}")
    print(f"off-topic rejected (out_of_scope or fallback): {rejection:.3f} (target ≥ 0.90)")
    print(f"entities found with the right value: {entities:.3f}")
    print(f"REST one message: p50 {statistics.median(latency):.0f} ms, p95 {percentile(latency, 95):.0f} ms "
          f"(target p50 ≤ 100 ms)")
    if args.errors:
        for expected, got, text in holdout["errors"]:
            print(f"  MISS {expected:<32} got {got:<32} «{text}»")
        for text, intent in accepted:
            print(f"  OFFTOPIC ACCEPTED as {intent:<28} «{text}»")
        for miss in entity_misses:
            print(f"  ENTITY {miss}")
    if args.cross_validation:
        cross_validation()


if __name__ == "__main__":
    main()

"""Choosing the router's thresholds on the development set (tests/data/dev.yml), never on the independent set.

For each pair of thresholds it replays the matcher's part of `actions/answer.py` on the single-turn cases:
out of domain when the message is about an adult or an elderly relative (outside.yml) or the domain score
is below DOMAIN_MIN (or "off" wins), the overview, an answer when the
topic's probability reaches ANSWER_CONFIDENCE, otherwise "Mente du …?". It prints the share of topic
questions answered with an expected topic, the share asked back, and for the out-of-domain cases the share
rejected and the share answered as a topic.

Run: `python -m benchmarks.tune [--kb sqlite:///var/kb.sqlite]` (after `make kb`).
"""
from __future__ import annotations

import argparse
import itertools

import yaml

from bot.config import ROOT, load_settings

DEV = ROOT / "tests" / "data" / "dev.yml"
ANSWER_THRESHOLDS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
DOMAIN_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def decide(match, answer_min: float, domain_min: float, outside: bool = False) -> tuple[str, str | None]:
    if outside or match.domain < domain_min or not (match.topic or match.overview):
        return "out_of_scope", None
    if match.overview:
        return "overview", None
    if match.confidence >= answer_min:
        return "answer", match.topic
    return "clarify", None


def main() -> None:
    from knowledge_base import KnowledgeBase

    parser = argparse.ArgumentParser()
    parser.add_argument("--kb", default=None, help="KB database URL (default: the configured one)")
    args = parser.parse_args()
    kb = KnowledgeBase.from_url(args.kb or load_settings().kb_database_url)
    cases = [c["turns"][0] for c in yaml.safe_load(DEV.read_text(encoding="utf-8"))["cases"]]
    topical = [(t["text"], t["expect"]) for t in cases if t["expect"]["kind"] == "answer"]
    off = [t["text"] for t in cases if t["expect"]["kind"] == "out_of_scope"]
    texts = [t for t, _ in topical] + off
    matches = {text: kb.match(text) for text in texts}
    outside = {text: kb.outside_domain(text) for text in texts}
    print(f"development set: {len(topical)} topic questions, {len(off)} outside the domain")
    print("answer_min domain_min  right  asked-back  off-rejected  off-as-topic")
    for answer_min, domain_min in itertools.product(ANSWER_THRESHOLDS, DOMAIN_THRESHOLDS):
        right = asked = 0
        for text, expect in topical:
            wanted = expect["topic"] if isinstance(expect["topic"], list) else [expect["topic"]]
            kind, topic = decide(matches[text], answer_min, domain_min, outside[text])
            right += kind == "answer" and topic in wanted
            asked += kind == "clarify"
        rejected = sum(decide(matches[t], answer_min, domain_min, outside[t])[0] == "out_of_scope" for t in off)
        as_topic = sum(decide(matches[t], answer_min, domain_min, outside[t])[0] == "answer" for t in off)
        print(f"{answer_min:10.2f} {domain_min:10.2f}  {right / len(topical):.3f}  {asked / len(topical):10.3f}"
              f"  {rejected / len(off):12.3f}  {as_topic / len(off):12.3f}")


if __name__ == "__main__":
    main()

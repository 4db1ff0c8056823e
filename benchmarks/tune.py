"""Choosing the router's thresholds on the development set (tests/data/dev.yml), never on the independent set.

For each pair of thresholds it replays the matcher's part of `actions/answer.py` on the single-turn cases:
out of domain when the message is about an adult or an elderly relative (outside.yml) or the domain score
is below DOMAIN_MIN (or "off" wins), the overview, an answer when the
topic's probability reaches ANSWER_CONFIDENCE, otherwise "Mente du …?". It prints the share of topic
questions answered with an expected topic, the share asked back, and for the out-of-domain cases the share
rejected and the share answered as a topic.

Then it replays who writes over every turn of every case (`actions/context.py`): a phrase from roles.yml
sets the role, "jeg er 17" makes a young person, and while no role is set a message whose voice the role
classifier reads as a professional's or a young person's with at least ROLE_CONFIDENCE sets it; no role
means the parents' text. It prints, for each candidate ROLE_CONFIDENCE, the share of turns whose expected
role is met, and how many parents' turns got another role.

Run: `python -m benchmarks.tune [--kb sqlite:///var/kb.sqlite]` (after `make kb`).
"""

from __future__ import annotations

import argparse
import itertools

import yaml

from core.config import ROOT, load_settings

DEV = ROOT / "tests" / "data" / "dev.yml"
ROLE_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: the classifier never decides
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
        rejected = sum(
            decide(matches[t], answer_min, domain_min, outside[t])[0] == "out_of_scope" for t in off
        )
        as_topic = sum(decide(matches[t], answer_min, domain_min, outside[t])[0] == "answer" for t in off)
        print(
            f"{answer_min:10.2f} {domain_min:10.2f}  {right / len(topical):.3f}  {asked / len(topical):10.3f}"
            f"  {rejected / len(off):12.3f}  {as_topic / len(off):12.3f}"
        )

    tune_roles(kb, yaml.safe_load(DEV.read_text(encoding="utf-8"))["cases"])


def tune_roles(kb, cases: list[dict]) -> None:
    from actions.context import SELF_AGE, VOICED_ROLES

    turns = [[(t["text"], t["expect"].get("role")) for t in case["turns"]] for case in cases]
    phrase = {text: kb.role_in(text) for case in turns for text, _ in case}
    voice = {text: kb.likely_role(text) for case in turns for text, _ in case}
    print(f"\nwho writes: {sum(1 for case in turns for _, r in case if r)} turns with an expected role")
    print("role_confidence  right  parents-as-other")
    for threshold in ROLE_THRESHOLDS:
        right = total = parents_wrong = 0
        for case in turns:
            role = None
            for text, expected in case:
                if phrase[text]:
                    role = phrase[text]
                elif role is None and SELF_AGE.search(text) and int(SELF_AGE.search(text).group(1)) <= 25:
                    role = "ung"
                elif role is None and voice[text][0] in VOICED_ROLES and voice[text][1] >= threshold:
                    role = voice[text][0]
                if expected:
                    total += 1
                    right += (role or "foraelder") == expected
                    parents_wrong += expected == "foraelder" and role not in (None, "foraelder")
        print(f"{threshold:15.2f}  {right / max(1, total):.3f}  {parents_wrong:16d}")


if __name__ == "__main__":
    main()

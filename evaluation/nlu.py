"""Running and scoring the evaluation sets end to end through a running assistant's REST webhook (the
independent sets, the older held-out and off-topic sets, the entities): the figures that benchmarks/nlu.py
prints and tests/test_nlu_model.py guards."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import yaml

from core.config import ROOT

DATA = ROOT / "tests" / "data"


INDEPENDENT_FILES = ("independent.yml", "independent_new_topics.yml", "independent_d.yml")


TOKEN = "benchmark"


ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](\([^)]+\)|\{[^}]+\})")


def normalised_entities(kb, entities: list[dict]) -> dict[str, str]:
    """Extracted entities as the values actions/context.py gives the slots (the entity benchmark compares
    these): canonical municipality, diagnosis id, age, role."""
    result: dict[str, str] = {}
    for entity in entities:
        name, value = entity.get("entity"), str(entity.get("value", ""))
        if name == "municipality":
            value = kb.municipality(value) or ""
        elif name == "diagnosis":
            diagnosis = kb.diagnosis(value)
            value = diagnosis["id"] if diagnosis else ""
        elif name == "age":
            value = value.strip() if value.strip().isdigit() else ""
        if value and name not in result:
            result[name] = value
    return result


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


def independent_cases() -> list[dict]:
    return [
        case
        for name in INDEPENDENT_FILES
        for case in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["cases"]
    ]


def parse(base_url: str, text: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/model/parse?token={TOKEN}",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


OLD_TOPIC_INTENTS = {
    "ask_vidensberedskab": "1.1",
    "ask_vidensflow": "1.2",
    "ask_tidlig_indsats": "1.3",
    "ask_helhedsorienteret_forloeb": "1.4",
    "ask_koordinerende_funktion": "1.5",
    "ask_overgange": "1.6",
    "ask_stoette_til_familien": "1.7",
    "ask_netvaerk": "1.8",
    "ask_aflastning": "aflastning",
    "ask_diagnosebeskrivelser": "diagnosebeskrivelser",
    "ask_familievejledning": "familievejledning",
    "ask_hjaelpemidler": "hjaelpemidler",
    "ask_klage": "klage",
    "ask_kontaktperson": "kontaktperson",
    "ask_merudgifter": "merudgifter",
    "ask_overgang_voksenlivet": "overgang-til-voksenlivet",
    "ask_sjaelden_definition": "sjaelden-definition",
    "ask_tabt_arbejdsfortjeneste": "tabt-arbejdsfortjeneste",
}


ACT_KINDS = {
    "find_organisation": "organisations",
    "request_human": "handoff",
    "request_checklist": "checklist",
    "out_of_scope": "out_of_scope",
}  # every other act (greet, thanks, inform, feedback …) is smalltalk


def holdout_cases(path: Path) -> list[dict]:
    """The older NLU sets as single-turn cases of the independent set's format."""
    cases = []
    for number, (text, intent) in enumerate(examples(path)):
        expect = (
            {"kind": "answer", "topic": OLD_TOPIC_INTENTS[intent]}
            if intent in OLD_TOPIC_INTENTS
            else {"kind": ACT_KINDS.get(intent, "smalltalk")}
        )
        cases.append({"id": f"{path.stem}-{number}", "turns": [{"text": text, "expect": expect}]})
    return cases


def rest(base_url: str, sender: str, text: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def slots_of(base_url: str, sender: str) -> dict:
    with urllib.request.urlopen(
        f"{base_url}/conversations/{sender}/tracker?token={TOKEN}", timeout=60
    ) as response:
        return json.loads(response.read()).get("slots") or {}


def run_cases(base_url: str, cases: list[dict], prefix: str) -> list[dict]:
    """Every turn of every case through the REST webhook (a fresh conversation per case); per scored turn the
    expectation, the first custom payload of the reply, the role slot after the turn, and the texts."""
    results = []
    for number, case in enumerate(cases):
        sender = f"{prefix}-{number}"
        for turn in case["turns"]:
            messages = rest(base_url, sender, turn["text"])
            if "expect" not in turn:
                continue
            custom = next((m["custom"] for m in messages if "custom" in m), {})
            results.append(
                {
                    "case": case["id"],
                    "text": turn["text"],
                    "expect": turn["expect"],
                    "got": custom,
                    "role": slots_of(base_url, sender).get("role") if "role" in turn["expect"] else None,
                    "reply": " | ".join(m.get("text", "")[:80] for m in messages if m.get("text")),
                }
            )
    return results


def right_answer(expect: dict, got: dict) -> bool:
    kind = got.get("kind")
    wanted = expect["kind"]
    if wanted == "answer":
        topics = expect.get("topic")
        topics = topics if isinstance(topics, list) else [topics]
        return kind == "answer" and got.get("topic") in topics
    if wanted == "organisations":
        first = (got.get("organisations") or [{}])[0].get("id")
        return kind == "organisations" and (not expect.get("organisation") or first == expect["organisation"])
    if wanted == "smalltalk":  # telling about oneself: acknowledged, or (unknown place) national options
        return kind in ("smalltalk", "organisations", "clarify")
    return kind == wanted


def score(results: list[dict], kb, today) -> dict:
    """Right answer (over turns whose expected topics exist in the KB), role, region, out-of-domain."""
    known = set(kb.topic_ids())

    def covered(expect):
        topics = expect.get("topic")
        topics = topics if isinstance(topics, list) else [topics] if topics else []
        return all(t in known for t in topics) if expect["kind"] == "answer" else True

    scored = [r for r in results if covered(r["expect"])]
    in_domain = [r for r in scored if r["expect"]["kind"] != "out_of_scope"]
    off = [r for r in scored if r["expect"]["kind"] == "out_of_scope"]
    # the role the answer was written for: the slot, or the parents' text the assistant uses when none is set
    roles = [{**r, "role": r["role"] or "foraelder"} for r in results if r["expect"].get("role")]
    places = [r for r in results if r["expect"].get("municipality")]
    region_right = [
        r for r in places if r["got"].get("region") == kb.region_of(r["expect"]["municipality"], today)
    ]
    return {
        "turns": len(results),
        "uncovered": len(results) - len(scored),
        "right": sum(right_answer(r["expect"], r["got"]) for r in scored) / max(1, len(scored)),
        "right_in_domain": sum(right_answer(r["expect"], r["got"]) for r in in_domain)
        / max(1, len(in_domain)),
        "in_domain": len(in_domain),
        "role": sum(r["role"] == r["expect"]["role"] for r in roles) / max(1, len(roles)),
        "roles": len(roles),
        "region": len(region_right) / max(1, len(places)),
        "places": len(places),
        "off": len(off),
        "off_rejected": sum(r["got"].get("kind") == "out_of_scope" for r in off) / max(1, len(off)),
        "off_as_topic": sum(r["got"].get("kind") == "answer" for r in off) / max(1, len(off)),
        "misses": [r for r in scored if not right_answer(r["expect"], r["got"])],
        "role_misses": [r for r in roles if r["role"] != r["expect"]["role"]],
        "region_misses": [r for r in places if r not in region_right],
    }

"""How well core/redaction.py removes names and street addresses before storage, and how fast it is.

Run: `python -m benchmarks.redaction [--set dev|frozen|both|PATH] [--errors] [--write]`, e.g.
`--set tests/data/redaction_frozen2.yml` for another frozen set in the frozen format. Needs the name list
(`var/names.json`, built by `make kb`).

- caught: the share of annotated names/addresses of which nothing is left (every character of the span is
  inside something removed); per kind too;
- wrongly removed: the share of the words outside annotated spans that were removed, and the share of the
  messages without any name or address that were changed at all;
- µs per message: `redact()` on every message of the set, many rounds, after a first call that reads the list.

Sets: tests/data/redaction_dev.yml (ours, tuned on; spans marked in place as [[name]] and {{address}}) and
tests/data/redaction.yml (frozen, written independently; `spans` listed per message; never tuned on).
`--write` puts the figures and the command in benchmarks/results/redaction.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import resource
import time
from pathlib import Path

import yaml

from core.redaction import TOKEN, default_lexicon, personal_spans, redact

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "redaction_dev.yml"
FROZEN = ROOT / "tests" / "data" / "redaction.yml"
RESULTS = ROOT / "benchmarks" / "results" / "redaction.md"
MARK = re.compile(r"\[\[(.+?)\]\]|\{\{(.+?)\}\}")
TARGET_CAUGHT, TARGET_WRONG = 0.95, 0.01


def parse_marked(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """'han hedder [[Mads]]' → ('han hedder Mads', [(11, 15, 'name')])."""
    text, spans, position = "", [], 0
    for match in MARK.finditer(line):
        text += line[position : match.start()]
        inner = match.group(1) or match.group(2)
        spans.append((len(text), len(text) + len(inner), "name" if match.group(1) else "address"))
        text += inner
        position = match.end()
    return text + line[position:], spans


def load_dev(path: Path = DEV) -> list[tuple[str, list]]:
    return [parse_marked(line) for line in yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]]


def load_frozen(path: Path = FROZEN) -> list[tuple[str, list]]:
    """The frozen set's format (see its header): sentences: [{text, spans: [{text, kind}]}]; a span's text is
    found verbatim in the message (every occurrence counts)."""
    cases = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]:
        text, spans = item["text"], []
        for span in item.get("spans") or []:
            for match in re.finditer(re.escape(span["text"]), text):
                spans.append((match.start(), match.end(), span["kind"]))
        cases.append((text, spans))
    return cases


def load_any(path: Path) -> list[tuple[str, list]]:
    """A set in either format: the frozen one (items with `text`) or the dev one (marked strings)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["sentences"]
    return load_frozen(path) if items and isinstance(items[0], dict) else load_dev(path)


def evaluate(cases: list[tuple[str, list]]) -> dict:
    spans_total = spans_caught = 0
    by_kind: dict[str, list[int]] = {}
    words_outside = words_removed = 0
    clean_total = clean_changed = 0
    misses, wrong = [], []
    for text, spans in cases:
        removed = personal_spans(text)
        covered = set()
        for start, end, _ in removed:
            covered.update(range(start, end))
        for start, end, kind in spans:
            whole = all(i in covered for i in range(start, end) if not text[i].isspace())
            spans_total += 1
            spans_caught += whole
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += whole
            by_kind[kind][1] += 1
            if not whole:
                misses.append((text, text[start:end], kind))
        annotated = set()
        for start, end, _ in spans:
            annotated.update(range(start, end))
        for match in TOKEN.finditer(text):
            if any(i in annotated for i in range(*match.span())):
                continue
            words_outside += 1
            if any(i in covered for i in range(*match.span())):
                words_removed += 1
                wrong.append((text, match.group(0)))
        if not spans:
            clean_total += 1
            clean_changed += redact(text)[0] != text
    return {
        "messages": len(cases),
        "spans": spans_total,
        "caught": spans_caught / max(spans_total, 1),
        "by_kind": {k: (c, n) for k, (c, n) in sorted(by_kind.items())},
        "words": words_outside,
        "wrong_words": words_removed / max(words_outside, 1),
        "wrong_count": words_removed,
        "clean": clean_total,
        "clean_changed": clean_changed / max(clean_total, 1),
        "clean_changed_count": clean_changed,
        "misses": misses,
        "wrong": wrong,
    }


def speed(texts: list[str], rounds: int) -> float:
    """µs per message for redact(), the lexicon already loaded."""
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            redact(text)
    return (time.perf_counter() - started) / (rounds * len(texts)) * 1e6


def report(name: str, result: dict, micros: float) -> list[str]:
    kinds = ", ".join(f"{k} {c}/{n}" for k, (c, n) in result["by_kind"].items())
    return [
        f"### {name}: {result['messages']} messages, {result['spans']} names/addresses",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| names/addresses caught (span fully removed) | {result['caught']:.3f} ({kinds}) | "
        f"≥ {TARGET_CAUGHT} |",
        f"| ordinary words wrongly removed (of {result['words']} words outside the spans) | "
        f"{result['wrong_words']:.4f} ({result['wrong_count']} words) | ≤ {TARGET_WRONG} |",
        f"| messages without a name or address that were changed (of {result['clean']}) | "
        f"{result['clean_changed']:.3f} ({result['clean_changed_count']}) | – |",
        f"| time per message, `redact()` | {micros:.0f} µs | – |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        default="dev",
        help="dev, frozen, both, or the path of a set in the frozen "
        "format (sentences: [{text, spans: [{text, kind}]}]) or the dev format ([[name]], {{address}})",
    )
    parser.add_argument("--errors", action="store_true", help="list the misses and the words wrongly removed")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument(
        "--write", action="store_true", help=f"write the figures to {RESULTS.relative_to(ROOT)}"
    )
    args = parser.parse_args()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    lexicon = default_lexicon()
    load_ms = (time.perf_counter() - started) * 1000
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if not lexicon.first:
        raise SystemExit("var/names.json is missing or empty: run `make kb` (or `python -m bot.ops.names`).")
    sets = {
        "dev": [("development set (tests/data/redaction_dev.yml)", load_dev)],
        "frozen": [("frozen evaluation set (tests/data/redaction.yml)", load_frozen)],
    }
    if args.set == "both":
        chosen = sets["dev"] + sets["frozen"]
    elif args.set in sets:
        chosen = sets[args.set]
    else:
        path = Path(args.set)
        if not path.is_absolute():
            path = (Path.cwd() / path) if (Path.cwd() / path).exists() else ROOT / path
        if not path.exists():
            raise SystemExit(f"no such set: {args.set}")
        chosen = [(f"evaluation set ({args.set})", lambda path=path: load_any(path))]
    lines = [
        f"Name list: {len(lexicon.first)} first names, {len(lexicon.last)} surnames; read in "
        f"{load_ms:.0f} ms, ≈{(rss_after - rss_before) / 1024:.0f} MB (max RSS growth)",
        "",
    ]
    for name, loader in chosen:
        cases = loader()
        result = evaluate(cases)
        micros = speed([text for text, _ in cases], args.rounds)
        lines += report(name, result, micros)
        if args.errors:
            lines += [f"- MISS {kind}: «{part}» in «{text}»" for text, part, kind in result["misses"]]
            lines += [f"- WRONG «{word}» in «{text}»" for text, word in result["wrong"]]
            lines.append("")
    print("\n".join(lines))
    if args.write:
        command = f"python -m benchmarks.redaction --set {args.set}"
        header = [
            f"# Name and address redaction ({dt.date.today().isoformat()})",
            "",
            f"Command: `{command}` (needs `var/names.json` from `make kb`). What the figures mean: "
            "the docstring of benchmarks/redaction.py.",
            "",
        ]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "\n".join(header + [line for line in lines if not line.startswith("- ")]) + "\n", encoding="utf-8"
        )
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

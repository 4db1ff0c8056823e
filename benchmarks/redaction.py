"""How well core/redaction.py removes names and street addresses before storage, and how fast it is.

Run: `python -m benchmarks.redaction [--set dev|frozen|both|all|PATH] [--compare] [--errors] [--write]`, e.g.
`--set tests/data/redaction_frozen2.yml` for another frozen set in the frozen format. Needs the name list
(`var/names.json`, built by `make kb`).

- caught: the share of annotated names/addresses of which nothing is left (every character of the span is
  inside something removed); per kind too;
- wrongly removed: the share of the words outside annotated spans that were removed as a name or an address,
  and the share of the messages without any name or address in which one was found (the sets do not mark
  phone and CPR numbers; their removal is no word wrongly removed);
- µs per message: `redact()` on every message of the set, many rounds, after a first call that reads the list.

Sets: tests/data/redaction_dev.yml (ours, tuned on; spans marked in place as [[name]] and {{address}}) and
tests/data/redaction.yml (frozen, written independently; `spans` listed per message; never tuned on).
`--write` puts the figures and the command in benchmarks/results/redaction.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from pathlib import Path

from core.config import ROOT
from core.redaction import default_lexicon, redact
from evaluation.redaction import TARGET_CAUGHT, TARGET_WRONG, evaluate, load_any, load_dev, load_frozen

RESULTS = ROOT / "benchmarks" / "results" / "redaction.md"


def speed(texts: list[str], rounds: int, lexicon=None) -> float:
    """µs per message for redact(), the lexicon already loaded."""
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            redact(text, lexicon)
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


def compare(chosen: list, lexicon, rounds: int) -> list[str]:
    """One row per set: caught / words wrongly removed / µs per message, by the rules alone and with the
    tagger, measured in turn in one process."""
    from dataclasses import replace

    if lexicon.tagger is None:
        raise SystemExit(
            "var/name_tagger.crfsuite is missing: run `make kb` (or `python -m bot.ops.name_tagger`)."
        )
    rules = replace(lexicon, tagger=None)
    lines = [
        "| set | rules: caught | wrongly removed | µs | rules + tagger: caught | wrongly removed | µs |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, loader in chosen:
        cases = loader()
        texts = [text for text, _ in cases]
        row = [name]
        for version in (rules, lexicon):
            result = evaluate(cases, version)
            row += [
                f"{result['caught']:.3f} ({result['spans']})",
                f"{result['wrong_words']:.4f} ({result['wrong_count']} of {result['words']})",
                f"{speed(texts, rounds, version):.0f}",
            ]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        default="dev",
        help="dev, frozen, both, all (dev and every frozen set), or the path of a set in the frozen "
        "format (sentences: [{text, spans: [{text, kind}]}]) or the dev format ([[name]], {{address}})",
    )
    parser.add_argument("--errors", action="store_true", help="list the misses and the words wrongly removed")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="the rules alone and the rules with the name tagger side by side, on every set given",
    )
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
    elif args.set == "all":  # the development set and every frozen set, in the order they were written
        frozen = sorted(
            ROOT.glob("tests/data/redaction_frozen*.yml"),
            key=lambda p: int(p.stem.removeprefix("redaction_frozen") or 0),
        )
        chosen = sets["dev"] + sets["frozen"]
        chosen += [(path.name, lambda path=path: load_any(path)) for path in frozen]
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
    if args.compare:
        print("\n".join(lines + compare(chosen, lexicon, args.rounds)))
        return
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

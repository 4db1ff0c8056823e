"""Trains the name tagger that core/redaction.py uses beside its rules: `var/name_tagger.crfsuite`.

Run with the KB build, after the name list (the Makefile's `var/kb.version` recipe):
`python -m bot.ops.name_tagger`. It learns from the annotated redaction sets that the rules were developed
on (TRAINING_SETS: the development set and the first three frozen sets, whose misses guided the rules and
which are no longer independent); the later frozen sets are never trained on and measure the result
(`python -m benchmarks.redaction`). Each message whose names are marked is also learned three more times with
other names from the name list in their place (a fifth of them in lower case), so that the tagger learns
the contexts that make a word a name, not the names the sets happen to use. A rebuild with the same sets,
name list and code reuses the model.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path

from core.config import ROOT
from core.redaction import Lexicon, lexicon_path, load_lexicon, tagger_input, tagger_path

DATA = ROOT / "tests" / "data"
TRAINING_SETS = (
    DATA / "redaction_dev.yml",
    DATA / "redaction.yml",
    DATA / "redaction_frozen2.yml",
    DATA / "redaction_frozen3.yml",
)
VARIANTS = 3  # copies of each message with other names
LOWER_SHARE = 0.2  # of those copies, the share written in lower case ("mvh mette")
SEED = 7
# L1 and L2 weights and iterations as sklearn-crfsuite's examples use them; L1 keeps the model small
PARAMETERS = {"c1": 0.1, "c2": 0.05, "max_iterations": 200, "feature.possible_transitions": True}


def labels_of(spans: list[tuple[int, int, str]], words: list[tuple[int, int, dict]]) -> list[str]:
    """Per word: the kind of the marked span it lies in ("name", "address"), else "O"."""
    return [next((kind for a, b, kind in spans if start >= a and end <= b), "O") for start, end, _ in words]


def with_other_names(
    cases: list[tuple[str, list]], lexicon: Lexicon, rng: random.Random
) -> list[tuple[str, list]]:
    """Each message that has a marked name, VARIANTS times, every name replaced by names from the list that
    are no ordinary words (one word per word of the original: "Mads Jensen" → first name + surname)."""
    firsts = [n for n in lexicon.first if n.isalpha() and len(n) > 2 and n not in lexicon.common]
    lasts = [n for n in lexicon.last if n.isalpha() and len(n) > 2 and n not in lexicon.common]
    out = []
    for text, spans in cases:
        if not any(kind == "name" for _, _, kind in spans):
            continue
        for _ in range(VARIANTS):
            lower = rng.random() < LOWER_SHARE
            new_text, new_spans, position = "", [], 0
            for start, end, kind in sorted(spans):
                new_text += text[position:start]
                replacement = text[start:end]
                if kind == "name":
                    words = [rng.choice(firsts)] + [rng.choice(lasts) for _ in replacement.split()[1:]]
                    replacement = " ".join(w if lower else w.capitalize() for w in words)
                new_spans.append((len(new_text), len(new_text) + len(replacement), kind))
                new_text += replacement
                position = end
            out.append((new_text + text[position:], new_spans))
    return out


def fingerprint(lexicon_file: Path) -> str:
    """Of everything the model depends on: the sets, the name list, this training, and the rules and
    features (core/redaction.py decides what is blocked and what the tagger reads)."""
    import core.redaction

    digest = hashlib.sha256()
    for path in (*TRAINING_SETS, lexicon_file, Path(__file__), Path(core.redaction.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(lexicon_file: Path, out: Path) -> dict:
    """Train into `out` (written whole, then moved in place) unless the fingerprint beside it matches."""
    import pycrfsuite

    from evaluation.redaction import load_any

    started = time.perf_counter()
    stamp = out.with_suffix(".json")
    current = fingerprint(lexicon_file)
    if out.exists() and stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == current:
        return {"reused": True, "seconds": time.perf_counter() - started, "messages": 0}
    lexicon = load_lexicon(str(lexicon_file))
    cases = [case for path in TRAINING_SETS for case in load_any(path)]
    cases += with_other_names(cases, lexicon, random.Random(SEED))
    trainer = pycrfsuite.Trainer(verbose=False)
    for text, spans in cases:
        words = tagger_input(text, lexicon)
        if words:
            trainer.append([f for _, _, f in words], labels_of(spans, words))
    trainer.set_params(PARAMETERS)
    temporary = out.with_suffix(".tmp")
    trainer.train(str(temporary))
    temporary.replace(out)  # a running server reads the old model or the new one, never half of one
    stamp.write_text(json.dumps({"fingerprint": current}))
    return {"reused": False, "seconds": time.perf_counter() - started, "messages": len(cases)}


def main() -> int:
    from core.config import load_settings

    settings = load_settings()
    lexicon_file = lexicon_path(settings.var_dir)
    if not lexicon_file.exists():
        print(f"Ingen navneliste i {lexicon_file}: kør først 'python -m bot.ops.names'.", file=sys.stderr)
        return 1
    out = tagger_path(settings.var_dir)
    done = train(lexicon_file, out)
    how = "genbrugt" if done["reused"] else f"trænet på {done['messages']} beskeder"
    print(f"Navnetagger skrevet til {out} ({how}) på {done['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Full Rasa training time, and where it goes: `rasa train --force` as `make train` runs it, into a temporary
folder (models/ is left alone), with each line of Rasa's log stamped as it arrives.

Run: `python -m benchmarks.training [--runs N]` on an otherwise quiet machine (target: ≤ 5 min on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time

from bot.ops.training import rasa_train_command, write_question_examples
from core.config import ROOT, load_settings, rasa_environment
from evaluation.training import phases


def timed_training() -> dict:
    """Wall time of one forced training, with its phases."""
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        settings = load_settings()
        write_question_examples(settings)
        process = subprocess.Popen(
            rasa_train_command(out, settings),
            cwd=ROOT,
            env=rasa_environment(load_settings()),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            bufsize=1,
        )
        result = phases((time.monotonic() - started, line) for line in process.stdout)
        if process.wait() != 0:
            raise SystemExit(f"rasa train failed (exit {process.returncode})")
        result["total"] = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    totals = []
    for run in range(args.runs):
        result = timed_training()
        totals.append(result["total"])
        minutes, seconds = divmod(round(result["total"]), 60)
        print(f"run {run + 1}: full training {minutes} min {seconds:02d} s (target ≤ 5 min)")
        trained = sum(result["components"].values())
        for name, seconds_spent in sorted(result["components"].items(), key=lambda item: -item[1])[:5]:
            print(f"  {name:<28} {seconds_spent:6.1f} s")
        print(
            f"  {'everything else':<28} {result['total'] - trained:6.1f} s (start-up, validation, "
            f"featurising between components, packaging)"
        )
        if "epoch" in result:
            print(f"  DIET: {result['epoch']:.1f} s per epoch on average")
    if args.runs > 1:
        print(f"median of {args.runs} runs: {statistics.median(totals):.0f} s")


if __name__ == "__main__":
    main()

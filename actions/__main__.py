"""Runs rasa_sdk's action server (`python -m actions --actions actions --port …`), loaded for work.

Two start-up choices (the measurements: benchmarks/results/load.md):
- spaCy and the Danish lemma table for the search terms are loaded before the server listens, so "ready"
  means ready and the first question does not wait for them.
- Importing spaCy would import TensorFlow (thinc probes for it), which the actions never use and which
  costs seconds and hundreds of MB. TensorFlow is made unimportable in this process, so thinc skips it.
"""

from __future__ import annotations

import sys


def main() -> None:
    sys.modules.setdefault("tensorflow", None)  # `import tensorflow` now raises ImportError (thinc's probe)
    from knowledge_base.text import terms

    terms("aflastning")  # spaCy's Danish stop words and lookup lemmas, cached for the process
    from rasa_sdk.__main__ import main as sdk_main

    sdk_main()


if __name__ == "__main__":
    main()

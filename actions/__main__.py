"""Runs rasa_sdk's action server (`python -m actions --actions actions --port …`), loaded for work.

Two measured fixes (py-spy and /proc on the action server):
- The first question after a start waited 3–20 s (more on a busy machine) while the action server imported
  spaCy and built the Danish lemma table for the search terms; later questions took ~70 ms. Both are now
  loaded before the server listens, so "ready" means ready.
- Importing spaCy imported TensorFlow (thinc probes for it), which the actions never use: 9 s and ~370 MB
  of the action server's 713 MB. TensorFlow is made unimportable in this process, so thinc skips it
  (3.4 s, 346 MB).
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

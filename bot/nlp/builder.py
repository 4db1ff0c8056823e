"""Builds the Danish spaCy pipeline that Rasa's SpacyNLP loads (config.yml points at the output folder).

Base: `da_core_news_sm` when it is installed (keeps its tagger, lemmatizer and NER), otherwise a blank
Danish pipeline with spacy-lookups-data's lookup lemmatizer (works offline). On top: an entity ruler
whose patterns come from the knowledge-base content (municipalities, diagnoses, organisations), matched
case-insensitively, so entity extraction does not depend on the training examples.
"""
from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from pathlib import Path

from knowledge_base.content import Content, load_content
from knowledge_base.text import blank_danish, fold

log = logging.getLogger(__name__)
PIPELINE_NAME = "da_forlob"
LABELS = ("municipality", "diagnosis", "organisation")


def base_pipeline(model_name: str = "da_core_news_sm"):
    """`model_name` if installed, else the blank Danish pipeline with lookup lemmas."""
    if importlib.util.find_spec(model_name) is not None:
        import spacy

        log.info("Bygger på %s", model_name)
        return spacy.load(model_name)
    return blank_danish()


def _forms(name: str) -> set[str]:
    """A name, its genitive, and its æ/ø/å-folded and hyphen-free spellings."""
    forms = set()
    for form in {name, name.replace("-", " "), fold(name), fold(name).replace("-", " ")}:
        forms.add(form)
        if not form.endswith("s"):
            forms.add(form + "s")
    return forms


def entity_patterns(content: Content) -> list[dict]:
    """Ruler patterns; the pattern id is the canonical name or id, so extraction can be normalised."""
    patterns: dict[tuple[str, str], str] = {}
    exact: list[dict] = []
    for municipality in content.municipalities.get("municipalities", []):
        if municipality.get("common_word"):
            # "Vejen", "Skive", "Odder": only capitalised, so "på vejen hjem" stays a road
            exact += [{"label": "municipality", "pattern": [{"ORTH": form}], "id": municipality["name"]}
                      for form in sorted(_forms(municipality["name"])) if form[:1].isupper()]
            spellings = municipality.get("variants") or []
        else:
            spellings = [municipality["name"], *(municipality.get("variants") or [])]
        for spelling in spellings:
            for form in _forms(str(spelling)):
                patterns.setdefault((form.lower(), "municipality"), municipality["name"])
    for diagnosis in content.diagnoses:
        spellings = [diagnosis["name"], *(diagnosis.get("synonyms") or []), *(diagnosis.get("misspellings") or [])]
        for spelling in spellings:
            for form in _forms(str(spelling)):
                patterns.setdefault((form.lower(), "diagnosis"), diagnosis["id"])
    for org in content.organisations:
        for spelling in filter(None, (org["name"], org.get("full_name"))):
            patterns.setdefault((spelling.lower(), "organisation"), org["id"])
    return exact + [{"label": label, "pattern": text, "id": canonical}
                    for (text, label), canonical in sorted(patterns.items())]


def build_pipeline(content_dir: Path, out_dir: Path, base_model: str = "da_core_news_sm") -> Path:
    """Write the pipeline to `out_dir` (replaced atomically); returns `out_dir`."""
    nlp = base_pipeline(base_model)
    before = "ner" if "ner" in nlp.pipe_names else None
    ruler = nlp.add_pipe("entity_ruler", before=before,
                         config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    ruler.add_patterns(entity_patterns(load_content(content_dir)))
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["description"] = "Forløbsguiden: Danish pipeline with lookup lemmas and a KB entity ruler"
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".spacy-", dir=out_dir.parent))
    nlp.to_disk(staging)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir

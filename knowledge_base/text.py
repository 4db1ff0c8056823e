"""Danish text normalisation shared by search, look-ups and the NLP builder.

Lemmas come from spaCy's lookup lemmatizer with spacy-lookups-data's Danish table (no download needed).
Folding maps æ/ø/å to ae/oe/aa so that "hjaelpemidler" and "hjælpemidler" meet.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", "ü": "u", "ö": "oe", "ä": "ae"})
UNFOLD = (("ae", "æ"), ("oe", "ø"), ("aa", "å"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
NUMBER_RUN = re.compile(r"[\d-]*\d{5,}[\d-]*|\d+(-\d+){1,}")
WORD = re.compile(r"[0-9a-zæøåéüöä]+(?:[-'][0-9a-zæøåéüöä]+)*")


def blank_danish():
    """A blank Danish pipeline with the lookup lemmatizer, initialised from spacy-lookups-data."""
    import spacy

    nlp = spacy.blank("da")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


@lru_cache(maxsize=1)
def _lemma_table():
    """spaCy's lookup Table (keys are string hashes: use `in` and `[]` with strings, never dict())."""
    return blank_danish().get_pipe("lemmatizer").lookups.get_table("lemma_lookup")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from spacy.lang.da.stop_words import STOP_WORDS

    extra = {
        "hvad",
        "hvordan",
        "hvor",
        "hvem",
        "kan",
        "jeg",
        "vi",
        "min",
        "mit",
        "mine",
        "vores",
        "der",
        "det",
        "en",
        "et",
        "er",
        "har",
        "få",
        "faa",
        "gøre",
        "sige",
        "godt",
        "så",
        "saa",
        "lige",
        "noget",
        "sker",
        "ske",
        "skal",
        "gerne",
        "bare",
        "nu",
        "tænke",
        "vide",
        "spørgsmål",
        "have",
        "havde",
        "haft",
    }
    return frozenset(fold(w) for w in STOP_WORDS | extra)


def clean(text: str, max_length: int = 2000) -> str:
    """NFC, no control characters, collapsed white space, bounded length."""
    text = unicodedata.normalize("NFC", text or "")
    text = CONTROL.sub(" ", text)
    return " ".join(text.split())[:max_length]


def fold(word: str) -> str:
    return word.lower().translate(FOLD)


def lemma(word: str) -> str:
    """The lemma of one lower-case word; tries the æ/ø/å spelling when the word is written without."""
    table = _lemma_table()
    if word in table:
        return table[word]
    for plain, danish in UNFOLD:
        if plain in word:
            candidate = word.replace(plain, danish)
            if candidate in table:
                return table[candidate]
    return word


def words(text: str) -> list[str]:
    return WORD.findall(clean(text).lower())


def terms(text: str, keep_stop_words: bool = False) -> list[str]:
    """Search terms: lemmatised, folded, stop words dropped (unless asked to keep them)."""
    stops = stop_words()
    result = []
    for word in words(text):
        if NUMBER_RUN.fullmatch(word):  # CPR, phone and case numbers carry no topic (and are private)
            continue
        term = fold(lemma(word))
        if keep_stop_words or (term not in stops and fold(word) not in stops and len(term) > 1):
            result.append(term)
    return result


def name_key(text: str) -> str:
    """Key for names of places and diagnoses: folded, hyphens as spaces, without 'kommune'."""
    key = fold(clean(text)).replace("-", " ").replace(".", " ")
    key = re.sub(r"\b(kommunes?|regionskommune)\b", " ", key)
    return " ".join(key.split())


def generalise(text: str, names, placeholder: str = "diagnose") -> str:
    """The text with each name (as name keys, up to three words) replaced by `placeholder`: the KB answers
    about diagnoses in general, so a rare name must not pull towards a passage that merely mentions it."""
    tokens = clean(text).split()
    keys = [name_key(token) for token in tokens]
    out, i = [], 0
    while i < len(tokens):
        for n in (3, 2, 1):
            key = " ".join(keys[i : i + n])
            if len(key) > 3 and key in names:
                out.append(placeholder)
                i += n
                break
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


ENGLISH_MARKERS = frozenset(
    {
        "the",
        "what",
        "how",
        "is",
        "are",
        "my",
        "your",
        "can",
        "do",
        "does",
        "you",
        "with",
        "about",
        "should",
        "when",
        "where",
        "who",
        "which",
        "help",
        "please",
        "would",
        "child",
        "son",
        "daughter",
        "disability",
        "turns",
        "happens",
        "get",
        "support",
        "of",
        "and",
        # not Danish words too ("i", "to", "for", "du" are left out for that reason)
        "a",
        "an",
        "in",
        "on",
        "it",
        "we",
        "our",
        "me",
        "have",
        "has",
        "there",
        "any",
        "this",
        "that",
        "be",
        "will",
        "at",
        "or",
        "not",
        "if",
        "from",
        "they",
        "their",
        "need",
        "recommend",
        "good",
    }
)


def english_pattern(terms_: dict[str, str]) -> "re.Pattern | None":
    """One whole-word, case-insensitive pattern over english.yml's terms, longest first, so that "respite
    care" is replaced as a phrase before "care" alone."""
    keys = sorted((k.strip().lower() for k in terms_ if k and k.strip()), key=len, reverse=True)
    if not keys:
        return None
    return re.compile(
        r"(?<![\w'])(" + "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in keys) + r")(?![\w'])",
        re.IGNORECASE,
    )


def translate_english(text: str, pattern: "re.Pattern | None", terms_: dict[str, str]) -> str:
    """The message with the English words and phrases people mix into Danish replaced by the Danish the
    matcher learned from ("hvilken special needs support findes der" → "hvilken særlige behov støtte …")."""
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: terms_.get(" ".join(m.group(1).lower().split()), m.group(1)), text)


def looks_english(text: str) -> bool:
    """True for a message written in English (at least three English function words, most of the words)."""
    found = words(text)
    if len(found) < 3 or any(ch in text.lower() for ch in "æøå"):
        return False
    english = sum(1 for word in found if word in ENGLISH_MARKERS)
    return english >= 3 and english / len(found) >= 0.3

"""Builds the compact lexicon that core/redaction.py uses to find names: `var/names.json`.

Run with the KB build (the Makefile's `var/kb.version` recipe, before `python -m bot kb build`):
`python -m bot.ops.names [--fresh]`.

- Person names come from the `names-dataset` package (first and last names seen on Facebook, by country).
  `NameDataset()` takes gigabytes and seconds (one table at a time here), so it is read here, once, and
  never in a running server: the part kept is copied into the lexicon, and later builds reuse that copy
  while the installed packages are the same.
  Its country shares list only a name's top ten countries, so "Karl", "Emma" or "Noah" carry no DK mark;
  first names are therefore also taken from the countries whose names Danish families often carry (the
  Nordic neighbours, the English and German names popular in Denmark, and the largest groups of immigrants
  and descendants), by their rank there; surnames likewise (SURNAME_COUNTRIES: "Yilmaz", "Nowak", "Haddad",
  "Rahimi", "van Dijk"'s "Dijk"), since an immigrant-origin surname after "fru" or a first name is as personal
  as a Danish one.
- Ordinary words that are also names ("bo", "per", "have", "holm", "kan") are marked from spaCy's Danish
  lemma table (spacy-lookups-data) and stop words: such a word is a name only where the context says so.
  Of those, the ones the table lists without any Danish inflection, only as themselves and a genitive
  ("noah", "oscar", "august", "per") are kept apart as `proper`: the table took them from text where they
  were names, so after a cue ("far til noah", "hedder oscar") they count as names.
- Words the assistant needs are protected, read from the KB content: municipality and region names,
  diagnoses and their synonyms, organisation names; and the words that follow an eponym in the diagnoses'
  names ("syndrom", "sygdom"), so that "Rett syndrom" stays whatever the diagnosis; and country names in
  Danish and English from pycountry (a names-dataset dependency): "Danmark" and "Norge" are surnames too.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

from core.redaction import lexicon_path
from knowledge_base.content import diagnosis_spellings, municipality_spellings, organisation_spellings

FORMAT = (
    3  # raise when what is extracted changes (countries, filters): the next build reads the packages again
)
# A first name's rank among a country's first names (1 = most common) up to which it is kept.
NAME_COUNTRIES = {
    **dict.fromkeys(("NO", "SE", "DE", "NL", "GB", "US"), 1000),
    # Statistics Denmark's largest groups of immigrants and descendants
    **dict.fromkeys(
        ("TR", "PL", "SY", "IQ", "LB", "PS", "IR", "PK", "AF", "BA", "RO", "UA", "MA", "SO", "EG"), 500
    ),
    # names-dataset has no Vietnam, Eritrea or Sri Lanka; Vietnamese names rank high in Macau ("Minh", "Linh",
    # "Quang"), Ethiopian/Eritrean ones in Ethiopia and Sudan, South Asian ones in India and Bangladesh;
    # EU neighbours by the size of their groups in Denmark
    **dict.fromkeys(("MO", "ET", "SD", "IN", "BD", "IT", "ES", "FR", "LT", "LV", "BG", "HU", "PH"), 300),
}
# A surname's rank up to which it is kept: names-dataset marks "Yilmaz", "Nowak", "Haddad" or "Rahimi" with no
# DK rank (only a name's top ten countries are listed), so the same countries' surnames are taken by rank
# there; English-speaking countries' less deep, their surnames are English words more often ("Young", "Hill")
SURNAME_COUNTRIES = {
    **dict.fromkeys(("NO", "SE", "DE", "NL"), 1000),
    **dict.fromkeys(("GB", "US"), 300),
    **dict.fromkeys(
        ("TR", "PL", "SY", "IQ", "LB", "PS", "IR", "PK", "AF", "BA", "RO", "UA", "MA", "SO", "EG"), 1000
    ),
    **dict.fromkeys(("MO", "ET", "SD", "IN", "BD", "IT", "ES", "FR", "LT", "LV", "BG", "HU", "PH"), 300),
}
# a name as a single word in Latin letters (the dataset also holds "A Christiansen", "شاكر", initials)
NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ž]{2,}(?:-[A-Za-zÀ-ÖØ-öø-ž]{2,})*$")
TOKEN = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+")
NAME_PARTS = re.compile(r"\s*(?:\(|\)|,|\s[–-]\s|/)\s*")
MIN_HEAD_COUNT = 3  # "syndrom" follows an eponym in many diagnosis names; a one-off last word is not a head


def _words(phrase: str) -> list[str]:
    return TOKEN.findall(phrase.lower())


def dataset_names() -> dict[str, dict[str, int]]:
    """{"first": {name: rank in Denmark or 0}, "last": {…, or -1 when not seen in Denmark}} from
    names-dataset, lower case. Loads one table at a time, so the peak is about half of NameDataset()'s."""
    from names_dataset import NameDataset

    result = {}
    for kind in ("first", "last"):
        dataset = NameDataset(load_first_names=kind == "first", load_last_names=kind == "last")
        table = dataset.first_names if kind == "first" else dataset.last_names
        names: dict[str, int] = {}
        for name, info in table.items():
            if not NAME.match(name):
                continue
            ranks, countries = info.get("rank") or {}, info.get("country") or {}
            danish = "DK" in ranks or "DK" in countries
            countries_kept = NAME_COUNTRIES if kind == "first" else SURNAME_COUNTRIES
            elsewhere = any(ranks.get(c, limit + 1) <= limit for c, limit in countries_kept.items())
            key = name.lower()
            if danish:
                rank = ranks.get("DK") or 0
                known = max(names.get(key, 0), 0)
                names[key] = min(known or rank, rank) if rank else known
            elif elsewhere and kind == "first":
                names.setdefault(key, 0)
            elif elsewhere:
                names.setdefault(
                    key, -1
                )  # a surname seen only abroad: -1, so "Sotos?" is no genitive of "Soto"
        result[kind] = names
        del dataset, table
    return result


def lemma_table() -> dict[str, str]:
    """spaCy's Danish lemma table (form -> lemma) as shipped by spacy-lookups-data, read as plain JSON: the
    build needs all its entries, which spaCy's own Table (hashed keys) cannot list."""
    import spacy_lookups_data

    path = Path(str(spacy_lookups_data.da["lemma_lookup"]))
    if not path.exists():
        path = path.with_name(path.name + ".gz")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def danish_words() -> tuple[set[str], set[str]]:
    """Lower-case Danish words (every form and lemma in spaCy's Danish lemma table, and the stop words), and
    the stop words alone."""
    from spacy.lang.da.stop_words import STOP_WORDS

    table = lemma_table()
    # a bare genitive is no word of its own here: "mads" is listed as "mad"+s, but a message starting "Mads
    # har" is about Mads, so only lemmas and the other forms count
    words = {lemma for lemma in table.values() if lemma.islower()}
    words |= {
        form for form, lemma in table.items() if form.islower() and form not in (lemma + "s", lemma + "'s")
    }
    return words | set(STOP_WORDS), set(STOP_WORDS)


def uninflected(words: set[str]) -> set[str]:
    """Those of `words` that spaCy's Danish lemma table lists only as themselves and their genitive or an -s
    plural ("noah": noah, noahs; "august", "april", "oscar"), never with a Danish inflection ("bo": bor, boet;
    "storm": stormen): the table took them from running text where they were names, so they are no evidence
    of an ordinary word after a cue ("far til noah", "hedder oscar")."""
    table = lemma_table()
    forms: dict[str, set[str]] = {}
    for form, lemma in table.items():
        if lemma in words:
            forms.setdefault(lemma, set()).add(form.lower())
        if form.islower() and form in words and lemma != form:
            forms.setdefault(form, set()).add("\0")  # an inflected form of another word ("bor" of "bo")
    result = set()
    for word in words:
        own = forms.get(word, {word})
        bare = {word, word + "s", word + "'", word + "'s", word + "s'", word + "ses", word + "s's"}
        # with its genitive among the forms: a noun, not an adverb or a numeral that never inflects ("cirka")
        if own <= bare and len(own) > 1:
            result.add(word)
    return result


def country_names() -> list[tuple[str, str]]:
    """(code, name) of every country in Danish and English, from pycountry (names-dataset depends on it)."""
    import gettext

    import pycountry

    danish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["da"], fallback=True)
    names = []
    for country in pycountry.countries:
        for name in {
            country.name,
            getattr(country, "common_name", country.name),
            danish.gettext(country.name),
        }:
            names.append((country.alpha_2, name))
    return names


def protected_terms(content, first_names=frozenset(), stop_words=frozenset()) -> dict:
    """What must never be taken for a name, from the KB content: single words, phrases of several words, and
    the words that follow an eponym in diagnosis names."""
    phrases: set[tuple[str, ...]] = set()

    def add(text) -> None:
        for part in [str(text), *NAME_PARTS.split(str(text))]:
            words = tuple(_words(part))
            if words:
                phrases.add(words)

    heads: Counter = Counter()
    for diagnosis in content.diagnoses:
        for text in diagnosis_spellings(diagnosis):
            add(text)
            words = _words(text)
            if len(words) >= 2:
                heads[words[-1]] += 1
    for organisation in content.organisations:
        for text in organisation_spellings(organisation):
            add(text)
    municipalities = content.municipalities or {}
    for municipality in municipalities.get("municipalities") or []:
        for text in municipality_spellings(municipality):
            add(text)
    for region in municipalities.get("regions") or []:
        if region.get("name"):
            add(region["name"])
            add(f"Region {region['name']}")
    for code, name in country_names():
        add(name)
    single = {p[0] for p in phrases if len(p) == 1 and not p[0].isdigit()}
    # a word of a KB name that is no first name is protected on its own too ("Socialstyrelsen" in "… tidligere
    # Servicestyrelsen og Socialstyrelsen"), but not "Marie" of "Juliane Marie Centret"
    single |= {
        w for p in phrases if len(p) > 1 for w in p if len(w) > 3 and not w.isdigit() and w not in first_names
    }
    single = sorted(w for w in single if len(w) > 2 and w not in stop_words)  # not "de" of "Cabo de …"
    several = sorted(list(p) for p in phrases if len(p) > 1)
    return {
        "words": single,
        "phrases": several,
        "heads": sorted(h for h, n in heads.items() if n >= MIN_HEAD_COUNT and not h.isdigit()),
    }


def _installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def build(content_dir: Path, out: Path) -> dict:
    """Write the lexicon to `out`; returns what was done (counts, seconds, whether the names were reused)."""
    from knowledge_base import load_content

    started = time.perf_counter()
    source = {package: _installed(package) for package in ("names-dataset", "spacy-lookups-data", "spacy")}
    previous = None
    if out.exists():
        try:
            previous = json.loads(out.read_text(encoding="utf-8"))
        except ValueError:
            previous = None
    # the expensive parts (names-dataset, spaCy's tables) depend only on the installed packages
    reused = bool(previous and previous.get("format") == FORMAT and previous.get("source") == source)
    if reused:
        names = {"first": previous["first"], "last": previous["last"]}
        common, stop = set(previous["common"]), set(previous["stop"])
    else:
        if not source["names-dataset"]:
            raise SystemExit("names-dataset is not installed: run `make setup` (it is in pyproject.toml).")
        names = dataset_names()
        words, stop = danish_words()
        # only the words that are also names: that is all the redaction asks about
        common = {w for w in words if w in names["first"] or w in names["last"]}
    proper = uninflected(common - stop)  # the lemma table only
    protected = protected_terms(load_content(content_dir), names["first"], stop)
    lexicon = {
        "format": FORMAT,
        "source": source,
        "first": dict(sorted(names["first"].items())),
        "last": dict(sorted(names["last"].items())),
        "common": sorted(common),
        "stop": sorted(stop),
        "proper": sorted(proper),
        "protected": protected,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(".tmp")
    temporary.write_text(json.dumps(lexicon, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    temporary.replace(out)  # a running server reads the old file or the new one, never half of one
    return {
        "first": len(lexicon["first"]),
        "last": len(lexicon["last"]),
        "common": len(lexicon["common"]),
        "protected": len(protected["words"]) + len(protected["phrases"]),
        "reused": reused,
        "seconds": time.perf_counter() - started,
        "bytes": out.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    from core.config import load_settings

    settings = load_settings()
    out = lexicon_path(settings.var_dir)
    if argv is None:
        argv = sys.argv[1:]
    if "--fresh" in argv and out.exists():
        out.unlink()  # re-read names-dataset even though its version did not change
    from knowledge_base.content import ContentFileError

    try:
        done = build(settings.content_dir, out)
    except ContentFileError as exc:
        print(f"Navnelisten blev IKKE bygget; den gamle er uændret.\n{exc}", file=sys.stderr)
        return 1
    how = "genbrugt" if done["reused"] else "hentet fra names-dataset"
    print(
        f"Navneliste skrevet til {out}: {done['first']} fornavne og {done['last']} efternavne ({how}), "
        f"{done['common']} er også almindelige ord; {done['protected']} beskyttede ord og udtryk; "
        f"{done['bytes'] // 1024} kB på {done['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

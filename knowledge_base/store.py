"""Read side of the KB: loads the built database once into memory and answers look-ups and matches.

Hand an instance to whoever needs it (actions, CLI, tests); nothing here reads the environment.
`refresh()` re-reads only when the stored content version changed, so a rebuild is picked up live.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
import re

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from knowledge_base import models as m
from knowledge_base.content import DEFAULT_AUDIENCE, organisation_spellings
from knowledge_base.loader import make_engine
from knowledge_base.matcher import Match, Matcher
from knowledge_base.text import (
    clean,
    english_pattern,
    fold,
    generalise,
    name_key,
    terms,
    translate_english,
    words,
)


def _word_key(text: str) -> str:
    """The text's words as a name key with a space on either side, for whole-word look-ups of names."""
    return " " + name_key(" ".join(words(text or ""))) + " "


# "jeg er 45", "min far er 67", "han på 70": an age stated for the writer or the person asked about
STATED_AGE = re.compile(
    r"\b(?:er|paa|pa) (\d{2,3})(?: aar| ar)?\b(?! ?(?:uger?|dage?|maaned|timer?|minutter|kr|procent|"
    r"%|gange|km|kilo|kg|cm|grader|point|sider|medarbejdere|ansatte|elever|boern))"
)
MIN_ADULT_AGE = 26
POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
NAME_PARTS = re.compile(r"\s*(?:\(|,|\s–\s)\s*")


def _organisation_names(organisations: dict) -> list[tuple[str, dict[str, set[str]]]]:
    """(name key, {organisation id: the words that place it}) for every name, full name and alias, and their
    short forms: the part before a comma, dash or parenthesis ("Center for Sjældne Sygdomme"), and a short
    parenthesis ("(DH)", "(Europæiske referencenetværk)"); longest first. The places are the longer words
    after the short form ("Rigshospitalet", "Aarhus", "Skejby")."""
    names: dict[str, dict[str, set[str]]] = {}
    for oid, org in organisations.items():
        for full in organisation_spellings(org):
            parts = NAME_PARTS.split(full.replace(")", ""))
            places = {w for p in parts[1:] for w in _word_key(p).split() if len(w) >= 6}
            variants = {full, parts[0]}
            variants |= {
                inner
                for inner in re.findall(r"\(([^)]+)\)", full)
                if len(inner.split()) > 1 or inner.isupper()
            }
            for variant in variants:
                key = _word_key(variant).strip()
                if key:
                    names.setdefault(key, {}).setdefault(oid, set()).update(places)
    return sorted(names.items(), key=lambda item: -len(item[0]))


def _phrase_pattern(phrase: str) -> "re.Pattern":
    """An editor's phrase (roles, distress, outside.yml) as a whole-word pattern on folded text."""
    return re.compile(r"(?<![\w])" + re.escape(fold(clean(phrase))) + r"(?![\w])")


def _folded(text: str | None) -> str:
    """A message as the phrase patterns read it: cleaned, folded, with a space on either side."""
    return " " + fold(clean(text or "")) + " "


def _any(patterns: list["re.Pattern"], folded: str) -> bool:
    return any(pattern.search(folded) for pattern in patterns)


class KnowledgeBaseUnavailable(RuntimeError):
    """The database is missing, unreadable or was never built."""


class KnowledgeBase:
    def __init__(self, engine):
        self._engine = engine
        self.version = ""
        self.refresh()

    @classmethod
    def from_url(cls, url: str) -> "KnowledgeBase":
        return cls(make_engine(url))

    # -- loading ------------------------------------------------------------------------
    def stored_version(self) -> str:
        try:
            with self._engine.connect() as connection:
                row = connection.execute(select(m.Meta.value).where(m.Meta.key == "version")).first()
        except SQLAlchemyError as exc:
            raise KnowledgeBaseUnavailable(
                f"Vidensbasen kan ikke læses ({exc.__class__.__name__}); kør 'make kb'."
            ) from exc
        if row is None:
            raise KnowledgeBaseUnavailable("Vidensbasen er ikke bygget; kør 'make kb'.")
        return row[0]

    def refresh(self) -> bool:
        """Reload if the stored version differs from the loaded one; True when reloaded."""
        if self.stored_version() == self.version:
            return False
        with Session(self._engine) as connection:
            meta = dict(connection.execute(select(m.Meta.key, m.Meta.value)).all())
            topics = {r.id: r.data for r in connection.scalars(select(m.Topic))}
            questions = {r.id: r.data for r in connection.scalars(select(m.Question))}
            matcher = connection.scalar(select(m.Blob.value).where(m.Blob.key == "matcher"))
            organisations = {r.id: r.data for r in connection.scalars(select(m.Organisation))}
            diagnoses = {r.id: r.data for r in connection.scalars(select(m.Diagnosis))}
            diagnosis_names = dict(
                connection.execute(select(m.DiagnosisName.name, m.DiagnosisName.diagnosis_id)).all()
            )
            regions = {r.name: r for r in connection.scalars(select(m.Region))}
            changes = list(connection.scalars(select(m.RegionChange)))
            municipalities = dict(
                connection.execute(select(m.Municipality.name, m.Municipality.region)).all()
            )
            place_names = dict(
                connection.execute(select(m.MunicipalityName.name, m.MunicipalityName.municipality)).all()
            )
            glossary = {r.id: r.data for r in connection.scalars(select(m.GlossaryEntry))}
            needs = [r.data for r in connection.scalars(select(m.Need))]
            phases = sorted(
                (r.data for r in connection.scalars(select(m.LifePhase))), key=lambda p: p["min_age"]
            )
        self._topics, self._organisations, self._diagnoses = topics, organisations, diagnoses
        self._diagnosis_names, self._municipalities, self._place_names = (
            diagnosis_names,
            municipalities,
            place_names,
        )
        self._regions, self._changes, self._glossary, self._phases = regions, changes, glossary, phases
        self._deployment = json.loads(meta.get("deployment", "{}"))
        self.referral_routes = json.loads(meta.get("referral", "{}"))
        self._questions = questions
        self._matcher = Matcher.loads(matcher) if matcher else None
        roles = json.loads(meta.get("roles", "{}"))
        # longest phrases first, so "jeg er mor til" is not read as something shorter
        self._role_phrases = sorted(
            ((_phrase_pattern(p), role) for role, phrases in roles.items() for p in phrases),
            key=lambda item: -len(item[0].pattern),
        )
        self._distress = [_phrase_pattern(p) for p in json.loads(meta.get("distress", "[]"))]
        outside = json.loads(meta.get("outside", "{}"))
        self._outside_signals = [_phrase_pattern(p) for p in outside.get("signals") or []]
        self._young_words = [_phrase_pattern(p) for p in outside.get("young") or []]
        self._illnesses = [_phrase_pattern(p) for p in outside.get("illnesses") or []]
        self._english = json.loads(meta.get("english", "{}"))
        self._english_pattern = english_pattern(self._english)
        self._region_changes = json.loads(meta.get("region_changes", "[]"))
        self._municipality_sources = json.loads(meta.get("municipality_sources", "null")) or []
        self._organisation_names = _organisation_names(organisations)
        self._needs = {n["id"]: n for n in needs}
        self._need_terms = {n["id"]: [set(terms(k)) for k in n["keywords"]] for n in needs}
        self.version = meta["version"]
        return True

    # -- topics ---------------------------------------------------------------------------
    def topic_ids(self) -> list[str]:
        return sorted(self._topics)

    def topic(self, topic_id: str, audience: str | None = None) -> dict | None:
        """The topic with `text` for the audience (falls back to the parents' text) and `audience` used."""
        topic = self._topics.get(str(topic_id))
        if topic is None:
            return None
        answers = topic["answers"]
        used = audience if audience in answers else DEFAULT_AUDIENCE
        return {**topic, "text": answers[used].strip(), "audience": used}

    def sources(self, topic_id: str) -> list[dict]:
        topic = self._topics[topic_id]
        return [{**source, "reviewed": topic["reviewed"]} for source in topic["sources"]]

    # -- question entries ---------------------------------------------------------------------
    def question(self, question_id: str, audience: str | None = None) -> dict | None:
        """The question entry with `text` for the audience (falls back to the parents' text), `audience`
        used, and `sources` (the topic's when the entry names none), each with the entry's review date."""
        entry = self._questions.get(str(question_id))
        if entry is None:
            return None
        answers = entry["answers"]
        used = audience if audience in answers else DEFAULT_AUDIENCE
        sources = entry.get("sources") or self._topics[entry["topic"]]["sources"]
        return {
            **entry,
            "text": answers[used].strip(),
            "audience": used,
            "sources": [{**source, "reviewed": entry["reviewed"]} for source in sources],
        }

    def questions_of(self, topic_id: str) -> list[dict]:
        return [q for q in self._questions.values() if q["topic"] == topic_id]

    def question_ids(self) -> list[str]:
        return sorted(self._questions)

    # -- understanding ------------------------------------------------------------------------
    def match(self, text: str) -> Match:
        """The matcher's reading of a message: topic, question entry, confidence and domain score."""
        if self._matcher is None:
            raise KnowledgeBaseUnavailable("Vidensbasen har ingen matcher; kør 'make kb'.")
        return self._matcher.match(self._readable(text))

    def likely_role(self, text: str) -> tuple[str | None, float]:
        """The role whose voice the message is written in, by the matcher's role classifier, with its
        probability: for writers who do not present themselves ("kan vi bevilge …", "min mor siger …")."""
        if self._matcher is None:
            raise KnowledgeBaseUnavailable("Vidensbasen har ingen matcher; kør 'make kb'.")
        return self._matcher.role(self._readable(text))

    def _readable(self, text) -> str:
        """A message as the matcher reads it: English words people mix in replaced by the KB's Danish
        (english.yml), diagnosis names generalised."""
        if not isinstance(text, str):
            return ""
        return generalise(
            translate_english(text, self._english_pattern, self._english), self._diagnosis_names
        )

    def role_in(self, text: str) -> str | None:
        """The role the writer's own words show (phrases in roles.yml), or None. The longest phrase found
        wins: "jeg er mor til" says more than "jeg er"."""
        folded = _folded(text)
        for pattern, role in self._role_phrases:
            if pattern.search(folded):
                return role
        return None

    def distress_in(self, text: str) -> bool:
        """Whether the message says the writer cannot go on (distress.yml, whole phrases)."""
        return _any(self._distress, _folded(text))

    def outside_domain(self, text: str) -> bool:
        """Whether the message is about an ordinary childhood illness, or about an adult over 25 or an elderly
        relative and not about anyone young (outside.yml): "må hun komme i skole med skoldkopper?", "min
        mormor skal have hjemmehjælp", "jeg er 45 og har fået sklerose"."""
        folded = _folded(text)
        if _any(self._illnesses, folded):
            return True  # an ordinary childhood illness: the doctor's or the health visitor's question
        if _any(self._young_words, folded):
            return False
        adult = any(MIN_ADULT_AGE <= int(age) <= 120 for age in STATED_AGE.findall(folded))
        return adult or _any(self._outside_signals, folded)

    def organisation_mention(self, text: str) -> tuple[str, int] | None:
        """The organisation the text names (name, full name, alias or a short form of them, as whole words)
        and the number of words before the name ("kan VISO …": 1), or None. A short form two organisations
        share ("Center for Sjældne Sygdomme") names the one whose place the text also names ("… på
        Rigshospitalet"), else neither."""
        key = _word_key(POSSESSIVE.sub("", text or ""))  # "VISO's rolle" names VISO
        for name, candidates in self._organisation_names:
            at = key.find(f" {name} ")
            if at < 0 and len(name) >= 3 and not name.endswith("s"):
                at = key.find(f" {name}s ")  # the Danish genitive: "Sjældne Diagnosers rådgivning"
            if at < 0:
                continue
            if len(candidates) == 1:
                return next(iter(candidates)), len(key[:at].split())
            placed = [oid for oid, places in candidates.items() if any(f" {p} " in key for p in places)]
            return (placed[0], len(key[:at].split())) if len(placed) == 1 else None
        return None

    # -- organisations ----------------------------------------------------------------------
    def organisation(self, organisation_id: str) -> dict | None:
        return self._organisations.get(organisation_id)

    def need(self, need_id: str) -> dict | None:
        return self._needs.get(need_id)

    def need_in(self, text: str) -> str | None:
        """The need whose keywords the text uses most (all words of a keyword, as lemmas), or None."""
        words = set(terms(text or ""))
        best, best_count = None, 0
        for need_id, keywords in self._need_terms.items():
            count = sum(1 for keyword in keywords if keyword and keyword <= words)
            if count > best_count:
                best, best_count = need_id, count
        return best

    def organisations_with_need(self, need_id: str) -> list[dict]:
        """Organisations listing the need, in the editors' order (associations only come via a diagnosis)."""
        return [
            o
            for o in self._organisations.values()
            if need_id in (o.get("needs") or []) and o["type"] != "association"
        ]

    def organisations_for_topic(self, topic_id: str) -> list[dict]:
        topic = self._topics.get(topic_id) or {}
        return [self._organisations[o] for o in topic.get("organisations") or [] if o in self._organisations]

    # -- places -------------------------------------------------------------------------------
    def municipality(self, text: str) -> str | None:
        """Canonical municipality name for any accepted spelling ("i Århus", "Høje Taastrup kommune")."""
        key = name_key(text)
        if key.startswith("i "):
            key = key[2:]
        found = self._place_names.get(key)
        if found is None and key.endswith("s"):  # genitive: "Odenses", "Frederikshavns kommune"
            found = self._place_names.get(key[:-1])
        return found

    def region_of(self, municipality: str, on: dt.date | None = None) -> str | None:
        """The municipality's region on a date, following dated region changes (2027: Østdanmark)."""
        name = self.municipality(municipality) or municipality
        region = self._municipalities.get(name)
        if region is None:
            return None
        on = on or dt.date.today()
        for change in sorted(self._changes, key=lambda c: c.date):
            if change.from_region == region and change.date <= on:
                region = change.to_region
        return region

    def region_changes(self) -> list[dict]:
        """Dated region changes as written by the editors: date, from, to, note, sources."""
        return copy.deepcopy(self._region_changes)

    def municipality_sources(self) -> list[dict]:
        return copy.deepcopy(self._municipality_sources)

    def region_named(self, text: str) -> str | None:
        """A region the text names ("Region Sjælland", "region hovedstaden", "Østdanmark"), or None."""
        key = _word_key(text)
        for region in self._regions:
            # "Sjælland" alone is the island; only "Region Sjælland" is the region
            if f" region {name_key(region)} " in key or (
                f" {name_key(region)} " in key and region != "Sjælland"
            ):
                return region
        return None

    # -- diagnoses ------------------------------------------------------------------------------
    def diagnosis(self, text: str) -> dict | None:
        """Diagnosis by name, synonym or misspelling; falls back to close spelling matches."""
        key = name_key(text)
        for prefix in ("", "syndrom "):
            found = self._diagnosis_names.get(prefix + key)
            if found:
                return self._diagnoses[found]
        stripped = " ".join(w for w in key.split() if w not in ("syndrom", "syndromet", "sygdom", "syndrome"))
        found = self._diagnosis_names.get(stripped)
        if not found and len(key) >= 4:
            close = difflib.get_close_matches(key, list(self._diagnosis_names), n=1, cutoff=0.82)
            found = self._diagnosis_names[close[0]] if close else None
        return self._diagnoses[found] if found else None

    # -- the rest ------------------------------------------------------------------------------
    def life_phases(self) -> list[dict]:
        return list(self._phases)

    def life_phase(self, age: int) -> dict | None:
        return next((p for p in self._phases if p["min_age"] <= age <= p["max_age"]), None)

    def life_phase_by_id(self, phase_id: object) -> dict | None:
        return next((p for p in self._phases if p["id"] == phase_id), None)

    def glossary(self, entry_id: str) -> dict | None:
        return self._glossary.get(entry_id)

    def deployment(self, overrides: dict | None = None) -> dict:
        """The deployment's municipality and contact; non-empty `overrides` (from env) win."""
        deployment = copy.deepcopy(self._deployment)
        for key, value in (overrides or {}).items():
            if not value:
                continue
            if key == "municipality":
                deployment["municipality"] = value
            else:
                deployment.setdefault("contact", {})[key] = value
        return deployment

"""Validation of the content, with messages that name file, entry id and field.

Rules: unique ids, every referenced id exists, every entry has sources and a valid `reviewed` date,
amounts carry their year, no empty answers, and the topic ids fixed by the design are all present.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from knowledge_base.content import AUDIENCES, Content
from knowledge_base.text import name_key

REQUIRED_TOPICS = (
    "1.1",
    "1.2",
    "1.3",
    "1.4",
    "1.5",
    "1.6",
    "1.7",
    "1.8",
    "merudgifter",
    "tabt-arbejdsfortjeneste",
    "familievejledning",
    "aflastning",
    "hjaelpemidler",
    "overgang-til-voksenlivet",
    "klage",
    "kontaktperson",
    "sjaelden-definition",
    "diagnosebeskrivelser",
)
TOPIC_KINDS = ("anbefaling", "praktisk")
ORGANISATION_TYPES = (
    "national",
    "hospital",
    "association",
    "umbrella",
    "advice",
    "authority",
    "international",
    "network",
)
ID_PATTERN = re.compile(r"^(1\.[1-8]|[a-z0-9]+(-[a-z0-9]+)*)$")
QUESTION_ID_PATTERN = re.compile(r"^(1\.[1-8]|[a-z0-9]+(-[a-z0-9]+)*)/[a-z0-9]+(-[a-z0-9]+)*$")
MIN_ASKS = 4
MAX_QUESTION_ANSWER_WORDS = 150  # "about 120": a little slack before it becomes an error
MIN_OFF_TOPIC = 20
MIN_ROLE_EXAMPLES = 20  # per role: fewer cannot teach the role classifier a voice
PROFESSIONS = "professions"  # roles.yml: job titles × cues ("jeg er {}") that make the writer a professional
AMOUNT_PATTERN = re.compile(r"\d[\d.]*\s*(kr\b\.?|kroner\b)", re.IGNORECASE)  # not "stk. 3 kræver"
PAGE_URL = re.compile(r"https?://[^/\s]+/[^\s]+")  # a page: something after the domain
YEAR_PATTERN = re.compile(r"\b(19|20)\d\d\b")
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÆØÅ])|\n\s*\n")


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.field}: {self.message}"


class ContentError(ValueError):
    """Raised with all problems found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Checker:
    def __init__(self, content: Content, today: dt.date):
        self.content = content
        self.today = today
        self.problems: list[Problem] = []
        self.topic_ids = {t["id"] for t in content.topics}
        self.organisation_ids = {o["id"] for o in content.organisations}
        self.diagnosis_ids = {d["id"] for d in content.diagnoses}
        self.phase_ids = {p["id"] for p in content.life_phases}
        self.need_ids = {n["id"] for n in content.needs}
        self.region_names = {r.get("name") for r in content.municipalities.get("regions", [])}
        self.question_ids: set[str] = set()

    def add(self, section: str, entry_id: str, field_name: str, message: str, file: str | None = None):
        file = file or self.content.file_of(section, entry_id)
        self.problems.append(Problem(file, entry_id or "?", field_name, message))

    # -- shared field checks ------------------------------------------------------------
    def unique(self, section: str, entries: list[dict]):
        seen: set[str] = set()
        for entry in entries:
            entry_id = entry.get("id", "")
            if not entry_id:
                self.add(section, "?", "id", "mangler / missing")
            elif entry_id in seen:
                self.add(section, entry_id, "id", "findes to gange / duplicate id")
            elif not ID_PATTERN.match(entry_id):
                self.add(section, entry_id, "id", "kun a-z, 0-9 og '-' / only a-z, 0-9 and '-'")
            seen.add(entry_id)

    def text(
        self,
        section: str,
        entry_id: str,
        field_name: str,
        value,
        required: bool = True,
        file: str | None = None,
    ):
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(section, entry_id, field_name, "tom eller mangler / empty or missing", file)
            return
        if not isinstance(value, str):
            self.add(section, entry_id, field_name, "skal være tekst / must be text", file)
            return
        for sentence in SENTENCE_SPLIT.split(value):
            if AMOUNT_PATTERN.search(sentence) and not YEAR_PATTERN.search(sentence):
                self.add(
                    section,
                    entry_id,
                    field_name,
                    f"beløb uden årstal / amount without its year: {sentence.strip()[:80]!r}",
                    file,
                )

    def provenance(self, section: str, entry_id: str, entry: dict, file: str | None = None):
        sources = entry.get("sources")
        if not sources or not isinstance(sources, list):
            self.add(section, entry_id, "sources", "mindst én kilde / at least one source", file)
        else:
            for i, source in enumerate(sources):
                if not isinstance(source, dict) or not source.get("title") or not source.get("ref"):
                    self.add(
                        section, entry_id, f"sources[{i}]", "title og ref kræves / needs title and ref", file
                    )
                elif source.get("url") and not PAGE_URL.match(str(source["url"])):
                    self.add(
                        section,
                        entry_id,
                        f"sources[{i}].url",
                        f"skal pege på en side, ikke et domæne / a page, not a domain: {source['url']}",
                        file,
                    )
        reviewed = entry.get("reviewed")
        if isinstance(reviewed, str):
            try:
                reviewed = dt.date.fromisoformat(reviewed)
            except ValueError:
                reviewed = None
        if not isinstance(reviewed, dt.date):
            self.add(section, entry_id, "reviewed", "skal være en dato ÅÅÅÅ-MM-DD / must be a date", file)
        elif reviewed > self.today:
            self.add(section, entry_id, "reviewed", f"ligger i fremtiden / in the future: {reviewed}", file)

    def refs(self, section: str, entry_id: str, field_name: str, values, known: set[str], what: str):
        if values is None:
            return
        if not isinstance(values, list):
            self.add(section, entry_id, field_name, "skal være en liste / must be a list")
            return
        for value in values:
            if str(value) not in known:
                self.add(section, entry_id, field_name, f"ukendt {what} / unknown {what}: {value!r}")

    # -- sections -----------------------------------------------------------------------
    def topics(self):
        self.unique("topics", self.content.topics)
        for missing in sorted(set(REQUIRED_TOPICS) - self.topic_ids):
            self.add(
                "topics",
                missing,
                "id",
                "emnet mangler / required topic missing",
                file=f"topics/{missing}.yml",
            )
        for topic in self.content.topics:
            tid = topic["id"]
            self.asks("topics", tid, topic.get("asks"))
            if topic.get("kind") not in TOPIC_KINDS:
                self.add("topics", tid, "kind", f"skal være en af / must be one of {TOPIC_KINDS}")
            for name in ("title", "summary"):
                self.text("topics", tid, name, topic.get(name))
            answers = topic.get("answers") or {}
            if not isinstance(answers, dict):
                self.add("topics", tid, "answers", "skal være en mapping / must be a mapping")
                answers = {}
            for audience in ("foraelder", "fagperson"):
                self.text("topics", tid, f"answers.{audience}", answers.get(audience))
            for audience, value in answers.items():
                if audience not in AUDIENCES:
                    self.add("topics", tid, f"answers.{audience}", "ukendt målgruppe / unknown audience")
                elif audience == "ung":
                    self.text("topics", tid, "answers.ung", value)
            for name in ("key_points", "ask_municipality", "keywords"):
                items = topic.get(name)
                if not items or not isinstance(items, list):
                    self.add("topics", tid, name, "mindst ét punkt / at least one item")
                    continue
                for i, item in enumerate(items):
                    self.text("topics", tid, f"{name}[{i}]", item)
            checklist = topic.get("checklist")
            if checklist is not None:
                if (
                    not isinstance(checklist, dict)
                    or not checklist.get("title")
                    or not checklist.get("items")
                ):
                    self.add("topics", tid, "checklist", "kræver title og items / needs title and items")
            for phase, note in (topic.get("phase_notes") or {}).items():
                if str(phase) not in self.phase_ids:
                    self.add("topics", tid, f"phase_notes.{phase}", "ukendt livsfase / unknown life phase")
                self.text("topics", tid, f"phase_notes.{phase}", note)
            for i, amount in enumerate(topic.get("amounts") or []):
                if not isinstance(amount, dict) or not isinstance(amount.get("year"), int):
                    self.add("topics", tid, f"amounts[{i}]", "beløb skal have et år / amount needs a year")
            self.refs(
                "topics", tid, "related_topics", topic.get("related_topics"), self.topic_ids, "emne/topic"
            )
            self.refs(
                "topics",
                tid,
                "organisations",
                topic.get("organisations"),
                self.organisation_ids,
                "organisation",
            )
            self.provenance("topics", tid, topic)
            self.questions(topic)

    def asks(self, section: str, entry_id: str, asks, file: str | None = None):
        """At least MIN_ASKS ways of asking, each a non-empty text."""
        if (
            not isinstance(asks, list)
            or len([a for a in asks if isinstance(a, str) and a.strip()]) < MIN_ASKS
        ):
            self.add(
                section,
                entry_id,
                "asks",
                f"mindst {MIN_ASKS} formuleringer / at least {MIN_ASKS} ways of asking",
                file,
            )
            return
        for i, ask in enumerate(asks):
            if not isinstance(ask, str) or not ask.strip():
                self.add(section, entry_id, f"asks[{i}]", "tom eller ikke tekst / empty or not text", file)

    def questions(self, topic: dict):
        """A topic's question entries: id '<topic>/<slug>', asks, short answers per audience, provenance
        (sources inherited from the topic when absent)."""
        tid = topic["id"]
        entries = topic.get("questions")
        if entries is None:
            return
        file = self.content.file_of("topics", tid)
        if not isinstance(entries, list):
            self.add("topics", tid, "questions", "skal være en liste / must be a list", file)
            return
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                self.add("topics", tid, f"questions[{i}]", "skal være en mapping / must be a mapping", file)
                continue
            qid = str(entry.get("id") or "")
            if not QUESTION_ID_PATTERN.match(qid) or qid.split("/", 1)[0] != tid:
                self.add(
                    "topics",
                    tid,
                    f"questions[{i}].id",
                    f"skal være '{tid}/<a-z, 0-9 og ->' / must be '{tid}/<slug>': {qid!r}",
                    file,
                )
                qid = qid or f"{tid}/?"
            elif qid in self.question_ids:
                self.add("topics", qid, "id", "findes to gange / duplicate id", file)
            self.question_ids.add(qid)
            self.asks("topics", qid, entry.get("asks"), file)
            answers = entry.get("answers")
            if not isinstance(answers, dict):
                self.add("topics", qid, "answers", "skal være en mapping / must be a mapping", file)
                answers = {}
            self.text("topics", qid, "answers.foraelder", answers.get("foraelder"), file=file)
            for audience, value in answers.items():
                if audience not in AUDIENCES:
                    self.add(
                        "topics", qid, f"answers.{audience}", "ukendt målgruppe / unknown audience", file
                    )
                    continue
                if audience != "foraelder":
                    self.text("topics", qid, f"answers.{audience}", value, file=file)
                if isinstance(value, str) and len(value.split()) > MAX_QUESTION_ANSWER_WORDS:
                    self.add(
                        "topics",
                        qid,
                        f"answers.{audience}",
                        f"for langt: {len(value.split())} ord, højst ca. 120 / too long: "
                        "at most about 120 words",
                        file,
                    )
            if entry.get("legal_refs") is not None and not isinstance(entry.get("legal_refs"), list):
                self.add("topics", qid, "legal_refs", "skal være en liste / must be a list", file)
            inherited = {
                "sources": entry.get("sources") or topic.get("sources"),
                "reviewed": entry.get("reviewed"),
            }
            self.provenance("topics", qid, inherited, file)

    def roles(self):
        data = self.content.roles
        file = "roles.yml"
        for role in AUDIENCES:
            phrases = data.get(role)
            if not isinstance(phrases, list) or not phrases:
                self.add("roles", role, role, "mindst én formulering / at least one phrase", file)
        groups = data.get(PROFESSIONS)
        groups = [] if groups is None else groups if isinstance(groups, list) else [None]  # [None]: reported
        for i, group in enumerate(groups):
            group = group if isinstance(group, dict) else {}
            for key in ("titles", "cues"):
                values = group.get(key)
                if (
                    not isinstance(values, list)
                    or not values
                    or not all(isinstance(v, str) and v.strip() for v in values)
                ):
                    self.add(
                        "roles",
                        PROFESSIONS,
                        f"{PROFESSIONS}[{i}].{key}",
                        "en liste af tekster / a list of texts",
                        file,
                    )
            for cue in group.get("cues") or []:
                if isinstance(cue, str) and cue.count("{}") != 1:
                    self.add(
                        "roles",
                        PROFESSIONS,
                        cue,
                        "et udtryk skal have én {} for titlen / a cue needs one {} for the title",
                        file,
                    )
        for role, phrases in data.items():
            if role == PROFESSIONS:
                continue
            if role not in AUDIENCES:
                self.add(
                    "roles", str(role), str(role), f"ukendt rolle / unknown role; one of {AUDIENCES}", file
                )
            for i, phrase in enumerate(phrases if isinstance(phrases, list) else []):
                if not isinstance(phrase, str) or not phrase.strip():
                    self.add(
                        "roles", str(role), f"{role}[{i}]", "tom eller ikke tekst / empty or not text", file
                    )

    def role_examples(self):
        data = self.content.role_examples
        file = "role_examples.yml"
        for role in AUDIENCES:
            messages = data.get(role)
            if not isinstance(messages, list) or len(messages) < MIN_ROLE_EXAMPLES:
                self.add(
                    "role_examples",
                    role,
                    role,
                    f"mindst {MIN_ROLE_EXAMPLES} beskeder / at least {MIN_ROLE_EXAMPLES} messages",
                    file,
                )
        for role, messages in data.items():
            if role not in AUDIENCES:
                self.add(
                    "role_examples",
                    str(role),
                    str(role),
                    f"ukendt rolle / unknown role; one of {AUDIENCES}",
                    file,
                )
            for i, message in enumerate(messages if isinstance(messages, list) else []):
                if not isinstance(message, str) or not message.strip():
                    self.add(
                        "role_examples",
                        str(role),
                        f"{role}[{i}]",
                        "tom eller ikke tekst / empty or not text",
                        file,
                    )

    def distress(self):
        phrases = self.content.distress.get("phrases")
        if not isinstance(phrases, list) or len([p for p in phrases if isinstance(p, str) and p.strip()]) < 5:
            self.add(
                "distress",
                "phrases",
                "phrases",
                "mindst 5 formuleringer / at least 5 phrases",
                "distress.yml",
            )

    def outside(self):
        for key in ("signals", "young"):
            phrases = self.content.outside.get(key)
            if (
                not isinstance(phrases, list)
                or not phrases
                or not all(isinstance(p, str) and p.strip() for p in phrases)
            ):
                self.add("outside", key, key, "en liste af tekster / a list of texts", "outside.yml")

    def english(self):
        terms_ = self.content.english.get("terms")
        if terms_ is None:
            return
        if not isinstance(terms_, dict):
            self.add(
                "english",
                "terms",
                "terms",
                "en mapping fra engelsk til dansk / a mapping from English to Danish",
                "english.yml",
            )
            return
        for key, value in terms_.items():
            if not isinstance(key, str) or not key.strip() or key != key.lower():
                self.add(
                    "english",
                    str(key),
                    str(key),
                    "nøglen skal være engelsk tekst med små bogstaver / the key "
                    "must be lowercase English text",
                    "english.yml",
                )
            if not isinstance(value, str) or not value.strip():
                self.add(
                    "english",
                    str(key),
                    str(key),
                    "mangler dansk oversættelse / missing Danish translation",
                    "english.yml",
                )

    def off_topic_and_overview(self):
        if len(self.content.off_topic) < MIN_OFF_TOPIC:
            self.add(
                "off_topic",
                "off_topic",
                "off_topic",
                f"mindst {MIN_OFF_TOPIC} eksempler / at least {MIN_OFF_TOPIC} examples",
                "off_topic.yml",
            )
        self.asks("overview", "overview", self.content.overview.get("asks"), "overview.yml")

    def organisations(self):
        self.unique("organisations", self.content.organisations)
        for org in self.content.organisations:
            oid = org["id"]
            self.text("organisations", oid, "name", org.get("name"))
            self.text("organisations", oid, "helps_with", org.get("helps_with"))
            if org.get("type") not in ORGANISATION_TYPES:
                self.add(
                    "organisations", oid, "type", f"skal være en af / must be one of {ORGANISATION_TYPES}"
                )
            self.refs("organisations", oid, "topics", org.get("topics"), self.topic_ids, "emne/topic")
            self.refs("organisations", oid, "needs", org.get("needs"), self.need_ids, "behov/need")
            self.refs(
                "organisations", oid, "audiences", org.get("audiences"), set(AUDIENCES), "målgruppe/audience"
            )
            self.refs("organisations", oid, "diagnoses", org.get("diagnoses"), self.diagnosis_ids, "diagnose")
            self.refs("organisations", oid, "regions", org.get("regions"), self.region_names, "region")
            phone = org.get("phone")
            if phone and not re.fullmatch(r"(\+45 ?)?\d{2}( ?\d{2}){3}", str(phone)):
                self.add("organisations", oid, "phone", f"ugyldigt telefonnummer / invalid phone: {phone!r}")
            self.provenance("organisations", oid, org)

    def diagnoses(self):
        self.unique("diagnoses", self.content.diagnoses)
        for diagnosis in self.content.diagnoses:
            did = diagnosis["id"]
            self.text("diagnoses", did, "name", diagnosis.get("name"))
            association = diagnosis.get("association")
            if association is not None and association not in self.organisation_ids:
                self.add(
                    "diagnoses",
                    did,
                    "association",
                    f"ukendt organisation / unknown organisation: {association!r}",
                )
            self.provenance("diagnoses", did, diagnosis)

    def municipalities(self):
        data = self.content.municipalities
        file = "municipalities.yml"
        if not data.get("regions"):
            self.add("municipalities", "regions", "regions", "mangler / missing", file)
        names: dict[str, str] = {}
        for municipality in data.get("municipalities") or []:
            name = municipality.get("name", "")
            if municipality.get("region") not in self.region_names:
                self.add(
                    "municipalities", name, "region", f"ukendt region: {municipality.get('region')!r}", file
                )
            for form in [name, *(municipality.get("variants") or [])]:
                key = name_key(str(form))
                if key in names and names[key] != name:
                    self.add(
                        "municipalities",
                        name,
                        "variants",
                        f"{form!r} bruges også af / also used by {names[key]}",
                        file,
                    )
                names[key] = name
        for change in data.get("region_changes") or []:
            for region in [*(change.get("from") or []), change.get("to")]:
                if region not in self.region_names:
                    self.add(
                        "municipalities", "region_changes", "from/to", f"ukendt region: {region!r}", file
                    )
            if not isinstance(change.get("date"), dt.date):
                self.add(
                    "municipalities", "region_changes", "date", "skal være en dato / must be a date", file
                )
        self.provenance("municipalities", "municipalities", data, file)

    def glossary_and_phases(self):
        for section, entries, fields in (
            ("glossary", self.content.glossary, ("term", "explanation")),
            ("life_phases", self.content.life_phases, ("name", "description")),
        ):
            self.unique(section, entries)
            for entry in entries:
                for name in fields:
                    self.text(section, entry["id"], name, entry.get(name))
                self.provenance(section, entry["id"], entry)
        for phase in self.content.life_phases:
            self.refs("life_phases", phase["id"], "topics", phase.get("topics"), self.topic_ids, "emne/topic")

    def needs(self):
        self.unique("needs", self.content.needs)
        for need in self.content.needs:
            self.text("needs", need["id"], "label", need.get("label"))
            if not need.get("keywords"):
                self.add("needs", need["id"], "keywords", "mindst ét ord / at least one keyword")

    def referral(self):
        for route in ("no_association", "general", "national"):
            ids = self.content.referral.get(route)
            if not ids:
                self.add("referral", route, route, "mangler / missing", "referral.yml")
            self.refs("referral", route, route, ids, self.organisation_ids, "organisation")
        asks = self.content.referral.get("asks")
        if asks is not None and (
            not isinstance(asks, list) or not all(isinstance(a, str) and a.strip() for a in asks)
        ):
            self.add("referral", "asks", "asks", "en liste af tekster / a list of texts", "referral.yml")

    def deployment(self):
        data = self.content.deployment
        file = "deployment.yml"
        self.text("deployment", "deployment", "municipality", data.get("municipality"))
        contact = data.get("contact") or {}
        for name in ("name", "phone", "email", "opening_hours"):
            if not contact.get(name):
                self.add("deployment", "deployment", f"contact.{name}", "mangler / missing", file)

    def run(self) -> list[Problem]:
        self.topics()
        self.organisations()
        self.diagnoses()
        self.municipalities()
        self.glossary_and_phases()
        self.needs()
        self.referral()
        self.deployment()
        self.roles()
        self.role_examples()
        self.off_topic_and_overview()
        self.distress()
        self.outside()
        self.english()
        return self.problems


def validate(content: Content, today: dt.date | None = None) -> list[Problem]:
    """Return every problem found (empty list: the content is valid)."""
    return _Checker(content, today or dt.date.today()).run()


def ensure_valid(content: Content, today: dt.date | None = None) -> None:
    problems = validate(content, today)
    if problems:
        raise ContentError(problems)


STALE_AFTER_DAYS = 365


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _texts_of(entry: dict) -> list[tuple[str, str]]:
    """(field, text) for the free texts of an entry that may hold amounts."""
    found = [(f"answers.{a}", t) for a, t in (entry.get("answers") or {}).items() if isinstance(t, str)]
    found += [(f, entry[f]) for f in ("summary", "helps_with") if isinstance(entry.get(f), str)]
    found += [
        (f"key_points[{i}]", t) for i, t in enumerate(entry.get("key_points") or []) if isinstance(t, str)
    ]
    return found


def review_warnings(content: Content, today: dt.date | None = None) -> list[Problem]:
    """What an editor should look at again, though the content is valid: entries reviewed more than 12 months
    ago, and amounts whose newest year is older than last year (amounts are adjusted every 1 January)."""
    today = today or dt.date.today()
    warnings: list[Problem] = []
    entries = [("topics", t) for t in content.topics] + [("topics", q) for q in content.questions()]
    entries += [("organisations", o) for o in content.organisations] + [
        ("diagnoses", d) for d in content.diagnoses
    ]
    for section, entry in entries:
        file = content.file_of(section, entry["topic"] if "topic" in entry else entry.get("id", ""))
        reviewed = _date(entry.get("reviewed"))
        if reviewed and (today - reviewed).days > STALE_AFTER_DAYS:
            warnings.append(
                Problem(
                    file,
                    str(entry.get("id")),
                    "reviewed",
                    f"gennemgået for over 12 måneder siden ({reviewed}) / reviewed over a year ago",
                )
            )
        for i, amount in enumerate(entry.get("amounts") or []):
            if (
                isinstance(amount, dict)
                and isinstance(amount.get("year"), int)
                and amount["year"] < today.year - 1
            ):
                warnings.append(
                    Problem(
                        file,
                        str(entry.get("id")),
                        f"amounts[{i}]",
                        f"beløb fra {amount['year']}: findes et nyere? / amount from {amount['year']}",
                    )
                )
        for field_name, text in _texts_of(entry):
            for sentence in SENTENCE_SPLIT.split(text):
                years = [int(m.group(0)) for m in YEAR_PATTERN.finditer(sentence)]
                if AMOUNT_PATTERN.search(sentence) and years and max(years) < today.year - 1:
                    warnings.append(
                        Problem(
                            file,
                            str(entry.get("id")),
                            field_name,
                            f"beløb fra {max(years)}: findes et nyere? / amount from {max(years)}: "
                            f"{' '.join(sentence.split())[:70]!r}",
                        )
                    )
    return warnings

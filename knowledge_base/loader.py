"""Builds the SQL database from the YAML content, atomically.

Validation runs first, so broken content never touches the database. The rebuild is one transaction:
a running assistant sees the old KB or the new one, never half of it (SQLite runs in WAL mode so that
readers are not blocked meanwhile).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url

from knowledge_base import models as m
from knowledge_base.content import (
    AUDIENCES,
    Content,
    diagnosis_spellings,
    load_content,
    municipality_spellings,
)
from knowledge_base.matcher import DOMAIN_ONLY, NEUTRAL, OFF, OVERVIEW, QUESTION_PREFIX, TOPIC_PREFIX, Matcher
from knowledge_base.schema import PROFESSIONS, ensure_valid
from knowledge_base.text import generalise, name_key


def make_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite creates the folder, sets WAL and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 5}, future=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, future=True)


def _plain(value):
    """YAML values made JSON-safe (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _rows(content: Content) -> list:
    rows: list = []
    for topic in content.topics:
        rows.append(
            m.Topic(
                id=topic["id"],
                kind=topic["kind"],
                title=topic["title"].strip(),
                summary=topic["summary"].strip(),
                reviewed=_date(topic["reviewed"]),
                data=_plain({k: v for k, v in topic.items() if k != "questions"}),
            )
        )
    for question in content.questions():
        rows.append(
            m.Question(
                id=question["id"],
                topic_id=question["topic"],
                reviewed=_date(question["reviewed"]),
                data=_plain(question),
            )
        )
    for org in content.organisations:
        rows.append(
            m.Organisation(
                id=org["id"],
                name=org["name"],
                type=org["type"],
                url=org.get("url") or None,
                phone=org.get("phone") or None,
                reviewed=_date(org["reviewed"]),
                data=_plain(org),
            )
        )
    for topic in content.topics:
        for rank, org_id in enumerate(topic.get("organisations") or []):
            rows.append(m.TopicOrganisation(topic_id=topic["id"], organisation_id=org_id, rank=rank))
    names: dict[str, str] = {}
    for diagnosis in content.diagnoses:
        rows.append(
            m.Diagnosis(
                id=diagnosis["id"],
                name=diagnosis["name"],
                association_id=diagnosis.get("association"),
                data=_plain(diagnosis),
            )
        )
        for form in [*diagnosis_spellings(diagnosis), diagnosis["id"]]:
            names.setdefault(name_key(form), diagnosis["id"])
    rows.extend(m.DiagnosisName(name=k, diagnosis_id=v) for k, v in names.items() if k)
    places = content.municipalities
    for region in places["regions"]:
        rows.append(
            m.Region(
                name=region["name"],
                valid_from=_date(region.get("valid_from")),
                valid_to=_date(region.get("valid_to")),
            )
        )
    changes = [(change, old) for change in places.get("region_changes") or [] for old in change["from"]]
    rows.extend(
        m.RegionChange(id=i, date=_date(change["date"]), from_region=old, to_region=change["to"])
        for i, (change, old) in enumerate(changes, start=1)
    )
    place_names: dict[str, str] = {}
    for municipality in places["municipalities"]:
        rows.append(m.Municipality(name=municipality["name"], region=municipality["region"]))
        for form in municipality_spellings(municipality):
            place_names.setdefault(name_key(form), municipality["name"])
    rows.extend(m.MunicipalityName(name=k, municipality=v) for k, v in place_names.items() if k)
    for entry in content.glossary:
        rows.append(
            m.GlossaryEntry(
                id=entry["id"],
                term=entry["term"],
                explanation=entry["explanation"].strip(),
                data=_plain(entry),
            )
        )
    for need in content.needs:
        rows.append(m.Need(id=need["id"], label=need["label"], data=_plain(need)))
    for phase in content.life_phases:
        rows.append(
            m.LifePhase(
                id=phase["id"], min_age=phase["min_age"], max_age=phase["max_age"], data=_plain(phase)
            )
        )
    return rows


NEUTRAL_WORDS = 5  # a question this short shows no one's voice


def matcher_examples(content: Content) -> list[tuple[str, str]]:
    """(text, label) pairs the matcher learns from: each topic's title, asks and questions for the
    municipality (a family asks them in its own words too), each question entry's asks, the general requests
    for help, the off-topic examples, and (for the domain score only) the referral wordings and role phrases.
    Diagnosis names are generalised as in search."""
    names = diagnosis_names(content)
    examples = []
    for topic in content.topics:
        for text in [topic["title"], *(topic.get("asks") or []), *(topic.get("ask_municipality") or [])]:
            examples.append((generalise(str(text), names), TOPIC_PREFIX + topic["id"]))
    for question in content.questions():
        for text in question.get("asks") or []:
            examples.append((generalise(str(text), names), QUESTION_PREFIX + question["id"]))
    examples += [(generalise(str(t), names), OVERVIEW) for t in content.overview.get("asks") or []]
    examples += [(str(t), OFF) for t in content.off_topic]
    # in the domain without an answer of their own: "hvem kan vi kontakte?" and how people present themselves
    examples += [(str(t), DOMAIN_ONLY) for t in content.referral.get("asks") or []]
    examples += [(str(t), DOMAIN_ONLY) for phrases in role_phrases(content).values() for t in phrases]
    examples += [(t, DOMAIN_ONLY) for t, role in role_examples(content) if role != NEUTRAL]
    return examples


def role_phrases(content: Content) -> dict[str, list[str]]:
    """Each role's phrases (roles.yml), the professional's with every cue × title of `professions` added
    ("jeg er {}" × "psykolog", "jeg sidder i {}" × "ppr"), so an editor adds a job title once."""
    phrases = {role: [str(p) for p in content.roles.get(role) or []] for role in AUDIENCES}
    for group in content.roles.get(PROFESSIONS) or []:
        phrases["fagperson"] += [
            str(cue).format(str(title))
            for cue in group.get("cues") or []
            for title in group.get("titles") or []
        ]
    return phrases


def role_examples(content: Content) -> list[tuple[str, str]]:
    """(message, role) pairs the role classifier learns from: whole messages in each role's voice, and as
    "neutral" the short questions anyone asks (titles, keywords, asks of at most NEUTRAL_WORDS words), so that
    "hvad er aflastning?" shows no one's voice. Diagnosis names are generalised as in matching."""
    names = diagnosis_names(content)
    pairs = [(str(t), role) for role, messages in content.role_examples.items() for t in messages or []]
    short = [topic["title"] for topic in content.topics]
    short += [str(k) for topic in content.topics for k in topic.get("keywords") or []]
    short += [
        str(a)
        for entry in [*content.topics, *content.questions()]
        for a in entry.get("asks") or []
        if len(str(a).split()) <= NEUTRAL_WORDS
    ]
    pairs += [(t, NEUTRAL) for t in short]
    return [(generalise(t, names), role) for t, role in pairs]


def diagnosis_names(content: Content) -> set[str]:
    """Every spelling of every diagnosis, as name keys."""
    return {name_key(form) for d in content.diagnoses for form in [*diagnosis_spellings(d), d["id"]]}


def build_database(content_dir: Path | str, url: str, today: dt.date | None = None) -> str:
    """Validate the content, build the matcher, and replace the database's KB in one transaction; returns the
    version."""
    content = load_content(content_dir)
    ensure_valid(content, today)
    rows = _rows(content)
    matcher = Matcher.train(matcher_examples(content), role_examples(content))
    rows.append(m.Blob(key="matcher", value=matcher.dumps()))
    meta = {
        "version": content.version,
        "schema": m.SCHEMA_VERSION,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "deployment": json.dumps(_plain(content.deployment), ensure_ascii=False),
        "referral": json.dumps(_plain(content.referral), ensure_ascii=False),
        "roles": json.dumps(role_phrases(content), ensure_ascii=False),
        "distress": json.dumps(_plain(content.distress.get("phrases") or []), ensure_ascii=False),
        "outside": json.dumps(_plain(content.outside), ensure_ascii=False),
        "english": json.dumps(
            {str(k).strip().lower(): str(v).strip() for k, v in (content.english.get("terms") or {}).items()},
            ensure_ascii=False,
        ),
        "region_changes": json.dumps(
            _plain(content.municipalities.get("region_changes") or []), ensure_ascii=False
        ),
        "municipality_sources": json.dumps(_plain(content.municipalities.get("sources")), ensure_ascii=False),
    }
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if inspect(connection).has_table(m.Meta.__tablename__):
                stored = connection.execute(m.Meta.__table__.select().where(m.Meta.key == "schema")).first()
                if stored is None or stored.value != m.SCHEMA_VERSION:
                    m.Base.metadata.drop_all(connection)
            m.Base.metadata.create_all(connection)
            for table in reversed(m.Base.metadata.sorted_tables):
                connection.execute(table.delete())
            by_table = defaultdict(list)
            for row in rows:
                by_table[row.__table__].append({c.name: getattr(row, c.key) for c in row.__table__.columns})
            for table in m.Base.metadata.sorted_tables:
                if by_table[table]:
                    connection.execute(table.insert(), by_table[table])
            connection.execute(m.Meta.__table__.insert(), [{"key": k, "value": v} for k, v in meta.items()])
    finally:
        engine.dispose()
    return content.version

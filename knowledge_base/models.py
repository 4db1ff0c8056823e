"""SQLAlchemy 1.4 tables for the built knowledge base. Rich fields are kept as JSON next to the keys
that look-ups and joins need."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 ships no type information, so mypy cannot treat the generated class as a base class
# unless it is declared Any explicitly.
Base: Any = declarative_base()
SCHEMA_VERSION = "3"


class Meta(Base):
    __tablename__ = "kb_meta"
    key = Column(String(50), primary_key=True)
    value = Column(Text, nullable=False)


class Topic(Base):
    __tablename__ = "kb_topic"
    id = Column(String(60), primary_key=True)
    kind = Column(String(20), nullable=False)
    title = Column(Text, nullable=False)
    summary = Column(Text, nullable=False)
    reviewed = Column(Date, nullable=False)
    data = Column(JSON, nullable=False)


class Question(Base):
    """A question entry: one specific question of a topic, answered briefly per audience."""

    __tablename__ = "kb_question"
    id = Column(String(160), primary_key=True)
    topic_id = Column(String(60), ForeignKey("kb_topic.id"), nullable=False)
    reviewed = Column(Date, nullable=False)
    data = Column(JSON, nullable=False)


class Blob(Base):
    """Built artefacts kept with the content they were built from (the matcher), so every replica that
    reads this database answers with the same matcher."""

    __tablename__ = "kb_blob"
    key = Column(String(50), primary_key=True)
    value = Column(LargeBinary, nullable=False)


class Organisation(Base):
    __tablename__ = "kb_organisation"
    id = Column(String(80), primary_key=True)
    name = Column(Text, nullable=False)
    type = Column(String(20), nullable=False)
    url = Column(Text)
    phone = Column(String(30))
    reviewed = Column(Date, nullable=False)
    data = Column(JSON, nullable=False)


class TopicOrganisation(Base):
    __tablename__ = "kb_topic_organisation"
    topic_id = Column(String(60), ForeignKey("kb_topic.id"), primary_key=True)
    organisation_id = Column(String(80), ForeignKey("kb_organisation.id"), primary_key=True)
    rank = Column(Integer, nullable=False)


class Diagnosis(Base):
    __tablename__ = "kb_diagnosis"
    id = Column(String(80), primary_key=True)
    name = Column(Text, nullable=False)
    association_id = Column(String(80), ForeignKey("kb_organisation.id"))
    data = Column(JSON, nullable=False)


class DiagnosisName(Base):
    """Every spelling of a diagnosis, folded, for exact look-up before fuzzy matching."""

    __tablename__ = "kb_diagnosis_name"
    name = Column(String(120), primary_key=True)
    diagnosis_id = Column(String(80), ForeignKey("kb_diagnosis.id"), nullable=False)


class Region(Base):
    __tablename__ = "kb_region"
    name = Column(String(40), primary_key=True)
    valid_from = Column(Date)
    valid_to = Column(Date)


class RegionChange(Base):
    __tablename__ = "kb_region_change"
    id = Column(Integer, primary_key=True)
    date = Column(Date, nullable=False)
    from_region = Column(String(40), ForeignKey("kb_region.name"), nullable=False)
    to_region = Column(String(40), ForeignKey("kb_region.name"), nullable=False)


class Municipality(Base):
    __tablename__ = "kb_municipality"
    name = Column(String(60), primary_key=True)
    region = Column(String(40), ForeignKey("kb_region.name"), nullable=False)


class MunicipalityName(Base):
    __tablename__ = "kb_municipality_name"
    name = Column(String(120), primary_key=True)
    municipality = Column(String(60), ForeignKey("kb_municipality.name"), nullable=False)


class GlossaryEntry(Base):
    __tablename__ = "kb_glossary"
    id = Column(String(80), primary_key=True)
    term = Column(Text, nullable=False)
    explanation = Column(Text, nullable=False)
    data = Column(JSON, nullable=False)


class Need(Base):
    __tablename__ = "kb_need"
    id = Column(String(40), primary_key=True)
    label = Column(Text, nullable=False)
    data = Column(JSON, nullable=False)


class LifePhase(Base):
    __tablename__ = "kb_life_phase"
    id = Column(String(10), primary_key=True)
    min_age = Column(Integer, nullable=False)
    max_age = Column(Integer, nullable=False)
    data = Column(JSON, nullable=False)

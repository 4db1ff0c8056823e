"""Reads the editors' YAML files into plain dicts, remembering which file each entry came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

AUDIENCES = ("foraelder", "fagperson", "ung")  # who writes: the roles, and the audiences of an answer
DEFAULT_AUDIENCE = "foraelder"  # a parent needs no role: theirs is the text when nobody said otherwise
SINGLE_FILES = (
    "organisations",
    "diagnoses",
    "municipalities",
    "life_phases",
    "glossary",
    "needs",
    "referral",
    "deployment",
    "roles",
    "role_examples",
    "off_topic",
    "overview",
    "distress",
    "outside",
    "english",
)
MAPPING_FILES = (
    "municipalities",
    "referral",
    "deployment",
    "roles",
    "role_examples",
    "overview",
    "distress",
    "outside",
    "english",
)
PLAIN_LISTS = ("off_topic",)  # lists of strings, not entries with ids


def diagnosis_spellings(diagnosis: dict) -> list[str]:
    """Every way the content writes a diagnosis: its name, synonyms and known misspellings."""
    forms = [
        diagnosis.get("name"),
        *(diagnosis.get("synonyms") or []),
        *(diagnosis.get("misspellings") or []),
    ]
    return [str(form) for form in forms if form]


def municipality_spellings(municipality: dict) -> list[str]:
    """A municipality's name and its variants ("Københavns Kommune", "Kbh")."""
    return [str(form) for form in [municipality.get("name"), *(municipality.get("variants") or [])] if form]


def organisation_spellings(organisation: dict) -> list[str]:
    """An organisation's name, full name and aliases."""
    forms = [organisation.get("name"), organisation.get("full_name"), *(organisation.get("aliases") or [])]
    return [str(form) for form in forms if form]


class ContentFileError(ValueError):
    """A content file is missing or is not valid YAML."""


@dataclass
class Content:
    topics: list[dict] = field(default_factory=list)
    organisations: list[dict] = field(default_factory=list)
    diagnoses: list[dict] = field(default_factory=list)
    municipalities: dict = field(default_factory=dict)
    life_phases: list[dict] = field(default_factory=list)
    glossary: list[dict] = field(default_factory=list)
    needs: list[dict] = field(default_factory=list)
    deployment: dict = field(default_factory=dict)
    referral: dict = field(default_factory=dict)
    roles: dict = field(default_factory=dict)  # role -> phrases that show who is writing
    role_examples: dict = field(default_factory=dict)  # role -> whole messages in that role's voice
    off_topic: list = field(default_factory=list)  # messages outside the domain (the matcher's "off")
    overview: dict = field(default_factory=dict)  # general requests for help
    distress: dict = field(default_factory=dict)  # phrases of someone in distress: never a topic first
    outside: dict = field(default_factory=dict)  # adults and elderly relatives: outside the domain
    english: dict = field(default_factory=dict)  # English words people mix in -> the Danish the KB uses

    origin: dict[tuple[str, str], str] = field(default_factory=dict)  # (section, id) -> file
    version: str = ""

    def file_of(self, section: str, entry_id: str) -> str:
        return self.origin.get((section, str(entry_id)), f"{section}.yml")

    def questions(self) -> list[dict]:
        """Every topic's question entries, each with `topic` (the topic id) added."""
        return [
            {**q, "topic": t["id"]}
            for t in self.topics
            for q in t.get("questions") or []
            if isinstance(q, dict)
        ]


# libyaml's safe loader where PyYAML was built with it: the same documents, several times faster to read
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path):
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ContentFileError(f"{path.name}: ugyldig YAML / invalid YAML: {exc}") from exc
    except OSError as exc:
        raise ContentFileError(f"{path.name}: kan ikke læses / cannot be read: {exc}") from exc


def load_content(content_dir: Path | str) -> Content:
    """Load every content file; raises ContentFileError on unreadable YAML. Does not validate."""
    content_dir = Path(content_dir)
    content = Content()
    digest = hashlib.sha256()
    topic_files = sorted((content_dir / "topics").glob("*.yml"))
    for path in topic_files:
        digest.update(path.name.encode() + path.read_bytes())
        entry = _read_yaml(path) or {}
        if not isinstance(entry, dict):
            raise ContentFileError(
                f"topics/{path.name}: et emne skal være en mapping / a topic must be a mapping"
            )
        entry["id"] = str(entry.get("id", ""))
        content.topics.append(entry)
        content.origin[("topics", entry["id"])] = f"topics/{path.name}"
        for question in entry.get("questions") or []:
            if isinstance(question, dict):
                content.origin[("questions", str(question.get("id", "")))] = f"topics/{path.name}"
    for name in SINGLE_FILES:
        path = content_dir / f"{name}.yml"
        if not path.exists():
            raise ContentFileError(f"{name}.yml: filen mangler / file is missing")
        digest.update(path.name.encode() + path.read_bytes())
        data = _read_yaml(path)
        if name in MAPPING_FILES:
            if data is not None and not isinstance(data, dict):
                raise ContentFileError(f"{name}.yml: skal være en mapping / must be a mapping")
            setattr(content, name, data or {})
            continue
        if name in PLAIN_LISTS:
            if data is not None and not isinstance(data, list):
                raise ContentFileError(f"{name}.yml: skal være en liste / must be a list")
            setattr(content, name, [str(item) for item in data or []])
            continue
        entries = data or []
        if not isinstance(entries, list):
            raise ContentFileError(f"{name}.yml: skal være en liste / must be a list")
        for entry in entries:
            entry["id"] = str(entry.get("id", ""))
            content.origin[(name, entry["id"])] = f"{name}.yml"
        setattr(content, name, entries)
    content.version = digest.hexdigest()[:12]
    return content

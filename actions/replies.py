"""Builds replies: texts from actions/texts.yml and the custom payload of the reply contract (design.md)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

KINDS = ("answer", "organisations", "clarify", "fallback", "out_of_scope", "handoff", "checklist", "smalltalk",
         "overview", "region")


@lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    return yaml.safe_load((Path(__file__).with_name("texts.yml")).read_text(encoding="utf-8"))


def text(key: str, /, **values: Any) -> str:
    """A text from actions/texts.yml with `{placeholders}` filled in."""
    return _texts()[key].format(**values)


def organisation_card(org: dict) -> dict:
    return {k: org.get(k) for k in ("id", "name", "url", "phone") if org.get(k)}


def source_ref(source: dict) -> dict:
    return {k: source.get(k) for k in ("title", "ref", "url", "reviewed") if source.get(k)}


def payload(kind: str, *, topic: str | None = None, question: str | None = None, audience: str | None = None,
            sources: list[dict] | None = None, organisations: list[dict] | None = None,
            region: str | None = None, **extra: Any) -> dict:
    """The custom payload; only keys with a value are sent."""
    if kind not in KINDS:
        raise ValueError(f"unknown payload kind {kind!r}")
    body = {
        "kind": kind,
        "topic": topic,
        "question": question,
        "audience": audience,
        "sources": [source_ref(s) for s in sources or []],
        "organisations": [organisation_card(o) for o in organisations or []],
        "region": region,
        **extra,
    }
    return {k: v for k, v in body.items() if v not in (None, "", [], {})}


def source_line(sources: list[dict]) -> str:
    """'Kilde: …' naming each source by reference and title."""
    parts = [f"{s['ref']} – {s['title']}" if s.get("ref") and s["ref"] not in s["title"] else s["title"]
             for s in sources]
    return text("source_line", sources="; ".join(parts))

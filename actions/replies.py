"""Builds replies: texts from domain.yml responses, the custom payload of the reply contract (design.md)."""
from __future__ import annotations

from typing import Any

KINDS = ("answer", "organisations", "clarify", "fallback", "out_of_scope", "handoff", "checklist", "smalltalk")


def response_text(domain: dict, name: str, **values: Any) -> str:
    """The first text variant of a domain response, with `{placeholders}` filled in."""
    variants = domain.get("responses", {}).get(name) or []
    if not variants:
        raise KeyError(f"domain.yml has no response {name}")
    return variants[0]["text"].format(**values)


def organisation_card(org: dict) -> dict:
    return {k: org.get(k) for k in ("id", "name", "url", "phone") if org.get(k)}


def source_ref(source: dict) -> dict:
    return {k: source.get(k) for k in ("title", "ref", "url", "reviewed") if source.get(k)}


def payload(kind: str, *, topic: str | None = None, audience: str | None = None,
            sources: list[dict] | None = None, organisations: list[dict] | None = None,
            region: str | None = None, **extra: Any) -> dict:
    """The custom payload; only keys with a value are sent."""
    if kind not in KINDS:
        raise ValueError(f"unknown payload kind {kind!r}")
    body = {
        "kind": kind,
        "topic": topic,
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
    return "Kilde: " + "; ".join(parts)

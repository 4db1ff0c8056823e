"""Builds replies: texts from core/texts.yml and the custom payload of the reply contract
(docs/reply-contract.md), with each rendered element (the source line) made here once for every channel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

KINDS = (
    "answer",
    "organisations",
    "clarify",
    "fallback",
    "out_of_scope",
    "handoff",
    "checklist",
    "smalltalk",
    "overview",
    "region",
)
# Replies that inform or advise carry the AI Act's transparency note (texts.yml `ai_notice`) in the chat
# channels, where no greeting may have said it: Slack has no welcome, and a Teams conversation can start with
# a question. Acknowledgements, greetings and thanks ("smalltalk") do not repeat it.
AI_NOTICE_KINDS = frozenset(KINDS) - {"smalltalk"}


@lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    return yaml.safe_load((Path(__file__).with_name("texts.yml")).read_text(encoding="utf-8"))


def text(key: str, /, **values: Any) -> str:
    """A text from core/texts.yml with `{placeholders}` filled in."""
    return _texts()[key].format(**values)


def organisation_card(org: dict) -> dict:
    return {k: org.get(k) for k in ("id", "name", "url", "phone") if org.get(k)}


def source_label(source: dict) -> str:
    """How a source is named everywhere: "ref – title", or the title alone when it holds the reference."""
    ref, title = source.get("ref"), source.get("title") or source.get("ref") or ""
    return f"{ref} – {title}" if ref and ref not in title else title


def source_ref(source: dict) -> dict:
    ref = {k: source.get(k) for k in ("title", "ref", "url", "reviewed") if source.get(k)}
    return {**ref, "label": source_label(source)} if ref else ref


def payload(
    kind: str,
    *,
    topic: str | None = None,
    question: str | None = None,
    audience: str | None = None,
    sources: list[dict] | None = None,
    organisations: list[dict] | None = None,
    region: str | None = None,
    **extra: Any,
) -> dict:
    """The custom payload; only keys with a value are sent."""
    if kind not in KINDS:
        raise ValueError(f"unknown payload kind {kind!r}")
    body = {
        "kind": kind,
        "topic": topic,
        "question": question,
        "audience": audience,
        "sources": [source_ref(s) for s in sources or []],
        "source_line": source_line_parts(sources) if sources else None,
        "organisations": [organisation_card(o) for o in organisations or []],
        "region": region,
        **extra,
    }
    return {k: v for k, v in body.items() if v not in (None, "", [], {})}


def source_line(sources: list[dict]) -> str:
    """'Kilde: …' naming each source by its label; the last paragraph of an answer's text, and the payload's
    `source_line`, so that a channel that links the sources replaces exactly that paragraph."""
    return text("source_line", sources="; ".join(source_label(s) for s in sources))


def source_line_parts(sources: list[dict]) -> list[dict]:
    """The source line as the payload's `source_line`: its text in parts, each source's label a part with the
    source's `url` (where it has a page), so that every channel renders it by joining the parts, linked its
    own way; joined without links it is exactly the paragraph `source_line()` put in the reply's text."""
    line = source_line(sources)
    parts: list[dict] = []
    cursor = 0
    for source in sources:
        label = source_label(source)
        at = line.find(label, cursor) if label else -1
        if at < 0:
            continue
        if at > cursor:
            parts.append({"text": line[cursor:at]})
        parts.append({"text": label, **({"url": source["url"]} if source.get("url") else {})})
        cursor = at + len(label)
    if cursor < len(line):
        parts.append({"text": line[cursor:]})
    return parts


def plain_source_line(custom: dict) -> str:
    """The payload's source line as the plain paragraph of the reply's text ("" without one)."""
    parts = custom.get("source_line")
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict))

"""Which organisations fit a family's situation: diagnosis, need, topic, audience and age.

Ranking, first match wins a place: the diagnosis's association (or, without one, the routes in
referral.yml `no_association`); then organisations for the need named in the text; else those of the
topic being discussed; else the `general` entry points. Each organisation's audience and minimum age are
respected (Sjældne Diagnosers Helpline counsels people aged 18+), and what is left out is reported so the
reply can say why. Nothing is invented: every organisation comes from the KB.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge_base.store import KnowledgeBase

MAX_ORGANISATIONS = 5


@dataclass
class Referral:
    organisations: list[dict]
    basis: str  # diagnosis | no_association | need | topic | general | national
    diagnosis: dict | None = None
    need: dict | None = None
    excluded: list[tuple[dict, str]] = field(default_factory=list)  # (organisation, audience|min_age|max_age)


def _allowed(org: dict, audience: str | None, age: float | None) -> str | None:
    """Why `org` does not fit, or None when it does."""
    if audience and audience not in (org.get("audiences") or [audience]):
        return "audience"
    min_age = org.get("min_age")
    # parents and professionals are adults; a young person below the limit is not counselled
    if min_age and audience == "ung" and age is not None and age < min_age:
        return "min_age"
    max_age = org.get("max_age")  # e.g. a children's hospital clinic; `age` is the child's or young person's
    if max_age is not None and age is not None and age > max_age:
        return "max_age"
    return None


def find_organisations(
    kb: KnowledgeBase,
    *,
    text: str = "",
    diagnosis_id: str | None = None,
    need_id: str | None = None,
    topic_id: str | None = None,
    audience: str | None = None,
    age: float | None = None,
    limit: int = MAX_ORGANISATIONS,
) -> Referral:
    routes = kb.referral_routes
    diagnosis = kb.diagnosis(diagnosis_id) if diagnosis_id else None
    need_id = need_id or kb.need_in(text)
    candidates: list[dict | None] = []  # kb.organisation() is None for an id the KB does not have
    basis = "general"
    if diagnosis:
        association = kb.organisation(diagnosis["association"]) if diagnosis.get("association") else None
        if association:
            candidates.append(association)
            basis = "diagnosis"
        else:
            candidates += [kb.organisation(o) for o in routes["no_association"]]
            basis = "no_association"
    if need_id:
        candidates += kb.organisations_with_need(need_id)
        basis = basis if diagnosis else "need"
    elif topic_id and not diagnosis:
        candidates += kb.organisations_for_topic(topic_id)
        basis = "topic" if candidates else basis
    if not candidates:
        candidates = [kb.organisation(o) for o in routes["general"]]
    chosen: list[dict] = []
    excluded: list[tuple[dict, str]] = []
    seen: set[str] = set()
    for org in candidates:
        if org is None or org["id"] in seen:
            continue
        seen.add(org["id"])
        reason = _allowed(org, audience, age)
        if reason:
            excluded.append((org, reason))
        elif len(chosen) < limit:
            chosen.append(org)
    return Referral(chosen, basis, diagnosis, kb.need(need_id) if need_id else None, excluded)

"""The content editors' report: what people ask, how well the assistant answers, from the tracker store.

`python -m bot report [--since 2026-11-01] --out report.html` writes one self-contained HTML page (plots
embedded as PNG data URIs, no external requests). User text only appears as stored, i.e. redacted.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError

from core.events_table import events_since

REPLY_KINDS = ("answer", "organisations", "clarify", "fallback", "out_of_scope", "handoff")
UNANSWERED_KINDS = ("clarify", "fallback")
TOP_UNANSWERED = 10


class ReportError(RuntimeError):
    pass


@dataclass
class ReportData:
    since: dt.date | None
    conversations: int = 0
    user_messages: int = 0
    questions_per_topic: Counter = field(default_factory=Counter)
    kinds_per_day: dict = field(default_factory=lambda: defaultdict(Counter))
    feedback: dict = field(default_factory=lambda: defaultdict(Counter))  # topic → {"up": n, "down": n}
    unanswered: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    kb_version: str = "ukendt"

    def rate(self, kind: str) -> float:
        total = sum(sum(c[k] for k in REPLY_KINDS) for c in self.kinds_per_day.values())
        return sum(c[kind] for c in self.kinds_per_day.values()) / total if total else 0.0


def collect(tracker_url: str, since: dt.date | None = None, kb_version: str = "ukendt") -> ReportData:
    """Read the events table once, conversation by conversation, in stored order."""
    cutoff = dt.datetime.combine(since, dt.time()).timestamp() if since else 0.0
    try:
        engine = create_engine(tracker_url)
        rows = events_since(engine, cutoff)
        engine.dispose()
        if rows is None:
            raise ReportError("Samtaledatabasen har ingen samtaler endnu (tabellen 'events' mangler).")
    except SQLAlchemyError as exc:
        raise ReportError(f"Samtaledatabasen kan ikke læses ({exc.__class__.__name__}).") from exc
    report = ReportData(since=since, kb_version=kb_version)
    senders: set[str] = set()
    topic, last_user_text = {}, {}
    for sender, type_name, timestamp, data in rows:
        event = json.loads(data)
        day = dt.date.fromtimestamp(timestamp).isoformat()
        if type_name == "user":
            senders.add(sender)
            report.user_messages += 1
            report.channels[event.get("input_channel") or "ukendt"] += 1
            last_user_text[sender] = (event.get("text") or "").strip()
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in ("feedback_positive", "feedback_negative") and topic.get(sender):
                report.feedback[topic[sender]]["up" if intent == "feedback_positive" else "down"] += 1
        elif type_name == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            kind = custom.get("kind")
            if kind in REPLY_KINDS:
                report.kinds_per_day[day][kind] += 1
            if kind == "answer" and custom.get("topic"):
                report.questions_per_topic[custom["topic"]] += 1
                topic[sender] = custom["topic"]
            if kind in UNANSWERED_KINDS and last_user_text.get(sender):
                report.unanswered[last_user_text[sender].lower()] += 1
    report.conversations = len(senders)
    return report


def _plot(draw) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.6), dpi=100)
    draw(axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _topics_plot(report: ReportData, titles: dict[str, str]) -> str:
    items = report.questions_per_topic.most_common(15)[::-1]

    def draw(axes):
        axes.barh([titles.get(t, t)[:40] for t, _ in items], [n for _, n in items], color="#1f5c99")
        axes.set_xlabel("Besvarede spørgsmål")

    return _plot(draw)


def _rates_plot(report: ReportData) -> str:
    days = sorted(report.kinds_per_day)

    totals = [sum(report.kinds_per_day[d][k] for k in REPLY_KINDS) or 1 for d in days]

    def draw(axes):
        for kind, colour in zip(
            REPLY_KINDS, ("#1f5c99", "#2e7d32", "#f9a825", "#c62828", "#6a1b9a", "#455a64")
        ):
            axes.plot(
                days,
                [report.kinds_per_day[d][kind] / t for d, t in zip(days, totals)],
                marker="o",
                label=kind,
                color=colour,
            )
        axes.set_ylabel("Andel af svar")
        axes.set_ylim(0, 1)
        axes.legend(fontsize=8, ncol=3)
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)

    return _plot(draw)


def render(report: ReportData, titles: dict[str, str], warnings: list | tuple = ()) -> str:
    """A self-contained HTML page (Danish, bot/web/templates/usage_report.html); `warnings` are the content's
    review warnings (knowledge_base.review_warnings: old reviews, old amounts)."""
    from bot.web.rendering import render as render_template

    return render_template(
        "usage_report.html",
        report=report,
        titles=titles,
        warnings=warnings,
        period=f"siden {report.since.isoformat()}" if report.since else "hele perioden",
        today=dt.date.today().isoformat(),
        rates=[(kind, f"{report.rate(kind):.0%}") for kind in REPLY_KINDS],
        topics=report.questions_per_topic.most_common(),
        feedback=sorted(report.feedback.items()),
        unanswered=report.unanswered.most_common(TOP_UNANSWERED),
        channels=report.channels.most_common(),
        topics_plot=_topics_plot(report, titles) if report.questions_per_topic else None,
        rates_plot=_rates_plot(report) if report.kinds_per_day else None,
    )

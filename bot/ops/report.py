"""The content editors' report: what people ask, how well the assistant answers, from the tracker store.

`python -m bot report [--since 2026-11-01] --out report.html` writes one self-contained HTML page (plots
embedded as PNG data URIs, no external requests). User text only appears as stored, i.e. redacted.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

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
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, "events"):
                raise ReportError("Samtaledatabasen har ingen samtaler endnu (tabellen 'events' mangler).")
            rows = connection.execute(
                text(
                    "SELECT sender_id, type_name, timestamp, data FROM events "
                    "WHERE timestamp >= :cutoff ORDER BY sender_id, id"
                ),
                {"cutoff": cutoff},
            ).all()
        engine.dispose()
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
    """A self-contained HTML page (Danish); `warnings` are the content's review warnings
    (knowledge_base.review_warnings: old reviews, old amounts)."""
    e = html.escape
    warning_rows = "".join(
        f"<tr><td>{e(w.file)}</td><td>{e(w.entry)}</td><td>{e(w.field)}</td><td>{e(w.message)}</td></tr>"
        for w in warnings
    )
    topic_rows = "".join(
        f"<tr><td>{e(titles.get(t, t))}</td><td>{e(t)}</td><td>{n}</td></tr>"
        for t, n in report.questions_per_topic.most_common()
    )
    feedback_rows = "".join(
        f"<tr><td>{e(titles.get(t, t))}</td><td>{c['up']}</td><td>{c['down']}</td></tr>"
        for t, c in sorted(report.feedback.items())
    )
    unanswered_rows = "".join(
        f"<tr><td>{e(q)}</td><td>{n}</td></tr>" for q, n in report.unanswered.most_common(TOP_UNANSWERED)
    )
    channel_rows = "".join(f"<tr><td>{e(c)}</td><td>{n}</td></tr>" for c, n in report.channels.most_common())
    rate_rows = "".join(f"<tr><td>{k}</td><td>{report.rate(k):.0%}</td></tr>" for k in REPLY_KINDS)
    period = f"siden {report.since.isoformat()}" if report.since else "hele perioden"
    plots = ""
    if report.questions_per_topic:
        plots += (
            '<h2>Spørgsmål pr. emne</h2><img alt="Søjlediagram: besvarede spørgsmål pr. emne" '
            f'src="{_topics_plot(report, titles)}">'
        )
    if report.kinds_per_day:
        plots += (
            '<h2>Svartyper over tid</h2><img alt="Kurver: andel svar, afklaringer og fejl pr. dag" '
            f'src="{_rates_plot(report)}">'
        )
    return f"""<!doctype html>
<html lang="da"><head><meta charset="utf-8">\
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forløbsguiden – rapport til redaktionen</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}
table{{border-collapse:collapse;margin:1rem 0;min-width:20rem}}\
th,td{{border:1px solid #999;padding:.3rem .6rem;text-align:left}}
th{{background:#e8eef5}}img{{max-width:100%;height:auto}}.facts{{display:flex;gap:2rem;flex-wrap:wrap}}
</style></head><body>
<h1>Forløbsguiden – rapport til redaktionen</h1>
<p>Periode: {e(period)} · Vidensbase-version: <code>{e(report.kb_version)}</code>\
 · Dannet {dt.date.today().isoformat()}</p>
<div class="facts"><p><strong id="conversations">{report.conversations}</strong> samtaler</p>
<p><strong id="user-messages">{report.user_messages}</strong> beskeder fra brugere</p></div>
<h2>Svartyper</h2><table id="rates"><tr><th>Type</th><th>Andel</th></tr>{rate_rows}</table>
{plots}
<h2>Besvarede spørgsmål pr. emne</h2>\
<table id="topics"><tr><th>Emne</th><th>Id</th><th>Antal</th></tr>{topic_rows}</table>
<h2>Tilbagemeldinger pr. emne</h2>\
<table id="feedback"><tr><th>Emne</th><th>Hjalp</th><th>Hjalp ikke</th></tr>{feedback_rows}</table>
<h2>Hyppigste ubesvarede spørgsmål</h2><p>Teksten er gemt uden CPR-numre, telefonnumre og e-mailadresser.</p>
<table id="unanswered"><tr><th>Spørgsmål</th><th>Antal</th></tr>{unanswered_rows}</table>
<h2>Indhold der skal tjekkes igen</h2><p>Gennemgået for over 12 måneder siden, eller beløb fra før sidste år
(beløb reguleres hvert år 1. januar).</p>
<table id="review"><tr><th>Fil</th><th>Emne</th><th>Felt</th><th>Hvorfor</th></tr>{warning_rows}</table>
<h2>Kanaler</h2><table id="channels"><tr><th>Kanal</th><th>Beskeder</th></tr>{channel_rows}</table>
</body></html>
"""

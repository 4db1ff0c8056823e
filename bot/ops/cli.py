"""Command line: `python -m bot <command>`; `python -m bot --help` lists the commands."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from core.config import load_settings
from knowledge_base.content import AUDIENCES


def _kb(args, settings) -> int:
    from knowledge_base import ContentError, build_database, load_content, review_warnings, validate
    from knowledge_base.content import ContentFileError
    from knowledge_base.store import KnowledgeBase, KnowledgeBaseUnavailable

    try:
        if args.kb_command == "validate":
            content = load_content(settings.content_dir)
            problems = validate(content)
            for problem in problems:
                print(problem, file=sys.stderr)
            for warning in review_warnings(content):  # to look at again; they do not fail the check
                print(f"Advarsel: {warning}", file=sys.stderr)
            print("Indholdet er gyldigt." if not problems else f"{len(problems)} fejl i indholdet.")
            return 1 if problems else 0
        if args.kb_command == "build":
            version = build_database(settings.content_dir, settings.kb_database_url)
            marker = settings.var_dir / "kb.version"
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(version + "\n")
            print(f"Vidensbasen er bygget: version {version}")
            return 0
        if args.kb_command == "overlaps":
            from collections import Counter

            from knowledge_base.overlaps import overlapping_asks

            overlaps = overlapping_asks(load_content(settings.content_dir))
            for o in sorted(overlaps, key=lambda o: (o.topic, o.reads_as, o.text)):
                print(f"{o.topic} → {o.reads_as}: {o.text}")
            pairs = Counter((o.topic, o.reads_as) for o in overlaps).most_common(10)
            print(
                f"{len(overlaps)} asks læses som et andet emnes. Flest: "
                + ", ".join(f"{a} → {b} ({n})" for (a, b), n in pairs)
            )
            return 0
        kb = KnowledgeBase.from_url(settings.kb_database_url)
        if args.kb_command == "search":  # what the assistant's matcher makes of a question
            match = kb.match(" ".join(args.query))
            if match.topic:
                question = f" · spørgsmål {match.question}" if match.question else ""
                print(f"{match.topic}  {kb.topic(match.topic)['title']}  {match.confidence:.2f}{question}")
            else:
                print("overblik (hvad kan vi få af hjælp?)" if match.overview else "uden for emnerne")
            print(
                f"i domænet: {match.domain:.2f}; andre bud: "
                + ", ".join(f"{t} {p:.2f}" for t, p in match.ranked[1 : args.limit])
            )
            return 0
        entry = (
            kb.topic(args.id, args.audience)
            or kb.organisation(args.id)
            or kb.glossary(args.id)
            or kb.diagnosis(args.id)
        )
        if entry is None:
            print(f"Ukendt id: {args.id}", file=sys.stderr)
            return 1
        print(json.dumps(entry, ensure_ascii=False, indent=2))
        return 0
    except (ContentError, ContentFileError) as exc:
        print(f"Vidensbasen blev IKKE bygget; den gamle er uændret.\n{exc}", file=sys.stderr)
        return 1
    except KnowledgeBaseUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1


def _privacy(args, settings) -> int:
    from core.events_table import RetentionError, forget, parse_duration, purge
    from knowledge_base import load_content

    try:
        if args.privacy_command == "forget":
            deleted = forget(settings.tracker_store_url, args.sender_id)
            print(f"Samtalen {args.sender_id!r} er slettet ({deleted} hændelser).")
            return 0
        default = (
            settings.retention
            or f"{load_content(settings.content_dir).deployment['privacy']['retention_days']}d"
        )
        older_than = args.older_than or default
        deleted = purge(settings.tracker_store_url, parse_duration(older_than))
        print(f"Samtaler uden aktivitet i {older_than} er slettet ({deleted} hændelser).")
        return 0
    except RetentionError as exc:
        print(exc, file=sys.stderr)
        return 1


def _report(args, settings) -> int:
    import datetime as dt
    from pathlib import Path

    from bot.ops.report import ReportError, collect, render
    from knowledge_base.store import KnowledgeBase, KnowledgeBaseUnavailable

    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"Ugyldig dato {args.since!r}: skriv den som ÅÅÅÅ-MM-DD.", file=sys.stderr)
        return 1
    try:
        kb = KnowledgeBase.from_url(settings.kb_database_url)
        version, titles = kb.version, {t: kb.topic(t)["title"] for t in kb.topic_ids()}
    except KnowledgeBaseUnavailable:
        version, titles = "ukendt (vidensbasen er ikke bygget)", {}
    try:
        report = collect(settings.tracker_store_url, since, version)
    except ReportError as exc:
        print(exc, file=sys.stderr)
        return 1
    from knowledge_base import load_content, review_warnings

    warnings = review_warnings(load_content(settings.content_dir))
    Path(args.out).write_text(render(report, titles, warnings), encoding="utf-8")
    print(f"Rapporten er skrevet til {args.out} ({report.conversations} samtaler).")
    return 0


def _nlp(args, settings) -> int:
    from bot.ops.spacy_pipeline import build_pipeline, lookup_tables
    from knowledge_base import load_content

    out = build_pipeline(settings.content_dir, settings.spacy_model_dir, settings.spacy_model_name)
    print(f"Dansk spaCy-pipeline skrevet til {out}")
    lookups = settings.root / "data" / "nlu" / "lookups.yml"
    generated = lookup_tables(load_content(settings.content_dir))
    if not lookups.exists() or lookups.read_text(encoding="utf-8") != generated:
        lookups.write_text(generated, encoding="utf-8")
        print(f"Opslagstabeller skrevet til {lookups}")
    return 0


def _train(args, settings) -> int:
    from bot.ops.training import train

    print(f"Model: {train(settings, force=args.force)}")
    return 0


def _run(args, settings) -> int:
    from bot.ops.processes import run_forever

    return run_forever(settings)


def _cluster(args, settings) -> int:
    from bot.ops.cluster import run_cluster

    return run_cluster(settings, args.replicas, args.postgres_start, args.redis_start)


def _chat(args, settings) -> int:
    from bot.ops.processes import chat

    return chat(settings)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m bot", description="Forløbsguiden")
    commands = main.add_subparsers(dest="command", required=True)
    kb = commands.add_parser("kb", help="the knowledge base").add_subparsers(dest="kb_command", required=True)
    kb.add_parser("validate", help="check the YAML content")
    kb.add_parser("build", help="validate and rebuild the database atomically")
    kb.add_parser("overlaps", help="asks that read like another topic's (move or drop them)")
    search = kb.add_parser("search", help="what the matcher makes of a question")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=int, default=5)
    show = kb.add_parser("show", help="show a topic, organisation, glossary entry or diagnosis")
    show.add_argument("id")
    show.add_argument("--audience", choices=AUDIENCES)
    nlp = commands.add_parser("nlp", help="the Danish spaCy pipeline").add_subparsers(
        dest="nlp_command", required=True
    )
    nlp.add_parser("build", help="build the pipeline into the build folder")
    privacy = commands.add_parser("privacy", help="retention and erasure of conversations").add_subparsers(
        dest="privacy_command", required=True
    )
    purge = privacy.add_parser(
        "purge", help="delete conversations older than a duration (default from config)"
    )
    purge.add_argument("--older-than", help="e.g. 30d, 12h, 2w")
    forget = privacy.add_parser("forget", help="delete one conversation (right to erasure)")
    forget.add_argument("sender_id")
    report = commands.add_parser("report", help="the content editors' report as one HTML file")
    report.add_argument("--since", help="first day, YYYY-MM-DD")
    report.add_argument("--out", default="report.html")
    train = commands.add_parser("train", help="train the Rasa model if data or config changed")
    train.add_argument("--force", action="store_true")
    commands.add_parser("run", help="start action server and Rasa server; Ctrl-C stops both")
    commands.add_parser("chat", help="talk to the assistant in the terminal")
    cluster = commands.add_parser(
        "cluster", help="N Rasa and action servers behind nginx on PostgreSQL + Redis"
    )
    cluster.add_argument(
        "--replicas",
        type=int,
        default=2,
        choices=range(1, 17),
        metavar="N",
        help="number of replicas, 1-16 (default 2)",
    )
    cluster.add_argument(
        "--postgres-start", metavar="COMMAND", help="shell command that starts PostgreSQL when it is down"
    )
    cluster.add_argument(
        "--redis-start", metavar="COMMAND", help="shell command that starts Redis if it does not answer"
    )
    return main


HANDLERS = {
    "kb": _kb,
    "nlp": _nlp,
    "privacy": _privacy,
    "report": _report,
    "train": _train,
    "run": _run,
    "chat": _chat,
    "cluster": _cluster,
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    return HANDLERS[args.command](args, load_settings())


if __name__ == "__main__":
    sys.exit(main())

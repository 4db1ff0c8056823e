"""Renders one Rasa bot message as the fields of one Teams (Bot Framework) message,
the reply contract included.

A reply with buttons, sources or organisations becomes an Adaptive Card, not a hero card: a hero card
cannot show the source line and the organisations as separate, linked parts, and Teams renders no Markdown
in its text. Buttons become `messageBack` actions whose value carries the Rasa payload (Rasa's hero-card
buttons cannot be clicked in Teams), links become `Action.OpenUrl`; other replies are Markdown text. The
custom payload is never posted raw.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from core.replies import AI_NOTICE_KINDS, plain_source_line
from core.replies import text as bot_text

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def render(message: dict) -> dict | None:
    """The activity fields for one Rasa bot message (text, buttons, custom payload); None if nothing to show.

    The custom payload is never posted as such: its sources and organisations are rendered in the card, the
    rest (kind, topic, audience, region) is for other channels and the analytics."""
    text = (message.get("text") or "").strip()
    buttons = [b for b in (message.get("buttons") or message.get("quick_replies") or []) if b.get("title")]
    custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
    if buttons or custom.get("source_line") or custom.get("organisations"):
        card = adaptive_card(text, buttons, custom)
        if card["body"] or card["actions"]:
            return {"attachments": [{"contentType": ADAPTIVE_CARD, "content": card}]}
    if not text:
        return None
    # Teams' Markdown does not reliably break on a single newline; every line becomes its own paragraph
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return {"textFormat": "markdown", "text": "\n\n".join(lines)}


def adaptive_card(text: str, buttons: list[dict], custom: dict) -> dict:
    source_line = plain_source_line(custom)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if source_line:  # the text's own source line is replaced by the linked one below
        paragraphs = [p for p in paragraphs if p.strip() != source_line.strip()]
    body = [block for paragraph in paragraphs for block in _text_blocks(paragraph)]
    if source_line:
        body.append(
            {
                "type": "TextBlock",
                "text": source_markdown(custom["source_line"]),
                "wrap": True,
                "isSubtle": True,
                "size": "Small",
                "spacing": "Medium",
            }
        )
    facts = [
        _organisation_fact(org)
        for org in custom.get("organisations") or []
        if org.get("name") and org["name"] not in text
    ]  # an organisations reply names them already
    if facts:
        body.append({"type": "FactSet", "facts": facts, "spacing": "Medium"})
    if custom.get("kind") in AI_NOTICE_KINDS:  # the AI Act's transparency: an automated assistant, guidance
        body.append(
            {
                "type": "TextBlock",
                "text": bot_text("ai_notice"),
                "wrap": True,
                "isSubtle": True,
                "size": "Small",
            }
        )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
        "actions": _actions(buttons),
        "msteams": {"width": "Full"},
    }


def _text_blocks(paragraph: str) -> list[dict]:
    """One TextBlock per line (Markdown in a TextBlock has no reliable line break), spaced per paragraph."""
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    return [
        {"type": "TextBlock", "text": line, "wrap": True, "spacing": "Medium" if i == 0 else "None"}
        for i, line in enumerate(lines)
    ]


def source_markdown(parts: list[dict]) -> str:
    """The payload's ready-made source line, each source linked to its page where it has one."""
    return "".join(
        f"[{part['text']}]({part['url']})" if part.get("url") else str(part.get("text") or "")
        for part in parts
        if isinstance(part, dict)
    )


def _organisation_fact(org: dict) -> dict:
    links = [org["phone"]] if org.get("phone") else []
    if org.get("url"):
        links.append(f"[{urlsplit(org['url']).netloc or org['url']}]({org['url']})")
    return {"title": org["name"], "value": " · ".join(links) or " "}


def _actions(buttons: list[dict]) -> list[dict]:
    actions, seen = [], set()
    for button in buttons:
        url, payload = button.get("url"), button.get("payload")
        if url and url not in seen:
            seen.add(url)
            actions.append({"type": "Action.OpenUrl", "title": button["title"], "url": url})
        elif payload and not url:
            actions.append(
                {
                    "type": "Action.Submit",
                    "title": button["title"],
                    "data": {
                        "msteams": {
                            "type": "messageBack",
                            "displayText": button["title"],
                            "text": button["title"],
                            "value": json.dumps({"payload": payload}, ensure_ascii=False),
                        }
                    },
                }
            )
    return actions


def escalation_card(escalation, asker: str | None, link: str | None, private: bool = False) -> dict:
    """The Adaptive Card posted to the expert channel for a caseworker's question (a
    bot.server.channels.escalation.Escalation): who asks, the question, the request's words, the topic, and a
    button to the conversation. From a `private` conversation (a personal chat with the bot, which nobody else
    can open) the card says to write to the asker instead. What the caseworker typed is shown as typed: a card
    renders no HTML and cannot notify anyone."""
    who = asker or bot_text("escalation_post_someone")
    body = [
        {"type": "TextBlock", "text": bot_text("escalation_post_title"), "weight": "Bolder", "wrap": True},
        {
            "type": "TextBlock",
            "text": bot_text("escalation_post_from", asker=who),
            "isSubtle": True,
            "spacing": "None",
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [{"title": title, "value": value} for title, value in escalation.fields()],
        },
    ]
    if private:
        body.append(
            {"type": "TextBlock", "text": bot_text("escalation_post_private", asker=who), "wrap": True}
        )
    body.append(
        {
            "type": "TextBlock",
            "text": bot_text("escalation_post_redacted"),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    actions = (
        [{"type": "Action.OpenUrl", "title": bot_text("escalation_post_link"), "url": link}]
        if link and not private
        else []
    )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
        "actions": actions,
        "msteams": {"width": "Full"},
    }

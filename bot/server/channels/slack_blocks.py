"""Renders one Rasa bot message as one Slack message (Block Kit), the reply contract included.

Rasa's own SlackBot posts text as it is, buttons under a plain-text section and the custom payload raw as
chat.postMessage arguments. Here a bot message becomes one `chat.postMessage`:
- text → mrkdwn `section` blocks of at most 3 000 characters (Slack's limit), split between paragraphs,
  lines or words. `&`, `<`, `>` are escaped, so text a user typed and the bot echoes can neither ping
  (`<!channel>`) nor inject a link; `**bold**` → `*bold*`, `[title](url)` → `<url|title>`;
- payload `source_line` (ready-made parts, docs/reply-contract.md) → a `context` block with each source
  linked; it replaces the text's own source line, the paragraph equal to it, which would otherwise be shown
  twice;
- payload `organisations` that the text does not already name → a short mrkdwn list;
- buttons → an `actions` block of `button` elements: the value is the Rasa payload (a click comes back
  as `block_actions`), a link button (`url`) opens the page.
The payload's other keys (kind, topic, audience, region) are for tests and analytics, not for the reader.
"""

from __future__ import annotations

import re

from core.replies import AI_NOTICE_KINDS, plain_source_line
from core.replies import text as bot_text

SECTION_LIMIT = 3000  # characters in a section's text
MAX_BLOCKS = 50  # per message
MAX_BUTTONS = 25  # elements in an actions block
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
MAX_LISTED_ORGANISATIONS = 5

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")


def escape(text: str) -> str:
    """The three characters Slack reads as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    label = escape(label).replace("|", "¦")  # "|" would end the URL part of <url|label>
    return f"<{escape(url)}|{label}>" if url else label


def to_mrkdwn(text: str) -> str:
    """Our Markdown-ish text as Slack mrkdwn, everything else escaped."""
    text = escape(text)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1).replace('|', '¦')}>", text)
    return _BOLD.sub(r"*\1*", text)


def _inside_markup(text: str, index: int) -> bool:
    """True when `index` falls inside a <link> or an &entity; (cutting there would break it)."""
    if text.rfind("<", 0, index) > text.rfind(">", 0, index):
        return True
    amp = text.rfind("&", 0, index)
    return amp != -1 and ";" not in text[amp:index] and index - amp < len("&amp;")


def _cut_point(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        index = text.rfind(separator, 0, limit + 1)
        while index > 0 and _inside_markup(text, index):
            index = text.rfind(separator, 0, index)
        if index > 0:
            return index
    index = limit
    while index > 1 and _inside_markup(text, index):
        index -= 1
    return index


def split_sections(mrkdwn: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at the last paragraph, line or word break that fits."""
    pieces = []
    rest = mrkdwn.strip()
    while len(rest) > limit:
        index = _cut_point(rest, limit)
        pieces.append(rest[:index].rstrip())
        rest = rest[index:].strip()
    return pieces + [rest] if rest else pieces


def source_line_block(parts: list[dict]) -> dict:
    linked = "".join(link(part.get("url"), str(part.get("text") or "")) for part in parts)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": linked}]}


def organisations_block(organisations: list[dict], text: str) -> dict | None:
    """The payload's organisations the text does not name yet, as a short list (name linked, phone)."""
    missing = [o for o in organisations if o.get("name") and o["name"] not in text][:MAX_LISTED_ORGANISATIONS]
    if not missing:
        return None
    lines = [
        " · ".join(filter(None, [f"• {link(o.get('url'), o['name'])}", escape(o.get("phone") or "")]))
        for o in missing
    ]
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}


def button_element(index: int, button: dict) -> dict:
    element = {
        "type": "button",
        "action_id": f"forlob-{index}",
        "text": {
            "type": "plain_text",
            "text": str(button.get("title") or "…")[:BUTTON_TEXT_LIMIT],
            "emoji": True,
        },
    }
    if button.get("url"):
        element["url"] = button["url"]
    else:
        element["value"] = str(button.get("payload") or "")[:BUTTON_VALUE_LIMIT]
    return element


def render_message(message: dict) -> dict | None:
    """chat.postMessage arguments (`text` for notifications, `blocks`) for one bot message, or None
    when there is nothing a reader would see (e.g. a payload with only `kind`)."""
    text = (message.get("text") or "").strip()
    custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
    source_line = plain_source_line(custom)
    source_parts = [p for p in custom.get("source_line") or [] if isinstance(p, dict)] if source_line else []
    buttons = [b for b in message.get("buttons") or message.get("quick_replies") or [] if isinstance(b, dict)]

    paragraphs = text.split("\n\n") if text else []
    if source_line:  # the context block below says the same, with links
        paragraphs = [p for p in paragraphs if p.strip() != source_line.strip()]
    tail = []
    organisations = organisations_block(
        [o for o in custom.get("organisations") or [] if isinstance(o, dict)], text
    )
    if organisations:
        tail.append(organisations)
    if source_parts:
        tail.append(source_line_block(source_parts))
    if custom.get("kind") in AI_NOTICE_KINDS:  # the AI Act's transparency: an automated assistant, guidance
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": bot_text("ai_notice")}]})
    if buttons:
        tail.append(
            {
                "type": "actions",
                "elements": [button_element(i, b) for i, b in enumerate(buttons[:MAX_BUTTONS])],
            }
        )
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_sections(to_mrkdwn("\n\n".join(paragraphs)))
    ]
    blocks = sections[: MAX_BLOCKS - len(tail)] + tail
    if not blocks:
        return None
    return {"text": to_mrkdwn(text) or _readable_text(blocks), "blocks": blocks}


def _readable_text(blocks: list[dict]) -> str:
    """The notification text of a message without text of its own: its list and source line."""
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    texts += [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    return "\n".join(texts)


def escalation_post(escalation, asker: str | None, thread_url: str | None, private: bool = False) -> dict:
    """chat.postMessage arguments for a caseworker's question passed on to the expert channel
    (a bot.server.channels.escalation.Escalation): who asks, the question, the request's words, the topic and
    a link to the conversation. `asker` is ready mrkdwn (a `<@U…>` mention). What the caseworker typed is
    escaped, so it can neither ping the expert channel nor inject a link; our own texts (core/texts.yml) are
    not. From a `private` conversation (a direct message, which colleagues cannot open) the post says to write
    to the asker instead of linking."""
    who = asker or bot_text("escalation_post_someone")
    details = "\n".join(f"*{label}:* {escape(value)}" for label, value in escalation.fields())
    title = f"{bot_text('escalation_post_title')} – {bot_text('escalation_post_from', asker=who)}"
    if private:
        footer = [bot_text("escalation_post_private", asker=who)]
    else:
        footer = [link(thread_url, bot_text("escalation_post_link"))] if thread_url else []
    footer.append(bot_text("escalation_post_redacted"))
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
        *(
            {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in split_sections(details)
        ),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": text} for text in footer]},
    ]
    summary = escalation.question or escalation.request
    text = f"{bot_text('escalation_post_title')}: {escape(summary)}" if summary else title
    return {"text": text[:SECTION_LIMIT], "blocks": blocks}

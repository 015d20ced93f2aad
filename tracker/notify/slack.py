"""A message as a Slack incoming-webhook payload: Block Kit, within Slack's limits (pure).

Limits (Slack Block Kit reference): at most 50 blocks per message; a `header` holds plain text
of at most 150 characters; a `section` text at most 3,000 characters and at most 10 `fields` of
2,000; a `context` at most 10 elements. `&`, `<` and `>` are control characters in mrkdwn
(`<!channel>` pings everyone), so every text from a ticket is escaped; links are `<url|text>`.
The top-level `text` is the notification fallback.
"""

from __future__ import annotations

from typing import Any

from tracker.notify.message import Entry, Message, message_text

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FALLBACK = 3000


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _link(url: str, text: str) -> str:
    if not url.startswith(("https://", "http://")):
        return escape(text)
    # '|' and '>' end the link's parts; the URL keeps its characters, percent-encoded.
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{escape(text).replace('|', '¦')}>"


def _entry_block(entry: Entry) -> dict[str, Any]:
    head = _link(entry.url, entry.ref) if entry.url else escape(entry.ref)
    text = f"{head} {escape(_cut(entry.title, 300))}\n{escape(entry.detail)}"
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION)}}


def payload(msg: Message) -> dict[str, Any]:
    """The JSON body to POST to the webhook."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(msg.title, MAX_HEADER)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape(msg.summary), 3000)}},
    ]
    if msg.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _cut(f"*{escape(k)}*\n{escape(v)}", 2000)}
                    for k, v in msg.facts[:MAX_FIELDS]
                ],
            }
        )
    tail: list[dict[str, Any]] = []
    more = msg.more
    entries = list(msg.entries)
    if entries:
        blocks += [
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(msg.section)}*"}},
        ]
    # Room for the entries: 50 minus what is above, minus the closing context block.
    room = MAX_BLOCKS - len(blocks) - 1
    if len(entries) > room:
        more += len(entries) - room
        entries = entries[:room]
    blocks += [_entry_block(e) for e in entries]
    closing: list[str] = []
    if more:
        closing.append(f"{more} more not shown.")
    if msg.link:
        closing.append(_link(msg.link, "Full report"))
    if closing:
        tail.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(closing)}]}
        )
    blocks += tail
    return {"text": _cut(message_text(msg), MAX_FALLBACK), "blocks": blocks}

"""A message as a Microsoft Teams workflow-webhook payload: one Adaptive Card (pure).

The Teams Workflows template "Send webhook alerts to a channel" ('When a Teams webhook request
is received') takes a message whose `attachments` hold cards:
`{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"contentUrl": null, "content": <AdaptiveCard>}]}`. The card is `{"type": "AdaptiveCard",
"version": "1.4", "body": [...], "actions": [...]}` with TextBlock, FactSet (facts of
title/value) and Action.OpenUrl (url required). Teams refuses posts over about 28 KB
("Request Entity too large"), so entries are dropped from the end until the JSON fits, with a
line that says how many were left out and the link to the full report.
"""

from __future__ import annotations

import json
from typing import Any

from tracker.notify.message import Entry, Message

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"
MAX_BYTES = 27 * 1024  # under Teams' ~28 KB, leaving room for the workflow's own wrapping


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _md(text: str) -> str:
    """Adaptive Card TextBlocks read a Markdown subset: keep ticket text from forming links or
    emphasis."""
    for char in ("\\", "[", "]", "*", "_", "<", ">"):
        text = text.replace(char, "\\" + char)
    return text


def _entry(entry: Entry) -> dict[str, Any]:
    ref = _md(entry.ref)
    head = f"[{ref}]({entry.url})" if entry.url.startswith(("https://", "http://")) else ref
    return _text(f"{head} {_md(entry.title)}  \n{_md(entry.detail)}", spacing="Small")


def card(msg: Message, entries: list[Entry], left_out: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _text(_md(msg.title), size="Large", weight="Bolder"),
        _text(_md(msg.summary)),
    ]
    if msg.facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in msg.facts]})
    if entries:
        body.append(_text(_md(msg.section), weight="Bolder", separator=True))
        body += [_entry(e) for e in entries]
    if left_out:
        body.append(_text(f"{left_out} more not shown.", isSubtle=True))
    out: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
    }
    if msg.link and msg.link.startswith(("https://", "http://")):
        out["actions"] = [{"type": "Action.OpenUrl", "title": "Full report", "url": msg.link}]
    return out


def _wrap(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": content}],
    }


def size(data: dict[str, Any]) -> int:
    return len(json.dumps(data, ensure_ascii=False).encode("utf-8"))


def payload(msg: Message, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The JSON body to POST to the workflow webhook, at most `max_bytes` long."""
    entries = list(msg.entries)
    while True:
        data = _wrap(card(msg, entries, msg.more + len(msg.entries) - len(entries)))
        if size(data) <= max_bytes or not entries:
            return data
        # Drop about the share that is over, at least one entry.
        over = size(data) - max_bytes
        per = max(1, size(data) // max(1, len(entries) + 4))
        entries = entries[: max(0, len(entries) - max(1, over // per))]

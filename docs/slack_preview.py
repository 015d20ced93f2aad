"""Render the Slack message of the weekly report (Block Kit JSON) as a PNG for the README.

    pip install Pillow && python docs/slack_preview.py

It syncs the bundled examples into a throwaway local backend, computes the report as of the
README's day, builds the Slack payload exactly as `tracker report --post` sends it, writes the
JSON to docs/slack-report.json and draws its blocks (header, sections with *bold* and <url|text>
links, fields, divider, context) in Slack's layout to docs/slack-report.png.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from tracker.backends.local import LocalBackend
from tracker.config import Config
from tracker.engine import run_sync
from tracker.notify import slack
from tracker.notify.message import report_message
from tracker.report import compute_for_config
from tracker.sync import SyncPolicy

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples" / "postmortems"
AS_OF = dt.date(2026, 9, 14)
REPO_URL = "https://github.com/acme/infra/issues"
WIDTH, PAD, TEXT_X = 760, 20, 76
INK, GREY, LINK, RULE = (29, 28, 29), (97, 96, 97), (18, 100, 163), (221, 221, 221)


def font(size: int, bold: bool = False) -> Any:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


def payload() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        backend = LocalBackend(Path(tmp) / "local.db")
        files = [(p, f"postmortems/{p.name}") for p in sorted(EXAMPLES.glob("*.md"))]
        policy = SyncPolicy(default_due={"P0": 14, "P1": 28, "default": 56})
        run_sync(files, backend, policy, as_of=AS_OF, dry_run=False, write_back="none")
        tickets = [
            dataclasses.replace(t, ref=f"#{400 + i}", url=f"{REPO_URL}/{400 + i}")
            for i, t in enumerate(backend.list_tracked(), start=1)
        ]
    report = compute_for_config(tickets, AS_OF, Config())
    return slack.payload(report_message(report, f"{REPO_URL}/399", top=5))


_TOKEN = re.compile(r"<([^|>]+)\|([^>]+)>|\*([^*\n]+)\*|([^<*]+|[<*])")


def runs(mrkdwn: str) -> list[tuple[str, str]]:
    """mrkdwn -> (style, text) runs: link, bold or plain (entities unescaped)."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(mrkdwn):
        if m.group(1):
            out.append(("link", m.group(2)))
        elif m.group(3):
            out.append(("bold", m.group(3)))
        else:
            out.append(("plain", m.group(4)))
    return [(s, t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")) for s, t in out]


class Canvas:
    def __init__(self) -> None:
        self.img = Image.new("RGB", (WIDTH, 2400), "white")
        self.draw = ImageDraw.Draw(self.img)
        self.y = PAD

    def text(self, mrkdwn: str, size: int = 15, colour: tuple[int, int, int] = INK,
             x0: int = TEXT_X, width: int = WIDTH - TEXT_X - PAD) -> None:  # fmt: skip
        """Draw wrapped mrkdwn at the cursor; lines break at '\\n' and at the width."""
        for paragraph in mrkdwn.split("\n"):
            x, line_h = x0, int(size * 1.45)
            for style, chunk in runs(paragraph):
                f = font(size, bold=style == "bold")
                fill = LINK if style == "link" else colour
                for word in re.split(r"(\s+)", chunk):
                    if not word:
                        continue
                    w = self.draw.textlength(word, font=f)
                    if x + w > x0 + width and not word.isspace():
                        x, self.y = x0, self.y + line_h
                    if word.isspace() and x == x0:
                        continue
                    self.draw.text((x, self.y), word, font=f, fill=fill)
                    x += w
            self.y += line_h

    def block(self, b: dict[str, Any]) -> None:
        kind = b["type"]
        if kind == "header":
            self.text("*" + b["text"]["text"] + "*", size=19)
            self.y += 4
        elif kind == "section" and "fields" in b:
            top, col_w = self.y, (WIDTH - TEXT_X - PAD) // 2
            bottoms = []
            for i, field in enumerate(b["fields"]):
                if i % 2 == 0 and i:
                    top = max(bottoms)
                self.y = top
                self.text(field["text"], x0=TEXT_X + (i % 2) * col_w, width=col_w - 10)
                bottoms.append(self.y + 6)
            self.y = max(bottoms)
        elif kind == "section":
            self.text(b["text"]["text"])
            self.y += 6
        elif kind == "divider":
            self.draw.line((TEXT_X, self.y + 6, WIDTH - PAD, self.y + 6), fill=RULE, width=1)
            self.y += 16
        elif kind == "context":
            for element in b["elements"]:
                self.text(element["text"], size=13, colour=GREY)

    def frame(self) -> None:
        self.draw.rounded_rectangle((PAD, PAD, PAD + 40, PAD + 40), radius=6, fill=(224, 94, 38))
        self.draw.text((PAD + 12, PAD + 8), "P", font=font(20, bold=True), fill="white")
        self.draw.text((TEXT_X, self.y), "Postmortem tracker", font=font(15, bold=True), fill=INK)
        x = TEXT_X + self.draw.textlength("Postmortem tracker ", font=font(15, bold=True))
        self.draw.rounded_rectangle((x, self.y + 1, x + 34, self.y + 18), radius=3, fill=RULE)
        self.draw.text((x + 4, self.y + 3), "APP", font=font(11, bold=True), fill=GREY)
        self.draw.text((x + 44, self.y + 2), "Mon 07:00", font=font(13), fill=GREY)
        self.y += 26


def main() -> None:
    data = payload()
    (HERE / "slack-report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    canvas = Canvas()
    canvas.frame()
    for b in data["blocks"]:
        canvas.block(b)
    canvas.img.crop((0, 0, WIDTH, canvas.y + PAD)).save(HERE / "slack-report.png", optimize=True)
    print(f"{len(data['blocks'])} blocks -> docs/slack-report.png")


if __name__ == "__main__":
    main()

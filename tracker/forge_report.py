"""The weekly report as one GitHub issue per ISO week (forge.py's half for reports).

The issue is found by a marker in its body among the issues with the report label (all states),
updated in place and only when it changed. A report past GitHub's body limit is cut between rows
(`split_markdown`): the first part is the body, the others comments that carry their own marker,
edited, added or deleted on each update so they match. Comments people write are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from tracker.backends.github_http import GitHubHTTP, Reply
from tracker.errors import NotFound
from tracker.report import GITHUB_BODY_LIMIT, split_markdown

REPORT_LABEL = "postmortem-report"
MAX_TITLE = 256
# The issue's marker is the GitHub backend's (backends/github.py), so either finds the other's
# issue. Each overflow comment carries its own marker with its place in the report.
REPORT_MARKER = '<!-- postmortem-tracker-report: {{"week":"{week}"}} -->'
PART_MARKER = '<!-- postmortem-tracker-report-part: {{"week":"{week}","part":{part}}} -->'
_REPORT_RE = re.compile(
    r'^<!-- postmortem-tracker-report: \{"week":"(\d{4}-W\d{2})"\} -->\r?$', re.MULTILINE
)
_PART_RE = re.compile(
    r'^<!-- postmortem-tracker-report-part: \{"week":"(\d{4}-W\d{2})","part":(\d+)\} -->\r?$',
    re.MULTILINE,
)
_WEEK_RE = re.compile(r"\d{4}-W\d{2}")
_ROOM = 256  # characters kept free in each part for the note and the marker
_LABEL_COLOR = "5319e7"


class ReportIssues:
    """The report issues of one repository, through the shared transport."""

    def __init__(self, http: GitHubHTTP, repo: str, label: str = REPORT_LABEL) -> None:
        self._http = http
        self.repo = repo
        self.report_label = label

    def _call(self, verb: str, path: str, what: str, **kw: Any) -> Reply:
        return self._http.call(verb, f"/repos/{self.repo}{path}", what, **kw)

    def post(self, title: str, markdown: str, week: str, *, close_previous: bool) -> str:
        """Create or update the issue of ISO `week` and its overflow comments; its URL."""
        if not _WEEK_RE.fullmatch(week):
            raise ValueError(f"week must look like 2026-W47, got {week!r}")
        what = f"post the report for {week}"
        # No line of the report may pass for a marker (ticket titles are escaped already).
        markdown = markdown.replace("<!-- postmortem-tracker", "&lt;!-- postmortem-tracker")
        parts = split_markdown(markdown, GITHUB_BODY_LIMIT - _ROOM)
        body = parts[0].rstrip()
        if len(parts) > 1:
            more = len(parts) - 1
            body += f"\n\n_The report continues in {more} comment{'s' if more > 1 else ''} below._"
        body += "\n\n" + REPORT_MARKER.format(week=week)
        comments = [
            f"{p.rstrip()}\n\n{PART_MARKER.format(week=week, part=n)}"
            for n, p in enumerate(parts[1:], start=2)
        ]
        issues = self._http.pages(
            f"/repos/{self.repo}/issues",
            {"labels": self.report_label, "state": "all", "per_page": 100},
            what,
        )
        mine: list[dict[str, Any]] = []
        earlier: list[dict[str, Any]] = []
        for issue in issues:
            weeks = set(_REPORT_RE.findall(str(issue.get("body") or "")))
            if "pull_request" in issue or not isinstance(issue.get("number"), int):
                continue
            if week in weeks:
                mine.append(issue)
            elif weeks and max(weeks) < week and issue.get("state") == "open":
                earlier.append(issue)
        title = title[:MAX_TITLE]
        if mine:
            issue = min(mine, key=lambda i: int(i["number"]))
            number = int(issue["number"])
            if issue.get("title") != title or issue.get("body") != body:
                issue = self._call(
                    "PATCH",
                    f"/issues/{number}",
                    what,
                    body={"title": title, "body": body},
                    subject=f"issue #{number}",
                ).data
            if comments or issue.get("comments"):
                self._sync_comments(number, week, comments, what)
        else:
            self._ensure_label(what)
            issue = self._call(
                "POST",
                "/issues",
                what,
                body={"title": title, "body": body, "labels": [self.report_label]},
            ).data
            number = int(issue["number"])
            for text in comments:
                self._comment(number, text, what)
        for old in earlier if close_previous else []:
            self._call(
                "PATCH",
                f"/issues/{old['number']}",
                f"close the report issue #{old['number']} of an earlier week",
                body={"state": "closed", "state_reason": "completed"},
                subject=f"issue #{old['number']}",
            )
        return str(issue.get("html_url", ""))

    def _ensure_label(self, what: str) -> None:
        name = self.report_label
        try:
            self._call("GET", f"/labels/{quote(name, safe='')}", what, subject=f"label {name!r}")
        except NotFound:
            self._call(
                "POST",
                "/labels",
                f"create the label {name!r}",
                body={
                    "name": name,
                    "color": _LABEL_COLOR,
                    "description": "Weekly postmortem action-item report (postmortem-tracker)",
                },
                tolerate="already_exists",
            )

    def _comment(self, number: int, text: str, what: str) -> None:
        self._call(
            "POST", f"/issues/{number}/comments", what, body={"body": text}, subject=f"#{number}"
        )

    def _sync_comments(self, number: int, week: str, texts: Sequence[str], what: str) -> None:
        """Make the tool's overflow comments on the issue read `texts`, in order."""
        found = self._http.pages(
            f"/repos/{self.repo}/issues/{number}/comments", {"per_page": 100}, what
        )
        ours: list[tuple[int, int, dict[str, Any]]] = []
        for c in found:
            m = _PART_RE.search(str(c.get("body") or ""))
            if m and m.group(1) == week and isinstance(c.get("id"), int):
                ours.append((int(m.group(2)), int(c["id"]), c))
        ours.sort(key=lambda x: (x[0], x[1]))
        for n, text in enumerate(texts):
            if n < len(ours):
                cid, old = ours[n][1], ours[n][2]
                if old.get("body") != text:
                    self._call(
                        "PATCH",
                        f"/issues/comments/{cid}",
                        what,
                        body={"body": text},
                        subject=f"comment {cid}",
                    )
            else:
                self._comment(number, text, what)
        for _, cid, _ in ours[len(texts) :]:
            self._call("DELETE", f"/issues/comments/{cid}", what, subject=f"comment {cid}")

"""Pure parts of identity and lifecycle (issue 13): what binds, duplicate ids, removed files,
and the Jira marker read from whatever rendering people leave it in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.backends.contract import make_draft
from tracker.backends.jira_text import Pushed, new_description, read_marker
from tracker.identity import DuplicatePostmortemId, bindings_of, id_line, refuse_duplicate_ids
from tracker.model import Marker, Ticket
from tracker.parse import parse_postmortem
from tracker.removed import missing_paths, sort_out

LIST = b"""# X
## Action items

- Page on lag (regressed in #7). Owner: @c Due: 2026-01-01
- Fix DNS. Tracked in: OPS-12, after OPS-9 and #4. Owner: @d
- Rotate keys (tracked: #44)
- Ticket: https://github.com/acme/infra/issues/3 Fix the cron, see #8
"""
TABLE = b"""---
id: pm-x
---
# X
## Action items
| Item | Owner | Due | Ticket |
|---|---|---|---|
| Add alert, see #9 | @ann | 2026-06-20 | #5 |
| Shard table | @bob | 2026-12-01 | |
"""


def test_only_written_refs_ticket_cells_and_labels_bind() -> None:
    pm = parse_postmortem(LIST, "a.md")
    refs = bindings_of(pm, LIST)
    got = {i.title.split(".")[0]: refs[i.key] for i in pm.items}
    assert got == {
        "Page on lag (regressed in #7)": (),  # prose: a link, never identity
        "Fix DNS": ("OPS-12",),  # the label's ticket, not the later OPS-9 or #4
        "Rotate keys": ("#44",),  # what the tool wrote back
        "Ticket: https://github": ("https://github.com/acme/infra/issues/3",),  # not #8
    }
    table = parse_postmortem(TABLE, "t.md")
    assert list(bindings_of(table, TABLE).values()) == [("#5",), ()]  # not the #9 in the text


def test_id_lines_and_duplicate_ids() -> None:
    assert id_line(TABLE) == 2
    assert id_line(b"---\ntitle: t\ndate: 2026-01-01\nid: a\n---\n") == 4
    assert id_line(b"# no front matter\nid: x\n") == 1
    a = parse_postmortem(TABLE, "pm/a.md")
    b = parse_postmortem(TABLE.replace(b"---\nid", b"---\ntitle: c\nid"), "pm/copy.md")
    refuse_duplicate_ids([(a, TABLE)])
    with pytest.raises(DuplicatePostmortemId) as exc:
        refuse_duplicate_ids([(a, TABLE), (b, b"---\ntitle: c\nid: pm-x\n---\n")])
    assert exc.value.exit_code == 2
    assert "pm/a.md:2" in str(exc.value) and "pm/copy.md:3" in str(exc.value)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _ticket(path: str, n: int) -> Ticket:
    marker = Marker(key=f"{Path(path).stem}/i{n}", path=path, hash="h")
    return Ticket(ref=f"#{n}", url="", title="t", state="open", marker=marker)


def test_removed_only_when_git_deleted_the_file(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    for name in ("gone", "kept", "local", "moved"):
        (tmp_path / "pm").mkdir(exist_ok=True)
        (tmp_path / "pm" / f"{name}.md").write_text("# x\n", encoding="utf-8")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "add")
    _git(tmp_path, "rm", "-q", "pm/gone.md")
    _git(tmp_path, "mv", "pm/moved.md", "pm/renamed.md")
    _git(tmp_path, "commit", "-qm", "remove and rename")
    (tmp_path / "pm" / "local.md").unlink()  # deleted here only
    tickets = [_ticket(p, n) for n, p in enumerate(
        ["pm/gone.md", "pm/kept.md", "pm/local.md", "pm/moved.md", "pm/never.md", "pm/gone.md"]
    )]  # fmt: skip
    missing = missing_paths(tickets, {"pm/renamed.md"}, set())
    assert missing["pm/gone.md"] == 2
    out = sort_out(tmp_path, missing, full_run=True)
    assert sorted(out.removed) == ["pm/gone.md", "pm/moved.md"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out.removed["pm/gone.md"].commit == head
    assert "no longer select it" in out.kept["pm/kept.md"]
    assert "still in git" in out.kept["pm/local.md"]
    assert "never had it" in out.kept["pm/never.md"]
    assert sort_out(tmp_path, missing, full_run=False).kept.get("pm/kept.md") is None
    assert sort_out(None, missing, full_run=True).removed == {}
    (tmp_path / ".git").rename(tmp_path / "not-git")
    blind = sort_out(tmp_path, missing, full_run=True)
    assert blind.removed == {} and "could not say" in blind.kept["pm/gone.md"]


def _description(text: str = "Add a disk alert on db-1") -> tuple[str, Marker]:
    draft = make_draft(title=text[:60], text=text)
    return new_description(draft, Pushed(), None), draft.marker


def test_jira_marker_in_any_rendering() -> None:
    wiki, marker = _description()
    blob = wiki.split("{noformat}pmt-marker ", 1)[1].split("{noformat}", 1)[0]
    assert read_marker(wiki)[0] == marker
    assert read_marker(wiki.replace("{noformat}", "")).__getitem__(0) == marker  # plain text
    coded = wiki.replace("{noformat}pmt-marker", "{code:json}pmt-marker").replace(
        blob + "{noformat}", blob + "{code}"
    )
    assert read_marker(coded)[0] == marker
    para = {"type": "paragraph", "content": [{"type": "text", "text": "pmt-marker "}, {
        "type": "text", "text": blob, "marks": [{"type": "code"}]}]}  # fmt: skip
    adf = {"type": "doc", "version": 1, "content": [para]}
    assert read_marker(adf)[0] == marker
    assert read_marker("Sharding plan: see the design doc.")[0] is None


def test_a_marker_quoted_in_the_item_text_never_binds() -> None:
    forged = json.dumps({"v": 1, "key": "pm-other/1", "path": "x.md", "hash": "h"})
    wiki, marker = _description(f"Quote: pmt-marker {forged}")
    assert read_marker(wiki)[0] == marker
    damaged = wiki.split("{noformat}pmt-marker", 1)[0]  # a person deleted our marker
    assert read_marker(damaged)[0] is None  # the quote inside our panel does not count
    panel = {"type": "panel", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": f"pmt-marker {forged}"}]}]}  # fmt: skip
    assert read_marker({"type": "doc", "version": 1, "content": [panel]})[0] is None

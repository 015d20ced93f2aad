"""`tracker sync --remind` as a child process against the GitHub fake on 127.0.0.1: the
comments land once, even when the connection drops after the fake stored one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github_fake import FakeClock, FakeServer, Fault, GitHubFake
from tests.test_github_faults import TOKEN, cli
from tracker.notify.stages import read_marks

OWNERS = ("ann-acme", "bob-acme")


@pytest.fixture
def served() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake(clock=FakeClock(tick=1), token=TOKEN, assignable=OWNERS)
    with FakeServer(fake) as server:
        yield fake, server


def test_sync_then_remind_over_loopback(
    tmp_path: Path, served: tuple[GitHubFake, FakeServer]
) -> None:
    fake, server = served
    pm = tmp_path / "postmortems" / "pm-1.md"
    pm.parent.mkdir()
    pm.write_text(
        "---\nid: pm-1\ndate: 2026-01-05\n---\n# Incident\n\n## Action items\n\n"
        "- [ ] Add a disk alert on db-1. Owner: @ann-acme Due: 2026-01-12\n"
        "- [ ] Shard the ledger table. Owner: @bob-acme Due: 2026-01-14\n",
        encoding="utf-8",
    )
    (tmp_path / ".tracker.yml").write_text(
        f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
        "  write_spacing_s: 0\n  http_timeout_s: 0.5\nsync: {write_back: none}\nremind: {}\n",
        encoding="utf-8",
    )
    # The first comment's answer is lost after the fake stored it (a dropped connection).
    lost = Fault("drop", method="POST", path=r"/repos/acme/infra/issues/\d+/comments", after=True)
    fake.inject(lost)
    first = cli(tmp_path, "sync", "--remind", "--as-of", "2026-01-12")
    assert lost.fired == 1
    assert "remind: 2 sent" in first.stderr, first.stderr
    again = cli(tmp_path, "sync", "--remind", "--as-of", "2026-01-12")
    assert "remind: 0 sent" in again.stderr
    bodies = {n: [str(c["body"]) for c in cs] for n, cs in fake.state.comments.items()}
    assert sorted(len(b) for b in bodies.values()) == [1, 1]
    texts = [b[0] for b in bodies.values()]
    assert any(t.startswith("@ann-acme: this postmortem action item is due today") for t in texts)
    assert any(
        t.startswith("@bob-acme: this postmortem action item is due in 2 days") for t in texts
    )
    assert sorted(s for t in texts for m in read_marks([t]) for s in m.stages) == [
        "due",
        "due_soon",
    ]

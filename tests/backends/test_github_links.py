"""Issue bodies link the postmortem at the commit read (a permalink), and `#123` in an item's
text does not become a link to an unrelated issue."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.backends.contract import make_draft
from tests.backends.test_github import Rig, _body, rig  # noqa: F401 - the fixture
from tracker import wiring
from tracker.backends.github_body import WJ, escape_text
from tracker.config import LoadedConfig, config_from_mapping

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Fix the retry loop from #123", f"Fix the retry loop from #{WJ}123"),
        ("Port acme/infra#45 and GH-7", f"Port acme/infra#{WJ}45 and GH-{WJ}7"),
        ("Keep C#10, a#1 and #12b as they are", "Keep C#10, a#1 and #12b as they are"),
    ],
)
def test_issue_references_in_item_text_are_not_autolinked(text: str, shown: str) -> None:
    assert escape_text(text) == shown


def test_the_body_links_the_postmortem_at_the_commit(rig: Rig) -> None:  # noqa: F811
    gh = rig.backend(source_commit=SHA, source_prefix="ops/")
    ticket = gh.create(make_draft(title="Retry #123 safely", text="Retry #123 safely"))
    body = _body(rig, ticket)
    assert (
        f"https://github.com/acme/infra/blob/{SHA}/ops/postmortems/2026-06-15-queue.md#L12" in body
    )
    assert "/blob/HEAD/" not in body
    visible = body.rsplit("\n", 1)[0]  # the marker (an HTML comment) is not rendered
    assert f"Retry #{WJ}123 safely" in visible and "Retry #123" not in visible


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.test", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_link_base_is_the_checkout_commit_or_github_sha(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_API_URL"):
        monkeypatch.delenv(var, raising=False)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "team").mkdir()
    loaded = LoadedConfig(
        config_from_mapping({"github": {"repo": "acme/infra"}}), None, tmp_path / "team"
    )
    assert wiring.postmortem_link_base(loaded) == f"https://github.com/acme/infra/blob/{head}/team"
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/postmortems")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://ghe.acme.test")
    assert (
        wiring.postmortem_link_base(loaded)
        == f"https://ghe.acme.test/acme/postmortems/blob/{SHA}/team"
    )
    bare = LoadedConfig(config_from_mapping({}), None, tmp_path / "nowhere")
    monkeypatch.delenv("GITHUB_REPOSITORY")
    assert wiring.postmortem_link_base(bare) is None  # no repository: no link

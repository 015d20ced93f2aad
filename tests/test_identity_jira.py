"""Identity and lifecycle on Jira, over the loopback fake (issue 13): the marker is found in any
rendering people leave it in, the key label binds when the marker is gone, transitions are read
when an answer ignores `expand`, people's assignees win, and a refused write stops the run."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends.test_jira import owners_map
from tests.fakes.jira_fake import EMAIL, PAT, TOKEN, JiraFake
from tracker.backends.jira import JiraBackend
from tracker.engine import SyncOutcome, run_sync
from tracker.sync import SyncPolicy

AS_OF = dt.date(2026, 3, 1)
DOC = (
    "---\nid: pm-j\ndate: 2026-01-05\n---\n# Incident J\n\n## Action items\n\n"
    "- [ ] Add a disk alert on db-1. Owner: @alice Due: 2026-02-01\n"
    "- [ ] Shard the ledger table. Owner: @bob Due: 2026-03-01\n"
    "- [ ] Rotate the replica password. Owner: @carol Due: 2026-04-01\n"
)
NOFORMAT_RE = re.compile(r"\{noformat\}(pmt-marker .*?)\{noformat\}", re.S)


@pytest.fixture(params=["cloud", "datacenter"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[JiraFake, str]]:
    fake = JiraFake(request.param)
    with fake.serve() as url:
        yield fake, url


def backend(fake: JiraFake, url: str, owners: dict[str, str] | None = None) -> JiraBackend:
    creds: dict[str, Any] = (
        {"email": EMAIL, "token": TOKEN} if fake.mode == "cloud" else {"pat": PAT}
    )
    return JiraBackend(
        url,
        project="OPS",
        deployment=fake.mode,
        owners=owners_map(fake.mode) if owners is None else owners,
        http_timeout_s=2,
        sleeper=lambda _s: None,
        clock=lambda: dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
        **creds,
    )


def files(tmp: Path, text: str = DOC) -> list[tuple[Path, str]]:
    path = tmp / "postmortems" / "pm-j.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or text != DOC:
        path.write_text(text, encoding="utf-8")
    return [(path, "postmortems/pm-j.md")]


def sync(
    tmp: Path,
    fake: JiraFake,
    url: str,
    owners: dict[str, str] | None = None,
    write_back: Any = "none",
) -> SyncOutcome:
    mapping = owners_map(fake.mode) if owners is None else owners
    return run_sync(
        files(tmp),
        backend(fake, url, mapping),
        SyncPolicy(owners=mapping, owners_need_map=True),
        as_of=AS_OF,
        write_back=write_back,
    )


def by_summary(fake: JiraFake) -> dict[str, dict[str, Any]]:
    return {i["fields"]["summary"]: i for i in fake.issues.values()}


def test_marker_in_any_rendering_or_only_the_key_label_still_binds(
    tmp_path: Path, served: tuple[JiraFake, str]
) -> None:
    fake, url = served
    assert sync(tmp_path, fake, url).created == 3
    issues = by_summary(fake)
    alert, shard, rotate = (
        issues["Add a disk alert on db-1."],
        issues["Shard the ledger table."],
        issues["Rotate the replica password."],
    )
    # A person's editor turned the marker block into a paragraph (plain text in wiki) ...
    text = alert["fields"]["description"]
    fake.edit(alert["key"], description=NOFORMAT_RE.sub(r"\1", text))
    # ... someone pasted it back as a {code} block through API v2 ...
    text = rotate["fields"]["description"]
    fake.edit(rotate["key"], description=NOFORMAT_RE.sub(r"{code:json}\1{code}", text))
    # ... and one description was replaced by hand: only the pmt- label is left.
    fake.edit(shard["key"], description="Sharding plan: see the design doc.")
    assert any(x.startswith("pmt-") for x in shard["fields"]["labels"])
    again = sync(tmp_path, fake, url)
    assert again.created == 0 and len(fake.issues) == 3  # today: 3 more issues
    assert again.updated == 1  # the marker put back on the shard issue
    restored = fake.issues[shard["key"]]["fields"]["description"]
    assert restored.startswith("Sharding plan: see the design doc.")
    assert "{noformat}pmt-marker " in restored
    third = sync(tmp_path, fake, url)
    assert third.unchanged == 3 and third.created + third.updated == 0


def test_tracking_label_removed_is_found_by_its_key_label_and_put_back(
    tmp_path: Path, served: tuple[JiraFake, str]
) -> None:
    fake, url = served
    assert sync(tmp_path, fake, url).created == 3
    first = next(iter(fake.issues.values()))
    labels = [x for x in first["fields"]["labels"] if x != "postmortem-tracker"]
    fake.edit(first["key"], labels=labels)
    again = sync(tmp_path, fake, url)
    assert again.created == 0 and len(fake.issues) == 3
    assert "postmortem-tracker" in fake.issues[first["key"]]["fields"]["labels"]


def test_transitions_are_read_when_the_answer_ignores_expand(
    tmp_path: Path, served: tuple[JiraFake, str]
) -> None:
    fake, url = served
    fake.ignore_expand = True
    sync(tmp_path, fake, url)
    files(tmp_path, DOC.replace("- [ ] Add a disk alert", "- [x] Add a disk alert"))
    again = sync(tmp_path, fake, url)
    assert again.closed == 1 and again.failed == 0  # today: "Jira offers (none)"
    alert = by_summary(fake)["Add a disk alert on db-1."]
    assert alert["fields"]["status"]["statusCategory"]["key"] == "done"
    assert fake.requests("GET", r"issue/[^/]+/transitions")


def test_a_person_s_assignee_is_kept_when_the_file_owner_has_no_mapping(
    tmp_path: Path, served: tuple[JiraFake, str]
) -> None:
    fake, url = served
    owners = owners_map(fake.mode)
    sync(tmp_path, fake, url, owners)
    alert = by_summary(fake)["Add a disk alert on db-1."]
    fake.edit(alert["key"], assignee="zoe")  # a person reassigns it
    zoe = fake.ident(fake.user("zoe"))
    # The file moves the due date and names an owner with no account mapping.
    files(tmp_path, DOC.replace("@alice Due: 2026-02-01", "@dana Due: 2026-02-15"))
    again = sync(tmp_path, fake, url, owners)
    assert again.conflicts == 0 and again.updated == 1  # today: a conflict, nothing written
    f = fake.issues[alert["key"]]["fields"]
    assert zoe in json.dumps(f["assignee"]) and f["duedate"] == "2026-02-15"
    said = [r.reason for r in again.items if "kept the tracker's assignee" in r.reason]
    assert len(said) == 1 and "dana" in said[0]
    quiet = sync(tmp_path, fake, url, owners)
    assert quiet.unchanged == 3 and not [r for r in quiet.items if "kept" in r.reason]
    # An owner the tool can map is the file's decision: it is assigned.
    files(tmp_path, DOC.replace("@alice Due: 2026-02-01", "@bob Due: 2026-02-15"))
    sync(tmp_path, fake, url, owners)
    bob = fake.ident(fake.user("bob"))
    assert bob in json.dumps(fake.issues[alert["key"]]["fields"]["assignee"])


def again_notices(outcome: SyncOutcome) -> list[str]:
    return [*outcome.notices, *(r.reason for r in outcome.items)]


def test_a_refused_create_stops_the_run(tmp_path: Path, served: tuple[JiraFake, str]) -> None:
    fake, url = served
    fake.forbid.add("create")
    doc = DOC + "".join(
        f"- [ ] Follow-up number {n}. Owner: @bob Due: 2026-05-01\n" for n in range(20)
    )
    out = run_sync(
        files(tmp_path, doc),
        backend(fake, url),
        SyncPolicy(owners=owners_map(fake.mode)),
        as_of=AS_OF,
        write_back="none",
    )
    posts = fake.requests("POST")
    assert len(posts) <= 2 and out.created == 0
    assert out.failed >= 1
    errors = [r.error or "" for r in out.items if r.action == "failed"]
    assert len(errors) == 1 and "Create Issues" in errors[0]  # named, once
    assert out.deferred == 22

"""Security review, one test per point (SECURITY.md explains each).

1. Secrets never appear in output, logs, errors, exception text or written files.
2. Text from a postmortem cannot forge or break the marker a ticket carries.
3. @mentions in postmortem text never ping anyone but the owner.
4. Config paths cannot reach outside the repository; symlinks out of it are never followed.
5. YAML (config and front matter) is loaded safely: no Python tags.
6. Write-back refuses a file that changed since it was parsed.
7. Workflows: no expression in `run:`, minimal `permissions`, pinned actions, no persisted token.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from tests.conftest import REPO
from tests.fakes.github_fake import FakeClock, FakeServer, Fault, GitHubFake
from tests.fakes.jira_fake import EMAIL, PAT, JiraFake
from tests.fakes.jira_fake import TOKEN as JIRA_TOKEN
from tests.reliability.cli_runs import child_env
from tests.sync_harness import Repo, Wrapper
from tracker import scaffold
from tracker.backends.base import TicketDraft
from tracker.backends.github import GitHubBackend
from tracker.backends.github_body import (
    BEGIN,
    END,
    MARKER_OPEN,
    BodyContext,
    new_body,
    parse_body,
)
from tracker.backends.jira_text import MARKER_TAG, Pushed, new_description, read_marker
from tracker.config import load_config
from tracker.drafts import build_draft
from tracker.engine import run_sync
from tracker.errors import BackendError, ConfigError
from tracker.model import Marker
from tracker.parse import parse_postmortem
from tracker.report.render import md_text
from tracker.sync import SyncPolicy

GH_TOKEN = "ghp_S3cretTokenValue0123456789abcdefXYZ"
AS_OF = "2026-03-01"
PM = """---
id: pm-sec
date: 2026-02-01
---
# Outage

## Action items

- [ ] [alice] Rotate the signing key. Due: 2026-03-15 (P1)
- [ ] [bob] Add an alert on queue lag. Due: 2026-03-20
"""


def secrets_forms(*secrets: str) -> list[str]:
    """Each secret as it could leak: plain, URL-encoded, base64 alone and in HTTP Basic."""
    out: list[str] = []
    for s in secrets:
        out += [s, quote(s, safe=""), base64.b64encode(s.encode()).decode()]
    out.append(base64.b64encode(f"{EMAIL}:{JIRA_TOKEN}".encode()).decode())
    return out


FORMS = secrets_forms(GH_TOKEN, JIRA_TOKEN, PAT)


def assert_no_secret(where: str, text: str | bytes) -> None:
    blob = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    for form in FORMS:
        assert form not in blob, f"a secret ({form[:6]}...) leaked into {where}"


def assert_no_secret_in_files(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert_no_secret(str(path), path.read_bytes())


# --- 1. secrets --------------------------------------------------------------------------------


@pytest.fixture
def github_repo(tmp_path: Path) -> Iterator[tuple[GitHubFake, Path]]:
    fake = GitHubFake(clock=FakeClock(tick=1), token=GH_TOKEN, assignable=("alice", "bob"))
    with FakeServer(fake) as server:
        (tmp_path / "postmortems").mkdir()
        (tmp_path / "postmortems" / "pm-sec.md").write_text(PM, encoding="utf-8")
        (tmp_path / ".tracker.yml").write_text(
            f"backend: github\ngithub:\n  repo: acme/infra\n  api_url: {server.url}\n"
            "  write_spacing_s: 0\n  http_timeout_s: 2\n",
            encoding="utf-8",
        )
        yield fake, tmp_path


def cli(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    out = root / "gha"
    out.mkdir(exist_ok=True)
    env = {
        **env,
        "GITHUB_STEP_SUMMARY": str(out / "summary.md"),
        "GITHUB_OUTPUT": str(out / "output.txt"),
    }
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


COMMANDS = (
    ("lint",),
    ("sync", "--as-of", AS_OF),
    ("-v", "sync", "--format", "json", "--as-of", AS_OF),
    ("status", "--as-of", AS_OF),
    ("report", "--as-of", AS_OF, "--format", "markdown", "--output", "report.md"),
    ("-v", "report", "--as-of", AS_OF, "--post"),
)


def test_the_github_token_never_leaks(github_repo: tuple[GitHubFake, Path]) -> None:
    fake, root = github_repo
    good = child_env(GITHUB_TOKEN=GH_TOKEN)
    for args in COMMANDS:
        done = cli(root, good, *args)
        assert done.returncode in (0, 1), (args, done.stderr)
        assert_no_secret(f"stdout of {args}", done.stdout)
        assert_no_secret(f"stderr of {args}", done.stderr)
    assert len(fake.issues()) >= 2  # it did sync and post
    # A refused token (401), and GitHub failing (500s), with tracebacks on (-v).
    fake.token = "another-token"
    for args in COMMANDS[1:]:
        done = cli(root, good, *args)
        assert done.returncode == 1, (args, done.stderr)  # a backend error, not a crash
        assert "rejected the token" in done.stderr and "GITHUB_TOKEN" in done.stderr
        assert_no_secret(f"stderr of {args} (401)", done.stderr)
        assert_no_secret(f"stdout of {args} (401)", done.stdout)
    fake.token = GH_TOKEN
    fake.inject(Fault("500", "GET", times=10))
    done = cli(root, good, "-v", "sync", "--as-of", AS_OF)
    assert done.returncode != 0 and done.returncode != 3, done.stderr
    assert_no_secret("stderr of a sync against a failing GitHub", done.stderr)
    # Nothing written anywhere holds it: postmortems, report, step summary, outputs.
    assert_no_secret_in_files(root)
    # And it travels only in the Authorization header, never in a URL.
    for r in fake.log:
        assert_no_secret(f"request line {r.path}", r.path + json.dumps(r.query))


@pytest.mark.parametrize("mode", ["cloud", "datacenter"])
def test_jira_credentials_never_leak(tmp_path: Path, mode: str) -> None:
    fake = JiraFake(mode)  # type: ignore[arg-type]
    with fake.serve() as url:
        (tmp_path / "postmortems").mkdir()
        (tmp_path / "postmortems" / "pm-sec.md").write_text(PM, encoding="utf-8")
        (tmp_path / ".tracker.yml").write_text(
            f"backend: jira\njira:\n  url: {url}\n  project: OPS\n  deployment: {mode}\n"
            "  http_timeout_s: 2\n",
            encoding="utf-8",
        )
        creds = (
            {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN}
            if mode == "cloud"
            else {"JIRA_PAT": PAT}
        )
        for env in (child_env(**creds), child_env(**{k: v + "x" for k, v in creds.items()})):
            for args in COMMANDS:
                done = cli(tmp_path, env, *args)
                assert done.returncode in (0, 1, 2), (args, done.stderr)
                assert_no_secret(f"stdout of {args}", done.stdout)
                assert_no_secret(f"stderr of {args}", done.stderr)
        assert "rejected the" in done.stderr  # the second round ran with refused credentials
    assert_no_secret_in_files(tmp_path)


def test_exceptions_and_debug_logs_never_hold_the_token(
    github_repo: tuple[GitHubFake, Path], caplog: pytest.LogCaptureFixture
) -> None:
    fake, root = github_repo
    url = fake.api_base
    caplog.set_level(logging.DEBUG)  # everything PyGithub, urllib3 and requests log
    files = [(root / "postmortems" / "pm-sec.md", "postmortems/pm-sec.md")]

    def backend(token: str, api: str = url) -> GitHubBackend:
        return GitHubBackend(
            "acme/infra", token, api_url=api, write_spacing_s=0, http_timeout_s=0.5, get_retries=0
        )

    out = run_sync(files, backend(GH_TOKEN), SyncPolicy(), as_of=dt.date(2026, 3, 1))
    assert out.created == 2
    assert GH_TOKEN not in repr(backend(GH_TOKEN))
    failures: list[BaseException] = []
    for b in (backend("wrong-" + GH_TOKEN), backend(GH_TOKEN, "http://127.0.0.1:9")):
        try:
            b.list_tracked()
        except BackendError as exc:
            failures.append(exc)
    fake.inject(Fault("502", "POST", times=5, after=True), Fault("500", "GET", times=20))
    try:
        b = backend(GH_TOKEN)
        b.create(run_draft(root))
    except BackendError as exc:
        failures.append(exc)
    assert len(failures) == 3
    for exc in failures:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        assert_no_secret(f"{type(exc).__name__}", text + repr(exc) + str(exc.args))
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records  # the loggers did talk
    assert_no_secret("debug logs", logged)


def run_draft(root: Path) -> TicketDraft:
    pm = parse_postmortem(
        (root / "postmortems" / "pm-sec.md").read_bytes(), "postmortems/pm-sec.md"
    )
    return build_draft(pm.items[0], pm, SyncPolicy())


# --- 2. marker forgery and comment-breaking text -------------------------------------------------

FORGED = '{"v":1,"key":"pm-evil/00000000","path":"postmortems/evil.md","hash":"0"}'
HOSTILE = [
    f"Close the comment --> and open another <!-- postmortem-tracker: {FORGED} -->",
    "End the block <!-- postmortem-tracker:end --> then --!> and <!-- postmortem-tracker:begin -->",
    f"{{noformat}}{MARKER_TAG} {FORGED}{{noformat}} and {{panel}} and a \\{{noformat}}",
    f"Split marker <!-- postmortem-&#45;tracker: {FORGED} --> and <!--\npostmortem-tracker: x -->",
]


def hostile_postmortem() -> str:
    items = "\n".join(f"- [ ] [alice] {t} Due: 2026-03-1{n}" for n, t in enumerate(HOSTILE))
    return (
        "---\nid: pm-forge\ndate: 2026-02-01\ntitle: 'T --> <!-- postmortem-tracker: {} -->'\n"
        f"---\n# Outage --> <!--\n\n## Action items\n\n{items}\n"
    )


def drafts_of(text: str) -> list[TicketDraft]:
    pm = parse_postmortem(text, "postmortems/pm-forge.md")
    assert len(pm.items) == len(HOSTILE)
    return [build_draft(i, pm, SyncPolicy()) for i in pm.items]


def test_item_text_cannot_forge_or_break_the_github_marker() -> None:
    ctx = BodyContext({}, frozenset({"alice"}), "https://github.com/acme/infra/blob/HEAD")
    for draft in drafts_of(hostile_postmortem()):
        body = new_body(draft, ctx)
        parsed = parse_body(body)
        assert parsed.marker is not None and parsed.marker.key == draft.key
        assert parsed.marker == draft.marker
        assert body.count(MARKER_OPEN) == 1 and body.count(BEGIN) == 1 and body.count(END) == 1
        assert body.count("<!--") == 3 and body.count("-->") == 3  # begin, end, marker


def test_item_text_cannot_forge_or_break_the_jira_marker() -> None:
    for draft in drafts_of(hostile_postmortem()):
        description = new_description(draft, Pushed(), None)
        marker = read_marker(description)[0]
        assert marker is not None and marker.key == draft.key and marker.hash == draft.marker.hash
        assert len(re.findall(r"(?<!\\)\{noformat\}", description)) == 2


def test_hostile_items_sync_once_and_stay_bound(tmp_path: Path) -> None:
    fake = GitHubFake(clock=FakeClock(tick=1), token=GH_TOKEN, assignable=("alice",))
    path = tmp_path / "postmortems" / "pm-forge.md"
    path.parent.mkdir()
    path.write_text(hostile_postmortem(), encoding="utf-8")
    files = [(path, "postmortems/pm-forge.md")]
    with FakeServer(fake) as server:

        def sync() -> Any:
            gh = GitHubBackend("acme/infra", GH_TOKEN, api_url=server.url, write_spacing_s=0)
            return run_sync(files, gh, SyncPolicy(), as_of=dt.date(2026, 3, 1))

        assert sync().created == len(HOSTILE)
        keys = {parse_body(i["body"]).marker.key for i in fake.issues()}  # type: ignore[union-attr]
        assert "pm-evil/00000000" not in keys and len(keys) == len(HOSTILE)
        again = sync()
        assert again.counts()["unchanged"] == len(HOSTILE) and again.created == 0


# --- 3. @mentions --------------------------------------------------------------------------------


def test_mentions_in_item_text_are_neutralised_except_the_owner() -> None:
    text = (
        "---\nid: pm-ping\n---\n# Outage\n\n## Action items\n\n"
        "- [ ] [alice] Rotate keys with @bob, @acme/sre and @Carol-x, cc @alice. Due: 2026-03-15\n"
    )
    pm = parse_postmortem(text, "postmortems/pm-ping.md")
    draft = build_draft(pm.items[0], pm, SyncPolicy())
    body = new_body(draft, BodyContext({}, frozenset({"alice"}), None))
    live = re.findall(r"(?<![\w@\u200d])@([A-Za-z0-9][\w/-]*)", body)
    assert set(live) == {"alice"}, live  # only the owner, who is assigned anyway
    for name in ("bob", "acme/sre", "Carol-x"):
        assert f"@\u200d{name}" in body
    jira = new_description(draft, Pushed(), None)
    assert "[~" not in jira.replace("\\[~", "")  # no Jira user mention can be written either
    assert "@\u200b" in md_text("@bob") or "@&#8203;" in md_text("@bob")  # the weekly report


def test_the_duplicate_comment_holds_no_text_from_a_file(tmp_path: Path) -> None:
    from tests.reliability.test_concurrency import duplicate_by_hand

    repo = Repo(tmp_path)
    repo.write("postmortems/pm-ping.md", "# X\n\n## Action items\n\n- [@everyone] Ping @all\n")
    repo.sync()
    dup = duplicate_by_hand(repo.db, 1)
    repo.sync()
    (comment,) = repo.local().comments(f"local:{dup}")
    assert "@" not in comment and "Ping" not in comment


# --- 4. paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting",
    [
        "paths: ['../other-repo/**/*.md']",
        "paths: ['/etc/**/*.md']",
        "paths: ['C:/Users/**/*.md']",
        "exclude: ['postmortems/../../x']",
        "local: {path: ../../elsewhere.db}",
        "local: {path: /tmp/elsewhere.db}",
    ],
)
def test_config_paths_cannot_leave_the_repository(tmp_path: Path, setting: str) -> None:
    (tmp_path / ".tracker.yml").write_text(setting + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="reaches outside the repository"):
        load_config(cwd=tmp_path)


def test_a_symlink_out_of_the_repository_is_never_read_nor_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    secret = "# Secret\n\n## Action items\n\n- [ ] [alice] Leak the secret value 1234\n"
    outside.write_text(secret, encoding="utf-8")
    root = tmp_path / "repo"
    (root / "postmortems").mkdir(parents=True)
    (root / "postmortems" / "pm-sec.md").write_text(PM, encoding="utf-8")
    (root / "postmortems" / "evil.md").symlink_to(outside)
    (root / ".tracker.yml").write_text("paths: ['**/*.md']\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "sync", "--format", "json", "--as-of", AS_OF],
        cwd=root,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["created"] == 2 and "Leak" not in done.stdout
    assert outside.read_text(encoding="utf-8") == secret  # no reference written through it


# --- 5. YAML ---------------------------------------------------------------------------------------


def test_yaml_tags_never_run_code(tmp_path: Path) -> None:
    flag = tmp_path / "PWNED"
    tag = f"!!python/object/apply:os.system ['touch {flag}']"
    (tmp_path / ".tracker.yml").write_text(f"owners: {tag}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(cwd=tmp_path)
    pm = parse_postmortem(
        f"---\nid: {tag}\ntitle: !!python/name:os.system\n---\n# X\n\n## Action items\n\n- Fix\n",
        "postmortems/x.md",
    )
    assert [i.title for i in pm.items] == ["Fix"]
    assert "PM023" in {p.code for p in pm.problems}  # the front matter is reported, not run
    assert not flag.exists()


# --- 6. write-back refuses files changed since the parse -------------------------------------------


class EditsDuringSync(Wrapper):
    """A person saves the postmortem while the sync is creating tickets."""

    path: Path | None = None

    def create(self, draft: TicketDraft) -> Any:
        if self.path is not None and self.writes == 0:
            self.path.write_text(self.path.read_text() + "\n- [ ] [carol] A new item\n")
        return super().create(draft)


def test_write_back_refuses_a_file_changed_since_the_parse(tmp_path: Path) -> None:
    repo = Repo(tmp_path)
    path = repo.write("postmortems/pm-sec.md", PM)
    w = EditsDuringSync(repo.local())
    w.path = path
    out = repo.sync(wrapper=w)
    assert out.created == 2 and not out.ok
    assert any("changed since it was parsed" in p for p in out.write_back_errors)
    text = repo.read("postmortems/pm-sec.md")
    assert "A new item" in text and "(tracked:" not in text  # the person's edit, untouched
    again = repo.sync()
    assert again.created == 1 and again.ok and len(repo.tickets()) == 3  # no duplicate
    assert repo.read("postmortems/pm-sec.md").count("(tracked: local:") == 3


# --- 7. workflows ------------------------------------------------------------------------------------

SHA = re.compile(r"[0-9a-f]{40}")
SAFE_EXPRESSIONS = re.compile(r"\$\{\{\s*(matrix\.[\w-]+|runner\.[\w]+|github\.action_path)\s*\}\}")
UNTRUSTED_TRIGGERS = {"pull_request_target", "workflow_run", "issue_comment", "issues"}
WRITE_OK = {"contents", "issues", "pull-requests"}


def workflow_problems(name: str, data: dict[Any, Any], own_action: str) -> list[str]:
    problems: list[str] = []
    on = data.get(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    triggers = set(on) if isinstance(on, dict) else {on} if isinstance(on, str) else set(on or ())
    if triggers & UNTRUSTED_TRIGGERS:
        problems.append(f"{name}: runs on {sorted(triggers & UNTRUSTED_TRIGGERS)}")
    perms = data.get("permissions")
    if not isinstance(perms, dict):
        problems.append(f"{name}: no top-level `permissions:` mapping ({perms!r})")
        perms = {}
    for job_name, job in (data.get("jobs") or {}).items():
        jp = job.get("permissions", perms)
        if not isinstance(jp, dict):
            problems.append(f"{name}:{job_name}: permissions {jp!r}")
            continue
        for scope, level in jp.items():
            if level == "write" and scope not in WRITE_OK:
                problems.append(f"{name}:{job_name}: {scope}: write")
        problems += steps_problems(f"{name}:{job_name}", job.get("steps") or [], own_action)
    return problems


def steps_problems(where: str, steps: list[dict[str, Any]], own_action: str) -> list[str]:
    problems: list[str] = []
    for step in steps:
        run = str(step.get("run", ""))
        left = SAFE_EXPRESSIONS.sub("", run)
        if "${{" in left:
            problems.append(f"{where}: an expression inside `run:` ({run.strip()[:60]!r})")
        uses = str(step.get("uses", ""))
        if uses and not uses.startswith("./") and not uses.startswith(own_action):
            ref = uses.partition("@")[2]
            if not SHA.fullmatch(ref):
                problems.append(f"{where}: {uses} is not pinned to a commit")
        keeps = (step.get("with") or {}).get("persist-credentials") is not False
        if uses.startswith("actions/checkout@") and keeps:
            problems.append(f"{where}: checkout leaves the token in .git/config")
    return problems


def test_generated_workflows_are_hardened(tmp_path: Path) -> None:
    scaffold.write_files(tmp_path, scaffold.planned_files("acme/infra"), force=False)
    own = scaffold.DEFAULT_ACTION_REF.partition("@")[0] + "@"
    workflows = {
        p.name: yaml.safe_load(p.read_text())
        for p in (tmp_path / ".github" / "workflows").glob("*.yml")
    }
    assert len(workflows) == 3
    problems = [p for n, d in workflows.items() for p in workflow_problems(n, d, own)]
    assert problems == []
    # Least privilege, job by job (none at workflow level): only sync writes contents (the
    # write-back branch).
    assert all(d["permissions"] == {} for d in workflows.values())
    perms = {n: next(iter(d["jobs"].values()))["permissions"] for n, d in workflows.items()}
    assert perms["postmortem-lint.yml"] == {"contents": "read"}
    assert perms["postmortem-report.yml"] == {"contents": "read", "issues": "write"}
    assert set(perms["postmortem-sync.yml"]) == {"contents", "issues", "pull-requests"}
    # A development version refers to the tool's own action by tag (a release stamps its
    # commit, tests/test_init.py); `--action-ref` pins it.
    pinned = scaffold.planned_files("acme/infra", "acme/postmortem-tracker@" + "a" * 40)
    assert all(
        "@" + "a" * 40 in f.content
        for f in pinned
        if f.path.endswith(".yml") and "workflows" in f.path
    )


def test_repository_workflows_are_hardened() -> None:
    for path in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        problems = workflow_problems(path.name, data, "\0")
        if path.name == "release.yml":  # PyPI trusted publishing needs an OIDC token
            problems.remove("release.yml:release: id-token: write")
        assert problems == []
        assert all(v == "read" for v in data["permissions"].values()), path.name


def test_the_action_passes_inputs_through_env_only() -> None:
    action = REPO / "action.yml"
    if not action.exists():
        pytest.skip("action.yml is not in the repository yet (another change adds it)")
    data = yaml.safe_load(action.read_text())
    steps = data["runs"].get("steps") or []
    assert data["runs"]["using"] == "composite"
    problems = steps_problems("action.yml", steps, "\0")
    assert problems == []
    # Secrets are masked before anything runs that could print them.
    run_step = next(s for s in steps if "tracker" in str(s.get("run", "")))
    assert "::add-mask::" in run_step["run"]
    for name, spec in (data.get("inputs") or {}).items():
        default = str((spec or {}).get("default", ""))
        assert "${{" not in default or default == "${{ github.token }}", name


def test_only_well_formed_markers_are_read() -> None:
    """A comment-looking line in a person's text is not a marker unless it parses as ours."""
    body = 'Text\n<!-- postmortem-tracker: not json -->\n<!-- postmortem-tracker: {"key": 1} -->'
    assert parse_body(body).marker is None
    m = Marker(key="pm/1", path="p.md", hash="h")
    assert (
        parse_body(
            f"x\n<!-- postmortem-tracker: {json.dumps({'key': m.key, 'path': m.path, 'hash': m.hash})} -->"
        ).marker
        is not None
    )

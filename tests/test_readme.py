"""The README's first two commands (the quickstart and the tests) work on a fresh copy of the
repository, in either order and more than once.

The commands are taken from the README text and run by bash in a copy of the repository as a
clone would have it (`git ls-files`: tracked and untracked-but-not-ignored files). Two things
are adapted so the test needs no network and stays short; both are printed on failure:

- `pip install` gets `--no-deps --no-build-isolation --no-index`: the new virtual environment
  sees this one's site-packages through a .pth file, so the project itself is really built and
  installed from the copy (`pip install .` as a wheel, `-e '.[test]'` editable), and its
  dependencies come from the environment running this test instead of the package index.
- `python -m pytest` runs the tests that read `examples/` (every test file naming
  `REPO / "examples"`), not the whole suite: those are the ones the quickstart could break, and
  the whole suite twice inside one test would take many minutes (and run this test again).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

INNER = "TRACKER_README_TEST"  # set inside the copy: the copy's own README test then skips


def readme_commands() -> tuple[str, str]:
    """The first two ```sh blocks of the README: the quickstart, then the tests."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(blocks) >= 2, "the README must start with the quickstart and the test command"
    quick, tests = (b.strip() for b in blocks[:2])
    assert "tracker sync" in quick and "pytest" in tests
    assert text.index(quick) < 600, "the quickstart is the README's first command"
    return quick, tests


def _examples_tests(root: Path) -> list[str]:
    names = []
    for path in sorted((root / "tests").rglob("test_*.py")):
        if path.name != "test_readme.py" and 'REPO / "examples"' in path.read_text("utf-8"):
            names.append(path.relative_to(root).as_posix())
    return names


def offline(command: str, root: Path) -> str:
    """`command` as it runs here: the interpreter running the tests, pip without the index."""
    command = re.sub(r"^python3 -m venv", f"{sys.executable} -m venv", command)
    site = sysconfig.get_paths()["purelib"]
    # After the venv exists, let it see this environment's packages (the dependencies).
    command = re.sub(
        r"(-m venv (\S+))",
        lambda m: (
            f"{m.group(1)} && {m.group(2)}/bin/python -c "
            f"\"import sysconfig,pathlib; pathlib.Path(sysconfig.get_paths()['purelib'],"
            f"'outer.pth').write_text({site!r})\""
        ),
        command,
        count=1,
    )
    command = command.replace(
        "pip install ", "pip install -q --no-deps --no-build-isolation --no-index "
    )
    tests = " ".join(_examples_tests(root))
    return command.replace(
        "python -m pytest", f"python -m pytest -q -p no:cacheprovider -m 'not slow' {tests}"
    )


def fresh_copy(dest: Path) -> Path:
    """The repository as a fresh clone has it."""
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=REPO,
                capture_output=True,
                check=True,
            )
            .stdout.decode("utf-8")
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is needed to list the repository's files")
    for name in filter(None, listed):
        src = REPO / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def _env(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "PIP_FIND_LINKS", "PIP_CONFIG_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:  # the copy's own .venv must come first, not the one running this test
        env["PATH"] = os.pathsep.join(
            p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv)
        )
    env.update({"HOME": str(home), INNER: "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env  # no GITHUB_* variable: the quickstart runs as on a laptop


def _run(command: str, cwd: Path, home: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", "set -e\n" + command],
        cwd=cwd,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, (
        f"`{command}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


@pytest.mark.skipif(os.environ.get(INNER) == "1", reason="already inside the README test")
@pytest.mark.skipif(shutil.which("bash") is None, reason="the README's commands are bash")
@pytest.mark.parametrize("order", ["quickstart first", "tests first"])
def test_readme_commands_work_in_either_order_and_again(tmp_path: Path, order: str) -> None:
    quick, tests = readme_commands()
    root = fresh_copy(tmp_path / "repo")
    steps = [quick, tests, quick] if order == "quickstart first" else [tests, quick, tests]
    examples = {p: p.read_bytes() for p in sorted((root / "examples").rglob("*")) if p.is_file()}
    for step in steps:
        _run(offline(step, root), root, tmp_path)
    after = {p: p.read_bytes() for p in sorted((root / "examples").rglob("*")) if p.is_file()}
    assert after == examples, "the quickstart changed examples/"
    assert (root / "demo" / ".tracker" / "local.db").is_file()
    linked = "".join(p.read_text("utf-8") for p in (root / "demo").rglob("*.md"))
    assert "local:1" in linked  # the copy got the ticket references


def test_the_commands_are_adapted_only_where_the_network_would_be_used(tmp_path: Path) -> None:
    quick, tests = readme_commands()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('EX = REPO / "examples"\n', encoding="utf-8")
    adapted = offline(quick, tmp_path)
    assert adapted.startswith(f"{sys.executable} -m venv .venv && .venv/bin/python -c ")
    assert "pip install -q --no-deps --no-build-isolation --no-index ." in adapted
    assert adapted.endswith(quick.split("pip install .", 1)[1])  # the rest is the README's
    adapted = offline(tests, tmp_path)
    assert adapted.startswith(f"{sys.executable} -m venv .venv && .venv/bin/python -c ")
    assert adapted.endswith(
        "pip install -q --no-deps --no-build-isolation --no-index -e '.[test]' && "
        "python -m pytest -q -p no:cacheprovider -m 'not slow' tests/test_x.py"
    )

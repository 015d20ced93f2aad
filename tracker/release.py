"""Where this version of the GitHub Action is released, for the workflows `tracker init` writes.

`RELEASE_SHA` is empty in the source tree: a commit cannot hold its own hash. The release
workflow (.github/workflows/release.yml) stamps the tag's commit into the package it builds, so
an installed release writes `uses: <repository>@<sha>  # v<version>`; a development install
writes the version tag and says how to pin it.
"""

from __future__ import annotations

import re

from tracker import __version__

ACTION_REPOSITORY = "postmortem-tracker/postmortem-tracker"
RELEASE_SHA = ""

_SHA = re.compile(r"[0-9a-f]{40}")


def release_tag(version: str = __version__) -> str:
    return f"v{version}"


def action_ref(sha: str = RELEASE_SHA, version: str = __version__) -> tuple[str, bool]:
    """(the `uses:` value with the tag as a comment, whether it is pinned to a commit)."""
    tag = release_tag(version)
    if _SHA.fullmatch(sha):
        return f"{ACTION_REPOSITORY}@{sha}  # {tag}", True
    return f"{ACTION_REPOSITORY}@{tag}", False


def stamp(source: str, sha: str) -> str:
    """This module's text with RELEASE_SHA set (the release workflow runs it before building).

    Raises:
        ValueError: `sha` is not a full commit hash.
    """
    if not _SHA.fullmatch(sha):
        raise ValueError(f"'{sha}' is not a full 40-character commit SHA")
    return re.sub(r'^RELEASE_SHA = ".*"$', f'RELEASE_SHA = "{sha}"', source, count=1, flags=re.M)


if __name__ == "__main__":  # python -m tracker.release SHA: stamp the installed source file
    import sys
    from pathlib import Path

    here = Path(__file__)
    here.write_text(stamp(here.read_text(encoding="utf-8"), sys.argv[1]), encoding="utf-8")

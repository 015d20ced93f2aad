#!/usr/bin/env bash
# Regenerates requirements/action.txt: every package the GitHub Action installs, pinned, with
# the sha256 of each file on PyPI, so action.yml can install with `pip --require-hashes`.
# Needs pip-tools (`pip install pip-tools`) and PyPI. Run from the repository root; commit the
# result. pip-compile resolves for the platform it runs on, so the Windows-only dependency
# (colorama, for click) is added by hand below, hashed from the files PyPI serves.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_CONFIG_FILE=/dev/null  # PyPI only, whatever the local pip configuration says
pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
  --no-emit-find-links --index-url https://pypi.org/simple \
  -o requirements/action.txt pyproject.toml requirements/action.in
version=0.4.6
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pip download --quiet --no-deps --index-url https://pypi.org/simple --dest "$tmp" \
  "colorama==$version"
pip download --quiet --no-deps --no-binary :all: --index-url https://pypi.org/simple \
  --dest "$tmp" "colorama==$version"
{
  printf 'colorama==%s ; platform_system == "Windows" \\\n' "$version"
  for f in "$tmp"/colorama-*; do
    printf '    --hash=%s \\\n' "$(pip hash "$f" | sed -n 's/^--hash=//p')"
  done | sed '$ s/ \\$//'
  printf '    # via click (Windows only; added by requirements/compile.sh)\n'
} >> requirements/action.txt

"""Rebuild github-extra.json: the GitHub operations forge.py uses that the shared subset lacks.

Usage (offline once the tarball is here):
    cd /tmp && npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python tests/fakes/specs/make_github_extra.py /tmp/package/generated/api.github.com.json

Like ../shared/specs/github-rest-subset.json: the selected operations copied verbatim, every
component they reach through `$ref` copied verbatim (so the file stands alone), named examples
dropped, keys sorted.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"  # the version ../shared/specs/github-rest-subset.json was cut from
OPERATIONS = (
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
    ("post", "/repos/{owner}/{repo}/git/commits"),
    ("get", "/repos/{owner}/{repo}/git/trees/{tree_sha}"),
    ("post", "/repos/{owner}/{repo}/git/trees"),
    ("post", "/repos/{owner}/{repo}/git/blobs"),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("delete", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
)
OUT = Path(__file__).with_name("github-extra.json")


def _strip_examples(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_examples(v) for k, v in node.items() if k != "examples"}
    if isinstance(node, list):
        return [_strip_examples(v) for v in node]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for v in node.values():
            out += _refs(v)
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def main(source: str) -> None:
    raw = Path(source).read_bytes()
    spec = json.loads(raw)
    if spec["info"]["version"] != VERSION:
        raise SystemExit(f"{source} is {spec['info']['version']}, expected {VERSION}")
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = spec["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = _strip_examples(item[method])
    components: dict[str, dict[str, Any]] = {}
    todo = _refs(paths)
    while todo:
        ref = todo.pop()
        _, kind, name = ref.removeprefix("#/").split("/", 2)
        if kind == "examples" or name in components.get(kind, {}):
            continue
        node = _strip_examples(spec["components"][kind][name])
        components.setdefault(kind, {})[name] = node
        todo += _refs(node)
    doc = {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec.get("servers", []),
        "paths": paths,
        "components": components,
        "x-provenance": {
            "package": PACKAGE,
            "version": VERSION,
            "file": "generated/api.github.com.json",
            "file_sha256": hashlib.sha256(raw).hexdigest(),
            "license": "MIT",
            "operations": sorted(f"{m.upper()} {p}" for m, p in OPERATIONS),
            "method": "operations copied verbatim; components reached through $ref copied "
            "verbatim; named examples dropped; keys sorted (tests/fakes/specs/"
            "make_github_extra.py)",
        },
    }
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(paths)} paths, {sum(len(v) for v in components.values())} components")


if __name__ == "__main__":
    main(sys.argv[1])

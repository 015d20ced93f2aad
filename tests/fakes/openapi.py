"""Check HTTP traffic against an OpenAPI 3.0 subset in ../shared/specs, with plain `jsonschema`.

OAS 3.0 schemas are draft-4 JSON Schema plus `nullable`, which jsonschema does not know: each
schema carrying `nullable: true` is rewritten as `anyOf: [schema, {type: null}]` (that also
fixes the README's quirk where `nullable` beside `oneOf` without `type` rejected null).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

BASE = "urn:spec"
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "not", "additionalProperties")
_DROP = ("nullable", "discriminator", "example", "xml", "externalDocs", "deprecated")
_METHODS = ("get", "post", "put", "patch", "delete", "head")


def _schema(node: Any) -> Any:
    """One OAS schema object as draft-4 JSON Schema."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key.startswith("x-"):
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = BASE + value  # an extracted schema still resolves into the document
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_schema(sub) for sub in value]
        elif key in _SCHEMA_ONE and isinstance(value, dict):
            out[key] = _schema(value)
        else:
            out[key] = value
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _convert(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with every schema it holds converted (components, parameters, bodies)."""
    doc = json.loads(json.dumps(doc))
    comps = doc.get("components", {})
    comps["schemas"] = {k: _schema(v) for k, v in comps.get("schemas", {}).items()}

    def media(content: Any) -> None:
        for mt in (content or {}).values():
            if isinstance(mt, dict) and "schema" in mt:
                mt["schema"] = _schema(mt["schema"])

    def params(items: Any) -> None:
        for p in items or []:
            if isinstance(p, dict) and "schema" in p:
                p["schema"] = _schema(p["schema"])

    params(comps.get("parameters", {}).values())
    for r in comps.get("responses", {}).values():
        media(r.get("content"))
    for h in comps.get("headers", {}).values():
        if "schema" in h:
            h["schema"] = _schema(h["schema"])
    for item in doc.get("paths", {}).values():
        params(item.get("parameters"))
        for method in _METHODS:
            op = item.get(method)
            if not op:
                continue
            params(op.get("parameters"))
            media((op.get("requestBody") or {}).get("content"))
            for r in op.get("responses", {}).values():
                media(r.get("content"))
    return doc


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    spec: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]


# Path parameters whose values hold slashes (`heads/main`, `docs/a.md`), as GitHub takes them.
_SLASHED_PARAMS = ("ref", "path")


def _merge(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One document from several cut from the same description (operations and components
    are copied verbatim, so a component both hold is the same)."""
    out: dict[str, Any] = json.loads(json.dumps(docs[0]))
    for doc in docs[1:]:
        for template, item in doc.get("paths", {}).items():
            out.setdefault("paths", {}).setdefault(template, {}).update(item)
        for kind, named in doc.get("components", {}).items():
            for name, node in named.items():
                out.setdefault("components", {}).setdefault(kind, {}).setdefault(name, node)
    return out


class SpecValidator:
    """Validates requests and responses against OpenAPI 3.0 documents (a subset and extras)."""

    def __init__(self, path: Path, *extra: Path) -> None:
        raw = _merge([json.loads(p.read_text(encoding="utf-8")) for p in (path, *extra)])
        self.doc = _convert(raw)
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(BASE, resource)
        ops: list[Operation] = []
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{([^/]+?)\\\}", _param_regex, re.escape(template)) + "$"
            for method in _METHODS:
                if method in item:
                    op = item[method]
                    prm = [
                        self._deref(p)
                        for p in (*item.get("parameters", []), *op.get("parameters", []))
                    ]
                    ops.append(
                        Operation(method.upper(), template, re.compile(pattern), op, tuple(prm))
                    )
        # Literal segments win over parameters: /issues/comments/{id} before /issues/{number}.
        ops.sort(key=lambda o: o.template.count("{"))
        self.operations = ops

    def _deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].split("#", 1)[1].lstrip("/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _errors(self, schema: Any, value: Any, where: str) -> list[str]:
        v = Draft4Validator(schema, registry=self.registry)
        return [f"{where}: {e.message} at {list(e.absolute_path)}" for e in v.iter_errors(value)]

    def operation(self, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.method == method.upper() and op.regex.match(path):
                return op
        return None

    def check_request(
        self, method: str, path: str, query: Mapping[str, Sequence[str]], body: Any
    ) -> list[str]:
        """Problems with a request: unknown operation, bad or unknown parameters, bad body."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in the spec"]
        problems: list[str] = []
        m = op.regex.match(path)
        assert m is not None
        names = re.findall(r"\{([^}]+)\}", op.template)
        values = dict(zip(names, m.groups(), strict=True))
        known_query = {p["name"] for p in op.parameters if p.get("in") == "query"}
        for name in query:
            if name not in known_query:
                problems.append(f"{method} {op.template}: unknown query parameter {name!r}")
        for p in op.parameters:
            where = p.get("in")
            raw: Any
            if where == "path":
                raw = values.get(p["name"])
            elif where == "query":
                got = query.get(p["name"])
                raw = got[-1] if got else None
            else:
                continue
            if raw is None:
                if p.get("required"):
                    problems.append(
                        f"{method} {op.template}: missing {where} parameter {p['name']}"
                    )
                continue
            schema = p.get("schema", {})
            problems += self._errors(
                schema, _coerce(raw, schema), f"{method} {op.template} {p['name']}"
            )
        rb = self._deref(op.spec.get("requestBody"))
        if rb:
            schema = ((rb.get("content") or {}).get("application/json") or {}).get("schema")
            if body is None:
                if rb.get("required"):
                    problems.append(f"{method} {op.template}: the request needs a JSON body")
            elif schema is not None:
                problems += self._errors(schema, body, f"{method} {op.template} body")
        elif body is not None:
            problems.append(f"{method} {op.template}: sends a body the operation does not take")
        return problems

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with a response: undeclared status, body not matching its schema."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in the spec"]
        responses = op.spec.get("responses", {})
        decl = responses.get(str(status)) or responses.get("default")
        if decl is None:
            return [f"{method} {op.template}: status {status} is not declared"]
        decl = self._deref(decl)
        content = decl.get("content") or {}
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            return (
                []
                if body in (None, "", b"")
                else [f"{method} {op.template} {status}: a body where none is declared"]
            )
        return self._errors(schema, body, f"{method} {op.template} {status}")


def _param_regex(m: re.Match[str]) -> str:
    return "(.+)" if m.group(1) in _SLASHED_PARAMS else "([^/]+)"


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


class Exchange(Protocol):
    """One logged request and its answer (the fakes' request logs)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int | None
    response: Any
    fault: str | None


def traffic_problems(v: SpecValidator, log: Sequence[Exchange]) -> list[str]:
    """Every request checked against its operation; every plain answer against its schema.

    Injected faults, 401s, 304s and undeclared error statuses are not checked as answers:
    GitHub sends them on any operation, and the description declares them only on some.
    """
    problems: list[str] = []
    for r in log:
        problems += v.check_request(r.method, r.path, r.query, r.body)
        if r.status is None or r.fault or r.status in (304, 401):
            continue
        found = v.check_response(r.method, r.path, r.status, r.response)
        if r.status >= 400:
            found = [p for p in found if not p.endswith("is not declared")]
        problems += found
    return problems

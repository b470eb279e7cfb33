"""The admin API's OpenAPI 3.1 document, served at GET /v1/openapi.json, and a page
that renders it at GET /v1/docs (inline script, no network beyond this server).

The document is generated from the route table (admin_api/routes.py) and the models
it names (admin_api/contracts.py): nothing in it is written twice. tests/test_openapi.py
validates it as OpenAPI 3.1 and runs schemathesis against a real server.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, Struct

from admin_api import contracts as c
from admin_api.routes import PATH_PARAMETERS, ROUTES, Answer, Either, Param, Route, Upload

Schema = dict[str, Any]

DOCUMENT_PATH = "/v1/openapi.json"
DOCS_PATH = "/v1/docs"
_REF = "#/components/schemas/{name}"


async def healthz(request: web.Request) -> web.Response:
    return c.respond(c.Health(status="ok"))


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=_DOCUMENT_BODY, content_type="application/json")


async def docs(request: web.Request) -> web.Response:
    return web.Response(body=_DOCS_BODY, content_type="text/html", charset="utf-8")


META = (
    Route(
        "GET /healthz", healthz, "meta", "Liveness of the admin API",
        Answer(200, "Serving.", c.Health), None,
    ),
    Route(
        "GET " + DOCUMENT_PATH, openapi, "meta", "This document",
        Answer(200, "The OpenAPI 3.1 document of the admin API."), None,
    ),
    Route(
        "GET " + DOCS_PATH, docs, "meta", "This document as a page",
        Answer(200, "An HTML page that renders the document.", media="text/html"), None,
    ),
)  # fmt: skip

_STATUS_TEXT = {
    400: "Bad request",
    401: "No valid API key",
    403: "Not allowed",
    404: "Not found",
    408: "The body stalled",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable image",
    503: "Unavailable; retry after `Retry-After` seconds",
}


def _ref(model: type[Struct]) -> Schema:
    return {"$ref": _REF.format(name=model.__name__)}


# What JSON Schema says of a model that msgspec does not.
_EXTRA: dict[str, Schema] = {"ImagePatch": {"minProperties": 1}}


class _Schemas:
    """The components of every model and parameter type the routes name, made by
    msgspec in one pass so that they share their components."""

    def __init__(self, routes: Iterable[Route]) -> None:
        routes = list(routes)
        answers: list[type[Struct]] = [r.answer.model for r in routes if r.answer.model]
        requests = [m for r in routes for m in _body_models(r)]
        params = [p.type for r in routes for p in r.params]
        paths = [t for t, _ in PATH_PARAMETERS.values()]
        answers.insert(0, c.Error)
        types = [*answers, *requests, *params, *paths]
        found, self.components = msgspec.json.schema_components(types, ref_template=_REF)
        self.inline = dict(zip(map(_key, types), found, strict=True))
        # An answer always carries every field but those left unset: say so.
        for name in _reachable(self.components, [_ref(m) for m in answers]):
            model = getattr(c, name, None)
            if isinstance(model, type) and issubclass(model, Struct):
                self.components[name]["required"] = [
                    f.encode_name for f in msgspec.structs.fields(model) if f.default is not UNSET
                ]
        for schema in self.components.values():
            schema.pop("title", None)
        for name, more in _EXTRA.items():
            self.components[name].update(more)

    def of(self, type_: Any) -> Schema:
        return dict(self.inline[_key(type_)])


def _key(type_: Any) -> str:
    return repr(type_)


def _reachable(components: dict[str, Schema], roots: list[Schema]) -> set[str]:
    seen: set[str] = set()
    todo = [json.dumps(r) for r in roots]
    while todo:
        for name in re.findall(r'"#/components/schemas/([^"]+)"', todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(json.dumps(components[name]))
    return seen


def _body_models(route: Route) -> list[type[Struct]]:
    body = route.body
    if body is None:
        return []
    if isinstance(body, Upload):
        return [body.multipart, body.json]
    if isinstance(body, Either):
        return list(body.options)
    return [body]


def _errors(groups: Iterable[dict[int, list[str]]]) -> dict[str, Schema]:
    codes: dict[int, list[str]] = {}
    for group in groups:
        for status, names in group.items():
            codes.setdefault(status, [])
            codes[status] += [n for n in names if n not in codes[status]]
    responses: dict[str, Schema] = {}
    for status in sorted(codes):
        response: Schema = {
            "description": f"{_STATUS_TEXT[status]}: "
            + ", ".join(f"`{code}`" for code in codes[status]),
            "content": {"application/json": {"schema": _ref(c.Error)}},
        }
        if status == 400:
            # aiohttp's HTTP parser answers what it cannot read before any handler runs.
            response["description"] += (
                "; and, in plain text, a request the HTTP layer refuses (a request line "
                "or a header over 8190 bytes)"
            )
            response["content"]["text/plain"] = {"schema": {"type": "string"}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"$ref": "#/components/headers/Challenge"}}
        if status == 503:
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
        responses[str(status)] = response
    return responses


def _answer(answer: Answer) -> dict[str, Schema]:
    if answer.status == 204:
        return {"204": {"description": answer.description}}
    if answer.model is not None:
        schema = _ref(answer.model)
    else:
        schema = {"type": "object" if answer.media == "application/json" else "string"}
    return {
        str(answer.status): {
            "description": answer.description,
            "content": {answer.media: {"schema": schema}},
        }
    }


_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}


def _body(route: Route) -> Schema:
    body = route.body
    if isinstance(body, Upload):
        return {
            "required": True,
            "description": "A `multipart/form-data` form with a `file` field"
            + (" and optional fields" if body.fields else " (and nothing else)")
            + "; or the image itself as the body with an `image/*` or "
            "`application/octet-stream` Content-Type, or none; or JSON with the image in base64 as "
            "`data`. The format is detected from the bytes.",
            "content": {
                "multipart/form-data": {
                    "schema": _ref(body.multipart),
                    "encoding": {"file": {"contentType": "image/*, application/octet-stream"}},
                },
                "image/*": {"schema": _BINARY},
                "application/octet-stream": {"schema": _BINARY},
                "application/json": {"schema": _ref(body.json)},
            },
        }
    schema = {"$ref": _REF.format(name=body.name)} if isinstance(body, Either) else _ref(body)  # type: ignore[arg-type]
    document: Schema = {"required": True, "content": {"application/json": {"schema": schema}}}
    if route.body_description:
        document["description"] = route.body_description
    return document


def _parameter(schemas: _Schemas, param: Param) -> Schema:
    schema = schemas.of(param.type)
    found: Schema = {
        "name": param.name,
        "in": param.where,
        "required": False,
        "description": param.description,
    }
    if param.repeated:
        return found | {
            "schema": {"type": "array", "items": schema},
            "style": "form",
            "explode": True,
        }
    return found | {"schema": schema}


def _needs(route: Route) -> str:
    if route.role is None:
        return ""
    article = "an" if route.role.value[0] in "aeiou" else "a"
    return " ".join(filter(None, (f"Needs {article} {route.role.value} key", route.scope))) + "."


def _operation(schemas: _Schemas, route: Route) -> Schema:
    operation: Schema = {
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": route.summary,
    }
    description = " ".join(part for part in (_needs(route), route.description) if part)
    if description:
        operation["description"] = description
    path_names = re.findall(r"\{(\w+)\}", route.path)
    parameters = [{"$ref": f"#/components/parameters/{name}"} for name in path_names]
    parameters += [
        {"$ref": f"#/components/parameters/{p.shared}"} if p.shared else _parameter(schemas, p)
        for p in route.params
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = _body(route)
    if route.role is None:
        operation["security"] = []
    responses = _answer(route.answer) | _errors(route.errors)
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def document(routes: tuple[Route, ...]) -> dict[str, Any]:
    schemas = _Schemas(routes)
    paths: dict[str, dict[str, Schema]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(schemas, route)
    components = schemas.components
    for route in routes:
        if isinstance(route.body, Either):
            components[route.body.name] = {
                "anyOf": [_ref(option) for option in route.body.options],
                "description": route.body.description,
            }
    parameters = {
        name: {"name": name, "in": "path", "required": True, "schema": schemas.of(type_)}
        | ({"description": description} if description else {})
        for name, (type_, description) in PATH_PARAMETERS.items()
    }
    for param in {p.shared: p for r in routes for p in r.params if p.shared}.values():
        parameters[param.shared] = _parameter(schemas, param)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "imgorigin admin API",
            "version": "1",
            "description": "Uploads, activation, replacement, deletion and purges of the "
            "images an imgorigin origin serves, on the admin port (keep it off the public "
            'network). JSON in and out; every error is `{"error": {"code", "message"}}` with '
            "a stable code. Keys have a role, `read` < `write` < `admin`, and belong to one "
            "library or to every library.",
        },
        "tags": [{"name": name} for name in dict.fromkeys(r.tag for r in routes)],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An admin API key: `Authorization: Bearer <key>`. "
                    "`Authorization: ApiKey <key>` is accepted as well. Keys are made with "
                    "`imgorigin keys create` or POST /v1/keys.",
                }
            },
            "schemas": dict(sorted(components.items())),
            "parameters": parameters,
            "headers": {
                "Challenge": {
                    "description": 'Bearer realm="imgorigin"',
                    "schema": {"type": "string"},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "string"},
                },
            },
        },
    }


ALL_ROUTES = (*META, *ROUTES)
DOCUMENT = document(ALL_ROUTES)
PATHS = DOCUMENT["paths"]


def operations(document: dict[str, Any] = DOCUMENT) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation the document describes."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    }


_DOCUMENT_BODY = json.dumps(DOCUMENT, indent=1).encode()


# The docs page: the document fetched and laid out by an inline script, so it works
# without any network but this server's; without script, a plain list of operations.
_SCRIPT = r"""
"use strict";
const root = document.getElementById("doc");
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}
function resolve(doc, node) {
  while (node && node.$ref) {
    node = node.$ref.slice(2).split("/").reduce((o, k) => o[k], doc);
  }
  return node;
}
function refName(node) {
  return node && node.$ref ? node.$ref.split("/").pop() : null;
}
function schemaText(doc, schema, depth, seen) {
  if (!schema) return "";
  const name = refName(schema);
  if (name) {
    if (seen.has(name) || depth > 3) return name;
    seen = new Set(seen).add(name);
    return name + " " + schemaText(doc, resolve(doc, schema), depth, seen);
  }
  const pad = "  ".repeat(depth);
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    if (schema[key]) {
      const parts = schema[key].map((s) => schemaText(doc, s, depth, seen));
      return parts.join(key === "allOf" ? " & " : " | ");
    }
  }
  let text = schema.type || (schema.const !== undefined ? JSON.stringify(schema.const) : "any");
  if (schema.enum) text += " (" + schema.enum.map((v) => JSON.stringify(v)).join(", ") + ")";
  const limits = ["minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
    "pattern", "format", "default", "contentMediaType", "contentEncoding"]
    .filter((k) => schema[k] !== undefined).map((k) => k + " " + schema[k]);
  if (limits.length) text += " [" + limits.join("; ") + "]";
  if (schema.type === "array" && schema.items) {
    text += " of " + schemaText(doc, schema.items, depth, seen);
  }
  if (schema.properties) {
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties).map(([key, value]) =>
      pad + "  " + key + (required.has(key) ? "" : "?") + ": "
      + schemaText(doc, value, depth + 1, seen)
      + (value.description ? "  // " + value.description : ""));
    text += " {\n" + lines.join("\n") + "\n" + pad + "}";
  }
  return text;
}
function section(parent, title) {
  parent.appendChild(el("h4", title));
}
function render(doc) {
  root.textContent = "";
  root.appendChild(el("h1", doc.info.title + " " + doc.info.version));
  root.appendChild(el("p", doc.info.description));
  for (const scheme of Object.values(doc.components.securitySchemes || {})) {
    root.appendChild(el("p", "Authentication: " + scheme.description));
  }
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const box = el("section", undefined, "op");
      box.id = op.operationId;
      const head = el("h2");
      head.appendChild(el("span", method.toUpperCase(), "method " + method));
      head.appendChild(el("code", " " + path));
      head.appendChild(el("span", "  " + op.summary, "summary"));
      box.appendChild(head);
      if (op.description) box.appendChild(el("p", op.description));
      if (op.security && op.security.length === 0) {
        box.appendChild(el("p", "No key needed.", "note"));
      }
      const params = (op.parameters || []).map((p) => resolve(doc, p));
      if (params.length) {
        section(box, "Parameters");
        const table = el("table");
        for (const p of params) {
          const row = el("tr");
          row.appendChild(el("td", p.name + (p.required ? "" : "?")));
          row.appendChild(el("td", p.in));
          row.appendChild(el("td", schemaText(doc, p.schema, 0, new Set())));
          row.appendChild(el("td", p.description || ""));
          table.appendChild(row);
        }
        box.appendChild(table);
      }
      if (op.requestBody) {
        section(box, "Request body");
        if (op.requestBody.description) box.appendChild(el("p", op.requestBody.description));
        for (const [type, media] of Object.entries(op.requestBody.content)) {
          box.appendChild(el("div", type, "media"));
          box.appendChild(el("pre", schemaText(doc, media.schema, 0, new Set())));
        }
      }
      section(box, "Responses");
      for (const [status, response] of Object.entries(op.responses)) {
        const line = el("div", undefined, "response");
        line.appendChild(el("b", status + " "));
        line.appendChild(el("span", response.description));
        box.appendChild(line);
        for (const [type, media] of Object.entries(response.content || {})) {
          box.appendChild(el("pre", type + ": " + schemaText(doc, media.schema, 0, new Set())));
        }
      }
      root.appendChild(box);
    }
  }
  const schemas = el("section", undefined, "op");
  schemas.appendChild(el("h2", "Schemas"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.appendChild(el("h3", name));
    if (schema.description) schemas.appendChild(el("p", schema.description));
    schemas.appendChild(el("pre", schemaText(doc, schema, 0, new Set([name]))));
  }
  root.appendChild(schemas);
}
fetch("openapi.json")
  .then((r) => { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
  .then(render)
  .catch((e) => {
    root.insertBefore(el("p", "Could not load openapi.json: " + e, "note"), root.firstChild);
  });
"""

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; }
code, pre, td { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f5f5f5; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.op { border-top: 1px solid #ccc; padding-top: .5em; margin-top: 1.5em; }
.method { display: inline-block; min-width: 4.5em; font-size: 14px; }
.get { color: #0a6; } .post { color: #06c; } .put, .patch { color: #a60; }
.delete { color: #c22; } .summary { font-weight: normal; font-size: 15px; color: #555; }
.note, .media { color: #666; } td { border-bottom: 1px solid #eee; padding: .2em .6em; }
"""


def _docs_page() -> str:
    fallback = "\n".join(
        f"<li><code>{method} {html.escape(path)}</code> "
        f"{html.escape(PATHS[path][method.lower()]['summary'])}</li>"
        for path in PATHS
        for method in (m.upper() for m in PATHS[path])
    )
    title = html.escape(DOCUMENT["info"]["title"])
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        f'<main id=doc><h1>{title}</h1><p>The <a href="openapi.json">OpenAPI document</a>'
        f"; its operations:</p><ul>\n{fallback}\n</ul></main>\n"
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )


_DOCS_BODY = _docs_page().encode()

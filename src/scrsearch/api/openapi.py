"""The OpenAPI 3.1 schema of the API, and an offline HTML page describing it.

Both are built from the endpoint table, so they cannot drift from what is served. The
page at ``/`` needs nothing from the internet (no Swagger UI from a CDN): it is plain,
escaped HTML.
"""

from __future__ import annotations

import html
from importlib import metadata
from typing import Any

from ..config import Config
from .endpoints import ENDPOINTS, Endpoint

#: One passage, as ``scrsearch search --json`` prints it (``Hit.to_dict``).
HIT_FIELDS: dict[str, str | list[str]] = {
    "rank": "integer",
    "score": "number",
    "method": "string",
    "chunk_id": "integer",
    "doc_id": "integer",
    "title": "string",
    "source": "string",
    "review_name": ["string", "null"],
    "partnership": ["string", "null"],
    "year": ["integer", "null"],
    "review_type": ["string", "null"],
    "nation": ["string", "null"],
    "page_start": ["integer", "null"],
    "page_end": ["integer", "null"],
    "section": "string",
    "heading": ["string", "null"],
    "char_start": "integer",
    "char_end": "integer",
    "text": "string",
    "ocr": "boolean",
}

HEALTH_PATH = "/health"
ERROR_STATUSES = {
    "400": "A bad parameter: the message names it and says why.",
    "404": "No such path, passage, document or theme.",
    "409": "The index was never tagged with themes (run scrsearch retag).",
    "414": "The URL is longer than the max_url_kb setting.",
    "503": "There is no usable index yet (the message says how to build one).",
}


def _version() -> str:
    try:
        return metadata.version("scrsearch")
    except metadata.PackageNotFoundError:
        return "0"


def _operation(endpoint: Endpoint, config: Config) -> dict[str, Any]:
    ok = {"$ref": f"#/components/schemas/{endpoint.returns}"}
    responses: dict[str, Any] = {
        "200": {
            "description": f"What `{endpoint.cli}` prints. The header X-Scrsearch-Generation "
            "names the index generation that answered.",
            "content": {"application/json": {"schema": ok}},
        }
    }
    for status, why in ERROR_STATUSES.items():
        responses[status] = {
            "description": why,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return {
        "summary": endpoint.summary,
        "description": f"The JSON of `{endpoint.cli}`.",
        "operationId": endpoint.path.strip("/").split("/")[0],
        "parameters": [p.schema(config) for p in endpoint.params],
        "responses": responses,
    }


def schema(config: Config) -> dict[str, Any]:
    """The OpenAPI document of every endpoint, with the limits ``config`` sets."""
    paths: dict[str, Any] = {e.path: {"get": _operation(e, config)} for e in ENDPOINTS}
    paths[HEALTH_PATH] = {
        "get": {
            "summary": "Whether the server can answer: its index generation and counts.",
            "operationId": "health",
            "responses": {
                "200": {"description": "Ready.", "content": {"application/json": {}}},
                "503": {"description": "No usable index yet.", "content": {"application/json": {}}},
            },
        }
    }
    hit = {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in HIT_FIELDS.items()},
        "required": list(HIT_FIELDS),
    }
    error = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer"},
            "param": {"type": "string"},
        },
        "required": ["error", "status"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scrsearch",
            "version": _version(),
            "description": "Read-only search over UK child safeguarding case reviews. "
            "Every endpoint returns the JSON of its `scrsearch ... --json` command.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Hit": hit,
                "Hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
                "Object": {"type": ["object", "array"]},
                "Error": error,
            }
        },
    }


def page(config: Config) -> str:
    """The API described for people, as one self-contained HTML page."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>scrsearch API</title><style>body{font-family:sans-serif;max-width:60rem;"
        "margin:2rem auto;padding:0 1rem}code{background:#f3f4f6;padding:0 .2rem}"
        "td,th{text-align:left;padding:.2rem .8rem .2rem 0;vertical-align:top}</style>",
        "</head><body><h1>scrsearch API</h1>",
        "<p>Read-only. Every endpoint answers <code>GET</code> with the JSON of its CLI "
        "command. The machine-readable schema is <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for endpoint in ENDPOINTS:
        parts.append(f"<h2><code>GET {esc(endpoint.path)}</code></h2>")
        parts.append(
            f"<p>{esc(endpoint.summary)} The JSON of <code>{esc(endpoint.cli)}</code>.</p>"
        )
        if endpoint.params:
            parts.append("<table><tr><th>parameter</th><th>type</th><th>default</th><th></th></tr>")
            for p in endpoint.params:
                body = p.schema(config)["schema"]
                kind = " | ".join(body["enum"]) if "enum" in body else body["type"]
                if "maximum" in body:
                    kind += f" {body.get('minimum', '')}–{body['maximum']}"
                default = "" if p.default is None else str(p.default).lower()
                need = " (required)" if p.required else ""
                parts.append(
                    f"<tr><td><code>{esc(p.name)}</code>{need}</td><td>{esc(kind)}</td>"
                    f"<td>{esc(default)}</td><td>{esc(p.help)}</td></tr>"
                )
            parts.append("</table>")
    parts.append(
        f"<h2><code>GET {HEALTH_PATH}</code></h2><p>Readiness: 200 with the index "
        "generation, or 503 with the reason.</p></body></html>"
    )
    return "".join(parts)

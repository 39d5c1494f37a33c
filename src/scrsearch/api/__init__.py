"""The HTTP JSON API (``scrsearch serve``): a read-only thin client, like the CLI.

Every endpoint returns the JSON its CLI command prints with ``--json``: ``GET /search``
is ``scrsearch search --json``, ``/docs`` is ``scrsearch docs --json``, and so on.

- ``params``: each endpoint's query parameters, declared once; they are checked
  strictly (a bad one is a 400 naming it) and described in the OpenAPI schema.
- ``endpoints``: the endpoint table: path, parameters and the library call behind it.
- ``openapi``: the OpenAPI 3.1 schema and an offline HTML page, built from that table.
- ``server``: the Starlette application (errors as JSON, the generation header, CORS)
  and how uvicorn runs it.

May import: every room of the library; not the other clients (cli, app). Nothing
imports it: ``scrsearch serve`` runs uvicorn on ``scrsearch.api.server:factory`` by
name. Starlette is imported only here.
"""

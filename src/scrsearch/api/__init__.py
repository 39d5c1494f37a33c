"""The HTTP JSON API (``scrsearch serve``): a read-only thin client, like the CLI.

Every endpoint returns the JSON its CLI command prints with ``--json``: ``GET /search``
is ``scrsearch search --json``, ``/docs`` is ``scrsearch docs --json``, and so on.

- ``params``: each endpoint's query parameters, declared once; they are checked
  strictly (a bad one is a 400 naming it) and described in the OpenAPI schema.
- ``endpoints``: the endpoint table: path, parameters and the library call behind it.
- ``openapi``: the OpenAPI 3.1 schema and an offline HTML page, built from that table.
- ``server``: the Starlette application (errors as JSON, the generation header, CORS)
  and how uvicorn runs it.

May import: every room of the library below ``cli``/``app``; nothing imports it but
``cli/serve_command.py``. Starlette and uvicorn are imported only here.
"""

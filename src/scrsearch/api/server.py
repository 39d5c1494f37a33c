"""The Starlette application, and running it on uvicorn.

- Every answer is JSON, errors too: ``{"error": "...", "status": 400, "param": "k"}``.
  Library errors map to statuses by kind (not found: 404; no usable index: 503); no bad
  request reaches a 500.
- Each request takes the searcher of the current generation once (``LiveIndex``) and
  answers from it alone; the header ``X-Scrsearch-Generation`` names that generation.
  A publish by an ingest is picked up by the next request.
- The work runs in Starlette's thread pool: SQLite, FAISS and torch release the GIL.
- Read-only: ``GET`` (and ``HEAD``) only; CORS only for the ``cors_origins`` setting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import Config, load_config
from ..embed.base import Embedder
from ..errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexNotFoundError,
    ModelLoadError,
    ModelMismatchError,
    NotFoundError,
    ScrsearchError,
)
from ..search.live import LiveIndex
from ..themes.tagging import NoThemeTagsError
from . import openapi, params
from .endpoints import ENDPOINTS, Endpoint

log = logging.getLogger("scrsearch.api")
GENERATION_HEADER = "X-Scrsearch-Generation"
UNAVAILABLE = (
    IndexNotFoundError,
    IndexCorruptError,
    IndexBusyError,
    ModelLoadError,
    ModelMismatchError,
)


def status_of(exc: ScrsearchError) -> int:
    """The HTTP status of a library error."""
    if isinstance(exc, params.BadRequest):
        return exc.status
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, NoThemeTagsError):
        return 409
    if isinstance(exc, UNAVAILABLE):
        return 503
    return 400


def error(status: int, message: str, param: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "status": status}
    if param:
        body["param"] = param
    return JSONResponse(body, status_code=status)


def _handler(
    endpoint: Endpoint, live: LiveIndex, config: Config
) -> Callable[..., Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        values = params.parse(
            endpoint.params,
            request.query_params.multi_items(),
            dict(request.path_params),
            config,
            where=endpoint.path,
        )

        def work() -> tuple[Any, int]:
            searcher = live.searcher()  # one generation for the whole request
            return endpoint.handler(searcher, values), searcher.index.manifest.generation

        data, generation = await run_in_threadpool(work)
        return JSONResponse(data, headers={GENERATION_HEADER: str(generation)})

    handle.__name__ = endpoint.path.strip("/").split("/")[0] or "root"
    return handle


class URLLimit:
    """Refuse URLs longer than ``max_bytes`` with a JSON 414, before they are parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            if size > self.max_bytes:
                response = error(
                    414,
                    f"The URL is {size:,} bytes long; the most is {self.max_bytes:,} "
                    "(the max_url_kb setting)",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    config: Config | None = None,
    *,
    embedder: Embedder | None = None,
    live: LiveIndex | None = None,
) -> Starlette:
    """The API over ``config``'s index (default: the settings, ``$SCRSEARCH_INDEX``).

    Args:
        embedder: a loaded model to use (tests pass the fake one); default: the index's.
        live: the index to serve, if already open.
    """
    config = config or load_config()
    live = live or LiveIndex(config.index_dir, config=config, embedder=embedder)

    async def schema(request: Request) -> Response:
        return JSONResponse(openapi.schema(config))

    async def home(request: Request) -> Response:
        return HTMLResponse(openapi.page(config))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Load the model and open the index before the first request, if there is one.
        try:
            await run_in_threadpool(_warm, live)
        except ScrsearchError as exc:
            log.warning("Not ready yet: %s", exc)
        yield

    routes = [Route(e.path, _handler(e, live, config), methods=["GET"]) for e in ENDPOINTS]
    routes += [
        Route(openapi.HEALTH_PATH, _health(live), methods=["GET"]),
        Route("/openapi.json", schema, methods=["GET"]),
        Route("/", home, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=_middleware(config),
        exception_handlers={
            ScrsearchError: _library_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )


def _health(live: LiveIndex) -> Callable[[Request], Awaitable[Response]]:
    async def health(request: Request) -> Response:
        try:
            index = await run_in_threadpool(live.index)
        except ScrsearchError as exc:
            return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
        manifest = index.manifest
        body = {
            "status": "ok",
            "generation": manifest.generation,
            "model": manifest.model,
            "model_loaded": live.model_loaded,
            "documents": manifest.counts.get("documents", 0),
            "passages": manifest.counts.get("passages", 0),
        }
        return JSONResponse(body, headers={GENERATION_HEADER: str(manifest.generation)})

    return health


def _middleware(config: Config) -> list[Middleware]:
    """The URL limit, and CORS for the ``cors_origins`` setting's origins only."""
    middleware = [Middleware(URLLimit, max_bytes=config.max_url_kb * 1024)]
    origins = [o.strip() for o in config.cors_origins.split(",") if o.strip()]
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(
            Middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET"], max_age=600)
        )
    return middleware


def _warm(live: LiveIndex) -> None:
    searcher = live.searcher()
    searcher.embedder.embed_query("warm up")  # the first call of a model is slow


async def _library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScrsearchError)  # noqa: S101 - narrows the type; registered for it
    return error(status_of(exc), str(exc), getattr(exc, "param", None))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - narrows the type; registered for it
    if exc.status_code == 404:
        message = (
            f"No such path: {request.url.path}. The endpoints are listed at / and /openapi.json"
        )
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed: this API is read-only (GET only)"
    else:
        message = str(exc.detail)
    return error(exc.status_code, message)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("Internal error on %s", request.url.path, exc_info=exc)
    return error(500, f"Internal error ({type(exc).__name__}); the server log has the details")


# --- running it ------------------------------------------------------------------------


def factory() -> Starlette:
    """The app from the settings: uvicorn's ``--factory`` entry, one per worker process.

    ``scrsearch serve`` runs uvicorn on ``scrsearch.api.server:factory`` by name, as
    ``scrsearch app`` runs the app's script by path: the clients share no code.
    """
    return create_app()


class BackgroundServer:
    """The API on uvicorn in a thread of this process (tests, benchmarks): ``with`` it."""

    def __init__(
        self, app: Starlette, config: Config, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        import uvicorn

        self.config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            h11_max_incomplete_event_size=config.http_head_bytes,
            access_log=False,
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="scrsearch-api", daemon=True)

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> BackgroundServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ScrsearchError("The API server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

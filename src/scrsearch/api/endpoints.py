"""The endpoint table: each path, its parameters and the library call behind it.

Every handler takes the searcher of one generation (taken once per request) and the
checked parameters, and returns what the matching CLI command prints with ``--json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..index.info import index_info
from ..ingestion.library import documents
from ..search.request import SearchRequest
from ..search.searcher import Searcher
from .params import FILTERS, GROUP, MODE, BadRequest, Param, filters, k_param


@dataclass(frozen=True)
class Endpoint:
    """``GET path``: ``handler(searcher, values)`` with ``values`` checked against ``params``.

    Attributes:
        cli: the command whose ``--json`` output this endpoint returns.
        returns: the OpenAPI schema name of the answer (``Hits`` or ``Object``).
    """

    path: str
    summary: str
    cli: str
    params: tuple[Param, ...]
    handler: Callable[[Searcher, dict[str, Any]], Any]
    returns: str = "Object"


def _search(searcher: Searcher, v: dict[str, Any]) -> list[dict[str, Any]]:
    f = filters(v)
    request = SearchRequest(
        v["query"],
        mode=v["mode"],
        k=v["k"],
        year_from=f.year_from,
        year_to=f.year_to,
        partnership=f.partnership,
        review_type=f.review_type,
        section=f.section,
        doc=None if f.doc is None else str(f.doc),
        group=v["group"],
    )
    return [h.to_dict() for h in request.run(searcher)]


def _similar(searcher: Searcher, v: dict[str, Any]) -> list[dict[str, Any]]:
    if (v["chunk_id"] is None) == (v["text"] is None):
        raise BadRequest("Give chunk_id (a passage id) or text, not both or neither")
    hits = searcher.similar(
        v["chunk_id"],
        text=v["text"],
        k=v["k"],
        filters=filters(v),
        exclude_same_review=v["other_reviews"],
    )
    return [h.to_dict() for h in hits]


def _docs(searcher: Searcher, v: dict[str, Any]) -> list[dict[str, Any]]:
    return [row.to_dict() for row in documents(searcher.index)]


def _info(searcher: Searcher, v: dict[str, Any]) -> dict[str, Any]:
    return index_info(searcher.index).to_dict()


def _themes(searcher: Searcher, v: dict[str, Any]) -> Any:
    from ..themes.profiles import review_profile, theme_counts

    conn, folder = searcher.index.conn(), searcher.index.dir
    if v["review"] is not None:
        return review_profile(conn, v["review"], folder).to_dict()
    return [c.to_dict() for c in theme_counts(conn, folder)]


def _theme(searcher: Searcher, v: dict[str, Any]) -> list[dict[str, Any]]:
    from ..themes.profiles import theme_passages

    index = searcher.index
    hits = theme_passages(
        index.conn(), v["slug"], per_review=v["per_review"], limit=v["k"], index_dir=index.dir
    )
    return [h.to_dict() for h in hits]


def _compare(searcher: Searcher, v: dict[str, Any]) -> dict[str, Any]:
    from ..themes.compare import compare
    from ..themes.recurring import comparison_json

    result = compare(
        searcher.index,
        v["doc"],
        v["other"],
        k=v["k"],
        max_reviews=v["reviews"],
        config=searcher.config,
    )
    return comparison_json(searcher.index, result)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/search",
        "Passages that best match q, cited by review, page and section.",
        "scrsearch search Q --json",
        (
            Param("q", "string", "The words to search for.", required=True, field="query"),
            k_param(10),
            MODE,
            *FILTERS,
            GROUP,
        ),
        _search,
        "Hits",
    ),
    Endpoint(
        "/similar",
        "More like this: passages similar to passage chunk_id, or to text.",
        "scrsearch similar CHUNK_ID --json",
        (
            Param("chunk_id", "integer", "A passage id (from a search).", minimum=0),
            Param("text", "string", "Find passages like this text instead."),
            k_param(10),
            Param("other_reviews", "boolean", "Only passages from other reviews.", False),
            *FILTERS,
        ),
        _similar,
        "Hits",
    ),
    Endpoint(
        "/docs", "The indexed documents with their metadata.", "scrsearch docs --json", (), _docs
    ),
    Endpoint("/info", "The index's model, size and counts.", "scrsearch info --json", (), _info),
    Endpoint(
        "/themes",
        "The themes with passage and review counts, or one review's theme profile.",
        "scrsearch themes --json",
        (Param("review", "string", "Show this review's theme profile (id, file name or path)."),),
        _themes,
    ),
    Endpoint(
        "/theme/{slug}",
        "The strongest passages for theme slug across reviews.",
        "scrsearch theme SLUG --json",
        (
            Param("slug", "string", "A theme's slug (see /themes).", in_path=True),
            k_param(20, "passages"),
            Param(
                "per_review",
                "integer",
                "At most this many passages from each review.",
                2,
                minimum=1,
                maximum="max_k",
            ),
        ),
        _theme,
        "Hits",
    ),
    Endpoint(
        "/compare/{doc}",
        "Where else has doc's learning appeared? Its lessons with the closest passages "
        "elsewhere, and the reviews that share most learning.",
        "scrsearch compare DOC --json",
        (
            Param("doc", "string", "The review (id, file name or path).", in_path=True),
            Param("other", "string", "Compare with this review only (as DOC2 of the CLI)."),
            k_param(3, "matching passages per lesson"),
            Param("reviews", "integer", "Similar reviews listed.", 10, minimum=1, maximum="max_k"),
        ),
        _compare,
    ),
)

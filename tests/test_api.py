"""The HTTP JSON API: each endpoint answers what its CLI command prints with --json;
bad requests get clear 4xx JSON errors, never a 500; the schema describes what is served.

The index is the demo corpus built with the fast fake embedder; requests go through
Starlette's test client, except where the real HTTP parser matters (uvicorn on 127.0.0.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from conftest import CORPUS, build_hash_index
from scrsearch import load_config
from scrsearch.api.endpoints import ENDPOINTS
from scrsearch.api.openapi import HIT_FIELDS
from scrsearch.api.server import GENERATION_HEADER, BackgroundServer, create_app
from scrsearch.cli import cli
from scrsearch.index.generations import read_manifest


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hash_index(tmp_path_factory, "api", [CORPUS])


@pytest.fixture
def client(index: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(index=str(index))), raise_server_exceptions=False) as c:
        yield c


def cli_json(index: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def first_chunk(index: Path) -> int:
    return int(cli_json(index, "search", "escalation policy")[0]["chunk_id"])


# (URL, the CLI command that must print the same JSON); {chunk} is a passage id.
SAME_AS_CLI = [
    ("/search?q=escalation+policy", ["search", "escalation policy"]),
    (
        "/search?q=information+shared+in+a+meeting&k=4&mode=keyword",
        ["search", "information shared in a meeting", "-k", "4", "--mode", "keyword"],
    ),
    (
        "/search?q=voice+of+the+child&mode=semantic",
        ["search", "voice of the child", "--mode", "semantic"],
    ),
    ("/search?q=neglect&group=true&k=5", ["search", "neglect", "--group", "-k", "5"]),
    (
        "/search?q=school+attendance&year_from=2015&year_to=2022&section=lessons",
        [
            "search",
            "school attendance",
            "--year-from",
            "2015",
            "--year-to",
            "2022",
            "--section",
            "lessons",
        ],
    ),
    ("/search?q=police&type=scr", ["search", "police", "--type", "scr"]),
    (
        "/search?q=health+visitor&partnership=kingsmere",
        ["search", "health visitor", "--partnership", "kingsmere"],
    ),
    (
        "/search?q=meeting&doc=george-briefing.txt",
        ["search", "meeting", "--doc", "george-briefing.txt"],
    ),
    (
        "/search?q=police&year=2021",
        ["search", "police", "--year-from", "2021", "--year-to", "2021"],
    ),
    ("/similar?chunk_id={chunk}", ["similar", "{chunk}"]),
    (
        "/similar?chunk_id={chunk}&other_reviews=1&k=3",
        ["similar", "{chunk}", "--other-reviews", "-k", "3"],
    ),
    (
        "/similar?text=safe+sleeping+advice&type=scr",
        ["similar", "--text", "safe sleeping advice", "--type", "scr"],
    ),
    ("/docs", ["docs"]),
    ("/info", ["info"]),
    ("/themes", ["themes"]),
    ("/themes?review=george-briefing.txt", ["themes", "--review", "george-briefing.txt"]),
    (
        "/theme/escalation-challenge?k=5&per_review=1",
        ["theme", "escalation-challenge", "-k", "5", "--per-review", "1"],
    ),
    ("/compare/george-briefing.txt", ["compare", "george-briefing.txt"]),
    ("/compare/1?other=2&k=2", ["compare", "1", "2", "-k", "2"]),
]


@pytest.mark.parametrize(("url", "command"), SAME_AS_CLI, ids=[u for u, _ in SAME_AS_CLI])
def test_every_endpoint_answers_what_its_cli_command_prints(
    client: TestClient, index: Path, url: str, command: list[str]
) -> None:
    chunk = str(first_chunk(index)) if "{chunk}" in url else ""
    response = client.get(url.replace("{chunk}", chunk))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    expected = cli_json(index, *[c.replace("{chunk}", chunk) for c in command])
    assert response.json() == expected
    assert expected, "an empty answer would prove nothing"
    generation = read_manifest(index).generation  # type: ignore[union-attr]
    assert response.headers[GENERATION_HEADER] == str(generation)


def test_the_cli_comparisons_cover_every_endpoint() -> None:
    covered = {url.split("?")[0] for url, _ in SAME_AS_CLI}
    for endpoint in ENDPOINTS:
        prefix = endpoint.path.split("{")[0]
        assert any(
            c == endpoint.path or (prefix != endpoint.path and c.startswith(prefix))
            for c in covered
        ), endpoint.path


MEGABYTE = "a" * 1_048_576

# (URL, status, words the message must contain, the parameter it names)
BAD_REQUESTS = [
    ("/search", 400, "q is required", "q"),
    ("/search?q=", 400, "q is empty", "q"),
    ("/search?q=+++", 400, "q is empty", "q"),
    ("/search?q=neglect&k=0", 400, "k must be between 1 and 100, not 0", "k"),
    ("/search?q=neglect&k=-3", 400, "k must be between 1 and 100", "k"),
    ("/search?q=neglect&k=5000000", 400, "k must be between 1 and 100, not 5000000", "k"),
    ("/search?q=neglect&k=99999999999999999999999", 400, "k must be a whole number", "k"),
    ("/search?q=neglect&k=ten", 400, "k must be a whole number, not 'ten'", "k"),
    ("/search?q=neglect&k=2.5", 400, "k must be a whole number", "k"),
    (f"/search?q={'b' * 1001}", 400, "q is 1,001 characters long; the most is 1,000", "q"),
    (
        "/search?q=neglect&mode=fuzzy",
        400,
        "Unknown mode 'fuzzy': use one of hybrid, semantic, keyword",
        "mode",
    ),
    ("/search?q=neglect&year=abc", 400, "year must be a whole number, not 'abc'", "year"),
    ("/search?q=neglect&year_from=20x1", 400, "year_from must be a whole number", "year_from"),
    ("/search?q=neglect&year_to=99999", 400, "year_to must be between 1000 and 9999", "year_to"),
    (
        "/search?q=neglect&year_from=2020&year_to=2019",
        400,
        "year_from (2020) is after year_to (2019)",
        "year_from",
    ),
    ("/search?q=neglect&year=2020&year_from=2019", 400, "not both", "year"),
    ("/search?q=neglect&type=novel", 400, "Unknown type 'novel': use one of scr, cspr", "type"),
    ("/search?q=neglect&section=preface", 400, "Unknown section 'preface'", "section"),
    ("/search?q=neglect&group=maybe", 400, "group must be true or false, not 'maybe'", "group"),
    ("/search?q=neglect&yr=2020", 400, "Unknown parameter 'yr' for /search: use q, k, mode", "yr"),
    ("/search?q=neglect&k=3&k=4", 400, "Parameter 'k' is given more than once", "k"),
    ("/search?q=a%00b", 400, "q contains control characters", "q"),
    ("/similar", 400, "Give chunk_id (a passage id) or text, not both or neither", None),
    ("/similar?chunk_id=1&text=neglect", 400, "not both or neither", None),
    ("/similar?chunk_id=99999999", 404, "No passage with id 99999999", None),
    ("/similar?chunk_id=x", 400, "chunk_id must be a whole number", "chunk_id"),
    ("/theme/no-such-theme", 404, "Unknown theme 'no-such-theme'", None),
    (
        "/theme/escalation-challenge?per_review=0",
        400,
        "per_review must be between 1 and 100",
        "per_review",
    ),
    ("/themes?review=nothing-like-this.pdf", 404, "No document 'nothing-like-this.pdf'", None),
    ("/compare/nothing-like-this.pdf", 404, "No document 'nothing-like-this.pdf'", None),
    ("/compare/1?reviews=0", 400, "reviews must be between 1 and 100", "reviews"),
    ("/docs?verbose=1", 400, "Unknown parameter 'verbose' for /docs: use none", "verbose"),
    ("/no/such/path", 404, "No such path: /no/such/path", None),
    ("/search/extra", 404, "No such path", None),
]


@pytest.mark.parametrize(
    ("url", "status", "words", "param"), BAD_REQUESTS, ids=[u[:60] for u, *_ in BAD_REQUESTS]
)
def test_bad_requests_get_a_clear_json_error(
    client: TestClient, url: str, status: int, words: str, param: str | None
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert words in body["error"], body
    assert body["status"] == status and body.get("param") == param
    assert "\n" not in body["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_api_is_read_only(client: TestClient, method: str) -> None:
    response = client.request(method, "/search?q=neglect")
    assert response.status_code == 405
    assert response.json()["error"] == f"{method} is not allowed: this API is read-only (GET only)"


def test_limits_are_settings(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRSEARCH_MAX_K", "5")
    monkeypatch.setenv("SCRSEARCH_MAX_QUERY_CHARS", "20")
    monkeypatch.setenv("SCRSEARCH_MAX_URL_KB", "1")
    with TestClient(create_app(load_config(index=str(index)))) as client:
        assert client.get("/search?q=neglect&k=5").status_code == 200
        assert (
            client.get("/search?q=neglect&k=6").json()["error"]
            == "k must be between 1 and 5, not 6"
        )
        assert "the most is 20" in client.get(f"/search?q={'c' * 21}").json()["error"]
        long = client.get(f"/search?q=neglect&partnership={'p' * 1100}")
        assert long.status_code == 414 and "the max_url_kb setting" in long.json()["error"]
        schema = client.get("/openapi.json").json()
        k = next(p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "k")
        assert k["schema"]["maximum"] == 5


def _raw_get(base: str, target: str) -> tuple[int, dict[str, Any]]:
    """GET ``target`` with the standard library (HTTP clients cap URL lengths)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_megabyte_query_through_the_real_http_server_is_a_clear_400(index: Path) -> None:
    config = load_config(index=str(index))
    with BackgroundServer(create_app(config), config) as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, body = _raw_get(server.url, f"/search?q={MEGABYTE}")
        assert status == 400, body
        assert body["error"] == (
            "q is 1,048,576 characters long; the most is 1,000 (the max_query_chars setting)"
        )
        status, body = _raw_get(server.url, f"/search?q={MEGABYTE * 3}")
        assert status == 414 and "the max_url_kb setting" in body["error"]
        status, body = _raw_get(server.url, "/search?q=escalation")
        assert status == 200 and body[0]["rank"] == 1  # still serving


def test_health_says_which_generation_answers_and_waits_for_an_index(
    tmp_path: Path, hash_embedder
) -> None:
    from scrsearch.ingestion.pipeline import ingest

    config = load_config(index=str(tmp_path / "later"))
    with TestClient(create_app(config, embedder=hash_embedder)) as client:
        missing = client.get("/health")
        assert missing.status_code == 503 and "No index at" in missing.json()["error"]
        search = client.get("/search?q=neglect")
        assert search.status_code == 503 and "scrsearch ingest" in search.json()["error"]
        ingest([CORPUS / "george-briefing.txt"], config=config, embedder=hash_embedder)
        ready = client.get("/health").json()
        assert ready["status"] == "ok" and ready["documents"] == 1 and ready["generation"] == 1
        assert client.get("/search?q=escalation").json()[0]["title"].endswith("George")


def test_cors_is_off_unless_configured(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = {"Origin": "https://intranet.example"}
    with TestClient(create_app(load_config(index=str(index)))) as client:
        assert "access-control-allow-origin" not in client.get("/info", headers=origin).headers
    monkeypatch.setenv("SCRSEARCH_CORS_ORIGINS", "https://intranet.example")
    with TestClient(create_app(load_config(index=str(index)))) as client:
        allowed = client.get("/info", headers=origin).headers
        assert allowed["access-control-allow-origin"] == "https://intranet.example"
        other = client.get("/info", headers={"Origin": "https://elsewhere.example"}).headers
        assert "access-control-allow-origin" not in other


def test_the_schema_and_page_describe_what_is_served(client: TestClient, index: Path) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    for endpoint in ENDPOINTS:
        operation = schema["paths"][endpoint.path]["get"]
        assert [p["name"] for p in operation["parameters"]] == [p.name for p in endpoint.params]
        assert all(p["description"] for p in operation["parameters"])
    hit = client.get("/search?q=escalation").json()[0]
    assert list(hit) == list(HIT_FIELDS)  # the schema's passage is the one served
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    for endpoint in ENDPOINTS:
        assert f"GET {endpoint.path}" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing to fetch


def test_serve_binds_localhost_by_default() -> None:
    command = cli.commands["serve"]
    defaults = {p.name: p.default for p in command.params}
    assert defaults["host"] == "127.0.0.1" and defaults["port"] == 8000 and defaults["workers"] == 1

"""Query parameters, declared once: checked strictly, and described in the OpenAPI schema.

The CLI's options have an API parameter each, under the same name (``--year-from`` is
``year_from``, ``--type`` is ``type``). A request that the CLI would refuse, or that
makes no sense, is a 400 whose message names the parameter and the reason: an unknown
or repeated parameter, a missing or empty ``q``, a ``k`` out of range, a query longer
than the ``max_query_chars`` setting, a value not among the choices, a malformed year
or a year range that ends before it starts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..errors import ScrsearchError
from ..records import REVIEW_TYPES, SECTIONS
from ..search.searcher import MODES, Filters

_INTEGER = re.compile(r"[+-]?\d{1,18}")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Years a filter may name.
YEARS = (1000, 9999)


class BadRequest(ScrsearchError):
    """A request the API refuses; ``status`` is its HTTP status, ``param`` the culprit."""

    def __init__(self, message: str, *, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


@dataclass(frozen=True)
class Param:
    """One query (or path) parameter.

    Attributes:
        kind: ``string``, ``integer`` or ``boolean`` (the OpenAPI type).
        minimum, maximum: bounds of an integer; ``maximum`` may name a setting (``max_k``).
        choices: the allowed values of a string, compared in lower case.
        in_path: part of the path (``/theme/{slug}``), so always given.
        field: the name the library takes, when it differs (``type`` -> ``review_type``).
    """

    name: str
    kind: str
    help: str
    default: Any = None
    required: bool = False
    minimum: int | None = None
    maximum: int | str | None = None
    choices: tuple[str, ...] = ()
    in_path: bool = False
    field: str | None = None

    @property
    def key(self) -> str:
        return self.field or self.name

    def upper(self, config: Config) -> int | None:
        return getattr(config, self.maximum) if isinstance(self.maximum, str) else self.maximum

    def parse(self, raw: str, config: Config) -> Any:
        """The value of ``raw``, or a :class:`BadRequest` that says what is wrong with it."""
        if self.kind == "integer":
            return self._integer(raw.strip(), config)
        if self.kind == "boolean":
            word = raw.strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise BadRequest(
                f"{self.name} must be true or false, not '{_short(raw)}'", param=self.name
            )
        return self._string(raw, config)

    def _integer(self, raw: str, config: Config) -> int:
        if not _INTEGER.fullmatch(raw):
            raise BadRequest(
                f"{self.name} must be a whole number, not '{_short(raw)}'", param=self.name
            )
        value = int(raw)
        low, high = self.minimum, self.upper(config)
        if (low is not None and value < low) or (high is not None and value > high):
            raise BadRequest(
                f"{self.name} must be between {low} and {high}, not {_short(raw)}", param=self.name
            )
        return value

    def _string(self, raw: str, config: Config) -> str:
        value = raw.strip()
        if len(value) > config.max_query_chars:
            raise BadRequest(
                f"{self.name} is {len(value):,} characters long; the most is "
                f"{config.max_query_chars:,} (the max_query_chars setting)",
                param=self.name,
            )
        if _CONTROL.search(value):
            raise BadRequest(f"{self.name} contains control characters", param=self.name)
        if self.choices:
            value = value.lower()
            if value not in self.choices:
                raise BadRequest(
                    f"Unknown {self.name} '{_short(raw)}': use one of {', '.join(self.choices)}",
                    param=self.name,
                )
        return value

    def schema(self, config: Config) -> dict[str, Any]:
        """This parameter as an OpenAPI parameter object."""
        body: dict[str, Any] = {"type": self.kind}
        if self.default is not None:
            body["default"] = self.default
        if self.minimum is not None:
            body["minimum"] = self.minimum
        if self.upper(config) is not None:
            body["maximum"] = self.upper(config)
        if self.choices:
            body["enum"] = list(self.choices)
        if self.kind == "string" and not self.choices:
            body["maxLength"] = config.max_query_chars
        return {
            "name": self.name,
            "in": "path" if self.in_path else "query",
            "required": self.required or self.in_path,
            "description": self.help,
            "schema": body,
        }


def parse(
    params: Sequence[Param],
    query: Sequence[tuple[str, str]],
    path: dict[str, str],
    config: Config,
    *,
    where: str,
) -> dict[str, Any]:
    """Check a request's parameters against ``params``; ``{field: value}`` with defaults.

    An empty optional parameter (``year_from=``, as HTML forms send) counts as absent.
    """
    known = {p.name: p for p in params if not p.in_path}
    given: dict[str, str] = {}
    for name, text in query:
        if name not in known:
            names = ", ".join(known) or "none"
            raise BadRequest(
                f"Unknown parameter '{_short(name)}' for {where}: use {names}", param=name
            )
        if name in given:
            raise BadRequest(f"Parameter '{name}' is given more than once", param=name)
        given[name] = text
    given.update(path)
    values: dict[str, Any] = {}
    for param in params:
        raw = given.get(param.name)
        if raw is None or (not raw.strip() and not param.required):
            values[param.key] = param.default
        elif not raw.strip():
            raise BadRequest(f"{param.name} is empty. {param.help}", param=param.name)
        else:
            values[param.key] = param.parse(raw, config)
        if param.required and values[param.key] is None:
            raise BadRequest(f"{param.name} is required: {param.help}", param=param.name)
    return values


def filters(values: dict[str, Any]) -> Filters:
    """The :class:`Filters` of parsed filter parameters, after checking they agree."""
    year = values.pop("year", None)
    if year is not None:
        if values.get("year_from") is not None or values.get("year_to") is not None:
            raise BadRequest("Give year, or year_from and year_to, not both", param="year")
        values["year_from"] = values["year_to"] = year
    low, high = values.get("year_from"), values.get("year_to")
    if low is not None and high is not None and low > high:
        raise BadRequest(f"year_from ({low}) is after year_to ({high})", param="year_from")
    return Filters(
        values.pop("year_from", None),
        values.pop("year_to", None),
        values.pop("partnership", None),
        values.pop("review_type", None),
        values.pop("section", None),
        values.pop("doc", None),
    )


def _short(text: str, n: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= n else text[: n - 1] + "…"


# --- the parameters the endpoints share ----------------------------------------------


def k_param(default: int, what: str = "results") -> Param:
    return Param("k", "integer", f"Number of {what}.", default, minimum=1, maximum="max_k")


FILTERS = (
    Param(
        "year",
        "integer",
        "Only reviews published in this year.",
        minimum=YEARS[0],
        maximum=YEARS[1],
    ),
    Param(
        "year_from",
        "integer",
        "Only reviews published in or after this year.",
        minimum=YEARS[0],
        maximum=YEARS[1],
    ),
    Param(
        "year_to",
        "integer",
        "Only reviews published in or before this year.",
        minimum=YEARS[0],
        maximum=YEARS[1],
    ),
    Param("partnership", "string", "Only reviews whose partnership/area contains this text."),
    Param("type", "string", "Only this review type.", choices=REVIEW_TYPES, field="review_type"),
    Param("section", "string", "Only passages from this section.", choices=SECTIONS),
    Param("doc", "string", "Only this document (id, file name or path)."),
)

MODE = Param(
    "mode",
    "string",
    "Ranking: fused keyword+semantic, meaning only, or words only.",
    "hybrid",
    choices=MODES,
)
GROUP = Param("group", "boolean", "Group by review: the best passage of each review.", False)

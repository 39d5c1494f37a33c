"""A catalogue of reviews to ingest: a CSV with one review per row.

::

    url,path,title,review_name,partnership,year,review_type,nation
    https://example.org/child-t.pdf,,Child T,Child T,Harrowdale Safeguarding Children Partnership,2021,cspr,england
    ,local/baby-l.pdf,,,,2019,scr,

Each row has a ``url`` or a ``path`` (relative paths resolve against the CSV's
folder) and any of the sidecar manifest's metadata columns; a blank cell leaves
that field to extraction. :func:`read_catalogue` checks every row. A row with
neither a url nor a path, or both, a year that is not a year, an unknown review
type or nation, or more cells than columns is named with its line number and the
reason, and the other rows go on; so is an unknown column (line 1), which is then
ignored. A row repeating an earlier row's url or path is skipped.

:func:`ingest_catalogue` ingests the rows with the pipeline: URLs are downloaded
politely and resumably (:mod:`.download`), the catalogue's metadata wins over what
extraction finds, and every result of a row names the row's line.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ScrsearchError
from ..records import METADATA_FIELDS, FileResult
from .fetch import is_url
from .metadata import MetadataError, clean_metadata
from .pipeline import IngestReport, ingest

#: The columns a catalogue may have.
COLUMNS = ("url", "path", *METADATA_FIELDS)

_EXAMPLE = "the first line must name the columns, e.g. url,title,year"


class CatalogueError(ScrsearchError):
    """A catalogue that cannot be read at all (no file, no url or path column)."""


@dataclass(frozen=True)
class CatalogueRow:
    """One review of a catalogue.

    Attributes:
        line: the row's line in the CSV (1 is the header).
        url: the review's web address, or None.
        path: the review's file (absolute), or None.
        metadata: the fields the row sets, as ``(field, value)`` pairs, checked.
    """

    line: int
    url: str | None = None
    path: Path | None = None
    metadata: tuple[tuple[str, Any], ...] = ()

    @property
    def target(self) -> str:
        """What the pipeline is given: the URL, or the file's path."""
        return self.url if self.url is not None else str(self.path)

    @property
    def source(self) -> str:
        """The document's key in the index: the URL, or the file's resolved path."""
        return self.url if self.url is not None else str(Path(self.target).resolve())


@dataclass(frozen=True)
class Catalogue:
    """A catalogue's good rows, and for each bad one its line and a result that
    gives the reason."""

    path: Path
    rows: tuple[CatalogueRow, ...]
    problems: tuple[tuple[int, FileResult], ...] = ()

    def targets(self) -> list[str]:
        return [row.target for row in self.rows]

    def overrides(self) -> dict[str, dict[str, Any]]:
        """Each row's metadata by document source, as the pipeline takes it."""
        return {row.source: dict(row.metadata) for row in self.rows if row.metadata}

    def annotate(self, results: Sequence[FileResult]) -> list[FileResult]:
        """The ingest's results with each row's message naming its line, the bad
        rows added; the catalogue's in line order after any others."""
        lines = {row.target: row.line for row in self.rows}
        others: list[FileResult] = []
        rows = list(self.problems)
        for result in results:
            line = lines.get(result.path)
            if line is None:
                others.append(result)
            else:
                message = result.message and f"{self._at(line)}: {result.message}"
                rows.append((line, replace(result, message=message)))
        return others + [result for _, result in sorted(rows, key=lambda r: r[0])]

    def _at(self, line: int) -> str:
        return f"{self.path} line {line}"


def read_catalogue(path: str | Path) -> Catalogue:
    """Read and check a catalogue CSV (UTF-8, with a header line).

    Raises:
        CatalogueError: the file is missing, unreadable, empty, or has neither a
            ``url`` nor a ``path`` column.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _read(path, csv.reader(handle))
    except FileNotFoundError:
        raise CatalogueError(f"{path}: no such file (give the catalogue CSV's path)") from None
    except IsADirectoryError:
        raise CatalogueError(f"{path}: a folder, not a catalogue CSV file") from None
    except UnicodeDecodeError:
        raise CatalogueError(f"{path}: not UTF-8 text (save it as CSV UTF-8)") from None
    except csv.Error as exc:
        raise CatalogueError(f"{path}: not a readable CSV ({exc})") from None


def _read(path: Path, reader: Any) -> Catalogue:
    header = next(reader, None)
    if header is None:
        raise CatalogueError(f"{path}: the file is empty ({_EXAMPLE})")
    columns = [name.strip().lower() for name in header]
    if "url" not in columns and "path" not in columns:
        raise CatalogueError(f"{path}: no url or path column ({_EXAMPLE})")
    unknown = [name for name in columns if name and name not in COLUMNS]  # "" : a trailing comma
    problems = [(1, _unknown_column(path, name)) for name in unknown]
    rows: list[CatalogueRow] = []
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1  # a quoted cell may span lines
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(start, columns, cells, path.parent)
        if isinstance(row, str):
            problems.append((start, _bad_row(path, start, cells, columns, row)))
        elif row.source in seen:
            message = (
                f"{path} line {start}: {row.target}: already on line {seen[row.source]}; skipped"
            )
            problems.append((start, FileResult(row.target, "skipped", "repeated", message)))
        else:
            seen[row.source] = start
            rows.append(row)
    return Catalogue(path, tuple(rows), tuple(problems))


def _row(line: int, columns: list[str], cells: list[str], folder: Path) -> CatalogueRow | str:
    """The row, or the reason it is refused."""
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        return (
            f"{len(cells)} cells but {len(columns)} columns "
            "(put quotes around a cell that holds a comma)"
        )
    values: dict[str, str] = {}
    for name, cell in zip(columns, cells, strict=False):
        if name in COLUMNS and name not in values:  # a repeated column: the first counts
            values[name] = cell.strip()
    url, raw_path = values.pop("url", ""), values.pop("path", "")
    if not url and not raw_path:
        return "no url or path (give one of them)"
    if url and raw_path:
        return "both a url and a path (give one of them)"
    if url and not is_url(url):
        return f"url '{url}' is not a web address (give a full http:// or https:// URL)"
    try:
        metadata = clean_metadata({name: value for name, value in values.items() if value})
    except MetadataError as exc:
        return str(exc)
    if url:
        return CatalogueRow(line, url=url, metadata=tuple(metadata.items()))
    file = Path(os.path.abspath(folder / Path(raw_path).expanduser()))
    return CatalogueRow(line, path=file, metadata=tuple(metadata.items()))


def _bad_row(
    path: Path, line: int, cells: list[str], columns: list[str], reason: str
) -> FileResult:
    """A refused row, named by its line and (where it has one) its url or path."""
    named = {name: cell.strip() for name, cell in zip(columns, cells, strict=False) if cell.strip()}
    target = named.get("url") or named.get("path")
    where = f"{path} line {line}"
    message = f"{where}: {target}: {reason}" if target else f"{where}: {reason}"
    return FileResult(target or where, "failed", "catalogue", message)


def _unknown_column(path: Path, name: str) -> FileResult:
    where = f"{path} line 1"
    message = (
        f"{where}: unknown column '{name}' (use url or path, and any of "
        f"{', '.join(METADATA_FIELDS)}); its cells are ignored"
    )
    return FileResult(where, "failed", "catalogue", message)


def ingest_catalogue(
    catalogue: str | Path | Catalogue, paths: Sequence[str | Path] = (), **options: Any
) -> IngestReport:
    """Ingest a catalogue's rows, and any other ``paths``, in one ingest.

    ``options`` go to :func:`scrsearch.ingestion.pipeline.ingest` (``config``,
    ``embedder``, ``progress``, ``on_download``, ...). Every result of a row names its
    line; a bad row is a failed result, and the other rows are ingested.

    Raises:
        CatalogueError: the catalogue cannot be read at all.
    """
    if not isinstance(catalogue, Catalogue):
        catalogue = read_catalogue(catalogue)
    targets = [*paths, *catalogue.targets()]
    if not targets:
        return IngestReport(tuple(result for _, result in catalogue.problems), 0.0)
    report = ingest(targets, overrides=catalogue.overrides(), **options)
    return replace(report, results=tuple(catalogue.annotate(report.results)))

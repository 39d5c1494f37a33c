"""Which files to ingest: folders expanded, unreadable and unsupported files reported."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from ..records import FileResult
from .extract import supported
from .metadata import SIDECAR_NAMES


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileResult]]:
    """Expand files and folders (recursively) into supported files, in a stable order.

    Folders are walked without following directory links, so link loops cannot
    recurse. Hidden entries and sidecar manifests are passed over; other files of an
    unsupported type found in a folder are reported as skipped. A path named
    directly that is unsupported or missing is reported as failed.
    """
    files: list[Path] = []
    notes: list[FileResult] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        problem = _unusable(path)
        if problem is not None:
            notes.append(problem)
            return
        key = str(path.resolve())
        if key not in seen:
            seen.add(key)
            files.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    child = Path(root) / name
                    if name.startswith(".") or name in SIDECAR_NAMES:
                        continue
                    if name.lower().startswith("readme."):
                        notes.append(
                            FileResult(
                                str(child),
                                "skipped",
                                "readme",
                                f"{child}: skipped, a folder's README is not a review",
                            )
                        )
                        continue
                    if supported(child) or not child.is_file():
                        add(child)  # links and special files are reported by add()
                    else:
                        notes.append(
                            FileResult(
                                str(child),
                                "skipped",
                                "unsupported",
                                f"{child}: skipped, unsupported type '{child.suffix or '(none)'}'",
                            )
                        )
        elif path.exists() or path.is_symlink():
            add(path)
        else:
            notes.append(
                FileResult(str(path), "failed", "missing", f"{path}: no such file or folder")
            )
    return files, notes


def _unusable(path: Path) -> FileResult | None:
    """Why ``path`` cannot be read at all (a bad link, a pipe, an unencodable name), or None."""
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    if shown != str(path):
        return FileResult(
            shown,
            "failed",
            "bad-name",
            f"{shown}: the file name is not valid UTF-8 (rename the file, e.g. with convmv)",
        )
    if path.is_symlink() and not path.exists():
        try:
            path.resolve(strict=True)
            detail = "a broken link"
        except RuntimeError:  # Python < 3.13 raises RuntimeError on a loop
            detail = "a link loop"
        except OSError as exc:
            detail = "a link loop" if exc.errno == errno.ELOOP else "a broken link"
        return FileResult(str(path), "failed", "unreadable", f"{path}: {detail} (fix or delete it)")
    if not path.is_file():
        return FileResult(
            str(path),
            "failed",
            "unreadable",
            f"{path}: not a regular file (a pipe, socket or device); copy the document to a file",
        )
    return None


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

"""Typed errors. Each message names the file or thing at fault, the reason, and the fix."""

from __future__ import annotations


class ScrsearchError(Exception):
    """Base class: the CLI prints ``str(error)`` as one line and exits non-zero."""


class ExtractionError(ScrsearchError):
    """A file could not be read into text.

    Attributes:
        path: the file.
        reason: a short machine-friendly reason (``encrypted``, ``no-text``, ...).
        fix: what the user can do, or ``None``.
    """

    reason = "unreadable"

    def __init__(self, path: str, detail: str, fix: str | None = None) -> None:
        self.path = path
        self.detail = detail
        self.fix = fix
        message = f"{path}: {detail}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class EncryptedFileError(ExtractionError):
    reason = "encrypted"


class NoTextLayerError(ExtractionError):
    reason = "no-text"


class CorruptFileError(ExtractionError):
    reason = "corrupt"


class EmptyFileError(ExtractionError):
    reason = "empty"


class UnsupportedFormatError(ExtractionError):
    reason = "unsupported"


class FileTooLargeError(ExtractionError):
    reason = "too-large"


class SettingError(ScrsearchError):
    """A setting (an environment variable or a ``load_config`` argument) has a bad value.

    Attributes:
        name: where the value came from: ``SCRSEARCH_BATCH_SIZE``, or ``batch_size``.
        value: the value as given.
        accepts: the values the setting takes, in words.
    """

    def __init__(self, name: str, value: object, accepts: str) -> None:
        self.name = name
        self.value = value
        self.accepts = accepts
        shown = value if isinstance(value, str | int | float) else str(value)
        super().__init__(f"Invalid setting {name}={shown!r}: use {accepts}.")


class IndexNotFoundError(ScrsearchError):
    def __init__(self, index_dir: str) -> None:
        super().__init__(
            f"No index at {index_dir}. Build one with: scrsearch ingest corpus/ --index {index_dir}"
        )


class ModelMismatchError(ScrsearchError):
    def __init__(
        self, index_dir: str, index_model: str, index_dim: int, model: str, dim: int | None
    ) -> None:
        dims = f" ({dim} dims)" if dim else ""
        super().__init__(
            f"The index at {index_dir} was built with model '{index_model}' ({index_dim} dims), "
            f"but the chosen model is '{model}'{dims}. Leave --model and SCRSEARCH_MODEL unset "
            f"(or set them to '{index_model}') to use the index's model, or rebuild the index "
            f"with: scrsearch ingest PATH --index {index_dir} --rebuild"
        )


class IndexCorruptError(ScrsearchError):
    pass


class IndexBusyError(ScrsearchError):
    def __init__(self, index_dir: str) -> None:
        super().__init__(
            f"Another ingest is writing to {index_dir}. Wait for it to finish and try again."
        )


class ModelLoadError(ScrsearchError):
    pass


class NotFoundError(ScrsearchError):
    pass


class QrelsError(ScrsearchError):
    pass

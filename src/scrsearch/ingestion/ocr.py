"""Optional OCR of image-only PDF pages with Tesseract.

Needs Debian's ``tesseract-ocr`` and ``pip install 'scrsearch[ocr]'`` (pytesseract and
pypdfium2, which renders pages without system libraries).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

from ..errors import ScrsearchError

OcrFunction = Callable[[Path, int], str]

#: Rendering resolution for OCR; 300 dpi is Tesseract's sweet spot.
OCR_DPI = 300


def ocr_available() -> bool:
    return (
        shutil.which("tesseract") is not None
        and importlib.util.find_spec("pytesseract") is not None
        and importlib.util.find_spec("pypdfium2") is not None
    )


def default_ocr(mode: str = "auto") -> OcrFunction | None:
    """The OCR function for ``mode`` (auto, on, off), or ``None`` when OCR is off."""
    if mode == "off":
        return None
    if ocr_available():
        return ocr_pdf_page
    if mode == "on":
        raise ScrsearchError(
            "OCR was asked for but is not installed: apt-get install tesseract-ocr && "
            "pip install 'scrsearch[ocr]'"
        )
    return None


def ocr_pdf_page(path: Path, number: int) -> str:
    """Render page ``number`` (1-based) of a PDF and read its text with Tesseract."""
    import pypdfium2 as pdfium
    import pytesseract

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[number - 1]
        image = page.render(scale=OCR_DPI / 72).to_pil()
        return str(pytesseract.image_to_string(image, lang="eng"))
    finally:
        pdf.close()

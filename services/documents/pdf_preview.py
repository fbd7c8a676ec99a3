"""A PDF's first page as a small JPEG preview (issue 20 §4), rendered with PDFium (pypdfium2: the
PDF engine of Chromium, maintained and fuzzed there), in a worker thread.

The upload streams the PDF to storage and, at the same time, into a temporary file on disk (never
whole in memory); the first page is rendered from that file after the upload. A PDF that PDFium
cannot open or render still uploads: it just has no preview (logged, without its name or content).
Pages are rendered at the scale that makes the longer edge ``THUMBNAIL_EDGE`` pixels, never larger
than ``MAX_RENDER_EDGE``, so a hostile page size cannot ask for a huge bitmap; and only for PDFs up
to ``MAX_PDF_BYTES``. PDFium is loaded at the first PDF, not with the app (see images.py).
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

from services.documents.images import THUMBNAIL_EDGE

MAX_RENDER_EDGE = 2 * THUMBNAIL_EDGE
MAX_PDF_BYTES = 8 * 1024 * 1024
"""Only PDFs up to this size get a preview (a certificate or a signed receipt is far smaller):
PDFium may hold a file whole while it reads it, and the service's memory must stay flat while a
large file streams (measured by ``bench/documents.py``)."""
log = logging.getLogger("documents.pdf_preview")
# PDFium is not thread-safe: one render at a time in the process.
_PDFIUM = threading.Lock()


def first_page_jpeg(path: Path) -> bytes | None:
    """The first page as a JPEG, longer edge at most ``THUMBNAIL_EDGE``; ``None`` if it cannot be drawn."""
    import pypdfium2 as pdfium

    try:
        with _PDFIUM:
            pdf = pdfium.PdfDocument(str(path))
            try:
                if len(pdf) == 0:
                    return None
                page = pdf[0]
                try:
                    width, height = page.get_size()
                    longest = max(width, height)
                    if longest <= 0:
                        return None
                    scale = min(THUMBNAIL_EDGE / longest, MAX_RENDER_EDGE / longest)
                    image = page.render(scale=scale).to_pil()
                finally:
                    page.close()
            finally:
                pdf.close()
        image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=80)
        return out.getvalue()
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        log.warning("no preview for an uploaded PDF: %s", type(exc).__name__)
        return None

"""Read a rendered PDF back as text (tests check what a printed document says; pypdf is a test dependency)."""

from __future__ import annotations

import io


def pdf_text(pdf: bytes) -> str:
    """All pages' text, pages separated by form feeds; spaces normalised."""
    from pypdf import PdfReader

    assert pdf.startswith(b"%PDF-"), pdf[:40]
    reader = PdfReader(io.BytesIO(pdf))
    return "\f".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)

"""poppler helpers for PDF card tests: text extraction, a page image and the tools' presence check."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def pdf_text(path) -> str:
    """Return the text poppler's pdftotext extracts from the PDF at ``path``."""
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout


def render_first_page(pdf_path, tmp_path):
    """Render page 1 with poppler's pdftoppm and return the PNG path."""
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(prefix)], check=True)
    return prefix.with_suffix(".png")


@pytest.fixture(scope="module")
def poppler():
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.fail("pdftoppm/pdftotext not found: install Debian's poppler-utils (scripts/system_deps.sh does)")

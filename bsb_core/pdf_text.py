"""Fonts for PDF cards and the text clean-up that keeps any Unicode input from breaking a PDF.

fpdf2's core fonts cover only latin-1, so cards use a Unicode TrueType font (DejaVu Sans from
Debian's ``fonts-dejavu-core``). Characters the font has no glyph for (CJK, for instance) are
replaced by a visible "□" and lone surrogates by "[?]". Such text then cannot make rendering
fail, and the reader sees that something was left out. Right-to-left scripts are reordered and
joined by fpdf2's text shaping when ``uharfbuzz`` is installed.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

# Debian package fonts-dejavu-core installs these files. BSB_PDF_FONT / BSB_PDF_FONT_BOLD
# override them, for example with a font that covers CJK.
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEFAULT_REGULAR = DEJAVU_DIR / "DejaVuSans.ttf"
DEFAULT_BOLD = DEJAVU_DIR / "DejaVuSans-Bold.ttf"

MISSING_GLYPH = "\u25a1"  # WHITE SQUARE, drawn where the font has no glyph
LONE_SURROGATE = "[?]"  # a lone UTF-16 surrogate is not a character and has no glyph anywhere
# Fallback replacement when no Unicode font is found and text must fit latin-1.
LATIN1_MISSING = "[?]"

# Zero-width code points that only modify a neighbour (emoji variation selectors, joiners).
# When the font lacks them they are dropped instead of drawn as boxes, since they have no
# visible form of their own.
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me"}


@dataclass(frozen=True)
class PdfFont:
    """The font family a card is set in: a Unicode TTF pair, or fpdf2's latin-1 Helvetica."""

    family: str
    regular: Path | None
    bold: Path | None

    @property
    def unicode(self) -> bool:
        """True when the font is a TrueType file, so text is not limited to latin-1."""
        return self.regular is not None


def resolve_font() -> PdfFont:
    """Return the card font: ``BSB_PDF_FONT`` (and ``_BOLD``), else DejaVu Sans, else Helvetica.

    Helvetica is the last resort and is logged as a warning, because with it every character
    outside latin-1 becomes "[?]".
    """
    regular = Path(os.environ.get("BSB_PDF_FONT") or DEFAULT_REGULAR)
    bold = Path(os.environ.get("BSB_PDF_FONT_BOLD") or (DEFAULT_BOLD if regular == DEFAULT_REGULAR else regular))
    if regular.is_file():
        return PdfFont("CardSans", regular, bold if bold.is_file() else regular)
    log.warning(
        "Unicode font %s not found: PDF cards fall back to Helvetica and replace non-latin-1 characters with %r;"
        " install Debian's fonts-dejavu-core or set BSB_PDF_FONT to a .ttf file",
        regular,
        LATIN1_MISSING,
    )
    return PdfFont("helvetica", None, None)


@lru_cache(maxsize=8)
def glyph_coverage(path: Path) -> frozenset[int]:
    """Return the code points the TrueType font at ``path`` has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def printable_text(text: str, font: PdfFont) -> str:
    """Return ``text`` with every character the font cannot draw replaced visibly.

    Lone surrogates become "[?]". Characters without a glyph become "□", or "[?]" with the
    latin-1 fallback font. Zero-width modifiers without a glyph are dropped, and control
    characters other than newline (tabs included) become spaces. Never raises on a ``str``.
    """
    if font.unicode:
        coverage = glyph_coverage(font.regular)
        missing = MISSING_GLYPH if ord(MISSING_GLYPH) in coverage else LATIN1_MISSING
    else:
        coverage = None
        missing = LATIN1_MISSING

    output = []
    for char in text:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            output.append(LONE_SURROGATE)
        elif char == "\n":
            output.append(char)
        elif unicodedata.category(char) == "Cc":
            output.append(" ")
        elif (code in coverage) if coverage is not None else code <= 0xFF:
            output.append(char)
        elif unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            continue
        else:
            output.append(missing)
    return "".join(output)


def shaping_available() -> bool:
    """Return True when ``uharfbuzz`` imports, so fpdf2 can shape Arabic and reorder RTL text."""
    try:
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["LONE_SURROGATE", "MISSING_GLYPH", "PdfFont", "glyph_coverage", "printable_text", "resolve_font", "shaping_available"]

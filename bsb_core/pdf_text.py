"""Fonts for PDF cards and the text clean-up that keeps any Unicode input from breaking a PDF.

fpdf2's core fonts cover only latin-1, so cards use a Unicode TrueType font (DejaVu Sans from
Debian's ``fonts-dejavu-core``) and draw the Chinese, Japanese and Korean characters it lacks
from a fallback font (WenQuanYi Micro Hei from ``fonts-wqy-microhei``). Characters neither font
has a glyph for are replaced by a visible "□" and lone surrogates by "[?]". Such text then
cannot make rendering fail, and the reader sees that something was left out. Right-to-left
scripts are reordered and joined by fpdf2's text shaping when ``uharfbuzz`` is installed.
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
# override them.
DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEFAULT_REGULAR = DEJAVU_DIR / "DejaVuSans.ttf"
DEFAULT_BOLD = DEJAVU_DIR / "DejaVuSans-Bold.ttf"

# Debian package fonts-wqy-microhei installs this TrueType collection: Han ideographs, kana and
# all 11,172 Hangul syllables, which DejaVu Sans lacks. Its face 0 is "WenQuanYi Micro Hei".
# BSB_PDF_FALLBACK_FONT overrides it with another .ttf, or with a .ttc whose face 0 is used.
FALLBACK_PACKAGE = "fonts-wqy-microhei"
FALLBACK_DIR = Path("/usr/share/fonts/truetype/wqy")
DEFAULT_FALLBACK = FALLBACK_DIR / "wqy-microhei.ttc"
COLLECTION_FACE = 0  # face index used from a .ttc font collection; ignored for a .ttf

MISSING_GLYPH = "\u25a1"  # WHITE SQUARE, drawn where the font has no glyph
LONE_SURROGATE = "[?]"  # a lone UTF-16 surrogate is not a character and has no glyph anywhere
# Fallback replacement when no Unicode font is found and text must fit latin-1.
LATIN1_MISSING = "[?]"

# Zero-width code points that only modify a neighbour (emoji variation selectors, joiners).
# When the font lacks them they are dropped instead of drawn as boxes, since they have no
# visible form of their own.
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me"}

# Bidi classes with a strong or numeric direction. fpdf2 2.8.9's text shaping resolves every
# other character (spaces, punctuation, symbols, combining marks) with one recursive call per
# character until it meets one of these, so a run of about 1,000 such characters raises
# RecursionError. Runs are cut to NEUTRAL_RUN_CHARS, far below Python's default limit of 1,000.
_DIRECTIONAL_BIDI_CLASSES = {"L", "R", "AL", "AN", "EN"}
NEUTRAL_RUN_CHARS = 200
RUN_CUT_MARK = "[...]"

# Missing font files already reported in this process, so each gets one warning, not one per card.
_reported_missing: set[Path] = set()


@dataclass(frozen=True)
class PdfFont:
    """The font family a card is set in: a Unicode TTF pair, or fpdf2's latin-1 Helvetica.

    ``fallback`` is the font fpdf2 draws characters from when the pair has no glyph for them
    (face ``COLLECTION_FACE`` of a collection), or None when no fallback font is installed.
    """

    family: str
    regular: Path | None
    bold: Path | None
    fallback: Path | None = None

    @property
    def unicode(self) -> bool:
        """True when the font is a TrueType file, so text is not limited to latin-1."""
        return self.regular is not None


def resolve_font() -> PdfFont:
    """Return the card font: ``BSB_PDF_FONT`` (and ``_BOLD``), else DejaVu Sans, else Helvetica.

    The CJK fallback font comes from :func:`resolve_fallback_font`. Helvetica is the last
    resort and is logged as a warning, because with it every character outside latin-1
    becomes "[?]". Each missing font file is logged once per process.
    """
    regular = Path(os.environ.get("BSB_PDF_FONT") or DEFAULT_REGULAR)
    bold = Path(os.environ.get("BSB_PDF_FONT_BOLD") or (DEFAULT_BOLD if regular == DEFAULT_REGULAR else regular))
    if regular.is_file():
        return PdfFont("CardSans", regular, bold if bold.is_file() else regular, resolve_fallback_font())
    _warn_missing_once(
        regular,
        "Unicode font %s not found: PDF cards fall back to Helvetica and replace non-latin-1 characters with %r;"
        " install Debian's fonts-dejavu-core or set BSB_PDF_FONT to a .ttf file",
        regular,
        LATIN1_MISSING,
    )
    return PdfFont("helvetica", None, None)


def resolve_fallback_font() -> Path | None:
    """Return the CJK fallback font file: ``BSB_PDF_FALLBACK_FONT``, else WenQuanYi Micro Hei.

    Returns None, after one warning per process naming the Debian package, when the file is
    missing or is not a font fontTools can read. Cards still render without it, with "□"
    in place of the characters it would have drawn.
    """
    from fontTools.ttLib import TTLibError

    path = Path(os.environ.get("BSB_PDF_FALLBACK_FONT") or DEFAULT_FALLBACK)
    if not path.is_file():
        _warn_missing_once(
            path,
            "CJK fallback font %s not found: PDF cards print Chinese, Japanese and Korean characters as %r;"
            " install Debian's %s or set BSB_PDF_FALLBACK_FONT to a .ttf or .ttc file",
            path,
            MISSING_GLYPH,
            FALLBACK_PACKAGE,
        )
        return None
    try:
        glyph_coverage(path)
    except (TTLibError, OSError) as error:
        _warn_missing_once(
            path,
            "CJK fallback font %s is not a readable TrueType font (%s): PDF cards print Chinese, Japanese and"
            " Korean characters as %r; install Debian's %s or set BSB_PDF_FALLBACK_FONT to a .ttf or .ttc file",
            path,
            error,
            MISSING_GLYPH,
            FALLBACK_PACKAGE,
        )
        return None
    return path


def _warn_missing_once(path: Path, message: str, *args: object) -> None:
    if path in _reported_missing:
        return
    _reported_missing.add(path)
    log.warning(message, *args)


@lru_cache(maxsize=8)
def glyph_coverage(path: Path) -> frozenset[int]:
    """Return the code points the TrueType font (or face 0 of the collection) at ``path`` has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=COLLECTION_FACE) as font:
        return frozenset(font.getBestCmap() or {})


@lru_cache(maxsize=8)
def font_coverage(font: PdfFont) -> frozenset[int]:
    """Return the code points ``font`` can draw: its regular face's plus its fallback font's."""
    if font.regular is None:
        return frozenset()
    coverage = glyph_coverage(font.regular)
    if font.fallback is not None:
        coverage = coverage | glyph_coverage(font.fallback)
    return coverage


def printable_text(text: str, font: PdfFont) -> str:
    """Return ``text`` with every character the font cannot draw replaced visibly.

    Lone surrogates become "[?]". Characters with a glyph in neither the font nor its CJK
    fallback become "□", or "[?]" with the latin-1 Helvetica. Zero-width modifiers without a
    glyph are dropped, and control characters other than newline (tabs included) become
    spaces. Never raises on a ``str``.
    """
    if font.unicode:
        coverage = font_coverage(font)
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


def limit_neutral_runs(text: str, limit: int = NEUTRAL_RUN_CHARS) -> str:
    """Return ``text`` with each run of more than ``limit`` characters without a bidi direction cut.

    The first ``limit`` characters of such a run are kept, followed by "[...]". Letters and
    digits end a run, so ordinary prose is returned unchanged.
    """
    output = []
    run = 0
    for char in text:
        if unicodedata.bidirectional(char) in _DIRECTIONAL_BIDI_CLASSES:
            run = 0
        else:
            run += 1
            if run == limit + 1:
                output.append(RUN_CUT_MARK)
            if run > limit:
                continue
        output.append(char)
    return "".join(output)


def shaping_available() -> bool:
    """Return True when ``uharfbuzz`` imports, so fpdf2 can shape Arabic and reorder RTL text."""
    try:
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = [
    "COLLECTION_FACE",
    "DEFAULT_FALLBACK",
    "FALLBACK_DIR",
    "FALLBACK_PACKAGE",
    "LONE_SURROGATE",
    "MISSING_GLYPH",
    "PdfFont",
    "font_coverage",
    "glyph_coverage",
    "limit_neutral_runs",
    "printable_text",
    "resolve_fallback_font",
    "resolve_font",
    "shaping_available",
]

"""PDF cards in any script: CJK glyphs from the fallback font, and hostile text that must not break rendering."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

import pytest
from card_factory import make_card
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdf_support import pdf_text, poppler  # noqa: F401

from bsb_core import cards as card_files
from bsb_core import charts
from bsb_core.card_pdf import CardPDF
from bsb_core.pdf_text import (
    DEFAULT_REGULAR,
    FALLBACK_PACKAGE,
    MISSING_GLYPH,
    NEUTRAL_RUN_CHARS,
    RUN_CUT_MARK,
    limit_neutral_runs,
    printable_text,
    resolve_fallback_font,
    resolve_font,
)

# One sample per script. DejaVu Sans draws the Arabic, Cyrillic and 😀; the CJK font draws the rest.
CJK_SAMPLES = {
    "Chinese": "复利是利息再生利息",
    "Japanese": "日本語の回答です",
    "katakana": "テスト",
    "Korean": "한국어 답변입니다",
}
OTHER_SAMPLES = {"Arabic": "مرحبا", "Cyrillic": "Привет, мир", "emoji": "😀"}
MIXED_TEXT = " ".join([*CJK_SAMPLES.values(), *OTHER_SAMPLES.values(), "🦄"])
CJK_MODEL = "sim/模型-テスト-모델"

# Text that once broke a card or that a renderer is likely to choke on, placed in every text field.
HOSTILE_CASES = {
    "nul and controls": "a\x00b\x00\x00c\r\n\x1b[31m\x0b\x0c end",
    "lone surrogates": "\ud83d\ude00 lone \ud83d \udc00 end",
    "bidi controls": "\u202eabc\u202c שלום مرحبا بالعالم \u200f\u200e\u2066x\u2069",
    "combining marks": "e" + "\u0301" * 1500 + " Z\u0336\u0337\u0338\u0489",
    "emoji sequences": "👨‍👩‍👧‍👦🏳️‍🌈🇯🇵🦄✔️ " * 20,
    "cjk line 100k": "中" * 100_000,
    "mixed line 100k": ("日本語 abc 한국어 " * 10_000)[:100_000],
    "newlines 5k": "\n" * 5000,
    "dashes 3k": "|" + "-" * 3000 + "|",
    "noncharacters": "\ufffe\uffff\U0010ffff\U000f0000\ufeff",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


@pytest.fixture(scope="module")
def cjk_font():
    """The installed CJK fallback font; a missing font skips these tests locally and fails them in CI."""
    path = resolve_fallback_font()
    if path is None:
        message = f"CJK fallback font not installed: install Debian's {FALLBACK_PACKAGE} (scripts/system_deps.sh does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def render(card, path):
    path.write_bytes(card_files.render_pdf(card))
    return path


def hostile_card(text: str) -> dict:
    card = make_card(
        "sim/" + text,
        excerpts=[(text, text), (text, text)],
        prompt_tips=[{"tip": text, "because": text, "trait": None}],
    )
    card["distinctive"][0]["text"] = text
    card["paraphrase"] = {
        "available": True, "reason": None, "text": text, "length_ratio": 0.8, "rule_coverage": 0.5,
        "n_rules": 2, "rules_covered": [True, False],
    }
    card["provenance"]["parameters"] = {text[:50]: text}
    return card


# --- CJK through the fallback font ---------------------------------------------------------------


def test_pdf_cjk_excerpt_extracted(cjk_font, poppler, tmp_path):
    card = make_card(CJK_MODEL, excerpts=[("用中文解释复利", MIXED_TEXT), ("日本語で", MIXED_TEXT)])
    text = pdf_text(render(card, tmp_path / "cjk.pdf"))
    for script, sample in CJK_SAMPLES.items():
        assert sample in text, script
    for script, sample in OTHER_SAMPLES.items():
        assert sample in text, script
    assert "用中文解释复利" in text


def test_pdf_cjk_model_name(cjk_font, poppler, tmp_path):
    text = pdf_text(render(make_card(CJK_MODEL), tmp_path / "model.pdf"))
    assert text.splitlines()[0] == CJK_MODEL
    assert f"BSB signature card: {CJK_MODEL}" in text


def test_pdf_missing_glyph_box(cjk_font, poppler, tmp_path):
    card = make_card(CJK_MODEL, excerpts=[("prompt", "unicorn 🦄 end")])
    text = pdf_text(render(card, tmp_path / "box.pdf"))
    assert f"unicorn {MISSING_GLYPH} end" in text


def test_printable_text_keeps_cjk(cjk_font):
    font = resolve_font()
    assert printable_text(MIXED_TEXT, font) == MIXED_TEXT.replace("🦄", MISSING_GLYPH)


def test_latin_card_skips_cjk_font(cjk_font):
    pdf = CardPDF("sim/a", True, resolve_font())
    pdf.add_page()
    pdf.paragraph("Plain latin text, café, Привет")
    assert pdf.fallback_added is False


def test_cjk_text_adds_cjk_font(cjk_font):
    pdf = CardPDF("sim/a", True, resolve_font())
    pdf.add_page()
    pdf.paragraph("中文")
    assert pdf.fallback_added is True


# --- without the CJK font ------------------------------------------------------------------------


def test_pdf_without_cjk_font(poppler, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("BSB_PDF_FALLBACK_FONT", str(tmp_path / "missing.ttc"))
    caplog.set_level(logging.WARNING, logger="bsb_core.pdf_text")
    card = make_card(CJK_MODEL, excerpts=[("prompt", "answer 中文 end")])
    render(card, tmp_path / "first.pdf")
    text = pdf_text(render(card, tmp_path / "second.pdf"))
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert f"answer {MISSING_GLYPH}{MISSING_GLYPH} end" in text
    assert len(warnings) == 1
    assert FALLBACK_PACKAGE in warnings[0]
    assert str(tmp_path / "missing.ttc") in warnings[0]


def test_pdf_unreadable_cjk_font(poppler, tmp_path, monkeypatch, caplog):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font" * 100)
    monkeypatch.setenv("BSB_PDF_FALLBACK_FONT", str(broken))
    caplog.set_level(logging.WARNING, logger="bsb_core.pdf_text")
    text = pdf_text(render(make_card("sim/a", excerpts=[("prompt", "中")]), tmp_path / "card.pdf"))
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert "sim/a" in text
    assert len(warnings) == 1
    assert "not a readable TrueType font" in warnings[0]


# --- hostile text --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", list(HOSTILE_CASES.values()), ids=list(HOSTILE_CASES))
def test_pdf_hostile_text_renders(text):
    pdf = card_files.render_pdf(hostile_card(text))
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_pdf_long_model_shortened(poppler, tmp_path):
    text = pdf_text(render(make_card("sim/" + "m" * 100_000), tmp_path / "long.pdf"))
    assert f"BSB signature card: sim/{'m' * 36} [...]" in text
    assert text.count("m") < 2000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(exclude_categories=()), max_size=300))
def test_card_text_any_unicode(text):
    pdf = CardPDF("sim/a", True, resolve_font())
    pdf.add_page()
    pdf.heading(text)
    pdf.paragraph(text)
    pdf.bullets([text], "none")
    pdf.table_rows(["field", "value"], [[text, text]], widths=(30, 100))
    assert bytes(pdf.output()).startswith(b"%PDF-")


def test_limit_neutral_runs_prose():
    prose = "Plain prose, with punctuation... 中文。日本語！ مرحبا — 42 items."
    assert limit_neutral_runs(prose) == prose


def test_limit_neutral_runs_cut():
    cut = limit_neutral_runs("a" + "-" * 3000 + "b")
    assert cut == "a" + "-" * NEUTRAL_RUN_CHARS + RUN_CUT_MARK + "b"


# --- charts ------------------------------------------------------------------------------------


def test_chart_cjk_title_drawn(cjk_font):
    # A code point no installed font covers draws as the same empty box whatever it is, so
    # two such titles give equal images. A CJK title differs from them only when a font drew it.
    cjk = charts.chart_to_png(charts.trait_bars(make_card("sim/模型模型")))
    boxes = charts.chart_to_png(charts.trait_bars(make_card("sim/\U000f0000\U000f0001\U000f0002\U000f0003")))
    other_boxes = charts.chart_to_png(charts.trait_bars(make_card("sim/\U000f0004\U000f0005\U000f0006\U000f0007")))
    assert boxes == other_boxes
    assert cjk != boxes


def test_chart_nul_text_renders():
    # Run in a child process because vl-convert aborts its whole process on NUL in chart text.
    script = (
        "import sys; sys.path.insert(0, 'tests');"
        "from card_factory import make_card; from bsb_core import charts;"
        "png = charts.chart_to_png(charts.trait_bars(make_card('sim/a\\x00b\\x0bc\\ufffe')));"
        "print(png[:8] == b'\\x89PNG\\r\\n\\x1a\\n')"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"


def test_chart_spec_xml_safe():
    spec = {"title": "a\x00b", "data": [{"name\x01": "c\ud83dd\uffff"}], "width": 3}
    assert charts._xml_safe(spec) == {"title": "a\ufffdb", "data": [{"name\ufffd": "c\ufffdd\ufffd"}], "width": 3}


def test_chart_registers_override_font(tmp_path, monkeypatch):
    folder = tmp_path / "fonts"
    folder.mkdir()
    shutil.copy(DEFAULT_REGULAR, folder / "override.ttf")
    monkeypatch.setenv("BSB_PDF_FALLBACK_FONT", str(folder / "override.ttf"))
    monkeypatch.setattr(charts, "_registered_font_dirs", set())
    registered = []

    class Recorder:
        @staticmethod
        def register_font_directory(path: str) -> None:
            registered.append(path)

    charts._register_fallback_font(Recorder)
    charts._register_fallback_font(Recorder)
    assert registered == [str(folder)]


def test_chart_default_font_unregistered(monkeypatch):
    monkeypatch.delenv("BSB_PDF_FALLBACK_FONT", raising=False)
    registered = []

    class Recorder:
        @staticmethod
        def register_font_directory(path: str) -> None:
            registered.append(path)

    charts._register_fallback_font(Recorder)
    assert registered == []

"""Signature cards: schema validation, JSON files, PDF rendering (any Unicode), `bsb card`."""

from __future__ import annotations

import json

import pytest
from card_factory import make_card
from click.testing import CliRunner
from fixtures_signature import fill_synthetic_store
from pdf_support import pdf_text, poppler, render_first_page  # noqa: F401

from bsb_core import cards as card_files
from bsb_core.cli import main
from bsb_core.pdf_text import LONE_SURROGATE, MISSING_GLYPH, PdfFont, printable_text, resolve_font
from bsb_core.store import Store

# Emoji (one inside DejaVu Sans, the rest not), a ZWJ family sequence, CJK, Hebrew and Arabic
# (right to left), a lone high and low surrogate, control characters and a bidi override.
HOSTILE_TEXT = (
    "Emoji 😀🦄👨‍👩‍👧 ✔️ CJK 中文字符 日本語 한국어 RTL שלום עולם مرحبا بالعالم "
    "lone \ud83d and \udc00 surrogates, tab\tbell\x07 override \u202edesrever\u202c end"
)


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cards") / "bsb.db"
    with Store(path) as store:
        fill_synthetic_store(store)
    return path


# --- validation and JSON ----------------------------------------------------------------------


def test_validate_factory_card():
    card_files.validate_card(make_card("sim/a"))


def test_validate_names_field():
    card = make_card("sim/a")
    card["traits"][2]["percentile"] = 140
    with pytest.raises(card_files.CardValidationError) as error:
        card_files.validate_card(card)
    assert "/traits/2/percentile" in str(error.value)
    assert "'sim/a'" in str(error.value)


def test_validate_missing_field():
    card = make_card("sim/a")
    del card["provenance"]
    with pytest.raises(card_files.CardValidationError, match="'provenance' is a required property"):
        card_files.validate_card(card)


def test_card_json_round_trip(tmp_path):
    card = make_card("sim/a")
    path = card_files.write_card(card, tmp_path / "card.json", "json")
    assert json.loads(path.read_text(encoding="utf-8")) == card


def test_card_json_lone_surrogate():
    card = make_card("sim/a", excerpts=[("prompt", "broken \ud83d text")])
    text = card_files.card_json(card)
    assert "\\ud83d" in text
    assert json.loads(text)["excerpts"][0]["response"] == "broken \ud83d text"


def test_write_card_bad_format(tmp_path):
    with pytest.raises(ValueError, match="unknown card format 'svg'"):
        card_files.write_card(make_card("sim/a"), tmp_path / "card.svg", "svg")


def test_find_card_lists_models():
    with pytest.raises(card_files.CardNotFoundError, match="models with cards: sim/a, sim/b"):
        card_files.find_card([make_card("sim/b"), make_card("sim/a")], "sim/c")


# --- printable text ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def font() -> PdfFont:
    """DejaVu Sans alone, without the CJK fallback font, so the cases hold whether or not it is installed."""
    resolved = resolve_font()
    if not resolved.unicode:
        pytest.fail("DejaVu Sans not found at /usr/share/fonts/truetype/dejavu: install Debian's fonts-dejavu-core")
    return PdfFont(resolved.family, resolved.regular, resolved.bold)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("plain", "plain"),
        ("lone \ud83d", f"lone {LONE_SURROGATE}"),
        ("中", MISSING_GLYPH),
        ("a\tb\x07c", "a b c"),
        ("line\nbreak", "line\nbreak"),
        ("שלום", "שלום"),
        ("😀", "😀"),
    ],
)
def test_printable_text_cases(font, text, expected):
    assert printable_text(text, font) == expected


def test_printable_text_latin1_fallback():
    helvetica = PdfFont("helvetica", None, None)
    assert printable_text("café 中 😀", helvetica) == "café [?] [?]"


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_opens_with_model_name(tmp_path, poppler):
    path = card_files.write_card(make_card("sim/json-strict"), tmp_path / "card.pdf", "pdf")
    png = render_first_page(path, tmp_path)
    text = pdf_text(path)
    assert png.stat().st_size > 0
    assert "sim/json-strict" in text
    assert "SIMULATED" in text


def test_pdf_sections_present(tmp_path, poppler):
    path = card_files.write_card(make_card("sim/a"), tmp_path / "card.pdf", "pdf")
    text = pdf_text(path)
    for heading in ("Traits", "Drift under format constraints", "Compliance with format constraints", "Distinctive traits",
                    "Prompt tips", "Response excerpts", "Provenance"):
        assert heading in text, heading


def test_pdf_real_model_unlabelled(tmp_path, poppler):
    path = card_files.write_card(make_card("claude-2.1", contrast=False, simulated=False), tmp_path / "card.pdf", "pdf")
    text = pdf_text(path)
    assert "SIMULATED" not in text
    assert "Drift unavailable" in text


def test_pdf_hostile_unicode(tmp_path, poppler):
    card = make_card(
        "sim/unicode-😀-中",
        excerpts=[(HOSTILE_TEXT, HOSTILE_TEXT * 4), ("second", HOSTILE_TEXT)],
        prompt_tips=[{"tip": HOSTILE_TEXT, "because": HOSTILE_TEXT, "trait": None}],
    )
    card["paraphrase"] = {
        "available": True, "reason": None, "text": HOSTILE_TEXT, "length_ratio": 0.8, "rule_coverage": 0.5,
        "n_rules": 2, "rules_covered": [True, False],
    }
    path = tmp_path / "unicode.pdf"
    path.write_bytes(card_files.render_pdf(card))
    png = render_first_page(path, tmp_path)
    text = pdf_text(path)
    assert png.stat().st_size > 0
    assert MISSING_GLYPH in text
    assert LONE_SURROGATE in text
    assert "שלום" in text


def test_pdf_without_unicode_font(tmp_path, poppler, monkeypatch):
    monkeypatch.setenv("BSB_PDF_FONT", str(tmp_path / "missing.ttf"))
    card = make_card("sim/a", excerpts=[("prompt", HOSTILE_TEXT), ("second", "café")])
    path = tmp_path / "latin1.pdf"
    path.write_bytes(card_files.render_pdf(card))
    text = pdf_text(path)
    assert "sim/a" in text
    assert "[?]" in text


def test_pdf_rejects_invalid_card():
    card = make_card("sim/a")
    card["simulated"] = "yes"
    with pytest.raises(card_files.CardValidationError, match="/simulated"):
        card_files.render_pdf(card)


# --- CLI on a synthetic store -----------------------------------------------------------------


def test_cli_card_json_stdout(synthetic_db):
    result = CliRunner().invoke(main, ["card", "sim/alpha", "--db", str(synthetic_db)])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    card_files.validate_card(card)
    assert card["model"] == "sim/alpha"


def test_cli_card_pdf_file(synthetic_db, tmp_path, poppler):
    output = tmp_path / "alpha.pdf"
    result = CliRunner().invoke(main, ["card", "sim/alpha", "--format", "pdf", "-o", str(output), "--db", str(synthetic_db)])
    assert result.exit_code == 0, result.output
    assert "sim/alpha" in pdf_text(output)


def test_cli_card_unknown_model(synthetic_db):
    result = CliRunner().invoke(main, ["card", "sim/nobody", "--db", str(synthetic_db)])
    assert result.exit_code == 1
    assert "no signature card for model 'sim/nobody'" in result.output
    assert "sim/alpha" in result.output


def test_cli_card_bad_scope(synthetic_db):
    result = CliRunner().invoke(main, ["card", "sim/alpha", "--scope", "yesterday", "--db", str(synthetic_db)])
    assert result.exit_code == 2


# --- real data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alpaca_cards(alpaca_store):  # noqa: F811
    from bsb_core.signature import compute_signatures

    return [signature.to_card() for signature in compute_signatures(alpaca_store)]


@pytest.mark.slow
def test_alpaca_cards_validate(alpaca_cards):
    assert len(alpaca_cards) == 11
    for card in alpaca_cards:
        card_files.validate_card(card)


@pytest.mark.slow
def test_alpaca_pdfs_open(alpaca_cards, tmp_path, poppler):
    for card in alpaca_cards:
        path = tmp_path / "card.pdf"
        path.write_bytes(card_files.render_pdf(card))
        png = render_first_page(path, tmp_path)
        text = pdf_text(path)
        assert png.stat().st_size > 0, card["model"]
        assert card["model"] in text, card["model"]
        assert "Drift unavailable" in text, card["model"]

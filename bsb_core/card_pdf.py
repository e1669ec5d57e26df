"""PDF layout of a signature card (fpdf2), with charts rendered from the shared Altair specs.

Contents, in order: model name (and a "SIMULATED" banner for ``sim/...`` personas), summary
line, radar, trait bars with 95% CIs, drift summary, compliance table, distinctive traits,
prompt tips, the paraphrase, two response excerpts and the provenance. Every string goes
through :func:`bsb_core.pdf_text.printable_text`, so no input text can make rendering raise.
Text is set in DejaVu Sans, and the Chinese, Japanese and Korean characters it lacks come from
the CJK fallback font (fpdf2's fallback fonts) when that font is installed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from bsb_core import card_view, charts
from bsb_core.pdf_text import (
    COLLECTION_FACE,
    PdfFont,
    glyph_coverage,
    limit_neutral_runs,
    printable_text,
    resolve_font,
    shaping_available,
)

log = logging.getLogger(__name__)

# Page geometry in millimetres (A4 portrait).
MARGIN = 15
BODY_SIZE = 9.5
SMALL_SIZE = 8
EXCERPT_CHARS = 900  # maximum excerpt length printed, in characters (the card's excerpts are usually shorter)
PROMPT_CHARS = 600  # maximum length of an excerpt's prompt, in characters
PARAPHRASE_CHARS = 1200
# Maximum model-name length, in characters. The name is printed on single lines (chart titles
# and legends, the footer), and a chart image grows with its title: a 100,000-character name
# made a PNG too large for Pillow to open.
MODEL_CHARS = 100
FOOTER_MODEL_CHARS = 40
# Maximum length of any one string printed, and of one table cell, in characters. fpdf2 cannot
# split a table row across pages and raises ValueError when a row is taller than a page.
TEXT_CHARS = 2000
CELL_CHARS = 200
CJK_FAMILY = "CardCJK"  # fpdf2 family name of the CJK fallback font
SIMULATED_COLOUR = (213, 94, 0)  # Okabe-Ito vermillion, the palette the charts use
MUTED_COLOUR = (90, 90, 90)


class CardPDF(FPDF):
    """An A4 page set with the card font, a running footer and text cleaned before output."""

    def __init__(self, model: str, simulated: bool, font: PdfFont) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.card_font = font
        self.model = model
        self.simulated = simulated
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 5)
        # Code points both card faces draw; text with others needs the CJK fallback font.
        self.own_coverage: frozenset[int] = frozenset()
        self.fallback_added = False
        if font.unicode:
            self.add_font(font.family, "", str(font.regular))
            self.add_font(font.family, "B", str(font.bold))
            self.own_coverage = glyph_coverage(font.regular) & glyph_coverage(font.bold)
            if shaping_available():
                self.set_text_shaping(True)
            else:
                # NOTE: without uharfbuzz, Arabic and Hebrew print in logical order and Arabic letters unjoined.
                log.info("uharfbuzz is not installed: right-to-left text in PDF cards is not reordered")
        self.alias_nb_pages()

    def clean(self, text: Any, limit: int = TEXT_CHARS) -> str:
        """Return ``text`` as a string of at most about ``limit`` characters that this document's font can draw.

        Long runs of spaces or punctuation are cut too, because fpdf2's text shaping raises
        RecursionError on them (see :func:`limit_neutral_runs`).
        """
        text = shorten("" if text is None else str(text), limit)
        cleaned = limit_neutral_runs(printable_text(text, self.card_font))
        self.add_fallback_font_for(cleaned)
        return cleaned

    def add_fallback_font_for(self, text: str) -> None:
        """Add the CJK fallback font the first time ``text`` has a character the card faces lack.

        The font is added on demand because fpdf2 parses the whole font for each document:
        about 0.4 s for the 5 MB WenQuanYi Micro Hei, measured on a shared 2-core machine.
        """
        if self.fallback_added or self.card_font.fallback is None:
            return
        if all(ord(char) in self.own_coverage or char == "\n" for char in text):
            return
        self.add_font(CJK_FAMILY, "", str(self.card_font.fallback), collection_font_number=COLLECTION_FACE)
        # exact_match=False lets bold text use the regular CJK face, since the font has no bold face.
        self.set_fallback_fonts([CJK_FAMILY], exact_match=False)
        self.fallback_added = True

    def clean_cell(self, value: Any) -> str:
        """Return ``value`` cleaned for a table cell: one line of at most about ``CELL_CHARS`` characters."""
        return self.clean(" ".join(str(value).splitlines()), CELL_CHARS)

    def use_font(self, size: float = BODY_SIZE, bold: bool = False) -> None:
        """Switch to the card font at ``size`` points."""
        self.set_font(self.card_font.family, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.use_font(SMALL_SIZE)
        self.set_text_color(*MUTED_COLOUR)
        label = f"BSB signature card: {shorten(self.model, FOOTER_MODEL_CHARS)}"
        if self.simulated:
            label += " (SIMULATED persona, not a real model)"
        self.cell(0, 5, self.clean(label), align="L")
        self.cell(0, 5, f"page {self.page_no()}/{{nb}}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    # building blocks ----------------------------------------------------------------------

    def heading(self, text: str) -> None:
        """Print a section heading, starting a new page when fewer than 40 mm remain."""
        if self.get_y() > self.h - MARGIN - 40:
            self.add_page()
        self.ln(3)
        self.use_font(12.5, bold=True)
        self.cell(0, 7, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.use_font()

    def paragraph(self, text: str, size: float = BODY_SIZE, colour: tuple[int, int, int] | None = None) -> None:
        """Print wrapped text across the page width."""
        self.use_font(size)
        if colour:
            self.set_text_color(*colour)
        self.multi_cell(0, size * 0.5, self.clean(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def bullets(self, items: Sequence[str], empty: str) -> None:
        """Print each item as a bulleted paragraph, or ``empty`` in grey when there are none."""
        if not items:
            self.paragraph(empty, colour=MUTED_COLOUR)
            return
        marker = "\u2022" if self.card_font.unicode else "-"
        for item in items:
            self.use_font()
            self.multi_cell(0, BODY_SIZE * 0.5, self.clean(f"{marker} {item}"), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)

    def table_rows(self, header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float] | None = None) -> None:
        """Print a bordered table with a bold header row."""
        self.use_font(SMALL_SIZE)
        with self.table(
            col_widths=widths,
            width=sum(widths) if widths else None,
            align="LEFT",
            text_align="LEFT",
            line_height=SMALL_SIZE * 0.5,
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            padding=0.8,
        ) as table:
            heading_row = table.row()
            for name in header:
                heading_row.cell(self.clean_cell(name))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.clean_cell(value))
        self.use_font()

    def chart(self, chart: Any, width: float, alt_text: str, x: float | None = None) -> None:
        """Render an Altair chart to PNG and place it ``width`` mm wide; on failure print why instead."""
        try:
            png = charts.chart_to_png(chart)
            self.image(io.BytesIO(png), x=x, w=width, alt_text=self.clean(alt_text))
        except Exception as error:  # vl-convert raises ValueError/RuntimeError on spec errors, Pillow DecompressionBombError on huge images
            log.error("chart %r for %s failed to render: %s", alt_text, self.model, error)
            self.paragraph(f"[chart not rendered: {error}]", colour=MUTED_COLOUR)


# --- formatting helpers ------------------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters plus " [...]" when it is longer."""
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + " [...]"


def _number(value: float | None, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _ci(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "n/a"
    return f"[{low:+.2f}, {high:+.2f}]"


# --- sections ---------------------------------------------------------------------------------


def _title(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.use_font(18, bold=True)
    pdf.multi_cell(0, 9, pdf.clean(card["model"]), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.simulated:
        pdf.set_fill_color(*SIMULATED_COLOUR)
        pdf.set_text_color(255, 255, 255)
        pdf.use_font(11, bold=True)
        pdf.cell(
            0, 8, pdf.clean("SIMULATED: a deterministic BSB persona, not a real model"),
            fill=True, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )
        pdf.set_text_color(0, 0, 0)
        pdf.set_fill_color(255, 255, 255)
        pdf.ln(1)
    streams = card.get("streams", {})
    population = card.get("population", {})
    summary = (
        f"Scope {card.get('scope')}; {card.get('n_responses', 0)} scored responses"
        f" (baseline {streams.get('baseline', 0)}, contrast {streams.get('contrast', 0)}, paraphrase {streams.get('paraphrase', 0)});"
        f" compared with {population.get('size', 0)} models; computed {card.get('computed_at')}; provider {card.get('provider')}."
    )
    pdf.paragraph(summary, colour=MUTED_COLOUR)


def _traits(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.heading("Traits")
    pdf.paragraph(
        "Percentile: share of the other models with a lower trait value. Value: the model's mean trait score in"
        " standard deviations of all responses (0 = population mean), with its bootstrap 95% CI.",
        size=SMALL_SIZE,
        colour=MUTED_COLOUR,
    )
    top = pdf.get_y()
    radar_width = 88
    pdf.chart(charts.radar_chart(card, size=300), radar_width, f"Radar of trait percentiles of {card['model']}", x=MARGIN)
    after_radar = pdf.get_y()

    # The trait table sits to the right of the radar.
    pdf.set_xy(MARGIN + radar_width + 4, top + 4)
    rows = []
    for trait in card_view.traits(card):
        if trait.available:
            rows.append([trait.display_name, _number(trait.percentile, 0), _number(trait.value, signed=True), _ci(trait.ci_low, trait.ci_high)])
        else:
            rows.append([trait.display_name, "n/a", "n/a", "n/a"])
    pdf.set_left_margin(MARGIN + radar_width + 4)
    pdf.table_rows(["trait", "percentile", "value", "95% CI"], rows, widths=(26, 18, 14, 28))
    pdf.set_left_margin(MARGIN)
    pdf.set_xy(MARGIN, max(after_radar, pdf.get_y()) + 2)

    pdf.chart(charts.trait_bars(card, width=430), pdf.epw * 0.85, f"Trait values with 95% CIs of {card['model']}", x=MARGIN)
    pdf.heading("Metrics behind each trait")
    rows = []
    for trait in card_view.traits(card):
        behind = card_view.metrics_text(trait) or "none"
        if not trait.available:
            behind = f"unavailable: {trait.reason or 'no value'}" + ("" if behind == "none" else f". {behind}")
        rows.append([trait.display_name, behind])
    pdf.table_rows(["trait", "metric = model mean (median model)"], rows, widths=(30, pdf.epw - 30))


def _drift(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.heading("Drift under format constraints")
    drift = card_view.drift(card)
    if not drift.available:
        pdf.paragraph(f"Drift unavailable: {drift.reason or 'no contrast data'}.")
    else:
        pdf.paragraph(
            f"Drift magnitude {_number(drift.magnitude)} baseline SDs: the root mean square of the standardised change"
            " (contrast minus baseline, paired by topic) over the stylistic and pragmatic metrics."
        )
        rows = []
        for constraint_type in sorted(drift.by_constraint):
            values = drift.by_constraint[constraint_type]
            ranked = sorted(((m, v) for m, v in values.items() if v is not None), key=lambda item: (-abs(item[1]), item[0]))[:3]
            largest = ", ".join(f"{metric} {value:+.1f}" for metric, value in ranked) or "n/a"
            rows.append([constraint_type, _number(drift.magnitude_by_constraint.get(constraint_type)), largest])
        if rows:
            pdf.table_rows(["constraint type", "magnitude", "largest drifts (baseline SDs)"], rows, widths=(38, 20, pdf.epw - 58))
        pdf.ln(2)
        pdf.chart(charts.drift_profile(card, top=10), pdf.epw * 0.8, f"Drift by constraint type of {card['model']}", x=MARGIN)
    _impossible(pdf, drift.impossible)


def _impossible(pdf: CardPDF, impossible: Mapping[str, Any]) -> None:
    pdf.heading("Impossible constraint sets")
    if not impossible.get("available"):
        pdf.paragraph(f"Not measured: {impossible.get('reason') or 'no impossible constraint sets in scope'}.")
        return
    counts = impossible.get("counts", {})
    shares = impossible.get("shares", {})
    order = ("refuses", "flags_conflict", "satisfies_one", "fails_both", "unclassified")
    rows = [[name.replace("_", " "), str(counts.get(name, 0)), _percent(shares.get(name))] for name in order]
    pdf.paragraph(f"{impossible.get('n', 0)} responses to deliberately contradictory constraint sets, each in its first matching class:")
    pdf.table_rows(["handling", "responses", "share"], rows, widths=(45, 25, 25))


def _compliance(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.heading("Compliance with format constraints")
    frame = charts.compliance_table(card)
    if frame["follow_rate"].isna().all():
        pdf.paragraph(f"Compliance unknown: {frame['note'].iloc[0] or 'no contrast data'}.")
        return
    rows = [
        [row.constraint_type, str(row.n), _percent(row.follow_rate), _percent(row.followed_share), row.note]
        for row in frame.itertuples()
    ]
    pdf.table_rows(
        ["constraint type", "responses", "every constraint followed", "share of constraints followed", "note"],
        rows,
        widths=(36, 18, 30, 30, pdf.epw - 114),
    )


def _findings(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.heading("Distinctive traits")
    pdf.bullets(card_view.distinctive(card), "No metric differs from the other models by 0.3 SD or more.")
    pdf.heading("Prompt tips")
    pdf.bullets(card_view.prompt_tips(card), "No tips: no trait is at the extremes of the models compared.")


def _paraphrase(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    section = card.get("paraphrase") or {}
    pdf.heading("Paraphrased rules (its own system prompt)")
    if not section.get("available"):
        pdf.paragraph(f"Not available: {section.get('reason') or 'no paraphrase stream'}.")
        return
    coverage = section.get("rule_coverage")
    pdf.paragraph(
        f"Length ratio {_number(section.get('length_ratio'))} (paraphrase words / rule words); covers"
        f" {_percent(coverage)} of {section.get('n_rules', 0)} rules.",
        colour=MUTED_COLOUR,
    )
    text = section.get("text") or ""
    if len(text) > PARAPHRASE_CHARS:
        text = text[:PARAPHRASE_CHARS].rstrip() + " [...]"
    pdf.paragraph(text, size=SMALL_SIZE)


def _excerpts(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.heading("Response excerpts")
    excerpts = card_view.excerpts(card)[:2]
    if not excerpts:
        pdf.paragraph("No excerpts in this card.", colour=MUTED_COLOUR)
    for index, excerpt in enumerate(excerpts, start=1):
        variant = f", {excerpt['variant']}" if excerpt.get("variant") else ""
        pdf.use_font(BODY_SIZE, bold=True)
        pdf.multi_cell(0, 5, pdf.clean(f"Excerpt {index} ({excerpt.get('stream', 'baseline')}{variant})"), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.paragraph(f"Prompt: {shorten(str(excerpt.get('prompt') or ''), PROMPT_CHARS)}", size=SMALL_SIZE, colour=MUTED_COLOUR)
        response = excerpt.get("response") or ""
        truncated = bool(excerpt.get("truncated"))
        if len(response) > EXCERPT_CHARS:
            response, truncated = response[:EXCERPT_CHARS].rstrip(), True
        pdf.paragraph(response + (" [...]" if truncated else ""), size=SMALL_SIZE)
        pdf.ln(1.5)


def _provenance(pdf: CardPDF, card: Mapping[str, Any]) -> None:
    pdf.heading("Provenance")
    provenance = card.get("provenance") or {}
    runs = provenance.get("runs") or []
    run_parts = []
    for run in runs[:12]:
        part = f"#{run.get('id')} {run.get('kind')}"
        if run.get("suite"):
            part += f" {run['suite']}"
        if run.get("source"):
            part += f" from {run['source']}"
        run_parts.append(part)
    run_text = "; ".join(run_parts)
    if len(runs) > 12:
        run_text += f"; and {len(runs) - 12} more"
    bootstrap = provenance.get("bootstrap") or {}
    rows = [
        ["simulated", "yes: sim/... persona output, not a real model" if provenance.get("simulated") else "no"],
        ["runs", run_text or "none"],
        ["suite hashes", ", ".join(provenance.get("suite_hashes") or []) or "none (imported data)"],
        ["metric set", str(provenance.get("metric_set_version", "n/a"))],
        ["spaCy pipelines", ", ".join(provenance.get("pipelines") or []) or "n/a"],
        ["parameters", ", ".join(f"{k}={v}" for k, v in sorted((provenance.get("parameters") or {}).items())) or "none stored"],
        ["responses from", f"{provenance.get('first_response_at') or 'n/a'} to {provenance.get('last_response_at') or 'n/a'}"],
        ["bootstrap", f"{bootstrap.get('resamples', 'n/a')} resamples, seed {bootstrap.get('seed', 'n/a')}, {bootstrap.get('confidence', 'n/a')} confidence"],
        ["trait definitions", str(provenance.get("trait_definitions", "n/a"))],
        ["computed", f"{provenance.get('computed_at', 'n/a')} by BSB {provenance.get('bsb_version', 'n/a')}"],
    ]
    pdf.table_rows(["field", "value"], rows, widths=(32, pdf.epw - 32))


def render_card_pdf(card: Mapping[str, Any], font: PdfFont | None = None) -> bytes:
    """Return the PDF of ``card`` as bytes.

    The creation date is the card's ``computed_at`` (when it parses), so a card renders to
    the same document metadata each time. The model name is shortened to ``MODEL_CHARS`` and
    cleaned by :func:`printable_text` once here, so the charts get the same text as the page.
    """
    font = font or resolve_font()
    model = printable_text(shorten(str(card["model"]), MODEL_CHARS), font)
    card = {**card, "model": model}
    pdf = CardPDF(model, card_view.is_simulated(card), font)
    pdf.set_title(pdf.clean(f"BSB signature card: {card['model']}"))
    pdf.set_author("BSB, the Behavioral Signature Benchmark")
    pdf.set_creation_date(_parse_time(card.get("computed_at")))
    pdf.add_page()

    _title(pdf, card)
    _traits(pdf, card)
    _drift(pdf, card)
    _compliance(pdf, card)
    _findings(pdf, card)
    _paraphrase(pdf, card)
    _excerpts(pdf, card)
    _provenance(pdf, card)
    return bytes(pdf.output())


def _parse_time(text: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError:
        return datetime.now(timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


__all__ = ["CardPDF", "render_card_pdf"]

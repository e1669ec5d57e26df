"""``bsb card`` (JSON or PDF signature card) and ``bsb recommend`` (rank models for a task)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bsb_core.cli import db_option, main
from bsb_core.recommend import LENGTHS, LEVELS, PRESETS, RESPONSE_FORMATS, TONES, Recommendation, TaskProfile
from bsb_core.cli_core import open_store

SCOPE_HELP = "Scope: all, run:<id>, or a date range <from>..<to> (ISO dates, inclusive)."


def _load_cards(db: str | None, scope: str) -> list[dict]:
    """Return the cards of ``scope`` (stored, else computed now); usage errors for a bad scope."""
    from bsb_core.cards import store_cards

    with open_store(db, must_exist=True) as store:
        try:
            return store_cards(store, scope)
        except ValueError as error:
            raise click.UsageError(str(error)) from None


@main.command("card")
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(["json", "pdf"]), default="json", show_default=True, help="Card file format.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Output file. Default: standard output for JSON; MODEL.pdf (with / replaced by _) for PDF.",
)
@click.option("--scope", default="all", show_default=True, help=SCOPE_HELP)
@db_option
def card_command(model: str, fmt: str, output: Path | None, scope: str, db: str | None) -> None:
    """Write the signature card of MODEL as JSON (validated against the card schema) or PDF.

    Uses the cards stored by `bsb signatures --refresh`; when the scope has none, the cards
    are computed from the scored responses first.
    """
    from bsb_core.cards import CardNotFoundError, CardValidationError, card_json, find_card, write_card

    cards = _load_cards(db, scope)
    if not cards:
        raise click.ClickException(f"no scored responses in scope {scope}: run `bsb score` (and `bsb signatures --refresh`) first")
    try:
        card = find_card(cards, model)
        if fmt == "json" and output is None:
            click.echo(card_json(card), nl=False)
            return
        path = output or Path(model.replace("/", "_") + ".pdf")
        write_card(card, path, fmt)
    except (CardNotFoundError, CardValidationError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {fmt} card of {model} to {path}", err=True)


@main.command("recommend")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None, help="Task profile to start from; explicit options override its needs.")
@click.option("--response-format", type=click.Choice(RESPONSE_FORMATS), default=None, help="Response format the task needs.")
@click.option("--tone", type=click.Choice(TONES), default=None, help="Tone the task needs.")
@click.option("--length", type=click.Choice(LENGTHS), default=None, help="Answer length the task needs.")
@click.option("--refusal-tolerance", type=click.Choice(LEVELS), default=None, help="How well the task tolerates refusals and hedging.")
@click.option("--format-strictness", type=click.Choice(LEVELS), default=None, help="How strictly format instructions must be followed.")
@click.option("--drift-weight", type=click.FloatRange(0, 1), default=None, help="Weight (0-1) on a stable voice under format constraints.")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Show only the best N models.")
@click.option("--scope", default="all", show_default=True, help=SCOPE_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format of the ranking.")
@db_option
def recommend_command(
    preset: str | None,
    response_format: str | None,
    tone: str | None,
    length: str | None,
    refusal_tolerance: str | None,
    format_strictness: str | None,
    drift_weight: float | None,
    top: int | None,
    scope: str,
    fmt: str,
    db: str | None,
) -> None:
    """Rank the models in the store for a task, with the traits that matched and missed.

    The score (0-100) is a weighted mean of trait fits; docs/recommender.md lists the weights.
    Without --preset, unspecified needs take the neutral defaults of a custom profile.
    """
    from bsb_core.recommend import ProfileError, profile_from, recommend

    try:
        profile = profile_from(
            preset,
            response_format=response_format,
            tone=tone,
            length=length,
            refusal_tolerance=refusal_tolerance,
            format_strictness=format_strictness,
            drift_weight=drift_weight,
        )
    except ProfileError as error:
        raise click.UsageError(str(error)) from None

    cards = _load_cards(db, scope)
    if not cards:
        raise click.ClickException(f"no scored responses in scope {scope}: run `bsb score` (and `bsb signatures --refresh`) first")
    ranking = recommend(cards, profile)[:top]

    if fmt == "json":
        click.echo(json.dumps({"profile": profile.to_dict(), "scope": scope, "ranking": [r.to_dict() for r in ranking]}, indent=2, ensure_ascii=False))
        return
    _print_ranking(profile, ranking)


def _print_ranking(profile: TaskProfile, ranking: list[Recommendation]) -> None:
    needs = ", ".join(f"{key}={value}" for key, value in profile.to_dict().items() if key != "name")
    click.echo(f"task profile {profile.name}: {needs}")
    for recommendation in ranking:
        label = " (simulated)" if recommendation.simulated else ""
        click.echo(f"\n{recommendation.rank}. {recommendation.model}{label}: score {recommendation.score:.1f}/100")
        for reason in recommendation.reasons():
            click.echo(f"   {reason}")
        for warning in recommendation.warnings:
            click.echo(f"   warning: {warning}")
        for tip in recommendation.prompt_tips[:3]:
            click.echo(f"   tip: {tip}")


__all__ = ["card_command", "recommend_command"]

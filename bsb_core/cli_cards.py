"""``bsb card`` (JSON or PDF signature card) and ``bsb recommend`` (rank models for a task)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import click

from bsb_core.cli import db_option, main
from bsb_core.cli_core import open_store
from bsb_core.cli_output import check_output_folder, write_error
from bsb_core.recommend import LENGTHS, LEVELS, PRESETS, RESPONSE_FORMATS, TONES, Recommendation, TaskProfile
from bsb_core.scope import resolve_scope
from bsb_core.store import Store

SCOPE_HELP = "Scope: all, run:<id>, or a date range <from>..<to> (ISO dates, inclusive)."


def _load_cards(store: Store, scope: str) -> list[dict]:
    """Return the cards of ``scope`` (stored, else computed now); a bad scope or unknown run is a usage error.

    An empty scope is an error too, because neither `bsb card` nor `bsb recommend` has anything to show.
    """
    from bsb_core.cards import store_cards

    try:
        resolve_scope(store, scope)
        cards = store_cards(store, scope)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if not cards:
        raise click.ClickException(f"no scored responses in scope {scope}: run `bsb score` first, or pick another scope")
    return cards


def did_you_mean(name: str, known: list[str]) -> str:
    """Return "; did you mean X?" naming the known names closest to ``name``, or "" when none is close.

    A name that matches the part after the provider (``terse`` for ``sim/terse``) comes first;
    otherwise :func:`difflib.get_close_matches` picks up to three, ignoring case.
    """
    by_lower = {known_name.lower(): known_name for known_name in known}
    requested = name.lower()
    matches = [known_name for lower, known_name in by_lower.items() if lower.partition("/")[2] == requested]
    if not matches:
        matches = [by_lower[lower] for lower in difflib.get_close_matches(requested, list(by_lower), n=3)]
    if not matches:
        return ""
    return f"; did you mean {' or '.join(matches)}?"


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

    path = output
    if path is None and fmt == "pdf":
        path = Path(model.replace("/", "_") + ".pdf")
    if path is not None:
        check_output_folder(path)

    with open_store(db, must_exist=True) as store:
        cards = _load_cards(store, scope)
        try:
            card = find_card(cards, model)
        except CardNotFoundError as error:
            model_names = [str(row["name"]) for row in store.models()]
            if model in model_names:
                raise click.ClickException(
                    f"model {model!r} has no scored responses in scope {scope}: run `bsb score` first, or pick another scope"
                ) from None
            raise click.ClickException(str(error) + did_you_mean(model, model_names)) from None

    try:
        if path is None:
            click.echo(card_json(card), nl=False)
            return
        write_card(card, path, fmt)
    except CardValidationError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise write_error(path, error) from None
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

    with open_store(db, must_exist=True) as store:
        cards = _load_cards(store, scope)
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

"""``bsb signatures``, ``bsb diff``, ``bsb validate identify`` and ``bsb attribute``."""

from __future__ import annotations

import json

import click
from rich.table import Table

from bsb_core.cli import db_option, main
from bsb_core.cli_core import open_store
from bsb_core.cli_output import print_table
from bsb_core.scope import resolve_scope

SCOPE_HELP = "Scope: all, run:<id>, or a date range <from>..<to> (ISO dates, inclusive)."


@main.command("signatures")
@click.option("--scope", default="all", show_default=True, help=SCOPE_HELP)
@click.option("--refresh", is_flag=True, help="Recompute and store the cards of the scope before listing them.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored cards as JSON.")
@db_option
def signatures_command(scope: str, refresh: bool, as_json: bool, db: str | None) -> None:
    """List the stored signature cards of a scope (trait percentiles per model)."""
    from bsb_core.signature import TRAITS, load_cards, refresh_signatures

    with open_store(db, must_exist=not refresh) as store:
        try:
            resolve_scope(store, scope)
            if refresh:
                written = refresh_signatures(store, scope)
                click.echo(f"stored {written} signature cards for scope {scope}", err=True)
            cards = load_cards(store, scope)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    if as_json:
        click.echo(json.dumps(cards, indent=2, ensure_ascii=False))
        return
    if not cards and refresh:
        click.echo(f"no scored responses in scope {scope}: run `bsb score` first, or pick another scope")
        return
    if not cards:
        click.echo(f"no signature cards for scope {scope}: run `bsb signatures --refresh --scope {scope}`")
        return
    table = Table("model", "responses", *[trait.label for trait in TRAITS.values()], title=f"trait percentiles, scope {scope}")
    for card in cards:
        cells = []
        for trait in card["traits"]:
            cells.append("–" if trait["percentile"] is None else f"{trait['percentile']:.0f}")
        name = card["model"] + (" (simulated)" if card["simulated"] else "")
        table.add_row(name, str(card["n_responses"]), *cells)
    print_table(table, width=200)


@main.command("diff")
@click.argument("models", nargs=-1, required=True)
@click.option("--scope", "scopes", multiple=True, help=SCOPE_HELP + " Give it twice with one model to compare two scopes.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True, help="False discovery rate (Benjamini-Hochberg) for calling a metric changed.")
@click.option("--all", "show_all", is_flag=True, help="List unchanged metrics too.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
def diff_command(models: tuple[str, ...], scopes: tuple[str, ...], alpha: float, show_all: bool, as_json: bool, db: str | None) -> None:
    """Compare two models (MODEL_A MODEL_B) or one model in two scopes (MODEL --scope A --scope B).

    A metric counts as changed when a permutation test on the per-response values, corrected
    for the number of metrics, rejects "no change". Changes are listed by effect size (Cohen's d).
    """
    from bsb_core.signature import diff_signatures, response_signature

    if len(models) == 2 and len(scopes) <= 1:
        pairs = [(models[0], scopes[0] if scopes else "all"), (models[1], scopes[0] if scopes else "all")]
    elif len(models) == 1 and len(scopes) == 2:
        pairs = [(models[0], scopes[0]), (models[0], scopes[1])]
    else:
        raise click.UsageError("give two models (bsb diff MODEL_A MODEL_B) or one model and two scopes (bsb diff MODEL --scope A --scope B)")
    with open_store(db, must_exist=True) as store:
        try:
            for _, scope in pairs:
                resolve_scope(store, scope)
            a, b = (response_signature(store, model, scope) for model, scope in pairs)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    diffs = diff_signatures(a, b, alpha=alpha)
    shown = [d for d in diffs if show_all or d.significant]
    if as_json:
        click.echo(json.dumps({"a": a.model + f" [{a.scope}]", "b": b.model + f" [{b.scope}]", "alpha": alpha, "diffs": [d.to_dict() for d in shown]}, indent=2))
        return
    tested = sum(d.p_value is not None for d in diffs)
    changed = sum(d.significant for d in diffs)
    title = (
        f"A = {a.model} [{a.scope}], B = {b.model} [{b.scope}]: {changed} of {tested} tested metrics changed"
        f" (FDR {alpha}); effect is B - A"
    )
    table = Table("metric", "stream", "mean A", "mean B", "B - A", "effect size", "q", "changed", title=title)
    for d in shown:
        table.add_row(
            d.metric, d.stream, _number(d.mean_a), _number(d.mean_b), _number(d.difference), _number(d.effect_size),
            _number(d.q_value), "yes" if d.significant else "",
        )
    print_table(table, width=200)


@main.group("validate")
def validate_group() -> None:
    """Validation checks on the data in the store."""


@validate_group.command("identify")
@click.option("--scope", default="all", show_default=True, help=SCOPE_HELP)
@click.option("--group-size", "group_sizes", type=click.IntRange(min=1), multiple=True, default=(25, 50, 100), show_default=True, help="Responses per group for the signature-level accuracy; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
def identify_command(scope: str, group_sizes: tuple[int, ...], as_json: bool, db: str | None) -> None:
    """Check that held-out responses are assigned to their own model's signature.

    Prompts are split in halves; signatures come from one half and the other half's
    responses (singly and in groups) go to the nearest signature. Prints top-1 accuracy
    and the confusion matrix.
    """
    from bsb_core.identify import identify_store

    with open_store(db, must_exist=True) as store:
        try:
            resolve_scope(store, scope)
            report = identify_store(store, scope, group_sizes=tuple(group_sizes))
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_markdown())


@main.command("attribute")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--scope", default="all", show_default=True, help=SCOPE_HELP + " Signatures are built from this scope.")
@click.option("--each", is_flag=True, help="Attribute every text on its own instead of the texts together as one source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
def attribute_command(source, scope: str, each: bool, as_json: bool, db: str | None) -> None:
    """Find the model signatures nearest to a text: SOURCE is a file or - for standard input.

    SOURCE is plain text (one text) or JSONL with a `response` or `text` field per line
    (several texts, attributed together as one source unless --each is given).
    """
    from bsb_core.attribute import build_attributor, read_texts, score_texts

    try:
        texts = read_texts(source.read())
    except ValueError as error:
        raise click.UsageError(f"{source.name}: {error}") from None
    if not texts:
        raise click.UsageError(f"{source.name}: no text found; pass a non-empty file or standard input")
    with open_store(db, must_exist=True) as store:
        try:
            resolve_scope(store, scope)
            attributor = build_attributor(store, scope)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    rows = score_texts(texts)
    results = [attributor.attribute([row]) for row in rows] if each else [attributor.attribute(rows)]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    for number, result in enumerate(results, start=1):
        if each:
            prefix = f"text {number}: "
        elif len(texts) > 1:
            prefix = f"{len(texts)} texts: "
        else:
            prefix = ""
        click.echo(prefix + result.summary())
        for entry in result.nearest:
            click.echo(f"  {entry['model']:<40} distance {entry['distance']:.2f}")
        if result.drivers:
            click.echo("  metrics that favour the nearest model over the runner-up:")
            for driver in result.drivers:
                click.echo(
                    f"    {driver['metric']:<28} text {_number(driver['text_value'])}, nearest {_number(driver['model_mean'])},"
                    f" runner-up {_number(driver['runner_up_mean'])}"
                )
    limits = results[0].thresholds
    if limits is not None:
        what = "single responses" if limits.n_texts == 1 else f"groups of {limits.n_texts} responses"
        click.echo(
            f"(calibrated on held-out responses of the store: {what} were attributed correctly"
            f" {100 * limits.accuracy:.0f}% of the time)",
            err=True,
        )


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}"

"""``bsb collect``, ``bsb keys`` and ``bsb sim-server``: thin commands over the collector, keys and chat server."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bsb_core.cli import main
from bsb_core.cli_output import print_table
from bsb_core.config import DEFAULT_SIM_PERSONAS, Config, ConfigError, load_config, split_spec
from bsb_core.secrets import KeyringUnavailableError, env_vars_for, key_sources, keyring_available, keyring_backend_name

log = logging.getLogger(__name__)

DEFAULT_SIM_SERVER_PORT = 8765


def split_models(values: tuple[str, ...]) -> list[str]:
    """Return the model specs of repeated ``--models`` values, split at commas and spaces, without repeats.

    An invalid spec ends the command with an error naming it.
    """
    specs: list[str] = []
    for value in values:
        specs.extend(part.strip() for part in value.replace(",", " ").split() if part.strip())
    specs = list(dict.fromkeys(specs))

    problems = []
    for spec in specs:
        try:
            split_spec(spec)
        except ValueError as exc:
            problems.append(f"--models: {exc}")
    if problems:
        raise click.ClickException("\n".join(problems))
    return specs


def _load(config_file: str | None) -> Config:
    try:
        return load_config(config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _select_models(config: Config, specs: list[str], base_url: str | None) -> Config:
    """Return ``config`` with exactly ``specs`` as its models, ``base_url`` filling in missing endpoints."""
    models: list[dict[str, Any]] = []
    for spec in specs:
        entry = config.model(spec).model_dump()
        if base_url and not entry.get("base_url"):
            entry["base_url"] = base_url
        models.append(entry)
    try:
        return config.with_overrides(models=models)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _store_path(db: str | None, config: Config) -> str | None:
    if db:
        return db
    if os.environ.get("BSB_DB"):
        return None  # paths.db_path reads BSB_DB
    return config.database


@main.command("collect")
@click.option("--models", "models", multiple=True, metavar="SPEC[,SPEC...]",
              help="Models as provider/model, comma-separated or repeated. Default: the config's models, else the simulated personas.")
@click.option("--suite", help="Prompt suite name or folder. Default: the config's suite (core).")
@click.option("--samples", type=click.IntRange(1, 100), help="Samples per prompt and model. Default: the config's samples (1).")
@click.option("--dry-run", is_flag=True, help="Print the plan, request count and estimated cost, and send nothing.")
@click.option("--db", type=click.Path(dir_okay=False), help="Store file. Default: $BSB_DB, the config's database, else ./bsb.db.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file. Default: $BSB_CONFIG, else ./bsb.toml.")
@click.option("--base-url", help="Base URL for listed models the config gives none, e.g. http://127.0.0.1:8000/v1.")
@click.option("--scope", "scope_key", default="", help="Scope key: a model's responses are reused within one scope (e.g. a date).")
@click.option("--no-structured", is_flag=True, help="Skip the structured (instructor) requests for JSON-schema prompts.")
@click.option("--concurrency", type=click.IntRange(1, 1024), help="Requests in flight per provider, for every provider of this run.")
def collect_command(
    models: tuple[str, ...],
    suite: str | None,
    samples: int | None,
    dry_run: bool,
    db: str | None,
    config_file: str | None,
    base_url: str | None,
    scope_key: str,
    no_structured: bool,
    concurrency: int | None,
) -> None:
    """Collect responses: paraphrase the rules per model, then send both streams of the suite."""
    from bsb_core.collect import collect
    from bsb_core.collect_plan import plan_collection
    from bsb_core.providers.registry import ProviderConfigError, get_provider

    config = _load(config_file)
    listed = split_models(models)
    overrides: dict[str, Any] = {"suite": suite, "samples": samples}
    if no_structured:
        overrides["structured"] = False
    if concurrency:
        providers = {name: limits.model_dump() for name, limits in config.providers.items()}
        for spec in listed or config.model_specs():
            name = spec.partition("/")[0]
            providers[name] = {**config.limits(name).model_dump(), "concurrency": concurrency}
        overrides["providers"] = providers
    try:
        config = config.with_overrides(**overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    specs = listed or config.model_specs()
    config = _select_models(config, specs, base_url)

    loaded_suite = _load_suite(config.suite)
    problems = []
    for spec in specs:
        try:
            get_provider(spec, config)
        except ProviderConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise click.ClickException("\n".join(problems))

    path = _store_path(db, config)
    if dry_run:
        from bsb_core.paths import db_path

        existing = db_path(path)
        store = _open_store(existing) if existing.is_file() else None
        try:
            plan = plan_collection(specs, loaded_suite, config, store=store, scope_key=scope_key)
        finally:
            if store is not None:
                store.close()
        _print_plan(plan, stored_known=store is not None)
        return

    _quiet_instructor()
    console = Console(stderr=True)
    with _open_store(path) as store, Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(spec: str, done: int, total: int) -> None:
            if spec not in tasks:
                tasks[spec] = progress.add_task(spec, total=total)
            progress.update(tasks[spec], completed=done, total=total)

        report = asyncio.run(collect(store, specs, loaded_suite, config=config, scope_key=scope_key, progress=on_progress))

    _print_report(report)
    if report.status != "completed":
        raise SystemExit(1)


def _open_store(path: Any) -> Any:
    from bsb_core.paths import db_path
    from bsb_core.store import Store

    try:
        return Store(path)
    except (sqlite3.Error, OSError) as exc:
        raise click.ClickException(
            f"cannot open the store {db_path(path)}: {exc}; pass --db with a BSB database or a new file in a writable folder"
        ) from None


def _load_suite(name: str) -> Any:
    try:
        from bsb_core.suites import load_suite
    except ImportError as exc:
        raise click.ClickException(f"the prompt suite loader is not available ({exc})") from None
    try:
        return load_suite(name)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load suite {name!r}: {exc}") from None


def _quiet_instructor() -> None:
    # instructor logs each structured response that stays invalid at ERROR level. For BSB an
    # invalid response is a measured outcome (stored in meta), so its logs show only with -vv.
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("instructor").setLevel(logging.CRITICAL)


def _print_plan(plan: Any, *, stored_known: bool) -> None:
    scope = f", scope {plan.scope_key!r}" if plan.scope_key else ""
    click.echo(f"Plan: suite {plan.suite} ({plan.suite_hash}), {plan.samples} sample(s) per prompt{scope}")
    width = max(len(model.model) for model in plan.models)
    for model in plan.models:
        stored = f"{model.stored} stored" if stored_known else "store not found"
        cost = "no price" if model.est_cost_usd is None else f"~{model.est_cost_usd:.4f} USD"
        click.echo(
            f"  {model.model:<{width}}  {model.requests} requests ({model.prompts} prompts x {model.samples} + paraphrase), "
            f"{stored}, {model.to_send} to send, {model.structured_requests}+ structured; "
            f"~{model.est_tokens_in:,} tokens in, <= {model.est_tokens_out:,} out; {cost}"
        )
    total_cost = plan.est_cost_usd
    cost = "no prices configured" if total_cost is None else f"~{total_cost:.4f} USD (output counted at max_tokens)"
    unpriced = [model.model for model in plan.models if model.est_cost_usd is None and model.to_send]
    if total_cost is not None and unpriced:
        cost += f", not counting {len(unpriced)} model(s) without a price; no price for {', '.join(unpriced)}"
    click.echo(f"Total: {plan.to_send} of {plan.requests} requests to send; estimated cost {cost}.")
    click.echo("Dry run: nothing was sent.")


def _print_report(report: Any) -> None:
    click.echo(f"Run {report.run_id} {report.status} (suite {report.suite} {report.suite_hash})")
    width = max((len(model.model) for model in report.models), default=0)
    for model in report.models:
        structured = model.structured_valid + model.structured_invalid
        line = (
            f"  {model.model:<{width}}  {model.succeeded} new responses, {model.cached} already stored, {model.failed} failed, "
            f"{model.skipped} skipped, {model.retries} retries"
        )
        if structured:
            line += f", structured valid {model.structured_valid}/{structured}"
        if model.structured_failed:
            line += f", {model.structured_failed} structured requests failed"
        line += f"; tokens {model.tokens_in:,} in / {model.tokens_out:,} out"
        if model.cost_usd is not None:
            line += f"; {model.cost_usd:.4f} USD"
        click.echo(line)
        if model.error:
            click.echo(f"  {model.model}: {model.error}", err=True)
    totals = report.totals()
    unsent = [
        f"{totals['failed']} requests failed" if totals["failed"] else "",
        f"{totals['skipped']} were skipped" if totals["skipped"] else "",
        f"{totals['structured_failed']} structured requests failed" if totals["structured_failed"] else "",
    ]
    unsent = [part for part in unsent if part]
    if unsent:
        click.echo(f"{', '.join(unsent)}; run the same command again to send only those.")


# keys -------------------------------------------------------------------------------------------


@main.group("keys")
def keys_group() -> None:
    """Manage API keys in the OS keyring (service "bsb"); environment variables take precedence."""


def config_key_names(config: Config) -> dict[str, str | None]:
    """Return {key name: api_key_env or None} of the configured models that need a key (every provider but sim)."""
    names: dict[str, str | None] = {}
    for model in config.models:
        if model.provider in ("sim",):
            continue
        name = model.key_name or model.provider
        if model.api_key_env or name not in names:
            names[name] = model.api_key_env
    return names


@keys_group.command("set")
@click.argument("provider")
@click.option(
    "--stdin", "from_stdin", is_flag=True,
    help="Read the key from standard input instead of a hidden prompt (the default when standard input is not a terminal).",
)  # fmt: skip
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file whose models' key names are accepted too.")
def keys_set(provider: str, from_stdin: bool, config_file: str | None) -> None:
    """Store the API key for PROVIDER (openai, anthropic, google, openrouter, ...) in the keyring.

    PROVIDER is a known provider or the key_name of a [[models]] entry in the config file.
    """
    from bsb_core.secrets import KNOWN_KEY_NAMES, require_keyring, set_key, validate_key_name

    try:
        validate_key_name(provider)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PROVIDER") from None
    if provider not in KNOWN_KEY_NAMES:
        config = _load(config_file)
        if provider not in config_key_names(config):
            raise click.BadParameter(
                f"unknown key name {provider!r}: use one of {', '.join(KNOWN_KEY_NAMES)}, or set key_name = \"{provider}\""
                f" for a model under [[models]] in {config.source or 'bsb.toml'} first",
                param_hint="PROVIDER",
            )
    # Checked before the prompt, so the user does not type a key that cannot be stored.
    try:
        require_keyring(provider)
    except KeyringUnavailableError as exc:
        raise click.ClickException(str(exc)) from None

    # Without a terminal (a pipe, a script) a hidden prompt cannot hide anything and Python
    # warns, so the key is read from standard input as with --stdin.
    if from_stdin or not sys.stdin.isatty():
        value = sys.stdin.readline().strip()
    else:
        value = click.prompt(f"API key for {provider}", hide_input=True)
    try:
        set_key(provider, value)
    except (KeyringUnavailableError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Stored the key for {provider} in the keyring (service bsb).")
    overriding = [name for name in env_vars_for(provider) if os.environ.get(name)]
    if overriding:
        click.echo(f"Note: {overriding[0]} is set and takes precedence over the keyring.")


@keys_group.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file whose models' key names are listed too.")
def keys_list(config_file: str | None) -> None:
    """List providers and where each key comes from (environment, keyring or not set); never the key."""
    config = _load(config_file)
    configured = config_key_names(config)
    names = list(configured)
    api_key_envs = {name: env for name, env in configured.items() if env}
    from bsb_core.secrets import ENV_VARS

    table = Table(title=f"API keys (keyring backend: {keyring_backend_name()})")
    table.add_column("provider")
    table.add_column("source")
    table.add_column("environment variables")
    for found in key_sources(list(ENV_VARS) + names, api_key_envs):
        source = found.source or "not set"
        if found.problem:
            source += f" (invalid: {found.problem})"
        table.add_row(found.name, source, ", ".join(env_vars_for(found.name, api_key_envs.get(found.name))))
    print_table(table)
    if not keyring_available():
        click.echo("No OS keyring backend is available here: set the environment variables listed above.")


@keys_group.command("delete")
@click.argument("provider")
def keys_delete(provider: str) -> None:
    """Delete the keyring entry for PROVIDER (environment variables are not touched)."""
    from bsb_core.secrets import delete_key

    try:
        deleted = delete_key(provider)
    except (KeyringUnavailableError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Deleted the key for {provider}." if deleted else f"No key for {provider} in the keyring.")


# sim-server -------------------------------------------------------------------------------------


@main.command("sim-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=DEFAULT_SIM_SERVER_PORT, show_default=True, type=click.IntRange(0, 65535), help="TCP port (0 picks a free one).")
@click.option("--latency-ms", default=0.0, type=click.FloatRange(0), help="Latency added to every response, in milliseconds.")
@click.option("--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests that get HTTP 500, from 0 to 1.")
@click.option("--rate-limit-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests that get HTTP 429, from 0 to 1.")
@click.option("--retry-after", default="1", show_default=True, help="Retry-After header of injected 429s, in seconds.")
@click.option("--seed", default=0, type=int, help="Seed of the fault draws.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Append every request as a JSON line (credential headers fingerprinted).")
def sim_server(host: str, port: int, latency_ms: float, error_rate: float, rate_limit_rate: float, retry_after: str, seed: int, log_file: str | None) -> None:
    """Serve the simulated personas through an OpenAI-compatible API (POST /v1/chat/completions).

    The model name is the persona (terse, bulleteer, hedger, json-strict, format-loose, warm).
    Responses are simulated; their model version reads sim-<persona>-1.
    """
    from bsb_core.providers.chat_server import ChatServer, Fault, FaultPlan, FaultRule, sim_responder

    # NOTE: responses collected through this server as openai-compatible/<persona> are stored
    # under a model row not flagged simulated; only their model_version (sim-<persona>-1) shows it.
    rules = []
    if rate_limit_rate:
        rules.append(FaultRule(Fault.rate_limited(retry_after), rate=rate_limit_rate))
    if error_rate:
        rules.append(FaultRule(Fault.server_error(500), rate=error_rate))
    plan = FaultPlan(rules=rules, latency_s=latency_ms / 1000, seed=seed)
    try:
        server = ChatServer(sim_responder, faults=plan, host=host, port=port, models=DEFAULT_SIM_PERSONAS, log_path=log_file)
    except OSError as exc:
        if exc.filename:  # a socket error carries no file name
            raise click.ClickException(f"--log-file {log_file}: cannot write it ({exc.strerror}); pick a writable path") from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None
    click.echo(f"Serving simulated personas at {server.url} (Ctrl-C stops).")
    click.echo(f"Try: bsb collect --models openai-compatible/terse --base-url {server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")


__all__ = ["collect_command", "keys_group", "sim_server"]

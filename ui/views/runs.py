"""Runs: every collection and import run with status, counts, failures, tokens, cost and Prefect flow-run id,
and a form that starts an ad-hoc collection flow with a progress bar.
"""

from __future__ import annotations

import streamlit as st

from bsb_core.config import DEFAULT_SIM_PERSONAS, ConfigError, load_config
from ui import collect_job, data, tables, widgets

# Seconds between two progress refreshes while a collection runs.
POLL_INTERVAL_S = 1.0


def collectable_models(db: str | None, version: tuple | None) -> list[str]:
    """Return the specs the form offers: the config's models, the simulated personas and collected models."""
    specs: list[str] = []
    try:
        specs.extend(load_config().model_specs())
    except ConfigError as exc:
        st.warning(f"bsb.toml could not be read: {exc}")
    specs.extend(f"sim/{persona}" for persona in DEFAULT_SIM_PERSONAS)
    if db is not None and version is not None:
        specs.extend(row["name"] for row in data.models(db, version) if row["provider"] != "import" and "/" in row["name"])
    return list(dict.fromkeys(specs))


def draw_progress(job: collect_job.CollectionJob) -> None:
    """Draw one progress bar per flow step and the job's outcome once it has finished."""
    state = job.progress()
    steps = state.get("steps") or {}
    if state.get("state") == "starting" or not steps:
        st.progress(0.0, text=f"Starting the Prefect flow for {', '.join(job.models)}…")
    for label, (done, total) in steps.items():
        share = min(1.0, done / total) if total else 0.0
        st.progress(share, text=f"{label}: {done} of {total if total is not None else '?'}")
    outcome = state.get("state")
    if outcome == "completed":
        st.success(state.get("message") or "Collection completed.")
    elif outcome == "partial":
        st.warning(state.get("message") or "Some models failed.")
    elif outcome == "failed":
        st.error(state.get("message") or "The collection failed.")
    st.caption(f"Log: `{job.log_file}`")


@st.fragment(run_every=POLL_INTERVAL_S)
def poll_progress(job: collect_job.CollectionJob) -> None:
    """Redraw the progress every POLL_INTERVAL_S; rerun the whole page when the job ends so the tables refresh."""
    draw_progress(job)
    if not job.running:
        st.rerun(scope="app")


st.title("Runs")
context = widgets.store_context(require_cards=False)
location = data.current_location()

if context is not None:
    runs = data.runs(context.db, context.version)
    if not runs:
        st.info("No runs in this store yet.")
    else:
        st.dataframe(
            tables.runs_table(runs),
            hide_index=True,
            width="stretch",
            column_config={"cost (USD)": st.column_config.NumberColumn("cost (USD)", format="%.4f")},
        )
        collection_runs = [run for run in runs if (run.get("stats") or {}).get("models")]
        # Per-model details of the newest collection runs; older ones stay in the table above.
        for run in collection_runs[:10]:
            models_table = tables.run_models_table(run)
            problems = int((models_table["error"] != "").sum()) if not models_table.empty else 0
            title = f"Run {run['id']} per model ({run['status']}" + (f", {problems} failed" if problems else "") + ")"
            with st.expander(title, expanded=bool(problems)):
                st.dataframe(models_table, hide_index=True, width="stretch")

st.subheader("Start a collection")
job = collect_job.current_job()
choices = collectable_models(context.db if context else None, context.version if context else None)
with st.form("collect_form"):
    models = st.multiselect("Models", choices, key="collect_models", help="sim/… personas are simulated and need no API key.")
    columns = st.columns(2)
    samples = columns[0].number_input("Samples per prompt", min_value=1, max_value=10, value=1, step=1, key="collect_samples")
    score = columns[1].checkbox("Score and refresh signatures afterwards", value=True, key="collect_score")
    start = st.form_submit_button("Start collection", type="primary", disabled=job is not None and job.running)
st.caption(f"Collects into `{location.path}` with the suite and settings of bsb.toml (or the defaults).")

if start:
    if not models:
        st.warning("Pick at least one model.")
    else:
        try:
            job = collect_job.start_job(str(location.path), models, int(samples), bool(score))
        except collect_job.JobRunningError as exc:
            st.warning(str(exc))

if job is not None:
    if job.running:
        poll_progress(job)
        if st.button("Stop the collection", key="collect_stop"):
            job.stop()
            st.rerun()
    else:
        draw_progress(job)

"""The ``bsb-nightly`` flow: collect every model, score what is new, refresh the signatures.

This is the entrypoint of the ``bsb-nightly`` deployment (``flows/nightly.py:nightly``) and
the flow ``bsb run`` runs once in-process. The flow ends ``Completed`` when at least one model
was collected. When some model failed, the BSB run row and the state message say ``partial``.
The flow ends ``Failed`` only when every model failed, and then nothing is scored.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.logging import get_run_logger
from prefect.states import Completed

from bsb_core.metrics.engine import METRIC_SET_VERSION
from bsb_core.store import Store
from flows.collect import CollectionFailedError
from flows.collect import collect as collect_flow
from flows.report import nightly_markdown
from flows.score import score as score_flow
from flows.tasks import DEFAULT_RETRY_DELAY_S, DEFAULT_TASK_RETRIES, refresh_signatures_task

NIGHTLY_ARTIFACT_KEY = "bsb-nightly"


@flow(name="bsb-nightly")
async def nightly(
    models: list[str | dict[str, Any]] | None = None,
    suite: str | None = None,
    samples: int | None = None,
    db: str | None = None,
    config: str | None = None,
    scope_key: str | None = None,
    retries: int = DEFAULT_TASK_RETRIES,
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
    score_workers: int = 1,
) -> Any:
    """Collect, score and refresh signatures; return the run summary.

    ``models``, ``suite``, ``samples``, ``db`` and ``config`` are as for ``bsb-collect``.
    ``scope_key`` defaults to the UTC date of the scheduled start, and a retry of the flow run
    keeps it, so the retry collects only what is missing. ``score_workers`` is the number of
    spaCy worker processes.
    """
    logger = get_run_logger()
    collect_state = await collect_flow(
        models=models, suite=suite, samples=samples, db=db, config=config, scope_key=scope_key,
        retries=retries, retry_delay_s=retry_delay_s, return_state=True,
    )  # fmt: skip
    if not collect_state.is_completed():
        error = await collect_state.aresult(raise_on_failure=False)
        if isinstance(error, CollectionFailedError):
            await acreate_markdown_artifact(
                markdown=nightly_markdown(error.summary, None, None), key=NIGHTLY_ARTIFACT_KEY,
                description=f"BSB nightly run {error.summary['run_id']} (failed)",
            )  # fmt: skip
            raise error
        raise RuntimeError(f"the collection subflow ended {collect_state.name}: {collect_state.message}")

    collection = await collect_state.aresult()
    scoring = score_flow(db=collection["db"], workers=score_workers)
    signatures = refresh_signatures_task(collection["db"])

    with Store(collection["db"]) as store:
        counts = store.run_model_counts(collection["run_id"], METRIC_SET_VERSION)
    for row in collection["models"]:
        row["scored"] = counts.get(row["model"], {}).get("scored", 0)
    collection["totals"]["scored"] = sum(row["scored"] for row in collection["models"])

    summary = {**collection, "scoring": scoring, "signatures": signatures}
    await acreate_markdown_artifact(
        markdown=nightly_markdown(collection, scoring, signatures), key=NIGHTLY_ARTIFACT_KEY,
        description=f"BSB nightly run {collection['run_id']}",
    )  # fmt: skip
    logger.info(
        "BSB run %d %s: %d responses scored in this pass, %s signatures; store %s",
        collection["run_id"], collection["status"], scoring["responses"],
        "no" if signatures is None else signatures, collection["db"],
    )  # fmt: skip
    if collection["status"] == "partial":
        failed = [row["model"] for row in collection["models"] if row["error"]]
        return Completed(
            message=f"partial: {len(failed)} of {len(collection['models'])} models failed ({', '.join(failed)}); BSB run {collection['run_id']}",
            data=summary,
        )
    return summary


__all__ = ["NIGHTLY_ARTIFACT_KEY", "nightly"]

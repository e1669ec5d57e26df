"""The ``bsb-score`` flow: incremental scoring of every response that has no metric values yet."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.report import scoring_markdown
from flows.run_options import is_root_flow_run, resolve_config, resolve_db
from flows.tasks import score_task

SCORE_ARTIFACT_KEY = "bsb-score"


@flow(name="bsb-score")
def score(db: str | None = None, config: str | None = None, workers: int = 1) -> dict[str, Any]:
    """Score the responses of the store that the current metric set has not scored yet.

    ``db`` defaults to ``$BSB_DB``, the config's ``database``, then ``./bsb.db``; ``workers``
    is the number of spaCy worker processes. Re-running scores nothing new.
    """
    db_file = resolve_db(db, resolve_config(config))
    summary = score_task(db_file, workers)
    result = {
        "db": db_file,
        "responses": summary.responses,
        "values": summary.values,
        "metric_set_version": summary.metric_set_version,
        "pipeline": summary.pipeline,
    }
    if is_root_flow_run():
        create_markdown_artifact(markdown=scoring_markdown(result), key=SCORE_ARTIFACT_KEY, description="BSB scoring")
    return result


__all__ = ["SCORE_ARTIFACT_KEY", "score"]

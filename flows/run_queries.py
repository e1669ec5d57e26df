"""Read-only store lookups the flows need and :class:`bsb_core.store.Store` does not offer yet.

NOTE: the store module is meant to own every SQL statement; ``run_model_counts`` belongs in
``Store`` as a method and lives here until it moves there.
"""

from __future__ import annotations

import json
from typing import Any

from bsb_core.store import Store


def find_run_for_flow_run(store: Store, flow_run_id: str, kind: str = "collect") -> dict[str, Any] | None:
    """Return the newest ``kind`` run that records Prefect flow run ``flow_run_id``, or None.

    Its ``config`` is parsed from JSON.
    """
    for run in store.runs():
        if run.get("prefect_flow_run_id") == flow_run_id and run.get("kind") == kind:
            run = dict(run)
            run["config"] = json.loads(run.get("config") or "{}")
            return run
    return None


def run_model_counts(store: Store, run_id: int, metric_set_version: str) -> dict[str, dict[str, int]]:
    """Return per model name the responses a run wrote: collected, failed and scored.

    Responses collected by an earlier run and reused from the store carry that run's id, so they are
    not counted here. ``scored`` counts collected responses with values for ``metric_set_version``.
    """
    sql = """
        SELECT m.name AS model,
               SUM(CASE WHEN r.text IS NOT NULL THEN 1 ELSE 0 END) AS collected,
               SUM(CASE WHEN r.error IS NOT NULL THEN 1 ELSE 0 END) AS failed,
               SUM(CASE WHEN r.text IS NOT NULL AND EXISTS (
                       SELECT 1 FROM metric_values mv WHERE mv.response_id = r.id AND mv.metric_set_version = ?
                   ) THEN 1 ELSE 0 END) AS scored
        FROM responses r JOIN models m ON m.id = r.model_id
        WHERE r.run_id = ?
        GROUP BY m.name
    """
    rows = store.db.execute(sql, [metric_set_version, run_id]).fetchall()
    return {
        row[0]: {"collected": int(row[1]), "failed": int(row[2]), "scored": int(row[3])} for row in rows
    }


__all__ = ["find_run_for_flow_run", "run_model_counts"]

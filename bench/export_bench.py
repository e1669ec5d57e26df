"""Export throughput: ``Store.export_rows`` against one metric query per response, in one run.

Builds a store of synthetic responses with ``--metrics`` metric values each (written straight
through ``executemany``, so building stays fast), then reads every export row both ways: once
timed, once under tracemalloc. Prints rows/s of each, their ratio, and the peak Python memory
while streaming, which should not grow with ``--responses``. The store goes in a temporary folder unless ``--db`` names
an existing one.

    .venv/bin/python bench/export_bench.py [--responses 50000] [--metrics 20]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bsb_core.store import Store, utc_now  # noqa: E402

VERSION = "bench"


def build(store: Store, responses: int, metrics: int) -> None:
    """Insert ``responses`` responses over 50 prompts and 4 models, each with ``metrics`` values."""
    models = [store.get_or_create_model(f"bench/model-{index}", "import") for index in range(4)]
    prompts = [store.upsert_prompt("bench", "baseline", f"Prompt {index}?", topic=f"t{index}") for index in range(50)]
    now = utc_now()
    rows = [
        (models[index % 4], prompts[index % 50], index // 100, "", "bench", f"Response number {index}.", now)
        for index in range(responses)
    ]
    with store.db.conn:
        store.db.conn.executemany(
            "INSERT INTO responses (model_id, prompt_id, sample, system_hash, scope_key, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    ids = [row[0] for row in store.db.conn.execute("SELECT id FROM responses ORDER BY id")]
    names = [f"metric_{index:02d}" for index in range(metrics)]
    store.insert_metric_values((response_id, name, float(response_id), None, VERSION, "bench") for response_id in ids for name in names)


def per_response_rows(store: Store) -> Iterator[dict[str, Any]]:
    """Yield the rows as export_rows built them before it streamed: one metric query per response."""
    sql = """
        SELECT r.id, m.name AS model, m.provider, m.simulated, p.text AS prompt, p.source_id AS prompt_id,
               p.stream, p.topic, p.variant, p.constraints, r.sample, r.text AS response, r.is_empty,
               r.model_version, r.tokens_in, r.tokens_out, r.latency_ms, r.error, r.meta, r.run_id
        FROM responses r JOIN models m ON m.id = r.model_id JOIN prompts p ON p.id = r.prompt_id
        ORDER BY r.id
    """
    cursor = store.db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    for row in cursor.execute(sql):
        item = dict(row)
        item["constraints"] = json.loads(item["constraints"] or "[]")
        item["meta"] = json.loads(item["meta"] or "{}")
        metric_cursor = store.db.conn.execute(
            "SELECT metric, value FROM metric_values WHERE response_id = ? AND metric_set_version = ?", [item["id"], VERSION]
        )
        item["metrics"] = dict(metric_cursor.fetchall())
        yield item


def measure(rows: Callable[[], Iterator[dict[str, Any]]]) -> tuple[int, float, int]:
    """Consume ``rows()`` twice: timed without tracing, then traced; return (count, seconds, peak traced bytes)."""
    start = time.perf_counter()
    count = sum(1 for _ in rows())
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    for _ in rows():
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=50_000, help="Responses to build (ignored with --db).")
    parser.add_argument("--metrics", type=int, default=20, help="Metric values per response (ignored with --db).")
    parser.add_argument("--db", type=Path, default=None, help="An existing store to read, built earlier by this script.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "export_bench.db"
        with Store(path) as store:
            if args.db is None:
                start = time.perf_counter()
                build(store, args.responses, args.metrics)
                print(f"built {args.responses} responses x {args.metrics} metrics in {time.perf_counter() - start:.1f} s")
            streamed = measure(lambda: store.export_rows(VERSION))
            baseline = measure(lambda: per_response_rows(store))
    for label, (count, seconds, peak) in (("export_rows", streamed), ("one query per response", baseline)):
        print(f"{label:>24}: {count} rows in {seconds:.2f} s ({count / seconds:,.0f} rows/s), peak {peak / 1e6:.2f} MB traced")
    print(f"speed ratio (export_rows / one query per response): {baseline[1] / streamed[1]:.2f}")


if __name__ == "__main__":
    main()

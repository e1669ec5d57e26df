"""Benchmark BSB scoring against a bare spaCy parse of the same real responses, in one run.

Prints responses/s and words/s for both, and the ratio of BSB scoring time (markdown layout,
parse, every metric family) to a bare ``nlp.pipe`` with the same loaded pipeline over the
same texts. Target: ratio at most 1.25.

    .venv/bin/python bench/score_bench.py [--responses 1000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bsb_core.metrics.document import prepare  # noqa: E402
from bsb_core.metrics.engine import score_items  # noqa: E402
from bsb_core.metrics.nlp import load_pipeline, pipeline_id  # noqa: E402
from bsb_core.paths import shared_data_dir  # noqa: E402


def load_responses(limit: int) -> list[str]:
    """Take responses round-robin from the AlpacaEval files, so every model is represented."""
    files = sorted((shared_data_dir() / "alpaca_eval").glob("*.jsonl"))
    if not files:
        sys.exit(f"no AlpacaEval files under {shared_data_dir() / 'alpaca_eval'}; set BSB_SHARED_DATA")
    per_file = [[json.loads(line)["response"] for line in path.open(encoding="utf-8")] for path in files]
    texts: list[str] = []
    index = 0
    while len(texts) < limit and any(index < len(rows) for rows in per_file):
        texts.extend(rows[index] for rows in per_file if index < len(rows))
        index += 1
    return texts[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1000, help="number of real responses to score")
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds; each round runs all three timings, alternating their order")
    parser.add_argument("--batch-size", type=int, default=32, help="spaCy batch size for every timing")
    args = parser.parse_args()

    nlp = load_pipeline()
    texts = load_responses(args.responses)
    words = sum(len(text.split()) for text in texts)
    list(nlp.pipe(texts[:50], batch_size=args.batch_size))  # warm-up: load weights, fill caches
    list(score_items(((text, None, None) for text in texts[:50]), nlp=nlp, batch_size=args.batch_size))

    # BSB parses only the prose (fenced code, math and tables left out), so a second reference
    # parses that same prose bare: the difference to it is the cost of the metrics alone.
    prose = [prepare(text)[1].prose for text in texts]
    times: dict[str, list[float]] = {"bare": [], "prose": [], "bsb": []}
    for round_index in range(args.repeats):
        order = ("bare", "prose", "bsb") if round_index % 2 == 0 else ("bsb", "prose", "bare")
        for which in order:
            start = time.perf_counter()
            if which == "bsb":
                for _ in score_items(((text, None, None) for text in texts), nlp=nlp, batch_size=args.batch_size):
                    pass
            else:
                for _ in nlp.pipe(texts if which == "bare" else prose, batch_size=args.batch_size):
                    pass
            times[which].append(time.perf_counter() - start)

    bare, bare_prose, bsb = min(times["bare"]), min(times["prose"]), min(times["bsb"])
    print(f"pipeline            {pipeline_id(nlp)} ({', '.join(nlp.pipe_names)})")
    print(f"responses           {len(texts)} ({words} whitespace words)")
    print(f"bare nlp.pipe       {bare:.2f} s  {len(texts) / bare:.1f} responses/s  {words / bare:.0f} words/s")
    print(f"bare nlp.pipe prose {bare_prose:.2f} s  (the prose BSB parses: {sum(map(len, prose))} of {sum(map(len, texts))} characters)")
    print(f"BSB scoring         {bsb:.2f} s  {len(texts) / bsb:.1f} responses/s  {words / bsb:.0f} words/s")
    print(f"ratio BSB / bare    {bsb / bare:.3f}  (target <= 1.25; best of {args.repeats} rounds each)")
    print(f"ratio BSB / prose   {bsb / bare_prose:.3f}  (metric cost on top of parsing the same prose)")


if __name__ == "__main__":
    main()

"""Measure the peak memory and time of scoring one long response, at several prose lengths.

The text is real AlpacaEval responses joined and repeated to each length. Each length is
scored in its own child process, so every peak (``ru_maxrss``) starts from a fresh pipeline.
The "added" column is the peak minus the peak after loading spaCy and scoring a short text.
Lengths above ``MAX_PROSE_CHARS`` are parsed only up to it, which the last rows show.

    .venv/bin/python bench/memory_bench.py [--lengths 100000,200000,1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_LENGTHS = "50000,100000,200000,1000000"
# AlpacaEval files whose responses make up the text.
SOURCE_FILES = 2


def long_text(length: int) -> str:
    """Return ``length`` characters of real model responses, repeated as needed."""
    from bsb_core.paths import shared_data_dir

    responses = []
    for path in sorted((shared_data_dir() / "alpaca_eval").glob("*.jsonl"))[:SOURCE_FILES]:
        with path.open(encoding="utf-8") as lines:
            responses.extend(json.loads(line).get("response") or "" for line in lines if line.strip())
    corpus = "\n\n".join(response for response in responses if response)
    return (corpus * (length // len(corpus) + 1))[:length]


def measure(length: int) -> dict[str, float]:
    """Score one text of ``length`` characters in this process and return its peak memory and time."""
    from bsb_core.metrics.engine import score_text
    from bsb_core.metrics.nlp import load_pipeline

    text = long_text(length)
    nlp = load_pipeline()
    score_text("A short warm-up text.", nlp=nlp)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    score_text(text, nlp=nlp)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"baseline_mib": baseline / 1024, "peak_mib": peak / 1024, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default=DEFAULT_LENGTHS, help="comma-separated prose lengths in characters")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return

    from bsb_core.metrics.nlp import MAX_PROSE_CHARS

    print(f"MAX_PROSE_CHARS = {MAX_PROSE_CHARS:,}")
    for length in (int(part) for part in args.lengths.split(",")):
        result = subprocess.run([sys.executable, __file__, "--child", str(length)], capture_output=True, text=True, check=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        added = figures["peak_mib"] - figures["baseline_mib"]
        print(
            f"chars {length:>10,}   peak {figures['peak_mib']:6.0f} MiB   added by the text {added:6.0f} MiB   "
            f"scoring {figures['seconds']:6.1f} s"
        )


if __name__ == "__main__":
    main()

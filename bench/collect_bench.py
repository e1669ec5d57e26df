"""Collector throughput: 2,000 requests to a local server with 100 ms latency at concurrency 32.

Prints the wall time, the ideal time (requests x latency / concurrency) and their ratio; the
target is a ratio of at most 1.15. The server runs in a subprocess on 127.0.0.1 so its threads
do not share the collector's interpreter lock. The run goes through the whole collector: the
OpenAI SDK, limits, retries and a store write per response.

For reference it then sends the same number of requests with the bare OpenAI SDK at the same
concurrency. That ratio is the floor the machine allows, so a busy machine shows up in both.

    python bench/collect_bench.py [--requests 2000] [--latency-ms 100] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from bsb_core.collect import collect
from bsb_core.config import Config
from bsb_core.providers.transport import aiohttp_client
from bsb_core.store import Store, content_hash

SERVER_CODE = """
import sys
from bsb_core.providers.chat_server import ChatServer, FaultPlan
server = ChatServer(faults=FaultPlan(latency_s=float(sys.argv[1])), host="127.0.0.1", port=0)
print(server.port, flush=True)
server.serve_forever()
"""


@dataclass(frozen=True)
class BenchPrompt:
    stream: str
    topic: str
    domain: str
    variant: str
    text: str
    constraints: list[dict[str, Any]]
    key: str


@dataclass
class BenchSuite:
    name: str
    rules: list[str]
    paraphrase_request: str
    prompts: list[BenchPrompt] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return content_hash(self.name, len(self.prompts))


def build_suite(prompt_count: int) -> BenchSuite:
    """Build a suite of ``prompt_count`` baseline prompts of realistic length."""
    rules = ["Answer directly.", "State uncertainty.", "Follow format instructions exactly."]
    suite = BenchSuite("bench", rules, "Restate these rules in your own words: " + " ".join(rules))
    task = "Compare two approaches to reducing customer churn for a subscription business and recommend one. "
    for index in range(prompt_count):
        suite.prompts.append(BenchPrompt("baseline", f"t{index}", "business", "baseline", f"{task}Case {index}.", [], f"t{index}"))
    return suite


async def run_bare_sdk(requests: int, concurrency: int, base_url: str) -> float:
    """Send ``requests`` chat requests with the OpenAI SDK alone; return the wall time in seconds."""
    client = openai.AsyncOpenAI(api_key="unused", base_url=base_url, max_retries=0, http_client=aiohttp_client(openai))
    semaphore = asyncio.Semaphore(concurrency)
    messages = [{"role": "system", "content": "Answer directly."}, {"role": "user", "content": build_suite(1).prompts[0].text}]

    async def one() -> None:
        async with semaphore:
            await client.chat.completions.create(model="bench", messages=messages, temperature=0.7, max_tokens=1024)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    wall = time.perf_counter() - started
    await client.close()
    return wall


async def run_bench(
    requests: int, latency_s: float, concurrency: int, store_path: Path, base_url: str
) -> tuple[float, Any, float, float]:
    suite = build_suite(requests - 1)  # the paraphrase request is the first of the total
    config = Config.model_validate(
        {
            "models": [{"spec": "openai-compatible/bench", "base_url": base_url}],
            "providers": {"openai-compatible": {"concurrency": concurrency}},
            "timeout_s": 30.0,
            "structured": False,
        }
    )
    with Store(store_path) as store:
        started = time.perf_counter()
        cpu_started = time.process_time()
        report = await collect(store, ["openai-compatible/bench"], suite, config=config)
        wall = time.perf_counter() - started
        client_cpu_s = time.process_time() - cpu_started
        stored = store.count("responses")
        mean_latency_ms = store.db.execute("SELECT AVG(latency_ms) FROM responses").fetchone()[0]
    if stored != requests:
        raise SystemExit(f"expected {requests} stored responses, found {stored}")
    return wall, report, mean_latency_ms, client_cpu_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    latency_s = args.latency_ms / 1000

    load_before = os.getloadavg()[0]
    server = subprocess.Popen([sys.executable, "-c", SERVER_CODE, str(latency_s)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        with tempfile.TemporaryDirectory() as folder:
            base_url = f"http://127.0.0.1:{port}/v1"
            wall, report, mean_latency_ms, client_cpu_s = asyncio.run(
                run_bench(args.requests, latency_s, args.concurrency, Path(folder) / "bench.db", base_url)
            )
            bare_wall = asyncio.run(run_bare_sdk(args.requests, args.concurrency, base_url))
    finally:
        server.terminate()
        server.wait(timeout=10)

    ideal = args.requests * latency_s / args.concurrency
    totals = report.totals()
    print(f"requests       {args.requests} ({totals['succeeded']} answered, {totals['failed']} failed, {totals['retries']} retries)")
    print(f"latency        {args.latency_ms:g} ms per request, injected by the server")
    print(f"concurrency    {args.concurrency}")
    print(f"mean latency   {mean_latency_ms:.1f} ms per request as the collector measured it (client work included)")
    print(f"wall time      {wall:.2f} s")
    print(f"ideal time     {ideal:.2f} s (requests x latency / concurrency)")
    print(f"ratio          {wall / ideal:.3f} (target <= 1.15)")
    print(f"bare SDK       {bare_wall:.2f} s, ratio {bare_wall / ideal:.3f} (same requests without the collector)")
    print(f"client CPU     {client_cpu_s:.2f} s ({client_cpu_s / args.requests * 1000:.2f} ms per request, store thread included)")
    print(f"load average   {load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1 min, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()

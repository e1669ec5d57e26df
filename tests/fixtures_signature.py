"""A small synthetic two-stream store for signature tests: no spaCy, seeded values."""

from __future__ import annotations

import numpy as np

from bsb_core.metrics.engine import METRIC_SET_VERSION, REGISTRY
from bsb_core.store import Store

TOPICS = [f"topic-{i:02d}" for i in range(12)]
VARIANTS = ["bullets", "json_schema", "impossible_bullets"]
# Per-model shift of every style metric in SDs; model "drifter" also changes its voice under constraints.
MODELS = {"sim/alpha": 0.0, "sim/beta": 1.0, "sim/gamma": -1.0, "sim/drifter": 0.5}
CONFLICT_TEXT = "These instructions conflict: I cannot give exactly 3 and exactly 5 bullets at the same time."


def fill_synthetic_store(store: Store, seed: int = 7, samples: int = 3) -> None:
    """Insert four simulated models with baseline, contrast and paraphrase responses and metric values."""
    rng = np.random.default_rng(seed)
    run_id = store.create_run("collect", suite="core", suite_hash="test-suite-hash")
    names = REGISTRY.names()
    families = {name: REGISTRY.get(name).family for name in names}
    paraphrase_prompt = store.upsert_prompt("core", "paraphrase", "Restate the rules.", topic="rules", variant="paraphrase")

    for model_index, (model, shift) in enumerate(MODELS.items()):
        model_id = store.get_or_create_model(model, "sim", simulated=True)
        result = store.insert_response(
            model_id, paraphrase_prompt, "Answer directly. Say when you are not sure. Follow format instructions exactly.",
            run_id=run_id,
        )
        _insert_values(store, result.response_id, {name: None for name in names})
        for topic in TOPICS:
            rows = [("baseline", "baseline")] + [("contrast", variant) for variant in VARIANTS]
            for stream, variant in rows:
                prompt = store.upsert_prompt("core", stream, f"{stream} {variant} {topic}", topic=topic, variant=variant)
                for sample in range(samples):
                    text = CONFLICT_TEXT if (variant == "impossible_bullets" and model == "sim/alpha") else f"{model} on {topic}"
                    result = store.insert_response(model_id, prompt, text, run_id=run_id, sample=sample)
                    values = {}
                    for index, name in enumerate(names):
                        if families[name] == "compliance":
                            follow = {"sim/alpha": 0.95, "sim/beta": 0.6, "sim/gamma": 0.3, "sim/drifter": 0.8}[model]
                            values[name] = None if stream == "baseline" else float(rng.random() < follow)
                            if variant == "impossible_bullets" and stream == "contrast":
                                values[name] = 0.0 if model == "sim/gamma" else 0.5
                            continue
                        if name in ("refusal_class", "refusal_score"):
                            values[name] = 0.0
                            continue
                        centre = (index % 7) + shift
                        if stream == "contrast" and model == "sim/drifter" and families[name] in ("stylistic", "pragmatic"):
                            centre += 2.0
                        values[name] = float(abs(rng.normal(centre + 5.0, 1.0)))
                    _insert_values(store, result.response_id, values)
    store.finish_run(run_id, "completed")


def _insert_values(store: Store, response_id: int, values: dict[str, float | None]) -> None:
    store.insert_metric_values(
        (response_id, name, value, None if value is not None else "no constraint of this type", METRIC_SET_VERSION, "en_test@0")
        for name, value in values.items()
    )

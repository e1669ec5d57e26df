"""Which model fits my task: the recommender form (a preset and explicit needs) and its ranking.

The ranking is ``bsb_core.recommend.recommend`` over the store's cards; each model lists the
targets it matched and missed, warnings and prompt tips, and the whole result downloads as JSON.
"""

from __future__ import annotations

import json

import streamlit as st

from bsb_core.recommend import LENGTHS, LEVELS, PRESETS, RESPONSE_FORMATS, TONES, ProfileError, TaskProfile, profile_from, recommend
from ui import tables, widgets

NO_PRESET = "(no preset)"
PROFILE_KEY = "recommend_profile"
# Ranked models whose details start expanded.
EXPANDED_RESULTS = 3


def profile_form(preset: str | None) -> TaskProfile | None:
    """Draw the needs form with the preset's values and return the submitted profile, or None before submit.

    Only the needs that differ from the preset are passed as explicit needs, so an unchanged
    preset keeps its name.
    """
    base = PRESETS[preset] if preset else TaskProfile()
    suffix = preset or "none"
    with st.form("recommend_form"):
        columns = st.columns(3)
        with columns[0]:
            response_format = st.selectbox("Response format", RESPONSE_FORMATS, index=RESPONSE_FORMATS.index(base.response_format), key=f"rec_format_{suffix}")
            tone = st.selectbox("Tone", TONES, index=TONES.index(base.tone), key=f"rec_tone_{suffix}")
        with columns[1]:
            length = st.selectbox("Answer length", LENGTHS, index=LENGTHS.index(base.length), key=f"rec_length_{suffix}")
            refusal_tolerance = st.selectbox(
                "Refusal tolerance", LEVELS, index=LEVELS.index(base.refusal_tolerance), key=f"rec_refusal_{suffix}",
                help="How well the task tolerates refusals and hedging: low asks for a model that rarely does either.",
            )  # fmt: skip
        with columns[2]:
            format_strictness = st.selectbox(
                "Format strictness", LEVELS, index=LEVELS.index(base.format_strictness), key=f"rec_strictness_{suffix}",
                help="How strictly format instructions (JSON Schemas, bullet counts, word limits) must be followed.",
            )  # fmt: skip
            drift_weight = st.slider(
                "Weight on a stable voice under format constraints", min_value=0.0, max_value=1.0, value=float(base.drift_weight),
                step=0.1, key=f"rec_drift_{suffix}",
            )  # fmt: skip
        submitted = st.form_submit_button("Rank models", type="primary")
    if not submitted:
        return None
    values = {
        "response_format": response_format,
        "tone": tone,
        "length": length,
        "refusal_tolerance": refusal_tolerance,
        "format_strictness": format_strictness,
        "drift_weight": float(drift_weight),
    }
    needs = {key: value for key, value in values.items() if value != getattr(base, key)}
    return profile_from(preset, **needs)


st.title("Which model fits my task")
context = widgets.store_context()
if context is None:
    st.stop()

st.caption("Pick a preset or describe the task; the models are ranked by how well their signatures meet each need.")
choice = st.selectbox("Preset", [NO_PRESET, *PRESETS], key="rec_preset")
preset = None if choice == NO_PRESET else choice
try:
    submitted = profile_form(preset)
except ProfileError as exc:
    st.error(str(exc))
    submitted = None
if submitted is not None:
    st.session_state[PROFILE_KEY] = submitted.to_dict()

if PROFILE_KEY not in st.session_state:
    st.stop()

profile = TaskProfile(**st.session_state[PROFILE_KEY])
ranking = recommend(context.cards, profile)
needs = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in profile.to_dict().items() if key != "name")
st.subheader(f"Ranking for {profile.name}")
st.caption(needs)
widgets.simulated_note(context.cards)

st.dataframe(
    tables.ranking_table(ranking),
    hide_index=True,
    width="stretch",
    column_config={"simulated": st.column_config.CheckboxColumn("simulated"), "score": st.column_config.NumberColumn("score (0-100)", format="%.1f")},
)
result = {"profile": profile.to_dict(), "scope": "all", "store": context.db, "ranking": [rec.to_dict() for rec in ranking]}
st.download_button(
    "Download the ranking as JSON", data=json.dumps(result, indent=2, ensure_ascii=False), file_name=f"bsb-ranking-{profile.name.replace(' ', '_')}.json",
    mime="application/json", on_click="ignore", icon=":material/download:",
)  # fmt: skip

for rec in ranking:
    with st.expander(f"#{rec.rank} {tables.model_label(rec.model, rec.simulated)}: score {rec.score:.1f}", expanded=rec.rank <= EXPANDED_RESULTS):
        if rec.simulated:
            st.badge("simulated", icon=":material/smart_toy:", color="orange")
        reasons = rec.reasons()
        if reasons:
            st.markdown("**Why**")
            for reason in reasons:
                st.markdown(f"- {reason}")
        for warning in rec.warnings:
            st.warning(warning)
        if rec.prompt_tips:
            st.markdown("**Prompt tips**")
            for tip in rec.prompt_tips:
                st.markdown(f"- {tip}")

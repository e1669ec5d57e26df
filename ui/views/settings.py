"""Settings: the store the app reads, the providers and models in use, and API keys.

Keys are write-only here: the page stores a key in the OS keyring through
``bsb_core.secrets.set_key`` and shows only where each key comes from, never its value.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from bsb_core.config import PROVIDERS, Config, ConfigError, load_config
from bsb_core.secrets import ENV_VARS, KeyringUnavailableError, env_vars_for, key_sources, keyring_backend_name, set_key
from ui import data, tables

CUSTOM_KEY_NAME = "other…"
# Session-state key of the last key form's outcome: (streamlit function name, message).
KEY_OUTCOME = "settings_key_outcome"


def store_key(api_key_envs: dict[str, str]) -> None:
    """Store the submitted key in the keyring, then blank the field, before the page reruns.

    This runs as the submit button's callback, the one place where Streamlit lets code reset a
    widget's value, so the key does not stay in the session state after it is stored.
    """
    value = st.session_state.get("key_value", "")
    st.session_state["key_value"] = ""
    chosen = st.session_state.get("key_name")
    name = st.session_state.get("key_custom_name", "").strip() if chosen == CUSTOM_KEY_NAME else chosen
    try:
        set_key(name, value)
    except (KeyringUnavailableError, ValueError) as exc:
        st.session_state[KEY_OUTCOME] = ("error", str(exc))
        return
    message = f"Stored the key for {name} in the keyring."
    overriding = [variable for variable in env_vars_for(name, api_key_envs.get(name)) if os.environ.get(variable)]
    if overriding:
        message += f" Note: {overriding[0]} is set in the app's environment and takes precedence over the keyring."
    st.session_state[KEY_OUTCOME] = ("success", message)


def key_names(config: Config) -> tuple[list[str], dict[str, str]]:
    """Return the key names to list (known providers plus the config's models) and their api_key_env overrides."""
    names = list(ENV_VARS)
    api_key_envs: dict[str, str] = {}
    for model in config.models:
        if model.provider == "sim":
            continue
        name = model.key_name or model.provider
        names.append(name)
        if model.api_key_env:
            api_key_envs[name] = model.api_key_env
    return list(dict.fromkeys(names)), api_key_envs


def key_table(names: list[str], api_key_envs: dict[str, str]) -> pd.DataFrame:
    """Return where each key name's key comes from (environment variable, keyring or not set), without values."""
    rows = []
    for found in key_sources(names, api_key_envs):
        if found.source and found.source.startswith("env:"):
            source = f"environment variable {found.source[4:]}"
        elif found.source == "keyring":
            source = "keyring"
        else:
            source = "not set"
        rows.append(
            {
                "key name": found.name,
                "source": source,
                "environment variables": ", ".join(env_vars_for(found.name, api_key_envs.get(found.name))),
                "keyring note": found.keyring_error or "",
            }
        )
    return pd.DataFrame(rows, columns=["key name", "source", "environment variables", "keyring note"])


st.title("Settings")

# --- store -----------------------------------------------------------------------------------
st.subheader("Database")
location = data.current_location()
st.markdown(f"The app reads **`{location.path}`** ({location.source}).")
if location.config_error:
    st.warning(f"bsb.toml could not be read: {location.config_error}")
if location.exists:
    try:
        version = data.store_version(location.path)
        counts = {"models": len(data.models(str(location.path), version)), "runs": version[3], "metric values": version[4], "signature cards": version[5]}
        st.caption(" · ".join(f"{value:,} {name}" for name, value in counts.items()) + f" · {location.path.stat().st_size / 1e6:.1f} MB")
    except data.StoreUnreadableError as exc:
        st.error(str(exc))
else:
    st.caption("The file does not exist yet: `bsb run`, `bsb import` or the Runs page create it.")
with st.form("store_form"):
    entered = st.text_input(
        "Use another store for this browser session", value=st.session_state.get(data.DB_OVERRIDE_KEY, ""),
        placeholder="path/to/bsb.db", key="store_path",
    )  # fmt: skip
    use, reset = st.columns(2)
    apply_path = use.form_submit_button("Use this store")
    reset_path = reset.form_submit_button("Back to the default")
if apply_path and entered.strip():
    st.session_state[data.DB_OVERRIDE_KEY] = entered.strip()
    st.rerun()
if reset_path:
    st.session_state.pop(data.DB_OVERRIDE_KEY, None)
    st.rerun()
st.caption("To change the default for every session, set `BSB_DB` or `database` in bsb.toml before starting the app.")

# --- providers and models --------------------------------------------------------------------
st.subheader("Providers and models")
try:
    config = load_config()
except ConfigError as exc:
    st.error(str(exc))
    config = Config()
st.markdown(
    f"Providers BSB supports: {', '.join(f'`{name}`' for name in PROVIDERS)}. "
    f"Models a run collects ({'from ' + config.source if config.source else 'no bsb.toml, so the simulated personas'}):"
)
st.dataframe(
    pd.DataFrame({"model": config.model_specs(), "provider": [spec.split("/", 1)[0] for spec in config.model_specs()]}),
    hide_index=True,
    width="stretch",
)
if location.exists:
    try:
        version = data.store_version(location.path)
        rows = data.models(str(location.path), version)
    except data.StoreUnreadableError:
        rows = []
    if rows:
        st.markdown("Models in the store:")
        frame = pd.DataFrame(
            [
                {
                    "model": tables.model_label(row["name"], row["simulated"]),
                    "provider": row["provider"],
                    "simulated": row["simulated"],
                    "responses": row["responses"],
                    "failed": row["failed"] or 0,
                }
                for row in rows
            ]
        )
        st.dataframe(frame, hide_index=True, width="stretch", column_config={"simulated": st.column_config.CheckboxColumn("simulated")})

# --- keys ------------------------------------------------------------------------------------
st.subheader("API keys")
st.markdown(
    f"Keys are read from the environment first, then from the OS keyring (service `bsb`, backend `{keyring_backend_name()}`). "
    "This page stores or replaces a key in the keyring; it never shows a stored key."
)
names, api_key_envs = key_names(config)
st.dataframe(key_table(names, api_key_envs), hide_index=True, width="stretch")

with st.form("key_form", clear_on_submit=True):
    columns = st.columns([1, 1, 2])
    columns[0].selectbox("Key name", [*names, CUSTOM_KEY_NAME], key="key_name")
    columns[1].text_input("Other key name", placeholder="e.g. openrouter", key="key_custom_name")
    columns[2].text_input("API key", type="password", key="key_value", help="Stored in the keyring; the field is cleared after saving.")
    st.form_submit_button("Store the key", type="primary", on_click=store_key, args=(api_key_envs,))
outcome = st.session_state.pop(KEY_OUTCOME, None)
if outcome is not None:
    kind, message = outcome
    getattr(st, kind)(message)

"""The BSB app: ``streamlit run ui/app.py`` (the store is ``$BSB_DB``, bsb.toml's ``database`` or ./bsb.db).

This script sets up the page and the navigation. Each page lives in ``ui/views/`` and reads
the store through :mod:`ui.data`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` puts ui/ on sys.path, not the repository root that contains the
# `ui` and `bsb_core` packages. Adding the root lets the app run from a checkout without install.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402

from ui import data  # noqa: E402

# The tab icon is an emoji because Streamlit draws an emoji icon in the browser. A ":material/…:"
# tab icon makes the browser fetch it from fonts.gstatic.com, and the app must contact no other host.
st.set_page_config(page_title="BSB: Behavioral Signature Benchmark", page_icon="📡", layout="wide")

# The pages live in views/, not pages/: Streamlit treats a pages/ folder beside the main script
# as a version-1 multipage app and then runs a deep link such as /card without this script.
PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/radar:", default=True),  # served at /
    st.Page("views/card.py", title="Model card", icon=":material/badge:", url_path="card"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("views/drift.py", title="Drift map", icon=":material/grid_on:", url_path="drift"),
    st.Page("views/recommend.py", title="Which model fits my task", icon=":material/recommend:", url_path="recommend"),
    st.Page("views/runs.py", title="Runs", icon=":material/play_circle:", url_path="runs"),
    st.Page("views/settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
]

navigation = st.navigation(PAGES)

with st.sidebar:
    location = data.current_location()
    st.caption(f"Store: `{location.path}`  \n({location.source})")
    st.caption("BSB measures how models answer: structure, hedging, refusals, tone and format compliance. Simulated personas are marked “simulated”.")

navigation.run()

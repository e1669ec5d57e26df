"""The BSB Streamlit app: pages over the signature store, run with ``streamlit run ui/app.py``."""

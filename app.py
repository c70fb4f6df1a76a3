"""Saliency Lab: see why an image classifier decided what it decided.

Entry point of the dashboard: page setup, navigation and the shared sidebar only.
Run with ``streamlit run app.py``.
"""

import streamlit as st

from dashboard import ui

st.set_page_config(page_title="Saliency Lab", page_icon="🔍", layout="wide")

page = st.navigation(
    {
        "Saliency Lab": [st.Page("pages/home.py", title="Home", icon="🏠", default=True)],
        "Experiments": [
            st.Page("pages/parameter_effect.py", title="Parameter effect", icon="🎛️"),
            st.Page("pages/cross_class.py", title="Cross-class", icon="🐾"),
            st.Page("pages/compare_models.py", title="Compare models", icon="⚖️"),
            st.Page("pages/mask_size.py", title="RISE mask size", icon="🧩"),
            st.Page("pages/lime_vs_rise.py", title="LIME vs RISE", icon="🆚"),
            st.Page("pages/sanity_check.py", title="Sanity check", icon="🎲"),
            st.Page("pages/dataset_study.py", title="Dataset study", icon="📊"),
        ],
    }
)
ui.compute_service()  # the first visit opens the store (and starts SALIENCY_LAB_WARM's warm-up)
st.session_state["_ctx_ready"] = False
ui.sidebar()
page.run()

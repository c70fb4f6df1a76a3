"""Experiment 7: the lab's claims measured over a folder of images (a dataset study)."""

import streamlit as st

from dashboard import ui

ctx = ui.page_intro(
    "📊 Dataset study",
    "One image says little about a method. A study explains every image of a folder with "
    "several models, methods and settings and scores each map by deletion and insertion "
    "(`python -m xai_core.study`, see the README). Here: its AUCs per configuration, one "
    "point per image, the paired comparisons on the same images, and each of the lab's "
    "claims as a measured statement with its 95% interval and an exact test's p-value.",
    "a claim is established only when the exact sign-flip test, corrected for the number of "
    "claims (Holm), gives p ≤ 0.05; with 4 images no difference can be established at 95% "
    "(the smallest p-value is 0.125). Compare numbers only within one protocol.",
)
with st.expander("Run a small study on the data/ photos", expanded=False):
    if ctx is not None:
        made = ui.small_study(ctx)
        if made is not None:
            st.session_state["sfolder"] = made  # show it (the picker is drawn below)
folders = ui.study_folders()
name = ui.study_folder_picker(folders)
if name is not None:
    ui.show_study(name, folders[name], ctx)

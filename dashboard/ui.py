"""What a page uses: ``from dashboard import ui``, then ``ui.page_intro(...)``, ``ui.run(...)``."""

from dashboard import models
from dashboard.comparison import show, show_as_ready, show_results
from dashboard.controls import (
    MAX_MASKS,
    default_params,
    fill_control,
    lime_controls,
    method_controls,
    rise_controls,
    run_button,
    target_of,
)
from dashboard.models import get_model, model_choices, model_label, needs_download
from dashboard.sanity import LABELS as sanity_labels
from dashboard.sanity import sanity_check, sanity_figure, show_sanity
from dashboard.sidebar import (
    Context,
    cached_probabilities,
    camera_photo,
    context,
    image_key,
    image_label,
    page_intro,
    sample_image,
    sample_names,
    sidebar,
)
from dashboard.state import multiselect, number, selectbox, slider, toggle
from dashboard.study import folder_picker as study_folder_picker
from dashboard.study import results_folders as study_folders
from dashboard.study import show_study, small_study
from dashboard.views import (
    Result,
    auc_summary,
    compute_service,
    computed,
    run,
    top_classes,
)

__all__ = [
    "MAX_MASKS",
    "Context",
    "Result",
    "auc_summary",
    "cached_probabilities",
    "camera_photo",
    "compute_service",
    "computed",
    "context",
    "default_params",
    "fill_control",
    "get_model",
    "image_key",
    "image_label",
    "lime_controls",
    "method_controls",
    "model_choices",
    "model_label",
    "models",
    "multiselect",
    "needs_download",
    "number",
    "page_intro",
    "rise_controls",
    "run",
    "run_button",
    "sample_image",
    "sample_names",
    "sanity_check",
    "sanity_figure",
    "sanity_labels",
    "selectbox",
    "show",
    "show_as_ready",
    "show_results",
    "show_sanity",
    "show_study",
    "sidebar",
    "slider",
    "small_study",
    "study_folder_picker",
    "study_folders",
    "target_of",
    "toggle",
    "top_classes",
]

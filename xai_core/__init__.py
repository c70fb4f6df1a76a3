"""xai_core: black-box saliency (RISE, LIME) for image classifiers.

Public names are exported here; modules whose names start with ``_`` are private.
TensorFlow is imported only when a model is loaded.
"""

from xai_core.errors import ImageError, ModelLoadError
from xai_core.explain import (
    DEFAULTS,
    METHODS,
    Explanation,
    explain,
    export_bytes,
    export_files,
    faithfulness_of,
    resolve_target,
)
from xai_core.images import MAX_PIXELS, fit_to_size, load_image, load_sample, sample_names
from xai_core.lime_explainer import LimeResult, check_lime_params, explain_lime
from xai_core.metrics import (
    CausalCurve,
    auc_table,
    baseline_maps,
    center_saliency,
    deletion_curve,
    faithfulness,
    insertion_curve,
    pointing_game,
    random_saliency,
)
from xai_core.models import (
    MODEL_NAMES,
    PREPROCESSING,
    Classifier,
    imagenet_class_names,
    load_classifier,
)
from xai_core.render import (
    COLORMAPS,
    compute_contours,
    contour_levels,
    curves_figure,
    grid_figure,
    grid_image,
    heatmap_figure,
    heatmap_image,
    isolines_figure,
    isolines_image,
    normalise,
    overlay_figure,
    overlay_image,
    png_bytes,
    representations,
    save_png,
)
from xai_core.rise import check_rise_params, explain_rise
from xai_core.segmentation import segment

__all__ = [
    "COLORMAPS",
    "DEFAULTS",
    "MAX_PIXELS",
    "METHODS",
    "MODEL_NAMES",
    "PREPROCESSING",
    "CausalCurve",
    "Classifier",
    "Explanation",
    "ImageError",
    "LimeResult",
    "ModelLoadError",
    "auc_table",
    "baseline_maps",
    "center_saliency",
    "check_lime_params",
    "check_rise_params",
    "compute_contours",
    "contour_levels",
    "curves_figure",
    "deletion_curve",
    "explain",
    "explain_lime",
    "explain_rise",
    "export_bytes",
    "export_files",
    "faithfulness",
    "faithfulness_of",
    "fit_to_size",
    "grid_figure",
    "grid_image",
    "heatmap_figure",
    "heatmap_image",
    "imagenet_class_names",
    "insertion_curve",
    "isolines_figure",
    "isolines_image",
    "load_classifier",
    "load_image",
    "load_sample",
    "normalise",
    "overlay_figure",
    "overlay_image",
    "png_bytes",
    "pointing_game",
    "random_saliency",
    "representations",
    "resolve_target",
    "sample_names",
    "save_png",
    "segment",
]

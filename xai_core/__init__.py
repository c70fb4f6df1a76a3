"""xai_core: black-box saliency (RISE, LIME) for image classifiers, Grad-CAM as a white-box
reference, and the model-randomisation sanity check.

Public names are exported here; modules whose names start with ``_`` are private.
TensorFlow is imported only when a model is loaded.

Layout (every arrow points one way: the command line -> explain/export -> the rest):

- :mod:`xai_core.explainers`: RISE, LIME and Grad-CAM over one result type, :class:`Explanation`.
- :mod:`xai_core.sanity`: the model-randomisation sanity check (Adebayo et al., 2018).
- :mod:`xai_core.metrics`: deletion / insertion curves, pointing game, baselines.
- :mod:`xai_core.models`: the classifier contract, the model zoo, backends (LiteRT).
- :mod:`xai_core.viz`: colours, contours, PNG images and Plotly figures.
- :mod:`xai_core.images`: image loading and fitting; :mod:`xai_core.export`: files.
- :mod:`xai_core.explain`: one explanation by method name, end to end.
- :mod:`xai_core.cli`: ``python -m xai_core`` (also ``saliency-lab``).
"""

from xai_core._common import ScoresNotProbabilitiesWarning
from xai_core.errors import ImageError, ModelLoadError
from xai_core.explain import (
    DEFAULTS,
    METHODS,
    explain,
    faithfulness_of,
    resolve_target,
    rise_explanation,
)
from xai_core.explainers.base import Explanation
from xai_core.explainers.gradcam import explain_gradcam
from xai_core.explainers.lime import (
    LimeFrame,
    LimeResult,
    check_lime_params,
    explain_lime,
    segment,
)
from xai_core.explainers.rise import (
    ESTIMATORS,
    FILLS,
    MAX_MASKS,
    SAMPLERS,
    RiseFrame,
    RiseRun,
    check_rise_params,
    explain_rise,
    split_half_r,
)
from xai_core.export import export_bytes, export_files
from xai_core.images import MAX_PIXELS, fit_to_size, load_image, load_sample, sample_names
from xai_core.metrics import (
    PROTOCOLS,
    CausalCurve,
    auc_table,
    baseline_maps,
    causal_curves,
    center_saliency,
    deletion_curve,
    faithfulness,
    insertion_curve,
    pointing_game,
    random_saliency,
)
from xai_core.models import (
    MODEL_NAMES,
    OFFLINE_MODEL_NAMES,
    PREPROCESSING,
    Classifier,
    imagenet_class_names,
    load_classifier,
    resolve_model_name,
    zero_input_rgb,
)
from xai_core.sanity import SANITY_METHODS, RandomizationResult, randomization_test
from xai_core.viz import (
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

__all__ = [
    "COLORMAPS",
    "DEFAULTS",
    "ESTIMATORS",
    "FILLS",
    "MAX_MASKS",
    "MAX_PIXELS",
    "METHODS",
    "MODEL_NAMES",
    "OFFLINE_MODEL_NAMES",
    "PREPROCESSING",
    "PROTOCOLS",
    "SAMPLERS",
    "SANITY_METHODS",
    "CausalCurve",
    "Classifier",
    "Explanation",
    "ImageError",
    "LimeFrame",
    "LimeResult",
    "ModelLoadError",
    "RandomizationResult",
    "RiseFrame",
    "RiseRun",
    "ScoresNotProbabilitiesWarning",
    "auc_table",
    "baseline_maps",
    "causal_curves",
    "center_saliency",
    "check_lime_params",
    "check_rise_params",
    "compute_contours",
    "contour_levels",
    "curves_figure",
    "deletion_curve",
    "explain",
    "explain_gradcam",
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
    "randomization_test",
    "representations",
    "resolve_model_name",
    "resolve_target",
    "rise_explanation",
    "sample_names",
    "save_png",
    "segment",
    "split_half_r",
    "zero_input_rgb",
]

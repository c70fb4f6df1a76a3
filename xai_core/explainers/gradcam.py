"""Grad-CAM: a white-box reference map (Selvaraju et al., ICCV 2017).

Unlike RISE and LIME, Grad-CAM looks *inside* the model: it needs the Keras model, not
only a ``predict`` function. For a convolutional layer with feature maps A^k (h x w x K)
and the score y^c of class c::

    alpha_k = mean over (i, j) of d y^c / d A^k_ij        (global-average-pooled gradients)
    L^c     = ReLU(sum_k alpha_k A^k)                      (h x w), upsampled to the image

The score y^c is the class's score *before* the softmax, as in the paper, wherever the
model exposes it: the output of a model that outputs logits
(``Classifier.outputs_logits``), or the input of a final softmax (a ``Dense`` /
convolution with ``activation="softmax"``, or a ``Softmax`` / ``Activation("softmax")``
layer). Otherwise the probability itself is used; the record says which (``params["score"]``).
The gradient of a probability is damped where the model is confident, so pre-softmax
scores give the clearer map.

Grad-CAM runs through ``clf.model`` with the classifier's preprocessing, even when
another engine (LiteRT) runs the classifier's predictions: the map is the Keras model's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from xai_core._common import check_image, check_int, check_target
from xai_core.explainers.base import Explanation


def _conv_types() -> tuple[type, ...]:
    import keras

    names = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D",
             "Conv2DTranspose")
    return tuple(getattr(keras.layers, n) for n in names if hasattr(keras.layers, n))


def _spatial(layer: Any) -> bool:
    """Whether ``layer`` outputs one 4-D (N, h, w, C) feature map."""
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return False
    return len(shape) == 4


def conv_layer_names(model: Any) -> list[str]:
    """Names of the layers Grad-CAM can use, in model order: the convolutional layers and
    the layers after them that still output an (N, h, w, C) feature map (batch
    normalisation, activations, additions...). The default is the last of them."""
    conv = _conv_types()
    names: list[str] = []
    seen_conv = False
    for layer in model.layers:
        seen_conv = seen_conv or isinstance(layer, conv)
        if seen_conv and _spatial(layer):
            names.append(layer.name)
    return names


def find_layer(model: Any, layer: str | None = None) -> Any:
    """The layer Grad-CAM uses: ``layer`` by name, or the last one of :func:`conv_layer_names`.

    Raises ``ValueError`` when the model has no convolutional layer or ``layer`` is not one
    of its feature-map layers.
    """
    names = conv_layer_names(model)
    if not names:
        raise ValueError(
            f"Grad-CAM needs a convolutional layer (a feature map of shape (N, h, w, C)); "
            f"model {model.name!r} has none (its layers: "
            f"{', '.join(type(x).__name__ for x in model.layers[:8])}"
            f"{', ...' if len(model.layers) > 8 else ''}). Use RISE or LIME for this model"
        )
    if layer is None:
        return model.get_layer(names[-1])
    if not isinstance(layer, str):
        raise ValueError(f"layer must be a layer name (a string) or None; got {layer!r}")
    if layer not in names:
        shown = ", ".join(names[-6:])
        raise ValueError(f"layer {layer!r} is not a convolutional feature-map layer of "
                         f"{model.name!r}; the last ones are: {shown}")
    return model.get_layer(layer)


def _score_head(model: Any, outputs_logits: bool) -> tuple[str, Any, Any]:
    """(kind, tensor to take from the model, function from it to pre-softmax scores)."""
    import keras

    last = model.layers[-1]
    if outputs_logits:
        return "logit", model.outputs[0], None
    softmax = keras.activations.get("softmax")
    act = getattr(last, "activation", None)
    if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation) and act is softmax):
        return "logit", last.input, None
    if isinstance(last, keras.layers.Dense) and act is softmax:
        kernel, bias = last.kernel, last.bias

        def linear(x):
            y = keras.ops.matmul(x, kernel)
            return y if bias is None else y + bias

        return "logit", last.input, linear
    return "probability", model.outputs[0], None


def explain_gradcam(
    clf: Any,
    image: np.ndarray,
    target: int,
    layer: str | None = None,
) -> Explanation:
    """Grad-CAM map of ``image`` for class ``target`` (Selvaraju et al., 2017): white-box.

    Parameters
    ----------
    clf
        A :class:`~xai_core.Classifier` (``.model`` is the Keras model; its
        ``preprocessing`` and ``outputs_logits`` are honoured). A plain ``predict``
        function is not enough: Grad-CAM needs the model's gradients.
    image
        float32 (H, W, 3) RGB in [0, 255] at the classifier's input size.
    target
        Class index.
    layer
        Name of the convolutional layer; default the last layer of the model with a
        spatial feature map (e.g. ``_conv_head``'s activation in EfficientNet-Lite0,
        7 x 7 x 1280). See :func:`conv_layer_names`.

    Returns
    -------
    Explanation
        ``method="gradcam"``; ``.saliency`` (also ``np.asarray(result)``) is the float32
        (H, W) map, bilinearly upsampled from the layer's h x w grid and divided by its
        maximum, so it lies in [0, 1] (all zeros when no location has positive evidence).
        ``extra``: ``layer``, ``layer_shape`` (h, w, C), ``cam_max`` (the maximum before
        scaling), ``white_box=True``. ``params["score"]`` is ``"logit"`` (pre-softmax) or
        ``"probability"``.

    Raises
    ------
    ValueError
        No Keras model, no convolutional layer, an unknown ``layer``, a bad image or target.
    """
    import keras
    import tensorflow as tf

    from xai_core.models.classifier import _preprocess

    model = getattr(clf, "model", None)
    if not isinstance(model, keras.Model):
        raise ValueError(
            "Grad-CAM is a white-box method: it needs a Classifier with its Keras model "
            "(xai_core.load_classifier(...)), not a plain predict function"
        )
    img = check_image(image)
    size = tuple(getattr(clf, "input_size", img.shape[:2]))
    if img.shape[:2] != size:
        raise ValueError(f"the image must be {size[1]}x{size[0]} (the model's input size); "
                         f"got {img.shape[1]}x{img.shape[0]}: use clf.prepare(image)")
    check_int("target", target, 0)
    t0 = time.perf_counter()
    conv = find_layer(model, layer)
    kind, head, linear = _score_head(model, bool(getattr(clf, "outputs_logits", False)))
    x = _preprocess(clf.preprocessing, tf.constant(img[None]))
    with tf.GradientTape() as tape:
        if isinstance(model, keras.Sequential):
            # layer by layer: a loaded Sequential's layers hold the symbolic outputs of more
            # than one graph, so a sub-model made of them may be disconnected
            h = x
            for lay in model.layers:
                if lay is model.layers[-1] and head is not model.outputs[0]:
                    pre = h
                h = lay(h, training=False)
                if lay is conv:
                    feats = h
                    tape.watch(feats)
            out = h
            if head is model.outputs[0]:
                pre = out
        else:
            grad_model = keras.Model(model.inputs, [conv.output, head, model.outputs[0]])
            feats, pre, out = grad_model(x, training=False)
        scores = pre if linear is None else linear(pre)
        target = check_target(target, int(scores.shape[-1]))
        score = scores[:, target]
    grads = tape.gradient(score, feats)
    if grads is None:
        raise ValueError(f"the class score does not depend on layer {conv.name!r}; "
                         "choose another layer")
    a = feats.numpy()[0].astype(np.float64)
    g = grads.numpy()[0].astype(np.float64)
    weights = g.mean(axis=(0, 1))  # alpha_k
    cam = np.maximum((a * weights).sum(axis=-1), 0.0)
    cam_max = float(cam.max())
    h, w = img.shape[:2]
    up = tf.image.resize(cam[None, ..., None].astype(np.float32), (h, w), method="bilinear")
    sal = np.maximum(up.numpy()[0, ..., 0], 0.0)
    peak = float(sal.max())
    sal = (sal / peak if peak > 0 else np.zeros_like(sal)).astype(np.float32)
    probs = out.numpy()[0]
    if getattr(clf, "outputs_logits", False):
        probs = tf.nn.softmax(probs).numpy()
    params = {"method": "gradcam", "layer": conv.name, "score": kind}
    extra = {"layer": conv.name, "layer_shape": [int(v) for v in a.shape],
             "cam_max": round(cam_max, 6), "white_box": True}
    return Explanation("gradcam", sal, img, int(target), params, forward_passes=1,
                       wall_s=time.perf_counter() - t0, probability=float(probs[target]),
                       extra=extra)

"""Hostile ``.keras`` files are refused before Keras builds anything (issue 12).

Every file is made in the test from the tiny CNN's own file, by editing its config.json.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from xai_core import ModelLoadError, load_classifier
from xai_core.models.model_file import (
    MAX_COMPRESSION_RATIO,
    MAX_MEMBERS,
    check_model_file,
)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_keras(path: Path, files: dict[str, bytes], compress: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def edited(square_cnn, tmp_path: Path, edit, name: str = "edited.keras") -> Path:
    """The tiny CNN's file with ``edit(config)`` applied to its config.json."""
    files = members(square_cnn[1])
    config = json.loads(files["config.json"])
    edit(config)
    files["config.json"] = json.dumps(config).encode()
    return write_keras(tmp_path / name, files)


def layers(config: dict) -> list[dict]:
    return config["config"]["layers"]


def first(config: dict, cls: str) -> dict:
    return next(e for e in layers(config) if e["class_name"] == cls)


def test_the_tiny_cnn_passes_with_exact_estimates(square_cnn):
    clf, path = square_cnn
    report = check_model_file(path)
    assert report.params == clf.model.count_params()
    assert report.input_shape == (None, 32, 32, 3)


def test_estimates_match_keras_on_many_layer_types(tmp_path):
    import keras
    from keras import layers as L

    inp = keras.Input((40, 40, 3))
    a = L.Conv2D(6, 3, strides=2, padding="same")(inp)
    b = L.SeparableConv2D(5, 3, depth_multiplier=2)(L.ZeroPadding2D(1)(a))
    c = L.DepthwiseConv2D(3, padding="same", use_bias=False)(a)
    m = L.Concatenate()([b, c])
    m = L.BatchNormalization()(L.UpSampling2D(2)(L.MaxPooling2D()(m)))
    m = L.Conv2DTranspose(4, 3, strides=2)(m)
    m = L.Conv2D(3, 1)(L.Permute((2, 1, 3))(L.Cropping2D(((1, 0), (2, 1)))(m)))
    m = L.Dense(7)(L.Flatten()(L.AveragePooling2D(4)(m)))
    inner = keras.Sequential([keras.Input((7,)), L.Dense(9), L.LayerNormalization(),
                              L.Reshape((3, 3)), L.Flatten(), L.Dense(3)])
    model = keras.Model(inp, inner(L.Add()([m, L.Dense(7)(m)])))
    path = tmp_path / "many.keras"
    model.save(path)
    assert check_model_file(path).params == model.count_params()


def test_a_huge_layer_is_refused_before_building(square_cnn, tmp_path):
    def huge(config):
        first(config, "Conv2D")["config"]["filters"] = 20_000_000

    path = edited(square_cnn, tmp_path, huge)
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelLoadError, match="filters=20,000,000"):
        load_classifier(path)


@pytest.mark.parametrize("units", [900_000, 20_000])
def test_declared_weights_beyond_the_budget_or_the_file_are_refused(square_cnn, tmp_path, units):
    def wide(config):  # wide Dense layers: each under the per-layer cap, together huge
        dense = first(config, "Dense")
        dense.pop("build_config", None)
        i = layers(config).index(dense)
        for k in range(2):
            extra = json.loads(json.dumps(dense))
            extra["config"]["name"] = f"wide{k}"
            extra["config"]["units"] = units
            layers(config).insert(i, extra)

    path = edited(square_cnn, tmp_path, wide)
    with pytest.raises(ModelLoadError, match="million parameters|more than its weights file"):
        check_model_file(path)


def test_a_little_extra_is_still_refused_when_the_weights_are_not_there(square_cnn, tmp_path):
    def extra_dense(config):
        dense = first(config, "Dense")
        dense.pop("build_config", None)
        extra = json.loads(json.dumps(dense))
        extra["config"].update(name="extra", units=3000)
        layers(config).insert(layers(config).index(dense), extra)
        extra2 = json.loads(json.dumps(extra))
        extra2["config"].update(name="extra2", units=3000)
        layers(config).insert(layers(config).index(dense), extra2)

    # 9 M parameters: within the budget, but the file holds a few kB of weights
    with pytest.raises(ModelLoadError, match="more than its weights file can hold"):
        check_model_file(edited(square_cnn, tmp_path, extra_dense))


def test_a_build_config_cannot_declare_weights_either(square_cnn, tmp_path):
    def built_big(config):
        dense = first(config, "Dense")
        dense["build_config"] = {"input_shape": [None, 500_000_000]}  # the graph says 32

    with pytest.raises(ModelLoadError, match="parameters"):
        check_model_file(edited(square_cnn, tmp_path, built_big))


def test_unknown_layers_cannot_declare_huge_sizes(square_cnn, tmp_path):
    def odd(config):
        dense = first(config, "Dense")
        dense["class_name"] = "SomeNewLayer"
        dense["config"]["units"] = 5_000_000

    with pytest.raises(ModelLoadError, match="units=5,000,000"):
        check_model_file(edited(square_cnn, tmp_path, odd))


def test_layers_of_unknown_size_need_the_shape_keras_would_build_them_with(square_cnn,
                                                                          tmp_path):
    def unknown_then_dense(config):
        dense = first(config, "Dense")
        odd = {"class_name": "SomethingNew", "config": {"name": "odd"}}
        layers(config).insert(layers(config).index(dense), odd)
        dense.pop("build_config", None)

    with pytest.raises(ModelLoadError, match="size of its Dense layer cannot be told"):
        check_model_file(edited(square_cnn, tmp_path, unknown_then_dense))

    def unknown_kept_build_config(config):
        dense = first(config, "Dense")
        odd = {"class_name": "SomethingNew", "config": {"name": "odd"}}
        layers(config).insert(layers(config).index(dense), odd)

    assert check_model_file(edited(square_cnn, tmp_path, unknown_kept_build_config,
                                   "kept.keras")).params == square_cnn[0].model.count_params()


def test_a_large_input_is_refused(square_cnn, tmp_path):
    def big_input(config):
        first(config, "InputLayer")["config"]["batch_shape"] = [None, 4000, 4000, 3]

    with pytest.raises(ModelLoadError, match="4000 x 4000 pixels; at most 1024 x 1024"):
        load_classifier(edited(square_cnn, tmp_path, big_input))


def test_memory_estimate_refuses_huge_activations(square_cnn, tmp_path):
    def upsampled(config):  # 1024 x 1024 inputs, then a 64-channel full-size layer
        first(config, "InputLayer")["config"]["batch_shape"] = [None, 1024, 1024, 3]
        conv = first(config, "Conv2D")
        conv["config"].update(filters=64, padding="same", strides=[1, 1])
        conv.pop("build_config", None)

    with pytest.raises(ModelLoadError, match="GB of memory"):
        check_model_file(edited(square_cnn, tmp_path, upsampled))


def test_zip_bombs_and_odd_archives_are_refused(square_cnn, tmp_path):
    files = members(square_cnn[1])
    config = json.loads(files["config.json"])
    padded = json.dumps(config).encode() + b" " * (20 * 2**20)  # valid JSON, 20 MB
    bomb = write_keras(tmp_path / "bomb.keras", {**files, "config.json": padded},
                       zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ModelLoadError, match="packed .* times|configuration is 20 MB"):
        check_model_file(bomb)
    zeros = write_keras(tmp_path / "zeros.keras", {**files, "assets/x": b"\0" * (8 * 2**20)},
                        zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelLoadError, match="packed .* times"):
        check_model_file(zeros)
    assert MAX_COMPRESSION_RATIO < 8 * 2**20 / 10_000
    many = write_keras(tmp_path / "many.keras",
                       {**files, **{f"assets/{i}": b"" for i in range(MAX_MEMBERS + 1)}})
    with pytest.raises(ModelLoadError, match="holds .* files"):
        check_model_file(many)
    no_config = write_keras(tmp_path / "nocfg.keras", {"model.weights.h5": b""})
    with pytest.raises(ModelLoadError, match="no config.json"):
        check_model_file(no_config)
    for data in (b"{not json", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000):
        odd = write_keras(tmp_path / "odd.keras", {**files, "config.json": data})
        with pytest.raises(ModelLoadError, match="configuration"):
            check_model_file(odd)


def test_messages_never_show_a_server_path(square_cnn, tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip at all")
    files = members(square_cnn[1])
    no_weights = write_keras(tmp_path / "noweights.keras",
                             {k: v for k, v in files.items() if k != "model.weights.h5"})
    half = write_keras(tmp_path / "half.keras",
                       {**files, "model.weights.h5": files["model.weights.h5"][:500]})
    for path in (junk, no_weights, half):
        with pytest.raises(ModelLoadError) as info:
            load_classifier(path)
        text = str(info.value)
        assert path.name in text and str(tmp_path) not in text and "/tmp" not in text, text


def _load_hostile(path: str) -> str:
    try:
        load_classifier(path)
    except ModelLoadError as exc:
        return f"refused: {exc}"
    return "loaded"


def test_a_hostile_file_is_refused_within_a_small_memory_budget(square_cnn, tmp_path):
    from tests.memcap import run_capped

    def huge(config):
        conv = first(config, "Conv2D")
        conv["config"]["filters"] = 900_000  # under the size cap: the estimate must catch it
        conv.pop("build_config", None)

    path = edited(square_cnn, tmp_path, huge)
    status, result = run_capped(_load_hostile, str(path), headroom_mb=512)
    # refused by the check, not by Keras running out of the capped memory
    # ("could not be loaded safely (ResourceExhaustedError ...)" without the check)
    assert status == "ok" and result.startswith("refused:"), result
    assert "could not be loaded: " in result and "Exhausted" not in result, result


def h5_bytes(tmp_path: Path, build) -> bytes:
    import h5py

    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        build(f)
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["fill", "gzip", "external_link", "external_data", "soft",
                                  "strings"])
def test_hostile_weights_files_inside_the_archive_are_refused(square_cnn, tmp_path, kind):
    import h5py
    import numpy as np

    def build(f):
        if kind == "fill":  # 200 MB of fill value, nothing stored
            f.create_dataset("vars/0", shape=(50_000_000,), dtype="f4")
        elif kind == "gzip":
            f.create_dataset("vars/0", data=np.zeros(20_000_000, "f4"),
                             compression="gzip", chunks=(1_000_000,))
        elif kind == "external_link":
            f["vars"] = h5py.ExternalLink("/etc/secret.h5", "/")
        elif kind == "external_data":
            f.create_dataset("vars/0", shape=(10,), dtype="f4",
                             external=[("/etc/passwd", 0, 40)])
        elif kind == "soft":
            f.create_group("layers")
            f["vars"] = h5py.SoftLink("/layers")
        else:
            f.create_dataset("vars/0", data=["a", "b"])

    files = {**members(square_cnn[1]), "model.weights.h5": h5_bytes(tmp_path, build)}
    path = write_keras(tmp_path / f"{kind}.keras", files)
    with pytest.raises(ModelLoadError, match="weights"):
        check_model_file(path)


def test_code_outside_keras_is_refused_before_keras_reads_it(square_cnn, tmp_path):
    def foreign(config):
        first(config, "Dense")["config"]["activation"] = {
            "module": "os", "class_name": "function", "config": "system",
            "registered_name": "function"}

    with pytest.raises(ModelLoadError, match=r"outside Keras \(os\)"):
        check_model_file(edited(square_cnn, tmp_path, foreign))


def test_slow_or_huge_output_models_are_refused(square_cnn, tmp_path):
    def slow(config):  # 1024 x 1024 input, 48 full-size 3x3 convolutions of 48 channels
        first(config, "InputLayer")["config"]["batch_shape"] = [None, 1024, 1024, 3]
        conv = first(config, "Conv2D")
        conv.pop("build_config", None)
        conv["config"].update(filters=48, padding="same", strides=[1, 1])
        i = layers(config).index(conv)
        for k in range(48):
            extra = json.loads(json.dumps(conv))
            extra["config"]["name"] = f"slow{k}"
            layers(config).insert(i + 1, extra)
        for e in layers(config):
            e.pop("build_config", None)

    with pytest.raises(ModelLoadError, match="billion multiply-adds"):
        check_model_file(edited(square_cnn, tmp_path, slow))

    def many_classes(config):
        dense = first(config, "Dense")
        dense.pop("build_config", None)
        dense["config"]["units"] = 200_000

    with pytest.raises(ModelLoadError, match="200,000 scores per image"):
        check_model_file(edited(square_cnn, tmp_path, many_classes, "classes.keras"))

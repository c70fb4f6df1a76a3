from __future__ import annotations

import cv2
import numpy as np

from xai_core.explainers.rise.masks import _interp_matrix, plan_masks


def test_interpolation_matches_opencv_bilinear():
    grid = np.random.default_rng(0).random((7, 9)).astype(np.float32)
    up = _interp_matrix(64, 7) @ grid @ _interp_matrix(80, 9).T
    ref = cv2.resize(grid, (80, 64), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(up, ref, atol=1e-5)


def test_masks_are_shifted_crops_of_the_upsampled_grid():
    plan = plan_masks(20, 5, 0.5, (40, 30), np.random.default_rng(1))
    ch, cw = plan.cell()
    assert (ch, cw) == (8, 6)
    assert plan.shifts.min() >= 0 and (plan.shifts < (ch, cw)).all()
    masks = plan.render(0, 20)
    assert masks.shape == (20, 40, 30) and masks.dtype == np.float32
    assert masks.min() >= 0.0 and masks.max() <= 1.0 + 1e-6
    for i in (0, 7, 19):
        full = cv2.resize(plan.grids[i], (6 * cw, 6 * ch), interpolation=cv2.INTER_LINEAR)
        dy, dx = plan.shifts[i]
        np.testing.assert_allclose(masks[i], full[dy : dy + 40, dx : dx + 30], atol=1e-5)


def test_rendering_in_slices_equals_rendering_at_once():
    plan = plan_masks(50, 7, 0.3, (32, 32), np.random.default_rng(2))
    np.testing.assert_allclose(plan.render(10, 13), plan.render(0, 50)[10:13], atol=1e-6)


def test_keep_probability_is_respected():
    plan = plan_masks(2000, 7, 0.2, (32, 32), np.random.default_rng(3))
    assert abs(plan.grids.mean() - 0.2) < 0.01
    assert set(np.unique(plan.grids)) <= {0.0, 1.0}


def test_sobol_plan_is_balanced_and_deterministic():
    a = plan_masks(256, 7, 0.5, (56, 56), np.random.default_rng(4), sampler="sobol")
    b = plan_masks(256, 7, 0.5, (56, 56), np.random.default_rng(4), sampler="sobol")
    np.testing.assert_array_equal(a.grids, b.grids)
    np.testing.assert_array_equal(a.shifts, b.shifts)
    assert set(np.unique(a.grids)) <= {0.0, 1.0}
    # a scrambled Sobol sequence is stratified in every coordinate: each cell is kept
    # in exactly half of 256 masks, and every shift value is used equally often
    np.testing.assert_array_equal(a.grids.sum(axis=0), np.full((7, 7), 128.0))
    ch, cw = a.cell()
    assert a.shifts.min() >= 0 and (a.shifts < (ch, cw)).all()
    np.testing.assert_array_equal(np.bincount(a.shifts[:, 0], minlength=ch), np.full(ch, 256 // ch))


def test_sobol_plan_prefix_does_not_depend_on_its_length():
    short = plan_masks(100, 5, 0.3, (40, 40), np.random.default_rng(5), sampler="sobol")
    long = plan_masks(3000, 5, 0.3, (40, 40), np.random.default_rng(5), sampler="sobol")
    np.testing.assert_array_equal(short.grids, long.grids[:100])
    np.testing.assert_array_equal(short.shifts, long.shifts[:100])
    assert abs(long.grids.mean() - 0.3) < 0.005


def test_antithetic_pairs_are_complements_with_the_same_shift():
    plan = plan_masks(9, 4, 0.5, (32, 32), np.random.default_rng(6), antithetic=True)
    assert plan.n_masks == 9
    np.testing.assert_array_equal(plan.grids[0:8:2] + plan.grids[1:8:2], np.ones((4, 4, 4)))
    np.testing.assert_array_equal(plan.shifts[0:8:2], plan.shifts[1:8:2])
    masks = plan.render(0, 2)
    np.testing.assert_allclose(masks[0] + masks[1], 1.0, atol=1e-5)


def test_unknown_sampler_raises():
    import pytest

    with pytest.raises(ValueError, match="sampler"):
        plan_masks(10, 4, 0.5, (32, 32), np.random.default_rng(0), sampler="halton")

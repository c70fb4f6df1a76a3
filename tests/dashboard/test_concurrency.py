"""Several sessions explaining at once get the same results as alone, through the queue."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard.queue import WorkQueue
from xai_core import explain


@pytest.mark.parametrize("workers", [1, 3])
def test_concurrent_explanations_match_sequential_ones(square_cnn, workers):
    clf, _ = square_cnn
    img = np.full((32, 32, 3), 40.0, np.float32)
    img[6:14, 18:26] = 255.0
    jobs = [("rise", {"n_masks": 300, "mask_size": 8}, s) for s in (0, 1, 2)]
    jobs += [("lime", {"num_samples": 60, "segmentation": "slic"}, 0)]
    alone = [explain(clf.predict, img, m, 1, class_names=clf.class_names, params=p, seed=s)
             for m, p, s in jobs]
    q = WorkQueue(max_workers=workers, poll_s=0.01)
    results: dict[int, np.ndarray] = {}
    running_seen: list[int] = []
    errors: list[BaseException] = []

    def session(i: int) -> None:
        method, params, seed = jobs[i]
        try:
            with q.slot():
                running_seen.append(q.running)
                results[i] = explain(clf.predict, img, method, 1, class_names=clf.class_names,
                                     params=params, seed=seed).saliency
        except BaseException as exc:  # collected, so the test fails loudly below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert max(running_seen) <= workers
    assert q.stats()["finished"] == len(jobs)
    for i, expl in enumerate(alone):
        np.testing.assert_allclose(results[i], expl.saliency, rtol=1e-5, atol=1e-6)

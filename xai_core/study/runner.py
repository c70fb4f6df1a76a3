"""Running a study on Ray: one actor per model replica, images streamed as tasks.

The driver (:func:`run_tasks`) creates ``workers`` actors for one model at a time; each
actor loads the model once (:meth:`StudyWorker.load`) and then explains the images it is
sent, one task per image x setting, with at most two tasks queued per actor so memory
stays bounded whatever the folder size. The driver reads each image's bytes and sends
them with the task (so a cluster needs no shared folder), collects results with
``ray.wait`` as they finish and hands every row to a callback that writes it at once.

By default Ray runs embedded in this process (``ray.init`` with ``num_cpus=workers``);
``address`` connects to an existing cluster instead (``"auto"``, or ``"ray://host:10001"``),
shipping this ``xai_core`` with the job. See https://docs.ray.io/en/latest/ray-core/starting-ray.html.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xai_core.study.plan import Task, model_label
from xai_core.study.results import one_line_error

#: Environment of the Ray workers: TensorFlow and gRPC quiet.
WORKER_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "2",
    "KMP_WARNINGS": "0",
    "PYTHONWARNINGS": "ignore",
}
#: Tasks queued per actor beyond the one it runs (hides the transfer of the next image).
QUEUED_PER_ACTOR = 1


@dataclass(frozen=True)
class TaskResult:
    """What a worker sends back for one task: one row per protocol, and the map."""

    rows: list[dict[str, Any]]
    saliency: np.ndarray | None


class _CountingPredict:
    """``predict`` that counts images and refuses non-finite scores (NaN, inf)."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray]) -> None:
        self._predict = predict
        self.images = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = np.asarray(self._predict(images))
        self.images += len(images)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"the model's scores are not finite (NaN or infinite) for "
                             f"{int((~np.isfinite(out).all(axis=-1)).sum())} of {len(images)} images")
        return out


class StudyWorker:
    """Explains images with one model; a Ray actor in a study (a plain object in tests).

    Parameters
    ----------
    model
        A built-in model name or a ``.keras`` path (as :func:`~xai_core.load_classifier`).
    preprocessing, engine
        Passed to :func:`~xai_core.load_classifier` (preprocessing: model files only).
    batch_size
        Images per model call of the explainers and the metrics.
    save_maps
        Send the saliency map back with the rows.
    """

    def __init__(self, model: str, preprocessing: str = "none", engine: str | None = None,
                 batch_size: int = 32, save_maps: bool = False) -> None:
        self.model, self.preprocessing, self.engine = model, preprocessing, engine
        self.batch_size, self.save_maps = batch_size, save_maps
        self.clf: Any = None

    def load(self) -> dict[str, Any]:
        """Load the model (once); return what run.json records about it."""
        if self.clf is None:
            from xai_core.models import load_classifier

            self.clf = load_classifier(self.model, preprocessing=self.preprocessing,
                                       engine=self.engine)
        c = self.clf
        return {"name": c.name, "input_size": list(c.input_size), "n_classes": c.n_classes,
                "preprocessing": c.preprocessing, "engine": c.engine,
                "engine_note": c.engine_note}

    def run(self, task: Task, data: bytes | str) -> TaskResult:
        """Explain one image (``data``: its bytes, or the error that reading it raised)
        with ``task.setting`` and score it under each of ``task.protocols``.

        Never raises for a bad image or a failing explanation: the rows then carry the
        error in ``status``.
        """
        from xai_core.explain import explain
        from xai_core.images import load_image
        from xai_core.metrics import causal_curves
        from xai_core.models import zero_input_rgb

        setting = task.setting
        base: dict[str, Any] = {
            "image": task.image.rel, "class": task.image.label, "model": model_label(task.model),
            "method": setting.method, "seed": task.seed,
            **{f"{setting.method}.{k}": v for k, v in setting.params},
        }
        saliency = None
        try:
            if isinstance(data, str):
                raise ValueError(data)
            self.load()
            clf = self.clf
            image = clf.prepare(load_image(data))
            counter = _CountingPredict(clf.predict)
            probs = counter(image[None])[0]
            target = int(np.argmax(probs))
            base.update(target=target, target_label=clf.class_names[target],
                        probability=float(probs[target]))
            t0 = time.perf_counter()
            # Grad-CAM is white-box: it needs the classifier itself (and makes no predict call)
            black_box = clf if setting.method == "gradcam" else counter
            expl = explain(black_box, image, setting.method, target, class_names=clf.class_names,
                           params=setting.as_dict, seed=task.seed, batch_size=self.batch_size,
                           model_name=clf.name, image_name=task.image.rel)
            base.update(wall_s=round(time.perf_counter() - t0, 4),
                        forward_passes=counter.images - 1)
            saliency = np.asarray(expl.saliency, np.float32)
            if not np.all(np.isfinite(saliency)):
                raise ValueError("the saliency map contains NaN or infinite values")
        except Exception as exc:  # one image's failure must not end the study
            error = one_line_error(exc)
            return TaskResult([{**base, "protocol": p, "status": error} for p in task.protocols],
                              None)
        rows = []
        for protocol in task.protocols:
            row = {**base, "protocol": protocol}
            try:
                t0 = time.perf_counter()
                zero = zero_input_rgb(clf.preprocessing) if protocol == "rise-reference" else None
                curves = causal_curves(counter, image, saliency, target, protocol=protocol,
                                       zero_colour=zero, batch_size=self.batch_size,
                                       seed=task.seed)
                aucs = {k: curves[k].auc for k in ("deletion", "insertion")}
                if not all(np.isfinite(v) for v in aucs.values()):
                    raise ValueError("the deletion or insertion AUC is not finite")
                row.update(deletion_auc=aucs["deletion"], insertion_auc=aucs["insertion"],
                           eval_s=round(time.perf_counter() - t0, 4), status="ok")
            except Exception as exc:
                row["status"] = one_line_error(exc)
            rows.append(row)
        return TaskResult(rows, saliency if self.save_maps else None)


# --- Ray ------------------------------------------------------------------------------


def package_root() -> Path:
    """The folder holding the ``xai_core`` package (put on the workers' PYTHONPATH)."""
    return Path(__file__).resolve().parents[2]


def start_ray(address: str | None, workers: int | None) -> bool:
    """Start an embedded Ray sized to ``workers`` CPUs, or connect to ``address``.

    Does nothing (returns False) when Ray is already initialised in this process;
    returns True when this call started or connected it (the caller shuts it down).
    Ray's own console output is kept off: no dashboard, no worker logs in the terminal.
    """
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env = dict(WORKER_ENV)
    for name in ("XAI_CACHE_DIR", "XAI_ENGINE", "KERAS_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    quiet: dict[str, Any] = {"log_to_driver": False, "configure_logging": True,
                             "logging_level": logging.ERROR}
    if address is None:
        path = os.pathsep.join(filter(None, [str(package_root()), os.environ.get("PYTHONPATH")]))
        ray.init(num_cpus=workers, include_dashboard=False,
                 runtime_env={"env_vars": {**env, "PYTHONPATH": path}}, **quiet)
    else:
        import xai_core

        ray.init(address=address, runtime_env={
            "env_vars": env, "py_modules": [str(Path(xai_core.__file__).parent)]}, **quiet)
    return True


def cluster_cpus() -> int:
    """CPUs of the Ray cluster this process is connected to (at least 1)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def run_tasks(tasks: Sequence[Task], model: str, *, workers: int,
              on_result: Callable[[Task, TaskResult], None],
              read: Callable[[Task], bytes | str],
              preprocessing: str = "none", engine: str | None = None, batch_size: int = 32,
              save_maps: bool = False,
              worker_class: type[StudyWorker] = StudyWorker) -> dict[str, Any] | str:
    """Run one model's tasks on ``workers`` actors; call ``on_result`` as each finishes.

    ``read(task)`` returns the image's bytes, or an error text (then the task's rows get
    it). Returns the model's description from :meth:`StudyWorker.load`, or, when the
    model cannot be loaded, the error text (every task's rows then carry it). A task whose
    worker dies is run once more on a fresh worker, then recorded as failed.
    ``worker_class``: a :class:`StudyWorker` subclass (tests).
    """
    import ray
    from ray.exceptions import RayActorError, RayError

    remote = ray.remote(num_cpus=1, max_restarts=0)(worker_class)

    def new_actor():
        return remote.remote(model, preprocessing, engine, batch_size, save_maps)

    def fail_all(todo: Sequence[Task], error: str) -> None:
        for t in todo:
            rows = [{"image": t.image.rel, "class": t.image.label,
                     "model": model_label(t.model), "method": t.setting.method,
                     "seed": t.seed, "protocol": p,
                     **{f"{t.setting.method}.{k}": v for k, v in t.setting.params},
                     "status": error} for p in t.protocols]
            on_result(t, TaskResult(rows, None))

    actors = [new_actor() for _ in range(max(1, min(workers, len(tasks))))]
    try:
        try:
            info = ray.get([a.load.remote() for a in actors])[0]
        except RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            error = one_line_error(f"the model {model_label(model)} could not be loaded: "
                                   f"{cause}")
            fail_all(tasks, error)
            return error
        pending = list(reversed(tasks))
        in_flight: dict[Any, tuple[Any, Task]] = {}
        load: dict[Any, int] = {a: 0 for a in actors}
        deaths: dict[Task, int] = {}
        # a task retried after its worker died runs alone on an idle worker, so that if the
        # worker dies again, that task (not one queued behind it) is to blame
        alone: set[Any] = set()

        def submit() -> None:
            for actor in list(load):
                while pending and load[actor] <= QUEUED_PER_ACTOR and actor not in alone:
                    task = pending[-1]
                    if task in deaths:
                        if load[actor]:
                            break
                        alone.add(actor)
                    pending.pop()
                    ref = actor.run.remote(task, read(task))
                    in_flight[ref] = (actor, task)
                    load[actor] += 1

        submit()
        while in_flight:
            done, _ = ray.wait(list(in_flight), num_returns=1)
            actor, task = in_flight.pop(done[0])
            if actor in load:  # (not a worker already replaced)
                load[actor] -= 1
            alone.discard(actor)
            try:
                result = ray.get(done[0])
            except RayActorError as exc:  # the worker died (killed, out of memory)
                deaths[task] = deaths.get(task, 0) + 1
                if deaths[task] < 2:
                    pending.append(task)  # once more, on a fresh worker
                else:
                    fail_all([task], one_line_error(
                        f"the worker died twice on this image ({type(exc).__name__}; "
                        "out of memory?)"))
                if actor in load:
                    del load[actor]
                    ray.kill(actor)  # make sure its CPU is given back
                    replacement = new_actor()  # loads the model with its first task
                    load[replacement] = 0
                    actors.append(replacement)
            except RayError as exc:
                fail_all([task], one_line_error(getattr(exc, "cause", None) or exc))
            else:
                on_result(task, result)
            submit()
        return info
    finally:
        for a in actors:
            ray.kill(a)

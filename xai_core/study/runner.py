"""Running a study on Ray: one actor per model replica, images streamed as tasks.

The driver (:func:`run_tasks`) creates ``workers`` actors for one model at a time; each
actor loads the model once (:meth:`StudyWorker.load`) and then explains the images it is
sent, one task per image x setting, with at most two tasks queued per actor so memory
stays bounded whatever the folder size. The driver reads each image's bytes and sends
them with the task (so a cluster needs no shared folder), collects results with
``ray.wait`` as they finish and hands every row to a callback that writes it at once.

By default Ray runs embedded in this process (``ray.init(address="local")`` with at most
the machine's CPUs; ``RAY_ADDRESS`` or a cluster started on this machine is ignored);
``address`` connects to an existing cluster instead (``"auto"``, ``"host:6379"`` or
``"ray://host:10001"``), shipping this ``xai_core`` with the job, after a quick check that
something listens there (:func:`check_reachable`). See
https://docs.ray.io/en/latest/ray-core/starting-ray.html.

Workers never wait for CPUs that do not exist: :func:`plan_workers` clamps their number to
what the cluster's nodes can place (and to the number of tasks), and each worker is given
its CPUs through a placement group, checked within :data:`PLACEMENT_TIMEOUT_S`. A worker
runs its model with as many threads as the CPUs Ray gave it (TensorFlow's intra- and
inter-op pools, LiteRT's interpreter), so workers on one machine do not oversubscribe it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xai_core.study.plan import Task, model_label, printable
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
#: Seconds to wait for a cluster's address to answer before giving up.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for the workers' CPUs to be reserved (the cluster said it has them).
PLACEMENT_TIMEOUT_S = 20.0


def use_threads(n: int) -> None:
    """Make this process's model run on ``n`` threads: TensorFlow's thread pools (before
    TensorFlow starts its runtime; later calls cannot change them), the LiteRT
    interpreters made afterwards (``XAI_THREADS``, read by
    :func:`~xai_core.models.backends.default_threads`), OpenCV's pool and
    numpy's BLAS (``threadpoolctl``)."""
    n = max(1, int(n))
    os.environ["XAI_THREADS"] = str(n)
    import cv2

    cv2.setNumThreads(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    from xai_core._tf import import_tensorflow

    tf = import_tensorflow()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # the runtime is already up (a second load in one process)
        pass


def _assigned_cpus() -> int | None:
    """CPUs Ray reserved for the calling actor, or None outside Ray."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # not in a Ray worker
        return None
    return max(1, int(cpus)) if cpus else None


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
        """Load the model (once); return what run.json records about it.

        In a Ray actor the model runs on as many threads as the CPUs Ray gave the actor
        (:func:`use_threads`); ``threads`` in the record says how many.
        """
        if self.clf is None:
            from xai_core.models import load_classifier

            cpus = _assigned_cpus()
            if cpus is not None:
                use_threads(cpus)
            self.clf = load_classifier(self.model, preprocessing=self.preprocessing,
                                       engine=self.engine)
        c = self.clf
        return {"name": c.name, "input_size": list(c.input_size), "n_classes": c.n_classes,
                "preprocessing": c.preprocessing, "engine": c.engine,
                "engine_note": c.engine_note,
                "threads": int(os.environ.get("XAI_THREADS", 0)) or os.cpu_count()}

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
        base: dict[str, Any] = task.base_row()
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
            base.update(target=target, target_label=printable(str(clf.class_names[target])),
                        probability=float(probs[target]))
            t0 = time.perf_counter()
            # Grad-CAM is white-box: it needs the classifier itself (and makes no predict call)
            black_box = clf if setting.method == "gradcam" else counter
            expl = explain(black_box, image, setting.method, target, class_names=clf.class_names,
                           params=setting.as_dict, seed=task.seed, batch_size=self.batch_size,
                           model_name=clf.name, image_name=task.image.rel)
            base.update(wall_s=round(time.perf_counter() - t0, 4),
                        forward_passes=counter.images - 1,
                        samples_used=expl.extra.get("masks_used", expl.extra.get("samples_used")),
                        stopped=expl.extra.get("stopped"))
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


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``"host:port"`` or ``"ray://host:port"``; None if it has no port."""
    rest = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ``ConnectionError`` (one line) unless something accepts a connection at
    ``address`` within ``timeout`` seconds.

    Ray itself retries an unreachable cluster for many minutes, logging from C++ all the
    while; this check answers in seconds and quietly: a TCP connection, then a gRPC
    handshake (Ray's servers speak gRPC), each within ``timeout``. ``"auto"`` is looked up as Ray does
    (``RAY_ADDRESS``, then a cluster started on this machine).
    """
    if address == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address

            found = canonicalize_bootstrap_address("auto")
        except ConnectionError:
            raise ConnectionError("no running Ray cluster was found (start one with "
                                  "'ray start --head', or give its address)") from None
        except Exception:  # Ray's lookup moved: let ray.init find it
            return
        if found is None:
            return
        address = found
    target = _host_port(address)
    if target is None:
        raise ConnectionError(f"{address!r} has no port: use auto, host:port or "
                              "ray://host:port")
    where = f"{target[0]}:{target[1]}"
    try:
        with socket.create_connection(target, timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or "refused")
        raise ConnectionError(f"nothing answers at {where} ({why.lower()} within "
                              f"{timeout:.0f} s); is the cluster running?") from None
    try:
        import grpc
    except ImportError:  # (a dependency of Ray) nothing more to check
        return
    channel = grpc.insecure_channel(where)
    try:  # Ray's servers speak gRPC (HTTP/2); another server never gets ready
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise ConnectionError(f"{where} answers, but not as a Ray cluster (no gRPC within "
                              f"{timeout:.0f} s); check the port (the head's GCS port, "
                              "6379 by default, or ray://host:10001)") from None
    finally:
        channel.close()


def start_ray(address: str | None, workers: int | None) -> bool:
    """Start an embedded Ray with ``workers`` CPUs (at most the machine's), or connect to
    ``address``.

    The embedded Ray is always a new one (``address="local"``): neither ``RAY_ADDRESS``
    nor a cluster started on this machine is joined unless ``address`` says so
    (``"auto"``). Does nothing (returns False) when Ray is already initialised in this
    process; returns True when this call started or connected it (the caller shuts it
    down). Ray's own console output is kept off: no dashboard, no worker logs in the
    terminal.

    Raises
    ------
    ConnectionError
        Nothing answers at ``address`` (:func:`check_reachable`), within seconds.
    """
    import ray

    if address is not None:
        check_reachable(address)
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
        cpus = os.cpu_count() or 1
        ray.init(address="local", num_cpus=min(workers or cpus, cpus), include_dashboard=False,
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


def node_cpus() -> list[int]:
    """Whole CPUs of each alive node of the connected Ray cluster.

    CPUs that another job holds are counted too: reserving them then waits at most
    :data:`PLACEMENT_TIMEOUT_S` (:func:`run_tasks`), never for ever.
    """
    import ray

    nodes = [int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    return [c for c in nodes if c > 0]


def plan_workers(nodes: Sequence[int], requested: int | None, n_tasks: int,
                 ) -> tuple[int, int, str | None]:
    """How many workers to start, and CPUs for each, on nodes with ``nodes`` CPUs.

    Parameters
    ----------
    nodes
        Whole CPUs of each node (:func:`node_cpus`).
    requested
        ``--workers`` (None: as many as the CPUs allow).
    n_tasks
        Explanations to compute: more workers than tasks would idle.

    Returns
    -------
    workers, cpus_per_worker, note
        At least one worker; each gets the largest whole number of CPUs such that all
        ``workers`` fit on the nodes (a worker's CPUs are on one node). ``note`` says, in
        one line, why fewer workers than requested are started (None when as requested).

    Raises
    ------
    RuntimeError
        No node has a CPU.
    """
    nodes = [int(c) for c in nodes if c >= 1]
    total = sum(nodes)
    if total < 1:
        raise RuntimeError("the Ray cluster has no CPU for a worker")
    want = requested if requested is not None else total
    workers = max(1, min(want, total, n_tasks))
    per = 1
    while sum(c // (per + 1) for c in nodes) >= workers:
        per += 1
    note = None
    if requested is not None and workers < requested:
        why = (f"the Ray cluster has {total} CPU(s)" if total < min(requested, n_tasks)
               else f"only {n_tasks} explanation(s) to compute")
        note = (f"note: --workers {requested}: {why}; starting {workers} worker(s)")
    return workers, per, note


def _reserve(workers: int, per: int) -> Any:
    """A placement group of ``workers`` bundles of ``per`` CPUs, spread over the nodes.

    Raises ``RuntimeError`` when the cluster cannot reserve them within
    :data:`PLACEMENT_TIMEOUT_S` (instead of waiting for ever).
    """
    from ray.util.placement_group import placement_group, remove_placement_group

    group = placement_group([{"CPU": per}] * workers, strategy="SPREAD")
    if not group.wait(timeout_seconds=PLACEMENT_TIMEOUT_S):
        remove_placement_group(group)
        raise RuntimeError(f"the Ray cluster could not reserve {workers} worker(s) of {per} "
                           f"CPU(s) within {PLACEMENT_TIMEOUT_S:.0f} s (are its CPUs taken "
                           "by another job?); try fewer --workers")
    return group


def run_tasks(tasks: Sequence[Task], model: str, *, workers: int,
              on_result: Callable[[Task, TaskResult], None],
              read: Callable[[Task], bytes | str],
              preprocessing: str = "none", engine: str | None = None, batch_size: int = 32,
              save_maps: bool = False, cpus_per_worker: int = 1,
              worker_class: type[StudyWorker] = StudyWorker) -> dict[str, Any] | str:
    """Run one model's tasks on ``workers`` actors; call ``on_result`` as each finishes.

    ``workers`` should come from :func:`plan_workers` (it is cut to the number of tasks);
    each actor is given ``cpus_per_worker`` CPUs of a placement group and runs its model
    on that many threads. Raises ``RuntimeError`` if the cluster cannot reserve them.

    ``read(task)`` returns the image's bytes, or an error text (then the task's rows get
    it). Returns the model's description from :meth:`StudyWorker.load` (with ``load_s``,
    the seconds until every worker had loaded it), or, when the
    model cannot be loaded, the error text (every task's rows then carry it). A task whose
    worker dies is run once more on a fresh worker, then recorded as failed.
    ``worker_class``: a :class:`StudyWorker` subclass (tests).
    """
    import ray
    from ray.exceptions import RayActorError, RayError
    from ray.util.placement_group import remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy


    n_actors = max(1, min(workers, len(tasks)))
    group = _reserve(n_actors, cpus_per_worker)
    remote = ray.remote(max_restarts=0)(worker_class)
    slot: dict[Any, int] = {}  # actor -> its bundle of the placement group

    def new_actor(bundle: int):
        actor = remote.options(
            num_cpus=cpus_per_worker,
            scheduling_strategy=PlacementGroupSchedulingStrategy(
                group, placement_group_bundle_index=bundle)).remote(
            model, preprocessing, engine, batch_size, save_maps)
        slot[actor] = bundle
        return actor

    def fail_all(todo: Sequence[Task], error: str) -> None:
        for t in todo:
            rows = [{**t.base_row(), "protocol": p, "status": error} for p in t.protocols]
            on_result(t, TaskResult(rows, None))

    actors = [new_actor(i) for i in range(n_actors)]
    t0 = time.perf_counter()
    try:
        try:
            info = ray.get([a.load.remote() for a in actors])[0]
            # seconds until every worker had its model: start-up, not explaining
            info = {**info, "load_s": round(time.perf_counter() - t0, 2)}
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
                    replacement = new_actor(slot[actor])  # loads with its first task
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
        remove_placement_group(group)

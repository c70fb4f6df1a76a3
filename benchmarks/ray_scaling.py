"""Does a study scale across Ray nodes? A real multi-node cluster on this machine.

``python -m benchmarks ray_scaling [--model efficientnet_lite0] [--images 12] [--n-masks 512] [--rounds 1]``

Starts a Ray cluster of two nodes with one CPU each (``ray start --head --num-cpus 1`` and
``ray start --address ... --num-cpus 1``, each in a session of its own: see
:class:`_Cluster`), separate processes that talk over the network as two machines would,
then runs the same study through ``python -m xai_core.study --address`` with one
worker (one node) and with two workers (two nodes), alternating, ``--rounds`` times each.
Prints one JSON line per run and a summary line: median wall times of the whole command,
their ratio (``speedup``), the same for the time after every worker had loaded its model
(``compute_speedup``: start-up left out), whether both gave the same rows, and the
machine's load average before and after. A warm-up run first converts the model for
LiteRT (cached, so no timed run pays for it). Then asks a one-CPU cluster for 3 workers: the study must note the clamp and
finish, not wait for actors that cannot be placed (a time limit of ``--hang-limit``
seconds). Every Ray process started here is stopped at the end.

The workload: ``--images`` random 96 x 96 photos of two classes, explained by RISE with a
fixed budget (``--n-masks``) and scored under the ``lab`` protocol. ``--model`` is a
built-in model (``efficientnet_lite0`` ships its weights: no download) or ``tiny`` (a
small CNN with random weights built here: quick to load, so the ratio shows the
scheduling rather than the model's start-up).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Columns that must agree between runs (times and the run's own bookkeeping left out).
_SAME = ("image", "class", "model", "method", "protocol", "seed", "rise.n_masks", "target",
         "probability", "deletion_auc", "insertion_auc", "samples_used", "stopped",
         "forward_passes", "status")


def _photos(folder: Path, n: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.uniform(0, 140, (96, 96, 3)).astype(np.uint8)
        if i % 2:
            r, c = rng.integers(8, 64, 2)
            img[r : r + 24, c : c + 24] = 250
        path = folder / ("square" if i % 2 else "plain") / f"{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path)


def _tiny_model(path: Path) -> None:
    from xai_core._tf import import_tensorflow

    import_tensorflow()  # without TensorFlow's start-up lines
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((96, 96, 3)), keras.layers.Rescaling(1 / 255.0),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax")])
    model.save(path)


def _study(data: Path, model: str, out: Path, address: str, workers: int, n_masks: int,
           limit: float) -> dict[str, Any]:
    """Run ``python -m xai_core.study`` against ``address``; its wall time and stderr."""
    argv = [sys.executable, "-m", "xai_core.study", str(data), "--models", model,
            "--set", f"rise.n_masks={n_masks}", "--protocol", "lab", "--out", str(out),
            "--address", address, "--workers", str(workers), "--quiet"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=limit, env=env,
                              cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        return {"workers": workers, "hung": True, "wall_s": round(time.perf_counter() - t0, 1)}
    wall = time.perf_counter() - t0
    record: dict[str, Any] = {"workers_asked": workers, "exit": proc.returncode,
                              "wall_s": round(wall, 1), "stderr": proc.stderr.strip()[-400:]}
    run = out / "run.json"
    if run.is_file():
        info = json.loads(run.read_text(encoding="utf-8"))
        models = list(info.get("model_info", {}).values())
        record.update(workers=info["engine"]["workers"],
                      cpus_per_worker=info["engine"].get("cpus_per_worker"),
                      study_wall_s=info["sessions"][-1].get("wall_s"),
                      load_s=sum(m.get("load_s", 0) for m in models),
                      threads=[m.get("threads") for m in models],
                      engine=[m.get("engine") for m in models])
        record["compute_s"] = round(record["study_wall_s"] - record["load_s"], 1)
    return record


def _rows(out: Path) -> list[tuple[str, ...]]:
    from xai_core.study.results import read_rows

    return sorted(tuple(r.get(c, "") for c in _SAME) for r in read_rows(out / "results.csv"))


class _Cluster:
    """A Ray cluster of ``ray start`` nodes on this machine, one session per node.

    Each node (``ray start --block``) runs in a session of its own, as on a machine of its
    own: Linux's autogroup scheduler gives each session an equal share of a busy CPU, so
    on a machine loaded by others two nodes get two shares, as two machines would (in one
    session, two workers would share one). The nodes use a private temp folder, so no
    other ``ray.init()`` on this machine finds this cluster. :meth:`shutdown` ends exactly
    the processes of these sessions.
    """

    def __init__(self, cpus_per_node: list[int], temp_dir: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        ray_exe = str(Path(sys.executable).with_name("ray"))
        common = ["--block", "--disable-usage-stats", "--object-store-memory", str(200 * 2**20)]
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        self.nodes: list[subprocess.Popen] = []
        try:
            for k, cpus in enumerate(cpus_per_node):
                where = (["--head", "--port", str(port), "--include-dashboard", "false",
                          "--temp-dir", str(temp_dir)] if k == 0 else ["--address", self.address])
                self.nodes.append(subprocess.Popen(
                    [ray_exe, "start", *where, "--num-cpus", str(cpus), *common],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                    start_new_session=True))
                self._wait(k + 1)
        except BaseException:
            self.shutdown()
            raise

    def _wait(self, n_nodes: int, limit: float = 180.0) -> None:
        """Until ``n_nodes`` nodes are alive (asked from a short-lived driver)."""
        from xai_core.study.runner import check_reachable

        t0 = time.perf_counter()
        while True:
            try:
                check_reachable(self.address, timeout=2.0)
                break
            except ConnectionError:
                if time.perf_counter() - t0 > limit:
                    raise
                time.sleep(1.0)
        code = ("import ray,sys,time;ray.init(address=sys.argv[1],logging_level='ERROR');"
                "t=time.time()\nwhile sum(n['Alive'] for n in ray.nodes())<int(sys.argv[2]):"
                "\n time.sleep(0.5)\n assert time.time()-t<float(sys.argv[3])")
        proc = subprocess.run([sys.executable, "-c", code, self.address, str(n_nodes),
                               str(limit)], timeout=limit + 60, capture_output=True, text=True,
                              env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
        if proc.returncode:
            raise RuntimeError(f"the Ray cluster did not come up: {proc.stderr[-600:]}")

    def shutdown(self) -> None:
        import signal

        for node in reversed(self.nodes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGTERM)  # the node's session: raylet, workers
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.wait(timeout=10)
            time.sleep(2)  # its children end a moment after it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)


def bench_ray_scaling(args: argparse.Namespace) -> None:
    """One worker on one node vs two workers on two nodes (one CPU each), same rows;
    then 3 workers asked of a one-CPU cluster."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # a local test cluster: no token authentication (ray start turns it on by default)
    os.environ["RAY_AUTH_MODE"] = "disabled"
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as tmp:
        root = Path(tmp)
        # the LiteRT conversion is cached here by the warm-up run, not timed
        os.environ.setdefault("XAI_CACHE_DIR", str(root / "cache"))
        data = root / "data"
        _photos(data, args.images)
        warm = root / "warm"
        _photos(warm, 1)
        model = args.model
        if model == "tiny":
            model = str(root / "tiny.keras")
            _tiny_model(Path(model))
        runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        rows: dict[int, list] = {}
        cluster = _Cluster([1, 1], root / "ray")
        try:
            rec = _study(warm, model, root / "out-warm", cluster.address, 2, 8,
                         args.hang_limit * 4)
            print(json.dumps({**rec, "section": "ray_scaling", "what": "warm-up"}), flush=True)
            for r in range(args.rounds):
                for workers in ((1, 2) if r % 2 == 0 else (2, 1)):  # alternate: load drifts
                    out = root / f"out-{workers}-{r}"
                    rec = _study(data, model, out, cluster.address, workers, args.n_masks,
                                 args.hang_limit * 4)
                    rec.update(section="ray_scaling", nodes="2 x 1 CPU", round=r)
                    print(json.dumps(rec), flush=True)
                    runs[workers].append(rec)
                    rows.setdefault(workers, _rows(out))
                    if _rows(out) != rows[workers]:
                        rows[workers] = []  # a run disagreed with another of its kind
        finally:
            cluster.shutdown()
        one = statistics.median(x["wall_s"] for x in runs[1])
        two = statistics.median(x["wall_s"] for x in runs[2])
        one_c = statistics.median(x.get("compute_s", float("nan")) for x in runs[1])
        two_c = statistics.median(x.get("compute_s", float("nan")) for x in runs[2])
        # the one-CPU cluster asked for 3 workers: a note and one worker, no wait
        few = root / "few"  # 3 explanations: the workers are clamped by the CPUs alone
        _photos(few, 3)
        cluster = _Cluster([1], root / "ray1")
        try:
            out = root / "out-clamp"
            clamp = _study(few, model, out, cluster.address, 3, 64, args.hang_limit)
        finally:
            cluster.shutdown()
    summary = {
        "section": "ray_scaling", "what": "summary", "model": args.model,
        "images": args.images, "n_masks": args.n_masks, "rounds": args.rounds,
        "one_worker_wall_s": one, "two_workers_wall_s": two,
        "speedup": round(one / two, 2),
        "one_worker_compute_s": one_c, "two_workers_compute_s": two_c,
        "compute_speedup": round(one_c / two_c, 2),
        "same_rows": bool(rows.get(1)) and rows.get(1) == rows.get(2),
        "three_on_one_cpu": {"exit": clamp.get("exit"), "hung": clamp.get("hung", False),
                             "workers": clamp.get("workers"), "wall_s": clamp.get("wall_s"),
                             "note": next((line for line in clamp.get("stderr", "").splitlines()
                                           if line.startswith("note:")), None)},
        "cpus": os.cpu_count(), "load_before": [round(x, 1) for x in load_before],
        "load_after": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(summary), flush=True)


def register(subparsers: Any) -> None:
    """Add the ``ray_scaling`` section to ``python -m benchmarks``."""
    p = subparsers.add_parser("ray_scaling", help="a study on a 2-node Ray cluster: 1 vs 2 workers")
    p.add_argument("--model", default="efficientnet_lite0",
                   help="a built-in model, or 'tiny' (a small CNN built here)")
    p.add_argument("--images", type=int, default=12)
    p.add_argument("--n-masks", type=int, default=512)
    p.add_argument("--rounds", type=int, default=1, help="runs of each worker count")
    p.add_argument("--hang-limit", type=float, default=150.0,
                   help="seconds the 3-workers-on-1-CPU run may take (4 times this for the "
                        "others) before it counts as hung")
    p.set_defaults(func=bench_ray_scaling)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ray_scaling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    register(parser.add_subparsers(dest="section", required=True))
    parsed = parser.parse_args(["ray_scaling", *sys.argv[1:]])
    parsed.func(parsed)

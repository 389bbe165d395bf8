"""Sweeps that scale out: one function call per point, results on disk, any executor.

A sweep is a function ``fn(**point, workdir=...) -> result`` and a list of points (dicts
of keyword arguments). :func:`sweep` gives each point a folder ``<folder>/<key>/`` (the key
is readable and carries a hash of the point), calls ``fn`` there unless
``<key>/result.pkl`` already exists, and writes the result atomically (a killed job leaves
no result, so re-running the sweep resumes it; ``fn`` may keep its own checkpoint in
``workdir`` to resume *within* a point). The calls are dispatched through any
``concurrent.futures``-style executor — an object with ``submit(fn, *args, **kw)``
returning a future with ``.result()``:

- ``executor=None`` or ``"local"``: a local :class:`~concurrent.futures.ProcessPoolExecutor`
  (``max_workers`` processes, spawn start method);
- ``"serial"``: in this process, one point after the other (debugging, tiny sweeps);
- a ``dask.distributed.Client`` (a laptop ``LocalCluster`` or a cluster's scheduler);
- a ``submitit`` executor (SLURM; :func:`slurm_executor` makes one);
- any other executor (e.g. ``ThreadPoolExecutor``).

There is no scheduler here: the executor schedules. ``fn`` must be importable by the
workers (a module-level function, e.g. ``freqlearn.experiments.godfrey.sensitivity_point``).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing as mp
import os
import pickle
import re
import tempfile
from pathlib import Path

__all__ = ["point_key", "run_point", "sweep", "load", "slurm_executor", "SweepError"]


class SweepError(RuntimeError):
    """Some points failed; ``.errors`` maps their keys to the exceptions."""

    def __init__(self, errors: dict):
        self.errors = errors
        lines = "; ".join(f"{k}: {type(e).__name__}: {e}" for k, e in list(errors.items())[:5])
        super().__init__(f"{len(errors)} sweep point(s) failed ({lines}); the others are "
                         "saved — run the sweep again to retry only these")


def _jsonable(point: dict) -> str:
    try:
        return json.dumps(point, sort_keys=True, default=repr)
    except TypeError as e:
        raise TypeError(f"a sweep point must be a dict of simple values; got {point!r}") from e


def point_key(fn, point: dict) -> str:
    """``<fn name>-<k=v,…>-<hash>``: a readable, unique folder name for ``point``."""
    if not isinstance(point, dict) or not all(isinstance(k, str) for k in point):
        raise TypeError(f"a sweep point must be a dict with string keys; got {point!r}")
    name = getattr(fn, "__name__", "fn")
    text = _jsonable(point)
    slug = ",".join(f"{k}={point[k]}" for k in sorted(point))
    slug = re.sub(r"[^A-Za-z0-9=.,_+-]", "_", slug)[:80]
    h = hashlib.sha256((name + text).encode()).hexdigest()[:10]
    return f"{name}-{slug}-{h}"


def _atomic_pickle(obj, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run_point(fn, point: dict, workdir: str) -> str:
    """Call ``fn(**point, workdir=workdir)`` unless its result exists; save it; return the
    result file's path. This is what runs on a worker."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    res = wd / "result.pkl"
    if res.exists():
        return str(res)
    (wd / "point.json").write_text(_jsonable(point))
    out = fn(**point, workdir=str(wd))
    _atomic_pickle(out, res)
    return str(res)


def load(folder, fn, point: dict):
    """The saved result of ``point`` (``KeyError`` when it was not computed)."""
    p = Path(folder) / point_key(fn, point) / "result.pkl"
    if not p.exists():
        raise KeyError(f"no result for {point!r} in {folder}")
    with open(p, "rb") as f:
        return pickle.load(f)  # noqa: S301 (our own files)


def slurm_executor(folder, **parameters):
    """A ``submitit.AutoExecutor`` writing its logs to ``folder`` (SLURM on a cluster,
    local processes elsewhere); ``parameters`` go to ``update_parameters`` (e.g.
    ``timeout_min=600, gpus_per_node=1, slurm_partition="gpu"``)."""
    import submitit

    ex = submitit.AutoExecutor(folder=str(folder))
    if parameters:
        ex.update_parameters(**parameters)
    return ex


def _submit(executor, fn, point, wd):
    if type(executor).__module__.startswith("distributed"):
        return executor.submit(run_point, fn, point, wd, pure=False)
    return executor.submit(run_point, fn, point, wd)


def sweep(fn, points, folder, *, executor=None, max_workers: int = 1,
          raise_errors: bool = True) -> list:
    """Run ``fn`` on every point (skipping saved ones) and return the results in order.

    ``folder``: the results folder; ``executor``: see the module docstring. Points already
    saved are loaded, not submitted. When points fail, the others are still saved and a
    :class:`SweepError` is raised (``raise_errors=False``: their results are ``None``).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    points = list(points)
    keys = [point_key(fn, p) for p in points]
    if len(set(keys)) != len(keys):
        raise ValueError("two sweep points are identical")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    todo = [i for i, k in enumerate(keys) if not (folder / k / "result.pkl").exists()]
    if len(todo) < len(keys):
        from . import presets  # here, so that the workers' import of this module stays light

        presets.note_reused(f"sweep {folder}: {len(keys) - len(todo)} of {len(keys)} points")
    own = None
    if todo:
        if executor is None or executor == "local":
            if isinstance(max_workers, bool) or not isinstance(max_workers, int) \
                    or max_workers < 1:
                raise ValueError(f"max_workers must be a positive integer; got {max_workers!r}")
            own = executor = cf.ProcessPoolExecutor(max_workers,
                                                    mp_context=mp.get_context("spawn"))
        elif executor == "serial":
            executor = _Serial()
        elif isinstance(executor, str) or not hasattr(executor, "submit"):
            raise TypeError("executor must be None, 'local', 'serial' or an object with "
                            f"submit() (Executor, dask Client, submitit); got {executor!r}")
    errors = {}
    try:
        futures = {i: _submit(executor, fn, points[i], str(folder / keys[i])) for i in todo}
        for i, fut in futures.items():
            try:
                fut.result()
            except Exception as e:  # noqa: BLE001 (reported below)
                errors[keys[i]] = e
    finally:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
    out = []
    for k in keys:
        p = folder / k / "result.pkl"
        if p.exists():
            with open(p, "rb") as f:
                out.append(pickle.load(f))  # noqa: S301
        else:
            out.append(None)
    if errors and raise_errors:
        raise SweepError(errors)
    return out


class _Future:
    def __init__(self, fn, args):
        try:
            self._value, self._error = fn(*args), None
        except Exception as e:  # noqa: BLE001
            self._value, self._error = None, e

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


class _Serial:
    """In-process 'executor' (runs at submit time)."""

    def submit(self, fn, *args):
        return _Future(fn, args)

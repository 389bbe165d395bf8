"""Sweeps that scale out: one function call per point, results on disk, any executor.

A sweep is a function ``fn(**point, workdir=...) -> result`` and a list of points (dicts
of keyword arguments). :func:`sweep` gives each point a folder ``<folder>/<key>/`` (the key
is readable and carries a hash of the function and the point), calls ``fn`` there unless
``<key>/result.npz`` already exists, and writes the result through :mod:`freqlearn.store`
(a killed job leaves no result, so re-running the sweep resumes it; ``fn`` may keep its
own checkpoint in ``workdir`` to resume *within* a point).

Results are *data*, never code: numbers, strings, None, arrays, tensors and lists, tuples
and dicts of them, stored as an ``.npz`` of numeric arrays and a JSON skeleton
(:func:`freqlearn.store.save_tree`) and read back with ``allow_pickle=False``, so a
tampered file on shared cluster storage cannot run code in whoever loads it. Each result
carries a fingerprint — the function (module and qualified name; a ``functools.partial``
with its bound arguments), the point, and the freqlearn version — checked on every load:
a result of another function, point or version is refused (:class:`~freqlearn.store.
StoreMismatch`), and a damaged one (:class:`~freqlearn.store.StoreCorrupt`) is named with
the fix; in a sweep, the other points' results are still returned
(:attr:`SweepError.results`). The calls are dispatched through any
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
import re
from pathlib import Path

from . import store

__all__ = ["point_key", "run_point", "sweep", "load", "slurm_executor", "SweepError"]


#: the file of a point's result inside its folder
RESULT = "result.npz"


class SweepError(RuntimeError):
    """Some points failed; ``.errors`` maps their keys to the exceptions, ``.results`` holds
    every point's result in order (``None`` for the failed ones)."""

    def __init__(self, errors: dict, results: list | None = None):
        self.errors = errors
        self.results = results
        lines = "; ".join(f"{k}: {type(e).__name__}: {e}" for k, e in list(errors.items())[:5])
        super().__init__(f"{len(errors)} sweep point(s) failed ({lines}); the others are "
                         "saved — run the sweep again to retry only these")


def _jsonable(point: dict) -> str:
    try:
        return json.dumps(point, sort_keys=True, default=repr)
    except TypeError as e:
        raise TypeError(f"a sweep point must be a dict of simple values; got {point!r}") from e


def _identity(fn) -> dict:
    return store.callable_identity(fn)


def _fn_name(fn) -> str:
    """A folder-safe short name of ``fn`` (a partial's function name)."""
    while hasattr(fn, "func"):
        fn = fn.func
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))[:40].strip("_") or "fn"


def point_key(fn, point: dict) -> str:
    """``<fn name>-<k=v,…>-<hash>``: a readable, unique folder name for ``point``.

    The hash covers the function's identity (module and qualified name, and for a
    ``functools.partial`` its bound arguments) and the point, so two functions of one name,
    or two partials of one function, never share a result; the name is sanitised, so it
    never leaves the results folder.
    """
    if not isinstance(point, dict) or not all(isinstance(k, str) for k in point):
        raise TypeError(f"a sweep point must be a dict with string keys; got {point!r}")
    text = _jsonable(point)
    ident = json.dumps(_identity(fn), sort_keys=True)
    slug = ",".join(f"{k}={point[k]}" for k in sorted(point))
    slug = re.sub(r"[^A-Za-z0-9=.,_+-]", "_", slug)[:80]
    h = hashlib.sha256((ident + "\n" + text).encode()).hexdigest()[:10]
    return f"{_fn_name(fn)}-{slug}-{h}"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("freqlearn")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


def _fingerprint(fn, point: dict) -> dict:
    """What a point's result must have been computed from (checked on every load)."""
    return {"function": _identity(fn), "point": json.loads(_jsonable(point)),
            "freqlearn": _version()}


def _fix(path: Path) -> str:
    return f"Delete {path} and run the sweep again to recompute this point."


def run_point(fn, point: dict, workdir: str) -> str:
    """Call ``fn(**point, workdir=workdir)`` unless its result exists; save it; return the
    result file's path. This is what runs on a worker."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    res = wd / RESULT
    if res.exists():
        return str(res)
    store.write_json(wd / "point.json", {"function": _identity(fn),
                                         "point": json.loads(_jsonable(point))})
    out = fn(**point, workdir=str(wd))
    store.save_tree(res, out, fingerprint=_fingerprint(fn, point))
    return str(res)


def _load_result(path: Path, fn, point: dict):
    return store.load_tree(path, fingerprint=_fingerprint(fn, point), fix=_fix(path))


def load(folder, fn, point: dict):
    """The saved result of ``point`` (``KeyError`` when it was not computed; a damaged
    file or one of another function, point or version raises
    :class:`~freqlearn.store.StoreError` naming it)."""
    p = Path(folder) / point_key(fn, point) / RESULT
    if not p.exists():
        raise KeyError(f"no result for {point!r} in {folder}")
    return _load_result(p, fn, point)


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
    todo = [i for i, k in enumerate(keys) if not (folder / k / RESULT).exists()]
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
    for k, pt in zip(keys, points, strict=True):
        p = folder / k / RESULT
        if k in errors or not p.exists():
            out.append(None)
            continue
        try:
            out.append(_load_result(p, fn, pt))
        except store.StoreError as e:  # damaged or foreign: this point fails, not the sweep
            errors[k] = e
            out.append(None)
    if errors and raise_errors:
        raise SweepError(errors, out)
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

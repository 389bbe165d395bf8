"""Experiments of the reconstruction of Ricci, Merger & Goldt (2026) (abstract only; R1–R5).

- :func:`online_nstar` — online SGD of batched two-layer nets (:class:`~freqlearn.nets.ricci.
  TwoLayer`) on a two-class task with a fresh batch per step; all learning rates of the scan
  and all trials in one tensor; returns the sample count n* at which each net first reaches a
  test-accuracy threshold and at which its order parameter (largest squared overlap of a unit
  with one pixel) first crosses 0.75.
- :func:`scan_sizes` — :func:`online_nstar` over sizes N, and :func:`best_rate` — the learning
  rate chosen per N on half the trials, n* read off the other half.
- :func:`nstar_point`, :func:`texture_point` — one point of a scan (one N, or one texture
  task, with its whole learning-rate grid batched) as a module-level function of simple
  arguments, for :func:`freqlearn.sweep.sweep`: with a results folder (the paper preset, see
  :func:`results_folder`) every point's result is saved and a re-run skips the points done.
- :func:`natural_probes` — R1: an MLP and a small CNN on natural images, with the accuracy on
  amplitude-only, phase-only, swapped and Gaussian-clone probes over training.
- :func:`texture_pool` — R5: texture patches vs their own phase-randomised versions (and the
  whitened task) as a sampler for :func:`online_nstar`.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from pathlib import Path

import numpy as np
import torch

from .. import presets as _presets
from .. import store as _store
from .. import sweep as _sweep
from .. import train as _train
from ..data import _checks as chk
from ..data import ricci as D
from ..nets.ricci import MLP, ResNet18, SmallCNN, TwoLayer

__all__ = ["online_nstar", "scan_sizes", "best_rate", "natural_probes", "texture_pool",
           "spectrum_classifier", "nstar_point", "texture_point", "results_folder",
           "run_points", "deep_point", "cifar100_present"]


def _check_points(batch, budget, n=80):
    steps = np.unique(np.round(np.geomspace(1, budget / batch, n)).astype(int))
    return set((steps * batch).tolist())


# -- argument checks ---------------------------------------------------------------------------
def _device(device) -> torch.device:
    """``device`` as a device this machine has (:func:`freqlearn.presets.check_device`)."""
    return _presets.check_device(device, "device")


def _rates(cs) -> np.ndarray:
    """The learning-rate factors: a non-empty 1-D sequence of finite positive numbers."""
    if isinstance(cs, (str, bytes)):
        raise TypeError(f"cs must be a 1-D sequence of positive rates; got {cs!r}")
    a = chk.real_array(cs, "cs", ndim=(1,))
    if np.any(a <= 0):
        raise ValueError(f"cs must be a 1-D array of positive rates; got {a.tolist()}")
    return a


def _fp_real(x: float):
    """A real for a fingerprint (plain JSON data: ±inf as a string)."""
    return float(x) if math.isfinite(x) else repr(float(x))


def _plain_json(v, where: str):
    """``v`` as JSON-able plain data, or ``TypeError`` naming ``where``."""
    try:
        json.dumps(v, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{where} must return plain data (numbers, strings, None, lists, "
                        f"dicts) for the checkpoint fingerprint; {e}") from None
    return v


def _value_id(v):
    """A captured or attribute value in a fingerprint (:func:`freqlearn.store.value_id`);
    None when it cannot be digested."""
    try:
        return _store.value_id(v)
    except TypeError:
        return None


def _describe_object(obj) -> dict:
    """An object that draws samples, as plain data: its class and its ``fingerprint()``
    when it has one (:class:`~freqlearn.data.ricci.PhaseTask`, :class:`texture_pool`), else
    a digest of each of its attributes that can be digested."""
    cls = f"{type(obj).__module__}.{type(obj).__qualname__}"
    fp = getattr(obj, "fingerprint", None)
    if callable(fp):
        d = fp()
        if not isinstance(d, dict):
            raise TypeError(f"{cls}.fingerprint() must return a dict; got {type(d).__name__}")
        return _plain_json({"class": cls, **d}, f"{cls}.fingerprint()")
    attrs = {}
    for k, v in sorted(getattr(obj, "__dict__", {}).items()):
        if not k.startswith("__"):
            vid = _value_id(v)
            if vid is not None:
                attrs[k] = vid
    return {"class": cls, "attributes": attrs}


def _describe_sampler(fn, depth: int = 0) -> dict:
    """What identifies a sampler in a checkpoint fingerprint (plain data).

    - a bound method (``PhaseTask(...).sample``): the method's name and its object, by
      :func:`_describe_object` (the task's class and parameters);
    - a ``functools.partial``: its function and its bound arguments;
    - a function: its module and qualified name (:func:`freqlearn.store.callable_identity`),
      plus what its closure captures that is itself a sampler or a task (so a wrapper around
      ``task.sample`` names the task); other captured values (counters, …) are left out;
    - a callable object: :func:`_describe_object`.
    """
    if inspect.ismethod(fn) and not inspect.isclass(fn.__self__):
        return {"method": fn.__func__.__qualname__, "of": _describe_object(fn.__self__)}
    if isinstance(fn, functools.partial):
        return {"partial": _describe_sampler(fn.func, depth + 1),
                "args": [_captured(a, depth) for a in fn.args],
                "keywords": {k: _captured(v, depth) for k, v in sorted(fn.keywords.items())}}
    if inspect.isfunction(fn) or inspect.isbuiltin(fn) or inspect.ismethod(fn):
        out = dict(_store.callable_identity(fn))
        cells = getattr(fn, "__closure__", None) or ()
        names = getattr(getattr(fn, "__code__", None), "co_freevars", ())
        captured = {}
        if depth < 3:
            for name, cell in zip(names, cells, strict=False):
                try:
                    v = cell.cell_contents
                except ValueError:   # an empty cell
                    continue
                if callable(v) or callable(getattr(v, "fingerprint", None)):
                    captured[name] = _captured(v, depth)
        if captured:
            out["captures"] = captured
        return out
    return _describe_object(fn)


def _captured(v, depth: int):
    if callable(getattr(v, "fingerprint", None)) and not callable(v):
        return _describe_object(v)
    if callable(v) and not inspect.isclass(v):
        return _describe_sampler(v, depth + 1)
    return _value_id(v)


def _draw(sample, n: int, rng, D_in: int, what: str):
    """``sample(n, rng)`` checked: ``x`` n samples of ``D_in`` finite values, ``y`` n labels
    ±1; anything else raises an error naming the sampler's output (or ``D_in``)."""
    out = sample(n, rng)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"sample(n, rng) must return (x, y); for {what} it returned "
                        f"{type(out).__name__}")
    x, y = (np.asarray(v) for v in out)
    if x.dtype.kind not in "iuf" or y.dtype.kind not in "iuf":
        raise TypeError(f"sample(n, rng) must return real arrays; for {what} x is "
                        f"{x.dtype}, y is {y.dtype}")
    if x.ndim < 1 or len(x) != n or y.shape != (n,):
        raise ValueError(f"sample({n}, rng) for {what} returned x of shape {x.shape} and y of "
                         f"shape {y.shape}; expected {n} samples and {n} labels")
    if x.size != n * D_in:
        raise ValueError(f"D_in is {D_in}, but sample(n, rng) returns samples of "
                         f"{x.size // max(n, 1)} values (shape {x.shape[1:]}); give the "
                         "sampler's dimension as D_in")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"sample(n, rng) returned NaN or ±inf inputs for {what}")
    if not np.all(np.abs(y) == 1):
        raise ValueError(f"sample(n, rng) must return labels ±1; for {what} it returned "
                         f"{np.unique(y)[:5].tolist()}")
    return x, y


def online_nstar(sample, D_in: int, *, cs, trials: int, K: int = 8, batch: int = 8,
                 budget: int = 200_000, lr_scale: float = 1.0, acc_threshold: float = 0.6,
                 overlap_threshold: float = 0.75, n_test: int = 2000, seed: int = 0,
                 chunk: int = 50, stop_factor: float = 2.0, desc: str = "online SGD",
                 shared_data: bool = False, device="cpu", checkpoint=None,
                 checkpoint_every: int | None = None) -> dict:
    """Online SGD on ``sample(n, rng) → (x (n, D_in), y (n,) in ±1)``; n* per net.

    Learning rate of net ``(c, r)``: ``lr = c · lr_scale`` on the batch-mean gradient
    (``lr / batch`` per sample). A net's n* is the first checkpoint (log-spaced, 80 per
    budget) with test accuracy ≥ ``acc_threshold`` (``nstar_acc``) or order parameter ≥
    ``overlap_threshold`` (``nstar_ov``); ``inf`` when never reached. The run stops early once
    some ``c`` has all its trials done and ``n ≥ stop_factor ×`` their largest n* (the other
    rates are then censored: slower than the best; ``stop_factor=inf`` never stops early).
    Returns arrays indexed ``[c, trial]``.

    ``shared_data``: trial ``r`` sees the same sample stream at every rate ``c`` (common
    random numbers; with the same ``seed``, two tasks whose samplers draw from ``rng`` alike
    — e.g. the same phases under two amplitudes — then see the same draws, trial by trial).

    ``checkpoint``: a file (or None): the nets, the counters and the sampler's generator are
    saved every ``checkpoint_every`` chunks by :func:`freqlearn.train.run`, and a re-run
    with the same file resumes where it stopped, with the same numbers — a finished file
    gives the result of the run that wrote it. The file's fingerprint holds everything that
    determines the run: the sampler (a task's class and parameters, see
    :func:`_describe_sampler`), ``D_in``, ``cs``, ``trials``, ``K``, ``batch``, ``budget``,
    ``lr_scale``, the thresholds, ``n_test``, ``seed``, ``chunk``, ``stop_factor``,
    ``shared_data`` and the device; a file of another run is refused
    (:class:`~freqlearn.train.CheckpointMismatch`).

    Integer arguments must be integers (floats are refused, not truncated); ``cs``,
    ``lr_scale`` and ``stop_factor`` must be positive, the thresholds in [0, 1].
    """
    if not callable(sample):
        raise TypeError(f"sample must be a callable sample(n, rng) → (x, y); got "
                        f"{type(sample).__name__}")
    D_in = chk.integer(D_in, "D_in", minimum=1)
    cs = _rates(cs)
    trials = chk.integer(trials, "trials", minimum=1)
    K = chk.integer(K, "K", minimum=1)
    batch = chk.integer(batch, "batch", minimum=1)
    budget = chk.integer(budget, "budget", minimum=1)
    if budget < batch:
        raise ValueError(f"budget must be ≥ batch ({batch}): at least one step; got {budget}")
    lr_scale = chk.real(lr_scale, "lr_scale", minimum=0.0, strict=True)
    acc_threshold = chk.real(acc_threshold, "acc_threshold", minimum=0.0)
    overlap_threshold = chk.real(overlap_threshold, "overlap_threshold", minimum=0.0)
    for name, v in (("acc_threshold", acc_threshold),
                    ("overlap_threshold", overlap_threshold)):
        if v > 1:
            raise ValueError(f"{name} must be in [0, 1]; got {v}")
    n_test = chk.integer(n_test, "n_test", minimum=1)
    seed = chk.integer(seed, "seed", minimum=0)
    chunk = chk.integer(chunk, "chunk", minimum=1)
    stop_factor = chk.real(stop_factor, "stop_factor", minimum=0.0, strict=True,
                           allow_inf=True)
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string; got {type(desc).__name__}")
    if not isinstance(shared_data, bool):
        raise TypeError(f"shared_data must be True or False; got {shared_data!r}")
    dev = _device(device)
    T = cs.size * trials
    m = trials if shared_data else T
    chk.fits(4.0 * 3 * (chunk * T * batch + n_test) * D_in,
             f"online SGD chunks of {chunk}×{T}×{batch} samples of {D_in} values")
    ckpt = None if checkpoint is None or checkpoint is False else checkpoint
    fingerprint = None
    if ckpt is not None:
        try:
            sampler = json.dumps(_describe_sampler(sample), sort_keys=True,
                                 ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise TypeError(f"sample cannot be described for the checkpoint fingerprint "
                            f"({e}); give its object a fingerprint() method returning a "
                            "dict of plain data with string keys") from None
        fingerprint = {"sampler": sampler, "D_in": D_in, "cs": [float(c) for c in cs],
                       "trials": trials, "K": K, "batch": batch, "budget": budget,
                       "lr_scale": lr_scale, "acc_threshold": acc_threshold,
                       "overlap_threshold": overlap_threshold, "n_test": n_test,
                       "seed": seed, "chunk": chunk, "stop_factor": _fp_real(stop_factor),
                       "shared_data": shared_data, "device": dev.type}

    rng = np.random.default_rng(seed)
    dt = torch.float32
    xt, yt = _draw(sample, n_test, rng, D_in, "the test set")
    xt = torch.as_tensor(xt.reshape(n_test, D_in), dtype=dt, device=dev)
    yt = torch.as_tensor(yt, dtype=dt, device=dev)
    g = torch.Generator(device=dev).manual_seed(seed)
    net = TwoLayer(T, K, D_in, generator=g, dtype=dt, device=dev)
    lr = torch.as_tensor(np.repeat(cs, trials) * lr_scale, dtype=dt, device=dev)
    checks = _check_points(batch, budget)
    n_chunks = math.ceil(budget / (batch * chunk))
    # The counters live in tensors that train.run checkpoints and restores in place; the
    # NumPy arrays below are views of them, so a resumed run -- even one whose file is
    # finished, where step() never runs -- reads the restored counters.
    box = {"W": net.W, "v": net.v, "b": net.b,
           "acc": torch.full((T,), math.inf, dtype=torch.float64),
           "ov": torch.full((T,), math.inf, dtype=torch.float64),
           "n": torch.zeros(1, dtype=torch.int64), "rng": _rng_tensor(rng)}
    nstar = {"acc": box["acc"].numpy(), "ov": box["ov"].numpy()}
    count = box["n"].numpy()
    first = [True]

    def finished():
        both = np.maximum(nstar["acc"], nstar["ov"]).reshape(cs.size, trials)
        ok = np.isfinite(both).all(1)
        return bool(ok.any() and count[0] >= stop_factor * both[ok].max(1).min())

    def step(t):
        if first[0]:
            first[0] = False
            if t > 0:   # resumed by train.run mid-way: the sampler continues where it stopped
                _set_rng(rng, box["rng"])
        if finished():
            return
        x, y = _draw(sample, m * batch * chunk, rng, D_in, f"chunk {t}")
        x = torch.as_tensor(x.reshape(chunk, 1, m, batch, D_in), dtype=dt, device=dev)
        y = torch.as_tensor(y.reshape(chunk, 1, m, batch), dtype=dt, device=dev)
        if shared_data:
            x = x.expand(chunk, cs.size, m, batch, D_in)
            y = y.expand(chunk, cs.size, m, batch)
        x, y = x.reshape(chunk, T, batch, D_in), y.reshape(chunk, T, batch)
        for j in range(chunk):
            net.sgd_step(x[j], y[j], lr)
            count[0] += batch
            if int(count[0]) in checks:
                acc = net.accuracy(xt, yt).cpu().numpy()
                ov = net.overlap().cpu().numpy()
                for key, val, thr in (("acc", acc, acc_threshold), ("ov", ov, overlap_threshold)):
                    new = (val >= thr) & ~np.isfinite(nstar[key])
                    nstar[key][new] = count[0]
        box["rng"].copy_(_rng_tensor(rng))

    _train.run(step, n_chunks, desc=desc, state=box if ckpt is not None else None,
               checkpoint=ckpt, checkpoint_every=checkpoint_every, name="online_nstar",
               fingerprint=fingerprint)
    acc = net.accuracy(xt, yt).cpu().numpy()
    return {"cs": cs, "lr": cs * lr_scale, "lr_per_sample": cs * lr_scale / batch,
            "nstar_acc": nstar["acc"].copy().reshape(cs.size, trials),
            "nstar_ov": nstar["ov"].copy().reshape(cs.size, trials),
            "final_acc": np.nan_to_num(acc).reshape(cs.size, trials), "n_run": int(count[0]),
            "budget": budget}


def _point_ckpt(workdir):
    return None if workdir is None else Path(workdir) / "online_nstar.pt"


def nstar_point(*, N: int, task: dict, cs, trials: int, rate_exponent: float = 2.0,
                seed: int = 0, workdir=None, **kw) -> dict:
    """One point of a size scan: :func:`online_nstar` on ``PhaseTask(N, **task)`` with
    ``lr = c · N^(−rate_exponent)`` for every ``c`` of ``cs`` (batched). Module-level and
    of simple arguments, so :func:`freqlearn.sweep.sweep` can save it and skip it when done;
    ``workdir`` (the point's folder, given by the sweep) holds a checkpoint of the run, so
    a point interrupted half-way resumes within the run too."""
    if not isinstance(task, dict):
        raise TypeError(f"task must be a dict of PhaseTask arguments; got {task!r}")
    N = chk.integer(N, "N", minimum=2)
    rate_exponent = chk.real(rate_exponent, "rate_exponent")
    seed = chk.integer(seed, "seed", minimum=0)
    t = D.PhaseTask(N, **task)
    return online_nstar(t.sample, t.dimension, cs=cs, trials=trials,
                        lr_scale=float(N) ** -rate_exponent, seed=seed,
                        desc=kw.pop("desc", f"N={N}"), checkpoint=_point_ckpt(workdir), **kw)


def texture_point(*, size: int, n_pool: int, pool_seed: int, whitened: bool, cs,
                  trials: int, seed: int = 0, workdir=None, **kw) -> dict:
    """One R5 point: :func:`online_nstar` on :class:`texture_pool` ``(size, n_pool,
    default_rng(pool_seed), whitened)`` with ``lr = c / size²`` (see :func:`nstar_point`)."""
    pool_seed = chk.integer(pool_seed, "pool_seed", minimum=0)
    whitened = chk.boolean(whitened, "whitened")
    pool = texture_pool(size, n_pool, np.random.default_rng(pool_seed), whitened=whitened)
    return online_nstar(pool.sample, pool.dimension, cs=cs, trials=trials,
                        lr_scale=1.0 / pool.dimension, seed=seed,
                        desc=kw.pop("desc", f"textures whitened={whitened}"),
                        checkpoint=_point_ckpt(workdir), **kw)


def results_folder(name: str):
    """The results folder of a scan: ``<checkpoint folder of the notebook>/<name>/`` when
    checkpointing is on (the paper preset, or ``FREQLEARN_CHECKPOINT=always``), else None
    (nothing written: the quick preset runs in memory)."""
    p = _train.checkpoint_path(name)
    return None if p is None else p.with_suffix("")


def run_points(fn, points, folder=None) -> list:
    """``fn(**point)`` for every point: in memory when ``folder`` is None, else through
    :func:`freqlearn.sweep.sweep` in this process (``executor="serial"``): each result is
    saved under ``folder`` and a re-run after an interruption skips the points done. The
    numbers are the same either way."""
    points = list(points)
    if folder is None:
        return [fn(**p) for p in points]
    return _sweep.sweep(fn, points, folder, executor="serial")


def _rng_tensor(rng) -> torch.Tensor:
    """A NumPy PCG64 generator's state as 10 int64 (128-bit words in 32-bit pieces)."""
    s = rng.bit_generator.state
    if s.get("bit_generator") != "PCG64":
        raise TypeError(f"rng must be a PCG64 numpy Generator; got {s.get('bit_generator')}")
    words = [(s["state"][k] >> (32 * i)) & 0xFFFFFFFF for k in ("state", "inc")
             for i in range(4)]
    return torch.tensor(words + [int(s["has_uint32"]), int(s["uinteger"])], dtype=torch.int64)


def _set_rng(rng, t: torch.Tensor) -> None:
    v = [int(x) for x in t.tolist()]
    word = [sum(v[4 * j + i] << (32 * i) for i in range(4)) for j in (0, 1)]
    rng.bit_generator.state = {"bit_generator": "PCG64",
                               "state": {"state": word[0], "inc": word[1]},
                               "has_uint32": v[8], "uinteger": v[9]}


def scan_sizes(make_task, Ns, *, cs, trials, rate_exponent: float = 2.0, seed: int = 0,
               folder=None, **kw) -> dict:
    """:func:`online_nstar` for each ``N`` of ``Ns`` with ``lr = c · N^(−rate_exponent)``.

    ``make_task``: a dict of :class:`~freqlearn.data.ricci.PhaseTask` arguments (each ``N``
    is then one :func:`nstar_point`, saved under ``folder`` when one is given — see
    :func:`run_points`), or a callable ``make_task(N)`` returning an object with ``sample``
    and ``dimension`` (in memory only). Returns ``{N: result}``.
    """
    if isinstance(Ns, (str, bytes)) or not hasattr(Ns, "__iter__"):
        raise TypeError(f"Ns must be a sequence of integer sizes; got {Ns!r}")
    Ns = [chk.integer(N, "Ns[]", minimum=2) for N in Ns]
    if len(set(Ns)) != len(Ns):
        raise ValueError(f"Ns must not repeat a size; got {Ns}")
    cs = [float(c) for c in _rates(cs)]
    trials = chk.integer(trials, "trials", minimum=1)
    rate_exponent = chk.real(rate_exponent, "rate_exponent")
    seed = chk.integer(seed, "seed", minimum=0)
    if isinstance(make_task, dict):
        pts = [dict(N=N, task=dict(make_task), cs=cs, trials=trials,
                    rate_exponent=rate_exponent, seed=seed + 1000 * i, desc=f"N={N}", **kw)
               for i, N in enumerate(Ns)]
        return dict(zip(Ns, run_points(nstar_point, pts, folder), strict=True))
    if not callable(make_task):
        raise TypeError(f"make_task must be a dict of PhaseTask arguments or a callable; "
                        f"got {type(make_task).__name__}")
    if folder is not None:
        raise ValueError("folder needs make_task as a dict of PhaseTask arguments (a "
                         "callable cannot be saved with the point)")
    out = {}
    for i, N in enumerate(Ns):
        task = make_task(N)
        out[N] = online_nstar(task.sample, task.dimension, cs=cs, trials=trials,
                              lr_scale=float(N) ** -rate_exponent,
                              seed=seed + 1000 * i, desc=f"N={N}", **kw)
    return out


def best_rate(res: dict, key: str = "nstar_acc", held_out: bool = True,
              complete: bool = False) -> dict:
    """Pick the rate per run on the first half of the trials (median log n*), and report
    n* of that rate on the other half (so the selection does not bias the reported n*);
    with ``held_out=False`` the rate is chosen and n* read on all trials.

    ``complete``: choose only among the rates whose selection trials all reached the
    threshold within the run (a run stopped early, see :func:`online_nstar`, leaves the
    other rates with trials that never finished; their n* would be censored); when no rate
    is complete, among all rates.

    Returns ``{"c", "nstar" (held-out trials; a trial that never reached the threshold is
    censored at the run's length, a lower bound), "censored" (that fraction), "n_censored"
    (that count), "n_run" (the run's length), "edge"}``. A comparison that uses a censored
    n* is undecidable: pass :func:`censoring_note` as its ``censored=``.
    """
    if key not in ("nstar_acc", "nstar_ov"):
        raise ValueError(f"key must be 'nstar_acc' or 'nstar_ov'; got {key!r}")
    held_out = chk.boolean(held_out, "held_out")
    missing = [k for k in (key, "cs", "n_run") if not isinstance(res, dict) or k not in res]
    if missing:
        raise ValueError(f"res must be a result of online_nstar; it lacks {missing}")
    ns = np.asarray(res[key], float)
    if ns.ndim != 2 or ns.shape[0] != len(res["cs"]) or ns.shape[1] < 1:
        raise ValueError(f"res[{key!r}] must be [c, trial] for {len(res['cs'])} rates; got "
                         f"shape {ns.shape}")
    r = ns.shape[1]
    half = max(r // 2, 1) if held_out else r
    sel = ns[:, :half]
    med = np.median(np.log(sel), axis=1)
    if chk.boolean(complete, "complete"):
        done = np.isfinite(sel).all(1)
        if done.any():
            med = np.where(done, med, np.inf)
    i = int(np.argmin(med))
    held = ns[i, half:] if (r > 1 and held_out) else ns[i]
    cens = ~np.isfinite(held)
    return {"c": float(res["cs"][i]), "i": i, "nstar": np.where(cens, res["n_run"], held),
            "censored": float(np.mean(cens)), "n_censored": int(cens.sum()),
            "n_run": int(res["n_run"]), "edge": i in (0, len(res["cs"]) - 1)}


def censoring_note(arms: dict, what: str = "the threshold") -> str | None:
    """The ``censored=`` text of a claim comparing the n* of the runs ``arms`` (``{label:
    best_rate(...) result}``): which runs had trials that never reached ``what`` within
    their length, or None when every trial of every arm reached it. A sample count never
    reached is never "faster" or "slower", so such a row is ``INCONCLUSIVE``."""
    parts = []
    for label, b in arms.items():
        missing = [k for k in ("n_censored", "nstar", "n_run") if k not in b]
        if missing:
            raise ValueError(f"arms[{label!r}] must be a result of best_rate; it lacks "
                             f"{missing}")
        if b["n_censored"]:
            parts.append(f"{label}: {b['n_censored']} of {len(b['nstar'])} trials never "
                         f"reached {what} within {b['n_run']} samples")
    return "; ".join(parts) or None


__all__.append("censoring_note")


# -- statistics of comparisons ------------------------------------------------------------------
def _stat_cls():
    from ..claims import Stat

    return Stat


def estimate(mean: float, se: float, n: int, z: float = 2.0):
    """A :class:`~freqlearn.claims.Stat` for an estimate known by its mean and standard error
    (a fitted exponent with its bootstrap se, a difference of two groups) rather than by its
    values; ``n`` is the number of trials behind it (recorded), ``sd = se·√n``."""
    Stat = _stat_cls()
    mean, se = float(mean), float(se)
    n = chk.integer(n, "n", minimum=2)
    if se < 0:   # NaN passes: a non-finite estimate is recorded, and its claim FAILs
        raise ValueError(f"se must be ≥ 0; got {se}")
    s = Stat([0.0, 0.0], z=z)
    s.n, s.mean, s.se = n, mean, se
    s.finite = math.isfinite(mean) and math.isfinite(se)
    s.sd = se * math.sqrt(n)
    return s


def diff_stat(a, b, z: float = 2.0):
    """``mean(a) − mean(b)`` of two independent groups with the standard error of a
    difference, ``√(se_a² + se_b²)`` (each ``sd/√n``, ddof 1); a number for ``b`` (or ``a``)
    carries no error. The Stat's ``n`` is the smaller group's size (≥ 2)."""
    parts = []
    for v, name in ((a, "a"), (b, "b")):
        arr = np.asarray(v, float).ravel()
        if arr.size == 0:
            raise ValueError(f"{name} must hold at least one value")
        se = arr.std(ddof=1) / math.sqrt(arr.size) if arr.size > 1 else 0.0
        parts.append((arr.mean(), se, arr.size))
    (ma, sa, na), (mb, sb, nb) = parts
    n = max(min(k for k in (na, nb) if k > 1) if max(na, nb) > 1 else 2, 2)
    return estimate(ma - mb, math.hypot(sa, sb), n, z)


def edge_picks(results, key: str = "nstar_acc", complete: bool = True) -> int:
    """How many runs of ``results`` (``{label: online_nstar result}``) pick their best rate
    (:func:`best_rate` with ``held_out=False`` and ``complete``) at an edge of their
    learning-rate grid. A grid whose best value is an edge has not found the best rate: the
    count must be 0. A run in which no rate has a finite median n* (most trials never
    reached the threshold) has no best rate: it is censored, not an edge pick, and is not
    counted (its comparisons are ``INCONCLUSIVE`` through :func:`censoring_note`)."""
    n = 0
    for r in results.values():
        ns = np.asarray(r[key], float)
        if np.isfinite(np.median(np.log(ns), axis=1)).any():
            n += best_rate(r, key, held_out=False, complete=complete)["edge"]
    return int(n)


__all__ += ["estimate", "diff_stat", "edge_picks"]


# -- R1: natural images ------------------------------------------------------------------------
def _standardise(x, mu, sd):
    return (x - mu) / sd


def natural_probes(train, test, *, model: str, seeds, steps: int, batch: int = 64,
                   lr: float = 1e-3, n_checks: int = 14, probe_seed: int = 0,
                   device="cpu", width: int = 16, hidden: int = 256) -> dict:
    """Train ``model`` ("mlp", "cnn" or "resnet18") with Adam on ``train``; probe over
    training.

    Probes (built once from ``test``): ``test`` (the images), ``amp`` (amplitude-only, one
    random phase field for all channels), ``phase`` (phase-only with the training-set mean
    amplitude, DC included), ``clone`` (class-wise Gaussian clone of the training set) and
    the swap (amplitude of a test image of class a, phases of one of class b ≠ a):
    ``swap_a`` / ``swap_b`` = fraction predicted a / b. Returns arrays ``[seed, check]``.
    """
    if model not in ("mlp", "cnn", "resnet18"):
        raise ValueError(f"model must be 'mlp', 'cnn' or 'resnet18'; got {model!r}")
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of integer seeds; got {seeds!r}")
    seeds = [chk.integer(s, "seeds[]", minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    steps = chk.integer(steps, "steps", minimum=1)
    batch = chk.integer(batch, "batch", minimum=1)
    lr = chk.real(lr, "lr", minimum=0.0, strict=True)
    n_checks = chk.integer(n_checks, "n_checks", minimum=1)
    probe_seed = chk.integer(probe_seed, "probe_seed", minimum=0)
    width = chk.integer(width, "width", minimum=1)
    hidden = chk.integer(hidden, "hidden", minimum=1)
    device = _device(device)
    rng = np.random.default_rng(probe_seed)
    xtr, ytr = np.asarray(train.x, float), np.asarray(train.y)
    xte, yte = np.asarray(test.x, float), np.asarray(test.y)
    C = int(max(ytr.max(), yte.max()) + 1)
    mean_amp = np.abs(np.fft.fft2(xtr, norm="ortho")).mean(0)
    partner = np.empty(len(yte), int)
    for i in range(len(yte)):
        other = np.flatnonzero(yte != yte[i])
        partner[i] = other[rng.integers(len(other))]
    clone_x, clone_y = D.gaussian_clone(xtr, ytr, max(len(yte) // C, 1), rng)
    probes = {"test": (xte, yte), "amp": (D.amplitude_only(xte, rng), yte),
              "phase": (D.phase_only(xte, mean_amp), yte), "clone": (clone_x, clone_y),
              "swap": (D.swap(xte, xte[partner]), yte)}   # amplitude of xte, phases of partner
    mu = xtr.mean(axis=(0, 2, 3), keepdims=True)
    sd = xtr.std(axis=(0, 2, 3), keepdims=True)
    dt = torch.float32
    P = {k: torch.as_tensor(_standardise(v[0], mu, sd), dtype=dt, device=device)
         for k, v in probes.items()}
    Xtr = torch.as_tensor(_standardise(xtr, mu, sd), dtype=dt, device=device)
    Ytr = torch.as_tensor(ytr, dtype=torch.long, device=device)
    checks = np.unique(np.round(np.geomspace(1, steps, n_checks)).astype(int))
    eval_batch = 500 if model == "resnet18" else None   # the small nets: one batch
    out = {k: np.zeros((len(seeds), len(checks))) for k in
           ("test", "amp", "phase", "clone", "swap_a", "swap_b", "train")}
    for si, s in enumerate(seeds):
        torch.manual_seed(int(s))
        g = torch.Generator(device=device).manual_seed(int(s))
        net = (MLP(Xtr[0].numel(), hidden, C) if model == "mlp"
               else SmallCNN(Xtr.shape[1], C, width) if model == "cnn"
               else ResNet18(Xtr.shape[1], C, width)).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        ci = [0]

        def evaluate(t, si=si, net=net, ci=ci):
            if ci[0] < len(checks) and t == checks[ci[0]]:
                net.eval()
                with torch.no_grad():
                    for k in ("test", "amp", "phase", "clone"):
                        pred = _predict(net, P[k], eval_batch)
                        out[k][si, ci[0]] = np.mean(pred == probes[k][1])
                    pred = _predict(net, P["swap"], eval_batch)
                    out["swap_a"][si, ci[0]] = np.mean(pred == yte)   # amplitude's class
                    out["swap_b"][si, ci[0]] = np.mean(pred == yte[partner])   # phases'

                    pred = _predict(net, Xtr[:1000], eval_batch)
                    out["train"][si, ci[0]] = np.mean(pred == ytr[:1000])
                net.train()
                ci[0] += 1

        def step(t, net=net, opt=opt, g=g, evaluate=evaluate):
            idx = torch.randint(0, len(Xtr), (batch,), generator=g, device=device)
            loss = torch.nn.functional.cross_entropy(net(Xtr[idx]), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            evaluate(t + 1)

        _train.run(step, steps, desc=f"{model} seed {s}")
    out["steps"] = checks
    out["chance"] = 1.0 / C
    return out


def _predict(net, X, batch=None):
    if batch is None:
        return net(X).argmax(1).cpu().numpy()
    return np.concatenate([net(X[i:i + batch]).argmax(1).cpu().numpy()
                           for i in range(0, len(X), batch)])


# -- R5: deep CNNs on CIFAR-100 (paper preset only) ---------------------------------------------
def cifar100_present() -> bool:
    """Whether the official CIFAR-100 archive is in :func:`freqlearn.data.cifar.data_dir`."""
    from ..data import cifar

    return (cifar.data_dir() / cifar.ARCHIVES["cifar100"]["file"]).is_file()


def deep_point(*, whitened: bool, seed: int, steps: int, n_train=None, n_test=None,
               data_seed: int = 0, batch: int = 128, lr: float = 1e-3, width: int = 64,
               n_checks: int = 14, root=None, md5=None, workdir=None) -> dict:
    """R5 at scale: a CIFAR ResNet-18 trained with Adam on CIFAR-100 (``whitened``: both
    training and test images whitened by the training set's mean amplitude,
    :func:`~freqlearn.data.ricci.whiten_images`), with the R1 probes of
    :func:`natural_probes` over training. One sweep point (saved when done; ``workdir``
    unused: no checkpoint within the run); runs on
    :func:`freqlearn.presets.device`. ``root``/``md5`` go to the loader (tests)."""
    import dataclasses

    whitened = chk.boolean(whitened, "whitened")
    seed = chk.integer(seed, "seed", minimum=0)
    train, test = D.load_cifar100(n_train, n_test, seed=data_seed, root=root, md5=md5)
    if whitened:
        amp = np.abs(np.fft.fft2(train.x.astype(float), norm="ortho")).mean(0)
        train = dataclasses.replace(train, x=D.whiten_images(train.x, amp).astype(np.float32))
        test = dataclasses.replace(test, x=D.whiten_images(test.x, amp).astype(np.float32))
    out = natural_probes(train, test, model="resnet18", seeds=[int(seed)], steps=steps,
                         batch=batch, lr=lr, n_checks=n_checks, probe_seed=data_seed,
                         device=_presets.device(), width=width)
    out.update(whitened=bool(whitened), source=train.source)
    return out


def probe_time(curve, steps, chance: float, frac: float = 0.5) -> np.ndarray:
    """Per seed: the first step at which ``curve`` rises ``frac`` of the way from chance to its
    maximum (log-interpolated between checkpoints). ``curve`` ``[seed, check]``."""
    curve = chk.real_array(curve, "curve", ndim=(2,))
    steps = chk.real_array(steps, "steps", ndim=(1,))
    if steps.shape[0] != curve.shape[1] or np.any(steps <= 0):
        raise ValueError(f"steps must be {curve.shape[1]} positive steps (one per column of "
                         f"curve); got {steps.tolist()}")
    chance = chk.real(chance, "chance")
    frac = chk.real(frac, "frac", minimum=0.0, strict=True)
    if frac > 1:
        raise ValueError(f"frac must be in (0, 1]; got {frac}")
    out = np.empty(len(curve))
    for i, c in enumerate(curve):
        level = chance + frac * (c.max() - chance)
        j = int(np.argmax(c >= level))
        if j == 0:
            out[i] = steps[0]
        else:
            f = (level - c[j - 1]) / max(c[j] - c[j - 1], 1e-12)
            out[i] = math.exp(math.log(steps[j - 1]) + f * math.log(steps[j] / steps[j - 1]))
    return out


__all__.append("probe_time")


# -- R4: a classifier on power spectra ---------------------------------------------------------
def spectrum_classifier(task, n_train: int, n_test: int, rng) -> float:
    """Test accuracy of a logistic regression on per-sample log power spectra of ``task``."""
    from sklearn.linear_model import LogisticRegression

    n_train = chk.integer(n_train, "n_train", minimum=2)
    n_test = chk.integer(n_test, "n_test", minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    x, y = task.sample(n_train + n_test, rng)
    F = np.log(D.radial_power(x) + 1e-12)
    F = (F - F[:n_train].mean(0)) / (F[:n_train].std(0) + 1e-12)
    clf = LogisticRegression(max_iter=500).fit(F[:n_train], y[:n_train])
    return float(clf.score(F[n_train:], y[n_train:]))


# -- R5: textures -----------------------------------------------------------------------------
class texture_pool:  # noqa: N801  (used like a function returning a sampler)
    """Texture patches (+1) vs phase-randomised texture patches (−1), optionally whitened.

    A pool of ``n_pool`` patches of each texture is cut once (``rng``); ``sample(n, rng)``
    draws patches from it, phase-randomises the −1 class with fresh random phases (so its
    amplitude equals the patch's own) and, when ``whitened``, divides both classes by the
    pool's mean amplitude. ``dimension`` = size².
    """

    def __init__(self, size: int, n_pool: int, rng, *, whitened: bool = False):
        size = chk.integer(size, "size", minimum=2)
        n_pool = chk.integer(n_pool, "n_pool", minimum=1)
        self.whitened = chk.boolean(whitened, "whitened")
        self.patches = D.texture_patches(n_pool, size, rng)
        self.mean_amp = np.abs(np.fft.fft2(self.patches, norm="ortho")).mean(0)
        self.dimension = size * size
        self.size = size

    def fingerprint(self) -> dict:
        """What determines the samples, as plain data (for checkpoint fingerprints): the
        size, the pool (its patches, by digest) and whether it is whitened."""
        return {"size": self.size, "n_pool": len(self.patches), "whitened": self.whitened,
                "patches": _store.digest(self.patches)}

    def sample(self, n, rng):
        n = chk.integer(n, "n", minimum=1)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        idx = rng.integers(0, len(self.patches), n)
        x = self.patches[idx]
        y = rng.choice([-1.0, 1.0], size=n)
        neg = y < 0
        x = x.copy()
        x[neg] = D.phase_randomise(x[neg], rng)
        if self.whitened:
            x = D.whiten(x, self.mean_amp)
        x = x - x.mean(axis=(1, 2), keepdims=True)
        return x.reshape(n, -1) / x.std(), y

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

import math
from pathlib import Path

import numpy as np
import torch

from .. import presets as _presets
from .. import sweep as _sweep
from .. import train as _train
from ..data import ricci as D
from ..nets.ricci import MLP, ResNet18, SmallCNN, TwoLayer

__all__ = ["online_nstar", "scan_sizes", "best_rate", "natural_probes", "texture_pool",
           "spectrum_classifier", "nstar_point", "texture_point", "results_folder",
           "run_points", "deep_point", "cifar100_present"]


def _checks(batch, budget, n=80):
    steps = np.unique(np.round(np.geomspace(1, budget / batch, n)).astype(int))
    return set((steps * batch).tolist())


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
    rates are then censored: slower than the best). Returns arrays indexed ``[c, trial]``.

    ``shared_data``: trial ``r`` sees the same sample stream at every rate ``c`` (common
    random numbers; with the same ``seed``, two tasks whose samplers draw from ``rng`` alike
    — e.g. the same phases under two amplitudes — then see the same draws, trial by trial).

    ``checkpoint``: a file (or None): the nets, the counters and the sampler's generator are
    saved every ``checkpoint_every`` chunks by :func:`freqlearn.train.run`, and a re-run
    with the same file resumes where it stopped, with the same numbers.
    """
    cs = np.asarray(cs, float)
    if cs.ndim != 1 or cs.size < 1 or np.any(cs <= 0):
        raise ValueError(f"cs must be a 1-D array of positive rates; got {cs}")
    trials = int(trials)
    if trials < 1:
        raise ValueError(f"trials must be ≥ 1; got {trials}")
    if not isinstance(shared_data, bool):
        raise TypeError(f"shared_data must be True or False; got {shared_data!r}")
    rng = np.random.default_rng(seed)
    T = cs.size * trials
    dt = torch.float32
    xt, yt = sample(n_test, rng)
    xt = torch.as_tensor(xt.reshape(n_test, -1), dtype=dt, device=device)
    yt = torch.as_tensor(yt, dtype=dt, device=device)
    g = torch.Generator(device=device).manual_seed(int(seed))
    net = TwoLayer(T, K, D_in, generator=g, dtype=dt, device=device)
    lr = torch.as_tensor(np.repeat(cs, trials) * lr_scale, dtype=dt, device=device)
    checks = _checks(batch, budget)
    st = {"n": 0, "acc": np.full(T, np.inf), "ov": np.full(T, np.inf), "done": False}
    n_chunks = math.ceil(budget / (batch * chunk))

    def finished():
        both = np.maximum(st["acc"], st["ov"]).reshape(cs.size, trials)
        ok = np.isfinite(both).all(1)
        return bool(ok.any() and st["n"] >= stop_factor * both[ok].max(1).min())

    box = {"W": net.W, "v": net.v, "b": net.b,
           "acc": torch.full((T,), math.inf, dtype=torch.float64),
           "ov": torch.full((T,), math.inf, dtype=torch.float64),
           "n": torch.zeros(1, dtype=torch.int64), "rng": _rng_tensor(rng)}
    first = [True]

    def save():
        box["acc"].copy_(torch.as_tensor(st["acc"]))
        box["ov"].copy_(torch.as_tensor(st["ov"]))
        box["n"][0] = st["n"]
        box["rng"].copy_(_rng_tensor(rng))

    def step(t):
        if first[0]:
            first[0] = False
            if t > 0:   # resumed by train.run: restore the counters and the sampler
                st["acc"], st["ov"] = box["acc"].numpy().copy(), box["ov"].numpy().copy()
                st["n"] = int(box["n"][0])
                _set_rng(rng, box["rng"])
                st["done"] = finished()
        if st["done"]:
            return
        m = trials if shared_data else T
        x, y = sample(m * batch * chunk, rng)
        x = torch.as_tensor(x.reshape(chunk, 1, m, batch, D_in), dtype=dt, device=device)
        y = torch.as_tensor(y.reshape(chunk, 1, m, batch), dtype=dt, device=device)
        if shared_data:
            x = x.expand(chunk, cs.size, m, batch, D_in)
            y = y.expand(chunk, cs.size, m, batch)
        x, y = x.reshape(chunk, T, batch, D_in), y.reshape(chunk, T, batch)
        for j in range(chunk):
            net.sgd_step(x[j], y[j], lr)
            st["n"] += batch
            if st["n"] in checks:
                acc = net.accuracy(xt, yt).cpu().numpy()
                ov = net.overlap().cpu().numpy()
                for key, val, thr in (("acc", acc, acc_threshold), ("ov", ov, overlap_threshold)):
                    new = (val >= thr) & ~np.isfinite(st[key])
                    st[key][new] = st["n"]
        st["done"] = finished()
        if ckpt is not None:
            save()

    ckpt = None if checkpoint is None or checkpoint is False else checkpoint
    _train.run(step, n_chunks, desc=desc, state=box if ckpt is not None else None,
               checkpoint=ckpt, checkpoint_every=checkpoint_every, name="online_nstar",
               fingerprint={"cs": [float(c) for c in cs], "trials": trials, "K": K,
                            "batch": batch, "lr_scale": float(lr_scale), "seed": int(seed),
                            "chunk": chunk, "shared_data": shared_data,
                            "acc_threshold": float(acc_threshold),
                            "overlap_threshold": float(overlap_threshold)})
    acc = net.accuracy(xt, yt).cpu().numpy()
    return {"cs": cs, "lr": cs * lr_scale, "lr_per_sample": cs * lr_scale / batch,
            "nstar_acc": st["acc"].reshape(cs.size, trials),
            "nstar_ov": st["ov"].reshape(cs.size, trials),
            "final_acc": np.nan_to_num(acc).reshape(cs.size, trials), "n_run": st["n"],
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
    N = int(N)
    t = D.PhaseTask(N, **task)
    return online_nstar(t.sample, t.dimension, cs=list(cs), trials=trials,
                        lr_scale=float(N) ** -float(rate_exponent), seed=seed,
                        desc=kw.pop("desc", f"N={N}"), checkpoint=_point_ckpt(workdir), **kw)


def texture_point(*, size: int, n_pool: int, pool_seed: int, whitened: bool, cs,
                  trials: int, seed: int = 0, workdir=None, **kw) -> dict:
    """One R5 point: :func:`online_nstar` on :class:`texture_pool` ``(size, n_pool,
    default_rng(pool_seed), whitened)`` with ``lr = c / size²`` (see :func:`nstar_point`)."""
    pool = texture_pool(size, n_pool, np.random.default_rng(int(pool_seed)),
                        whitened=bool(whitened))
    return online_nstar(pool.sample, pool.dimension, cs=list(cs), trials=trials,
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
    if isinstance(make_task, dict):
        pts = [dict(N=int(N), task=dict(make_task), cs=[float(c) for c in cs],
                    trials=int(trials), rate_exponent=float(rate_exponent),
                    seed=int(seed) + 1000 * i, desc=f"N={N}", **kw)
               for i, N in enumerate(Ns)]
        return dict(zip([int(N) for N in Ns], run_points(nstar_point, pts, folder),
                        strict=True))
    if not callable(make_task):
        raise TypeError(f"make_task must be a dict of PhaseTask arguments or a callable; "
                        f"got {type(make_task).__name__}")
    if folder is not None:
        raise ValueError("folder needs make_task as a dict of PhaseTask arguments (a "
                         "callable cannot be saved with the point)")
    out = {}
    for i, N in enumerate(Ns):
        task = make_task(int(N))
        out[int(N)] = online_nstar(task.sample, task.dimension, cs=cs, trials=trials,
                                   lr_scale=float(N) ** -rate_exponent,
                                   seed=seed + 1000 * i, desc=f"N={N}", **kw)
    return out


def best_rate(res: dict, key: str = "nstar_acc", held_out: bool = True) -> dict:
    """Pick the rate per run on the first half of the trials (median log n*), and report
    n* of that rate on the other half (so the selection does not bias the reported n*);
    with ``held_out=False`` the rate is chosen and n* read on all trials.

    Returns ``{"c", "nstar" (held-out trials; a trial that never reached the threshold is
    censored at the run's length, a lower bound), "censored" (that fraction), "edge"}``.
    """
    ns = res[key]
    r = ns.shape[1]
    half = max(r // 2, 1) if held_out else r
    sel = ns[:, :half]
    med = np.median(np.log(sel), axis=1)
    i = int(np.argmin(med))
    held = ns[i, half:] if (r > 1 and held_out) else ns[i]
    cens = ~np.isfinite(held)
    return {"c": float(res["cs"][i]), "i": i, "nstar": np.where(cens, res["n_run"], held),
            "censored": float(np.mean(cens)),
            "edge": i in (0, len(res["cs"]) - 1)}


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
    curve = np.asarray(curve, float)
    steps = np.asarray(steps, float)
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
        self.patches = D.texture_patches(n_pool, size, rng)
        self.mean_amp = np.abs(np.fft.fft2(self.patches, norm="ortho")).mean(0)
        self.whitened = bool(whitened)
        self.dimension = size * size
        self.size = size

    def sample(self, n, rng):
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

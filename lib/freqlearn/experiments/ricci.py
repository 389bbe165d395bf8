"""Experiments of the reconstruction of Ricci, Merger & Goldt (2026) (abstract only; R1–R5).

- :func:`online_nstar` — online SGD of batched two-layer nets (:class:`~freqlearn.nets.ricci.
  TwoLayer`) on a two-class task with a fresh batch per step; all learning rates of the scan
  and all trials in one tensor; returns the sample count n* at which each net first reaches a
  test-accuracy threshold and at which its order parameter (largest squared overlap of a unit
  with one pixel) first crosses 0.75.
- :func:`scan_sizes` — :func:`online_nstar` over sizes N, and :func:`best_rate` — the learning
  rate chosen per N on half the trials, n* read off the other half.
- :func:`natural_probes` — R1: an MLP and a small CNN on natural images, with the accuracy on
  amplitude-only, phase-only, swapped and Gaussian-clone probes over training.
- :func:`texture_pool` — R5: texture patches vs their own phase-randomised versions (and the
  whitened task) as a sampler for :func:`online_nstar`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import train as _train
from ..data import ricci as D
from ..nets.ricci import MLP, SmallCNN, TwoLayer

__all__ = ["online_nstar", "scan_sizes", "best_rate", "natural_probes", "texture_pool",
           "spectrum_classifier"]


def _checks(batch, budget, n=80):
    steps = np.unique(np.round(np.geomspace(1, budget / batch, n)).astype(int))
    return set((steps * batch).tolist())


def online_nstar(sample, D_in: int, *, cs, trials: int, K: int = 8, batch: int = 8,
                 budget: int = 200_000, lr_scale: float = 1.0, acc_threshold: float = 0.6,
                 overlap_threshold: float = 0.75, n_test: int = 2000, seed: int = 0,
                 chunk: int = 50, stop_factor: float = 2.0, desc: str = "online SGD",
                 device="cpu") -> dict:
    """Online SGD on ``sample(n, rng) → (x (n, D_in), y (n,) in ±1)``; n* per net.

    Learning rate of net ``(c, r)``: ``lr = c · lr_scale`` on the batch-mean gradient
    (``lr / batch`` per sample). A net's n* is the first checkpoint (log-spaced, 80 per
    budget) with test accuracy ≥ ``acc_threshold`` (``nstar_acc``) or order parameter ≥
    ``overlap_threshold`` (``nstar_ov``); ``inf`` when never reached. The run stops early once
    some ``c`` has all its trials done and ``n ≥ stop_factor ×`` their largest n* (the other
    rates are then censored: slower than the best). Returns arrays indexed ``[c, trial]``.
    """
    cs = np.asarray(cs, float)
    if cs.ndim != 1 or cs.size < 1 or np.any(cs <= 0):
        raise ValueError(f"cs must be a 1-D array of positive rates; got {cs}")
    trials = int(trials)
    if trials < 1:
        raise ValueError(f"trials must be ≥ 1; got {trials}")
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

    def step(t):
        if st["done"]:
            return
        x, y = sample(T * batch * chunk, rng)
        x = torch.as_tensor(x.reshape(chunk, T, batch, D_in), dtype=dt, device=device)
        y = torch.as_tensor(y.reshape(chunk, T, batch), dtype=dt, device=device)
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

    _train.run(step, n_chunks, desc=desc)
    acc = net.accuracy(xt, yt).cpu().numpy()
    return {"cs": cs, "lr": cs * lr_scale, "lr_per_sample": cs * lr_scale / batch,
            "nstar_acc": st["acc"].reshape(cs.size, trials),
            "nstar_ov": st["ov"].reshape(cs.size, trials),
            "final_acc": np.nan_to_num(acc).reshape(cs.size, trials), "n_run": st["n"],
            "budget": budget}


def scan_sizes(make_task, Ns, *, cs, trials, rate_exponent: float = 2.0, seed: int = 0,
               **kw) -> dict:
    """:func:`online_nstar` for each ``N`` of ``Ns`` with ``lr = c · N^(−rate_exponent)``.

    ``make_task(N)`` returns a :class:`~freqlearn.data.ricci.PhaseTask` (or any object with
    ``sample`` and ``dimension``). Returns ``{N: result}``.
    """
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
    """Train ``model`` ("mlp" or "cnn") with Adam on ``train``; probe over training.

    Probes (built once from ``test``): ``test`` (the images), ``amp`` (amplitude-only, one
    random phase field for all channels), ``phase`` (phase-only with the training-set mean
    amplitude, DC included), ``clone`` (class-wise Gaussian clone of the training set) and
    the swap (amplitude of a test image of class a, phases of one of class b ≠ a):
    ``swap_a`` / ``swap_b`` = fraction predicted a / b. Returns arrays ``[seed, check]``.
    """
    if model not in ("mlp", "cnn"):
        raise ValueError(f"model must be 'mlp' or 'cnn'; got {model!r}")
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
    out = {k: np.zeros((len(seeds), len(checks))) for k in
           ("test", "amp", "phase", "clone", "swap_a", "swap_b", "train")}
    for si, s in enumerate(seeds):
        torch.manual_seed(int(s))
        g = torch.Generator(device=device).manual_seed(int(s))
        net = (MLP(Xtr[0].numel(), hidden, C) if model == "mlp"
               else SmallCNN(Xtr.shape[1], C, width)).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        ci = [0]

        def evaluate(t, si=si, net=net, ci=ci):
            if ci[0] < len(checks) and t == checks[ci[0]]:
                with torch.no_grad():
                    for k in ("test", "amp", "phase", "clone"):
                        pred = net(P[k]).argmax(1).cpu().numpy()
                        out[k][si, ci[0]] = np.mean(pred == probes[k][1])
                    pred = net(P["swap"]).argmax(1).cpu().numpy()
                    out["swap_a"][si, ci[0]] = np.mean(pred == yte)   # amplitude's class
                    out["swap_b"][si, ci[0]] = np.mean(pred == yte[partner])   # phases'

                    pred = net(Xtr[:1000]).argmax(1).cpu().numpy()
                    out["train"][si, ci[0]] = np.mean(pred == ytr[:1000])
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

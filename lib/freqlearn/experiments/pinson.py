"""The experiments of Pinson et al. (2023), SI I, as functions the chapter's notebooks call.

Each returns plain numpy arrays (trials on axis 0) so the notebooks only plot and check.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import presets, train
from ..data import pinson as data
from ..nets import pinson as nets
from ..theory import pinson as th

__all__ = ["cosines", "sums", "sums_min_norm", "shapes", "paper_cost", "sgd_rate_probe",
           "discovery_index", "span_fraction", "mixture_report", "ordering_fraction", "later_claim",
           "long_loss", "cascade_report"]


class _StepCNN(nets.LinearCNN):
    """:class:`~freqlearn.nets.pinson.LinearCNN` whose update transforms the drawn images once.

    Speed only. ``train_twolayer`` calls ``predict(x)`` and then ``grads(x, e)`` on the same
    batch ``x`` before ``apply``: here the images' ``rfft2`` and the hidden layer
    ``dbc(K) x`` (Eq. 8) computed by ``predict`` are kept and reused by ``grads`` instead of
    being computed again — 4 of the update's 9 FFTs — with the same operations on the same
    numbers (``fourier.fft_depthwise_conv2d`` is ``irfft2(rfft2(x) · rfft2(k))``). The
    memo holds the batch itself, so it can only match that very tensor, and ``apply``
    clears it.
    """

    def _transform(self, x):
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[0] is x:
            return memo[1], memo[2]
        H, W = x.shape[-2:]
        Xh = torch.fft.rfft2(x)
        h = torch.fft.irfft2(Xh * torch.fft.rfft2(self.k[:, None], s=(H, W)), s=(H, W))
        h = h.reshape(*h.shape[:2], -1)
        self._memo = (x, Xh, h)
        return Xh, h

    def predict(self, x):
        return torch.einsum("tpd,tbd->tbp", self.W, self._transform(x)[1])

    def grads(self, x, e):
        Xh, h = self._transform(x)
        B = h.shape[1]
        dW = torch.einsum("tbp,tbd->tpd", e, h) / B
        g = torch.einsum("tpd,tbp->tbd", self.W, e).reshape(*h.shape[:2], *self.k.shape[1:])
        H, W = x.shape[-2:]
        dk = torch.fft.irfft2(torch.fft.rfft2(g) * Xh.conj(), s=(H, W)).sum(1) / B
        return dk, dW

    def apply(self, dk, dW, lr):
        self._memo = None
        super().apply(dk, dW, lr)


def _diag(A):
    """(K, T, p, p) recorded A → (T, p, K) diagonals."""
    return np.einsum("ktii->tik", A)


def cosines(*, T, budget, lr, sigma=1e-5, mode="single", slow=1, generator, steps=200,
            n=16, checkpoint=None):
    """SI I.1: pure cosines, aligned balanced CNN init, FCNN with the same A(0) (λ_FC = nλ).

    ``slow = m`` runs with λ/m for m·budget updates (the slow-learning limit), recorded at
    the same ODE times. Returns dict: ``t`` ODE time, ``N`` paper-equivalent updates,
    ``a_cnn``/``a_fc`` (T, p, K) diagonals of A, ``off_cnn``/``off_fc`` max |off-diagonal|,
    ``loss_cnn``/``loss_fc`` (T, K), ``th_cnn``/``th_fc`` Eq. 22 per trial, ``svd``, ``d``.
    ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`); the two nets get ``-cnn``/``-fc`` files.
    """
    key = dict(T=T, budget=budget, lr=lr, sigma=sigma, mode=mode, slow=slow,
               generator=generator, steps=steps, n=n)
    ck = {part: train.resolve_checkpoint(checkpoint, "cosines", key=key, part=part) or False
          for part in ("cnn", "fc")}
    X, Y = data.pure_cosines(n)
    p = len(Y)
    svd = th.svd_yx(X, Y)
    d = th.d_alpha(svd["V"], n)
    cnn = _StepCNN.aligned(T, n, svd["U"], svd["V"], sigma, generator)
    A0 = th.effective_A(cnn.predict(torch.as_tensor(X)[None]).numpy(), X, svd["U"], svd["V"])
    a0 = np.einsum("tii->ti", A0)
    fc = nets.LinearFCNN.aligned(a0, svd["Sxx"], svd["U"], svd["V"], n * n)
    st = np.unique(np.round(np.linspace(0, budget, steps)).astype(int)) * slow
    out = {"svd": svd, "d": d, "a0": a0, "N": st / slow,
           "t": th.time_of_updates(st / slow, p)}
    for name, net, rate in (("cnn", cnn, lr), ("fc", fc, n * lr)):
        rec = nets.train_twolayer(net, X, Y, lr=rate / slow, budget=budget * slow, mode=mode,
                                  generator=generator, svd=svd, steps=st,
                                  desc=f"{name} {mode}", checkpoint=ck[name])
        A = rec.history["A"]
        out[f"a_{name}"] = _diag(A)
        off = np.abs(A - np.einsum("ktii->kti", A)[..., None] * np.eye(p))
        out[f"off_{name}"] = off.max(axis=(2, 3)).T
        out[f"loss_{name}"] = rec.history["loss"].T
        if "counts" in rec.history:  # (K, T, p) draws per class → per-mode clocks (T, p, K)
            cls = np.argmax(np.abs(svd["U"]), axis=0)  # the class of each mode (U: permutation)
            cnt = rec.history["counts"][:, :, cls] / slow
            out[f"clock_{name}"] = 2.0 * np.moveaxis(cnt, 0, -1)
    s = svd["s"][None, :, None]
    tt = out["t"][None, None]
    out["th_cnn"] = th.sigmoid(tt, s, d[None, :, None], lr, n, a0[:, :, None])
    out["th_fc"] = th.sigmoid(tt, s, 1.0, n * lr, 1, a0[:, :, None])
    for name, dd, lam, nn in (("cnn", d[None, :, None], lr, n), ("fc", 1.0, n * lr, 1)):
        if f"clock_{name}" in out:  # Eq. 22 on each trial's own clock t_α = 2·N_c(α)
            out[f"thc_{name}"] = th.sigmoid(out[f"clock_{name}"], s, dd, lam, nn,
                                           a0[:, :, None])
    return out


def max_dev(run, net="cnn", theory="th", mean=False, groups=None):
    """max over trials, t of |a_sim − a_theory|/sα, per mode α (``mean``: of the trial means).

    ``theory="th"``: Eq. 22 at t = 2N/p; ``"thc"``: at each trial's own clock 2·N_c(α).
    ``groups=G`` (with ``mean=True``): split the trials into G equal groups and return the
    deviation of each group's mean, shape (G, p) — e.g. groups of the paper's 10 trials,
    whose mean curve is what its figures plot."""
    s = run["svd"]["s"][None, :, None]
    a, b = run[f"a_{net}"], run[f"{theory}_{net}"]
    if groups is not None:
        if not mean or isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 \
                or len(a) % groups:
            raise ValueError(f"groups must divide the {len(a)} trials and needs mean=True; "
                             f"got groups={groups!r}, mean={mean!r}")
        ga = a.reshape(groups, -1, *a.shape[1:]).mean(1)
        gb = b.reshape(groups, -1, *b.shape[1:]).mean(1)
        return (np.abs(ga - gb) / s).max(axis=2)
    if mean:
        a, b = a.mean(0, keepdims=True), b.mean(0, keepdims=True)
    return (np.abs(a - b) / s).max(axis=(0, 2))


def sums(*, T, budget, lr, sigma=1e-5, generator, steps=80, mode="single", slow=1,
         checkpoint=None, classes=None):
    """SI I.2: sums of cosines (two classes, 64×64), random init σ; CNN only.

    Records A, the loss, |(Qk)_j|² on the support, kernel snapshots, and (W̄Q⁻¹)_{α,j} on
    the support (for S.2 and S.77). ``slow = m``: λ/m for m·budget updates. The sWTA ODE
    (Eqs. 23–24) is integrated from each trial's growing-mode initial values and evaluated
    at t = 2N/p (``u_ode``, ``a_ode``) and, in single-sample mode, on each trial's own
    per-mode clock 2·N_c(α) (``a_clock``). ``checkpoint``: a path, ``False`` or ``None``
    (automatic, :func:`freqlearn.train.resolve_checkpoint`). ``classes``: the dataset's
    terms (default :data:`~freqlearn.data.pinson.SUMS_DEFAULT`, 64×64). Returns a dict with
    the final net.
    """
    key = dict(T=T, budget=budget, lr=lr, sigma=sigma, generator=generator, steps=steps,
               mode=mode, slow=slow)
    if classes is not None:
        key["classes"] = [list(map(float, t)) for cl in classes for t in cl]
    ck = train.resolve_checkpoint(checkpoint, "sums", key=key) or False
    X, Y = data.sums_of_cosines(classes)
    n = X.shape[-1]
    p = len(Y)
    svd = th.svd_yx(X, Y)
    cnn = _StepCNN.random(T, 1, n, p, sigma, generator)
    phis = np.stack([th.qvec(svd["V"][:, a], n) for a in range(p)])  # (p, n²)
    sup = np.abs(phis) > 1e-6 * np.abs(phis).max()
    js = np.flatnonzero(sup.any(0))
    mode_of = np.argmax(np.abs(phis[:, js]), 0)
    phi_j = phis[mode_of, js]
    U = torch.as_tensor(svd["U"])

    def kappa():
        return (torch.fft.fft2(cnn.k[:, 0]) / n).reshape(T, -1)[:, js]

    def omega():
        Wb = torch.einsum("ab,tbd->tad", U.T, cnn.W).reshape(T, p, n, n)
        Om = torch.conj(torch.fft.fft2(Wb) / n).reshape(T, p, -1)
        return Om[:, mode_of, js]

    kap0, om0 = kappa().numpy(), omega().numpy()
    st = train_steps(budget, steps) * slow
    rec = nets.train_twolayer(cnn, X, Y, lr=lr / slow, budget=budget * slow, mode=mode,
                              generator=generator, svd=svd, steps=st, record_W=True,
                              extra={"kap": kappa, "om": omega}, desc="sums CNN",
                              checkpoint=ck)
    h = rec.history
    N = rec.t / slow
    t = th.time_of_updates(N, p)
    u0 = th.growing_mode_init(kap0, om0, phi_j)
    tf = np.linspace(0, 2 * t[-1] + 1, 4001)
    u_f, a_f = th.swta_ode(tf, u0, np.abs(phi_j), mode_of, svd["s"], svd["Sxx"], lr, n)
    u_ode = np.stack([[np.interp(t, tf, u_f[i, j]) for j in range(len(js))]
                      for i in range(T)])
    a_ode = np.stack([[np.interp(t, tf, a_f[i, a]) for a in range(p)] for i in range(T)])
    out_clock = {}
    if "counts" in h:
        cls = np.argmax(np.abs(svd["U"]), axis=0)
        clock = 2.0 * np.moveaxis(h["counts"][:, :, cls], 0, -1) / slow  # (T, p, K)
        out_clock["a_clock"] = np.stack([[np.interp(clock[i, a], tf, a_f[i, a])
                                          for a in range(p)] for i in range(T)])
    return {**out_clock, "X": X, "svd": svd, "N": N, "t": t, "a": _diag(h["A"]),
            "kernels": h["W"][:, :, 0],
            "A": np.moveaxis(h["A"], 0, -1), "loss": h["loss"].T,
            "kap": np.moveaxis(h["kap"], 0, -1), "om": np.moveaxis(h["om"], 0, -1),
            "js": js, "mode_of": mode_of, "phi_j": phi_j, "u_ode": u_ode, "a_ode": a_ode,
            "net": cnn, "n": n, "phis": phis}


def sums_min_norm(*, sigmas, T, budget, lr, generator_seed):
    """P8's real test: the norm of trained nets against the hard-WTA minimal norm, per σ.

    For each initial scale σ, ``T`` nets are trained on the sums of cosines with the
    class-averaged update (``mode="mean"``: the dynamics of Eq. 23 without draw noise) from
    the *same* random directions (``generator_seed``), so σ only scales the start. Returns
    ``excess`` (len(σ), T) = (‖k‖² + ‖W‖²)/min − 1, the final ``a/s`` (len(σ), T, p), the
    minimum (:func:`~freqlearn.theory.pinson.wta_minimal_norm`) and the predicted exponent
    (:func:`~freqlearn.theory.pinson.wta_excess_exponent`).
    """
    sigmas = [float(v) for v in sigmas]
    if not sigmas or any(not (v > 0 and np.isfinite(v)) for v in sigmas):
        raise ValueError(f"sigmas must be positive finite initial scales; got {sigmas}")
    excess, fit = [], []
    for sigma in sigmas:
        r = sums(T=T, budget=budget, lr=lr, sigma=sigma, mode="mean", steps=4,
                 generator=presets.generator(generator_seed), checkpoint=False)
        net, svd, n = r["net"], r["svd"], r["n"]
        norm2 = ((net.k.double() ** 2).flatten(1).sum(1)
                 + (net.W.double() ** 2).flatten(1).sum(1)).numpy()
        wta = th.wta_minimal_norm(r["phis"], svd["s"], svd["Sxx"], n)
        excess.append(norm2 / wta - 1)
        fit.append(r["a"][:, :, -1] / svd["s"])
    return {"sigma": np.array(sigmas), "excess": np.array(excess), "a_over_s": np.array(fit),
            "wta": wta, "exponent": th.wta_excess_exponent(r["phis"])}


def train_steps(budget, n):
    """Linearly spaced record steps (the paper plots on a linear axis)."""
    return np.unique(np.round(np.linspace(0, budget, n)).astype(int))


def shapes(*, T, budget, lr, n=64, sigma=1e-5, generator, steps=120, fc_rows=(0, 1, 2),
           checkpoint=None, invert=False):
    """SI I.3: geometric shapes, random init σ, CNN (λ) and FCNN (λ_FC = nλ).

    Records A, loss, |(Qk)_j|² and kernel snapshots (CNN) and three W¹ rows (FCNN).
    ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`); the two nets get ``-cnn``/``-fc`` files.
    ``invert``: dark shapes on a light background (:func:`freqlearn.data.pinson.shapes`)."""
    key = dict(T=T, budget=budget, lr=lr, n=n, sigma=sigma, generator=generator, steps=steps,
               fc_rows=fc_rows, **({"invert": True} if invert else {}))
    ck = {part: train.resolve_checkpoint(checkpoint, "shapes", key=key, part=part) or False
          for part in ("cnn", "fc")}
    X, Y = data.shapes(n, invert=invert)
    p = len(Y)
    svd = th.svd_yx(X, Y)
    st = train_steps(budget, steps)
    cnn = _StepCNN.random(T, 1, n, p, sigma, generator)
    rc = nets.train_twolayer(cnn, X, Y, lr=lr, budget=budget, generator=generator, svd=svd,
                             steps=st, record_spectrum=True, record_W=True, desc="shapes CNN",
                             checkpoint=ck["cnn"])
    fc = nets.LinearFCNN.random(T, n * n, p, svd["V"], sigma, generator)
    rf = nets.train_twolayer(fc, X, Y, lr=n * lr, budget=budget, generator=generator,
                             svd=svd, steps=st, record_W=list(fc_rows), desc="shapes FCNN",
                             checkpoint=ck["fc"])
    hc, hf = rc.history, rf.history
    return {"X": X, "svd": svd, "N": rc.t, "t": th.time_of_updates(rc.t, p),
            "a_cnn": _diag(hc["A"]), "a_fc": _diag(hf["A"]), "loss_cnn": hc["loss"].T,
            "loss_fc": hf["loss"].T, "spec": hc["spec"][:, :, 0], "kernels": hc["W"][:, :, 0],
            "fc_rows": hf["W"], "n": n, "A_cnn": hc["A"], "A_fc": hf["A"]}


def paper_cost(train_set, *, device="cpu", short=2, long=6, generator=None):
    """Seconds per update of the paper-scale natural-image runs (SI I.4 and SI K).

    Times ``long`` and ``short`` updates of each model on ``train_set`` (32×32×3 images,
    ``.x`` (N, 3, 32, 32), ``.y``, ``.classes``) and returns the difference per update, so
    that set-up and recording cancel (after one warm-up call): the two-layer linear CNN and
    FCNN of Fig. 5 (10 trials, 4 classes) and the deep linear and ReLU CNNs of Fig. 6
    (5 trials, batch 8).
    Returns {model: seconds per update}.
    """
    import time

    gen = generator if generator is not None else presets.generator(90)  # the preset's seed
    X = np.asarray(train_set.x, dtype=np.float64)
    n = X.shape[-1]
    Y = np.eye(4)[np.asarray(train_set.y) % 4]
    svd = th.svd_yx(X, Y)

    def per_update(make, fit):
        fit(make(), 1)  # warm-up: first-call allocations and kernel selection
        t = []
        for b in (short, long):
            best = float("inf")  # the fastest of 3: other load on the machine only adds
            for _ in range(3):
                net = make()
                t0 = time.perf_counter()
                fit(net, b)
                best = min(best, time.perf_counter() - t0)
            t.append(best)
        return max(t[1] - t[0], 0.0) / (long - short)

    out = {
        "linear CNN (Fig. 5)": per_update(
            lambda: nets.LinearCNN.random(10, 3, n, 4, 1e-4, gen),
            lambda net, b: nets.train_twolayer(net, X, Y, lr=1e-4, budget=b, mode="epoch",
                                               generator=gen, svd=svd, steps=[0], n_eval=8,
                                               checkpoint=False)),
        "linear FCNN (Fig. 5)": per_update(
            lambda: nets.LinearFCNN.random(10, 3 * n * n, 4, 3 * n * n, 1e-4, gen,
                                           dtype=torch.float32),
            lambda net, b: nets.train_twolayer(net, X, Y, lr=1e-4, budget=b, mode="epoch",
                                               generator=gen, svd=svd, steps=[0], n_eval=8,
                                               checkpoint=False)),
    }
    for relu in (False, True):
        out[f"deep {'ReLU' if relu else 'linear'} CNN (Fig. 6)"] = per_update(
            lambda relu=relu: nets.DeepCNN(5, 3, n, len(train_set.classes), relu=relu,
                                           generator=gen, device=device),
            lambda net, b: nets.train_deep(net, train_set, train_set, batches=b, eval_every=10**9,
                                           n_eval=8, generator=gen, checkpoint=False))
    return out


def sgd_rate_probe(make_net, train_set, test_set, *, rates, batches, eval_every, n_eval,
                   generator_seed, tol=0.02):
    """Pick a stable plain-SGD rate for the deep CNNs (SI K names no optimiser).

    One net per candidate rate, all trials of one batched tensor (``make_net(T)`` builds a
    :class:`~freqlearn.nets.pinson.DeepCNN` with T trials from a fixed generator), trained
    with :func:`~freqlearn.nets.pinson.train_deep` on the same batches for ``batches``
    batches. A rate is *stable* when its train loss never rises above its initial value
    and ends within ``tol`` (relative) of its own minimum (no growing oscillation). Returns
    dict ``rate`` (the largest stable rate), ``rates``, ``stable`` (bool per rate),
    ``t`` and ``loss`` (K, len(rates)).
    """
    rates = [float(r) for r in rates]
    if not rates or any(not (r > 0 and np.isfinite(r)) for r in rates):
        raise ValueError(f"rates must be positive finite learning rates; got {rates}")
    net = make_net(len(rates))
    rec = nets.train_deep(net, train_set, test_set, batches=batches, eval_every=eval_every,
                          n_eval=n_eval, generator=presets.generator(generator_seed),
                          optimizer="sgd", lr=rates, checkpoint=False, desc="SGD rate probe")
    loss = np.asarray(rec.history["loss"], dtype=float)
    ok = np.all(np.isfinite(loss), 0) & (loss.max(0) <= loss[0] * (1 + 1e-6)) \
        & (loss[-1] <= loss.min(0) * (1 + tol))
    if not ok.any():
        raise ValueError(f"no stable rate among {rates}: lower them")
    return {"rate": max(r for r, s in zip(rates, ok, strict=True) if s), "rates": rates,
            "stable": ok, "t": rec.t, "loss": loss}


def discovery_index(a, s, frac=0.9):
    """Record index at which the trial-mean ``a`` (T, p, K) first reaches ``frac``·sα, per
    mode (the paper's "mode fully discovered", Fig. 5's time points). Returns (indices (p,),
    reached (p,) bool); a mode never reached gets the last index and ``reached`` False."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 3 or len(s) != a.shape[1]:
        raise ValueError(f"a must be (T, p, K) with p = len(s) = {len(s)}; got {a.shape}")
    if not 0 < frac <= 1:
        raise ValueError(f"frac must be in (0, 1]; got {frac!r}")
    m = a.mean(0) >= frac * np.asarray(s, dtype=float)[:, None]
    reached = m.any(1)
    return np.where(reached, np.argmax(m, 1), a.shape[2] - 1), reached


def span_fraction(rows, V):
    """Fraction of each row's energy in the span of the orthonormal columns of ``V`` (D, k):
    ‖Vᵀr‖²/‖r‖² for rows (..., D) — Eq. 18's "rows of W¹ are mixtures of the discovered
    singular vectors" as a number in [0, 1] (k/D for a random row)."""
    r = np.asarray(rows, dtype=float)
    V = np.asarray(V, dtype=float)
    if V.ndim != 2 or r.shape[-1] != V.shape[0]:
        raise ValueError(f"V must be (D, k) with D = rows.shape[-1] = {r.shape[-1]}; "
                         f"got {V.shape}")
    return ((r @ V) ** 2).sum(-1) / (r ** 2).sum(-1)


def mixture_report(rows, V, idx, *, modes=None):
    """FC rows as mixtures of the discovered φα (Eq. 18, Fig. 5e,g), with the initial null.

    ``rows`` (K, T, R, D): recorded rows of W¹; ``V`` (D, p) the singular vectors; ``idx``
    (p,) record index at which each mode is discovered (:func:`discovery_index`). For each
    mode α in ``modes`` (default all but the last), the fraction of every row's energy in
    span(φ0..φα) at time idx[α] (``frac``, (len(modes), T·R)), the same for the initial
    rows (``frac_init``, the random-row null)."""
    rows = np.asarray(rows, dtype=float)
    V = np.asarray(V, dtype=float)
    if rows.ndim != 4 or rows.shape[-1] != V.shape[0]:
        raise ValueError(f"rows must be (K, T, R, D = {V.shape[0]}); got {rows.shape}")
    p = V.shape[1]
    modes = list(range(p - 1)) if modes is None else list(modes)
    out = {"modes": modes, "frac": [], "frac_init": []}
    for a in modes:
        Va = V[:, :a + 1]
        out["frac"].append(span_fraction(rows[idx[a]], Va).ravel())
        out["frac_init"].append(span_fraction(rows[0], Va).ravel())
    out["frac"], out["frac_init"] = np.array(out["frac"]), np.array(out["frac_init"])
    return out


def ordering_fraction(t, a, s):
    """Ordering of mode discovery times (Fig. 5a,b, 6b,c): for consecutive modes α → α+1,
    the fraction of *decidable* trial pairs (i, j) — mode α reached in trial j and mode α+1
    reached in trial i — in which mode α+1 of trial i reaches sα+1/2 later. A mode never
    reached within the budget is never "later": its pairs are undecidable and left out
    (half-times censored at the budget, :func:`freqlearn.theory.pinson.half_time_censored`).

    ``a`` (p, T, K) curves, ``s`` (p,). Returns (fractions (p−1,), decidable pairs (p−1,));
    a fraction is NaN where no pair is decidable (nothing to order)."""
    a = np.asarray(a, dtype=float)
    s = np.asarray(s, dtype=float)
    if a.ndim != 3 or len(s) != a.shape[0] or a.shape[0] < 2:
        raise ValueError(f"a must be (p ≥ 2, T, K) with p = len(s); got {a.shape}, "
                         f"len(s) = {len(s)}")
    fr, cnt = [], []
    for al in range(len(s) - 1):
        r = th.later_fraction(t, a[al + 1], a[al], s[al + 1:al + 2])
        cnt.append(r.decidable)
        fr.append(r.decided)
    return np.array(fr), np.array(cnt)


def later_claim(claims, id, claim, t, a_late, a_early, s, *, expected=0.75, null=None,
                late="the late mode", early="the early mode", unit="batches"):
    """Record "``a_late`` reaches s/2 after ``a_early``" (fraction of trial pairs ≥
    ``expected``) on ``claims`` with its censoring visible.

    The measured value is :attr:`~freqlearn.theory.pinson.Later.fraction`: an undecidable
    pair (either mode never reached within the run) never counts as "later". Where the
    verdict would turn on the undecidable pairs — the decided pairs alone miss the bar,
    all pairs counted as later would meet it — the row is passed ``censored=`` and so is
    ``INCONCLUSIVE``, never a ``PASS``. Returns (the row, the
    :class:`~freqlearn.theory.pinson.Later`)."""
    r = th.later_fraction(t, a_late, a_early, s)
    bar = float(expected)
    if null is not None and isinstance(null.value, (int, float)):
        bar = max(bar, float(null.value) + float(null.margin))
    row = claims.at_least(id, claim, measured=r.fraction, expected=expected, null=null,
                          censored=r.censoring(bar, late, early, unit))
    return row, r


def long_loss(X, Y, X_eval, Y_eval, *, T, lr, budget, generator, steps=30, sigma=1e-4):
    """Fig. 5d inset: train and test loss of the linear CNN (λ) and FCNN (λ_FC = nλ) for a
    long run (the paper: to 10⁶ updates), ``T`` trials, single-sample updates in epochs,
    recorded at ``steps`` log-spaced updates. Uses the fast CNN update (same numbers).
    Returns dict ``N`` and ``loss_cnn``/``test_cnn``/``loss_fc``/``test_fc`` (K, T)."""
    X = np.asarray(X)
    C, n = X.shape[1], X.shape[-1]
    p = np.asarray(Y).shape[1]
    svd = th.svd_yx(X, Y)
    st = train.log_steps(budget, steps)
    out = {}
    for name, net, rate in (
            ("cnn", _StepCNN.random(T, C, n, p, sigma, generator), lr),
            ("fc", nets.LinearFCNN.random(T, C * n * n, p, C * n * n, sigma, generator,
                                          dtype=torch.float32), n * lr)):
        rec = nets.train_twolayer(net, X, Y, lr=rate, budget=budget, mode="epoch",
                                  generator=generator, svd=svd, X_eval=X_eval, Y_eval=Y_eval,
                                  steps=st, desc=f"long {name}", checkpoint=False)
        out[f"loss_{name}"], out[f"test_{name}"] = rec.history["loss"], rec.history["test"]
        out["N"] = rec.t
    return out


def cascade_report(spec, phis, idx, *, k=16):
    """Cascaded frequencies of Fig. 5i and the mechanism the paper gives for them.

    ``spec`` (K, T, n, n): |(Qk)_j|² over training; ``phis`` (p, n²): |(Qφα)_j|; ``idx``
    (p,): record index of each mode's discovery. The *dominant set* at a record is a kernel's
    ``k`` largest coefficients. For each transition α → α+1 and each trial, the *stayers*
    are dominant at idx[α] and at idx[α+1], the *leavers* dominant at idx[α] only; the
    paper's mechanism (a frequency stays dominant through its larger |Qφα+1|_j at the start
    of mode α+1) predicts stayers with the larger |Qφα+1|_j. Returns ``stay_t``,
    ``leave_t`` (T, p−1): per trial mean |Qφα+1| of stayers and of leavers (NaN where
    there are none), ``diff`` their difference, ``phi_stay``
    and ``phi_leave`` (p−1,) over all trials, ``stay`` (per transition, the stayers of the
    trial-mean spectrum) and ``example``: (α, (μ, ν)) of a trial-mean frequency that enters
    the dominant set during mode α's discovery and stays through α+1 (largest |Qφα+1|),
    as (α, (μ, ν), flat index), or None.
    """
    spec = np.asarray(spec, dtype=float)
    phis = np.asarray(phis, dtype=float)
    if spec.ndim != 4 or phis.ndim != 2 or phis.shape[1] != spec.shape[2] * spec.shape[3]:
        raise ValueError(f"spec must be (K, T, n, n) and phis (p, n²); got {spec.shape}, "
                         f"{phis.shape}")
    idx = [int(i) for i in idx]
    if len(idx) != phis.shape[0]:
        raise ValueError(f"idx needs one record per mode ({phis.shape[0]}); got {len(idx)}")
    K, T, n, _ = spec.shape
    flat = spec.reshape(K, T, -1)

    def dom(x):  # (..., n²) → boolean mask of the k largest
        top = np.argsort(x, -1)[..., ::-1][..., :k]
        m = np.zeros(x.shape, bool)
        np.put_along_axis(m, top, True, -1)
        return m

    p = len(idx)
    diff = np.full((T, p - 1), np.nan)
    stay_t, leave_t = diff.copy(), diff.copy()
    ps, pl, stay, example = [], [], [], None
    mean = flat.mean(1)
    for a in range(p - 1):
        d0, d1 = dom(flat[idx[a]]), dom(flat[idx[a + 1]])
        st, lv = d0 & d1, d0 & ~d1
        f = phis[a + 1][None]
        with np.errstate(invalid="ignore"):
            s_m = (f * st).sum(1) / st.sum(1)
            l_m = (f * lv).sum(1) / lv.sum(1)
        diff[:, a] = s_m - l_m
        stay_t[:, a], leave_t[:, a] = s_m, l_m
        ps.append(float(np.broadcast_to(f, st.shape)[st].mean()) if st.any() else np.nan)
        pl.append(float(np.broadcast_to(f, lv.shape)[lv].mean()) if lv.any() else np.nan)
        m0, m1 = dom(mean[idx[a]]), dom(mean[idx[a + 1]])
        before = dom(mean[idx[a - 1]]) if a > 0 else dom(mean[0])
        js = np.flatnonzero(m0 & m1)
        stay.append(js)
        new = np.flatnonzero(m0 & m1 & ~before)
        if example is None and new.size:
            j = int(new[np.argmax(phis[a + 1][new])])
            example = (a, tuple(int(v) for v in divmod(j, n)), j)
    return {"diff": diff, "stay_t": stay_t, "leave_t": leave_t, "phi_stay": np.array(ps),
            "phi_leave": np.array(pl), "stay": stay, "example": example}

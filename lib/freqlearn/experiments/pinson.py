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

__all__ = ["cosines", "sums", "sums_min_norm", "shapes", "paper_cost"]


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

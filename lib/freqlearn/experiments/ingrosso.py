"""Experiments of Ingrosso & Goldt (2022), batched over trials and data sets.

Each function trains committees (:mod:`freqlearn.nets.committee`) through
:func:`freqlearn.train.run` and returns plain arrays for the notebooks:

- :func:`online_nlgp_vs_gp` — Fig. 1 / Fig. 3 / Fig. S4: the same architecture trained by
  online SGD on NLGP and on its Gaussian control in one tensor (trial axis = data set × seed);
  records IPR, held-out pmse and accuracy, the weights (for the Gaussian-equivalent error)
  and the GP-trained networks' error on NLGP test data.
- :func:`finite_data` — Fig. 2 / Fig. S1: minibatch SGD on a fixed training set P = αD.

Time is measured as in the paper: samples seen / D.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import train as _train
from ..data.nlgp import NLGP
from ..nets.committee import Committee, ipr, train_finite
from ..theory import ingrosso as _th

__all__ = ["online_nlgp_vs_gp", "finite_data", "class_samples", "leading_cp", "few_threads"]


few_threads = _th.few_threads


def online_nlgp_vs_gp(*, L, xis, g, K, lr, batch, steps, trials, n_test, generator,
                      dim=1, n_record=30, weight_decay=0.0, get=True, keep_w=False,
                      dtype=torch.float64, checkpoint=None):
    """Online SGD on NLGP (trials 0..R-1) and GP (trials R..2R-1), one tensor of 2R nets.

    ``lr`` is the step size of the batch-mean gradient; with ``batch`` fresh samples per step
    this matches per-sample SGD at rate ``lr / batch``. ``checkpoint``: a path, ``False`` or
    ``None`` (automatic, :func:`freqlearn.train.resolve_checkpoint`).
    Returns a dict of arrays indexed [time, data set (0 NLGP, 1 GP), trial, ...].
    """
    ck = _train.resolve_checkpoint(checkpoint, "online_nlgp_vs_gp", key=dict(
        L=L, xis=xis, g=g, K=K, lr=lr, batch=batch, steps=steps, trials=trials, n_test=n_test,
        generator=generator, dim=dim, n_record=n_record, weight_decay=weight_decay,
        dtype=dtype))
    R = trials
    S = [NLGP(L, xis, g, dim=dim, dtype=dtype),
         NLGP(L, xis, g, dim=dim, gaussian=True, dtype=dtype)]
    D = S[0].D

    def sample(n):
        xs, ys = zip(*[s.sample((R, n), generator) for s in S], strict=True)
        return torch.cat(xs), torch.cat(ys)

    test = sample(n_test)
    x_nl = test[0][:R].repeat(2, 1, 1)  # NLGP test inputs for every net (GP nets on NLGP)
    y_nl = test[1][:R].repeat(2, 1)
    net = Committee(2 * R, K, D, generator=generator, dtype=dtype)

    def sq(x, y):
        return (net.forward(x) - y) ** 2

    metrics = {
        "ipr": lambda: ipr(net.W),
        "pmse": lambda: sq(*test).mean(-1),
        "pmse_se": lambda: sq(*test).std(-1) / np.sqrt(n_test),
        "pmse_on_nlgp": lambda: sq(x_nl, y_nl).mean(-1),
        "acc": lambda: net.accuracy(*test),
        "W": lambda: net.W.clone(),
        "b": lambda: net.b.clone(),
        "v": lambda: net.v.clone(),
    }
    steps_rec = _train.log_steps(steps, n_record)
    rec = _train.Recorder(metrics, steps_rec)

    def step(t):
        x, y = sample(batch)
        net.sgd_step(x, y, lr, weight_decay)

    with few_threads():
        _train.run(step, steps, recorder=rec, state=net.state, generators=[generator],
                   desc="online SGD (NLGP + GP)", checkpoint=ck)
    h = rec.history
    out = {"t": rec.t * batch / D, "D": D}
    for k in ("ipr", "pmse", "pmse_se", "pmse_on_nlgp", "acc"):
        a = h[k]
        out[k] = a.reshape(a.shape[0], 2, R, *a.shape[2:])
    if get:
        Cs = S[0].covariances()
        out["get"] = _th.get_pmse(h["W"].astype(float), h["b"].astype(float),
                                  h["v"].astype(float), Cs).reshape(-1, 2, R)
    final_W = h["W"][-1].reshape(2, R, K, *S[0].shape)
    out["W_final"] = final_W
    if keep_w:
        out["W"] = h["W"].reshape(-1, 2, R, K, *S[0].shape)
    return out


def finite_data(*, L, xis, g, K, alpha, lr, batch, steps, trials, n_test, generator, dim=1,
                gaussian=False, plastic_v=False, plastic_b=True, v0=None, b0=0.0, act="erf",
                n_record=30,
                record_steps=None, keep_w=False, weight_decay=0.0, checkpoint=None):
    """Minibatch SGD on P = αD fixed samples per trial; returns the recorded arrays.

    ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`)."""
    ck = _train.resolve_checkpoint(checkpoint, "finite_data", key=dict(
        L=L, xis=xis, g=g, K=K, alpha=alpha, lr=lr, batch=batch, steps=steps, trials=trials,
        n_test=n_test, generator=generator, dim=dim, gaussian=gaussian, plastic_v=plastic_v,
        plastic_b=plastic_b, v0=v0, b0=b0, act=act, n_record=n_record,
        record_steps=record_steps, keep_w=keep_w, weight_decay=weight_decay))
    s = NLGP(L, xis, g, dim=dim, gaussian=gaussian)
    D = s.D
    P = int(alpha * D)
    X = torch.empty((trials, P, D), dtype=s.dtype)  # filled in chunks: bounded peak memory
    Y = torch.empty((trials, P), dtype=s.dtype)
    chunk = max(1, 2**22 // (trials * D))
    for i in range(0, P, chunk):
        n = min(chunk, P - i)
        X[:, i:i + n], Y[:, i:i + n] = s.sample((trials, n), generator)
    test = s.sample((trials, n_test), generator)
    net = Committee(trials, K, D, generator=generator, plastic_v=plastic_v, plastic_b=plastic_b,
                    v0=v0, b0=b0, act=act)
    extra = {"W": lambda: net.W.clone()} if keep_w else {"W_last": lambda: net.W[:, :1].clone()}
    extra.update({"v": lambda: net.v.clone(), "b": lambda: net.b.clone()})
    with few_threads():
        rec = train_finite(net, X, Y, steps, lr=lr, batch=batch, generator=generator, test=test,
                           record=_train.log_steps(steps, n_record) if record_steps is None
                           else record_steps, weight_decay=weight_decay,
                           extra=extra, checkpoint=ck or False)
    h = rec.history
    out = {"t": rec.t * batch / D, "epochs": rec.t * batch / P, "steps": rec.t, "D": D, "P": P,
           "ipr": h["ipr"], "pmse": h["pmse"], "acc": h["acc"], "v": h["v"], "b": h["b"],
           "W_final": net.W.numpy().reshape(trials, K, *s.shape), "X": X, "Y": Y}
    if keep_w:
        out["W"] = h["W"]
    return out


def class_samples(*, L, xis, gains, P, trials, generator, dtype=torch.float64):
    """Per-class datasets for the reduced model: [X_μ of shape (len(gains), trials, P, L)]."""
    out = []
    for c in range(len(xis)):
        out.append(torch.stack([
            NLGP(L, tuple(xis), float(g), dtype=dtype).sample_class(
                torch.full((trials, P), c), generator) for g in gains]))
    return out


def leading_cp(X, rank, *, method="auto", seed=None, maxiter=200):
    """CP factors (γ, U) of the cumulant of X (P, D): tensorly on the dense tensor for
    D ≤ 40 (``method="auto"``), else the implicit tensor-free method (SI A.4).

    ``seed`` seeds the decomposition's random start; ``None`` = the active preset's seed
    (:func:`freqlearn.presets.current`, ``BOOK_SEED`` included)."""
    if seed is None:
        from .. import presets

        seed = presets.current().seed % 2**32
    X = np.asarray(X, dtype=float)
    D = X.shape[1]
    with few_threads():
        if method == "dense" or (method == "auto" and D <= 40):
            return _th.cp_tensorly(_th.cumulant_tensor(X), rank, seed=seed)
        g, U, _ = _th.implicit_cp(X, rank, seed=seed, maxiter=maxiter)
    return g, U

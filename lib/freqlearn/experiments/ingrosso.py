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

__all__ = ["online_nlgp_vs_gp", "finite_data", "class_samples", "leading_cp", "few_threads",
           "INITS", "authors_lr", "best_threshold_accuracy", "finite_nlgp_vs_gp",
           "cross_accuracy", "localised_fraction"]


few_threads = _th.few_threads


#: initial conditions: the paper's Methods (W ~ N(0, 1/D), b = 0) and the authors' code
#: (W ~ N(0, 0.01/D), biases +1 on half the units and −1 on the other half)
INITS = {"methods": {"w_std": 1.0, "b0": 0.0}, "authors": {"w_std": 0.1, "b0": "pm"}}


def authors_lr(eta: float, K: int, D: int, batch: int = 1) -> float:
    """The book's ``lr`` for the authors' per-sample step 2η/D on W and b.

    Their code trains (φ − y)² (twice the book's ½(φ − y)²), scales fc1's rate by K for
    v = 1/K and uses x·W/√D, so each sample moves the effective weights and biases by
    (2η/D)·e·σ'(h)·x; the book's committee moves them by lr·v_k·e·σ'(h)·x with v_k = 1/K
    per sample of a batch-mean step. Hence lr = batch · 2ηK/D.
    """
    return batch * 2.0 * eta * K / D


def online_nlgp_vs_gp(*, L, xis, g, K, lr, batch, steps, trials, n_test, generator,
                      dim=1, n_record=30, weight_decay=0.0, get=True, keep_w=False,
                      dtype=torch.float64, checkpoint=None, init="methods"):
    """Online SGD on NLGP (trials 0..R-1) and GP (trials R..2R-1), one tensor of 2R nets.

    ``lr`` is the step size of the batch-mean gradient; with ``batch`` fresh samples per step
    this matches per-sample SGD at rate ``lr / batch`` (:func:`authors_lr` converts the
    authors' η). ``init``: ``"methods"`` or ``"authors"`` (:data:`INITS`). ``checkpoint``: a
    path, ``False`` or ``None`` (automatic, :func:`freqlearn.train.resolve_checkpoint`).
    Returns a dict of arrays indexed [time, data set (0 NLGP, 1 GP), trial, ...], with the
    biases ``b`` and the class-conditional mean outputs ``mean_pos``/``mean_neg`` on the test
    set over training, and ``acc_opt``, the accuracy at the best threshold on φ (separates a
    shifted output from a failure to discriminate).
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}; got {init!r}")
    ck = _train.resolve_checkpoint(checkpoint, "online_nlgp_vs_gp", key=dict(
        L=L, xis=xis, g=g, K=K, lr=lr, batch=batch, steps=steps, trials=trials, n_test=n_test,
        generator=generator, dim=dim, n_record=n_record, weight_decay=weight_decay,
        dtype=dtype, **({} if init == "methods" else {"init": init})))
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
    net = Committee(2 * R, K, D, generator=generator, dtype=dtype, **INITS[init])

    def sq(x, y):
        return (net.forward(x) - y) ** 2

    def class_mean(sign):
        phi, y = net.forward(test[0]), test[1]
        m = (y == sign).to(phi.dtype)
        return (phi * m).sum(-1) / m.sum(-1)

    metrics = {
        "ipr": lambda: ipr(net.W),
        "pmse": lambda: sq(*test).mean(-1),
        "pmse_se": lambda: sq(*test).std(-1) / np.sqrt(n_test),
        "pmse_on_nlgp": lambda: sq(x_nl, y_nl).mean(-1),
        "acc": lambda: net.accuracy(*test),
        "acc_opt": lambda: best_threshold_accuracy(net.forward(test[0]), test[1]),
        "mean_pos": lambda: class_mean(1.0),
        "mean_neg": lambda: class_mean(-1.0),
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
    for k in ("ipr", "pmse", "pmse_se", "pmse_on_nlgp", "acc", "acc_opt", "mean_pos",
              "mean_neg", "b"):
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


def best_threshold_accuracy(phi, y):
    """Accuracy of sign(φ − θ) at the best threshold θ, per trial: φ, y (T, n), y = ±1."""
    order = torch.argsort(phi, dim=-1)
    ys = torch.gather(y, -1, order)
    n = y.shape[-1]
    # predict +1 above the cut: correct = (# −1 at or below) + (# +1 above), cut after j items
    neg_below = torch.cumsum((ys < 0).to(phi.dtype), -1)
    pos_above = (ys > 0).to(phi.dtype).sum(-1, keepdim=True) - torch.cumsum(
        (ys > 0).to(phi.dtype), -1)
    best = torch.maximum((neg_below + pos_above).max(-1).values,
                         (ys > 0).to(phi.dtype).sum(-1))  # cut before everything
    return best / n


def finite_data(*, L, xis, g, K, alpha, lr, batch, steps, trials, n_test, generator, dim=1,
                gaussian=False, plastic_v=False, plastic_b=True, v0=None, b0=0.0, act="erf",
                n_record=30,
                record_steps=None, keep_w=False, weight_decay=0.0, checkpoint=None,
                init="methods", device="cpu", dtype=torch.float64):
    """Minibatch SGD on P = αD fixed samples per trial; returns the recorded arrays.

    ``init="authors"`` starts W with variance 0.01/D and the biases at ±1 (:data:`INITS`;
    it overrides ``b0``). ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`). ``device``: where the training set and the
    nets live (e.g. :func:`freqlearn.presets.device`; sampling stays on the CPU); the
    returned ``X``, ``Y`` stay there. ``dtype`` of the data and the nets (float32 halves the
    paper preset's stored training sets)."""
    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}; got {init!r}")
    ck = _train.resolve_checkpoint(checkpoint, "finite_data", key=dict(
        L=L, xis=xis, g=g, K=K, alpha=alpha, lr=lr, batch=batch, steps=steps, trials=trials,
        n_test=n_test, generator=generator, dim=dim, gaussian=gaussian, plastic_v=plastic_v,
        plastic_b=plastic_b, v0=v0, b0=b0, act=act, n_record=n_record,
        record_steps=record_steps, keep_w=keep_w, weight_decay=weight_decay,
        **({} if init == "methods" else {"init": init}),
        **({} if dtype == torch.float64 else {"dtype": dtype})))
    start = {"b0": b0, "w_std": 1.0} if init == "methods" else INITS[init]
    s = NLGP(L, xis, g, dim=dim, gaussian=gaussian, dtype=dtype)
    D = s.D
    P = int(alpha * D)
    X = torch.empty((trials, P, D), dtype=s.dtype, device=device)  # filled in chunks
    Y = torch.empty((trials, P), dtype=s.dtype, device=device)
    chunk = max(1, 2**22 // (trials * D))
    for i in range(0, P, chunk):
        n = min(chunk, P - i)
        X[:, i:i + n], Y[:, i:i + n] = s.sample((trials, n), generator)
    test = tuple(a.to(device) for a in s.sample((trials, n_test), generator))
    net = _to_device(Committee(trials, K, D, generator=generator, plastic_v=plastic_v,
                               plastic_b=plastic_b, v0=v0, act=act, dtype=dtype, **start),
                     device)
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
           "W_final": net.W.cpu().numpy().reshape(trials, K, *s.shape), "X": X, "Y": Y}
    if keep_w:
        out["W"] = h["W"]
    return out


def _to_device(net, device):
    """Move a :class:`Committee`'s tensors to ``device`` (in place); returns the net."""
    net.W, net.b, net.v = (a.to(device) for a in (net.W, net.b, net.v))
    return net


def finite_nlgp_vs_gp(*, L, xis, g, K, alpha, lr, batch, steps, trials, n_test, generator,
                      dim=2, init="authors", dtype=torch.float32, n_record=10, device=None,
                      checkpoint=None):
    """Fig. 2A, B: minibatch SGD on a finite set of P = αD samples, NLGP and GP in one tensor.

    Trials 0..R-1 train on NLGP, R..2R-1 on its Gaussian control (the null of the
    clustering); every net has its own training set. When the run visits at most P samples
    (``steps · batch ≤ P``, e.g. the paper's α = 10⁵) no sample is seen twice, and a pass
    through i.i.d. samples in random order *is* a stream of fresh i.i.d. samples: the batches
    are then drawn as needed instead of storing P·D numbers (``stored`` in the result says
    which). ``device``: where the nets and batches live (``None``:
    :func:`freqlearn.presets.device`); sampling stays on the CPU. Returns a dict with ``t``
    (samples / D), ``epochs``, ``ipr`` and ``acc`` [time, data set, trial, ...], and the
    final ``W`` (2, R, K, *shape), ``b`` and ``v`` (2, R, K) as numpy arrays.
    """
    from .. import presets

    if init not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}; got {init!r}")
    for name, val in (("K", K), ("batch", batch), ("steps", steps), ("trials", trials),
                      ("n_test", n_test)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {val!r}")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
        raise ValueError(f"alpha must be a number > 0; got {alpha!r}")
    dev = presets.device() if device is None else torch.device(device)
    ck = _train.resolve_checkpoint(checkpoint, "finite_nlgp_vs_gp", key=dict(
        L=L, xis=xis, g=g, K=K, alpha=alpha, lr=lr, batch=batch, steps=steps, trials=trials,
        n_test=n_test, generator=generator, dim=dim, init=init, dtype=dtype,
        n_record=n_record))
    R = trials
    S = [NLGP(L, xis, g, dim=dim, dtype=dtype),
         NLGP(L, xis, g, dim=dim, gaussian=True, dtype=dtype)]
    D = S[0].D
    P = int(alpha * D)
    if P < batch:
        raise ValueError(f"alpha·D = {P} samples must hold one batch of {batch}")

    def sample(n):
        xs, ys = zip(*[s.sample((R, n), generator) for s in S], strict=True)
        return torch.cat(xs).to(dev), torch.cat(ys).to(dev)

    stored = steps * batch > P
    if stored:
        X = torch.empty((2 * R, P, D), dtype=dtype, device=dev)
        Y = torch.empty((2 * R, P), dtype=dtype, device=dev)
        chunk = max(1, 2**22 // (2 * R * D))
        for i in range(0, P, chunk):
            n = min(chunk, P - i)
            X[:, i:i + n], Y[:, i:i + n] = sample(n)
    test = sample(n_test)
    net = _to_device(Committee(2 * R, K, D, generator=generator, dtype=dtype,
                               **INITS[init]), dev)
    metrics = {"ipr": lambda: ipr(net.W), "acc": lambda: net.accuracy(*test)}
    rec = _train.Recorder(metrics, _train.log_steps(steps, n_record))
    perm = {"p": torch.randperm(P, generator=generator), "i": torch.zeros((), dtype=torch.long)}

    def step(t):
        if not stored:
            x, y = sample(batch)
        else:
            if int(perm["i"]) + batch > P:  # a new epoch: reshuffle
                perm["p"].copy_(torch.randperm(P, generator=generator))
                perm["i"].zero_()
            i = int(perm["i"])
            idx = perm["p"][i:i + batch].to(dev)
            perm["i"] += batch
            x, y = X[:, idx], Y[:, idx]
        net.sgd_step(x, y, lr)

    with few_threads():
        _train.run(step, steps, recorder=rec, state={**net.state, "perm": perm["p"],
                   "perm_i": perm["i"]}, generators=[generator],
                   desc="finite-data SGD (NLGP + GP)", checkpoint=ck)
    h = rec.history

    def split(a):
        return np.asarray(a).reshape(a.shape[0], 2, R, *a.shape[2:])

    return {"t": rec.t * batch / D, "epochs": rec.t * batch / P, "D": D, "P": P,
            "stored": stored, "ipr": split(h["ipr"]), "acc": split(h["acc"]),
            "W": net.W.cpu().numpy().reshape(2, R, K, *S[0].shape),
            "b": net.b.cpu().numpy().reshape(2, R, K), "v": net.v.cpu().numpy().reshape(2, R, K)}


def cross_accuracy(W, b, v, *, L, xis, g, n_test, generator, dim=2, dtype=torch.float32):
    """Sign accuracy of trained committees on fresh NLGP and on fresh GP test data.

    ``W`` (..., K, *shape) with ``b``, ``v`` (..., K): final weights of any set of nets (e.g.
    ``online_nlgp_vs_gp``'s ``W_final`` with the last recorded ``b``). Every net is tested on
    its own ``n_test`` samples of each data set. Returns an array (2, ...): [0] on NLGP,
    [1] on the Gaussian control (Fig. 1's "GP-trained nets on NLGP data").
    """
    W, b, v = (torch.as_tensor(np.asarray(a), dtype=dtype) for a in (W, b, v))
    lead, K = b.shape[:-1], b.shape[-1]
    if v.shape != b.shape or W.shape[:-dim] != b.shape:
        raise ValueError(f"W (..., K, *shape), b and v (..., K) must agree; got W "
                         f"{tuple(W.shape)}, b {tuple(b.shape)}, v {tuple(v.shape)}")
    T = int(np.prod(lead)) if lead else 1
    W = W.reshape(T, K, -1)
    net = Committee(T, K, W.shape[-1], dtype=dtype)
    net.W, net.b, net.v = W, b.reshape(T, K), v.reshape(T, K)
    out = []
    for gaussian in (False, True):
        s = NLGP(L, xis, g, dim=dim, gaussian=gaussian, dtype=dtype)
        if s.D != W.shape[-1]:
            raise ValueError(f"W has {W.shape[-1]} inputs but the NLGP has D = {s.D}")
        x, y = s.sample((T, n_test), generator)
        out.append(net.accuracy(x, y).numpy().reshape(lead))
    return np.stack(out)


def localised_fraction(ipr_values, D, threshold=6.0):
    """Fraction of neurons whose IPR exceeds ``threshold / D`` (last axis = neurons).

    A vector with i.i.d. Gaussian entries has IPR ≈ 3/D (E w⁴ = 3 (E w²)²), a Fourier mode
    or a sparse superposition of them 1.5/D–3/D; an RF spread evenly over n sites has 1/n.
    The default 6/D = twice the random vector's value, i.e. an RF concentrated on fewer than
    about D/6 sites.
    """
    r = np.asarray(ipr_values, dtype=float)
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0; got {threshold!r}")
    return (r * D > threshold).mean(-1)


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

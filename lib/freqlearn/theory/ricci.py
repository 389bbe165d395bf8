"""Scaling forms and fits for the reconstruction of Ricci, Merger & Goldt (2026), abstract only.

The abstract states that online SGD needs ``n ≫ N³ log² N`` steps to learn phase-only
classification of isotropic inputs and cannot within ``n ≪ N³``: the information-exponent-4
rate of Ben Arous, Gheissari & Jagannath (2021), ``n ~ N^{k−1}`` for ``k = 4``. The forms
fitted in the chapter are ``n*(N) = C · N^θ · (log N)^p`` for fixed ``p`` (§0.12 of the
reading notes): ``p = 2`` (the abstract's single-spike form), ``p = 0`` (plain power law),
``p = −3`` (``N`` candidate directions: the best initial overlap ``m₀² ≈ 2 log N / N`` turns
``N³`` into ``(N / log N)³``).

Nothing here imports :mod:`freqlearn.train`, ``nets`` or ``experiments``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["scaling_form", "local_exponent", "fit_theta", "n_eff", "n_eff_power_law",
           "information_exponent_rate"]


def scaling_form(N, theta: float, p: float, C: float = 1.0) -> np.ndarray:
    """``C · N^θ · (log N)^p``."""
    N = np.asarray(N, float)
    if np.any(N <= 1):
        raise ValueError(f"N must be > 1; got {N}")
    return C * N ** theta * np.log(N) ** p


def local_exponent(N1: float, N2: float, theta: float = 3.0, p: float = 0.0) -> float:
    """The apparent power-law exponent of ``N^θ log^p N`` between ``N1`` and ``N2``:
    ``θ + p · log(log N2 / log N1) / log(N2 / N1)`` (why a small-N fit reads off θ)."""
    if not (1 < N1 < N2):
        raise ValueError(f"need 1 < N1 < N2; got N1={N1}, N2={N2}")
    return theta + p * math.log(math.log(N2) / math.log(N1)) / math.log(N2 / N1)


def information_exponent_rate(N, k: int = 4) -> np.ndarray:
    """Ben Arous et al. (2021): online SGD needs ``n ~ N^{k−1}`` (k ≥ 3), up to logs."""
    if k < 3:
        raise ValueError(f"k must be ≥ 3 for the N^(k-1) rate; got {k}")
    return np.asarray(N, float) ** (k - 1)


def _ols(x, y):
    X = np.stack([np.ones_like(x), x], 1)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta


def fit_theta(N, nstar, p: float = 0.0, *, n_boot: int = 2000, seed: int = 0,
              level: float = 0.95) -> dict:
    """Fit ``log n* = log C + θ log N + p log log N`` (``p`` fixed) by least squares.

    ``N``: ``(m,)`` sizes; ``nstar``: ``(m, r)`` per-trial n* (finite, > 0). The interval on
    θ is a percentile bootstrap over trials (resampled within each N). Returns
    ``{"theta", "lo", "hi", "logC", "p", "se"}``.
    """
    N = np.asarray(N, float)
    Y = np.asarray(nstar, float)
    if Y.ndim != 2 or Y.shape[0] != N.size:
        raise ValueError(f"nstar must be (len(N), trials) = ({N.size}, r); got {Y.shape}")
    if N.size < 2:
        raise ValueError("need at least two sizes N")
    if not np.all(np.isfinite(Y)) or np.any(Y <= 0):
        raise ValueError("nstar must be finite and > 0")
    x = np.log(N)
    ly = np.log(Y) - p * np.log(np.log(N))[:, None]
    beta = _ols(np.repeat(x, Y.shape[1]), ly.ravel())
    rng = np.random.default_rng(seed)
    thetas = np.empty(n_boot)
    r = Y.shape[1]
    for b in range(n_boot):
        idx = rng.integers(0, r, (N.size, r))
        thetas[b] = _ols(x, np.take_along_axis(ly, idx, 1).mean(1))[1]
    q = (1 - level) / 2
    return {"theta": float(beta[1]), "lo": float(np.quantile(thetas, q)),
            "hi": float(np.quantile(thetas, 1 - q)), "logC": float(beta[0]), "p": float(p),
            "se": float(thetas.std(ddof=1))}


def n_eff_power_law(N: int, a: float, dim: int = 1) -> float:
    """Participation ratio ``(ΣA²)²/ΣA⁴`` of ``A ∝ |k|^{−a}`` on the ``N^dim`` grid (DC = 0)."""
    ks = np.meshgrid(*[np.fft.fftfreq(N) * N] * dim, indexing="ij")
    k = np.sqrt(sum(q ** 2 for q in ks)).ravel()
    A = np.zeros_like(k)
    A[k > 0] = k[k > 0] ** (-float(a))
    return n_eff(A)


def n_eff(A) -> float:
    """Participation ratio ``N_eff = (Σ A²)² / Σ A⁴`` of a spectrum (the effective dimension)."""
    A = np.asarray(A, dtype=float)
    if A.size == 0 or not np.all(np.isfinite(A)):
        raise ValueError("A must be a non-empty finite array")
    p = A.ravel() ** 2
    if p.sum() <= 0:
        raise ValueError("A must not be all zero")
    return float(p.sum() ** 2 / np.sum(p ** 2))


# -- calibration of the exponent-fitting protocol -----------------------------------------------
#: fixed laws ``n* ∝ N^θ (log N)^p`` as ``(θ, p)``: the controls of the calibration and the
#: models of the fixed-exponent comparison
LAWS = {"N": (1.0, 0.0), "N^2": (2.0, 0.0), "N^3": (3.0, 0.0), "(N/log N)^3": (3.0, -3.0),
        "N^3/log^2 N": (3.0, -2.0), "N^3 log^2 N": (3.0, 2.0), "N^4": (4.0, 0.0)}
__all__ += ["LAWS", "apparent_exponent", "theta_se", "law_loglik", "compare_laws",
            "rate_model", "simulate_protocol", "calibrate", "separation", "comparison_power"]


def _log_nstar(nstar):
    Y = np.asarray(nstar, float)
    if not np.all(np.isfinite(Y)) or np.any(Y <= 0):
        raise ValueError("nstar must be finite and > 0")
    return np.log(Y)


def _sizes(N, m=None):
    N = np.asarray(N, float)
    if N.ndim != 1 or N.size < 2 or np.any(N <= 1):
        raise ValueError(f"N must be at least two sizes > 1; got {N.tolist()}")
    if m is not None and m != N.size:
        raise ValueError(f"nstar must be (..., len(N), trials) with len(N) = {N.size}; "
                         f"got {m} sizes")
    return N


def apparent_exponent(N, theta: float, p: float) -> float:
    """The exponent a plain power-law fit (``p = 0``, OLS on ``log N``, balanced) returns
    for the noise-free law ``N^θ log^p N`` on the grid ``N``: ``θ + p ×`` the OLS slope of
    ``log log N`` on ``log N`` (the grid version of :func:`local_exponent`)."""
    N = _sizes(N)
    x, z = np.log(N), np.log(np.log(N))
    xc = x - x.mean()
    return float(theta + p * np.sum(xc * (z - z.mean())) / np.sum(xc ** 2))


def theta_se(N, nstar, p: float = 0.0):
    """Vectorised :func:`fit_theta` without the bootstrap: ``(θ, se)`` of the OLS fit of
    ``log n* − p log log N`` on ``log N`` for ``nstar`` of shape ``(..., len(N), trials)``.

    ``se`` is the standard deviation the bootstrap of :func:`fit_theta` (trials resampled
    within each N) converges to: ``√(Σ_i w_i² s_i² / r)`` with OLS weights ``w_i`` and the
    within-N variances ``s_i²`` (ddof 0)."""
    ly = _log_nstar(nstar)
    if ly.ndim < 2:
        raise ValueError(f"nstar must be (..., len(N), trials); got shape {ly.shape}")
    N = _sizes(N, ly.shape[-2])
    x = np.log(N)
    ly = ly - p * np.log(np.log(N))[:, None]
    w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    theta = np.sum(w * ly.mean(-1), -1)
    se = np.sqrt(np.sum(w ** 2 * ly.var(-1), -1) / ly.shape[-1])
    return theta, se


def law_loglik(N, nstar, theta: float, p: float):
    """Maximum Gaussian log-likelihood of ``log n* = log C + θ log N + p log log N + ε``
    with ``θ, p`` fixed and ``C``, ``σ`` fitted (one σ for all points), per leading index of
    ``nstar`` ``(..., len(N), trials)``. Differences between laws are log-likelihood ratios
    (both have two free parameters, so no penalty differs)."""
    ly = _log_nstar(nstar)
    N = _sizes(N, ly.shape[-2])
    r = ly - theta * np.log(N)[:, None] - p * np.log(np.log(N))[:, None]
    r = r - r.mean(axis=(-2, -1), keepdims=True)
    n = r.shape[-2] * r.shape[-1]
    s2 = np.maximum(np.mean(r ** 2, axis=(-2, -1)), 1e-300)
    return -0.5 * n * (np.log(2 * np.pi * s2) + 1.0)


def compare_laws(N, nstar, laws=("N^2", "N^3", "N^3/log^2 N")) -> dict:
    """Log-likelihood of each fixed law of :data:`LAWS` (names) on ``nstar``; returns
    ``{"loglik": {name: value}, "best": name, "margin": best − runner-up}``."""
    names = list(laws)
    if len(names) < 2 or any(k not in LAWS for k in names):
        raise ValueError(f"laws must be at least two names of LAWS {list(LAWS)}; got {names}")
    ll = {k: float(law_loglik(N, nstar, *LAWS[k])) for k in names}
    order = sorted(names, key=ll.get, reverse=True)
    return {"loglik": ll, "best": order[0], "margin": ll[order[0]] - ll[order[1]]}


def rate_model(cs, nstar) -> dict:
    """What the calibration needs from a real scan: ``nstar`` ``(len(N), len(cs), trials)``
    (``inf`` = never reached). Fits ``median_r log n*(N, c) = a_N + κ (log c − u_N)²`` (one
    curvature κ, a vertex ``u_N`` per N) and the per-trial scatter ``σ`` (pooled within-(N,
    c) sd of log n* over the finite runs). Returns ``{"sigma", "kappa", "log_copt" (m,)}``;
    ``kappa`` ≤ 0 (no interior optimum) is floored at 0.05."""
    cs = np.asarray(cs, float)
    Y = np.log(np.asarray(nstar, float))
    if Y.ndim != 3 or Y.shape[1] != cs.size or cs.size < 3:
        raise ValueError(f"nstar must be (len(N), len(cs) ≥ 3, trials); got {Y.shape}")
    med = np.median(Y, -1)
    ok = np.isfinite(med)
    u = np.log(cs)
    m = Y.shape[0]
    rows, rhs = [], []
    for i in range(m):
        for j in np.flatnonzero(ok[i]):
            row = np.zeros(2 * m + 1)
            row[i], row[m + i], row[-1] = 1.0, u[j], u[j] ** 2
            rows.append(row)
            rhs.append(med[i, j])
    beta, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    kappa = max(float(beta[-1]), 0.05)
    log_copt = -beta[m:2 * m] / (2 * kappa)
    fin = np.where(np.isfinite(Y), Y, np.nan)
    dev = fin - np.nanmean(fin, -1, keepdims=True)
    cnt = np.sum(np.isfinite(fin), -1)
    dof = np.sum(np.maximum(cnt - 1, 0))
    sigma = float(np.sqrt(np.nansum(dev ** 2) / max(dof, 1)))
    return {"sigma": sigma, "kappa": kappa, "log_copt": log_copt}


def simulate_protocol(N, theta: float, p: float, *, trials: int, sigma: float, reps: int,
                      seed: int = 0, n_ref: float = 1e4, cs=None, kappa: float = 0.0,
                      log_copt=None, budget: float = math.inf, batch: int = 8,
                      n_checks: int = 80, stop_factor: float = 2.0):
    """Draws of the R3 protocol's n* for a known law ``n* = n_ref (N/N₀)^θ (log N/log
    N₀)^p``: per (N, c, trial) ``log n* = law + κ (log c − log c_opt(N))² + σ ε``; n* is
    rounded up to the run's 80 log-spaced checks (of ``batch`` samples), the run stops at
    ``stop_factor ×`` the slowest trial of the first rate whose trials all finished (or at
    ``budget``), a trial not done by then is censored at that length, and the rate with the
    smallest median log n* among the rates whose trials all finished is picked per N
    (``best_rate(held_out=False, complete=True)``). Returns
    ``(nstar (reps, len(N), trials), picked c index (reps, len(N)))``."""
    N = _sizes(N)
    cs = np.array([1.0]) if cs is None else np.asarray(cs, float)
    u = np.log(cs)
    lc = np.zeros(N.size) if log_copt is None else np.asarray(log_copt, float)
    if lc.shape != (N.size,):
        raise ValueError(f"log_copt must have one value per N ({N.size}); got {lc.shape}")
    rng = np.random.default_rng(seed)
    law = (np.log(n_ref) + theta * np.log(N / N[0])
           + p * np.log(np.log(N) / np.log(N[0])))
    mean = law[:, None] + kappa * (u[None, :] - lc[:, None]) ** 2      # (m, c)
    ly = mean[None, :, :, None] + sigma * rng.standard_normal((reps, N.size, cs.size, trials))
    n = np.exp(ly)
    top = budget if math.isfinite(budget) else float(n.max()) * 2
    checks = np.unique(np.round(np.geomspace(1, top / batch, n_checks))) * batch
    idx = np.searchsorted(checks, n)
    n = np.where(idx < checks.size, checks[np.minimum(idx, checks.size - 1)], np.inf)
    slow = n.max(-1)                                                 # (reps, m, c)
    n_run = np.minimum(stop_factor * slow.min(-1), budget)           # (reps, m)
    n = np.where(n <= n_run[..., None, None], n, np.inf)
    med = np.median(np.log(n), -1)
    done = np.isfinite(n).all(-1)                                    # (reps, m, c)
    med = np.where(done | ~done.any(-1, keepdims=True), med, np.inf)
    pick = np.argmin(med, -1)                                        # (reps, m)
    sel = np.take_along_axis(n, pick[..., None, None], 2)[:, :, 0, :]
    sel = np.where(np.isfinite(sel), sel, n_run[..., None])
    return sel, pick


def calibrate(N, laws, *, fit_p: float = 0.0, compare=("N^2", "N^3", "N^3/log^2 N"),
              **sim) -> dict:
    """The protocol on controls of known exponent: for each name of :data:`LAWS` in
    ``laws``, :func:`simulate_protocol` (keyword arguments ``sim``), then the fit of
    :func:`theta_se` with ``p = fit_p`` and the fixed-law comparison of :func:`compare_laws`
    on every replicate. Returns per law ``{"truth" (the exponent a perfect fit with p =
    fit_p returns), "theta" (mean over replicates), "sd", "se" (mean reported se),
    "cover" (fraction of θ̂ ± 2 se holding the truth), "edge" (fraction of picks on a grid
    edge), "wins" ({law: fraction of replicates it wins}), "delta" (log-likelihood of the
    true law minus the best other, per replicate, when the law is compared)}."""
    N = _sizes(N)
    out = {}
    for name in laws:
        th, p = LAWS[name]
        Y, pick = simulate_protocol(N, th, p, **sim)
        t, se = theta_se(N, Y, fit_p)
        truth = apparent_exponent(N, th, p - fit_p)
        ll = np.stack([law_loglik(N, Y, *LAWS[k]) for k in compare])      # (k, reps)
        win = np.argmax(ll, 0)
        ncs = int(np.max(pick)) + 1 if sim.get("cs") is None else len(sim["cs"])
        res = {"truth": float(truth), "theta": float(t.mean()), "sd": float(t.std(ddof=1)),
               "se": float(se.mean()), "cover": float(np.mean(np.abs(t - truth) <= 2 * se)),
               "edge": float(np.mean((pick == 0) | (pick == ncs - 1))) if ncs > 2 else 1.0,
               "wins": {k: float(np.mean(win == j)) for j, k in enumerate(compare)},
               "thetas": t, "ses": se,
               "loglik": {k: ll[j] for j, k in enumerate(compare)}}
        if name in compare:
            j = list(compare).index(name)
            others = np.delete(ll, j, 0).max(0)
            res["delta"] = ll[j] - others
        out[name] = res
    return out


def separation(N, trials: int, *, lo: str = "N^2", hi: str = "N^3", **sim) -> dict:
    """Whether the protocol tells the law ``lo`` from ``hi`` at 2 standard errors on the grid
    ``N`` with ``trials`` trials: the fraction of replicates whose θ̂ ± 2 se (p = 0) excludes
    the other law's exponent, under each truth. Returns ``{"se", "power_lo", "power_hi",
    "power" (the smaller)}``."""
    N = _sizes(N)
    out = {}
    for key, name, other in (("lo", lo, hi), ("hi", hi, lo)):
        th, p = LAWS[name]
        Y, _ = simulate_protocol(N, th, p, trials=trials, **sim)
        t, se = theta_se(N, Y, 0.0)
        other_exp = apparent_exponent(N, *LAWS[other])
        out[f"power_{key}"] = float(np.mean(np.abs(t - other_exp) > 2 * se))
        out[f"se_{key}"] = float(se.mean())
    out["se"] = max(out["se_lo"], out["se_hi"])
    out["power"] = min(out["power_lo"], out["power_hi"])
    return out


def comparison_power(N, trials: int, margin: float = math.log(10.0), *, low=("N^2",),
                     high=("N^3", "N^3/log^2 N"), **sim) -> float:
    """How often the fixed-law comparison decides correctly by ``margin`` in log-likelihood:
    ``Δ = max_high loglik − max_low loglik`` must be ``≥ margin`` when a law of ``high`` is
    true and ``≤ −margin`` when one of ``low`` is (:func:`simulate_protocol` with ``sim``).
    Returns the smallest of these fractions over the true laws (the power of the weakest
    case)."""
    N = _sizes(N)
    margin = float(margin)
    out = []
    for name in (*low, *high):
        Y, _ = simulate_protocol(N, *LAWS[name], trials=trials, **sim)
        lh = np.max([law_loglik(N, Y, *LAWS[k]) for k in high], 0)
        lo = np.max([law_loglik(N, Y, *LAWS[k]) for k in low], 0)
        d = lh - lo
        out.append(np.mean(d >= margin) if name in high else np.mean(d <= -margin))
    return float(min(out))

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

"""Closed forms of Godfrey et al. (2022), Theorem 4.9 (catalog G2), and their solvers.

Problem (Eq. 4.1 with MSE): ``min (1/N) Σ_n ‖y_n − f(x_n)‖² + λ Σ_l ‖w^l‖²`` over an
``L``-layer linear CNN with full-size circular kernels (``L`` counts the readout). With the
effective predictor ``v̂`` (Lemma 4.3, ``f_k(x) = Σ conj(v̂_k) x̂``) it becomes (Eq. 4.10)

    min  Σ_k [v̂_k^H Ŝ v̂_k − 2 Re v̂_k^H b̂_k] + λ_eff · L · Σ_ij ‖v̂_ij‖_{S_{2/L}}^{2/L},

with ``Ŝ = E_N[x̂ x̂^H]``, ``b̂_k = E_N[y_k x̂]`` and — a correction the paper does not make —
``λ_eff = λ · (HW)^{−(L−1)/L}``: with the orthonormal DFT (Eq. 3.5) the product of the
layers' transforms carries ``(HW)^{(L−1)/2}`` (see ``nets/dft.py``), so
``min λΣ|ŵ_l|² s.t. (HW)^{(L−1)/2} Π ŵ_l = v̂`` is ``λ_eff L |v̂|^{2/L}``.

Under the diagonal assumption (Eq. 4.17, ``Ŝ ≈ diag(τ)``) and scalar channels the problem
separates per frequency: ``|v̂| = argmin_r τ(r − |v̂_LS|)² + λ_eff L r^{2/L}``
(:func:`shrink_modulus`), which is ridge ``τ/(λ+τ)·v̂_LS`` for ``L = 1`` (Eq. 4.18) and
complex soft-thresholding ``v̂_LS·max(0, 1 − λ_eff/(τ|v̂_LS|))`` for ``L = 2`` (Eq. A.7,
whose printed form drops the ``max(·, 0)`` and the √(HW)); for ``L ≥ 3`` it is a
non-convex 1-D problem with a jump threshold. With channels and ``L = 2`` the penalty is
the nuclear norm, solved by proximal gradient with singular-value thresholding
(:func:`prox_gradient`). Everything here is NumPy/torch linear algebra: no nets, no training.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["lam_eff", "shrink_modulus", "ridge", "soft_threshold", "diagonal_solution",
           "statistics", "least_squares", "ridge_exact", "prox_gradient", "schatten_penalty"]


def _pos_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer; got {v!r}")
    return int(v)


def _nonneg(v, name):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {v!r}") from None
    if not math.isfinite(f) or f < 0:
        raise ValueError(f"{name} must be finite and ≥ 0; got {v!r}")
    return f


def lam_eff(lam: float, L: int, size) -> float:
    """``λ_eff = λ (HW)^{−(L−1)/L}``: the penalty coefficient on ``v̂`` (orthonormal DFT)."""
    lam = _nonneg(lam, "lam")
    L = _pos_int(L, "L")
    H, W = size
    return lam * float(H * W) ** (-(L - 1) / L)


def shrink_modulus(z, a, b, p: float, branch: str = "global") -> np.ndarray:
    """``argmin_{r ≥ 0} a (r − z)² + b r^p`` elementwise (``z ≥ 0``, ``a > 0``, ``b ≥ 0``).

    ``p = 2``: ``a z/(a+b)``; ``p = 1``: ``max(z − b/(2a), 0)``; ``0 < p < 1``: the larger
    root of ``φ'(r) = 2a(r − z) + b p r^{p−1}`` (bisection on the branch where ``φ'`` rises)
    when it beats ``r = 0``, else 0 (the global minimiser; ties go to 0). For ``p < 1``
    ``r = 0`` is always a *local* minimum; ``branch="upper"`` returns the non-zero local
    minimum whenever it exists (where gradient descent started above it converges).
    """
    if branch not in ("global", "upper"):
        raise ValueError(f"branch must be 'global' or 'upper'; got {branch!r}")
    p = float(p)
    if not 0 < p <= 2 or (1 < p < 2):
        raise ValueError(f"p must be in (0, 1] or equal to 2; got {p}")
    z, a, b = np.broadcast_arrays(*(np.asarray(t, dtype=float) for t in (z, a, b)))
    if np.any(z < 0) or np.any(a <= 0) or np.any(b < 0):
        raise ValueError("shrink_modulus needs z ≥ 0, a > 0 and b ≥ 0")
    if p == 2:
        return a * z / (a + b)
    if p == 1:
        return np.maximum(z - b / (2 * a), 0.0)
    out = np.zeros_like(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        rc = (b * p * (1 - p) / (2 * a)) ** (1 / (2 - p))
        dphi_c = 2 * a * (rc - z) + b * p * rc ** (p - 1)
    cand = (b == 0) | ((rc < z) & (dphi_c < 0))
    lo, hi = np.where(b == 0, z, rc), z.copy()
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = 2 * a * (mid - z) + b * p * mid ** (p - 1)
        up = d > 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid)
    r = 0.5 * (lo + hi)
    phi_r = a * (r - z) ** 2 + b * r ** p
    keep = cand if branch == "upper" else cand & (phi_r < a * z ** 2)
    out = np.where(keep, r, 0.0)
    return np.where(b == 0, z, out)


def ridge(tau, v_ls, lam):
    """Eq. 4.18: ``v̂ = τ/(λ+τ) · v̂_LS`` (``L = 1``; no √(HW) factor at ``L = 1``)."""
    tau = np.asarray(tau, dtype=float)
    return tau / (_nonneg(lam, "lam") + tau) * np.asarray(v_ls)


def soft_threshold(tau, v_ls, lam, size):
    """Eq. A.7 done right: ``v̂ = v̂_LS · max(0, 1 − λ/(√(HW) τ |v̂_LS|))`` (``L = 2``)."""
    v_ls = np.asarray(v_ls)
    t = lam_eff(lam, 2, size) / np.asarray(tau, dtype=float)
    m = np.abs(v_ls)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(m > 0, np.maximum(0.0, 1 - t / m), 0.0)
    return v_ls * f


def diagonal_solution(tau, v_ls, lam, L: int, size, branch: str = "global"):
    """Per-frequency minimiser under ``Ŝ = diag(τ)`` for scalar input channels, any ``L``.

    ``v_ls``: ``(K, 1, H, W)`` complex (``K`` outputs; with one input channel each frequency
    holds a ``K``-vector, whose Schatten quasi-norm is its 2-norm); ``tau``: ``(1, H, W)``.
    Returns ``v̂_LS · r/‖v̂_LS‖`` with ``r`` from :func:`shrink_modulus` (``a = τ``,
    ``b = λ_eff L``, ``p = 2/L``).
    """
    L = _pos_int(L, "L")
    v_ls = np.asarray(v_ls)
    tau = np.asarray(tau, dtype=float)
    if v_ls.ndim != 4 or v_ls.shape[1] != 1 or tau.shape != v_ls.shape[1:]:
        raise ValueError(f"v_ls must be (K, 1, H, W) and tau (1, H, W); got {v_ls.shape} and "
                         f"{tau.shape}")
    z = np.linalg.norm(v_ls, axis=0)                       # (1, H, W)
    r = shrink_modulus(z, tau, lam_eff(lam, L, size) * L, 2.0 / L, branch)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(z > 0, r / z, 0.0)
    return v_ls * f[None]


def statistics(x: torch.Tensor, y: torch.Tensor):
    """Empirical ``S = XᵀX/N`` (pixel basis, ``D×D``), ``B = YᵀX/N`` (``K×D``), float64."""
    X = x.reshape(len(x), -1).to(torch.float64)
    Y = y.reshape(len(y), -1).to(torch.float64)
    return X.T @ X / len(X), Y.T @ X / len(X)


def _dft(w, shape):
    return torch.fft.fft2(w.reshape(-1, *shape), norm="ortho")


def _idft(v, K):
    return torch.fft.ifft2(v, norm="ortho").real.reshape(K, -1)


def least_squares(S, B, shape):
    """``v̂_LS = DFT(S⁻¹ Bᵀ)``: the exact finite-sample OLS predictor, ``(K, C, H, W)``."""
    return _dft(torch.linalg.solve(S, B.T).T, shape)


def ridge_exact(S, B, lam, shape):
    """Exact finite-sample ``L = 1`` solution ``W = B (S + λI)⁻¹`` as ``v̂``."""
    A = S + _nonneg(lam, "lam") * torch.eye(len(S), dtype=S.dtype)
    return _dft(torch.linalg.solve(A, B.T).T, shape)


def schatten_penalty(v, L: int) -> torch.Tensor:
    """``Σ_ij ‖v̂_ij‖_{S_{2/L}}^{2/L}`` for ``v̂`` of shape ``(K, C, H, W)``."""
    s = torch.linalg.svdvals(v.permute(2, 3, 0, 1))
    return (s ** (2.0 / L)).sum()


def _prox(v, t, L, branch: str = "upper"):
    """Prox of ``t · L Σ‖v̂_ij‖_{S_{2/L}}^{2/L}`` (``t`` = step × λ_eff) on ``(K, C, H, W)``;
    for ``L ≥ 3`` (non-convex) ``branch="global"`` is the true prox (the global 1-D
    minimiser), ``"upper"`` keeps the non-zero local minimum whenever it exists."""
    if L == 1:
        return v / (1 + 2 * t)
    M = v.permute(2, 3, 0, 1)                              # (H, W, K, C)
    U, s, Vh = torch.linalg.svd(M, full_matrices=False)
    if L == 2:
        s = torch.clamp(s - t * L, min=0.0)
    else:  # only for rank-1 per frequency (scalar channels); elementwise on s
        s = torch.as_tensor(shrink_modulus(s.numpy(), 0.5, t * L, 2.0 / L, branch),
                            dtype=s.dtype)
    M = (U * s.to(U.dtype)[..., None, :]) @ Vh
    return M.permute(2, 3, 0, 1)


def prox_gradient(S, B, lam, L: int, shape, *, diagonal: bool = False, n_iter: int = 5000,
                  tol: float = 1e-13, v0=None, branch: str = "upper"):
    """Minimise Eq. 4.10 exactly by proximal gradient (FISTA for ``L ≤ 2``).

    ``S``, ``B`` from :func:`statistics`; ``shape = (C, H, W)``. ``diagonal=True`` replaces
    ``Ŝ`` by its diagonal ``τ̂`` and ``b̂`` by ``τ̂ v̂_LS`` (the diagonal form of Eq. 4.17–4.18,
    for the multi-channel ``L = 2`` nuclear-norm closed form). ``L ≥ 3`` (non-convex) runs
    plain proximal gradient from ``v0`` (default ``v̂_LS``) to a stationary point; it needs
    scalar input channels. Its prox takes the ``branch`` of :func:`shrink_modulus`:
    ``"upper"`` (default) ends on the non-zero branch wherever one exists (an upper-branch
    stationary point, not the global minimum); ``"global"`` uses the true (global) prox,
    whose fixed points include the global minimiser. Returns ``v̂`` ``(K, C, H, W)``
    complex128.
    """
    L = _pos_int(L, "L")
    C, H, W = shape
    K = B.shape[0]
    le = lam_eff(lam, L, (H, W))
    v_ls = least_squares(S, B, shape)
    if diagonal:
        tau = _dft_diag(S, shape)
        grad = lambda v: 2 * tau * (v - v_ls)               # noqa: E731
        lip = 2 * float(tau.max())
    else:
        grad = lambda v: _dft(2 * (_idft(v, K) @ S - B), shape)  # noqa: E731
        lip = 2 * float(torch.linalg.eigvalsh(S).max())
    if L >= 3 and C != 1:
        raise ValueError(f"L ≥ 3 is solved for one input channel only; got C = {C}")
    eta = 1.0 / lip
    v = v_ls.clone() if v0 is None else torch.as_tensor(v0, dtype=torch.complex128).clone()
    z, tk = v.clone(), 1.0
    for _ in range(n_iter):
        v_new = _prox(z - eta * grad(z), eta * le, L, branch)
        if L <= 2:
            tn = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
            z = v_new + (tk - 1) / tn * (v_new - v)
            tk = tn
        else:
            z = v_new
        delta = float((v_new - v).abs().max())
        v = v_new
        if delta < tol * max(float(v.abs().max()), 1e-300):
            break
    return v


def _dft_diag(S, shape):
    """``τ̂ = diag(F S F^H)`` as ``(C, H, W)`` (variance of each Fourier coefficient)."""
    C, H, W = shape
    D = C * H * W
    E = torch.eye(D, dtype=S.dtype).reshape(D, C, H, W)
    F = torch.fft.fft2(E, norm="ortho").reshape(D, D)         # column d = DFT of e_d
    # τ̂_a = Σ_{d,e} F[a,d] S[d,e] conj F[a,e]; here F[:, a] is row a of the DFT matrix
    Fm = F.T                                                   # (a, d)
    return torch.einsum("ad,de,ae->a", Fm, S.to(F.dtype), Fm.conj()).real.reshape(C, H, W)


def fourier_variance(S, shape):
    """``τ̂_cij = (F S F^H)_{cij,cij}``: the empirical variance of each Fourier coefficient."""
    return _dft_diag(S, shape)


__all__.append("fourier_variance")


def min_norm_least_squares(S, B, shape, rcond: float = 1e-10):
    """``v̂ = DFT(B S⁺)``: the minimum-norm least-squares predictor (``S⁺`` the
    pseudo-inverse, eigenvalues below ``rcond · max`` dropped), ``(K, C, H, W)`` complex.

    The ``λ → 0⁺`` limit of :func:`ridge_exact` and the end point of gradient descent from
    zero on ``(1/N)Σ‖y − Wx‖²`` (:func:`least_squares` needs an invertible ``S``; with each
    image's mean removed the DC coefficients have zero variance and ``S`` is singular)."""
    rcond = _nonneg(rcond, "rcond")
    ev, U = torch.linalg.eigh(S.to(torch.float64))
    keep = ev > rcond * float(ev.max())
    inv = torch.where(keep, 1.0 / torch.where(keep, ev, torch.ones_like(ev)),
                      torch.zeros_like(ev))
    W = ((B.to(torch.float64) @ U) * inv) @ U.T
    return _dft(W, shape)


__all__.append("min_norm_least_squares")

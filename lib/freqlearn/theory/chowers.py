"""Closed forms of Chowers & Weiss (2023): the linear theory of Thm. 4.2 / App. A, corrected.

Symbols: patches ``p`` of ``d = C·s·s`` entries flattened in (C, s, s) order (the conv weight
layout); ``λ_i²`` = eigenvalues of the uncentred patch second moment ``⟨p pᵀ⟩`` (Def. A.3 — λ is
the *square root* of an eigenvalue); ``u_i`` its eigenvectors (Def. 2.1).

The model of Thm. 4.2 (Eq. 8): ``ŷ(x) = c · p̄(x)ᵀ w̄`` with ``c = K`` filters, ``p̄(x)`` the
average patch of image ``x`` (global average pooling), ``w̄`` the mean filter. Loss
``L = (1/N) Σ_x (y − ŷ)²``. With ``A = (1/N) Σ p̄ p̄ᵀ`` and ``b = (1/N) Σ p̄ y``::

    ∂L/∂w_k = 2 (c A w̄ − b)        (every filter k; Eq. 9 writes c(Aw̄ − b) for 2c(Aw̄ − b/c))
    w̄(t) = (I − 2ηcA) w̄(t−1) + 2η b
    v_iᵀ w̄(t) = [1 − (1 − 2ηc a_i)^t] v_iᵀb / (c a_i) + (1 − 2ηc a_i)^t v_iᵀ w̄(0)

(``a_i, v_i`` = eigenpairs of A). No η is left in front: the geometric series
``Σ_{n<t} (1 − ηa)^n = (1 − (1 − ηa)^t)/(ηa)`` cancels the η of the update, which Eq. 12 drops;
the η² of Eqs. 3, 7, 13 is a slip, and Eq. 13 also writes C's eigenvalue as ``1 − ηλ_i`` for
``1 − ηλ_i²``. Every power of η is a constant factor, invisible in a max-normalised profile.

Under the paper's two assumptions (``a_i = λ_i²/J``; ``|u_iᵀb| ∝ λ_i``) this becomes the printed
shape ``e_i ∝ [1 − (1 − η′λ_i²)^t] / λ_i``, whose ``t → ∞`` limit is ``1/λ_i`` (App. A; the
main-text sketch's ``1/λ_i²`` is wrong). Nothing here imports nets, train or experiments.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gap_features", "gap_moments", "gd_closed_form", "profile_closed_form",
           "expected_profile", "printed_formula", "formula", "formula_limit",
           "fit_formula", "early_profile", "clock", "authors_s_grid", "pearson",
           "log_rms", "folded_normal_cv", "loglog_slope",
           "flatness", "band_pass", "colour_dc_fraction", "offdiag_fraction",
           "scale_component"]


def _arr(name, x, ndim=None):
    a = np.asarray(x, dtype=float)
    if ndim is not None and a.ndim not in ((ndim,) if isinstance(ndim, int) else ndim):
        raise ValueError(f"{name} must have ndim {ndim}; got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _pos(name, v, strict=True):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number; got {type(v).__name__} {v!r}")
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        raise ValueError(f"{name} must be {'>' if strict else '≥'} 0; got {v!r}")
    return float(v)


def _one_minus_pow(x, t):
    """``1 − (1 − x)^t`` without cancellation for tiny ``x`` (``t`` an integer ≥ 0)."""
    x = np.asarray(x, float)
    xs = np.where(np.abs(x) < 1e-6, x, 0.0)
    small = -np.expm1(t * np.log1p(-xs))
    return np.where(np.abs(x) < 1e-6, small, 1.0 - np.power(1.0 - x, t))


def gap_features(images, size: int = 3, stride: int = 1) -> np.ndarray:
    """The average patch ``p̄(x) = (1/J) Σ_j p_j(x)`` of each image, ``(N, C·size·size)``.

    Entry ``(c, a, b)`` is the mean of the window ``x[c, a::stride, b::stride]`` of valid
    positions, so no patch array is built. Same flattening as ``fl.fourier.extract_patches``.
    """
    x = _arr("images", images, ndim=4)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an integer ≥ 1; got {size!r}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer ≥ 1; got {stride!r}")
    N, C, H, W = x.shape
    if size > min(H, W):
        raise ValueError(f"size {size} exceeds the image size {H}×{W}")
    nh, nw = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.empty((N, C, size, size))
    for a in range(size):
        for b in range(size):
            out[:, :, a, b] = x[:, :, a:a + stride * nh:stride, b:b + stride * nw:stride].mean(
                axis=(2, 3))
    return out.reshape(N, -1)


def gap_moments(pbar, y):
    """``A = (1/N) Σ p̄ p̄ᵀ`` and ``b = (1/N) Σ p̄ y`` (``y``: ``(N,)`` or ``(N, B)`` draws)."""
    P = _arr("pbar", pbar, ndim=2)
    Y = _arr("y", y, ndim=(1, 2))
    if Y.shape[0] != P.shape[0]:
        raise ValueError(f"y must have {P.shape[0]} rows (one per image); got {Y.shape}")
    N = P.shape[0]
    return P.T @ P / N, P.T @ Y / N


def gd_closed_form(A, b, t, *, eta: float, c: int, w0=None) -> np.ndarray:
    """Exact mean filter ``w̄(t)`` of full-batch GD on the GAP model (module docstring).

    ``b``: ``(d,)`` or ``(d, B)``; ``t``: int or array of steps; ``w0``: ``w̄(0)`` like ``b``
    (default 0). Returns ``(len(t), d[, B])`` (or without the first axis for scalar ``t``).
    """
    A = _arr("A", A, ndim=2)
    b = _arr("b", b, ndim=(1, 2))
    eta, c = _pos("eta", eta), _pos("c", c)
    ts = np.atleast_1d(np.asarray(t))
    if ts.dtype.kind not in "iu" or np.any(ts < 0):
        raise ValueError(f"t must be integers ≥ 0; got {t!r}")
    a, V = np.linalg.eigh(A)
    vb = V.T @ b
    vw = np.zeros_like(vb) if w0 is None else V.T @ _arr("w0", w0)
    q = 1.0 - 2.0 * eta * c * a
    ca = c * a
    out = []
    x = 2.0 * eta * c * a
    safe = np.where(ca > 0, ca, 1.0)
    for tt in ts:
        g = q ** int(tt)
        frac = np.where(ca > 0, _one_minus_pow(x, int(tt)) / safe, 2 * eta * int(tt))
        frac = frac.reshape(frac.shape + (1,) * (vb.ndim - 1))
        g = g.reshape(g.shape + (1,) * (vb.ndim - 1))
        out.append(V @ (frac * vb + g * vw))
    out = np.stack(out)
    return out[0] if np.ndim(t) == 0 else out


def profile_closed_form(A, b, t, U, *, eta: float, c: int, w0=None) -> np.ndarray:
    """Energy profile of ``W(t) − W(0)`` in the basis ``U`` (all K filters move by the same
    vector ``w̄(t) − w̄(0)``, so ``e_i = |u_iᵀ(w̄(t) − w̄(0))|``)."""
    U = _arr("U", U, ndim=2)
    w = gd_closed_form(A, b, t, eta=eta, c=c, w0=w0)
    w0v = 0.0 if w0 is None else _arr("w0", w0)
    return np.abs(np.einsum("di,...d->...i", U, w - w0v)) if np.ndim(b) == 1 else \
        np.abs(np.einsum("di,...db->...bi", U, w - w0v))


def expected_profile(A, U, t, *, eta: float, c: int, N: int, var_y: float = 1.0):
    """``E|u_iᵀ(w̄(t) − w̄(0))|`` over iid zero-mean labels (variance ``var_y``), ``w̄(0)=0``.

    ``u_iᵀw̄(t) = Σ_j (u_iᵀv_j) g_j v_jᵀb`` with ``g_j = [1 − (1 − 2ηc a_j)^t]/(c a_j)`` and
    ``Cov(b) = var_y A / N``, hence ``Var = var_y/N · Σ_j (u_iᵀv_j)² g_j² a_j`` exactly, and
    ``E|·| = √(2/π)·√Var`` for Gaussian labels (the CLT for others).
    """
    A, U = _arr("A", A, ndim=2), _arr("U", U, ndim=2)
    eta, c, N = _pos("eta", eta), _pos("c", c), _pos("N", N)
    a, V = np.linalg.eigh(A)
    a = np.clip(a, 0, None)
    ts = np.atleast_1d(np.asarray(t, dtype=float))
    M = (U.T @ V) ** 2
    out = []
    for tt in ts:
        if tt != int(tt):
            raise ValueError(f"t must be integers ≥ 0; got {tt!r}")
        g = np.where(a > 0, _one_minus_pow(2 * eta * c * a, int(tt))
                     / np.where(a > 0, c * a, 1), 2 * eta * tt)
        out.append(np.sqrt(2 / np.pi * var_y / N * M @ (g ** 2 * a)))
    out = np.stack(out)
    return out[0] if np.ndim(t) == 0 else out


def printed_formula(lam2, t, eta: float, *, eta_power: int = 2):
    """Eq. 3/7 as printed: ``|1 − (1 − ηλ²)^t| / (η^p λ²) · λ`` (``p = eta_power``, 2 in
    print; the corrected derivation has no η at all — any p only rescales the profile)."""
    lam2 = _arr("lam2", lam2, ndim=1)
    eta = _pos("eta", eta)
    if eta_power not in (0, 1, 2):
        raise ValueError(f"eta_power must be 0, 1 or 2; got {eta_power!r}")
    ts = np.atleast_1d(np.asarray(t, dtype=float))[:, None]
    e = np.abs(-np.expm1(ts * np.log1p(-eta * lam2 + 0j)).real) / (eta ** eta_power * lam2)
    e = e * np.sqrt(lam2)
    return e[0] if np.ndim(t) == 0 else e


def formula(lam2, s):
    """Small-η form of the corrected formula, one shape parameter ``s = η′t``:
    ``e_i ∝ (1 − exp(−s λ_i²)) / λ_i``, max-normalised. ``s`` scalar or array → (len(s), d)."""
    lam2 = _arr("lam2", lam2, ndim=1)
    if np.any(lam2 <= 0):
        raise ValueError("lam2 must be > 0 (eigenvalues of the patch second moment)")
    ss = np.atleast_1d(_arr("s", s))[:, None]
    e = -np.expm1(-ss * lam2) / np.sqrt(lam2)
    e = e / e.max(axis=1, keepdims=True)
    return e[0] if np.ndim(s) == 0 else e


def formula_limit(lam2, which: str = "appendix"):
    """``t → ∞``: ``1/λ`` (App. A, whitening; ``which="appendix"``) or the main text's
    ``1/λ²`` (``"main"``, wrong); max-normalised."""
    lam2 = _arr("lam2", lam2, ndim=1)
    if which not in ("appendix", "main"):
        raise ValueError(f"which must be 'appendix' or 'main'; got {which!r}")
    e = lam2 ** (-0.5 if which == "appendix" else -1.0)
    return e / e.max()


def pearson(x, y) -> float:
    """Pearson correlation of two profiles (the paper's similarity)."""
    x, y = np.ravel(_arr("x", x)), np.ravel(_arr("y", y))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length; got {x.shape}, {y.shape}")
    x, y = x - x.mean(), y - y.mean()
    den = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / den) if den > 0 else float("nan")


def log_rms(x, y) -> float:
    """RMS of ``log(x/max x) − log(y/max y)`` — a stricter distance than Pearson r."""
    x, y = np.ravel(_arr("x", x)), np.ravel(_arr("y", y))
    return float(np.sqrt(np.mean((np.log(x / x.max()) - np.log(y / y.max())) ** 2)))


def fit_formula(profile, lam2, s_grid=None):
    """Fit :func:`formula` to a measured profile by searching ``s`` (the paper's search over
    ``t``); returns ``(s_best, r_best, curve)`` maximising Pearson r (``curve`` max-normalised).
    Default grid: 400 log-spaced ``s`` from ``0.01/max λ²`` to ``100/min λ²`` — its lower end
    is the early-time limit ``e ∝ λ`` (:func:`early_profile`), which the authors' grid
    (:func:`authors_s_grid`) cannot reach."""
    lam2 = _arr("lam2", lam2, ndim=1)
    p = _arr("profile", profile, ndim=1)
    if p.shape != lam2.shape:
        raise ValueError(f"profile must have {lam2.size} entries; got {p.size}")
    if s_grid is None:
        s_grid = np.geomspace(0.01 / lam2.max(), 100 / lam2.min(), 400)
    E = formula(lam2, np.asarray(s_grid, float))
    pc = p - p.mean()
    Ec = E - E.mean(1, keepdims=True)
    r = Ec @ pc / np.sqrt((Ec ** 2).sum(1) * (pc @ pc))
    k = int(np.nanargmax(r))
    return float(s_grid[k]), float(r[k]), E[k]


def early_profile(lam2):
    """The early-time limit of :func:`formula` (``s → 0``): ``e_i ∝ λ_i``, max-normalised —
    the profile the data alone give, the strongest trivial explanation of a measured profile
    (an update proportional to each component's patch standard deviation)."""
    lam2 = _arr("lam2", lam2, ndim=1)
    if np.any(lam2 <= 0):
        raise ValueError("lam2 must be > 0 (eigenvalues of the patch second moment)")
    e = np.sqrt(lam2)
    return e / e.max()


def clock(profile, lam2, s_grid=None) -> float:
    """Where a profile sits on the formula's own clock: ``s·max λ²`` of the best fit of
    :func:`formula` (:func:`fit_formula`, its default grid unless ``s_grid``). Below about
    0.1 the formula is ``e ∝ λ`` within 5 % on every component (``1 − e^{−x} ≈ x(1 − x/2)``):
    the early-time regime, where the data alone explain the profile."""
    lam2 = _arr("lam2", lam2, ndim=1)
    return fit_formula(profile, lam2, s_grid)[0] * float(lam2.max())


def authors_s_grid(J: int = 900, eta: float = 1e-7, t0: float = 1e4, t1: float = 5e6,
                   dt: float = 250):
    """The authors' search grid (``utils.py``, ``fit_formula_to_model``) in this module's
    units ``s``: steps ``t = t0, t0 + dt, … < t1`` at ``x = η·J·λ²/2`` per step
    (σ² = N·J·λ², x = ησ²/(2N); J = 900 patch positions of a 32×32 CIFAR image), so
    ``s = ηJt/2`` ∈ [0.45, 225] at the defaults. It starts at ``s ≥ 0.45``, so unlike
    :func:`fit_formula`'s default grid it cannot reach the early-time limit ``e ∝ λ``."""
    J, eta, t0, t1, dt = (_pos(n, v) for n, v in
                          (("J", J), ("eta", eta), ("t0", t0), ("t1", t1), ("dt", dt)))
    if t1 <= t0:
        raise ValueError(f"t1 must exceed t0; got t0={t0:g}, t1={t1:g}")
    return eta * J / 2 * np.arange(t0, t1, dt)


def folded_normal_cv() -> float:
    """Coefficient of variation of ``|z|``, ``z ~ N(0, σ²)``: ``√(π/2 − 1)`` ≈ 0.756."""
    return float(np.sqrt(np.pi / 2 - 1))


def loglog_slope(e, lam2) -> float:
    """Least-squares slope of ``log e`` against ``log λ`` (``+1`` early, ``−1`` whitening)."""
    e, lam2 = _arr("e", e, ndim=1), _arr("lam2", lam2, ndim=1)
    return float(np.polyfit(0.5 * np.log(lam2), np.log(e), 1)[0])


def flatness(e) -> float:
    """Coefficient of variation of a profile across components (0 = perfectly flat)."""
    e = _arr("e", e, ndim=1)
    return float(e.std() / e.mean())


def band_pass(d: int, centre: float | None = None, width: float | None = None):
    """A generic smooth band-pass over component index (a Gaussian bump in ``i``), the
    lenient null of the formula fits; max-normalised."""
    i = np.arange(d, dtype=float)
    centre = d / 3 if centre is None else centre
    width = d / 4 if width is None else width
    e = np.exp(-0.5 * ((i - centre) / width) ** 2)
    return e / e.max()


def colour_dc_fraction(M, C: int = 3, size: int = 3) -> float:
    """Fraction of ``tr(M)`` in the ``C`` spatially constant colour directions."""
    M = _arr("M", M, ndim=2)
    d = C * size * size
    if M.shape != (d, d):
        raise ValueError(f"M must be ({d}, {d}); got {M.shape}")
    Q = np.zeros((d, C))
    for ch in range(C):
        Q[ch * size * size:(ch + 1) * size * size, ch] = 1 / size
    return float(np.trace(Q.T @ M @ Q) / np.trace(M))


def offdiag_fraction(M, U) -> float:
    """``‖offdiag(UᵀMU)‖_F / ‖UᵀMU‖_F`` — 0 when ``U`` diagonalises ``M``."""
    B = _arr("U", U, ndim=2).T @ _arr("M", M, ndim=2) @ U
    return float(np.linalg.norm(B - np.diag(np.diag(B))) / np.linalg.norm(B))


def scale_component(images, U, i: int, alpha: float, size: int = 3):
    """App. D.2, Eq. 25: scale component ``u_i`` of every *non-overlapping* ``size×size``
    patch (the tiling a stride-``size`` first layer sees) by ``alpha``; ``(N, C, H, W)``."""
    x = _arr("images", images, ndim=4).copy()
    U = _arr("U", U, ndim=2)
    N, C, H, W = x.shape
    if not 0 <= i < U.shape[1]:
        raise ValueError(f"i must be in 0..{U.shape[1] - 1}; got {i!r}")
    alpha = _pos("alpha", alpha)
    h, w = H // size, W // size
    t = x[:, :, :h * size, :w * size].reshape(N, C, h, size, w, size)
    p = t.transpose(0, 2, 4, 1, 3, 5).reshape(N, h, w, -1)
    u = U[:, i]
    p = p + (alpha - 1) * (p @ u)[..., None] * u
    t = p.reshape(N, h, w, C, size, size).transpose(0, 3, 1, 4, 2, 5)
    x[:, :, :h * size, :w * size] = t.reshape(N, C, h * size, w * size)
    return x

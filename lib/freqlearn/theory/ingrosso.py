"""Theory for Ingrosso & Goldt (2022): Gaussian equivalence, the reduced model, cumulants, CP.

**Gaussian-equivalent test error (Methods "Gaussian equivalence", Fig. 3).** The output
depends on x only through h_k = w_k·x + b_k. Replacing λ_k = w_k·x by Gaussians of mean 0
and covariance Q^μ_kl = w_k C^μ w_l in class μ, the test error (Eq. 9)

    pmse = (1/M) Σ_μ [ Σ_kl v_k v_l E σ_k σ_l − 2 y_μ Σ_k v_k E σ_k + 1 ]

is exact for the erf activation σ(h) = erf(h/√2) = 2Φ(h) − 1: with s_k² = 1 + Q_kk,

    E σ_k       = erf(b_k / √(2 s_k²)),
    E Φ(h_k)Φ(h_l) = Φ₂(b_k/s_k, b_l/s_l; ρ_kl = Q_kl/(s_k s_l))    (k = l included),

where Φ₂ is the bivariate normal CDF, computed in closed form from Owen's T function
(``scipy.special.owens_t``). With zero biases this is the arcsine law
E σ_k σ_l = (2/π) arcsin(ρ_kl). No sampling anywhere.

**Reduced model (Eqs. 3, 5, Methods).** One neuron, cubic activation
σ̃(h) = α₁h − (α₃/3)h³ (α₁ = √(2/π), α₃ = 1/√(2π)), bias b, readout v:
ẇ = (1/M) Σ_μ [c₂^μ C^μ w + c₄ T^μ w⊗³] with (our derivation, = the paper's at v = 1)
(the Gaussian part of T w⊗³ is 3qCw: Eq. 5's (c₂ + c₄q) should read (c₂ + 3c₄q))
c₂^μ = −v A² − 2α₃ b (y_μ − v s₀), c₄ = v[(4/3)α₃ A − 2α₃² b²], A = α₁ − α₃b²,
s₀ = α₁ b − α₃ b³/3. Splitting T = Gaussian part + cumulant ΔT gives Eq. 5; the
"Gaussian" run drops ΔT. T w⊗³ and ΔT w⊗³ are evaluated from samples without forming
tensors: T w⊗³ = ⟨(x·w)³ x⟩, ΔT w⊗³ = T w⊗³ − 3 (wᵀĈw) Ĉ w.

**Cumulant CP decomposition (Eq. 6, SI A.4).** Dense ΔT (small D) for tensorly, and the
implicit loss/gradient Eqs. A.4–A.6 for large D, optimised with scipy's L-BFGS-B.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import erf, ndtr, owens_t

from .. import presets as _presets

__all__ = ["bvn_cdf", "get_pmse", "erf_moments", "ALPHA1", "ALPHA3", "reduced_coeffs",
           "Tw3", "cumulant_w3", "gradient_flow", "gradient_flow_converged", "cumulant_tensor",
           "cp_tensorly",
           "implicit_cp_loss", "implicit_cp", "half_width", "shift_overlap", "circular_gaps",
           "gap_cv", "uniform_centres_null", "mean_gap_cv_null", "field_coverage",
           "field_coverage_null", "diagonal_fraction", "random_bumps", "bump_overlap_null",
           "silhouette",
           "cluster_ipr_ratio", "width_match", "width_match_null", "padded_shift_overlap",
           "rf_track", "rf_jumps", "jump_contrast", "jump_contrast_null", "perm_corrs",
           "perm_corr_tail"]

ALPHA1 = math.sqrt(2 / math.pi)
ALPHA3 = 1 / math.sqrt(2 * math.pi)


few_threads = _presets.threads  # one thread for these small tensors (freqlearn.presets.threads)


# ---------------------------------------------------------------- Gaussian equivalence
def bvn_cdf(h, k, rho):
    """Φ₂(h, k; ρ) = P(X ≤ h, Y ≤ k) for standard normals of correlation ρ (Owen 1956).

    Vectorised; exact up to floating point (Owen's T from scipy), |ρ| < 1.
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, rho)))
    eps = 1e-13
    h = np.where(np.abs(h) < eps, eps, h)
    k = np.where(np.abs(k) < eps, eps, k)
    r = np.sqrt(np.clip(1 - rho**2, 1e-300, None))
    ah = (k - rho * h) / (h * r)
    ak = (h - rho * k) / (k * r)
    beta = np.where(h * k > 0, 0.0, 0.5)
    return 0.5 * (ndtr(h) + ndtr(k)) - owens_t(h, ah) - owens_t(k, ak) - beta


def erf_moments(Q, b):
    """(E σ_k, E σ_k σ_l) for h = λ + b, λ ~ N(0, Q), σ = erf(·/√2); Q (..., K, K), b (..., K)."""
    Q = np.asarray(Q, dtype=float)
    b = np.asarray(b, dtype=float)
    s = np.sqrt(1 + np.diagonal(Q, axis1=-2, axis2=-1))
    m = erf(b / (math.sqrt(2) * s))
    u = b / s
    rho = Q / (s[..., :, None] * s[..., None, :])
    P2 = bvn_cdf(u[..., :, None], u[..., None, :], rho)
    Pk = ndtr(u)
    S2 = 4 * P2 - 2 * Pk[..., :, None] - 2 * Pk[..., None, :] + 1
    return m, S2


def get_pmse(W, b, v, Cs, ys=(-1.0, 1.0)):
    """Gaussian-equivalent test error ⟨(φ − y)²⟩ averaged over classes.

    W (..., K, D), b and v (..., K), Cs (M, D, D) class covariances, ys the labels.
    """
    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)
    v = np.asarray(v, dtype=float)
    out = 0.0
    for C, y in zip(Cs, ys, strict=True):
        Q = W @ C @ np.swapaxes(W, -1, -2)
        m, S2 = erf_moments(Q, b)
        out = out + (np.einsum("...k,...kl,...l->...", v, S2, v) - 2 * y * (v * m).sum(-1)
                     + y * y)
    return out / len(Cs)


# ---------------------------------------------------------------- reduced model
def reduced_coeffs(y, v=1.0, b=-1.0):
    """(c₂(y), c₄) of the cubic single neuron (see module docstring)."""
    A = ALPHA1 - ALPHA3 * b * b
    s0 = ALPHA1 * b - ALPHA3 * b**3 / 3
    c2 = -v * A * A - 2 * ALPHA3 * b * (y - v * s0)
    c4 = v * (4 / 3 * ALPHA3 * A - 2 * ALPHA3**2 * b * b)
    return c2, c4


def Tw3(X, w):
    """T w⊗³ = ⟨(x·w)³ x⟩ over samples X (..., P, D) for w (..., D)."""
    lam = torch.einsum("...pd,...d->...p", X, w)
    return torch.einsum("...p,...pd->...d", lam**3, X) / X.shape[-2]


def cumulant_w3(X, w, C=None):
    """ΔT w⊗³ = T w⊗³ − 3 (wᵀCw) C w, with C the sample covariance unless given."""
    lam = torch.einsum("...pd,...d->...p", X, w)
    P = X.shape[-2]
    Cw = (torch.einsum("...p,...pd->...d", lam, X) / P if C is None
          else torch.einsum("...d,...de->...e", w, C))
    q = (lam**2).mean(-1, keepdim=True) if C is None else (w * Cw).sum(-1, keepdim=True)
    return torch.einsum("...p,...pd->...d", lam**3, X) / P - 3 * q * Cw


def gradient_flow(Xs, w0, steps, *, lr=0.01, v=1.0, b=-1.0, ys=(-1.0, 1.0), cumulant=True,
                  record=None, cp=None):
    """Euler-integrate Eq. 5 for w0 (..., D) given per-class samples Xs = [X_μ (..., P, D)].

    The Gaussian part of T w⊗³ is 3 q^μ C^μ w (Wick, paper Eq. 13), so the first term is
    (c₂ + 3c₄ q^μ) C^μ w; the paper's Eqs. 5 and 14 print (c₂ + c₄ q^μ), dropping the 3
    (without it the cubic term no longer saturates and the flow diverges at large g).
    ``cumulant=False`` keeps only this Gaussian term. ``cp={μ: (γ, U)}`` replaces class μ's
    cumulant by its CP reconstruction, ΔT w⊗³ ≈ Σ_a γ_a (u_a·w)³ u_a (Fig. S2). Returns
    (w_final, snapshots at ``record`` steps).
    """
    with few_threads():
        return _gradient_flow(Xs, w0, steps, lr, v, b, ys, cumulant, record, cp)


def _drift(Xs, w0, v, b, ys, cumulant, cp):
    """The right-hand side of Eq. 5 as a function of w (moments estimated once)."""
    Cs = [torch.einsum("...pd,...pe->...de", X, X) / X.shape[-2] for X in Xs]
    coef = [reduced_coeffs(y, v, b) for y in ys]
    M = len(Xs)
    cp = {k: (torch.as_tensor(g_, dtype=w0.dtype, device=w0.device),
              torch.as_tensor(U, dtype=w0.dtype, device=w0.device))
          for k, (g_, U) in (cp or {}).items()}

    def drift(w):
        dw = torch.zeros_like(w)
        for mu, (X, C, (c2, c4)) in enumerate(zip(Xs, Cs, coef, strict=True)):
            Cw = torch.einsum("...d,...de->...e", w, C)
            q = (w * Cw).sum(-1, keepdim=True)
            dw += (c2 + 3 * c4 * q) * Cw
            if cumulant and mu in cp:
                g_, U = cp[mu]
                dw += c4 * torch.einsum("...a,a,da->...d", (w @ U) ** 3, g_, U)
            elif cumulant:
                dw += c4 * cumulant_w3(X, w, C)
        return dw / M

    return drift


def _gradient_flow(Xs, w0, steps, lr, v, b, ys, cumulant, record, cp):
    w = w0.clone()
    drift = _drift(Xs, w0, v, b, ys, cumulant, cp)
    snaps = []
    rec = set() if record is None else {int(s) for s in record}
    for t in range(steps + 1):
        if t in rec:
            snaps.append(w.clone())
        if t == steps:
            break
        w += lr * drift(w)
    return w, snaps


def gradient_flow_converged(Xs, w0, *, lr=0.01, tol_step=1e-5, tol_ipr=0.01,
                            max_steps=20_000, check_every=100, v=1.0, b=-1.0,
                            ys=(-1.0, 1.0), cumulant=True, cp=None):
    """Euler-integrate Eq. 5 (as :func:`gradient_flow`) until it has converged, or a cap.

    The stopping criterion, checked every ``check_every`` steps from step
    ``5·check_every`` on, must hold for *every* trajectory of the batch w0 (..., D):

    - the relative weight change of the last step, ‖Δw‖/‖w‖, is below ``tol_step``;
    - the IPR changed by less than ``tol_ipr`` (relative, max over the checks) over the
      last 20 % of the run.

    Returns ``(w, info)``: ``info`` holds ``steps`` (steps taken), ``converged`` (False
    when ``max_steps`` was hit first: whatever depends on the flow is then censored),
    ``rel_step`` and ``ipr_change`` per trajectory at the end (numpy, shape w0[..., 0]),
    and the tolerances.
    """
    for name, val in (("max_steps", max_steps), ("check_every", check_every)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {val!r}")
    if not (tol_step > 0 and tol_ipr > 0):
        raise ValueError(f"tolerances must be > 0; got {tol_step!r}, {tol_ipr!r}")
    with few_threads():
        w = w0.clone()
        drift = _drift(Xs, w0, v, b, ys, cumulant, cp)

        def ipr_(w):
            w2 = w * w
            return (w2 * w2).sum(-1) / w2.sum(-1) ** 2

        hist = [(0, ipr_(w))]
        t, converged = 0, False
        rel = torch.full(w.shape[:-1], float("inf"), dtype=w.dtype, device=w.device)
        change = rel.clone()
        while t < max_steps:
            n = min(check_every, max_steps - t)
            for _ in range(n):
                dw = lr * drift(w)
                w += dw
            t += n
            rel = dw.norm(dim=-1) / w.norm(dim=-1)
            now = ipr_(w)
            hist.append((t, now))
            window = [i for s, i in hist if s >= 0.8 * t]
            change = torch.stack([(i - now).abs() / now for i in window]).amax(0)
            if (t >= 5 * check_every and bool((rel < tol_step).all())
                    and bool((change < tol_ipr).all())):
                converged = True
                break
    info = {"steps": t, "converged": converged, "rel_step": rel.cpu().numpy(),
            "ipr_change": change.cpu().numpy(), "tol_step": tol_step, "tol_ipr": tol_ipr,
            "max_steps": max_steps}
    return w, info


def half_width(w):
    """Half-width at half maximum of |w| around its peak (periodic), in sites; (..., D)."""
    a = np.abs(np.asarray(w, dtype=float))
    D = a.shape[-1]
    flat = a.reshape(-1, D)
    out = []
    for r in flat:
        p = int(r.argmax())
        rr = np.roll(r, D // 2 - p)
        half = rr[D // 2] / 2
        left = D // 2
        while left > 0 and rr[left - 1] > half:
            left -= 1
        right = D // 2
        while right < D - 1 and rr[right + 1] > half:
            right += 1
        out.append((right - left + 1) / 2)
    return np.asarray(out).reshape(a.shape[:-1])


# ---------------------------------------------------------------- cumulants and CP
def cumulant_tensor(X):
    """Dense fourth-order cumulant ΔT_ijkl of samples X (P, D) (zero-mean model)."""
    X = np.asarray(X, dtype=float)
    P, D = X.shape
    Y = (X[:, :, None] * X[:, None, :]).reshape(P, D * D)
    T = (Y.T @ Y / P).reshape(D, D, D, D)
    C = X.T @ X / P
    G = (np.einsum("ij,kl->ijkl", C, C) + np.einsum("ik,jl->ijkl", C, C)
         + np.einsum("il,jk->ijkl", C, C))
    return T - G


def cp_tensorly(T, rank, *, n_repeat=3, n_iteration=20, seed=0):
    """Symmetric CP factors of a dense 4-tensor with tensorly (power iteration + deflation).

    Returns (γ (rank,), U (D, rank)) sorted by |γ| decreasing.
    """
    import tensorly as tl
    from tensorly.decomposition import symmetric_parafac_power_iteration

    tl.set_backend("numpy")
    rs = np.random.get_state()
    np.random.seed(seed)
    try:
        g, U = symmetric_parafac_power_iteration(tl.tensor(T), rank, n_repeat=n_repeat,
                                                 n_iteration=n_iteration)
    finally:
        np.random.set_state(rs)
    g = np.asarray(g)
    U = np.asarray(U)
    o = np.argsort(-np.abs(g))
    return g[o], U[:, o]


def implicit_cp_loss(params, X, rank):
    """Loss Eq. A.4 and its gradient Eqs. A.5–A.6, never forming the tensor.

    ``params`` = [γ (rank), U (D·rank, row-major D×rank)]; X (P, D).
    """
    P, D = X.shape
    g = params[:rank]
    U = params[rank:].reshape(D, rank)
    Z = X @ U  # (P, r): x·u_a
    p = (Z**2).mean(0)
    m4 = (Z**4).mean(0)
    G = U.T @ U
    G3, G4 = G**3, G**4
    loss = g @ G4 @ g - 2 * g @ (m4 - 3 * p**2)
    dg = -2 * (m4 - 3 * p**2 - G4 @ g)
    XZ3 = X.T @ Z**3 / P  # (D, r)
    XZ = X.T @ Z / P
    dU = -8 * g[None, :] * (XZ3 - 3 * p[None, :] * XZ - U @ (g[:, None] * G3))
    return loss, np.concatenate([dg, dU.ravel()])


def implicit_cp(X, rank, *, seed=0, maxiter=500, init=None):
    """Rank-``rank`` symmetric CP of the cumulant of X (P, D) by L-BFGS-B on Eq. A.4.

    Returns (γ, U (D, rank) with unit columns, sorted by |γ| decreasing, optimiser result).
    """
    from scipy.optimize import minimize

    X = np.asarray(X, dtype=float)
    P, D = X.shape
    rng = np.random.default_rng(seed)
    U0 = rng.standard_normal((D, rank)) / math.sqrt(D) if init is None else init
    x0 = np.concatenate([np.zeros(rank), U0.ravel()])
    res = minimize(implicit_cp_loss, x0, args=(X, rank), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter})
    g = res.x[:rank]
    U = res.x[rank:].reshape(D, rank)
    n = np.linalg.norm(U, axis=0)
    g = g * n**4
    U = U / n
    o = np.argsort(-np.abs(g))
    return g[o], U[:, o], res


def shift_overlap(a, b):
    """max over circular shifts and sign of |a·roll(b)| / (|a||b|) for 1D vectors (..., D)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    c = np.fft.irfft(np.fft.rfft(a) * np.conj(np.fft.rfft(b)), n=a.shape[-1])
    return np.abs(c).max(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


# ---------------------------------------------------------------- nulls for the comparisons
# Each comparative check of the chapter is made against what a structureless reference gets
# with the same statistic: random RF centres (tiling), random localised profiles of matched
# width (shape overlaps), mismatched correlation lengths (half-widths). The random draws
# come from the generator the caller passes (the notebooks pass ``fl.presets.rng(offset)``).
def circular_gaps(c, D):
    """Gaps between neighbouring points ``c`` (..., n) on a ring of length ``D``, sorted."""
    c = np.sort(np.mod(np.asarray(c, dtype=float), D), axis=-1)
    return np.diff(np.concatenate([c, c[..., :1] + D], axis=-1), axis=-1)


def gap_cv(c, D):
    """Coefficient of variation (s.d. / mean) of the gaps between RF centres on the ring.

    0 for a perfect lattice, ≈ 1 for independent uniform (Poisson) centres: the statistic
    that tells tiling (regular spacing, Fig. 2C) from centres that merely cover the input.
    """
    g = circular_gaps(c, D)
    return g.std(-1) / g.mean(-1)


def uniform_centres_null(n, D, rng, draws=4000):
    """Null of the tiling checks: ``draws`` sets of ``n`` independent uniform centres on a ring
    of ``D`` sites; returns (gap CV, largest gap / D), each of shape (draws,)."""
    if int(n) < 2:
        raise ValueError(f"uniform_centres_null: n must be >= 2 centres, got {n}")
    c = rng.uniform(0.0, D, size=(int(draws), int(n)))
    g = circular_gaps(c, D)
    return g.std(-1) / g.mean(-1), g.max(-1) / D


def mean_gap_cv_null(counts, D, rng, draws=4000):
    """Null of the regularity test over several networks: ``draws`` values of the mean gap
    CV when network i's ``counts[i]`` centres are independent and uniform on the ring.

    The Monte Carlo p-value of a measured mean CV is the fraction of these at or below it.
    """
    counts = [int(n) for n in counts]
    if not counts or min(counts) < 2:
        raise ValueError(f"mean_gap_cv_null: every count must be >= 2; got {counts}")
    return np.mean([uniform_centres_null(n, D, rng, draws)[0] for n in counts], axis=0)


def _support(W):
    """Boolean (n, D): the sites where each 1D field's |w| exceeds half its maximum."""
    a = np.abs(np.asarray(W, dtype=float))
    return a > 0.5 * a.max(-1, keepdims=True)


def field_coverage(W):
    """Fraction of the D sites inside the half-maximum support of at least one field.

    W (n, D): the localised fields of one network. 1 = every input site is seen at half
    strength by some field (the fields cover the input); fields piled on a few positions
    leave most sites uncovered.
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or len(W) < 1:
        raise ValueError(f"W must be (n >= 1, D); got shape {W.shape}")
    return float(_support(W).any(0).mean())


def field_coverage_null(W, rng, draws=1000):
    """Null of :func:`field_coverage`: the same fields, each rolled to a uniformly random
    position (their shapes and widths kept; only the placement is random). (draws,)."""
    S = _support(W)
    n, D = S.shape
    out = np.empty(int(draws))
    idx = np.arange(D)
    for i in range(int(draws)):
        sh = rng.integers(0, D, size=n)
        rolled = S[np.arange(n)[:, None], (idx[None, :] - sh[:, None]) % D]
        out[i] = rolled.any(0).mean()
    return out


def diagonal_fraction(W, band):
    """Fig. 2C's diagonal: share of the fields' energy within ``band`` sites of a straight
    diagonal once the fields are sorted by centre (the paper's sorting).

    W (n, D). Field i of the sorted order should sit at (i + ½)·D/n + o, with the offset o
    (the ring has no origin) the circular mean of the sorted centres' departures from that
    line. Sorting by centre makes the centres monotone by construction, so the statistic is
    what the picture shows: fields localised *and* spread evenly along the input give a
    value near 1; fields piled on a few positions (steps instead of a line), or weights
    that are not localised (energy everywhere: about (2·band + 1)/D), give much less.
    """
    W = np.asarray(W, dtype=float)
    n, D = W.shape
    # centres as freqlearn.nets.committee.rf_centres: circular mean weighted by w²
    cc = (np.angle((W**2 * np.exp(2j * np.pi * np.arange(D) / D)).sum(-1))
          % (2 * np.pi)) * D / (2 * np.pi)
    o_ = np.argsort(cc)
    c, W = cc[o_], W[o_]
    line = (np.arange(n) + 0.5) * D / n
    ang = 2 * np.pi * (c - line) / D
    o = np.angle(np.exp(1j * ang).mean()) * D / (2 * np.pi)
    pos = np.arange(D)[None, :]
    dist = np.abs((pos - (line + o)[:, None] + D / 2) % D - D / 2)
    e = W**2
    return float((e * (dist <= band)).sum() / e.sum())


def random_bumps(rng, n, length, hw):
    """``n`` random localised profiles of ``length`` sites (n, length): white noise under a
    Gaussian envelope whose half-width at half maximum is ``hw`` sites (centred).

    The null of the shape overlaps: a profile as localised as the reference but with no
    particular shape inside its support.
    """
    if hw <= 0:
        raise ValueError(f"random_bumps: hw must be a positive half-width in sites, got {hw}")
    x = np.arange(length) - length // 2
    s = hw / math.sqrt(2 * math.log(2))
    return rng.standard_normal((int(n), int(length))) * np.exp(-0.5 * (x / s) ** 2)


def bump_overlap_null(ref, lengths, hw, rng, *, draws=200, overlap=None, best_of=1):
    """Null of a shape-overlap statistic: the overlap of ``ref`` with random localised bumps.

    For each of ``draws`` repetitions, every entry of ``lengths`` (one per compared profile,
    e.g. one per CNN channel and kernel size) is replaced by the best of ``best_of`` random
    bumps of that length and half-width ``hw`` (:func:`random_bumps`), and the overlaps are
    averaged, exactly as the measured statistic averages over the real profiles. ``overlap``
    (default :func:`shift_overlap` on zero-padded profiles) is the statistic. Returns an
    array (draws,).
    """
    if overlap is None:
        overlap = padded_shift_overlap
    out = np.empty(int(draws))
    for i in range(int(draws)):
        vals = [max(overlap(ref, b) for b in random_bumps(rng, best_of, n, hw)) for n in lengths]
        out[i] = np.mean(vals)
    return out


def padded_shift_overlap(a, b):
    """:func:`shift_overlap` of two centred 1D profiles, the shorter one zero-padded.

    Max over shifts and sign of the normalised correlation (Fig. 2C/4C shape comparisons).
    """
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    n = max(a.size, b.size)
    A = np.zeros(n)
    B = np.zeros(n)
    A[(n - a.size) // 2:(n - a.size) // 2 + a.size] = a
    B[(n - b.size) // 2:(n - b.size) // 2 + b.size] = b
    return float(shift_overlap(A, B))


def silhouette(d, labels):
    """Mean silhouette (b − a) / max(a, b) of a clustering, from a distance matrix ``d`` (n, n).

    a = mean distance to the own cluster, b = to the other cluster (two clusters); 1 = tight,
    well separated clusters, ≈ 0 = no cluster structure.
    """
    d = np.asarray(d, dtype=float)
    lab = np.asarray(labels)
    s = np.zeros(len(lab))
    for i in range(len(lab)):
        own = lab == lab[i]
        own[i] = False
        other = lab != lab[i]
        if own.sum() == 0 or other.sum() == 0:
            continue
        a, b = d[i, own].mean(), d[i, other].mean()
        s[i] = (b - a) / max(a, b)
    return float(s.mean())


def cluster_ipr_ratio(ipr_values, labels):
    """Mean IPR of cluster 1 over cluster 0 (``cluster_two`` puts the higher-IPR one at 1)."""
    r = np.asarray(ipr_values, dtype=float)
    lab = np.asarray(labels)
    if lab.min() == lab.max():
        return 1.0
    return float(r[lab == 1].mean() / r[lab == 0].mean())


def width_match(hw, hw_ref):
    """Mean relative difference |hw − hw_ref| / hw_ref over the points (Fig. 4D: do the
    weights' half-widths follow the leading CP factor's?)."""
    hw = np.asarray(hw, dtype=float)
    hw_ref = np.asarray(hw_ref, dtype=float)
    return float(np.mean(np.abs(hw - hw_ref) / hw_ref))


def width_match_null(hw, hw_ref):
    """Null of :func:`width_match`: its mean over every mismatched assignment of the reference
    widths to the points (all non-identity permutations; exact, no sampling)."""
    from itertools import permutations

    hw_ref = np.asarray(hw_ref, dtype=float)
    n = len(hw_ref)
    vals = [width_match(hw, hw_ref[list(p)]) for p in permutations(range(n))
            if list(p) != list(range(n))]
    return np.asarray(vals)


# ---------------------------------------------------------------- Fig. S3: drift and jumps
def rf_track(W):
    """Centre and sign of a 1D field over time: W (T, ..., D) → (c, s), each (T, ...).

    The centre is the circular mean of the position weighted by w² (as
    :func:`freqlearn.nets.committee.rf_centres`); the sign is that of w at its largest |w|.
    """
    W = np.asarray(W, dtype=float)
    if W.ndim < 2:
        raise ValueError(f"W must be (T, ..., D) with T records; got shape {W.shape}")
    D = W.shape[-1]
    ang = np.exp(2j * np.pi * np.arange(D) / D)
    c = (np.angle((W**2 * ang).sum(-1)) % (2 * np.pi)) * D / (2 * np.pi)
    pk = np.abs(W).argmax(-1)
    s = np.sign(np.take_along_axis(W, pk[..., None], -1)[..., 0])
    return c, s


def rf_jumps(W, threshold):
    """Per-record displacement and jumps of a 1D field (Fig. S3): W (T, ..., D).

    Returns ``(dc, jump)``, each (T − 1, ...): ``dc`` the circular displacement |Δc| of the
    centre between consecutive records (sites), ``jump`` true where ``dc > threshold`` or
    the field's sign flips (w → −w, the other symmetry of the data). A record that is
    not finite counts as neither (``dc`` nan, ``jump`` false).
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number of sites; got {threshold!r}")
    W = np.asarray(W, dtype=float)
    D = W.shape[-1]
    c, s = rf_track(W)
    dc = np.abs((np.diff(c, axis=0) + D / 2) % D - D / 2)
    ok = np.isfinite(W).all(-1)
    ok = ok[1:] & ok[:-1]
    dc = np.where(ok, dc, np.nan)
    jump = ok & ((dc > threshold) | (s[1:] != s[:-1]))
    return dc, jump


def jump_contrast(x, jump):
    """Mean |Δx| at the jump records over mean |Δx| at the others (drift records).

    ``x`` (T,) a recorded scalar (readout v or bias b), ``jump`` (T − 1,) booleans from
    :func:`rf_jumps`. nan when there is no jump or no drift record.
    """
    x = np.asarray(x, dtype=float)
    jump = np.asarray(jump, dtype=bool)
    if x.ndim != 1 or jump.shape != (x.size - 1,):
        raise ValueError(f"x must be (T,) and jump (T - 1,); got {x.shape} and {jump.shape}")
    dx = np.abs(np.diff(x))
    if not jump.any() or jump.all():
        return float("nan")
    return float(dx[jump].mean() / dx[~jump].mean())


def jump_contrast_null(x, jump, rng, draws=200):
    """Null of :func:`jump_contrast`: the same number of 'jumps' placed at random records
    (``draws`` placements; returns their values). If v or b moved independently of the
    field's jumps the contrast would be about 1."""
    jump = np.asarray(jump, dtype=bool)
    n = int(jump.sum())
    out = []
    for _ in range(draws):
        fake = np.zeros_like(jump)
        fake[rng.choice(jump.size, n, replace=False)] = True
        out.append(jump_contrast(x, fake))
    return np.asarray(out)


def perm_corrs(x, y):
    """Pearson correlations of y with every ordering of x (all n! permutations; n = 3..8):
    the chance distribution of a correlation over a few grid points (for ranks, pass
    ranks). The identity ordering is included."""
    from itertools import permutations

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or not 3 <= x.size <= 8:
        raise ValueError(f"x and y must be 1D of equal length 3..8; got {x.shape}, {y.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.array([np.corrcoef(x[list(p)], y)[0, 1] for p in permutations(range(x.size))])


def perm_corr_tail(x, y):
    """Exact permutation probability that the correlation of y with a shuffled x is at least
    the observed one (:func:`perm_corrs`). With 4 points the smallest possible value is
    1/24 ≈ 0.042, with 5 points 1/120 (ties in y, e.g. quantised half-widths, raise it)."""
    rs = perm_corrs(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        r0 = np.corrcoef(np.asarray(x, dtype=float), np.asarray(y, dtype=float))[0, 1]
    return float(np.mean(rs >= r0 - 1e-12))

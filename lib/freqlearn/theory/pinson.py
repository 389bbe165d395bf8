"""Theory of Pinson, Lenaerts & Ginis (2023): linear CNNs and dominant frequencies.

- :func:`svd_yx` — Σyx = ⟨y xᵀ⟩ (Eq. 1), its SVD (Eq. 2) and Σxx in the V basis (Eq. 3).
- :func:`effective_A` — A = Uᵀ Σŷx V from predictions (Eq. 5 / S.59).
- :func:`sigmoid` — aα(t) of Eq. 22 / S.165 with dα; :func:`d_alpha` (S.157).
- :func:`time_of_updates` — the map from numbers of updates to the ODE time t (below).
- :func:`swta_ode` — the soft winner-takes-all system Eqs. 23–24, integrated numerically.
- :func:`minimal_norm_report` — the minimal-norm conditions S.73 and S.77 on a trained net.
- :func:`wta_minimal_norm`, :func:`wta_excess_exponent` — the actual minimal norm (hard
  winner-takes-all) and how fast a trained net approaches it as the initial scale σ → 0.

**Updates → ODE time.** The ODEs (S.45–S.46) are written for the loss ½Σ_l(y_l−ŷ_l)² with
the sample average ⟨·⟩ over the dataset. One update with a class drawn uniformly at random
has expectation ``λ·(gradient of the averaged loss)`` because Σyx, Σŷx are averages over the
equally likely classes: the random draw contributes *no* factor. The paper's implementation
uses Keras' mean squared error, (1/p)Σ_l(y_l−ŷ_l)², whose gradient is 2/p times that of
½Σ_l. Hence N updates advance the ODE by ``t = 2N/p`` (``loss="keras"``, the default), or
``t = N/p`` for a loss (1/2p)Σ_l, or ``t = N`` for ½Σ_l. The class-averaged update (all
classes at once, averaged) has the same expectation and so the same map.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import fourier

__all__ = ["svd_yx", "effective_A", "sigmoid", "d_alpha", "time_of_updates",
           "half_time", "half_time_censored", "later_fraction", "Later", "censoring_note",
           "balanced_mode_gd",
           "swta_ode", "growing_mode_init", "qvec",
           "minimal_norm_report", "wta_minimal_norm", "wta_excess_exponent", "LOSS_FACTORS",
           "mode_pair_shares",
           "lowest_frequencies", "top_share",
           "kernel_frequency_report", "overfit_rise", "half_time_ratio"]

#: factor multiplying the gradient of ½Σ_l(y_l−ŷ_l)² for each loss convention (p classes)
LOSS_FACTORS = {"keras": lambda p: 2.0 / p, "half_mean": lambda p: 1.0 / p,
                "half_sum": lambda p: 1.0}


def time_of_updates(N, p: int, loss: str = "keras"):
    """ODE time t after N single-sample (or class-averaged) updates: t = factor(p)·N."""
    return LOSS_FACTORS[loss](p) * np.asarray(N, dtype=float)


def svd_yx(X, Y):
    """SVD of Σyx = ⟨y xᵀ⟩ over the samples ``X`` (N, ...) with labels ``Y`` (N, p).

    Returns dict with ``Syx`` (p, D), ``U`` (p, p), ``s`` (p,), ``V`` (D, p) (the singular
    vectors φα as columns), ``Sxx`` (p,) = diag(Vᵀ Σxx V) and ``Sxx_full`` = Vᵀ Σxx V.
    Sign convention: each φα has a non-negative sum where that sum is not ~0, else a
    non-negative first large entry (so repeated runs agree).
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    Y = np.asarray(Y, dtype=np.float64)
    N = len(X)
    Syx = Y.T @ X / N
    U, s, Vt = np.linalg.svd(Syx, full_matrices=False)
    for a in range(len(s)):
        v = Vt[a]
        ref = v.sum() if abs(v.sum()) > 1e-8 * np.abs(v).sum() else v[np.argmax(np.abs(v) > 1e-6)]
        if ref < 0:
            U[:, a] *= -1
            Vt[a] *= -1
    V = Vt.T
    XV = X @ V
    Sxx_full = XV.T @ XV / N
    return {"Syx": Syx, "U": U, "s": s, "V": V, "Sxx": np.diag(Sxx_full).copy(),
            "Sxx_full": Sxx_full}


def effective_A(Yhat, X, U, V):
    """A = Uᵀ Σŷx V (Eq. 5) from predictions ``Yhat`` (..., N, p) on samples ``X`` (N, ...)."""
    X = np.asarray(X, dtype=np.float64).reshape(np.shape(X)[0], -1)
    Yhat = np.asarray(Yhat, dtype=np.float64)
    Syhx = np.swapaxes(Yhat, -1, -2) @ X / X.shape[0]
    return U.T @ Syhx @ V


def d_alpha(V, n: int, channels: int = 1):
    """dα = max_j |(Qφα)_j| (S.157: 1 for the constant image, 1/√2 for a pure cosine)."""
    V = np.asarray(V)
    out = []
    for a in range(V.shape[1]):
        phi = V[:, a].reshape(channels, n, n)
        out.append(np.abs(np.fft.fft2(phi) / n).max())
    return np.array(out)


def sigmoid(t, s, d, lam, n, a0):
    """Eq. 22 / S.165: aα(t) = sα e^{2nλdαsαt} / (e^{2nλdαsαt} − 1 + sα/aα(0)).

    Broadcasts; for the FCNN use ``n·d → 1`` with its own λ (i.e. ``d = 1/n``). Computed in a
    form that does not overflow.
    """
    t, s, d, a0 = (np.asarray(v, dtype=float) for v in (t, s, d, a0))
    r = 2.0 * n * lam * d * s
    e = np.exp(-np.clip(r * t, None, 700))
    return s / (1.0 - e + (s / a0) * e)


def balanced_mode_gd(steps, s, d, lam, n, a0, dt=0.5):
    """Discrete gradient descent of one aligned, balanced mode (the Euler map of S.163).

    With (W̄Q⁻¹)_{α,j} = conj((Qk)_j)e^{−iψ} kept balanced, r = |(Qk)_j| obeys
    r ← r(1 + nλdα(sα − aα)·dt) with aα ∝ r², i.e. aα ← aα(1 + nλdα(sα − aα)dt)²; ``dt`` is the
    ODE time per update (2/p for Keras' loss, 0.5 for the four pure cosines). Returns
    aα after 0..steps updates.
    """
    a = np.empty(int(steps) + 1)
    a[0] = a0
    for k in range(int(steps)):
        a[k + 1] = a[k] * (1 + n * lam * d * (s - a[k]) * dt) ** 2
    return a


def half_time(t, a, s):
    """First time at which ``a`` (..., T) reaches s/2 (linear interpolation); NaN if never."""
    a = np.asarray(a, dtype=float)
    s = np.broadcast_to(np.asarray(s, dtype=float)[..., None], a.shape)
    out = np.full(a.shape[:-1], np.nan)
    for idx in np.ndindex(a.shape[:-1]):
        y = a[idx] - s[idx] / 2
        k = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))
        if k.size:
            i = k[0]
            out[idx] = t[i] + (t[i + 1] - t[i]) * (-y[i]) / (y[i + 1] - y[i])
    return out


def half_time_censored(t, a, s):
    """:func:`half_time` with never-reached half-times censored at the budget ``t[-1]``.

    Returns ``(times, censored)``: ``times`` is finite everywhere (a censored entry holds
    ``t[-1]``, a *lower bound* on its half-time) and ``censored`` marks those entries. A
    time never reached is never "later", "earlier", "faster" or "slower": a comparison that
    uses a censored entry is undecidable (:func:`later_fraction`, :func:`censoring_note`).
    """
    h = half_time(t, a, s)
    cens = ~np.isfinite(h)
    return np.where(cens, float(np.asarray(t)[-1]), h), cens


def censoring_note(times, what: str, budget: float, unit: str = "updates") -> str | None:
    """The ``censored=`` text of a claim whose comparison uses the times ``times`` (NaN or
    inf: never reached within ``budget``), or None when every one was reached. ``what``
    names the time ("the CNN's a2 half-time")."""
    h = np.asarray(times, dtype=float)
    k = int((~np.isfinite(h)).sum())
    if not k:
        return None
    return f"{what} never reached within {budget:g} {unit} in {k} of {h.size}"


class Later(NamedTuple):
    """How often one mode reaches s/2 *after* another, over trial pairs (:func:`later_fraction`).

    A mode never reached within the run (censored at the budget) is never "later" and never
    "earlier": a pair in which either half-time is censored is *undecidable*. ``fraction``
    counts only decided "later" pairs over all pairs (an undecidable pair never counts as
    later), ``upper`` is what it would be were every undecidable pair later: the true
    fraction lies in [fraction, upper]. Always finite.
    """

    fraction: float       #: decided "later" pairs / all pairs (a lower bound)
    upper: float          #: (decided "later" + undecidable pairs) / all pairs
    pairs: int            #: all trial pairs (i, j)
    decidable: int        #: pairs with both half-times reached
    censored_late: int    #: trials whose late mode never reached s/2
    censored_early: int   #: trials whose early mode never reached s/2
    budget: float         #: the run's length t[-1], where the censored times stop
    trials_late: int = 0  #: trials of the late mode
    trials_early: int = 0  #: trials of the early mode

    @property
    def decided(self) -> float:
        """The fraction among decidable pairs alone; NaN when no pair is decidable."""
        n = self.decidable
        return self.fraction * self.pairs / n if n else float("nan")

    @property
    def involves_censoring(self) -> bool:
        """Whether any half-time this comparison uses was never reached."""
        return bool(self.censored_late or self.censored_early)

    def censoring(self, expected: float, late: str = "the late mode",
                  early: str = "the early mode", unit: str = "") -> str | None:
        """What was never reached, as the ``censored=`` text of a claim "fraction ≥
        ``expected``", or None when nothing was censored or the check is settled whatever
        the undecidable pairs are (the decided pairs alone meet the bar, or even all of
        them counted as later stay below it)."""
        if not self.involves_censoring:
            return None
        if self.fraction >= expected or self.upper < expected:
            return None
        unit = f" {unit}" if unit else ""
        parts = [f"{name} never reached s/2 within {self.budget:g}{unit} in {k} of {n} trials"
                 for name, k, n in ((late, self.censored_late, self.trials_late),
                                    (early, self.censored_early, self.trials_early)) if k]
        return (f"{'; '.join(parts)}: {self.pairs - self.decidable} of {self.pairs} trial "
                f"pairs undecidable, so the fraction lies in [{self.fraction:.2f}, "
                f"{self.upper:.2f}], across the bar {expected:g}")


def later_fraction(t, a_late, a_early, s) -> Later:
    """How often mode ``a_late[i]`` reaches s/2 *strictly later* than ``a_early[j]``, over all
    trial pairs (i, j), with censoring kept visible (:class:`Later`).

    ``a_late``, ``a_early``: (T, K) curves of one mode. A pair is decided when both
    half-times were reached (:func:`half_time_censored`); a mode never reached is never
    "later", so an undecidable pair never counts as later in ``fraction`` (``upper`` counts
    it as later). Never NaN.
    """
    hl, cl = half_time_censored(t, a_late, s)
    he, ce = half_time_censored(t, a_early, s)
    dec = (~cl[:, None]) & (~ce[None, :])
    later = dec & (hl[:, None] > he[None, :])
    pairs = int(dec.size)
    undec = pairs - int(dec.sum())
    return Later(fraction=float(later.sum() / pairs), upper=float((later.sum() + undec) / pairs),
                 pairs=pairs, decidable=int(dec.sum()), censored_late=int(cl.sum()),
                 censored_early=int(ce.sum()), budget=float(np.asarray(t)[-1]),
                 trials_late=int(cl.size), trials_early=int(ce.size))


def growing_mode_init(kappa, omega, phi):
    """Effective initial |(Qk)_j|² of the sWTA system from a random (unbalanced) init.

    Near zero, a pair (κ = (Qk)_j, ω = (W̄Q⁻¹)_{α,j}) evolves as dκ/dt ∝ ω̄ φ̄,
    dω/dt ∝ κ̄ φ̄ with φ = (Qφα)_j = |φ|e^{iψ}; the combination g = κe^{iψ/2} + ω̄e^{−iψ/2}
    grows, the other decays, so after alignment |κ|² ≈ |g|²/4 with
    |g(0)|² = |κ + ω̄ e^{−iψ}|². Returns |g(0)|²/4.
    """
    psi = np.angle(phi)
    return np.abs(kappa + np.conj(omega) * np.exp(-1j * psi)) ** 2 / 4


def swta_ode(t, u0, phi_abs, mode_of, s, Sxx, lam, n):
    """Integrate Eqs. 23–24 for u_j = |(Qk)_j|² over the frequencies j of all modes.

    ``u0`` (T, J) initial values (T trials), ``phi_abs`` (J,) = |(Qφα)_j|, ``mode_of`` (J,)
    the mode α of each j (j and j_symm both listed), ``s``/``Sxx`` (p,). Returns
    ``u`` (T, J, len(t)) and ``a`` (T, p, len(t)) with aα = nΣxx_αα Σ_{j∈σα} u_j|(Qφα)_j|.
    Integrated in log u (u > 0) with scipy's LSODA.
    """
    from scipy.integrate import solve_ivp

    u0 = np.atleast_2d(np.asarray(u0, dtype=float))
    T, J = u0.shape
    phi_abs = np.asarray(phi_abs, float)
    mode_of = np.asarray(mode_of, int)
    p = len(s)
    onehot = np.zeros((J, p))
    onehot[np.arange(J), mode_of] = 1.0
    s = np.asarray(s, float)
    Sxx = np.asarray(Sxx, float)

    def a_of(u):  # u (T, J)
        return n * Sxx * ((u * phi_abs) @ onehot)

    def rhs(_, y):
        u = np.exp(y.reshape(T, J))
        a = a_of(u)
        return (2 * n * lam * phi_abs * (s - a)[:, mode_of]).ravel()

    sol = solve_ivp(rhs, (t[0], t[-1]), np.log(u0).ravel(), t_eval=t, method="LSODA",
                    rtol=1e-8, atol=1e-10)
    if not sol.success:
        raise RuntimeError(sol.message)
    u = np.exp(sol.y.reshape(T, J, -1))
    a = np.einsum("tjk,j,jp->tpk", u, phi_abs, onehot) * (n * Sxx)[None, :, None]
    return u, a


def qvec(x, n: int):
    """Q x through the FFT: ``vec(F2D(X))/n`` for x of shape (..., n²) or (..., n, n)."""
    x = np.asarray(x)
    X = x.reshape(*x.shape[:-1], n, n) if x.shape[-1] == n * n and x.ndim >= 1 and (
        x.ndim == 1 or x.shape[-2] != n) else x
    return fourier.vec(np.fft.fft2(X) / n)


def minimal_norm_report(k, W, U, V, s, Sxx, n, *, rel_support: float = 1e-6):
    """Check S.73 and S.77 for one trained two-layer linear CNN (single channel).

    ``k`` (n, n) kernel, ``W`` (p, n²). For each mode α the support σα_symm is the set of
    frequencies where |(Qφα)_j| > rel_support·max. Returns a dict with
    - ``s73_rel``: (p,) |n Σ_j |Qφα_j||Qk_j|² Σxx_αα − sα| / sα,
    - ``balance_rel``: max over supported j of ||(W̄Q⁻¹)_{α,j}| − |Qk_j|| / max_j|Qk_j|
      (S.74–S.75: the FC row is balanced with the kernel),
    - ``phase_err``: max over supported j (weighted to where |Qk_j| is non-negligible) of
      the wrapped |δk_j + δw_j + δφ_j| (S.77), with δw_j the phase of (W̄Q⁻¹)_{α,j} — the
      coefficient multiplying (Qk)_j in the prediction (our convention; see the notebook).
    """
    kap = qvec(k, n)
    Wb = U.T @ W
    Om = np.conj(qvec(Wb, n))  # (W̄ Q⁻¹)_{α,j} = conj((Q w̄_α)_j): Q symmetric, Q⁻¹ = Q*
    p = len(s)
    s73 = np.zeros(p)
    bal = np.zeros(p)
    ph = np.zeros(p)
    for a in range(p):
        phi = qvec(V[:, a], n)
        sup = np.abs(phi) > rel_support * np.abs(phi).max()
        s73[a] = abs(n * np.sum(np.abs(phi[sup]) * np.abs(kap[sup]) ** 2) * Sxx[a] - s[a]) / s[a]
        bal[a] = np.max(np.abs(np.abs(Om[a, sup]) - np.abs(kap[sup]))) / np.abs(kap).max()
        big = sup & (np.abs(kap) > 1e-2 * np.abs(kap).max())
        if big.any():
            d = np.angle(kap[big]) + np.angle(Om[a, big]) + np.angle(phi[big])
            ph[a] = np.max(np.abs(np.angle(np.exp(1j * d))))
    return {"s73_rel": s73, "balance_rel": bal, "phase_err": ph}


def _support_abs(phi, rel_support):
    a = np.abs(np.asarray(phi))
    if a.ndim != 1 or not a.size or not np.all(np.isfinite(a)) or a.max() == 0:
        raise ValueError(f"each Qφα must be a finite, non-zero vector; got shape {a.shape}")
    return a[a > rel_support * a.max()]


def wta_minimal_norm(phis, s, Sxx, n: int, *, rel_support: float = 1e-6) -> float:
    """The smallest ``‖k‖² + ‖W‖²`` of a two-layer linear CNN that fits A = diag(s) (SI F).

    With κ_j = (Qk)_j and ω_αj = (W̄Q⁻¹)_αj, the norm is Σ_j |κ_j|² + Σ_αj |ω_αj|² ≥
    Σ_αj 2|κ_j ω_αj| (AM–GM, equality when balanced, S.74–S.75), and fitting needs
    s_α = n Σxx_αα |Σ_j ω_αj κ_j (Qφ_α)_j| ≤ n Σxx_αα max_j|(Qφ_α)_j| Σ_j |κ_j ω_αj|. So

        ‖k‖² + ‖W‖² ≥ 2 Σ_α s_α / (n Σxx_αα max_j |(Qφ_α)_j|),

    reached only by the *hard* winner-takes-all net that puts all of mode α on its dominant
    pair. S.73–S.77 hold for any converged, balanced, phase-aligned net (also one that
    spreads a mode over several frequencies): they are necessary for the minimum, not
    sufficient — the "if and only if" of SI F holds only with this winner-takes-all.
    ``phis``: (p, n²) the Qφ_α; ``s``, ``Sxx``: (p,).
    """
    phis = np.asarray(phis)
    s, Sxx = np.asarray(s, float), np.asarray(Sxx, float)
    if phis.ndim != 2 or len(s) != len(phis) or len(Sxx) != len(phis):
        raise ValueError(f"phis must be (p, n²) with s and Sxx of length p; got {phis.shape}, "
                         f"{s.shape}, {Sxx.shape}")
    return float(sum(2 * s[a] / (n * Sxx[a] * _support_abs(phis[a], rel_support).max())
                     for a in range(len(s))))


def mode_pair_shares(u, js, mode_of, phi_j, n: int) -> dict:
    """Per trial and mode: the share of the mode's kernel energy on its dominant ± pair and
    on its lowest-frequency ± pair, and whether the largest coefficient is the dominant one.

    ``u``: (T, J) final |(Qk)_j|² on the support ``js`` (vec-2D indices), ``mode_of``: (J,)
    the mode of each, ``phi_j``: (J,) (Qφ_mode)_j. Frequencies are compared by their signed
    radius |k| on the torus. Returns ``dominant``, ``lowest`` (T, p) shares and
    ``winner_is_dominant`` (T, p) booleans.
    """
    u = np.asarray(u, float)
    js, mode_of = np.asarray(js), np.asarray(mode_of)
    if u.ndim != 2 or u.shape[1] != len(js) or len(mode_of) != len(js) or len(phi_j) != len(js):
        raise ValueError(f"u must be (T, J) with js, mode_of, phi_j of length J; got u "
                         f"{u.shape}, J = {len(js)}, {len(mode_of)}, {len(phi_j)}")
    mu, nu = js // n, js % n
    radius = np.hypot(np.where(mu > n // 2, mu - n, mu), np.where(nu > n // 2, nu - n, nu))
    absphi = np.abs(np.asarray(phi_j))
    p = int(mode_of.max()) + 1
    dom, low = np.zeros((len(u), p)), np.zeros((len(u), p))
    win = np.zeros((len(u), p), bool)
    for a in range(p):
        sel = mode_of == a
        tot = u[:, sel].sum(1)
        on_dom = sel & np.isclose(absphi, absphi[sel].max(), rtol=1e-9)
        on_low = sel & np.isclose(radius, radius[sel].min())
        dom[:, a] = u[:, on_dom].sum(1) / tot
        low[:, a] = u[:, on_low].sum(1) / tot
        win[:, a] = on_dom[np.flatnonzero(sel)[np.argmax(u[:, sel], axis=1)]]
    return {"dominant": dom, "lowest": low, "winner_is_dominant": win}


def wta_excess_exponent(phis, *, rel_support: float = 1e-6) -> float:
    """How the norm excess of a trained net over :func:`wta_minimal_norm` falls with σ.

    From an initial scale σ the sWTA system (Eq. 23) grows u_j ∝ σ² e^{c|Qφ_j|t}; when the
    winner saturates, a loser with r = |Qφ_l|/|Qφ_w| is left at u_l/u_w ∝ (σ²)^{1−r}, and its
    share of the norm excess is ∝ (1 − r)·u_l. The excess therefore falls as σ^{2(1−r₂)}
    for the runner-up r₂ that is closest to its winner (largest r₂ over the modes) — until
    σ² itself (the frozen initial weights outside the data's span) dominates at large σ.
    """
    phis = np.asarray(phis)
    if phis.ndim != 2:
        raise ValueError(f"phis must be (p, n²); got shape {phis.shape}")
    r2 = []
    for phi in phis:
        v = np.unique(np.round(_support_abs(phi, rel_support), 12))[::-1]
        if len(v) > 1:
            r2.append(v[1] / v[0])
    if not r2:
        raise ValueError("no mode has a runner-up frequency: a single-frequency mode is "
                         "already winner-takes-all")
    return float(2 * (1 - max(r2)))


# --------------------------------------------------------------- nulls of the P4/P5 checks
def lowest_frequencies(n: int, k: int):
    """Flat indices (row-major, like :func:`qvec`) of the ``k`` lowest DFT frequencies.

    Frequencies are ordered by the radius √(μ'² + ν'²) of the signed pair (μ', ν'), μ' =
    μ or μ − n (ties: by flat index). This is the support of a *low-pass kernel* that keeps
    its k lowest frequencies: the null of the "dominant, not necessarily low" frequency
    claims of Pinson et al. (Sec. 4, Fig. 5g–i, S.5).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int; got {n!r}")
    if not 0 < k <= n * n:
        raise ValueError(f"k must be in 1..n² = {n * n}; got {k!r}")
    f = np.fft.fftfreq(n) * n
    r2 = (f[:, None] ** 2 + f[None, :] ** 2).ravel()
    return np.argsort(r2, kind="stable")[:k]


def top_share(power, k: int):
    """Share of the total of ``power`` (…, n, n) or (…, n²) held by its ``k`` largest entries."""
    p = np.asarray(power, dtype=float)
    p = p.reshape(*p.shape[:-2], -1) if p.ndim >= 2 and p.shape[-1] == p.shape[-2] else p
    srt = -np.sort(-p, axis=-1)
    return srt[..., :k].sum(-1) / p.sum(-1)


def kernel_frequency_report(spec_final, spec_init, phis, *, k: int = 16, frac: float = 0.05):
    """Sparsity and dominant-frequency overlap of trained kernels, with their nulls (P5).

    ``spec_final``, ``spec_init``: |(Qk)_j|² per trial, (T, n, n), after and before training;
    ``phis``: |(Qφα)_j| (p, n²). The dominant set is the ``frac`` most dominant frequencies
    of max_α |Qφα|. Returns per-trial arrays (T,) ``share`` (top-k share of |Qk|²),
    ``share_init`` (the same for the random initial kernel: the random-kernel null),
    ``overlap`` (fraction of each trial's top-k frequencies in the dominant set), and the
    scalars ``share_phi`` (the φα's own top-k share of |Qφα|², mean over α) and
    ``overlap_lowpass`` (the overlap of a low-pass kernel keeping its k lowest frequencies).
    """
    sf = np.asarray(spec_final, dtype=float)
    si = np.asarray(spec_init, dtype=float)
    phis = np.asarray(phis, dtype=float)
    if sf.ndim != 3 or sf.shape != si.shape or sf.shape[1] != sf.shape[2]:
        raise ValueError("spec_final and spec_init must both have shape (T, n, n); got "
                         f"{sf.shape} and {si.shape}")
    T, n, _ = sf.shape
    if phis.ndim != 2 or phis.shape[1] != n * n:
        raise ValueError(f"phis must have shape (p, n²) = (p, {n * n}); got {phis.shape}")
    dom = np.argsort(phis.max(0))[::-1][: max(1, int(frac * n * n))]
    top = np.argsort(sf.reshape(T, -1), axis=1)[:, ::-1][:, :k]
    return {"share": top_share(sf, k), "share_init": top_share(si, k),
            "share_phi": float(np.mean(top_share(phis ** 2, k))),
            "overlap": np.isin(top, dom).mean(1),
            "overlap_lowpass": float(np.isin(lowest_frequencies(n, k), dom).mean())}


def overfit_rise(test, frac: float = 0.25):
    """Relative rise of a test-loss curve after its minimum, per trial (P6, Fig. 5d).

    ``test`` (K, T): K recorded evaluations of T trials. The rise is (mean of the last
    ``frac`` of the evaluations) / (the trial's minimum) − 1: averaging the end of the run
    keeps single noisy evaluations of single-sample SGD from deciding it. Returns (T,).
    """
    h = np.asarray(test, dtype=float)
    if h.ndim != 2 or h.shape[0] < 4:
        raise ValueError(f"test must have shape (K ≥ 4 evaluations, T trials); got {h.shape}")
    if not 0 < frac <= 1:
        raise ValueError(f"frac must be in (0, 1]; got {frac!r}")
    q = max(1, int(round(frac * h.shape[0])))
    return h[-q:].mean(0) / h.min(0) - 1.0


def half_time_ratio(t, a_num, a_den, s, groups: int, at_budget: bool = False):
    """Ratio of half-times of *trial-mean* curves, in ``groups`` disjoint groups of trials.

    ``a_num``, ``a_den`` (T, p, K): aα of T trials (e.g. CNN and FCNN); T must divide into
    ``groups`` equal groups. Each group's curves are averaged over its trials (as the paper's
    figures average over trials) before the half-time is taken, so one slow trial does not
    make the ratio undefined. Returns (groups, p): independent replicates for a
    :class:`freqlearn.claims.Stat`; NaN where a group's curve never reaches s/2, or with
    ``at_budget`` that half-time taken at the budget ``t[-1]`` (finite, but a time never
    reached is no time: a claim on such a ratio is censored, :func:`censoring_note`).
    """
    a_num, a_den = np.asarray(a_num, dtype=float), np.asarray(a_den, dtype=float)
    if a_num.shape != a_den.shape or a_num.ndim != 3:
        raise ValueError(f"a_num and a_den must both have shape (T, p, K); got {a_num.shape} "
                         f"and {a_den.shape}")
    T = a_num.shape[0]
    if groups < 1 or T % groups:
        raise ValueError(f"groups must divide the number of trials T = {T}; got {groups!r}")

    def mean_curves(a):
        return a.reshape(groups, T // groups, *a.shape[1:]).mean(1)

    s = np.asarray(s, dtype=float)[None]
    ht = half_time_censored if at_budget else half_time

    def h(a):
        out = ht(t, mean_curves(a), s)
        return out[0] if at_budget else out

    return h(a_num) / h(a_den)

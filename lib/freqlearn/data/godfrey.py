"""Synthetic data for Godfrey et al. (2022), catalog G2: diagonal Fourier covariance.

A *stationary* Gaussian image ``x = IDFT(√τ ⊙ ξ)`` with ``ξ`` Hermitian complex white noise
has a population Fourier covariance that is exactly diagonal, ``E[x̂ x̂*] = diag(τ)`` —
the assumption (Eq. 4.17) under which Theorem 4.9's closed forms (Eqs. 4.18, A.7) hold. We
draw ``ξ = DFT_ortho(z)`` with ``z`` real white noise: ``ξ`` is then Hermitian
(``ξ_{-k} = conj ξ_k``) with ``E|ξ_k|² = 1``, and ``x`` is real when ``τ`` is symmetric.

``power_law_tau`` gives the separable power law of §4 (Eq. 4.20), ``τ_cij = γ_c /
(δ + |i|^α + |j|^β)``; the paper's form has ``δ = 0`` and an infinite DC variance, we add
``δ = 1`` (a finite DC) by default. ``planted_teacher`` draws a real linear teacher
``w*`` (``K×C×H×W``) and its labels ``y = ⟨w*, x⟩ + σ·noise = Σ conj(v̂*) x̂ + σ·noise``
(Parseval).
"""

from __future__ import annotations

import numpy as np
import torch

from . import _checks as chk

__all__ = ["power_law_tau", "stationary_gaussian", "planted_teacher"]


def power_law_tau(shape, *, alpha: float = 2.0, beta: float | None = None, gamma=1.0,
                  delta: float = 1.0) -> np.ndarray:
    """Variances ``τ_cij = γ_c / (δ + |i|^α + |j|^β)`` on signed frequencies, FFT layout.

    ``shape`` = ``(C, H, W)``; ``gamma`` a number or one value per channel; ``beta``
    defaults to ``alpha``. Returns float64 ``(C, H, W)``, symmetric under ``k → −k``.
    """
    dims = chk.shape(shape, "shape")
    if len(dims) != 3 or min(dims) < 1:
        raise ValueError(f"shape must be (C, H, W) of positive integers; got {shape!r}")
    C, H, W = dims
    alpha = chk.real(alpha, "alpha", minimum=0.0)
    beta = alpha if beta is None else chk.real(beta, "beta", minimum=0.0)
    delta = chk.real(delta, "delta", minimum=0.0)
    g = np.asarray(gamma, dtype=float)
    g = np.broadcast_to(g, (C,)) if g.ndim == 0 or g.shape == (C,) else None
    if g is None or not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError(f"gamma must be positive, a number or one value per channel ({C}); "
                         f"got {gamma!r}")
    i = np.abs(np.rint(np.fft.fftfreq(H) * H))
    j = np.abs(np.rint(np.fft.fftfreq(W) * W))
    den = delta + i[:, None] ** alpha + j[None, :] ** beta
    if np.any(den <= 0):
        raise ValueError("delta = 0 gives the DC component an infinite variance; use delta > 0")
    return g[:, None, None] / den[None]


def _tau_tensor(tau) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(tau, dtype=np.float64))
    if t.ndim != 3 or not torch.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"tau must be a finite non-negative (C, H, W) array; got shape "
                         f"{tuple(t.shape)}")
    flip = torch.roll(torch.flip(t, (-2, -1)), (1, 1), (-2, -1))
    if not torch.allclose(t, flip):
        raise ValueError("tau must be symmetric under k → −k (τ_{c,-i,-j} = τ_cij) for real "
                         "images")
    return t


def stationary_gaussian(n: int, tau, *, generator: torch.Generator | None = None,
                        dtype=torch.float64) -> torch.Tensor:
    """``n`` real images ``(n, C, H, W)`` with population Fourier covariance ``diag(τ)``."""
    n = chk.integer(n, "n", minimum=0)
    t = _tau_tensor(tau)
    z = torch.randn((n, *t.shape), generator=generator, dtype=torch.float64)
    xi = torch.fft.fft2(z, norm="ortho")
    x = torch.fft.ifft2(xi * t.sqrt(), norm="ortho").real
    return x.to(dtype)


def planted_teacher(x: torch.Tensor, n_outputs: int = 1, *, noise: float = 0.1,
                    generator: torch.Generator | None = None, w_star: torch.Tensor | None = None):
    """``(y, w*)``: labels ``y = ⟨w*_k, x⟩ + noise·N(0,1)`` of a real linear teacher.

    ``w*`` (``K×C×H×W``) is white Gaussian with unit total norm per output unless given, so
    ``v̂* = DFT_ortho(w*)`` is flat on average over frequencies.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a (N, C, H, W) tensor; got {getattr(x, 'shape', x)!r}")
    n_outputs = chk.integer(n_outputs, "n_outputs", minimum=1)
    noise = chk.real(noise, "noise", minimum=0.0)
    if w_star is None:
        w_star = torch.randn((n_outputs, *x.shape[1:]), generator=generator, dtype=x.dtype)
        w_star = w_star / w_star.flatten(1).norm(dim=1)[:, None, None, None]
    elif tuple(w_star.shape) != (n_outputs, *x.shape[1:]):
        raise ValueError(f"w_star must have shape {(n_outputs, *x.shape[1:])}; got "
                         f"{tuple(w_star.shape)}")
    y = torch.einsum("nchw,kchw->nk", x, w_star.to(x.dtype))
    if noise > 0:
        y = y + noise * torch.randn(y.shape, generator=generator, dtype=x.dtype)
    return y, w_star

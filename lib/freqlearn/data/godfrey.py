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

``fit_spectrum_transform`` (the title claim as an intervention, catalog G4) reshapes the
Fourier spectrum of a set of images: each non-DC component is multiplied by a fixed real
gain fitted on the set, so that its per-frequency variance becomes ``|k|^(−slope)`` (a
power law; ``slope = 0`` whitens, a negative slope rises with frequency) or the components
below a radius ``cutoff`` are removed (a high-pass, as the authors' ``PassFilter``).
The DC and the per-pixel mean are kept, and the fluctuations are rescaled to the set's
original total variance, so only the spectrum's *shape* changes.
"""

from __future__ import annotations

import numpy as np
import torch

from . import _checks as chk

__all__ = ["power_law_tau", "stationary_gaussian", "planted_teacher",
           "frequency_variance", "fit_spectrum_transform", "radial_power_slope"]


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
    chk.fits(C * H * W * 8.0 * 3, f"power_law_tau(shape={(C, H, W)})")
    if isinstance(gamma, torch.Tensor):
        gamma = _cpu_tensor(gamma, "gamma").numpy()
    g = chk.real_array(gamma, "gamma", ndim=(0, 1), finite=False)
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


def _cpu_tensor(t: torch.Tensor, name: str) -> torch.Tensor:
    """A tensor argument read on the CPU; a meta tensor (no data) is refused."""
    if t.device.type == "meta":
        raise ValueError(f"{name} is a tensor on the meta device, which holds no data; pass a "
                         "tensor on a real device (cpu, cuda)")
    return t.detach().cpu()


def _tau_tensor(tau) -> torch.Tensor:
    if isinstance(tau, torch.Tensor):
        tau = _cpu_tensor(tau, "tau").numpy()
    a = chk.real_array(tau, "tau", finite=False)
    t = torch.as_tensor(np.array(a, dtype=np.float64))
    if t.ndim != 3 or not torch.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"tau must be a finite non-negative (C, H, W) array; got shape "
                         f"{tuple(t.shape)}")
    flip = torch.roll(torch.flip(t, (-2, -1)), (1, 1), (-2, -1))
    if not torch.allclose(t, flip):
        raise ValueError("tau must be symmetric under k → −k (τ_{c,-i,-j} = τ_cij) for real "
                         "images")
    return t


def _generator(generator, name: str = "generator") -> torch.Generator | None:
    """``None`` or a CPU ``torch.Generator`` (the draws are made on the CPU)."""
    return chk.cpu_generator(generator, name, who="the draws are made")


def _float_dtype(dtype, name: str = "dtype") -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a floating torch.dtype (e.g. torch.float32); got "
                        f"{dtype!r} ({type(dtype).__name__})")
    if not dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating torch.dtype (images are real numbers); "
                        f"got {dtype}")
    return dtype


def stationary_gaussian(n: int, tau, *, generator: torch.Generator | None = None,
                        dtype=torch.float64) -> torch.Tensor:
    """``n`` real images ``(n, C, H, W)`` with population Fourier covariance ``diag(τ)``.

    ``n = 0`` gives an empty ``(0, C, H, W)`` tensor; ``dtype`` must be a floating dtype;
    ``generator`` (``None`` or a CPU generator) drives the draws, made in float64 on the CPU.
    """
    n = chk.integer(n, "n", minimum=0)
    dtype = _float_dtype(dtype)
    generator = _generator(generator)
    t = _tau_tensor(tau)
    # the largest arrays: the complex128 spectra (16 bytes an entry), two at a time
    chk.fits(2 * 16.0 * n * t.numel(), f"stationary_gaussian(n={n}, tau of shape "
                                       f"{tuple(t.shape)})")
    if n == 0:
        return torch.empty((0, *t.shape), dtype=dtype)
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
    if x.device.type == "meta":
        raise ValueError("x is a tensor on the meta device, which holds no data; pass a "
                         "tensor on a real device (cpu, cuda)")
    if not x.dtype.is_floating_point:
        raise TypeError(f"x must be a real floating tensor; got dtype {x.dtype}")
    if min(x.shape[1:]) < 1:
        raise ValueError(f"x must have C, H, W ≥ 1; got shape {tuple(x.shape)}")
    n_outputs = chk.integer(n_outputs, "n_outputs", minimum=1)
    noise = chk.real(noise, "noise", minimum=0.0)
    generator = _generator(generator)
    if w_star is None:
        w_star = torch.randn((n_outputs, *x.shape[1:]), generator=generator, dtype=x.dtype)
        w_star = (w_star / w_star.flatten(1).norm(dim=1)[:, None, None, None]).to(x.device)
    else:
        if not isinstance(w_star, torch.Tensor):
            raise TypeError(f"w_star must be a tensor or None; got {type(w_star).__name__}")
        if w_star.device != x.device:
            raise ValueError(f"w_star and x must be on the same device; got w_star on "
                             f"{w_star.device}, x on {x.device}")
        if not w_star.dtype.is_floating_point:
            raise TypeError(f"w_star must be a real floating tensor; got dtype {w_star.dtype}")
        if tuple(w_star.shape) != (n_outputs, *x.shape[1:]):
            raise ValueError(f"w_star must have shape {(n_outputs, *x.shape[1:])}; got "
                             f"{tuple(w_star.shape)}")
    y = torch.einsum("nchw,kchw->nk", x, w_star.to(x.dtype))
    if noise > 0:
        y = y + noise * torch.randn(y.shape, generator=generator, dtype=x.dtype).to(x.device)
    return y, w_star


# ------------------------------------------------------------- spectrum interventions
def _radius(H: int, W: int) -> np.ndarray:
    """``|k| = √(i² + j²)`` on signed integer frequencies, FFT layout ``(H, W)``."""
    i = np.rint(np.fft.fftfreq(H) * H)
    j = np.rint(np.fft.fftfreq(W) * W)
    return np.sqrt(i[:, None] ** 2 + j[None, :] ** 2)


def frequency_variance(x) -> np.ndarray:
    """Per-frequency variance ``τ_cij = mean_n |DFT_ortho(x_n − x̄)_cij|²`` of ``(N, C, H, W)``
    images (float64, ``(C, H, W)``, FFT layout; ``x̄`` the mean image)."""
    x = torch.as_tensor(x).double()
    if x.ndim != 4 or len(x) < 2:
        raise ValueError(f"x must be (N, C, H, W) with N ≥ 2; got {tuple(x.shape)}")
    xf = torch.fft.fft2(x - x.mean(0, keepdim=True), norm="ortho")
    return xf.abs().pow(2).mean(0).numpy()


def fit_spectrum_transform(x, *, slope: float | None = None, cutoff: float | None = None):
    """A spectrum intervention fitted on the images ``x`` ``(N, C, H, W)``; returns ``f``
    with ``f(images) → images`` (same shape, float64 tensor) and ``f.gain`` ``(C, H, W)``.

    ``slope``: gain ``√(|k|^(−slope) / τ_k)`` on every non-DC component (``τ`` from
    :func:`frequency_variance` of ``x``), so the transformed ``x`` has variance ``∝
    |k|^(−slope)`` exactly; ``cutoff``: gain 0 for ``0 < |k| < cutoff``, 1 elsewhere (a
    high-pass); neither: gain 1. The DC gain is 1; the fluctuations about the mean image
    are then rescaled so the transformed ``x`` keeps its total variance.
    """
    if slope is not None and cutoff is not None:
        raise ValueError("give slope or cutoff, not both")
    x = torch.as_tensor(x).double()
    tau = frequency_variance(x)
    C, H, W = tau.shape
    r = np.broadcast_to(_radius(H, W), tau.shape)
    gain = np.ones_like(tau)
    nz = r > 0
    if slope is not None:
        slope = chk.real(slope, "slope")
        if np.any(tau[nz] <= 0):
            raise ValueError("a component of x has zero variance; it cannot be reshaped")
        gain[nz] = np.sqrt(r[nz] ** (-slope) / tau[nz])
    elif cutoff is not None:
        cutoff = chk.real(cutoff, "cutoff", minimum=0.0)
        gain[nz & (r < cutoff)] = 0.0
    g = torch.as_tensor(gain)
    mean = x.mean(0, keepdim=True)

    def raw(z):
        return torch.fft.ifft2(torch.fft.fft2(z, norm="ortho") * g, norm="ortho").real

    fluct = raw(x) - raw(mean)
    scale = float((x - mean).pow(2).sum() / fluct.pow(2).sum().clamp_min(1e-300)) ** 0.5

    def f(z):
        z = torch.as_tensor(z).double()
        return mean + scale * (raw(z) - raw(mean))

    f.gain = gain * np.where(nz, scale, 1.0)
    return f


def radial_power_slope(tau, *, r_min: float = 1.0, r_max: float | None = None) -> float:
    """Least-squares slope of ``log τ`` against ``log |k|`` over the components with
    ``r_min ≤ |k| ≤ r_max`` (channels averaged; default ``r_max`` = the Nyquist radius)."""
    t = np.asarray(tau, dtype=float)
    t = t.mean(0) if t.ndim == 3 else t
    r = _radius(*t.shape)
    r_max = min(t.shape) / 2 if r_max is None else r_max
    m = (r >= r_min) & (r <= r_max) & (t > 0)
    return float(np.polyfit(np.log(r[m]), np.log(t[m]), 1)[0])

"""Non-linear Gaussian process (NLGP) inputs and their Gaussian control (Ingrosso & Goldt 2022).

Data model (paper, Methods "Data models", Eq. 1): in class μ a latent Gaussian field
``z`` on a periodic line (or a periodic L×L torus) has covariance

    ⟨z_i z_j⟩ = exp(-(d(i, j)/ξ_μ)²),   d = periodic distance  (ξ = 0: white noise),

(2D: the Kronecker product of the 1D covariance with itself) and the pixels are

    x_i = erf(g z_i / √2) / Z(g),        Z(g)² = (2/π) arcsin(g² / (1 + g²)).

The normalisation follows from the arcsine law E[erf(a z/√2) erf(b z'/√2)] =
(2/π) arcsin(ab ρ / √((1+a²)(1+b²))) for unit Gaussians with correlation ρ. The paper's
printed ``arcsin(g/(1+g²))`` (:func:`Z2_printed`) has lost the square on ``g``; the
chapter checks both against a Monte-Carlo variance. The same law gives the input
covariance exactly, ``C^x_ij = (2/π) arcsin(g² C^z_ij / (1+g²)) / Z²``, which is circulant
(translation invariant) too; the Gaussian control (GP) draws ``x ~ N(0, C^x)``.

Sampling uses the FFT: a circulant covariance ``C = F* diag(λ) F`` is sampled as
``irfft(√λ · rfft(e))`` for white noise ``e`` — O(D log D) per sample, batched over any
leading shape, never a Cholesky factor or a per-sample multivariate normal.
Labels: class 0 (``xis[0]``, the shorter length ξ₋) has y = −1, class 1 has y = +1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Z2", "Z2_printed", "periodic_distance", "z_cov_row", "x_cov_row", "cov_matrix",
           "circulant_spectrum", "NLGP", "mvn_reference_sampler"]


def Z2(g):
    """Z(g)² = Var erf(g z/√2) = (2/π) arcsin(g²/(1+g²)) (the correct closed form)."""
    g = np.asarray(g, dtype=float)
    return 2 / np.pi * np.arcsin(g**2 / (1 + g**2))


def Z2_printed(g):
    """The paper's printed (2/π) arcsin(g/(1+g²)) — missing the square; kept to test it."""
    g = np.asarray(g, dtype=float)
    return 2 / np.pi * np.arcsin(g / (1 + g**2))


def periodic_distance(L: int) -> np.ndarray:
    """``d_i = min(i, L - i)``: distance of site i from site 0 on a ring of L sites."""
    i = np.arange(L)
    return np.minimum(i, L - i).astype(float)


def _row1d(L, xi):
    d = periodic_distance(L)
    if xi == 0:
        return (d == 0).astype(float)
    return np.exp(-((d / xi) ** 2))


def z_cov_row(L: int, xi: float, dim: int = 1) -> np.ndarray:
    """First row of the latent covariance: shape (L,) in 1D, (L, L) in 2D (Kronecker)."""
    r = _row1d(L, xi)
    return r if dim == 1 else np.outer(r, r)


def x_cov_row(L: int, xi: float, g: float, dim: int = 1, gaussian_latent: bool = False):
    """First row of the input covariance C^x (arcsine law); equals C^z if ``gaussian_latent``."""
    cz = z_cov_row(L, xi, dim)
    if gaussian_latent:
        return cz
    return 2 / np.pi * np.arcsin(g**2 * cz / (1 + g**2)) / Z2(g)


def cov_matrix(row: np.ndarray) -> np.ndarray:
    """Dense circulant (1D) or doubly block circulant (2D, row-major vec) matrix of a row."""
    row = np.asarray(row)
    if row.ndim == 1:
        L = row.size
        idx = (np.arange(L)[None, :] - np.arange(L)[:, None]) % L
        return row[idx]
    L1, L2 = row.shape
    i1, i2 = np.divmod(np.arange(L1 * L2), L2)
    return row[(i1[None, :] - i1[:, None]) % L1, (i2[None, :] - i2[:, None]) % L2]


def circulant_spectrum(row: np.ndarray) -> np.ndarray:
    """Eigenvalues of the circulant with this first row, on the rfft grid, clipped at 0."""
    row = np.asarray(row, dtype=float)
    lam = np.fft.rfftn(row).real
    return np.clip(lam, 0.0, None)


@dataclass
class NLGP:
    """Two-class NLGP (or its Gaussian control) sampler.

    ``L``: side; ``dim`` 1 (D = L) or 2 (D = L², row-major); ``xis``: (ξ₋, ξ₊);
    ``g``: gain; ``gaussian``: draw the GP control with the same covariance instead.
    """

    L: int
    xis: tuple = (8.0, 16.0)
    g: float = 3.0
    dim: int = 1
    gaussian: bool = False
    dtype: torch.dtype = torch.float64

    def __post_init__(self):
        self.D = self.L**self.dim
        self.shape = (self.L,) * self.dim
        rows = [z_cov_row(self.L, xi, self.dim) if not self.gaussian
                else x_cov_row(self.L, xi, self.g, self.dim) for xi in self.xis]
        spec = np.stack([np.fft.rfftn(r).real for r in rows])
        # a periodised Gaussian kernel is not positive definite when ξ is comparable to L:
        # record how much negative spectrum is clipped (0 for the paper's settings)
        self.clipped = float(np.clip(-spec, 0, None).max() / spec.max())
        self._sqrt = torch.as_tensor(np.sqrt(np.clip(spec, 0, None)), dtype=self.dtype)
        self._scale = 1.0 / math.sqrt(float(Z2(self.g)))

    def covariance_rows(self) -> np.ndarray:
        """First rows of C^x for the classes (the same for NLGP and GP by construction)."""
        return np.stack([x_cov_row(self.L, xi, self.g, self.dim) for xi in self.xis])

    def covariances(self) -> np.ndarray:
        """Dense input covariances C^μ, shape (M, D, D)."""
        return np.stack([cov_matrix(r) for r in self.covariance_rows()])

    def _field(self, cls: torch.Tensor, generator) -> torch.Tensor:
        shape = tuple(cls.shape) + self.shape
        e = torch.randn(shape, generator=generator, dtype=self.dtype)
        dims = tuple(range(-self.dim, 0))
        spec = torch.fft.rfftn(e, dim=dims) * self._sqrt[cls]
        return torch.fft.irfftn(spec, s=self.shape, dim=dims)

    def sample_class(self, cls, generator=None) -> torch.Tensor:
        """Inputs (…, D) for a tensor of class indices ``cls`` (0 or 1)."""
        cls = torch.as_tensor(cls, dtype=torch.long)
        f = self._field(cls, generator)
        if not self.gaussian:
            f = torch.erf(self.g * f / math.sqrt(2.0)) * self._scale
        return f.reshape(*cls.shape, self.D)

    def sample(self, shape, generator=None):
        """``(x, y)``: x of shape (*shape, D), balanced-in-expectation labels y = ±1."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        cls = torch.randint(0, 2, shape, generator=generator)
        x = self.sample_class(cls, generator)
        return x, (2 * cls - 1).to(self.dtype)


def mvn_reference_sampler(C: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """The slow reference for timing: one ``scipy.stats.multivariate_normal.rvs`` call per
    sample, which factorises the D×D covariance again at every call."""
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(seed)
    mean = np.zeros(C.shape[0])
    return np.stack([multivariate_normal.rvs(mean, C, random_state=rng) for _ in range(n)])

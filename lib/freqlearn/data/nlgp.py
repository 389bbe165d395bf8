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

**Clipping.** A periodised Gaussian kernel is not positive semidefinite when ξ is not small
against L (in 2D at the book's ξ = 0.2L its most negative eigenvalue is 2e-4 of the largest
at L = 20, 7e-3 at L = 10): such a spectrum cannot be sampled, and the sampler clips it at 0.
The latent field then has the covariance of the clipped spectrum, not the nominal one, and
by the arcsine law so does the input. :class:`NLGP` computes that *actual* covariance
(:meth:`NLGP.covariance_rows`), gives it to the Gaussian control — so NLGP and GP share
their covariance exactly, as the paper's comparison needs — records how far it is from the
nominal arcsine-law covariance (``NLGP.covariance_change``) and warns when that exceeds
``clip_tol`` (default 1e-4, below the Monte-Carlo resolution of any run of the book).
Labels: class 0 (``xis[0]``, the shorter length ξ₋) has y = −1, class 1 has y = +1.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from . import _checks as chk

__all__ = ["Z2", "Z2_printed", "periodic_distance", "z_cov_row", "x_cov_row", "cov_matrix",
           "circulant_spectrum", "NLGP", "mvn_reference_sampler"]


def _gains(g) -> np.ndarray:
    """``g`` (a number or an array of them) as floats; NaN in gives NaN out."""
    try:
        a = np.asarray(g)
    except ValueError as e:  # ragged nested sequences
        raise TypeError(f"g must be a real number or an array of them; got {g!r}") from e
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer)
                               or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"g must be a real number or an array of them; got {g!r} "
                        f"(dtype {a.dtype})")
    return a.astype(float)


def Z2(g):
    """Z(g)² = Var erf(g z/√2) = (2/π) arcsin(g²/(1+g²)) (the correct closed form)."""
    g = _gains(g)
    return 2 / np.pi * np.arcsin(g**2 / (1 + g**2))


def Z2_printed(g):
    """The paper's printed (2/π) arcsin(g/(1+g²)) — missing the square; kept to test it."""
    g = _gains(g)
    return 2 / np.pi * np.arcsin(g / (1 + g**2))


def _gain(g, name: str = "g") -> float:
    """A gain usable in Eq. 1: real, finite, and with 0 < Z(g)² (so 1/Z(g) is finite)."""
    v = chk.real(g, name)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        z2 = float(Z2(v))
    if not (math.isfinite(z2) and z2 > 0):
        raise ValueError(f"{name} must be a non-zero gain with a finite normalisation "
                         f"Z(g)² = (2/π) arcsin(g²/(1+g²)) > 0; got {name}={g!r} "
                         f"(Z(g)² = {z2:g})")
    return v


def _xi(xi, name: str = "xi") -> float:
    """A correlation length: ≥ 0 (0 = white noise), +inf allowed (fully correlated)."""
    return chk.real(xi, name, minimum=0.0, allow_inf=True)


def _dim(dim) -> int:
    d = chk.integer(dim, "dim")
    if d not in (1, 2):
        raise ValueError(f"dim must be 1 (a ring of L sites) or 2 (an L×L torus); got {d}")
    return d


def periodic_distance(L: int) -> np.ndarray:
    """``d_i = min(i, L - i)``: distance of site i from site 0 on a ring of L sites."""
    chk.integer(L, "L", minimum=1)
    chk.fits(16.0 * L, f"periodic_distance(L={L})")
    i = np.arange(L)
    return np.minimum(i, L - i).astype(float)


def _row1d(L, xi):
    d = periodic_distance(L)
    if xi == 0:
        return (d == 0).astype(float)
    return np.exp(-((d / xi) ** 2))


def z_cov_row(L: int, xi: float, dim: int = 1) -> np.ndarray:
    """First row of the latent covariance: shape (L,) in 1D, (L, L) in 2D (Kronecker)."""
    chk.integer(L, "L", minimum=1)
    _xi(xi)
    if _dim(dim) == 2:
        chk.fits(8.0 * L * L, f"z_cov_row(L={L}, dim=2)")
    r = _row1d(L, xi)
    return r if dim == 1 else np.outer(r, r)


def x_cov_row(L: int, xi: float, g: float, dim: int = 1, gaussian_latent: bool = False):
    """First row of the input covariance C^x (arcsine law); equals C^z if ``gaussian_latent``."""
    if not chk.boolean(gaussian_latent, "gaussian_latent"):
        _gain(g)
    cz = z_cov_row(L, xi, dim)
    if gaussian_latent:
        return cz
    return 2 / np.pi * np.arcsin(g**2 * cz / (1 + g**2)) / Z2(g)


def cov_matrix(row: np.ndarray) -> np.ndarray:
    """Dense circulant (1D) or doubly block circulant (2D, row-major vec) matrix of a row."""
    chk.real_array(row, "row", ndim=(1, 2), finite=False)
    row = np.asarray(row)
    chk.fits(float(row.size) ** 2 * max(row.itemsize, 8), f"cov_matrix of a row of shape "
             f"{row.shape} ({row.size}×{row.size} matrix)")
    if row.ndim == 1:
        L = row.size
        idx = (np.arange(L)[None, :] - np.arange(L)[:, None]) % L
        return row[idx]
    L1, L2 = row.shape
    i1, i2 = np.divmod(np.arange(L1 * L2), L2)
    return row[(i1[None, :] - i1[:, None]) % L1, (i2[None, :] - i2[:, None]) % L2]


def circulant_spectrum(row: np.ndarray) -> np.ndarray:
    """Eigenvalues of the circulant with this first row, on the rfft grid, clipped at 0."""
    row = chk.real_array(row, "row", ndim=(1, 2), finite=False)
    lam = np.fft.rfftn(row).real
    return np.clip(lam, 0.0, None)


@dataclass
class NLGP:
    """Two-class NLGP (or its Gaussian control) sampler.

    ``L``: side (an integer ≥ 1); ``dim`` 1 (D = L) or 2 (D = L², row-major); ``xis``:
    (ξ₋, ξ₊), exactly one correlation length ≥ 0 per class (0 = white noise, ∞ allowed);
    ``g``: gain, non-zero and finite; ``gaussian``: draw the GP control with the same
    covariance instead; ``dtype``: ``torch.float32`` or ``torch.float64``; ``clip_tol``:
    warn when clipping a non-positive latent spectrum moves the input covariance further
    than this from the nominal arcsine law (see the module docstring).
    Bad arguments are refused here, before anything is sampled.

    After construction: ``clipped`` (the most negative latent eigenvalue over the largest; 0
    when nothing is clipped) and ``covariance_change`` (max |actual − nominal| over the
    entries of the input covariances).
    """

    L: int
    xis: tuple = (8.0, 16.0)
    g: float = 3.0
    dim: int = 1
    gaussian: bool = False
    dtype: torch.dtype = torch.float64
    clip_tol: float = 1e-4

    def __post_init__(self):
        self._check()
        self.D = self.L**self.dim
        self.shape = (self.L,) * self.dim
        zspec = np.stack([np.fft.rfftn(z_cov_row(self.L, xi, self.dim)).real
                          for xi in self.xis])
        # a periodised Gaussian kernel is not positive definite when ξ is comparable to L:
        # record how much negative spectrum is clipped (0 for the paper's settings)
        self.clipped = float(np.clip(-zspec, 0, None).max() / zspec.max())
        zspec = np.clip(zspec, 0, None)
        axes = tuple(range(1, self.dim + 1))
        self._z_rows = np.fft.irfftn(zspec, s=self.shape, axes=axes)  # what is sampled
        self._x_rows = self._arcsine(self._z_rows)
        nominal = np.stack([x_cov_row(self.L, xi, self.g, self.dim) for xi in self.xis])
        self.covariance_change = float(np.abs(self._x_rows - nominal).max())
        if self.covariance_change > self.clip_tol:
            warnings.warn(
                f"NLGP(L={self.L}, xis={tuple(self.xis)}, dim={self.dim}): the latent "
                f"covariance is not positive semidefinite (most negative eigenvalue "
                f"{self.clipped:.2g} of the largest); clipping it moves the input covariance "
                f"by up to {self.covariance_change:.2g} from the arcsine law (clip_tol="
                f"{self.clip_tol:g}). NLGP and its Gaussian control still share the actual "
                "covariance (covariance_rows()); for the nominal one, take a larger L or "
                "shorter correlation lengths.", UserWarning, stacklevel=3)
        if self.gaussian:
            spec = np.clip(np.fft.rfftn(self._x_rows, axes=axes).real, 0, None)
        else:
            spec = zspec
        self._sqrt = torch.as_tensor(np.sqrt(spec), dtype=self.dtype)
        self._scale = 1.0 / math.sqrt(float(Z2(self.g)))

    def _arcsine(self, z_rows: np.ndarray) -> np.ndarray:
        """Input covariance rows of x = erf(g z/√2)/Z(g) for latent rows ``z_rows`` (whose
        zero lag, the latent variance, is 1 unless clipping changed it)."""
        g2 = self.g**2
        c0 = z_rows.reshape(len(z_rows), -1)[:, :1].reshape((-1,) + (1,) * self.dim)
        return 2 / np.pi * np.arcsin(g2 * z_rows / (1 + g2 * c0)) / Z2(self.g)

    def _check(self) -> None:
        chk.integer(self.L, "L", minimum=1)
        dim = _dim(self.dim)
        if isinstance(self.xis, (str, bytes)):
            raise TypeError(f"xis must be a pair (ξ₋, ξ₊) of correlation lengths; "
                            f"got {self.xis!r}")
        try:
            xis = tuple(self.xis)
        except TypeError:
            raise TypeError(f"xis must be a pair (ξ₋, ξ₊) of correlation lengths; "
                            f"got {self.xis!r}") from None
        if len(xis) != 2:
            raise ValueError(f"xis must hold exactly two correlation lengths (ξ₋, ξ₊), one "
                             f"per class (sample draws classes 0 and 1); got {len(xis)}: "
                             f"{self.xis!r}")
        for k, xi in enumerate(xis):
            _xi(xi, f"xis[{k}]")
        _gain(self.g)
        chk.boolean(self.gaussian, "gaussian")
        if (isinstance(self.clip_tol, bool) or not isinstance(self.clip_tol, (int, float))
                or not self.clip_tol >= 0):
            raise ValueError(f"clip_tol must be a number ≥ 0; got {self.clip_tol!r}")
        if self.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"dtype must be torch.float32 or torch.float64; got {self.dtype!r}")
        # spectra, covariance rows and their FFTs: a few float64 arrays of D entries
        chk.fits(8.0 * 8 * float(self.L) ** dim, f"NLGP(L={self.L}, dim={dim})")

    def covariance_rows(self) -> np.ndarray:
        """First rows of the input covariance C^x the samples have, per class — the same for
        NLGP and GP by construction; the arcsine-law :func:`x_cov_row` unless the latent
        spectrum had to be clipped (``covariance_change`` says by how much it differs)."""
        return self._x_rows.copy()

    def covariances(self) -> np.ndarray:
        """Dense input covariances C^μ, shape (M, D, D)."""
        chk.fits(8.0 * len(self.xis) * float(self.D) ** 2,
                 f"covariances() of NLGP(L={self.L}, dim={self.dim}) (2 × {self.D}×{self.D})")
        return np.stack([cov_matrix(r) for r in self.covariance_rows()])

    def _generator(self, generator):
        return chk.cpu_generator(generator, who="NLGP samples")

    def _fits(self, batch: tuple) -> None:
        n = float(np.prod(batch, dtype=float)) * self.D
        # white noise, its spectrum (complex), the field and the output
        chk.fits(n * (torch.finfo(self.dtype).bits // 8) * 5,
                 f"{tuple(batch)} samples of dimension D={self.D}")

    def _field(self, cls: torch.Tensor, generator) -> torch.Tensor:
        shape = tuple(cls.shape) + self.shape
        if cls.numel() == 0:  # an empty batch: nothing to draw (torch.fft refuses it)
            return torch.zeros(shape, dtype=self.dtype)
        e = torch.randn(shape, generator=generator, dtype=self.dtype)
        dims = tuple(range(-self.dim, 0))
        spec = torch.fft.rfftn(e, dim=dims) * self._sqrt[cls]
        return torch.fft.irfftn(spec, s=self.shape, dim=dims)

    def _classes(self, cls) -> torch.Tensor:
        if isinstance(cls, (str, bytes)) or cls is None:
            raise TypeError(f"cls must be class indices 0 or 1 (an int, a list or an integer "
                            f"tensor); got {cls!r}")
        try:
            t = torch.as_tensor(cls)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"cls must be class indices 0 or 1 (an int, a list or an integer "
                            f"tensor); got {cls!r}: {e}") from None
        if (t.dtype.is_floating_point or t.dtype.is_complex) and t.numel():  # [] is float32
            raise TypeError(f"cls must hold integer class indices 0 or 1, not {t.dtype} "
                            "(floats are not truncated)")
        if t.device.type != "cpu":
            raise ValueError(f"cls must be on the CPU (NLGP samples on the CPU); got {t.device}")
        t = t.to(torch.long)
        n_cls = len(self.xis)
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n_cls):
            bad = t[(t < 0) | (t >= n_cls)][0].item()
            raise ValueError(f"cls must hold class indices 0..{n_cls - 1}; got {bad}")
        return t

    def sample_class(self, cls, generator=None) -> torch.Tensor:
        """Inputs (…, D) for a tensor of class indices ``cls`` (0 or 1; empty → (…, 0, D))."""
        cls = self._classes(cls)
        generator = self._generator(generator)
        self._fits(tuple(cls.shape))
        f = self._field(cls, generator)
        if not self.gaussian:
            f = torch.erf(self.g * f / math.sqrt(2.0)) * self._scale
        return f.reshape(*cls.shape, self.D)

    def sample(self, shape, generator=None):
        """``(x, y)``: x of shape (*shape, D), balanced-in-expectation labels y = ±1.

        ``shape``: a non-negative integer or a tuple of them; a zero gives empty tensors.
        """
        shape = chk.shape(shape, "shape")
        generator = self._generator(generator)
        self._fits(shape)
        cls = torch.randint(0, 2, shape, generator=generator)
        x = self.sample_class(cls, generator)
        return x, (2 * cls - 1).to(self.dtype)


def mvn_reference_sampler(C: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """The slow reference for timing: one ``scipy.stats.multivariate_normal.rvs`` call per
    sample, which factorises the D×D covariance again at every call."""
    from scipy.stats import multivariate_normal

    C = chk.real_array(C, "C", ndim=(2,))
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be a square covariance matrix; got shape {C.shape}")
    n = chk.integer(n, "n", minimum=0)
    seed = chk.integer(seed, "seed", minimum=0)
    chk.fits(8.0 * n * C.shape[0], f"{n} samples of dimension {C.shape[0]}")
    if n == 0:
        return np.empty((0, C.shape[0]))
    rng = np.random.default_rng(seed)
    mean = np.zeros(C.shape[0])
    return np.stack([multivariate_normal.rvs(mean, C, random_state=rng) for _ in range(n)])

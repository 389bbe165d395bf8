"""Amplitude–phase data model for Ricci, Merger & Goldt (2026) — a RECONSTRUCTION.

Only the paper's abstract is public; everything here is this book's reconstruction of the
data model it describes (catalog R2), staying close to the group's published models
(Ingrosso & Goldt 2022; Székely et al. 2024; Bardone & Goldt 2024).

A translation-invariant input of ``N`` pixels (1-D ring) or ``L×L`` pixels (2-D torus) is
built in Fourier space,

    x = IDFT( A(k) · e^{iφ(k)} ),      orthonormal DFT, Hermitian: φ(−k) = −φ(k),

with one amplitude spectrum ``A`` shared by both classes and phases that are either
uniformly random (the noise class, y = −1) or *structured* (y = +1). Both classes have the
DC set to zero and a random global sign, so that the first and third orders carry no class
information (the mean is 0 and odd moments vanish by symmetry); the covariance of both
classes is the circulant with spectrum ``A²`` because both phase distributions are
invariant under translations. The classes first differ at fourth order.

Amplitude control (``amplitude=``):

- ``"exact"``  — ``|x̂(k)| = A(k)`` on every sample of both classes;
- ``"shared"`` — ``|x̂(k)| = A(k)·|ξ̂(k)|`` with ξ an independent white Gaussian draw, for
  both classes (the noise class is then exactly the Gaussian process with spectrum A²);
- ``"natural"`` — no imposition: the structured class is the raw field (template or
  NLGP-type ``f(z)``) and the noise class is the Gaussian process with the structured
  class's covariance (as in Ingrosso & Goldt's NLGP-vs-GP task).

Structured phases (``family=``):

- ``"A"`` — random translates of one localised template (a Gaussian bump of width ``width``)
  with a random sign: the easy case (its kurtosis along a pixel direction grows ∝ N);
- ``"B"`` — the phases of an NLGP-type field ``f(z)``, ``f(z) = z·1[|z| > t]`` (a sparse,
  odd non-linearity: O(1) excess kurtosis per pixel), ``z`` a periodic Gaussian field with
  spectrum ``S_z`` (white by default, or ``A²`` — "phases at the scale of the correlations");
  the hard case.

Spectra are given on the full FFT grid (``numpy.fft.fftfreq`` order) and used through
``rfft`` layouts. Shapes: samples are ``(n, N)`` in 1-D and ``(n, L, L)`` in 2-D.

Every public function checks its arguments as :mod:`freqlearn.data._checks` says (counts
and sizes are integers — floats are refused, not truncated —, arrays hold finite real
numbers, ``rng`` is a NumPy ``Generator``) and refuses an input that would make its result
NaN (an all-zero spectrum or amplitude, a zero direction, a class of one sample) with an
error naming the argument, instead of returning NaN with a ``RuntimeWarning``.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from . import _checks as chk

__all__ = ["power_law_amplitude", "random_phases", "synthesize", "phases_of",
           "template", "sparse_field", "gaussian_field", "PhaseTask", "hermite_moments",
           "He", "amplitude_only", "phase_only", "swap", "gaussian_clone",
           "radial_power", "texture_patches", "phase_randomise", "whiten",
           "TEXTURES", "load_cifar100", "whiten_images"]

TEXTURES = ("brick", "grass", "gravel")


def _dim(dim) -> int:
    dim = chk.integer(dim, "dim")
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 or 2; got {dim}")
    return dim


def _shape(N, dim) -> tuple[int, ...]:
    N = chk.integer(N, "N", minimum=2)
    dim = _dim(dim)
    chk.fits(8.0 * (dim + 4) * float(N) ** dim, f"a grid of {N}^{dim} pixels")
    return (N,) * dim


def _rng(rng) -> np.random.Generator:
    """``rng`` itself, when it is a NumPy ``Generator`` (what every sampler here draws from)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
                        f"got {type(rng).__name__}")
    return rng


def _array(x, name: str, *, ndim=None, want: str = "", complex_ok: bool = False,
           finite: bool = True) -> np.ndarray:
    """``x`` (array-like or CPU/GPU tensor) as a float64 (complex128 with ``complex_ok``)
    array of finite numbers with ``ndim`` (a tuple of ranks) axes; anything else is refused
    with an error naming ``name``."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if x.device.type == "meta":
            raise ValueError(f"{name} is a tensor on the meta device, which holds no data; "
                             "pass an array (or a tensor on a real device)")
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as e:   # ragged nested lists
        raise TypeError(f"{name} must be a rectangular array of numbers; got "
                        f"{type(x).__name__} ({e})") from None
    kinds = "iufc" if complex_ok else "iuf"
    if a.dtype.kind not in kinds:
        what = "numbers" if complex_ok else "real numbers"
        raise TypeError(f"{name} must hold {what}; got dtype {a.dtype}")
    if ndim is not None and a.ndim not in ndim:
        want = want or " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}; got shape {a.shape}")
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must hold finite numbers; got NaN or ±inf")
    return a.astype(complex if a.dtype.kind == "c" else float, copy=False)


def _spectrum(S, name: str) -> np.ndarray:
    """A full-grid power spectrum or amplitude: 1-D or 2-D, finite, ≥ 0, not all zero."""
    S = _array(S, name, ndim=(1, 2), want="a 1-D or 2-D full-grid spectrum")
    if S.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {S.shape}")
    if np.any(S < 0):
        raise ValueError(f"{name} must be ≥ 0 everywhere; got a minimum of {S.min():g}")
    if not np.any(S > 0):
        raise ValueError(f"{name} is zero everywhere: it has no power to normalise (the "
                         "result would be NaN)")
    return S


def _kabs(shape) -> np.ndarray:
    """|k| on the full FFT grid (integer frequencies, fftfreq order)."""
    ks = np.meshgrid(*[np.fft.fftfreq(n) * n for n in shape], indexing="ij")
    return np.sqrt(sum(k ** 2 for k in ks))


def power_law_amplitude(N: int, a: float, dim: int = 1, k0: float = 0.0) -> np.ndarray:
    """Amplitude ``A(k) ∝ (|k|² + k0²)^(−a/2)`` on the full FFT grid, ``A(0) = 0``.

    Normalised so that ``Σ_k A² = N^dim``: unit variance per pixel for both classes
    (orthonormal DFT, Parseval). ``a = 0`` is the flat (isotropic, white) spectrum.
    """
    shape = _shape(N, dim)
    a = chk.real(a, "a", minimum=0.0)
    k0 = chk.real(k0, "k0", minimum=0.0)
    k = _kabs(shape)
    A = np.zeros(shape)
    nz = k > 0
    A[nz] = (k[nz] ** 2 + k0 ** 2) ** (-a / 2)
    return A * math.sqrt(A.size / np.sum(A ** 2))


def _rfft(x, dim):
    return np.fft.rfftn(x, axes=tuple(range(-dim, 0)), norm="ortho")


def _irfft(X, shape):
    dim = len(shape)
    return np.fft.irfftn(X, s=shape, axes=tuple(range(-dim, 0)), norm="ortho")


def _half(A, dim) -> np.ndarray:
    """The rfft half of a full-grid spectrum."""
    return A[..., : A.shape[-1] // 2 + 1]


def phases_of(x, dim: int = 1) -> np.ndarray:
    """Unit phase factors ``e^{iφ(k)} = x̂/|x̂|`` (rfft layout; 1 where x̂ = 0).

    ``x``: samples ``(n, N)`` (``dim`` 1) or ``(n, L, L)`` (``dim`` 2); the sample axis is
    never transformed.
    """
    dim = _dim(dim)
    x = _array(x, "x", ndim=(dim + 1,),
               want="(n, N) for dim=1" if dim == 1 else "(n, L, L) for dim=2")
    X = _rfft(x, dim)
    mag = np.abs(X)
    out = np.ones_like(X)
    nz = mag > 1e-12 * max(mag.max(initial=0.0), 1e-300)
    out[nz] = X[nz] / mag[nz]
    return out


def random_phases(n: int, shape, rng) -> np.ndarray:
    """Uniform Hermitian random phase factors (rfft layout): the phases of white noise."""
    n = chk.integer(n, "n", minimum=0)
    shape = chk.shape(shape, "shape")
    if len(shape) not in (1, 2) or min(shape) < 1:
        raise ValueError(f"shape must be (N,) or (L, L) of positive sizes; got {shape}")
    chk.fits(8.0 * 4 * n * math.prod(shape), f"{n} random phase fields of shape {shape}")
    return phases_of(_rng(rng).standard_normal((n, *shape)), len(shape))


def synthesize(A, phase, amp_noise=None) -> np.ndarray:
    """``x = IDFT(A·|ξ̂|·e^{iφ})`` from a full-grid ``A`` and rfft-layout phase factors.

    ``amp_noise`` (optional, rfft layout, same shape as ``phase``) multiplies the amplitude
    (the ``"shared"`` variant). Hermitian symmetry is enforced by ``irfft`` (the real DC and
    Nyquist coefficients keep their sign ±1).
    """
    A = _array(A, "A", ndim=(1, 2), want="a 1-D or 2-D full-grid amplitude")
    if A.size == 0:
        raise ValueError(f"A must not be empty; got shape {A.shape}")
    shape = A.shape
    dim = A.ndim
    amp = _half(A, dim)
    phase = _array(phase, "phase", complex_ok=True)
    if phase.ndim < dim or phase.shape[phase.ndim - dim:] != amp.shape:
        raise ValueError(f"phase must be rfft-layout phase factors of shape (..., "
                         f"{', '.join(map(str, amp.shape))}) for A of shape {shape}; got "
                         f"shape {phase.shape}")
    X = amp * phase
    if amp_noise is not None:
        amp_noise = _array(amp_noise, "amp_noise")
        if amp_noise.shape != phase.shape:
            raise ValueError(f"amp_noise must have the shape of phase {phase.shape}; got "
                             f"{amp_noise.shape}")
        X = X * amp_noise
    return _irfft(X, shape)


def template(N: int, dim: int = 1, width: float = 1.0) -> np.ndarray:
    """A localised zero-mean Gaussian bump of ``width`` pixels centred at the origin."""
    shape = _shape(N, dim)
    width = chk.real(width, "width", minimum=0.0, strict=True)
    d = np.meshgrid(*[np.minimum(np.arange(n), n - np.arange(n)) for n in shape],
                    indexing="ij")
    t = np.exp(-sum(di ** 2 for di in d) / (2 * width ** 2))
    return t - t.mean()


def gaussian_field(n: int, S, rng) -> np.ndarray:
    """Periodic stationary Gaussian fields with full-grid power spectrum ``S`` (unit variance).

    ``S``: 1-D or 2-D, finite, ≥ 0 and not zero everywhere (an all-zero spectrum has no
    variance to normalise to 1)."""
    n = chk.integer(n, "n", minimum=0)
    S = _spectrum(S, "S")
    rng = _rng(rng)
    chk.fits(8.0 * 4 * n * S.size, f"{n} Gaussian fields of shape {S.shape}")
    S = S * (S.size / S.sum())
    xi = rng.standard_normal((n, *S.shape))
    return _irfft(_rfft(xi, S.ndim) * np.sqrt(_half(S, S.ndim)), S.shape)


def sparse_field(z, threshold: float = 1.5, floor: float = 0.05) -> np.ndarray:
    """The NLGP-type field ``f(z) = z·(1[|z| > t] + ε)`` (odd, sparse: O(1) excess kurtosis).

    The small linear floor ``ε`` keeps every Fourier coefficient non-zero, so the phases
    are always defined (without it a sample with no pixel above ``t`` has no phases).
    """
    z = _array(z, "z")
    threshold = chk.real(threshold, "threshold", minimum=0.0)
    floor = chk.real(floor, "floor", minimum=0.0)
    return z * ((np.abs(z) > threshold) + floor)


class PhaseTask:
    """Two classes with a shared amplitude and random vs structured phases (R2).

    Parameters: ``N`` (pixels per side), ``dim`` (1 or 2), ``a`` (spectral slope of A),
    ``family`` ("A" template / "B" NLGP-type phases), ``amplitude`` ("exact", "shared",
    "natural"), ``latent_a`` (slope of the latent field z of family B; ``None`` = same as
    ``a``, i.e. phases at the scale of the correlations; 0 = white latent, i.i.d. pixels),
    ``threshold`` (of the sparse non-linearity), ``width`` (of the template).

    ``sample(n, rng)`` returns ``(x, y)``: ``x`` float64 ``(n, N)`` or ``(n, L, L)`` with unit
    variance per pixel, ``y`` in {−1, +1} balanced at random.
    """

    FAMILIES = ("A", "B")
    AMPLITUDES = ("exact", "shared", "natural")

    def __init__(self, N: int, *, dim: int = 1, a: float = 0.0, family: str = "B",
                 amplitude: str = "exact", latent_a: float | None = 0.0,
                 threshold: float = 1.5, width: float = 1.0):
        self.shape = _shape(N, dim)
        self.N, self.dim = int(N), int(dim)
        if family not in self.FAMILIES:
            raise ValueError(f"family must be one of {self.FAMILIES}; got {family!r}")
        if amplitude not in self.AMPLITUDES:
            raise ValueError(f"amplitude must be one of {self.AMPLITUDES}; got {amplitude!r}")
        self.family, self.amplitude = family, amplitude
        self.a = chk.real(a, "a", minimum=0.0)
        self.A = power_law_amplitude(N, a, dim)
        self.latent_a = self.a if latent_a is None else chk.real(latent_a, "latent_a",
                                                                  minimum=0.0)
        self.S_z = power_law_amplitude(N, self.latent_a, dim) ** 2
        self.S_z.flat[0] = 0.0
        self.threshold = chk.real(threshold, "threshold", minimum=0.0)
        self.width = chk.real(width, "width", minimum=0.0, strict=True)
        self.t = template(N, dim, width)
        self._S_natural = {}

    def fingerprint(self) -> dict:
        """Everything that determines the samples, as plain data (for checkpoint
        fingerprints: two tasks with the same fingerprint draw the same samples from the
        same generator)."""
        return {"class": f"{type(self).__module__}.{type(self).__qualname__}",
                "N": self.N, "dim": self.dim, "a": self.a, "family": self.family,
                "amplitude": self.amplitude, "latent_a": self.latent_a,
                "threshold": self.threshold, "width": self.width}

    @property
    def dimension(self) -> int:
        return int(np.prod(self.shape))

    # -- the raw structured field (before amplitude imposition) ---------------------------
    def raw(self, n: int, rng) -> np.ndarray:
        """Raw structured fields: template translates (A) or ``f(z)`` (B), random sign, DC 0."""
        n = chk.integer(n, "n", minimum=0)
        rng = _rng(rng)
        self._fits(n)
        if self.family == "A":
            shifts = rng.integers(0, self.N, (n, self.dim))
            T = _rfft(self.t, self.dim)
            ks = np.meshgrid(*[np.fft.fftfreq(m) * m for m in self.shape[:-1]],
                             np.arange(self.shape[-1] // 2 + 1), indexing="ij")
            arg = sum(ks[d][None] * shifts[:, d].reshape(-1, *[1] * self.dim)
                      for d in range(self.dim)) * (2 * np.pi / self.N)
            x = _irfft(T[None] * np.exp(-1j * arg), self.shape)
        else:
            z = rng.standard_normal((n, *self.shape)) if self.latent_a == 0 else \
                gaussian_field(n, self.S_z, rng)
            x = sparse_field(z, self.threshold)
        x = x - x.mean(axis=tuple(range(1, self.dim + 1)), keepdims=True)
        sign = rng.choice([-1.0, 1.0], size=(n,) + (1,) * self.dim)
        return x * sign

    def natural_spectrum(self, n_mc: int = 100000, seed: int = 12345) -> np.ndarray:
        """Mean power ``E|x̂(k)|²`` of the raw structured class (Monte Carlo over ``n_mc``
        ≥ 1 samples drawn with ``seed``, full grid; computed once per ``(n_mc, seed)``)."""
        n_mc = chk.integer(n_mc, "n_mc", minimum=1)
        seed = chk.integer(seed, "seed", minimum=0)
        key = (n_mc, seed)
        if key not in self._S_natural:
            r = np.random.default_rng(seed)
            x = self.raw(n_mc, r)
            P = np.mean(np.abs(np.fft.fftn(x, axes=tuple(range(1, self.dim + 1)),
                                           norm="ortho")) ** 2, axis=0)
            P.flat[0] = 0.0
            if not (np.all(np.isfinite(P)) and P.sum() > 0):
                raise ValueError(f"the natural spectrum of {n_mc} raw samples (seed {seed}) "
                                 "has no power; use a larger n_mc")
            self._S_natural[key] = P
        return self._S_natural[key]

    def _fits(self, n: int) -> None:
        chk.fits(8.0 * 4 * n * self.dimension,
                 f"{n} samples of {'×'.join(map(str, self.shape))} pixels")

    def sample_class(self, n: int, structured: bool, rng) -> np.ndarray:
        """``n`` samples of one class (structured phases or uniformly random phases)."""
        n = chk.integer(n, "n", minimum=0)
        structured = chk.boolean(structured, "structured")
        rng = _rng(rng)
        self._fits(n)
        if self.amplitude == "natural":
            if structured:
                return self.raw(n, rng) / self._natural_scale()
            return gaussian_field(n, self.natural_spectrum(), rng)   # unit variance
        phase = phases_of(self.raw(n, rng), self.dim) if structured else \
            random_phases(n, self.shape, rng)
        phase = _kill_dc(phase, self.dim)
        noise = None
        if self.amplitude == "shared":
            noise = np.abs(_rfft(rng.standard_normal((n, *self.shape)), self.dim))
        return synthesize(self.A, phase, noise)

    def _natural_scale(self) -> float:
        return math.sqrt(self.natural_spectrum().sum() / self.dimension)

    def sample(self, n: int, rng):
        """``(x, y)``: ``n`` samples, labels ±1 drawn at random (structured: +1)."""
        n = chk.integer(n, "n", minimum=0)
        rng = _rng(rng)
        self._fits(n)
        y = rng.choice([-1.0, 1.0], size=n)
        x = np.empty((n, *self.shape))
        pos = y > 0
        x[pos] = self.sample_class(int(pos.sum()), True, rng)
        x[~pos] = self.sample_class(int((~pos).sum()), False, rng)
        return x, y


def _kill_dc(phase, dim):
    """Set the DC phase factor to 1 (its amplitude is 0 anyway; keeps the array Hermitian)."""
    phase = phase.copy()
    phase[(Ellipsis,) + (0,) * dim] = 1.0
    return phase


# -- cumulant checks --------------------------------------------------------------------------
def He(k: int, h):
    """Probabilists' Hermite polynomial He_k (k = 0..6)."""
    h = _array(h, "h")
    polys = {0: lambda u: np.ones_like(u), 1: lambda u: u, 2: lambda u: u ** 2 - 1,
             3: lambda u: u ** 3 - 3 * u, 4: lambda u: u ** 4 - 6 * u ** 2 + 3,
             5: lambda u: u ** 5 - 10 * u ** 3 + 15 * u,
             6: lambda u: u ** 6 - 15 * u ** 4 + 45 * u ** 2 - 15}
    k = chk.integer(k, "k", minimum=0, maximum=6)
    return polys[k](h)


def hermite_moments(x, w, C=None, orders=(1, 2, 3, 4)) -> np.ndarray:
    """``E[He_k(wᵀx/σ_w)]`` for unit directions ``w`` (rows), ``σ_w² = wᵀCw``.

    ``C`` is the covariance to standardise with (default: the identity; pass the shared
    covariance so both classes use the same σ_w). Returns ``(len(orders), n_directions)``.
    """
    x = _array(x, "x")
    if x.ndim < 1 or len(x) == 0:
        raise ValueError(f"x must hold at least one sample (n, ...); got shape {x.shape}")
    x = x.reshape(len(x), -1)
    w = _array(w, "w")
    if w.ndim < 1 or len(w) == 0:
        raise ValueError(f"w must hold at least one direction (rows); got shape {w.shape}")
    w = w.reshape(len(w), -1)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w must have {x.shape[1]} columns; got {w.shape[1]}")
    if isinstance(orders, (str, bytes)) or not hasattr(orders, "__iter__"):
        raise TypeError(f"orders must be a sequence of integers 0…6; got {orders!r}")
    orders = [chk.integer(k, "orders[]", minimum=0, maximum=6) for k in orders]
    if C is not None:
        C = _array(C, "C", ndim=(2,), want=f"a ({x.shape[1]}, {x.shape[1]}) covariance")
        if C.shape != (x.shape[1],) * 2:
            raise ValueError(f"C must be a ({x.shape[1]}, {x.shape[1]}) covariance; got "
                             f"shape {C.shape}")
        var = np.einsum("dn,nm,dm->d", w, C, w)
    else:
        var = np.sum(w ** 2, axis=1)
    bad = np.flatnonzero(~(var > 0))
    if bad.size:
        raise ValueError(f"w[{bad[0]}] has zero variance "
                         + ("under C (wᵀCw ≤ 0)" if C is not None else "(a zero direction)")
                         + ": its standardised projection is undefined; give non-zero "
                           "directions")
    h = x @ w.T / np.sqrt(var)
    return np.stack([He(k, h).mean(axis=0) for k in orders])


# -- probes on natural images (R1) -------------------------------------------------------------
def _img_fft(x):
    return np.fft.fft2(np.asarray(x, float), norm="ortho")


def _img_ifft(X):
    return np.real(np.fft.ifft2(X, norm="ortho"))


def _hermitian_phase_field(n, H, W, rng):
    """One random Hermitian phase field per image, ψ(0) = 0 (shape (n, 1, H, W))."""
    X = np.fft.fft2(rng.standard_normal((n, 1, H, W)), norm="ortho")
    ph = X / np.maximum(np.abs(X), 1e-300)
    ph[..., 0, 0] = 1.0
    return ph


def amplitude_only(x, rng, same_field: bool = True) -> np.ndarray:
    """Amplitude-only probe: each image's ``|X̂_c|`` with random phases (R1).

    ``same_field``: one random Hermitian phase field added to all colour channels (keeps
    the per-channel spectra and the colour cross-spectra); else independent per channel.
    The DC (mean colour) keeps its value.
    """
    x = _array(x, "x", ndim=(4,), want="(n, C, H, W)")
    rng = _rng(rng)
    same_field = chk.boolean(same_field, "same_field")
    n, C, H, W = x.shape
    X = _img_fft(x)
    psi = _hermitian_phase_field(n, H, W, rng) if same_field else \
        np.concatenate([_hermitian_phase_field(n, H, W, rng) for _ in range(C)], axis=1)
    return _img_ifft(X * psi)


def phase_only(x, mean_amplitude) -> np.ndarray:
    """Phase-only probe: each image's phases with the dataset-mean amplitude (DC included)."""
    x = _array(x, "x", ndim=(3, 4), want="(n, H, W) or (n, C, H, W)")
    X = _img_fft(x)
    ph = X / np.maximum(np.abs(X), 1e-300)
    Ab = _array(mean_amplitude, "mean_amplitude")
    if np.any(Ab < 0):
        raise ValueError("mean_amplitude must be ≥ 0 everywhere (an amplitude)")
    if Ab.shape != x.shape[1:]:
        raise ValueError(f"mean_amplitude must have shape {x.shape[1:]}; got {Ab.shape}")
    ph[..., 0, 0] = 1.0   # the DC (mean colour) is replaced by the dataset mean
    return _img_ifft(Ab[None] * ph)


def swap(x_amp, x_phase) -> np.ndarray:
    """Images with the amplitudes of ``x_amp`` and the phases of ``x_phase`` (per channel)."""
    x_amp = _array(x_amp, "x_amp", ndim=(3, 4), want="(n, H, W) or (n, C, H, W)")
    x_phase = _array(x_phase, "x_phase", ndim=(3, 4), want="(n, H, W) or (n, C, H, W)")
    if x_amp.shape != x_phase.shape:
        raise ValueError(f"x_amp and x_phase must have the same shape; got {x_amp.shape} "
                         f"and {x_phase.shape}")
    A = np.abs(_img_fft(x_amp))
    X = _img_fft(x_phase)
    return _img_ifft(A * X / np.maximum(np.abs(X), 1e-300))


def gaussian_clone(x, y, n_per_class: int, rng, ridge: float = 1e-4):
    """Class-wise Gaussian clone (Refinetti et al. 2023): ``N(μ_c, Σ_c)`` per class.

    Returns ``(x_clone, y_clone)`` with ``n_per_class`` samples per class, shaped like ``x``.
    Every class needs at least 2 samples (a covariance of one sample is undefined);
    ``ridge`` ≥ 0 is added to each covariance's diagonal.
    """
    x = _array(x, "x")
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be samples (n, ...) with n ≥ 1; got shape {x.shape}")
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must be one label per sample, shape ({len(x)},); got shape "
                         f"{y.shape}")
    if y.dtype.kind not in "iubfU":
        raise TypeError(f"y must hold class labels (integers, numbers or strings); got dtype "
                        f"{y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("y must hold finite class labels; got NaN or ±inf")
    n_per_class = chk.integer(n_per_class, "n_per_class", minimum=1)
    rng = _rng(rng)
    ridge = chk.real(ridge, "ridge", minimum=0.0)
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < 2:
        c = classes[np.argmin(counts)]
        raise ValueError(f"gaussian_clone needs at least 2 samples of every class to estimate "
                         f"its covariance; class {c} of y has {counts.min()}")
    shape = x.shape[1:]
    flat = x.reshape(len(x), -1)
    chk.fits(8.0 * (2 * flat.shape[1] ** 2 + n_per_class * flat.shape[1]) * len(classes),
             f"Gaussian clones of {len(classes)} classes of {flat.shape[1]} values")
    xs, ys = [], []
    for c in classes:
        f = flat[y == c]
        mu = f.mean(0)
        S = np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1]) \
            + ridge * np.eye(f.shape[1])
        try:
            Lc = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            raise ValueError(f"the covariance of class {c} (+ ridge {ridge:g}) is not "
                             "positive definite (fewer samples than dimensions?); give a "
                             "larger ridge") from None
        xs.append(mu + rng.standard_normal((n_per_class, f.shape[1])) @ Lc.T)
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).reshape(-1, *shape), np.concatenate(ys)


def radial_power(x) -> np.ndarray:
    """Per-sample power spectra ``|x̂|²`` (flattened, DC dropped) — classifier features."""
    x = _array(x, "x", ndim=(2, 3), want="samples (n, N) or (n, L, L)")
    dim = x.ndim - 1
    P = np.abs(np.fft.fftn(x, axes=tuple(range(1, dim + 1)), norm="ortho")) ** 2
    return P.reshape(len(x), -1)[:, 1:]


# -- textures (R5) ------------------------------------------------------------------------------
def _texture(name: str) -> np.ndarray:
    import skimage.data

    if name not in TEXTURES:
        raise ValueError(f"name must be one of {TEXTURES}; got {name!r}")
    im = np.asarray(getattr(skimage.data, name)(), float)
    if im.ndim == 3:
        im = im[..., :3] @ np.array([0.299, 0.587, 0.114])
    return im / 255.0


def texture_patches(n: int, size: int, rng, names=TEXTURES) -> np.ndarray:
    """``n`` random ``size×size`` grey patches (standardised per pixel over the set)."""
    n = chk.integer(n, "n", minimum=1)
    size = chk.integer(size, "size", minimum=2)
    rng = _rng(rng)
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise TypeError(f"names must be a sequence of texture names from {TEXTURES}; "
                        f"got {names!r}")
    names = list(names)
    if not names:
        raise ValueError(f"names must name at least one texture of {TEXTURES}")
    ims = [_texture(s) for s in names]
    side = min(min(im.shape) for im in ims)
    if size > side:
        raise ValueError(f"size must be ≤ {side} (the smallest side of the textures "
                         f"{names}); got {size}")
    chk.fits(8.0 * 2 * n * size * size, f"{n} patches of {size}×{size}")
    out = np.empty((n, size, size))
    which = rng.integers(0, len(ims), n)
    for i in range(n):
        im = ims[which[i]]
        r, c = rng.integers(0, im.shape[0] - size + 1), rng.integers(0, im.shape[1] - size + 1)
        out[i] = im[r:r + size, c:c + size]
    out -= out.mean(axis=(1, 2), keepdims=True)
    sd = out.std()
    if not sd > 0:
        raise ValueError(f"the {n} patches drawn are all flat (zero variance); draw more "
                         "or larger patches")
    return out / sd


def phase_randomise(x, rng) -> np.ndarray:
    """Each 2-D patch with its own amplitude and uniformly random Hermitian phases (DC kept)."""
    x = _array(x, "x", ndim=(3,), want="(n, L, L)")
    rng = _rng(rng)
    ph = _hermitian_phase_field(len(x), x.shape[1], x.shape[2], rng)[:, 0]
    return _img_ifft(_img_fft(x) * ph)


def whiten(x, mean_amplitude) -> np.ndarray:
    """Divide every patch's spectrum by the (shared) mean amplitude; unit variance per pixel.

    ``x`` ``(n, L, L)``; ``mean_amplitude`` ``(L, L)``, ≥ 0 and not zero everywhere.
    Frequencies where the amplitude is (numerically) zero are dropped."""
    x = _array(x, "x", ndim=(3,), want="patches (n, L, L)")
    Ab = _array(mean_amplitude, "mean_amplitude")
    if Ab.shape != x.shape[1:]:
        raise ValueError(f"mean_amplitude must have shape {x.shape[1:]}; got {Ab.shape}")
    if np.any(Ab < 0) or not np.any(Ab > 0):
        raise ValueError("mean_amplitude must be ≥ 0 and not zero everywhere (an all-zero "
                         "amplitude leaves nothing to whiten: the result would be NaN)")
    if len(x) == 0:
        return x.copy()
    inv = np.where(Ab > 1e-12 * Ab.max(), 1.0 / np.maximum(Ab, 1e-300), 0.0)
    out = _img_ifft(_img_fft(x) * inv)
    sd = out.std()
    if not sd > 0:
        raise ValueError("x has no power at the frequencies where mean_amplitude is "
                         "positive: the whitened patches are all zero (the result would be "
                         "NaN)")
    return out / sd


def class_statistics(task, n: int, n_dir: int, rng) -> dict:
    """Compare the two classes of ``task`` (R2): mean power per frequency, covariance,
    amplitude distributions (KS) and Hermite projections of orders 1–4 on ``n_dir`` random
    unit directions, each difference as a z-score over its Monte-Carlo standard error.

    Returns ``P_plus``, ``P_minus`` (rfft-half mean power), ``zP_max``, ``zC_max``, ``ks_max``,
    ``z`` ``(4, n_dir)`` and ``z_rms`` ``(4,)``.
    """
    from scipy.stats import ks_2samp

    n = chk.integer(n, "n", minimum=10)
    n_dir = chk.integer(n_dir, "n_dir", minimum=1)
    rng = _rng(rng)
    if not callable(getattr(task, "sample_class", None)):
        raise TypeError(f"task must be a PhaseTask (with sample_class); got "
                        f"{type(task).__name__}")
    xp = task.sample_class(n, True, rng).reshape(n, -1)
    xm = task.sample_class(n, False, rng).reshape(n, -1)
    D_ = xp.shape[1]
    Fp = np.abs(np.fft.rfft(xp, norm="ortho")) ** 2
    Fm = np.abs(np.fft.rfft(xm, norm="ortho")) ** 2
    se = np.sqrt((Fp.var(0) + Fm.var(0)) / n) + 1e-12
    zP = np.abs(Fp.mean(0) - Fm.mean(0))[1:] / se[1:]
    Cp, Cm = np.cov(xp, rowvar=False), np.cov(xm, rowvar=False)
    seC = np.sqrt((np.var(xp[:, :, None] * xp[:, None, :], 0)
                   + np.var(xm[:, :, None] * xm[:, None, :], 0)) / n) + 1e-12
    zC = np.abs(Cp - Cm) / seC
    ks = max(ks_2samp(np.round(np.sqrt(Fp[:, k]), 9), np.round(np.sqrt(Fm[:, k]), 9)).statistic
             for k in range(1, Fp.shape[1]))
    C = 0.5 * (Cp + Cm)
    w = rng.standard_normal((n_dir, D_))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    sig = np.sqrt(np.einsum("dn,nm,dm->d", w, C, w))
    hp, hm = xp @ w.T / sig, xm @ w.T / sig
    z = np.empty((4, n_dir))
    for j in range(1, 5):
        a, b = He(j, hp), He(j, hm)
        z[j - 1] = (a.mean(0) - b.mean(0)) / np.sqrt((a.var(0) + b.var(0)) / n)
    return {"P_plus": Fp.mean(0), "P_minus": Fm.mean(0), "zP_max": float(zP.max()),
            "zC_max": float(zC.max()), "ks_max": float(ks), "z": z,
            "z_rms": np.sqrt(np.mean(z ** 2, axis=1))}


__all__.append("class_statistics")


# -- CIFAR-100 (R5, paper preset only) ----------------------------------------------------------
def load_cifar100(n_train=None, n_test=None, *, seed: int = 0, root=None, md5=None,
                  download: bool = False):
    """``(train, test)`` :class:`~freqlearn.data.natural.NaturalImages` of CIFAR-100 (fine
    labels, 100 classes, ``(n, 3, 32, 32)`` float32 in [0, 1]) from the official archive, read
    by :func:`freqlearn.data.load_cifar` (checksum first, restricted unpickler; ``root``,
    ``md5`` and ``download`` are passed on). ``n_train``/``n_test``: ``None`` (all) or a
    random subset drawn with ``seed``. Raises ``CIFARNotFound`` when the archive is absent.
    """
    from .cifar import load_cifar
    from .natural import NaturalImages

    n_train = chk.optional_integer(n_train, "n_train", minimum=1)
    n_test = chk.optional_integer(n_test, "n_test", minimum=1)
    seed = chk.integer(seed, "seed", minimum=0)
    c = load_cifar("cifar100", root=root, md5=md5, download=download)
    rng = np.random.default_rng(seed)
    out = []
    for x, y, n, split in ((c.train_x, c.train_y, n_train, "train"),
                           (c.test_x, c.test_y, n_test, "test")):
        keep = np.arange(len(y))
        if n is not None:
            if n > len(y):
                raise ValueError(f"n_{split} must be ≤ {len(y)} (the {split} images of "
                                 f"{c.path}); got {n}")
            keep = np.sort(rng.choice(len(y), n, replace=False))
        out.append(NaturalImages(x[keep].astype(np.float32) / 255.0,
                                 np.asarray(y[keep], np.int64), tuple(c.classes), c.title,
                                 f"{c.title} from {c.path} ({split}, {len(keep)} images)"))
    return tuple(out)


def whiten_images(x, mean_amplitude) -> np.ndarray:
    """Whitened colour images: each channel's spectrum divided by ``mean_amplitude``
    ``(C, H, W)`` (the training set's mean amplitude), the DC (mean colour) replaced by the
    set's mean, and the contrast rescaled to the standard deviation per channel of the
    input set.

    ``x`` must hold at least one image (its mean colour and contrast are used), and every
    channel of ``mean_amplitude`` must be positive at some frequency other than the DC (an
    all-zero amplitude leaves nothing to whiten: the result would be NaN)."""
    x = _array(x, "x", ndim=(4,), want="(n, C, H, W)")
    if len(x) == 0:
        raise ValueError(f"x must hold at least one image (its mean colour and contrast are "
                         f"kept); got shape {x.shape}")
    Ab = _array(mean_amplitude, "mean_amplitude")
    if Ab.shape != x.shape[1:]:
        raise ValueError(f"mean_amplitude must have shape {x.shape[1:]}; got {Ab.shape}")
    if np.any(Ab < 0):
        raise ValueError("mean_amplitude must be ≥ 0 everywhere (an amplitude)")
    inv = np.where(Ab > 1e-12 * Ab.max(initial=0.0), 1.0 / np.maximum(Ab, 1e-300), 0.0)
    inv[..., 0, 0] = 0.0
    dead = np.flatnonzero(~np.any(inv > 0, axis=(1, 2)))
    if dead.size:
        raise ValueError(f"mean_amplitude is zero at every frequency but the DC in channel "
                         f"{dead[0]}: nothing to whiten (the result would be NaN)")
    w = _img_ifft(_img_fft(x) * inv)
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    sd = x.std(axis=(0, 2, 3), keepdims=True)
    ws = w.std(axis=(0, 2, 3), keepdims=True)
    flat = np.flatnonzero(~(ws.ravel() > 0))
    if flat.size:
        raise ValueError(f"x has no power where mean_amplitude is positive in channel "
                         f"{flat[0]}: its whitened images are zero (the result would be NaN)")
    return mu + w / ws * sd

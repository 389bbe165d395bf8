"""The Fourier toolkit under every chapter (catalog X1, P1, G1, G3, C; book chapter *Toolkit*).

Conventions, fixed once for the whole book:

- Images are ``(..., H, W)`` arrays; ``vec`` flattens the last two axes in row-major (C)
  order, ``x[s * n + t] = X[s, t]``.
- The 1-D DFT matrix is ``F[p, q] = ω^{pq}`` with ``ω = exp(-2πi/n)`` (Pinson SI B, Eq. S.14),
  and the vec-2D DFT matrix is ``Q = F ⊗ F / n`` (Eq. S.15): ``Q x = vec(F2D(X)) / n``.
  With row-major ``vec``, the frequency pair ``(μ, ν)`` sits at index ``j = n μ + ν``.
  (The paper prints ``j = (n-1) μ + ν``; that collides for different pairs, e.g. (1, 0) and
  (0, n-1), so it cannot be the index of a bijection: we use ``n μ + ν``.)
- Circular convolution is ``(X ⊛ K)[i, j] = Σ_{m,l} X[m, l] K[i-m, j-l]`` (Eq. S.18) and
  correlation ``(X ⋆ K)[i, j] = Σ_{m,l} X[i+m, j+l] K[m, l]`` (what deep-learning layers
  compute; see :func:`corr2d_direct` for the paper's Eq. S.20).
- Fast paths go through ``torch.fft.rfft2`` with no normalisation on the forward
  transform, so ``irfft2(rfft2(x) * rfft2(k)) = x ⊛ k`` exactly.

The direct O(n⁴) definitions (:func:`dbc`, :func:`conv2d_direct`, …) exist to test the fast
ones; the tests in ``tests/test_fourier.py`` hold each pair equal to 1e-10 in float64.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "MAX_DENSE_BYTES", "dft_matrix", "Q", "vec", "unvec", "freq_index", "freq_pair", "jsymm",
    "circ", "circ_corr", "dbc", "dbc_corr", "dbc_fourier", "dbc_corr_fourier",
    "conv2d_direct", "corr2d_direct", "SpectralKernel", "kernel_hat", "fft_conv2d",
    "fft_depthwise_conv2d", "dft2", "frequency_grid", "radial_profile", "radial_moment",
    "power_spectrum", "PowerLawFit", "fit_power_law", "fit_separable_power_law",
    "fourier_covariance", "covariance_vs_distance", "offdiagonal_fraction",
    "extract_patches", "patch_pca", "energy_profile",
]


# --------------------------------------------------------------------------- checks
#: Largest allocation (bytes) a dense O(n⁴) build (``Q``, ``dbc``, a covariance, …) may make
#: before it is refused up front; the environment variable ``FREQLEARN_MAX_BYTES`` (bytes,
#: or a number with a unit such as ``4GiB``) overrides it at call time.
MAX_DENSE_BYTES = 2**30

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6,
          "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12,
          "tib": 2**40}


def _max_bytes() -> int:
    """The allocation limit: ``FREQLEARN_MAX_BYTES`` if set (and non-empty), else the constant."""
    raw = os.environ.get("FREQLEARN_MAX_BYTES", "").strip()
    if not raw:
        return int(MAX_DENSE_BYTES)
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)", raw)
    val = float(m.group(1)) * _UNITS.get(m.group(2).lower(), np.nan) if m else np.nan
    if not (np.isfinite(val) and val >= 1):
        raise ValueError("FREQLEARN_MAX_BYTES must be a positive number of bytes, optionally "
                         f"with a unit (e.g. 2147483648 or 2GiB); got {raw!r}")
    return int(val)


def _fmt_bytes(n: float) -> str:
    """``1.5 GiB``-style size; beyond 1024 PiB, bytes in scientific notation."""
    if n >= 1024**6:
        return f"{n:.2g} bytes"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f}".removesuffix(".0") + f" {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _check_bytes(what: str, nbytes: int, hint: str = "use the FFT routines instead") -> None:
    """Refuse, before allocating, a build of ``nbytes`` bytes over the limit; ``what`` names it."""
    limit = _max_bytes()
    if nbytes > limit:
        raise ValueError(f"{what} would allocate {_fmt_bytes(nbytes)} (> limit "
                         f"{_fmt_bytes(limit)}, FREQLEARN_MAX_BYTES); {hint}")


def _as_int(name: str, v, *, min: int | None = 1) -> int:
    """``v`` as a Python int: ints and NumPy integers only (no bool, float, str, array)."""
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if ok and (min is None or v >= min):
        return int(v)
    what = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        min, f"an integer ≥ {min}")
    kind = "" if ok else f" ({type(v).__name__})"
    raise ValueError(f"{name} must be {what}; got {v!r}{kind}")


def _as_float(name: str, v) -> float:
    """``v`` as a finite Python float: real numbers only (no bool, complex, str, NaN, ±inf)."""
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_))
    if not ok or not np.isfinite(v):
        kind = "" if ok else f" ({type(v).__name__})"
        raise ValueError(f"{name} must be a finite real number; got {v!r}{kind}")
    return float(v)


def _check_finite(name: str, x: np.ndarray) -> None:
    """Refuse NaN or ±inf in ``x``, saying how many entries and where the first one is."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite; got {int(bad.sum())} NaN/inf entr"
                         f"{'y' if bad.sum() == 1 else 'ies'} of {x.size} (first at index "
                         f"{first}: {x[first]!r})")


def _check_nonempty(name: str, shape, expected: str) -> None:
    """Refuse a zero-size dimension (an empty batch, zero channels, a 0×0 image)."""
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} must have shape {expected} with no zero-size axis; got "
                         f"shape {tuple(shape)}")


def _same_device(**tensors: torch.Tensor) -> torch.device:
    """The common device of ``tensors``; refuse a mix (e.g. meta and cpu, or cpu and cuda)."""
    devs = {name: t.device for name, t in tensors.items()}
    if len(set(devs.values())) > 1:
        got = ", ".join(f"{name} on {d}" for name, d in devs.items())
        raise ValueError(f"{' and '.join(devs)} must be on the same device; got {got}")
    return next(iter(devs.values()))


def _shape_error(name: str, expected: str, got) -> ValueError:
    return ValueError(f"{name} must have shape {expected}; got shape {tuple(got)}")


def _as_np(x, name: str, *, real: bool = True) -> np.ndarray:
    """``x`` (array-like or tensor) as a NumPy array of numbers, its dtype kept.

    Tensors are detached and moved to the CPU; meta tensors (no data), object/str arrays and,
    with ``real=True``, complex values are refused with an error naming ``name``.
    """
    if isinstance(x, torch.Tensor):
        if x.device.type == "meta":
            raise ValueError(f"{name} is a tensor on the meta device, which holds no data; "
                             "pass a tensor on a real device (cpu, cuda)")
        if real and x.is_complex():
            raise TypeError(f"{name} must be real; got complex dtype {x.dtype}")
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x)
    except ValueError as e:  # ragged nested lists
        raise TypeError(f"{name} must be a rectangular array of numbers; got "
                        f"{type(x).__name__} ({e})") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be a numeric array; got dtype {a.dtype}")
    if real and np.iscomplexobj(a):
        raise TypeError(f"{name} must be real; got complex dtype {a.dtype}")
    return a


def _as_real_np(x, name: str, *, ndim=None, min_ndim=None, expected: str = "") -> np.ndarray:
    """Convert ``x`` to a float64 NumPy array and check its rank, with a helpful error."""
    if isinstance(x, torch.Tensor) and x.device.type != "meta" and not x.is_complex():
        x = x.detach().cpu().double()
    a = _as_np(x, name)
    if ndim is not None and a.ndim != ndim:
        raise _shape_error(name, expected, a.shape)
    if min_ndim is not None and a.ndim < min_ndim:
        raise _shape_error(name, expected, a.shape)
    return a.astype(np.float64, copy=False)


def _check_n(n, name: str = "n") -> int:
    return _as_int(name, n, min=1)


def _square(a: np.ndarray, name: str) -> int:
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise _shape_error(name, "(n, n)", a.shape)
    return a.shape[0]


# ------------------------------------------------------------------ DFT matrices (P1)
def dft_matrix(n: int) -> np.ndarray:
    """The n×n DFT matrix ``F[p, q] = exp(-2πi pq/n)`` (Pinson SI B, Eq. S.14)."""
    n = _check_n(n)
    _check_bytes(f"dft_matrix(n={n})", 16 * n * n)
    p = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(p, p) / n)


def Q(n: int) -> np.ndarray:  # noqa: N802  (the paper's symbol)
    """The vec-2D DFT matrix ``Q = F ⊗ F / n`` (Pinson Eq. S.15; Fig. 1).

    ``Q`` is unitary (``Q^{*T} = Q^{-1}``) and symmetric, and ``Q vec(X) = vec(F2D(X))/n``.
    Refused up front if its ``16 n⁴`` bytes exceed :data:`MAX_DENSE_BYTES`.
    """
    n = _check_n(n)
    _check_bytes(f"Q(n={n})", 16 * n**4)
    F = dft_matrix(n)
    out = np.kron(F, F)
    out /= n  # in place: one n⁴ array, not two
    return out


def vec(X) -> np.ndarray:
    """Row-major vectorisation of the last two axes: ``(..., H, W) → (..., H*W)``."""
    a = np.asarray(X)
    if a.ndim < 2:
        raise _shape_error("X", "(..., H, W)", a.shape)
    return a.reshape(*a.shape[:-2], a.shape[-2] * a.shape[-1])


def unvec(x, n: int, m: int | None = None) -> np.ndarray:
    """Inverse of :func:`vec`: ``(..., n*m) → (..., n, m)`` (``m = n`` by default)."""
    n = _check_n(n)
    m = n if m is None else _check_n(m, "m")
    a = np.asarray(x)
    if a.ndim < 1 or a.shape[-1] != n * m:
        raise _shape_error("x", f"(..., {n * m})", a.shape)
    return a.reshape(*a.shape[:-1], n, m)


def freq_index(mu: int, nu: int, n: int) -> int:
    """vec-2D index ``j = n μ + ν`` of the frequency pair ``(μ, ν)`` (see module note)."""
    n = _check_n(n)
    mu, nu = _as_int("mu", mu, min=None), _as_int("nu", nu, min=None)
    if not (0 <= mu < n and 0 <= nu < n):
        raise ValueError(f"(mu, nu) must lie in [0, {n})²; got ({mu}, {nu})")
    return n * mu + nu


def freq_pair(j: int, n: int) -> tuple[int, int]:
    """The pair ``(μ, ν)`` of vec-2D index ``j`` (inverse of :func:`freq_index`)."""
    n = _check_n(n)
    j = _as_int("j", j, min=None)
    if not 0 <= j < n * n:
        raise ValueError(f"j must lie in [0, {n * n}); got {j}")
    return j // n, j % n


def jsymm(j, n: int):
    """Symmetric index of ``j``: the pair ``((n-μ) mod n, (n-ν) mod n)`` (Pinson §1.2).

    For real ``x``: ``(Q x)[jsymm(j)] = conj((Q x)[j])``. Works on arrays of indices.
    """
    n = _check_n(n)
    j = _as_np(j, "j")
    if not np.issubdtype(j.dtype, np.integer):
        raise TypeError(f"j must be an integer index or array of them; got dtype {j.dtype}")
    if j.size and (j.min() < 0 or j.max() >= n * n):
        raise ValueError(f"j must lie in [0, {n * n}); got values in [{j.min()}, {j.max()}]")
    mu, nu = j // n, j % n
    out = n * ((-mu) % n) + (-nu) % n
    return int(out) if out.ndim == 0 else out


# ------------------------------------------------- circulant matrices (P1, SI C)
def _circ_vector(b, fn: str) -> np.ndarray:
    b = _as_np(b, "b", real=False)
    if b.ndim != 1:
        raise _shape_error("b", "(q,)", b.shape)
    _check_bytes(f"{fn}(b of length {b.shape[0]})", b.shape[0] ** 2 * b.itemsize)
    return b


def circ(b) -> np.ndarray:
    """Circulant matrix ``circ(b)[r, c] = b[(r - c) mod q]`` (Pinson Eq. S.16)."""
    b = _circ_vector(b, "circ")
    q = b.shape[0]
    r = np.arange(q)
    return b[(r[:, None] - r[None, :]) % q]


def circ_corr(b) -> np.ndarray:
    """Correlation circulant ``circcorr(b)[r, c] = b[(c - r) mod q]`` (Pinson Eq. S.21)."""
    b = _circ_vector(b, "circ_corr")
    q = b.shape[0]
    r = np.arange(q)
    return b[(r[None, :] - r[:, None]) % q]


def _dbc_generic(B, name: str, sign: int, fn: str) -> np.ndarray:
    B = _as_np(B, name, real=False)  # int, bool and complex B are fine; str/object are not
    if B.ndim != 2:
        raise _shape_error(name, "(u, m)", B.shape)
    u, m = B.shape
    _check_bytes(f"{fn}({name} of shape {u}×{m})", (u * m) ** 2 * B.itemsize)
    i = np.arange(u)[:, None, None, None]
    r = np.arange(m)[None, :, None, None]
    j = np.arange(u)[None, None, :, None]
    c = np.arange(m)[None, None, None, :]
    M = B[(sign * (i - j)) % u, (sign * (r - c)) % m]
    return M.reshape(u * m, u * m)


def dbc(B) -> np.ndarray:
    """Doubly block circulant matrix of ``B`` (Pinson Eq. S.17), by its definition.

    Block ``(i, j)`` is ``circ(B[(i - j) mod u, :])``, so ``dbc(B) vec(X) = vec(X ⊛ B)``
    (Eq. 7) with circular convolution (Eq. S.18).
    """
    return _dbc_generic(B, "B", +1, "dbc")


def dbc_corr(B) -> np.ndarray:
    """Doubly block circulant matrix of a correlation (Pinson Eq. S.22), by its definition.

    Block ``(i, j)`` is ``circcorr(B[(j - i) mod u, :])``, so ``dbc_corr(B) vec(X) =
    vec(X ⋆ B)`` with ``(X ⋆ B)[i, j] = Σ X[i+m, j+l] B[m, l]``.
    """
    return _dbc_generic(B, "B", -1, "dbc_corr")


def _dense_square(K: np.ndarray, fn: str) -> int:
    """Check ``K`` is a non-empty n×n array and that its five n⁴ complex temporaries fit."""
    n = _square(K, "K")
    _check_nonempty("K", K.shape, "(n, n)")
    # Q, its conjugate transpose, diag(Q k) and two products: five n⁴ complex128 arrays
    _check_bytes(f"{fn}(K of shape {n}×{n})", 5 * 16 * n**4)
    return n


def dbc_fourier(K) -> np.ndarray:
    """``dbc(K) = n Q⁻¹ diag(Q k) Q`` (Pinson Eq. 6): the eigendecomposition of the conv."""
    K = _as_real_np(K, "K")
    n = _dense_square(K, "dbc_fourier")
    q = Q(n)
    return n * q.conj().T @ np.diag(q @ vec(K)) @ q


def dbc_corr_fourier(K) -> np.ndarray:
    """``dbc_corr(K) = dbc(K_flip) = n Q diag(Q k) Q⁻¹`` (Pinson Eq. S.29)."""
    K = _as_real_np(K, "K")
    n = _dense_square(K, "dbc_corr_fourier")
    q = Q(n)
    return n * q @ np.diag(q @ vec(K)) @ q.conj().T


def _direct_pair(X, K, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """Checks shared by the O(n⁴) references: same (H, W), broadcastable leads, size limit."""
    X = _as_real_np(X, "X", min_ndim=2, expected="(..., H, W)")
    K = _as_real_np(K, "K", min_ndim=2, expected="(..., H, W)")
    H, W = X.shape[-2:]
    if K.shape[-2:] != (H, W):
        raise _shape_error("K", f"(..., {H}, {W}) like X", K.shape)
    _check_nonempty("X", X.shape, "(..., H, W)")
    _check_nonempty("K", K.shape, "(..., H, W)")
    try:
        lead = np.broadcast_shapes(X.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(f"the leading axes of X {X.shape[:-2]} and K {K.shape[:-2]} must "
                         "broadcast against each other") from None
    # the index-gathered (..., H, W, H, W) float64 array
    _check_bytes(f"{fn}(images {H}×{W}, leading axes {tuple(lead)})",
                 8 * int(np.prod(lead)) * (H * W) ** 2, hint="use fft_conv2d instead")
    return X, K


def conv2d_direct(X, K) -> np.ndarray:
    """Circular convolution by its definition (Pinson Eq. S.18), O(n⁴): the reference.

    ``X`` is ``(..., H, W)``; ``K`` is ``(H, W)`` or broadcastable to ``X``.
    """
    X, K = _direct_pair(X, K, "conv2d_direct")
    H, W = X.shape[-2:]
    i = np.arange(H)
    j = np.arange(W)
    # Kd[..., i, j, m, l] = K[..., i-m, j-l]
    Kd = K[..., (i[:, None, None, None] - i[None, None, :, None]) % H,
           (j[None, :, None, None] - j[None, None, None, :]) % W]
    return np.einsum("...ml,...ijml->...ij", X, Kd)


def corr2d_direct(X, K) -> np.ndarray:
    """Circular correlation ``(X ⋆ K)[i, j] = Σ_{m,l} X[i+m, j+l] K[m, l]``, O(n⁴).

    This is what ``torch.nn.functional.conv2d`` computes with circular padding. The
    paper's Eq. S.20 prints ``Σ X[m, l] K[i+m, j+l]``, which is the same sum at ``(-i, -j)``
    (a relabelling ``m → m - i``); Eq. S.21–S.22 and S.29 hold for the form used here.
    """
    X, K = _direct_pair(X, K, "corr2d_direct")
    H, W = X.shape[-2:]
    i = np.arange(H)
    j = np.arange(W)
    Xd = X[..., (i[:, None, None, None] + i[None, None, :, None]) % H,
           (j[None, :, None, None] + j[None, None, None, :]) % W]
    return np.einsum("...ml,...ijml->...ij", K, Xd)


# ------------------------------------------------------ FFT convolution (X1, G1)
_NP_FLOATS = (np.float16, np.float32, np.float64)


def _as_real_tensor(x, name: str, expected: str, min_ndim: int) -> torch.Tensor:
    """``x`` as a real floating tensor of rank ≥ ``min_ndim`` with no zero-size axis.

    NumPy arrays are wrapped (copied only if they have negative strides). float16 is
    accepted on CUDA only and bfloat16 nowhere: the CPU FFT supports neither.
    """
    if isinstance(x, np.ndarray):
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"{name} must be a numeric array; got dtype {x.dtype}")
        if np.iscomplexobj(x):
            raise TypeError(f"{name} must be real; got complex dtype {x.dtype}")
        if x.dtype.type not in _NP_FLOATS:
            raise TypeError(f"{name} must be a real floating tensor; got dtype {x.dtype}")
        x = torch.from_numpy(x.copy() if any(st < 0 for st in x.strides) else x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array; got {type(x).__name__}")
    if x.is_complex() or not x.is_floating_point():
        raise TypeError(f"{name} must be a real floating tensor; got dtype {x.dtype}")
    if x.dtype == torch.bfloat16 or (x.dtype == torch.float16 and x.device.type != "cuda"):
        raise TypeError(f"{name} must be float32 or float64 (float16 only on CUDA): the FFT "
                        f"does not support it; got dtype {x.dtype} on {x.device}")
    if x.ndim < min_ndim:
        raise _shape_error(name, expected, x.shape)
    _check_nonempty(name, x.shape, expected)
    return x


def _as_size(name: str, size) -> tuple[int, int]:
    """An image size: a pair ``(H, W)`` of positive integers (tuple, list, torch.Size)."""
    if isinstance(size, (tuple, list, torch.Size, np.ndarray)) and len(size) == 2:
        try:
            return _as_int(f"{name}[0]", size[0]), _as_int(f"{name}[1]", size[1])
        except ValueError:
            pass
    raise ValueError(f"{name} must be a pair (H, W) of positive integers; got {size!r}")


# The fast path's pieces (speed only: the same numbers as the plain torch expressions; see
# tests/test_fourier.py and the page "Performance" for what each piece gives).
_SAME_SIZE_REAL = {torch.complex64: torch.float64, torch.complex32: torch.float32}


def _transpose_copy(t: torch.Tensor) -> torch.Tensor:
    """``t.transpose(-1, -2).contiguous()``; a complex64 matrix is moved as float64 words,
    which torch's cache-blocked 2-D transpose handles (complex64: 6× slower, page
    "Performance")."""
    real = _SAME_SIZE_REAL.get(t.dtype)
    if real is None or t.ndim != 2 or not t.is_contiguous():
        return t.transpose(-1, -2).contiguous()
    return t.view(real).transpose(-1, -2).contiguous().view(t.dtype)


class _TransposeLast2(torch.autograd.Function):
    """``t.transpose(-1, -2).contiguous()`` as a 2-D transpose copy per leading index (its
    gradient is the transpose back). It replaces the 4-D permute ``(B, C, H, Wr) →
    (H, Wr, B, C)``, which torch copies element by element."""

    @staticmethod
    def forward(ctx, t):
        if t.ndim == 2:
            return _transpose_copy(t)
        return t.transpose(-1, -2).contiguous()

    @staticmethod
    def backward(ctx, g):
        return _TransposeLast2.apply(g.contiguous())


def _transpose_last2(t: torch.Tensor) -> torch.Tensor:
    return _TransposeLast2.apply(t)


class _Rfft2(torch.autograd.Function):
    """``torch.fft.rfft2(x, s=(H, W))`` with a backward of one inverse real FFT.

    torch's own backward of ``rfft2`` zero-pads the half spectrum to the full one and runs
    a complex FFT of it (twice the work, plus the padding copies). For ``X = rfft2(x)`` and
    a real loss with gradient ``G`` (torch's convention ``∂L/∂Re X + i ∂L/∂Im X``),
    ``∂L/∂x[m] = Re Σ_{k in the half spectrum} G[k] e^{+2πi k·m}``: an inverse c2c FFT along
    H, then a c2r FFT along W with the columns that have a mirror image (all but the DC and
    Nyquist columns) halved — c2r counts them twice — and the DC/Nyquist columns made real,
    which is what the real part does to them. The gradient of a zero-padded input is the
    corresponding corner.
    """

    @staticmethod
    def forward(ctx, x, H, W):  # noqa: N803
        ctx.shape = (H, W, x.shape[-2], x.shape[-1])
        return torch.fft.rfft2(x, s=(H, W))

    @staticmethod
    def backward(ctx, g):
        H, W, kh, kw = ctx.shape
        z = torch.fft.ifft(g, dim=-2, norm="forward")  # Σ over k_H, unnormalised; new tensor
        mid = (W + 1) // 2  # columns 1 … mid-1 have a mirror image in the full spectrum
        z[..., 1:mid] *= 0.5
        z[..., :1].imag.zero_()  # the real part of the DC column
        z[..., mid:].imag.zero_()  # and of the Nyquist column of an even W
        gx = torch.fft.irfft(z, n=W, dim=-1, norm="forward")
        if (kh, kw) != (H, W):
            gx = gx[..., :kh, :kw]
        return gx, None, None


def _cheap_conj_mm(a: torch.Tensor, b: torch.Tensor, ca: bool, cb: bool) -> torch.Tensor:
    """``conj^ca(a) @ conj^cb(b)`` with every conjugation physical and on the smaller side.

    A lazily conjugated operand makes CPU ``bmm`` resolve it matrix by matrix (thousands of
    small copies); ``conj(a) @ b = conj(a @ conj(b))`` lets us conjugate whichever of
    ``a`` or ``b`` and the output is cheaper.
    """
    if ca == cb:
        out = torch.matmul(a, b)
        return torch.conj_physical(out) if ca else out
    c, o = (a, b) if ca else (b, a)  # c is the operand to conjugate, o the other one
    n_out = a.shape[-2] * b.shape[-1] * max(a[..., 0, 0].numel(), b[..., 0, 0].numel())
    if c.numel() <= o.numel() + n_out:
        c = torch.conj_physical(c)
        return torch.matmul(c, b) if ca else torch.matmul(a, c)
    o = torch.conj_physical(o)
    return torch.conj_physical(torch.matmul(a, o) if ca else torch.matmul(o, b))


def _sum_to(g: torch.Tensor, shape) -> torch.Tensor:
    """Sum a broadcast gradient back to ``shape`` (leading axes, then size-1 axes)."""
    if g.shape == shape:
        return g
    g = g.sum(tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    pairs = enumerate(zip(g.shape, shape, strict=True))
    dims = tuple(i for i, (p, q) in pairs if q == 1 and p != 1)
    return g.sum(dims, keepdim=True) if dims else g


class _SpectralMatmul(torch.autograd.Function):
    """Per-frequency channel mixing ``Y = X @ K`` (``conj(K)`` for a correlation), with a
    backward that never hands ``bmm`` a lazily conjugated operand.

    torch's convention for complex gradients gives, for ``Y = X K``: ``∂X = G K^H`` and
    ``∂K = X^H G``; for ``Y = X conj(K)``: ``∂X = G K^T`` and ``∂K = conj(X^H G) =
    (G^H X)^T``. ``∂K`` is computed transposed when ``K`` is stored transposed (as
    :func:`kernel_hat` stores it), so it comes out in ``K``'s own memory layout.
    """

    @staticmethod
    def forward(ctx, X, K, corr):  # noqa: N803
        ctx.save_for_backward(X, K)
        ctx.corr = corr
        return _cheap_conj_mm(X, K, False, corr)

    @staticmethod
    def backward(ctx, G):  # noqa: N803
        X, K = ctx.saved_tensors
        corr = ctx.corr
        gX = gK = None
        if ctx.needs_input_grad[0]:
            gX = _sum_to(_cheap_conj_mm(G, K.mT, False, not corr), X.shape)
        if ctx.needs_input_grad[1]:
            if K.stride(-2) == 1 and K.stride(-1) != 1:  # K stored as (…, Co, Ci)
                gK = _cheap_conj_mm(G.mT, X, corr, not corr).mT
            else:
                gK = _cheap_conj_mm(X.mT, G, not corr, corr)
            gK = _sum_to(gK, K.shape)
        return gX, gK, None

@dataclass(frozen=True)
class SpectralKernel:
    """A kernel's ``rfft2`` at image size ``size``, laid out for per-frequency matmuls.

    ``hat`` has shape ``(*lead, H, W//2+1, C_in, C_out)``. Build it once with
    :func:`kernel_hat` and pass it to :func:`fft_conv2d` to reuse it across calls.
    """

    hat: torch.Tensor
    size: tuple[int, int]
    c_in: int
    c_out: int

    def __post_init__(self):
        if not isinstance(self.hat, torch.Tensor) or not self.hat.is_complex():
            got = self.hat.dtype if isinstance(self.hat, torch.Tensor) else type(self.hat)
            raise TypeError(f"SpectralKernel.hat must be a complex tensor; got {got}")
        H, W = _as_size("SpectralKernel.size", self.size)
        ci = _as_int("SpectralKernel.c_in", self.c_in)
        co = _as_int("SpectralKernel.c_out", self.c_out)
        want = (H, W // 2 + 1, ci, co)
        if self.hat.ndim < 4 or tuple(self.hat.shape[-4:]) != want:
            raise _shape_error("SpectralKernel.hat", f"(..., {H}, {W // 2 + 1}, {ci}, {co}) "
                               f"for size={(H, W)}, c_in={ci}, c_out={co} (build it with "
                               "kernel_hat)", self.hat.shape)


def kernel_hat(w, size: tuple[int, int] | None = None) -> SpectralKernel:
    """Transform kernels ``w`` of shape ``(*lead, C_out, C_in, kh, kw)`` at image ``size``.

    Kernels smaller than the image are zero-padded (a full-size circular kernel is the
    case of Godfrey et al.'s ConvActually and of the linear CNNs of Pinson et al.). A
    transform larger than :data:`MAX_DENSE_BYTES` is refused before it is computed.
    """
    w = _as_real_tensor(w, "w", "(..., C_out, C_in, kh, kw)", 4)
    kh, kw = w.shape[-2:]
    H, W = (kh, kw) if size is None else _as_size("size", size)
    if kh > H or kw > W:
        raise ValueError(f"kernel {kh}×{kw} is larger than the image size {H}×{W}")
    n_kernels = w.numel() // (kh * kw)
    _check_bytes(f"kernel_hat(w of shape {tuple(w.shape)}, size={(H, W)})",
                 n_kernels * H * (W // 2 + 1) * 2 * w.element_size(),
                 hint="pass a smaller size or fewer kernels")
    co, ci = w.shape[-4], w.shape[-3]
    hat = _Rfft2.apply(w, H, W)  # (*lead, Co, Ci, H, Wr), contiguous
    # One 2-D transpose (Co·Ci, H·Wr) → (H·Wr, Co·Ci), then a view with the channel axes
    # swapped: hat is (*lead, H, Wr, Ci, Co) with Ci innermost in memory. A 4-D permute
    # to (H, Wr, Ci, Co) costs 1.6× more (page "Performance"); matmul reads either layout.
    hat = _transpose_last2(hat.flatten(-4, -3).flatten(-2, -1))  # (*lead, H·Wr, Co·Ci)
    hat = hat.unflatten(-1, (co, ci)).unflatten(-3, (H, W // 2 + 1)).transpose(-1, -2)
    return SpectralKernel(hat=hat, size=(H, W), c_in=ci, c_out=co)


def _broadcast_leads(a_name: str, a_lead, b_name: str, b_lead) -> None:
    """Refuse leading axes that do not broadcast (pure Python: torch's check costs 15 µs)."""
    for p, q in zip(reversed(a_lead), reversed(b_lead), strict=False):
        if p != q and p != 1 and q != 1:
            raise ValueError(f"the leading axes of {a_name} {tuple(a_lead)} and of {b_name} "
                             f"{tuple(b_lead)} must broadcast against each other")


def fft_conv2d(x, w=None, *, w_hat: SpectralKernel | None = None, mode: str = "conv"):
    """Multi-channel circular convolution of a batch through the FFT (Godfrey Lemma 3.11).

    ``x``: ``(*lead, B, C_in, H, W)``; ``w``: ``(*lead, C_out, C_in, kh, kw)`` or a
    precomputed ``w_hat`` from :func:`kernel_hat`. Returns ``(*lead, B, C_out, H, W)`` with
    ``out[b, o] = Σ_i x[b, i] ⊛ w[o, i]`` (``mode="conv"``, Eq. S.18) or ``⋆`` (``"corr"``,
    what ``conv2d`` with circular padding computes). Leading dims (e.g. trials) broadcast.
    ``x`` and the kernels must be on the same device, with no empty axis.
    """
    if mode not in ("conv", "corr"):
        raise ValueError(f"mode must be 'conv' or 'corr'; got {mode!r}")
    x = _as_real_tensor(x, "x", "(..., B, C_in, H, W)", 4)
    H, W = x.shape[-2:]
    if w_hat is None:
        if w is None:
            raise ValueError("give the kernels w or their transform w_hat")
        w_hat, wname = kernel_hat(w, (H, W)), "w"
    elif w is not None:
        raise ValueError("give either w or w_hat, not both")
    elif not isinstance(w_hat, SpectralKernel):
        raise TypeError(f"w_hat must be a SpectralKernel made by kernel_hat; got "
                        f"{type(w_hat).__name__}")
    else:
        wname = "w_hat"
    if w_hat.size != (H, W):
        raise ValueError(f"w_hat was made for images {w_hat.size}; x has images {(H, W)}")
    if x.shape[-3] != w_hat.c_in:
        raise _shape_error("x", f"(..., B, {w_hat.c_in}, {H}, {W}) (C_in of w)", x.shape)
    _same_device(**{"x": x, wname: w_hat.hat})
    _broadcast_leads("x", x.shape[:-4], wname, w_hat.hat.shape[:-4])
    spec = _SPECTRUM_DTYPE[x.dtype]
    K = w_hat.hat if w_hat.hat.dtype == spec else w_hat.hat.to(spec)
    B, ci, co = x.shape[-4], w_hat.c_in, w_hat.c_out
    lead = max(x[..., :1, :1, :1, :1].numel(), K[..., :1, :1, :1, :1].numel())
    per_image = lead * max(ci, co) * H * (W // 2 + 1)
    step = max(1, _CHUNK_BYTES // (per_image * K.element_size()))
    grad = torch.is_grad_enabled() and (x.requires_grad or K.requires_grad)
    if grad or x.device.type != "cpu" or B < 2 * step:
        return _fft_conv2d(x, K, mode == "corr")
    # Without autograd on a CPU, a large batch goes in equal slices of ~4 MiB of spectrum:
    # the temporaries stay in cache and their memory is reused rather than faulted in anew
    # (page "Performance"); every image is computed exactly as in one call. (Each slice
    # reads all kernel transforms again, hence slices of at least `step` images; with
    # autograd, slices would sum one kernel gradient per slice: slower.)
    step = -(-B // (B // step))  # B // step slices of equal size (the last one shorter)
    return torch.cat([_fft_conv2d(x[..., i:i + step, :, :, :], K, mode == "corr")
                      for i in range(0, B, step)], dim=-4)


#: Spectrum bytes per slice of the batch on a CPU (see :func:`fft_conv2d`).
_CHUNK_BYTES = 4 * 2**20
_SPECTRUM_DTYPE = {torch.float64: torch.complex128, torch.float32: torch.complex64,
                   torch.float16: torch.complex32}


def _fft_conv2d(x: torch.Tensor, K: torch.Tensor, corr: bool) -> torch.Tensor:
    """The FFT path of :func:`fft_conv2d` for checked inputs; ``K`` is a ``SpectralKernel.hat``
    of the spectrum's dtype."""
    H, W = x.shape[-2:]
    B, ci, co, Wr = x.shape[-4], K.shape[-2], K.shape[-1], W // 2 + 1
    X = _Rfft2.apply(x, H, W)  # (*lead, B, Ci, H, Wr)
    X = _transpose_last2(X.flatten(-4, -3).flatten(-2, -1))  # (*lead, H·Wr, B·Ci)
    X = X.unflatten(-1, (B, ci)).unflatten(-3, (H, Wr))  # (*lead, H, Wr, B, Ci)
    Y = _SpectralMatmul.apply(X, K, corr)  # (*lead, H, Wr, B, Co)
    Y = _transpose_last2(Y.flatten(-4, -3).flatten(-2, -1))  # (*lead, B·Co, H·Wr)
    Y = Y.unflatten(-1, (H, Wr)).unflatten(-3, (B, co))  # (*lead, B, Co, H, Wr)
    return torch.fft.irfft2(Y, s=(H, W))


def fft_depthwise_conv2d(x, k, *, mode: str = "conv"):
    """Per-channel circular convolution ``out[..., c] = x[..., c] ⊛ k[..., c]`` via the FFT.

    ``x``: ``(..., C, H, W)``; ``k``: broadcastable to ``x`` with full-size or smaller
    kernels (zero-padded). This is the first layer of Pinson et al.'s two-layer linear CNN
    (Eq. 8): one n×n kernel per input channel. ``x`` and ``k`` share one device.
    """
    if mode not in ("conv", "corr"):
        raise ValueError(f"mode must be 'conv' or 'corr'; got {mode!r}")
    x = _as_real_tensor(x, "x", "(..., C, H, W)", 2)
    k = _as_real_tensor(k, "k", "(..., C, kh, kw)", 2)
    _same_device(x=x, k=k)
    H, W = x.shape[-2:]
    if k.shape[-2] > H or k.shape[-1] > W:
        raise ValueError(f"kernel {tuple(k.shape[-2:])} is larger than the image {(H, W)}")
    _broadcast_leads("x", x.shape[:-2], "k", k.shape[:-2])
    Kh = torch.fft.rfft2(k, s=(H, W))
    if mode == "corr":
        Kh = Kh.conj()
    return torch.fft.irfft2(torch.fft.rfft2(x) * Kh, s=(H, W))


def dft2(x, norm: str = "ortho"):
    """2-D DFT over the last two axes; ``norm="ortho"`` is Godfrey et al.'s Eq. 3.5."""
    if norm not in ("backward", "ortho", "forward"):
        raise ValueError(f"norm must be 'backward', 'ortho' or 'forward'; got {norm!r}")
    if isinstance(x, torch.Tensor):
        if x.ndim < 2:
            raise _shape_error("x", "(..., H, W)", x.shape)
        _check_nonempty("x", x.shape, "(..., H, W)")
        return torch.fft.fft2(x, norm=norm)
    a = _as_np(x, "x", real=False)
    if a.ndim < 2:
        raise _shape_error("x", "(..., H, W)", a.shape)
    _check_nonempty("x", a.shape, "(..., H, W)")
    return np.fft.fft2(a, norm=norm)


# ------------------------------------------------- radial profiles (G, Eq. 5.1)
def frequency_grid(H: int, W: int | None = None):
    """Signed integer frequencies ``(i, j)`` and radius ``r = √(i²+j²)`` in FFT layout.

    Index ``[a, b]`` holds frequency ``(i, j) = (a, b)`` folded into ``[-H/2, H/2)``, the
    layout of ``np.fft.fft2`` (DC at ``[0, 0]``).
    """
    H = _check_n(H, "H")
    W = H if W is None else _check_n(W, "W")
    _check_bytes(f"frequency_grid(H={H}, W={W})", 3 * 8 * H * W,
                 hint="images this large do not fit in memory either")
    i = np.rint(np.fft.fftfreq(H) * H).astype(int)
    j = np.rint(np.fft.fftfreq(W) * W).astype(int)
    ii, jj = np.meshgrid(i, j, indexing="ij")
    return ii, jj, np.sqrt(ii**2 + jj**2)


def radial_profile(a, *, bins: str = "exact"):
    """Radial average of ``a`` (``(..., H, W)``, FFT layout) over ``|(i, j)| = r``.

    ``bins="exact"`` averages over indices with exactly the same radius (Godfrey SI C.2:
    "we average over all indices cij such that √(i²+j²) = r"); ``"integer"`` rounds r to
    the nearest integer. Returns ``(r, profile)`` with ``profile`` of shape ``(..., len(r))``.
    """
    a = _as_real_np(a, "a", min_ndim=2, expected="(..., H, W)")
    if bins not in ("exact", "integer"):
        raise ValueError(f"bins must be 'exact' or 'integer'; got {bins!r}")
    _check_nonempty("a", a.shape, "(..., H, W)")
    H, W = a.shape[-2:]
    ii, jj, r = frequency_grid(H, W)
    key = (ii**2 + jj**2) if bins == "exact" else np.rint(r).astype(int)
    uniq, inv = np.unique(key.ravel(), return_inverse=True)
    counts = np.bincount(inv)
    flat = a.reshape(-1, H * W)
    sums = np.stack([np.bincount(inv, weights=row, minlength=len(uniq)) for row in flat])
    prof = (sums / counts).reshape(*a.shape[:-2], len(uniq))
    radii = np.sqrt(uniq) if bins == "exact" else uniq.astype(float)
    return radii, prof


def radial_moment(r, g, k: int = 1) -> np.ndarray:
    """k-th moment ``∫ r^k g(r) dr / ∫ g(r) dr`` of a radial profile (Godfrey Eq. 5.1).

    The integrals are trapezoid sums over the (non-uniform) radii ``r``; ``g`` may carry
    leading axes (one profile per row). ``r`` needs at least two radii and every profile a
    positive mass ``∫ g dr``.
    """
    _as_float("k", k)
    r = _as_real_np(r, "r", ndim=1, expected="(R,)")
    g = _as_real_np(g, "g", min_ndim=1, expected="(..., R)")
    if r.shape[0] < 2:
        raise ValueError(f"r must hold at least 2 radii for a trapezoid integral; got shape "
                         f"{r.shape}")
    if g.shape[-1] != r.shape[0]:
        raise _shape_error("g", f"(..., {r.shape[0]}) (one value per radius)", g.shape)
    _check_nonempty("g", g.shape, "(..., R)")
    if np.any(np.diff(r) <= 0):
        raise ValueError("r must be strictly increasing")
    if np.any(g < 0):
        raise ValueError("g must be non-negative (Eq. 5.1 treats it as a density)")
    mass = np.trapezoid(g, r, axis=-1)
    if np.any(mass == 0):
        where = np.argwhere(np.atleast_1d(mass) == 0)[0]
        raise ValueError("g must have a positive mass ∫ g dr (Eq. 5.1 divides by it); the "
                         f"profile at index {tuple(int(i) for i in where)} is all zeros")
    return np.trapezoid(r**k * g, r, axis=-1) / mass


# ------------------------------------------------------- image spectra (G3, toolkit)
def _images_nchw(images, name="images", *, min_n: int = 1) -> np.ndarray:
    """Images as ``(N, C, H, W)`` float64 with ``N ≥ min_n`` and ``C, H, W ≥ 1``."""
    expected = "(N, H, W) or (N, C, H, W)"
    a = _as_real_np(images, name, min_ndim=3, expected=expected)
    if a.ndim > 4:
        raise _shape_error(name, expected, a.shape)
    if any(s == 0 for s in a.shape[1:]):
        raise ValueError(f"{name} must have shape {expected} with C, H, W ≥ 1; got shape "
                         f"{a.shape}")
    if a.shape[0] < min_n:
        raise ValueError(f"{name} must hold at least {min_n} image{'s' * (min_n > 1)}; got "
                         f"shape {a.shape} (N={a.shape[0]})")
    return a[:, None] if a.ndim == 3 else a


def power_spectrum(images, *, remove_mean: bool = True) -> np.ndarray:
    """Mean power ``E|DFT(x)|²`` (orthonormal DFT) of an image set, ``(H, W)`` FFT layout.

    ``images``: ``(N, H, W)`` or ``(N, C, H, W)``; channels and images are averaged. With
    ``remove_mean`` each image's mean is subtracted first, so the DC term is zero.
    """
    a = _images_nchw(images)  # N ≥ 1: the mean over no images is undefined
    if remove_mean:
        a = a - a.mean(axis=(-2, -1), keepdims=True)
    return (np.abs(np.fft.fft2(a, norm="ortho")) ** 2).mean(axis=(0, 1))


class PowerLawFit(NamedTuple):
    """``P(k) ≈ amplitude · k^(-exponent)`` fitted by least squares in log–log space."""

    exponent: float
    amplitude: float
    stderr: float
    r2: float
    kmin: float
    kmax: float


def fit_power_law(k, P, *, kmin: float = 1.0, kmax: float | None = None) -> PowerLawFit:
    """Fit ``P ≈ A k^(-α)`` on ``kmin ≤ k ≤ kmax`` (ordinary least squares on logs).

    ``k`` and ``P`` must be finite. The fit takes ``log k``, so every ``k`` in the window
    must be positive: :func:`radial_profile` starts at radius 0, so pass ``kmin > 0`` (e.g.
    ``kmin=1``). Points with ``P ≤ 0`` are left out; at least 3 must remain, at no fewer
    than 2 distinct ``k``.
    """
    k = _as_real_np(k, "k", ndim=1, expected="(R,)")
    P = _as_real_np(P, "P", ndim=1, expected="(R,) like k")
    if P.shape != k.shape:
        raise _shape_error("P", f"{k.shape} like k", P.shape)
    if k.shape[0] < 3:
        raise ValueError(f"k must hold at least 3 radii to fit; got shape {k.shape}")
    _check_finite("k", k)
    _check_finite("P", P)
    kmin_f = _as_float("kmin", kmin)
    kmax = float(k.max()) if kmax is None else _as_float("kmax", kmax)
    if kmin_f > kmax:
        raise ValueError(f"kmin must be ≤ kmax; got kmin={kmin!r}, kmax={kmax!r}")
    win = (k >= kmin_f) & (k <= kmax)
    if np.any(k[win] <= 0):
        raise ValueError(f"k must be positive in the fit window [kmin, kmax] = [{kmin}, {kmax}]"
                         f" (the fit takes log k); got k = {k[win].min():g} there. Pass "
                         "kmin > 0 (e.g. kmin=1) to leave out the DC radius 0")
    m = win & (P > 0)
    if m.sum() < 3:
        raise ValueError(f"need at least 3 positive points in [{kmin}, {kmax}] to fit; got "
                         f"{int(m.sum())} (P > 0 at {int(m.sum())} of the {int(win.sum())} k "
                         "in [kmin, kmax])")
    if np.ptp(k[m]) == 0:
        raise ValueError(f"k must take at least 2 distinct values in [kmin, kmax] = [{kmin}, "
                         f"{kmax}] to fit an exponent; got k = {k[m][0]:g} at all "
                         f"{int(m.sum())} points")
    X = np.log(k[m])
    Y = np.log(P[m])
    A = np.stack([np.ones_like(X), X], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, Y, rcond=None)
    resid = Y - A @ coef
    dof = max(m.sum() - 2, 1)
    s2 = resid @ resid / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    r2 = 1.0 - resid @ resid / np.sum((Y - Y.mean()) ** 2)
    return PowerLawFit(float(-coef[1]), float(np.exp(coef[0])), float(np.sqrt(cov[1, 1])),
                       float(r2), float(kmin), kmax)


def fit_separable_power_law(tau) -> dict:
    """Fit ``τ_ij ≈ γ / (|i|^α + |j|^β)`` to a variance image (Godfrey §4, after Eq. 4.18).

    ``tau``: ``(H, W)`` in FFT layout; the DC term is excluded. Least squares on
    ``log τ``. Returns ``{"gamma", "alpha", "beta", "rms_log_residual"}``.
    """
    from scipy.optimize import least_squares

    tau = _as_real_np(tau, "tau", ndim=2, expected="(H, W)")
    _check_nonempty("tau", tau.shape, "(H, W)")
    _check_finite("tau", tau)
    ii, jj, _ = frequency_grid(*tau.shape)
    m = ((ii != 0) | (jj != 0)) & (tau > 0)
    if m.sum() < 3:
        raise ValueError(f"tau must have at least 3 positive entries besides the DC term to "
                         f"fit 3 parameters; got {int(m.sum())}")
    ai, aj, y = np.abs(ii[m]).astype(float), np.abs(jj[m]).astype(float), np.log(tau[m])

    def resid(p):
        lg, a, b = p
        return lg - np.log(ai**a + aj**b) - y

    sol = least_squares(resid, x0=[float(np.median(y)) + 1.0, 2.0, 2.0],
                        bounds=([-np.inf, 0.05, 0.05], [np.inf, 8.0, 8.0]))
    lg, a, b = sol.x
    return {"gamma": float(np.exp(lg)), "alpha": float(a), "beta": float(b),
            "rms_log_residual": float(np.sqrt(np.mean(sol.fun**2)))}


def fourier_covariance(images) -> np.ndarray:
    """Hermitian covariance of the orthonormal DFT of an image set (Godfrey Eq. C.1).

    ``images``: ``(N, H, W)`` or ``(N, C, H, W)``. Returns ``(D, D)`` complex with
    ``D = C·H·W`` and index ``c·H·W + i·W + j``: ``Σ = E[(x̂-μ̂)(x̂-μ̂)^*ᵀ]``. (Eq. C.1
    prints a plain transpose; for complex x̂ the conjugate makes Σ Hermitian with the
    variances τ on its diagonal, which is what Fig. 1c shows.)
    """
    a = _images_nchw(images, min_n=0)
    N, D = a.shape[0], int(np.prod(a.shape[1:]))
    if N < 2:
        raise ValueError(f"images must hold at least 2 images for a covariance; got shape "
                         f"{a.shape} (N={N})")
    # the (D, D) complex result and two (N, D) complex transforms
    _check_bytes(f"fourier_covariance(images of shape {a.shape})", 16 * D * (D + 2 * N),
                 hint="use fewer channels or smaller images (D = C·H·W)")
    xh = np.fft.fft2(a, norm="ortho").reshape(N, -1)
    xh = xh - xh.mean(axis=0, keepdims=True)
    return (xh.T @ xh.conj()) / (N - 1)


def covariance_vs_distance(Sigma, shape, *, modular: bool = True):
    """Mean ``|Σ_ab|`` over entry pairs at frequency distance r (Godfrey Fig. 1a–b, SI C.1).

    ``shape`` is ``(C, H, W)`` of the images behind ``Sigma`` (FFT index layout). The
    distance is taken between the DFT indices ``(c, i, j)`` on the discrete square
    ``{0..H-1} × {0..W-1}`` (``modular=False``, Fig. 1a) or on the torus Z/H × Z/W
    (``modular=True``, Fig. 1b); the channel index counts as a third coordinate, as in
    Godfrey's caption. Returns ``(r, mean_abs)`` over the distinct distances.
    """
    if not (isinstance(shape, (tuple, list, torch.Size, np.ndarray)) and len(shape) == 3):
        raise ValueError(f"shape must be (C, H, W) of the images behind Sigma; got {shape!r}")
    C, H, W = (_as_int(f"shape[{i}]", s) for i, s in enumerate(shape))
    D = C * H * W
    Sigma = _as_np(Sigma, "Sigma", real=False)
    if Sigma.shape != (D, D):
        raise _shape_error("Sigma", f"({D}, {D}) for images {(C, H, W)}", Sigma.shape)
    # about six (D, D) 8-byte temporaries: distances, keys, |Σ|, inverse indices
    _check_bytes(f"covariance_vs_distance(Sigma of shape {(D, D)})", 6 * 8 * D * D,
                 hint="use smaller images")
    c, fi, fj = np.unravel_index(np.arange(D), (C, H, W))
    di = np.abs(fi[:, None] - fi[None, :])
    dj = np.abs(fj[:, None] - fj[None, :])
    if modular:
        di = np.minimum(di, H - di)
        dj = np.minimum(dj, W - dj)
    dc = c[:, None] - c[None, :]
    key = (di**2 + dj**2 + dc**2).ravel()
    uniq, inv = np.unique(key, return_inverse=True)
    mean_abs = np.bincount(inv, weights=np.abs(Sigma).ravel()) / np.bincount(inv)
    return np.sqrt(uniq), mean_abs


def offdiagonal_fraction(Sigma) -> float:
    """Fraction of the squared Frobenius mass of ``Σ`` that lies off its diagonal."""
    S = _as_np(Sigma, "Sigma", real=False)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise _shape_error("Sigma", "(D, D)", S.shape)
    _check_nonempty("Sigma", S.shape, "(D, D)")
    tot = float(np.sum(np.abs(S) ** 2))
    diag = float(np.sum(np.abs(np.diag(S)) ** 2))
    if tot == 0:
        raise ValueError("Sigma must not be all zeros: the off-diagonal fraction of a zero "
                         "matrix is 0/0")
    return (tot - diag) / tot


# ------------------------------------------------------ patches (Chowers Def. 2.1)
def extract_patches(images, size: int, *, stride: int = 1) -> np.ndarray:
    """All ``size×size`` patches of an image set, flattened: ``(M, C·size·size)``.

    ``images``: ``(N, H, W)`` or ``(N, C, H, W)``; patches do not wrap around edges. The
    flattening order is channel, row, column — the order of a conv filter ``(C, s, s)``.
    """
    a = _images_nchw(images, min_n=0)  # N = 0 gives no patches: (0, C·size·size)
    size = _as_int("size", size)
    stride = _as_int("stride", stride)
    N, C, H, W = a.shape
    if size > min(H, W):
        raise ValueError(f"patch size {size} exceeds the image size {H}×{W}")
    M = N * (-(-(H - size + 1) // stride)) * (-(-(W - size + 1) // stride))
    _check_bytes(f"extract_patches(images of shape {a.shape}, size={size}, stride={stride})",
                 8 * M * C * size * size, hint="use a larger stride or fewer images")
    win = np.lib.stride_tricks.sliding_window_view(a, (size, size), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # (N, C, h', w', s, s)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, C * size * size)


def patch_pca(patches, *, center: bool = False):
    """PCA vectors of patches: eigenvectors of ``Σ_n p_n p_nᵀ`` (Chowers Def. 2.1).

    Returns ``(eigenvalues, U)`` sorted by decreasing eigenvalue, ``U[:, i] = u_i``; the
    eigenvalues are those of the mean ``⟨p pᵀ⟩``. Def. 2.1 does not centre the patches;
    ``center=True`` subtracts the mean patch first. Each ``u_i`` has a sign fixed so its
    largest-magnitude entry is positive (makes results reproducible across LAPACKs).
    """
    P = _as_real_np(patches, "patches", ndim=2, expected="(M, d)")
    _check_nonempty("patches", P.shape, "(M, d)")
    _check_bytes(f"patch_pca(patches of shape {P.shape})", 2 * 8 * P.shape[1] ** 2,
                 hint="use smaller patches (the d×d second-moment matrix and its eigenvectors)")
    _check_finite("patches", P)
    if center:
        P = P - P.mean(axis=0, keepdims=True)
    evals, U = np.linalg.eigh(P.T @ P / P.shape[0])
    order = np.argsort(evals)[::-1]
    evals, U = evals[order], U[:, order]
    idx = np.argmax(np.abs(U), axis=0)
    U = U * np.sign(U[idx, np.arange(U.shape[1])])
    return evals, U


def energy_profile(filters, U) -> np.ndarray:
    """Energy profile ``e_i = sqrt((1/K) Σ_k (w_kᵀ u_i)²)`` (Chowers Def. 2.2, Eq. 1).

    ``filters``: ``(K, d)`` (or ``(K, C, s, s)``, flattened); ``U``: ``(d, d)`` PCA basis.
    """
    Wf = _as_real_np(filters, "filters", min_ndim=2, expected="(K, d) or (K, C, s, s)")
    _check_nonempty("filters", Wf.shape, "(K, d) or (K, C, s, s)")
    Wf = Wf.reshape(Wf.shape[0], -1)
    U = _as_real_np(U, "U", ndim=2, expected="(d, d)")
    if U.shape[0] != Wf.shape[1]:
        raise _shape_error("U", f"({Wf.shape[1]}, d) (filter dimension first)", U.shape)
    return np.sqrt(np.mean((Wf @ U) ** 2, axis=0))


# ------------------------------------------------------------------ benchmark (toolkit)
def benchmark_fft_conv(*, batch: int = 16, channels: int = 64, size: int = 32,
                       repeats: int = 3, seed: int = 0) -> dict:
    """Time one full-size circular layer: :func:`fft_conv2d` vs ``conv2d`` (circular pad).

    Float32, ``channels → channels`` with ``size×size`` kernels on ``batch`` images; the
    kernel transform is computed once (as in training). Returns the best-of-``repeats``
    seconds of each path and the relative difference of their outputs.
    """
    import time

    import torch.nn.functional as F

    batch, channels = _as_int("batch", batch), _as_int("channels", channels)
    size, repeats, seed = _as_int("size", size), _as_int("repeats", repeats), _as_int(
        "seed", seed, min=0)

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, size, size, generator=g)
    w = torch.randn(channels, channels, size, size, generator=g) / size
    w_hat = kernel_hat(w, (size, size))

    def best(fn):
        out, ts = None, []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t0)
        return min(ts), out

    with torch.no_grad():
        fft_conv2d(x, w_hat=w_hat, mode="corr")  # warm-up
        t_fft, y_fft = best(lambda: fft_conv2d(x, w_hat=w_hat, mode="corr"))
        pad = (0, size - 1, 0, size - 1)
        t_dir, y_dir = best(lambda: F.conv2d(F.pad(x, pad, mode="circular"), w))
    rel = float((y_fft - y_dir).abs().max() / y_dir.abs().max())
    return {"fft_s": t_fft, "conv2d_s": t_dir, "rel_diff": rel}

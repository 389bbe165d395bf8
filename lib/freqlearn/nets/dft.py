"""Deep linear CNNs with full-size circular kernels and their DFT networks (Godfrey §3–4).

Used by the toolkit chapter (catalog G1) and the Godfrey chapter (G1, G2).

Layout: weights ``ws = [w1, …, wL]`` with ``w_l`` of shape ``(C_l, C_{l-1}, H, W)`` for the
convolutions (Eq. 3.2, a *convolution*: ``m + m' = i``) and ``wL`` of shape
``(K, C_{L-1}, H, W)`` for the final contraction (Eq. 3.3). Inputs ``x``: ``(B, C, H, W)``.

With the orthonormal DFT of Eq. 3.5 the convolution theorem reads
``DFT(w * x) = √(HW) · ŵ · x̂`` — Eq. 3.7 omits the factor √(HW), which is only absent
with the unnormalised DFT; we carry it explicitly (the toolkit chapter shows both).
"""

from __future__ import annotations

import math

import torch

from .. import fourier

__all__ = ["linear_cnn", "linear_cnn_dft", "effective_predictor"]


def _check(x, ws):
    if len(ws) < 1:
        raise ValueError("need at least the final weight tensor")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (B, C, H, W); got {tuple(x.shape)}")
    c = x.shape[1]
    for k, w in enumerate(ws):
        if w.ndim != 4 or w.shape[1] != c or w.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"ws[{k}] must have shape (C_out, {c}, {x.shape[-2]}, "
                             f"{x.shape[-1]}); got {tuple(w.shape)}")
        c = w.shape[0]


def linear_cnn(x: torch.Tensor, ws: list[torch.Tensor]) -> torch.Tensor:
    """``f(x) = w^{L,T}(w^{L-1} * … * w^1 * x)`` in the spatial domain (Eq. 3.1): ``(B, K)``."""
    _check(x, ws)
    z = x
    for w in ws[:-1]:
        z = fourier.fft_conv2d(z, w, mode="conv")
    return torch.einsum("bchw,kchw->bk", z, ws[-1])


def linear_cnn_dft(x: torch.Tensor, ws: list[torch.Tensor]) -> torch.Tensor:
    """The same function computed as the DFT network of Lemma 3.11: ``(B, K)``.

    ``x̂ = DFT(x)``; each layer multiplies per frequency, ``ẑ_c = √(HW) Σ_d ŵ_{cd} ẑ_d``;
    the last is the Parseval contraction ``Σ conj(ŵ^L) ẑ`` (Eq. 3.8 with Remark 3.4's
    index-reversing transpose, which conjugates the DFT of a real tensor).
    """
    _check(x, ws)
    H, W = x.shape[-2:]
    s = math.sqrt(H * W)
    z = torch.fft.fft2(x, norm="ortho")
    for w in ws[:-1]:
        wh = torch.fft.fft2(w, norm="ortho")
        z = s * torch.einsum("cdhw,bdhw->bchw", wh, z)
    wl = torch.fft.fft2(ws[-1], norm="ortho")
    return torch.einsum("kchw,bchw->bk", wl.conj(), z).real


def effective_predictor(ws: list[torch.Tensor]) -> torch.Tensor:
    """``v̂`` of Lemma 4.3, ``(K, C, H, W)`` complex, with ``f(x) = Σ conj(v̂) x̂``.

    ``v̂_{k·ij} = (HW)^{(L-1)/2} · Σ ŵ^L ŵ^{L-1} ⋯ ŵ^1`` — a per-frequency matrix product;
    the factor is the one Eq. 3.7 drops (see the module docstring).
    """
    H, W = ws[-1].shape[-2:]
    s = math.sqrt(H * W)
    v = torch.fft.fft2(ws[-1], norm="ortho")  # (K, C_{L-1}, H, W)
    for w in reversed(ws[:-1]):
        wh = torch.fft.fft2(w, norm="ortho")  # (C_l, C_{l-1}, H, W)
        v = s * torch.einsum("kchw,cdhw->kdhw", v, wh.conj())
    return v

"""Frequency sensitivity of a classifier (Godfrey et al. 2022, SI C.2; catalog G4–G6).

For an image ``x`` and logits ``f_k``, the sensitivity to Fourier component ``cij`` is
``|∂f_k/∂x̂_cij|`` through ``x = Re IDFT_ortho(x̂)`` — equal to ``|∇_x f_k · ê_cij|`` for
the (complex) Fourier basis vector ``ê_cij``. Since ``f_k`` is real,

    ∂f_k/∂Re x̂_a + i ∂f_k/∂Im x̂_a = Σ_m g_m e^{−2πi a·m}/√(HW) = DFT_ortho(∇_x f_k)_a,

so the whole map is **K backward passes on a batch plus one FFT** (no complex autograd, no
per-sample Jacobian as in the released code). The map of SI C.2 is the ℓ2 norm over the
``K`` classes, averaged over (held-out) images: ``E_x ‖(|J_k,cij|)_k‖₂``, with the model in
``eval()`` mode and *raw logits* (no softmax, no loss). Display (Fig. 2, 7):
:func:`display_map` (fftshift, ``log(1+·)``, divided by the max). Radial averages
(:func:`radial`) run over exact signed frequencies and average the channels (the released
code's radius grid is off-centre by half a pixel). Fig. 3a post-processing
(:func:`postprocess`): divide each curve by its integral → log → moving average over ±3
neighbours; the moments of Eq. 5.1 (:func:`moments`) use the *raw* radial curves.
"""

from __future__ import annotations

import numpy as np
import torch

from . import fourier

__all__ = ["input_gradients", "frequency_sensitivity", "radial", "moments", "postprocess",
           "display_map", "spearman"]


def input_gradients(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``∇_x f_k(x)`` for every class: ``(K, B, C, H, W)`` — K backward passes on one batch."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a (B, C, H, W) tensor; got {getattr(x, 'shape', x)!r}")
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = model(x)
        if out.ndim != 2:
            raise ValueError(f"model must return logits of shape (B, K); got "
                             f"{tuple(out.shape)}")
        grads = []
        for k in range(out.shape[1]):
            (gk,) = torch.autograd.grad(out[:, k].sum(), x, retain_graph=k < out.shape[1] - 1)
            grads.append(gk)
    return torch.stack(grads)


def frequency_sensitivity(model: torch.nn.Module, x, *, batch_size: int = 256,
                          per_image: bool = False) -> np.ndarray:
    """Mean over images of ``‖|DFT_ortho(∇_x f_k)|‖₂ over k``: ``(C, H, W)``, FFT layout.

    The model is put in ``eval()`` mode (and restored afterwards); ``x`` are held-out images
    in the model's input scale. ``per_image=True`` returns ``(B, C, H, W)`` instead.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    x = torch.as_tensor(x)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"x must be a non-empty (B, C, H, W) batch; got shape {tuple(x.shape)}")
    was = model.training
    model.eval()
    p = next(model.parameters(), None)
    dev = p.device if p is not None else x.device
    dtype = p.dtype if p is not None and p.is_floating_point() else x.dtype
    maps = []
    try:
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(dev, dtype)
            G = input_gradients(model, xb)                        # (K, B, C, H, W)
            J = torch.fft.fft2(G, norm="ortho").abs()
            maps.append(J.pow(2).sum(0).sqrt().detach().cpu())    # (B, C, H, W)
    finally:
        model.train(was)
    m = torch.cat(maps).double().numpy()
    return m if per_image else m.mean(0)


def radial(smap) -> tuple[np.ndarray, np.ndarray]:
    """Radial average over exact signed frequencies, channels averaged: ``(r, g(r))``."""
    a = np.asarray(smap, dtype=float)
    if a.ndim == 3:
        a = a.mean(0)
    return fourier.radial_profile(a, bins="exact")


def moments(r, g, convention: str = "trapezoid") -> tuple[float, float]:
    """First and second moments of Eq. 5.1, ``∫r^k g dr / ∫g dr`` (trapezoid, raw curve);
    ``convention="sum"``: the authors' unreleased helper, a discrete sum over the distinct
    radii, ``Σ r^k g / Σ g`` (larger in value: the radii crowd at large ``r``)."""
    if convention == "sum":
        r, g = np.asarray(r, dtype=float), np.asarray(g, dtype=float)
        return (float((r * g).sum() / g.sum()), float((r ** 2 * g).sum() / g.sum()))
    if convention != "trapezoid":
        raise ValueError(f"convention must be 'trapezoid' or 'sum'; got {convention!r}")
    return (float(fourier.radial_moment(r, g, 1)), float(fourier.radial_moment(r, g, 2)))


def postprocess(r, g, half_window: int = 3) -> np.ndarray:
    """Fig. 3a: ``g / ∫g dr`` → ``log`` → moving average over ±``half_window`` points
    (a shrinking window at the ends; ``r`` is kept exact)."""
    r = np.asarray(r, dtype=float)
    g = np.asarray(g, dtype=float)
    if g.shape[-1] != len(r):
        raise ValueError(f"g must have one value per radius ({len(r)}); got {g.shape}")
    if np.any(g <= 0):
        raise ValueError("g must be positive for the logarithm")
    lg = np.log(g / np.trapezoid(g, r, axis=-1)[..., None])
    out = np.empty_like(lg)
    n = len(r)
    for i in range(n):
        lo, hi = max(0, i - half_window), min(n, i + half_window + 1)
        out[..., i] = lg[..., lo:hi].mean(-1)
    return out


def display_map(smap) -> np.ndarray:
    """Fig. 2 display: channels moved last, fftshift, ``log(1+·)``, divided by the max."""
    a = np.asarray(smap, dtype=float)
    a = np.fft.fftshift(a, axes=(-2, -1))
    a = np.log1p(a)
    a = a / a.max()
    return np.moveaxis(a, 0, -1) if a.ndim == 3 else a


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)

"""Offline natural-image stand-in (DESIGN.md §4; toolkit chapter, P6/P7, G, C, R).

With no CIFAR on disk and no network, chapters train on random crops of photographs that
installed packages ship: nine colour photographs of ``skimage.data`` and the two of
scikit-learn's ``load_sample_images``. Each photograph is one class, so the stand-in can
replace a 10-class dataset (the tenth and eleventh photographs, ``china`` and ``flower``,
form a spare class pool for 11-class needs; :data:`CLASSES` lists the ten used by default).

Crops are taken after an anti-aliased downscale of each photograph (so a 32×32 crop holds
an object-scale view, as in CIFAR, rather than a few pixels of texture), with random
horizontal flips. Training and test crops come from disjoint vertical bands of each
photograph (left 75 % / right 25 %), so test accuracy is not inflated by overlapping
crops. Everything is seeded: the same arguments give the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _checks as chk

__all__ = ["CLASSES", "ALL_PHOTOS", "photographs", "NaturalImages", "standin"]

#: the photographs of the 10-class stand-in, in label order
CLASSES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
           "immunohistochemistry", "retina", "motorcycle", "china", "flower")
ALL_PHOTOS = CLASSES


def _load_photo(name: str) -> np.ndarray:
    import skimage.data as sd

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        im = load_sample_image(f"{name}.jpg")
    elif name == "motorcycle":
        im = sd.stereo_motorcycle()[0]
    else:
        im = getattr(sd, name)()
    im = np.asarray(im)
    if im.ndim != 3 or im.shape[2] != 3:
        raise RuntimeError(f"photograph {name!r} is not an RGB image (shape {im.shape})")
    return im.astype(np.float64) / 255.0


@lru_cache(maxsize=8)
def photographs(context: int = 128) -> tuple[np.ndarray, ...]:
    """The photographs of :data:`CLASSES`, RGB float in [0, 1], short side ``context``."""
    chk.integer(context, "context", minimum=1)
    # the widest photographs are 1.5:1; each is rescaled (float64 RGB) and kept
    chk.fits(2.0 * len(CLASSES) * 1.5 * 3 * 8 * float(context) ** 2,
             f"photographs scaled to context={context}")
    from skimage.transform import rescale

    out = []
    for name in CLASSES:
        im = _load_photo(name)
        f = context / min(im.shape[:2])
        out.append(np.clip(rescale(im, f, anti_aliasing=True, channel_axis=2), 0, 1))
    return tuple(out)


@dataclass
class NaturalImages:
    """A labelled image set: ``x`` ``(N, C, H, W)`` float32, ``y`` ``(N,)`` int64."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    name: str
    source: str

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return (f"NaturalImages({self.name}: {len(self)} images {tuple(self.x.shape[1:])}, "
                f"{len(self.classes)} classes; {self.source})")


def standin(n: int, *, size: int = 32, channels: int = 3, n_classes: int = 10,
            split: str = "train", seed: int = 0, context: int | None = None) -> NaturalImages:
    """``n`` random ``size×size`` crops, balanced over the first ``n_classes`` photographs.

    ``channels`` is 3 (RGB) or 1 (luminance, ITU-R 601 weights). Values are in [0, 1];
    chapters subtract means themselves where the paper does. ``context`` is the short side
    the photographs are scaled to before cropping (default ``6·size``; the test band is the
    right quarter of each photograph, so it needs ``context ≥ 4·size``).

    Sizes, counts and the seed are integers (floats are refused, not truncated); ``n = 0``
    gives an empty set of the right shape.
    """
    n = chk.integer(n, "n", minimum=0)
    size = chk.integer(size, "size", minimum=2)
    channels = chk.integer(channels, "channels")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels}")
    n_classes = chk.integer(n_classes, "n_classes")
    if not 1 <= n_classes <= len(CLASSES):
        raise ValueError(f"n_classes must be in 1..{len(CLASSES)}; got {n_classes}")
    if not isinstance(split, str) or split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    seed = chk.integer(seed, "seed", minimum=0)
    context = 6 * size if context is None else chk.integer(context, "context", minimum=1)
    if context < size:
        raise ValueError(f"context (the short side the photographs are scaled to) must be at "
                         f"least size={size}; got context={context}")
    chk.fits(4.0 * n * channels * size * size + 16.0 * n,
             f"standin(n={n}, size={size}, channels={channels})")
    photos = photographs(context)
    rng = np.random.default_rng([seed, 0 if split == "train" else 1, size, n_classes])
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    x = np.empty((n, channels, size, size), np.float32)
    for c in range(n_classes):
        im = photos[c]
        H, W = im.shape[:2]
        cut = int(0.75 * W)
        lo, hi = (0, cut - size) if split == "train" else (cut, W - size)
        if hi < lo or H < size:
            raise ValueError(
                f"crop size {size} too large for photograph {CLASSES[c]!r} scaled to "
                f"{H}×{W} (context={context}): its {split} band is {max(hi - lo + size, 0)} "
                f"px wide; use a larger context (default 6·size) or a smaller size")
        idx = np.flatnonzero(y == c)
        r0 = rng.integers(0, H - size + 1, len(idx))
        c0 = rng.integers(lo, hi + 1, len(idx))
        flip = rng.random(len(idx)) < 0.5
        for k, i in enumerate(idx):
            crop = im[r0[k]:r0[k] + size, c0[k]:c0[k] + size]
            if flip[k]:
                crop = crop[:, ::-1]
            if channels == 1:
                crop = crop @ np.array([0.299, 0.587, 0.114])
                x[i, 0] = crop
            else:
                x[i] = crop.transpose(2, 0, 1)
    classes = tuple(CLASSES[:n_classes])
    src = (f"offline natural-image stand-in: random {size}×{size} crops of {n_classes} "
           f"photographs shipped with scikit-image/scikit-learn ({split} band)")
    return NaturalImages(x=x, y=y.astype(np.int64), classes=classes, name="stand-in",
                         source=src)

"""Data for every chapter (DESIGN.md §4).

- :mod:`freqlearn.data.natural` — the offline natural-image stand-in (photographs shipped by
  scikit-image and scikit-learn), labelled by photograph.
- :mod:`freqlearn.data.cifar` — the CIFAR-10/100 loader of the official archives.
- :func:`load_natural` — CIFAR when it is there, else the stand-in, saying which.

Chapters add their synthetic generators as modules of this package.

Every public function checks its arguments first (the shared rules are in
:mod:`freqlearn.data._checks`): a bad argument gives a ``TypeError`` or ``ValueError`` that
names the parameter, what was expected and what was got. Sizes, counts, classes and seeds
must be integers (NumPy integers are fine; floats and bools are refused, never truncated);
NaN parameters are refused; a request for zero samples returns a correctly shaped empty
result; arrays that would need more than ``_checks.MAX_BYTES`` (8 GiB) are refused up
front. ``FREQLEARN_DATA`` names the data folder (``~`` is expanded; unset or empty means
``~/.cache/freqlearn``).
"""

from __future__ import annotations

import numpy as np

from . import _checks as _chk
from . import cifar, natural
from .cifar import CIFARCorrupt, CIFARError, CIFARNotFound, load_cifar
from .natural import NaturalImages, standin

__all__ = ["cifar", "natural", "load_natural", "load_cifar", "standin", "NaturalImages",
           "CIFARError", "CIFARNotFound", "CIFARCorrupt"]


def _from_cifar(c: cifar.CIFAR, n_train, n_test, channels, classes, seed):
    rng = np.random.default_rng(seed)
    out = []
    for x, y, n, split in ((c.train_x, c.train_y, n_train, "train"),
                           (c.test_x, c.test_y, n_test, "test")):
        keep = np.flatnonzero(np.isin(y, classes))
        if n is not None:
            if n > len(keep):
                raise ValueError(f"asked for {n} {split} images; {c.title} has {len(keep)}")
            keep = np.sort(rng.choice(keep, n, replace=False))
        xs = x[keep].astype(np.float32) / 255.0
        if channels == 1:
            xs = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), xs, axes=([0], [1]))
            xs = xs[:, None]
        ys = np.searchsorted(np.asarray(classes), y[keep]).astype(np.int64)
        names = tuple(c.classes[k] if c.classes else str(k) for k in classes)
        out.append(NaturalImages(xs, ys, names, c.title,
                                 f"{c.title} from {c.path} ({split}, {len(keep)} images)"))
    return tuple(out)


def load_natural(n_train: int | None, n_test: int | None, *, prefer: str = "cifar10",
                 n_classes: int = 10, channels: int = 3, size: int = 32, seed: int = 0,
                 allow_fallback: bool = True, download: bool = False, verbose: bool = True):
    """``(train, test)`` natural images: CIFAR when present, else the offline stand-in.

    ``prefer``: ``"cifar10"``, ``"cifar100"`` or ``"standin"``. The first ``n_classes``
    classes are used (CIFAR-4 of Pinson et al. is ``n_classes=4``: airplane, automobile,
    bird, cat). With ``allow_fallback=False`` a missing archive raises
    :class:`CIFARNotFound` naming the path and the fix. Prints which data is used.
    ``n_train``/``n_test``: ``None`` (all of CIFAR; 1000/200 stand-in images) or an integer
    ≥ 0. Arguments are checked before any data is read.
    """
    choices = ("cifar10", "cifar100", "standin")
    if not isinstance(prefer, str) or prefer not in choices:
        raise ValueError(f"prefer must be one of {', '.join(map(repr, choices))}; "
                         f"got {prefer!r}")
    n_train = _chk.optional_integer(n_train, "n_train", minimum=0)
    n_test = _chk.optional_integer(n_test, "n_test", minimum=0)
    top = 100 if prefer == "cifar100" else len(natural.CLASSES)
    n_classes = _chk.integer(n_classes, "n_classes", minimum=1, maximum=top)
    channels = _chk.integer(channels, "channels")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels}")
    size = _chk.integer(size, "size", minimum=2)
    seed = _chk.integer(seed, "seed", minimum=0)
    _chk.boolean(allow_fallback, "allow_fallback")
    _chk.boolean(download, "download")
    _chk.boolean(verbose, "verbose")
    reason = ""
    if prefer != "standin":
        if size != 32:
            raise ValueError("CIFAR images are 32×32; ask for size=32 or prefer='standin'")
        try:
            c = load_cifar(prefer, download=download)
            tr, te = _from_cifar(c, n_train, n_test, channels, list(range(n_classes)), seed)
            if verbose:
                print(f"Data: {tr.source}; {te.source}")
            return tr, te
        except CIFARNotFound as e:
            if not allow_fallback:
                raise
            reason = str(e).split(" Fix:")[0]
    n_tr = 1000 if n_train is None else n_train
    n_te = 200 if n_test is None else n_test
    tr = standin(n_tr, size=size, channels=channels, n_classes=n_classes, split="train",
                 seed=seed)
    te = standin(n_te, size=size, channels=channels, n_classes=n_classes, split="test",
                 seed=seed)
    if verbose:
        print(f"Data: {tr.source}." + (f" ({reason}; falling back.)" if reason else ""))
    return tr, te


def _import_generators() -> None:
    """Import every other module of this package (chapters' synthetic generators)."""
    import importlib
    import pkgutil

    for m in pkgutil.iter_modules(__path__):
        if m.name not in ("cifar", "natural") and not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")


_import_generators()

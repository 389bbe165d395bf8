"""Synthetic datasets of Pinson, Lenaerts & Ginis (2023): one image per class.

- :func:`pure_cosines` — Eq. 21 / S.155: class c is ``b_c cos(2π(μ_c l + ν_c m)/n)``
  (SI I.1: 16×16, (μ,ν) = (0,0),(5,2),(1,7),(0,4), amplitudes 1.5, 1, 0.5, 0.2).
- :func:`sums_of_cosines` — Eq. S.66: class c is a sum of cosines over a set σ(c) of
  frequencies, disjoint between classes (Fig. 4; the figure's frequencies are not listed in
  the text, so :data:`SUMS_DEFAULT` is this book's choice, with non-zero phases).
- :func:`shapes` — Fig. 2: circle, octagon, square, star, filled, 64×64, values in {0, 1}.

Every generator returns ``(X, Y)`` with ``X`` of shape ``(p, 1, n, n)`` float64 and ``Y`` the
``p×p`` identity (one-hot labels; one image per class). Arguments are checked first:
sizes and frequencies are integers (floats are refused, not truncated), amplitudes and
phases finite reals, and every class needs at least one frequency.
"""

from __future__ import annotations

import numpy as np

from . import _checks as chk

__all__ = ["PURE_COSINES", "SUMS_DEFAULT", "SUMS_HIGH", "cosine_image", "pure_cosines",
           "sums_of_cosines",
           "shapes", "SHAPES"]

#: SI I.1: frequency pairs and amplitudes of the pure-cosines experiment (n = 16).
PURE_COSINES = {"n": 16, "pairs": [(0, 0), (5, 2), (1, 7), (0, 4)],
                "amplitudes": [1.5, 1.0, 0.5, 0.2]}

#: Two classes, each a sum of cosines with distinct amplitudes and phases (n = 64).
#: Entries: (μ, ν, amplitude, phase). Frequencies are disjoint between classes and no
#: frequency is the symmetric partner (n-μ, n-ν) of another.
SUMS_DEFAULT = {"n": 64, "classes": [
    [(1, 2, 1.0, 0.3), (3, 5, 0.7, -1.1), (6, 1, 0.45, 2.0), (2, 9, 0.25, 0.7)],
    [(4, 3, 0.8, -0.4), (1, 7, 0.55, 1.3), (8, 6, 0.35, -2.2), (5, 12, 0.2, 0.9)],
]}

#: The same frequencies with the amplitudes reordered so that each class's *highest*
#: frequency |k| is its dominant term and its lowest the weakest: a dominant-frequency bias
#: and a low-frequency bias now predict different winners (review of P4, item 3).
SUMS_HIGH = {"n": 64, "classes": [
    [(1, 2, 0.25, 0.3), (3, 5, 0.45, -1.1), (6, 1, 0.7, 2.0), (2, 9, 1.0, 0.7)],
    [(4, 3, 0.2, -0.4), (1, 7, 0.35, 1.3), (8, 6, 0.55, -2.2), (5, 12, 0.8, 0.9)],
]}

SHAPES = ("circle", "octagon", "square", "star")


def cosine_image(n: int, mu: int, nu: int, amplitude: float = 1.0, phase: float = 0.0):
    """``amplitude · cos(2π μ l/n + 2π ν m/n + phase)`` on the n×n grid (l rows, m columns).

    ``n`` ≥ 1 and the frequencies ``mu``, ``nu`` are integers (any sign: they act modulo n).
    """
    n = chk.integer(n, "n", minimum=1)
    chk.integer(mu, "mu")
    chk.integer(nu, "nu")
    chk.real(amplitude, "amplitude")
    chk.real(phase, "phase")
    chk.fits(8.0 * 3 * n * n, f"a {n}×{n} cosine image")
    l, m = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return amplitude * np.cos(2 * np.pi * (mu * l + nu * m) / n + phase)


def pure_cosines(n: int = 16, pairs=None, amplitudes=None):
    """Eq. 21: one pure cosine per class. Defaults are SI I.1."""
    pairs = PURE_COSINES["pairs"] if pairs is None else pairs
    amplitudes = PURE_COSINES["amplitudes"] if amplitudes is None else amplitudes
    n = chk.integer(n, "n", minimum=1)
    pairs = _sequence(pairs, "pairs")
    amplitudes = _sequence(amplitudes, "amplitudes")
    if len(pairs) != len(amplitudes):
        raise ValueError(f"need one amplitude per frequency pair; got {len(pairs)} pairs and "
                         f"{len(amplitudes)} amplitudes")
    if not pairs:
        raise ValueError("pairs must hold at least one (μ, ν) pair (one class each); got none")
    for k, pair in enumerate(pairs):
        pair = _sequence(pair, f"pairs[{k}]")
        if len(pair) != 2:
            raise ValueError(f"pairs[{k}] must be a (μ, ν) pair of integers; got {pair!r}")
        chk.integer(pair[0], f"pairs[{k}][0] (μ)")
        chk.integer(pair[1], f"pairs[{k}][1] (ν)")
        chk.real(amplitudes[k], f"amplitudes[{k}]")
    X = np.stack([cosine_image(n, mu, nu, b) for (mu, nu), b in zip(pairs, amplitudes,
                                                                    strict=True)])
    return X[:, None], np.eye(len(pairs))


def sums_of_cosines(classes=None, n: int | None = None):
    """Eq. S.66: class c = Σ_{j∈σ(c)} b_j cos(2π(μl+νm)/n + δ_j). Defaults: SUMS_DEFAULT.

    ``classes``: one list per class of ``(μ, ν, amplitude, phase)`` terms (μ, ν integers).
    """
    classes = SUMS_DEFAULT["classes"] if classes is None else classes
    n = SUMS_DEFAULT["n"] if n is None else chk.integer(n, "n", minimum=1)
    classes = _sequence(classes, "classes")
    if not classes:
        raise ValueError("classes must hold at least one class; got none")
    for c, cl in enumerate(classes):
        cl = _sequence(cl, f"classes[{c}]")
        if not cl:
            raise ValueError(f"classes[{c}] must hold at least one (μ, ν, amplitude, phase) "
                             f"term; got none")
        for j, term in enumerate(cl):
            term = _sequence(term, f"classes[{c}][{j}]")
            if len(term) != 4:
                raise ValueError(f"classes[{c}][{j}] must be (μ, ν, amplitude, phase); "
                                 f"got {term!r}")
            chk.integer(term[0], f"classes[{c}][{j}] μ")
            chk.integer(term[1], f"classes[{c}][{j}] ν")
            chk.real(term[2], f"classes[{c}][{j}] amplitude")
            chk.real(term[3], f"classes[{c}][{j}] phase")
    seen = set()
    for cl in classes:
        for mu, nu, _, _ in cl:
            for key in ((mu % n, nu % n), ((n - mu) % n, (n - nu) % n)):
                if key in seen:
                    raise ValueError(f"frequency {key} is shared between classes/terms")
            seen.add((mu % n, nu % n))
    X = np.stack([sum(cosine_image(n, mu, nu, b, d) for mu, nu, b, d in cl) for cl in classes])
    return X[:, None], np.eye(len(classes))


def _sequence(value, name: str) -> list:
    """``value`` as a list; strings, numbers and ``None`` are refused."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a sequence; got {value!r}")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence; got {value!r} "
                        f"({type(value).__name__})") from None


def _polygon_mask(n, xs, ys):
    from skimage.draw import polygon

    M = np.zeros((n, n))
    rr, cc = polygon(ys, xs, (n, n))
    M[rr, cc] = 1.0
    return M


def shapes(n: int = 64, size: float = 0.34, *, invert: bool = False):
    """Fig. 2: filled circle, octagon, square and star, centred, radius ``size·n``.

    ``n`` is an integer ≥ 2 and ``0 < size ≤ 0.5`` (the circle must fit in the frame); the
    four shapes must come out non-empty and distinct, else ``n`` is too small. White (1)
    shapes on black (0), or with ``invert=True`` black shapes on white (``1 − X``): the paper
    does not say which, and the polarity sets how constant mode 0 is (its d₀).
    """
    invert = chk.boolean(invert, "invert")
    n = chk.integer(n, "n", minimum=2)
    size = chk.real(size, "size", minimum=0.0, strict=True)
    if size > 0.5:
        raise ValueError(f"size must be in (0, 0.5] (the circle of radius size·n must fit "
                         f"in the n×n frame); got {size}")
    chk.fits(8.0 * 6 * n * n, f"four {n}×{n} shapes")
    c = (n - 1) / 2
    r = size * n
    yy, xx = np.mgrid[0:n, 0:n]
    circle = (((xx - c) ** 2 + (yy - c) ** 2) <= r ** 2).astype(float)
    th = np.pi / 8 + np.arange(8) * np.pi / 4
    octagon = _polygon_mask(n, c + r * np.cos(th), c + r * np.sin(th))
    h = r * 0.85
    square = _polygon_mask(n, c + np.array([-h, h, h, -h]), c + np.array([-h, -h, h, h]))
    th = -np.pi / 2 + np.arange(10) * np.pi / 5
    rad = np.where(np.arange(10) % 2 == 0, r * 1.1, r * 0.45)
    star = _polygon_mask(n, c + rad * np.cos(th), c + rad * np.sin(th))
    X = np.stack([circle, octagon, square, star])
    flat = X.reshape(4, -1)
    if (flat.sum(1) == 0).any() or len({r.tobytes() for r in flat}) < 4:
        raise ValueError(f"shapes of radius size·n = {r:.3g} px on a {n}×{n} grid are empty "
                         f"or not distinct; use a larger n or size")
    return (1.0 - X if invert else X)[:, None], np.eye(4)

"""The book's figure conventions (DEVELOPERS habit 4; every chapter).

- spread over trials: a shaded band (mean ± one standard deviation) around the mean line;
- theory: dashed lines;
- every caption names the data, the preset and the number of trials (:func:`caption`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import presets

__all__ = ["style", "band", "theory", "caption", "imshow_grid"]


def style() -> None:
    """Apply the book's matplotlib style (small, clean, readable in the HTML book)."""
    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 120, "figure.figsize": (6.4, 3.6),
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
        "grid.alpha": 0.25, "font.size": 10, "legend.frameon": False,
        "image.cmap": "viridis",
    })


def band(ax, t, Y, *, label=None, color=None, alpha=0.25, **kw):
    """Mean over trials (axis 0 of ``Y``) as a line, ± one std as a shaded band."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[None]
    m, s = Y.mean(axis=0), Y.std(axis=0)
    (line,) = ax.plot(t, m, label=label, color=color, **kw)
    if Y.shape[0] > 1:
        ax.fill_between(t, m - s, m + s, color=line.get_color(), alpha=alpha, lw=0)
    return line


def theory(ax, t, y, *, label=None, color="k", **kw):
    """A theory curve: dashed."""
    kw.setdefault("lw", 1.2)
    return ax.plot(t, y, ls="--", color=color, label=label, **kw)[0]


def caption(text: str, *, data: str, trials: int | None = None, extra: str = "",
            spread: str | None = None) -> str:
    """A figure caption that names the data, the preset and the number of trials.

    ``trials=0`` marks a deterministic figure (no random draw enters it). ``spread`` replaces
    the default legend of a multi-trial figure, "line: mean, band: ± 1 s.d.", when the figure
    shows its spread another way (e.g. "median and quartiles of 5 repeats")."""
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)
                               or trials < 0):
        raise ValueError(f"trials must be an int ≥ 0 or None; got {trials!r}")
    p = presets.current()
    parts = [text.rstrip(". ") + ".", f"Data: {data}.", f"Preset {p.name} (seed {p.seed}"
             + (")" if p.default_seed else ", BOOK_SEED)")]
    if trials == 0:
        parts[-1] += ", deterministic: no random draw"
    elif trials is not None:
        parts[-1] += f", {trials} trial{'s' if trials != 1 else ''}"
        if spread is not None:
            parts[-1] += f" ({spread})"
        elif trials > 1:
            parts[-1] += " (line: mean, band: ± 1 s.d.)"
    parts[-1] += "."
    if extra:
        parts.append(extra.rstrip(". ") + ".")
    return " ".join(parts)


def imshow_grid(images, *, ncols=8, titles=None, cmap="gray", size=1.2, symmetric=False):
    """Show a list/array of 2-D images (or HWC colour) in a grid; return the figure."""
    images = list(images)
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.2),
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            im = np.asarray(images[k])
            if symmetric:
                v = np.abs(im).max() or 1.0
                ax.imshow(im, cmap="RdBu_r", vmin=-v, vmax=v)
            else:
                ax.imshow(im, cmap=cmap if im.ndim == 2 else None)
            if titles is not None:
                ax.set_title(titles[k], fontsize=8)
    fig.tight_layout()
    return fig

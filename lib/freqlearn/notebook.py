"""Helpers for the book's notebooks (DESIGN.md §2): the standard first cell, glue, figures.

``start`` is what every notebook calls first::

    preset, claims = fl.notebook.start("pinson2023/cosines")

It seeds everything for the preset, applies the figure style, prints the preset line,
names the notebook's checkpoint context (:func:`freqlearn.train.set_context`: with the
``paper`` preset long runs checkpoint under one folder per preset, seed and notebook, and
re-running the notebook resumes them) and returns the notebook's
:class:`~freqlearn.claims.Claims`.

``glue`` and ``figure`` wrap myst-nb's ``glue`` so numbers and figures in the prose are
computed, never typed; where myst-nb is absent (Colab) they just display the value.
``table`` shows a cell's intermediate numbers (a dict, a list of rows, a tuple) as a small
table with rounded numbers, never as a raw repr such as ``np.float64(0.1234567)``.
In the Markdown, a glued figure with its computed caption reads::

    ```{glue:figure} fig-name
    :name: fig-name

    {glue:}`fig-name-caption`
    ```
"""

from __future__ import annotations

from . import claims as _claims
from . import plots, presets, train

__all__ = ["start", "glue", "figure", "table", "Table"]


def start(notebook: str):
    """Seed, style, print the preset, set the checkpoint context; return
    ``(preset, Claims(notebook))``.

    When checkpointing is on (``paper`` preset or ``FREQLEARN_CHECKPOINT=always``) it also
    prints the folder the notebook's checkpoints go to.
    """
    p = presets.current()
    train.set_context(notebook, p.name, p.seed)
    presets.seed_everything(p.seed)
    plots.style()
    print(presets.describe())
    if train.checkpointing():
        folder = train.checkpoint_path("x").parent
        print(f"checkpoints: {folder} (re-running resumes; delete the folder to start over, "
              "FREQLEARN_CHECKPOINT=off to disable)")
    return p, _claims.Claims(notebook, preset=p.name)


def _myst_glue():
    try:
        from myst_nb import glue as g
    except ImportError:  # Colab or a bare Jupyter: no myst-nb
        return None
    return g


class _Text:
    """A string whose plain-text representation is itself (no quotes in the prose)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def glue(name: str, value, *, display: bool = False, fmt: str | None = None):
    """Glue ``value`` under ``name`` for ``{glue:}`name``` in the prose. Returns nothing, so
    a cell ending in this call shows no raw repr of the value under it.

    ``fmt`` (e.g. ``".3g"``) formats numbers into a string before gluing, so the prose
    shows the same digits as the claims table. Strings are glued without quotes.

    Without myst-nb (a Colab twin, whose prose says "⟨name, code cell k⟩" where the book
    shows the number), the value is shown as a one-line ``name = value`` under the cell,
    so the reader finds it there.
    """
    shown = format(value, fmt) if fmt is not None else value
    if isinstance(shown, str):
        shown = _Text(shown)
    g = _myst_glue()
    if g is not None:
        g(name, shown, display=display)
    elif _in_ipython():
        from IPython.display import Markdown
        from IPython.display import display as _display

        _display(shown if display else Markdown(f"`{name}` = {shown}"))


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def figure(fig, name: str, caption: str) -> None:
    """Glue ``fig`` as ``name`` and its ``caption`` as ``name-caption``; close the figure.

    Without myst-nb the figure and caption are displayed inline instead. Returns nothing,
    so a cell ending in this call does not display the figure a second time.
    """
    import matplotlib.pyplot as plt

    g = _myst_glue()
    if g is not None:
        g(name, fig, display=False)
        g(f"{name}-caption", _Text(caption), display=False)
    else:
        from IPython.display import Markdown, display

        display(fig)
        display(Markdown(f"*{caption}*"))
    plt.close(fig)


# ---- small tables ----------------------------------------------------------------------
def _cell(v, digits: int) -> str:
    """One value as table text: numbers to ``digits`` significant digits, arrays and
    sequences as bracketed lists, NumPy/torch scalars as plain numbers."""
    import numbers

    import numpy as np

    if hasattr(v, "detach"):                       # a torch tensor
        v = v.detach().cpu().numpy()
    if isinstance(v, np.ndarray):
        v = v.item() if v.ndim == 0 else v.tolist()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return format(float(v), f".{digits}g")
    if isinstance(v, numbers.Complex):
        return format(complex(v), f".{digits}g")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_cell(x, digits) for x in v) + "]"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_cell(x, digits)}" for k, x in v.items())
    return str(v)


def _rows(data, columns) -> tuple[list[str], list[list]]:
    """Header and rows of :func:`table`'s ``data``."""
    if isinstance(data, dict):
        vals = list(data.values())
        if vals and all(isinstance(v, dict) for v in vals):
            keys = list(dict.fromkeys(k for v in vals for k in v))
            return ["", *map(str, keys)], [[k, *(v.get(c, "") for c in keys)]
                                          for k, v in data.items()]
        if vals and all(isinstance(v, tuple) for v in vals):
            n = max(len(v) for v in vals)
            return ["", *([""] * n)], [[k, *v] for k, v in data.items()]
        return ["", ""], [[k, v] for k, v in data.items()]
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(r, (list, tuple)) for r in data):
        n = max(len(r) for r in data)
        return [""] * n, [list(r) for r in data]
    if isinstance(data, tuple):
        return [""] * len(data), [list(data)]
    return [""], [[v] for v in (data if isinstance(data, list) else [data])]


class Table:
    """A small table of numbers that renders as HTML in the book and in Jupyter/Colab, and
    as aligned text elsewhere (see :func:`table`)."""

    def __init__(self, data, columns=None, digits: int = 3, caption: str | None = None):
        head, rows = _rows(data, columns)
        if columns is not None:
            if len(columns) != len(head):
                raise ValueError(f"columns has {len(columns)} names for {len(head)} "
                                 f"columns: {list(columns)}")
            head = list(columns)
        self.head = [str(h) for h in head]
        self.rows = [[_cell(v, digits) if not isinstance(v, str) else v for v in r]
                     + [""] * (len(head) - len(r)) for r in rows]
        self.caption = caption

    def _repr_html_(self) -> str:
        import html

        def row(cells, tag):
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) \
                + "</tr>"

        out = ['<table class="freqlearn-table">']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        if any(self.head):
            out.append("<thead>" + row(self.head, "th") + "</thead>")
        out.append("<tbody>" + "".join(row(r, "td") for r in self.rows) + "</tbody>")
        return "".join(out) + "</table>"

    def __repr__(self) -> str:
        lines = ([self.head] if any(self.head) else []) + self.rows
        if not lines:
            return self.caption or "(empty)"
        w = [max(len(r[i]) for r in lines) for i in range(len(self.head))]
        text = "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
                         for r in lines)
        return (f"{self.caption}\n" if self.caption else "") + text


def table(data, columns=None, *, digits: int = 3, caption: str | None = None) -> Table:
    """Show intermediate numbers as a small table instead of a raw repr.

    ``data``: a dict (key → value, key → tuple of values, or key → dict of named values: one
    row per key), a list of rows, a tuple (one row) or a list of values. Numbers are shown
    to ``digits`` significant digits; NumPy and torch scalars and arrays as plain numbers and
    lists. ``columns`` names the columns (the key column included). End a cell with it::

        fl.notebook.table({"unitary": 3.6e-15, "fft2": 1.4e-14}, ["identity", "max error"])
    """
    return Table(data, columns, digits, caption)

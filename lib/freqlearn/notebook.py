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
In the Markdown, a glued figure with its computed caption reads::

    ```{glue:figure} fig-name
    :name: fig-name

    {glue:}`fig-name-caption`
    ```
"""

from __future__ import annotations

from . import claims as _claims
from . import plots, presets, train

__all__ = ["start", "glue", "figure"]


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
    """Glue ``value`` under ``name`` for ``{glue:}`name``` in the prose; return the value.

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
    return value


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

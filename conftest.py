"""pytest glue for the book: nbval runs the MyST-markdown notebooks directly.

nbval collects ``.ipynb`` only; here a jupytext ``.md`` notebook under ``book/`` is
collected as an nbval notebook whose cells are read through ``jupytext.read`` — the
notebooks of ``_toc.yml``, exactly. Run with
``--nbval-lax`` (outputs of text notebooks cannot be compared; the claims cell at the end
of every notebook is what fails when a result drifts).
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbval.plugin as _nbval

ROOT = Path(__file__).parent
os.environ.setdefault("FREQLEARN_PROGRESS", "0")  # no progress bars in test output
os.environ.setdefault("FREQLEARN_ROOT", str(ROOT))


_TOC_NOTEBOOKS: set[Path] | None = None


def is_book_notebook(path: Path) -> bool:
    """A notebook of ``_toc.yml`` (a jupytext MyST ``.md``); tests/test_book.py checks that
    every notebook under ``book/`` is in the table of contents."""
    global _TOC_NOTEBOOKS
    if path.suffix != ".md":
        return False
    if _TOC_NOTEBOOKS is None:
        from freqlearn.booktools import notebooks

        _TOC_NOTEBOOKS = {p.resolve() for p in notebooks(ROOT)}
    return path.resolve() in _TOC_NOTEBOOKS


class _JupytextShim:
    """Stands in for the ``nbformat`` module inside nbval's ``collect``."""

    def __init__(self, real):
        self._real = real

    def read(self, path, as_version=4):
        return jupytext.read(path, as_version=as_version)

    def __getattr__(self, name):
        return getattr(self._real, name)


class MystNotebook(_nbval.IPyNbFile):
    def collect(self):
        real = _nbval.nbformat
        _nbval.nbformat = _JupytextShim(real)
        try:
            yield from super().collect()
        finally:
            _nbval.nbformat = real


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and is_book_notebook(file_path):
        return MystNotebook.from_parent(parent, path=file_path)
    return None


def pytest_ignore_collect(collection_path: Path, config):
    """Skip the ``.ipynb`` twins of the MyST notebooks (they exist for Colab only)."""
    p = Path(collection_path)
    if p.suffix == ".ipynb" and p.with_suffix(".md").exists():
        return True
    return None

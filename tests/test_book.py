"""The book's structure: TOC, notebooks, Colab twins, claims names, baseline coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import pytest

from freqlearn import booktools

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = booktools.notebooks(ROOT)
IDS = [str(p.relative_to(ROOT / "book").with_suffix("")) for p in NOTEBOOKS]


def test_toc_entries_exist():
    missing = [f for f in booktools.toc_files(ROOT)
               if not any((ROOT / f"{f}{s}").exists() for s in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_book_notebook_is_in_the_toc():
    all_nbs = {p for p in (ROOT / "book").rglob("*.md") if booktools.is_notebook(p)}
    orphans = sorted(str(p.relative_to(ROOT)) for p in all_nbs - set(NOTEBOOKS))
    assert not orphans, f"notebooks missing from _toc.yml (they would not be built): {orphans}"


def test_the_toc_has_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_notebook_conventions(md: Path):
    nb = jupytext.read(md)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0]
    assert "google.colab" in first.source and "pip install" in first.source, (
        f"{md.name}: the first code cell must install freqlearn on Colab")
    assert "remove-cell" in first.metadata.get("tags", [])
    name = str(md.relative_to(ROOT / "book").with_suffix(""))
    starts = re.findall(r'fl\.notebook\.start\("([^"]+)"\)', nb_source(nb))
    assert starts == [name], f"{md.name}: fl.notebook.start must be given {name!r}, got {starts}"
    assert code[-1].source.strip() == "claims.report()", (
        f"{md.name}: the last code cell must be `claims.report()`")
    assert all(not c.get("outputs") for c in code), "no outputs in git"


def nb_source(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_colab_twin_exists_and_is_in_sync(md: Path):
    """The Colab button of a notebook page opens its .ipynb twin: it must exist and match."""
    tw = booktools.twin(md)
    assert tw.exists(), f"{tw} is missing: run `make ipynb`"
    a, b = jupytext.read(md), jupytext.read(tw)
    src_a = [(c.cell_type, c.source) for c in a.cells]
    src_b = [(c.cell_type, c.source) for c in b.cells]
    assert src_a == src_b, f"{tw.name} is out of sync with {md.name}: run `make ipynb`"
    assert all(not c.get("outputs") for c in b.cells if c.cell_type == "code")


def test_colab_button_is_configured():
    import yaml

    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    assert cfg["repository"]["url"].startswith("https://github.com/")


def test_baseline_covers_every_notebook():
    base = json.loads((ROOT / "tests" / "baselines" / "quick.json").read_text())
    missing = [i for i in IDS if i not in base]
    assert not missing, f"no regression baseline for {missing}: run `make baseline`"
    stale = [k for k in base if k not in IDS]
    assert not stale, f"baseline has notebooks that no longer exist: {stale}"

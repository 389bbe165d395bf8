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


#: the page shows code lines up to this many characters without cutting them (habit 1)
CODE_WIDTH = 80


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_code_lines_fit_the_page(md: Path):
    """Every code line fits in 80 characters: on the page, and in the Colab twin, which
    also shows the hidden setup cell (its release spec stands on a line of its own)."""
    nb = jupytext.read(md)
    long = [(i, ln) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for ln in c.source.splitlines() if len(ln) > CODE_WIDTH]
    assert not long, (f"{md.name}: {len(long)} code line(s) over {CODE_WIDTH} characters, "
                      "cut off on the page: " + "; ".join(f"cell {i}: {ln[:60]}…"
                                                         for i, ln in long[:5]))


def test_the_width_check_sees_a_long_line(tmp_path):
    md = tmp_path / "nb.md"
    md.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n"
                  "    format_name: myst\n---\n\n```{code-cell} ipython3\nx = "
                  + "1 + " * 30 + "1\n```\n")
    with pytest.raises(AssertionError, match="1 code line"):
        test_code_lines_fit_the_page(md)


#: calls that may end a cell: they display a figure, a table or nothing
_SHOWS = ("fl.notebook.", "claims.", "display(", "Markdown(", "plt.", "print(")
#: methods that return None (``d.update(...)`` ends a cell without output)
_NONE = ("update", "append", "extend", "clear")


def raw_repr_cells(nb) -> list[tuple[int, str]]:
    """Code cells whose last statement is a bare expression (a dict, a tuple, a name, a
    comprehension): Jupyter would print its raw repr (``np.float64(…)``) under the cell."""
    import ast

    out = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        src = "\n".join("#" + ln[1:] if ln.startswith(("%", "!")) else ln
                        for ln in c.source.splitlines())
        try:
            body = ast.parse(src).body
        except SyntaxError:
            continue
        if not body or not isinstance(body[-1], ast.Expr):
            continue
        v = body[-1].value
        if isinstance(v, ast.Constant) or (isinstance(v, ast.Call) and (any(
                ast.get_source_segment(src, v.func).startswith(s.rstrip("("))
                for s in _SHOWS) or (isinstance(v.func, ast.Attribute)
                                     and v.func.attr in _NONE))):
            continue
        out.append((i, ast.get_source_segment(src, body[-1])[:60]))
    return out


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_no_raw_reprs_under_cells(md: Path):
    """Issue 25: intermediate numbers are shown as a small table (``fl.notebook.table``),
    a glued number or nothing — never as the raw repr of a bare last expression."""
    bad = raw_repr_cells(jupytext.read(md))
    assert not bad, (f"{md.name}: cell(s) end in a bare expression, shown as a raw repr; "
                     "wrap it in fl.notebook.table(...): " + "; ".join(
                         f"cell {i}: {s}" for i, s in bad))


def test_the_raw_repr_check_sees_a_bare_dict(tmp_path):
    md = tmp_path / "nb.md"
    md.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n"
                  "    format_name: myst\n---\n\n```{code-cell} ipython3\nx = 1\n"
                  "{'x': x}\n```\n\n```{code-cell} ipython3\nfl.notebook.table({'x': 1})"
                  "\n```\n")
    with pytest.raises(AssertionError, match="cell 0"):
        test_no_raw_reprs_under_cells(md)


def nb_source(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_colab_twin_exists_and_is_in_sync(md: Path):
    """The Colab button of a notebook page opens its .ipynb twin: it must exist and match."""
    tw = booktools.twin(md)
    assert tw.exists(), f"{tw} is missing: run `make ipynb`"
    # code cells as in md; markdown made readable (no MyST), as sync-ipynb writes it
    assert booktools.twin_in_sync(md), (
        f"{tw.name} is out of sync with {md.name}: run `make ipynb`")
    b = jupytext.read(tw)
    assert all(not c.get("outputs") for c in b.cells if c.cell_type == "code")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=IDS)
def test_install_cell_names_the_configured_repository(md: Path):
    """Colab from one setting: each install cell installs from _config.yml's repository."""
    assert booktools.install_url(md) == booktools.repository_url(ROOT), (
        f"{md.name}: its install cell names another repository than _config.yml; run "
        "`python -m freqlearn.booktools set-repo URL`")


def test_set_repo_rewrites_config_cells_and_twins(tmp_path):
    import shutil

    for f in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / f, tmp_path / f)
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    url = "https://github.com/someone/their-book"
    booktools.set_repo(url, root=tmp_path)
    assert booktools.repository_url(tmp_path) == url
    for md in booktools.notebooks(tmp_path):
        assert booktools.install_url(md) == url
        assert url in booktools.twin(md).read_text()
    with pytest.raises(ValueError, match="url must look like"):
        booktools.set_repo("http://example.org/x", root=tmp_path)


def test_colab_button_is_configured():
    import yaml

    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    assert cfg["repository"]["url"].startswith("https://github.com/")


def test_baseline_covers_every_notebook():
    base = json.loads((ROOT / "tests" / "baselines" / "quick.json").read_text())
    missing = [i for i in IDS if i not in base]
    assert not missing, f"no regression baseline for {missing}: run `make baseline`"
    stale = [k for k in base if not k.startswith("_") and k not in IDS]
    assert not stale, f"baseline has notebooks that no longer exist: {stale}"


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_lock_pins_the_books_own_requirements():
    """The lock names every package the book asks for, and torch at the Makefile's pin."""
    import tomllib

    pins = _lock()
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(meta["dependencies"])
    for extra in ("book", "test"):
        wanted += meta["optional-dependencies"][extra]
    names = {re.split(r"[<>=!~\[ ;]", w, maxsplit=1)[0].lower().replace("_", "-")
             for w in wanted}
    missing = sorted(n for n in names if n not in pins)
    assert not missing, f"constraints.txt lacks {missing}: run `make lock`"
    make_torch = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", (ROOT / "Makefile").read_text(),
                           re.M).group(1)
    assert pins["torch"] == make_torch


def test_environment_yml_matches_the_lock():
    import yaml

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c constraints.txt" in pip, "environment.yml must install with the lock"
    for req in pip:
        if "==" in req and not req.startswith("-"):
            name, version = req.split("==")
            assert _lock()[name.lower()] == version, f"environment.yml pins {req}, the lock differs"

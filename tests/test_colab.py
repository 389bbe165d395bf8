"""Colab (issue 23, items 1–2): the setup cell that ``set-repo`` writes, and the install it
makes — a pinned release, every import the notebooks need, lower bounds that keep Colab's
own packages, and the explorer's sliders on ipywidgets 7.7 and 8."""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys
import types
from pathlib import Path

import jupytext
import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

from freqlearn import booktools, colabcheck, presets

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/someone/their-book"
TAG = "v0.1.0"

#: Colab's published versions, from their one home, tests/colab-versions.txt
#: (googlecolab/backend-info pip-freeze.txt, 2026-08-19). tensorly is not preinstalled.
COLAB = colabcheck.colab_versions(ROOT / "tests" / "colab-versions.txt")


def _deps() -> dict[str, Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(d).name.lower(): Requirement(d) for d in meta["dependencies"]}


# ---- the setup cell -----------------------------------------------------------------------
class _Shell:
    """Just enough of IPython for the setup cell: records ``%pip`` lines."""

    def __init__(self):
        self.magics: list[tuple[str, str]] = []
        self.ns: dict = {}

    def run_line_magic(self, name, line, _stack_depth=1):
        from IPython.utils.text import DollarFormatter

        # IPython expands {name} in a line magic from the user namespace (var_expand)
        self.magics.append((name, DollarFormatter().vformat(line, (), self.ns)))


def _run_cell(source: str, monkeypatch, *, colab: bool, mounts: list | None = None,
              **form) -> _Shell:
    """Execute the setup cell as IPython would (magics transformed), with or without a
    ``google.colab`` module, after setting its form fields to ``form``."""
    from IPython.core.inputtransformer2 import TransformerManager

    for key, value in form.items():   # what a reader picks in Colab's form
        source, k = re.subn(rf'^{key} = "[^"]*"(?=  #@param)', f'{key} = "{value}"',
                            source, flags=re.M)
        assert k == 1, key
    shell = _Shell()
    if colab:
        drive = types.SimpleNamespace(mount=lambda path: mounts.append(path))
        colab_mod = types.ModuleType("google.colab")
        colab_mod.drive = drive
        monkeypatch.setitem(sys.modules, "google.colab", colab_mod)
        monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = TransformerManager().transform_cell(source)
    shell.ns = {"get_ipython": lambda: shell}
    exec(compile(code, "<setup cell>", "exec"), shell.ns)
    return shell


@pytest.fixture
def cell():
    return booktools.install_cell(URL, TAG)


def test_outside_colab_it_installs_nothing_and_keeps_the_environment(cell, monkeypatch):
    monkeypatch.setenv("BOOK_PRESET", "paper")
    monkeypatch.setenv("BOOK_SEED", "44")
    for var in ("FREQLEARN_CHECKPOINTS", "FREQLEARN_DATA"):
        monkeypatch.delenv(var, raising=False)
    shell = _run_cell(cell, monkeypatch, colab=False, DRIVE_FOLDER="fl")
    assert shell.magics == []                     # the book's build installs nothing
    assert presets.current() == presets.Preset("paper", 44)   # `BOOK_SEED=44 make …` holds
    assert "FREQLEARN_CHECKPOINTS" not in os.environ


def test_outside_colab_unset_variables_get_the_packages_own_defaults(cell, monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    monkeypatch.delenv("BOOK_SEED", raising=False)
    _run_cell(cell, monkeypatch, colab=False)
    assert presets.current() == presets.Preset("quick", presets.SEEDS["quick"])


def test_on_colab_the_form_wins_and_the_pinned_release_is_installed(cell, monkeypatch):
    monkeypatch.setenv("BOOK_PRESET", "quick")    # a previous run of the cell
    monkeypatch.delenv("BOOK_SEED", raising=False)
    mounts: list = []
    shell = _run_cell(cell, monkeypatch, colab=True, mounts=mounts, BOOK_PRESET="paper",
                      BOOK_SEED=" 11 ")
    assert presets.current() == presets.Preset("paper", 11)
    assert mounts == []                           # no Drive folder: nothing mounted
    assert shell.magics == [("pip", f'install -q "freqlearn @ git+{URL}@{TAG}"')]


def test_on_a_colab_gpu_runtime_paper_runs_on_the_gpu(cell, monkeypatch):
    """freqlearn picks CUDA whenever torch sees it (``presets.device``): the form's
    ``paper`` on a GPU runtime runs there, with no device setting to make."""
    import torch

    monkeypatch.delenv("FREQLEARN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _run_cell(cell, monkeypatch, colab=True, mounts=[], BOOK_PRESET="paper")
    assert presets.current().name == "paper" and presets.device() == torch.device("cuda")


def test_on_colab_a_drive_folder_holds_checkpoints_and_data(cell, monkeypatch, tmp_path):
    from freqlearn import train
    from freqlearn.data import cifar

    mounts: list = []
    _run_cell(cell, monkeypatch, colab=True, mounts=mounts, DRIVE_FOLDER="freqlearn")
    assert mounts == ["/content/drive"]
    home = Path("/content/drive/MyDrive/freqlearn")
    assert train.checkpoint_root() == home / "checkpoints"   # the names freqlearn reads
    assert cifar.data_dir() == home / "data"


def test_the_cell_is_a_colab_form_and_sets_everything_before_freqlearn(cell):
    params = re.findall(r"^(\w+) = .*#@param (.*)$", cell, flags=re.M)
    assert [p for p, _ in params] == ["BOOK_PRESET", "BOOK_SEED", "DRIVE_FOLDER"]
    assert params[0][1] == str(list(presets.PRESETS)).replace("'", '"')
    assert cell.startswith("#@title ")
    assert "freqlearn" not in {n.split(".")[0] for n in _imports(cell)}
    assert "GPU" in cell and "VM" in cell       # what paper and the Drive folder are for


def test_install_cell_refuses_bad_url_or_tag():
    with pytest.raises(ValueError, match="url must look like"):
        booktools.install_cell("http://example.org/x", TAG)
    for tag in ("", "v 1", 'v1"', "v1@x"):
        with pytest.raises(ValueError, match="tag must be"):
            booktools.install_cell(URL, tag)


def test_release_tag_is_the_package_version():
    import freqlearn

    assert booktools.release_tag(ROOT) == f"v{freqlearn.__version__}" == TAG


# ---- set-repo --tag on a copy of the whole book --------------------------------------------
@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    for f in ("_config.yml", "_toc.yml", "pyproject.toml"):
        shutil.copy(ROOT / f, root / f)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    written = booktools.set_repo(URL, root=root, tag=TAG)
    return root, written


def test_set_repo_writes_the_setup_cell_into_every_notebook(book):
    root, written = book
    mds = booktools.notebooks(root)
    assert len(mds) >= 20
    cell = booktools.install_cell(URL, TAG)
    for md in mds:
        nb = jupytext.read(md)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert first.source == cell, md.name
        assert first.metadata.get("tags") == ["remove-cell"]     # not on the book's pages
        assert booktools.install_url(md) == URL == booktools.repository_url(root)
        assert booktools.install_tag(md) == TAG
        assert booktools.twin_in_sync(md)
        tw = [c for c in jupytext.read(booktools.twin(md)).cells if c.cell_type == "code"]
        assert tw[0].source == cell
    assert {root / "_config.yml"} | set(mds) <= set(written)
    assert booktools.set_repo(URL, root=root, tag=TAG) == []          # idempotent


def test_set_repo_cli_takes_a_tag(book, monkeypatch, capsys):
    root, _ = book
    monkeypatch.setenv("FREQLEARN_ROOT", str(root))
    assert booktools.main(["set-repo", URL, "--tag", "v9.9.9"]) == 0
    md = booktools.notebooks(root)[0]
    assert booktools.install_tag(md) == "v9.9.9" and "wrote" in capsys.readouterr().out
    assert booktools.main(["set-repo", URL, "--tag"]) == 2
    assert booktools.main(["set-repo", URL, "--tag", TAG]) == 0


# ---- the install: dependencies ----------------------------------------------------------------
def _imports(src: str) -> set[str]:
    src = re.sub(r"(?m)^(\s*)[%!].*$", r"\1pass", src)
    out = set()
    try:
        tree = ast.parse(src)
    except SyntaxError:   # a file that does not parse fails its own tests, not this one
        return out
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.level == 0:
            out.add(n.module)
    return out


#: distribution of an import name, where they differ
_DIST = {"skimage": "scikit-image", "sklearn": "scikit-learn", "PIL": "pillow",
         "yaml": "pyyaml"}
#: imports that need not be in ``dependencies``, and why
_NOT_NEEDED = {
    "IPython": "the Jupyter/Colab kernel itself",
    "myst_nb": "optional in notebook.py (ImportError → inline figures); the book build",
    "jupytext": "booktools only (book maintenance, [book] extra)",
    "nbformat": "booktools only", "jupyter_cache": "booktools only", "yaml": "booktools",
    "submitit": "freqlearn.sweep on SLURM ([cluster] extra, imported on use)",
    "distributed": "freqlearn.sweep on Dask ([cluster] extra, imported on use)",
    "google": "Colab's own module, imported by the setup cell on Colab only",
    "nbclient": "colabcheck only (book maintenance; jupyter-book brings it)",
    "jupyter_client": "colabcheck only", "packaging": "colabcheck only",
}


def test_every_import_of_the_notebooks_and_the_package_is_a_dependency():
    deps = _deps()
    found: dict[str, set[str]] = {}
    for p in (ROOT / "lib" / "freqlearn").rglob("*.py"):
        for m in _imports(p.read_text()):
            found.setdefault(m.split(".")[0], set()).add(str(p.relative_to(ROOT)))
    for md in booktools.notebooks(ROOT):
        for c in jupytext.read(md).cells:
            if c.cell_type == "code":
                for m in _imports(c.source):
                    found.setdefault(m.split(".")[0], set()).add(str(md.relative_to(ROOT)))
    third = {m: w for m, w in found.items()
             if m not in sys.stdlib_module_names and m not in ("freqlearn", "__future__")}
    missing = {m: sorted(w)[:3] for m, w in third.items()
               if _DIST.get(m, m).lower() not in deps and m not in _NOT_NEEDED}
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"
    assert "tensorly" in deps and "ipywidgets" in deps


def test_dependencies_have_lower_bounds_only_unless_a_comment_says_why():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[\n(.*?)^\]", text, re.S | re.M).group(1)
    for line in block.splitlines():
        req = line.split("#")[0].strip().strip(",").strip('"')
        if not req:
            continue
        for spec in Requirement(req).specifier:
            if spec.operator in ("<", "<=", "==", "~=", "==="):
                assert "#" in line, f"{req}: an upper bound needs its reason in a comment"
    assert Version("2.14.0") in _deps()["torch"].specifier   # Colab's next torch is kept


def test_colabs_own_versions_satisfy_the_dependencies():
    """Installing on Colab adds tensorly and freqlearn and replaces nothing."""
    deps = _deps()
    assert {"numpy", "torch", "ipywidgets", "scipy", "matplotlib"} <= set(COLAB)
    assert COLAB["ipywidgets"] == "7.7.1" and COLAB["torch"] == "2.11.0"
    for name, req in deps.items():
        if name in COLAB:
            assert Version(COLAB[name]) in req.specifier, (name, COLAB[name], req)
    assert sorted(set(deps) - set(COLAB)) == ["tensorly"]   # the one package added


def test_the_lock_still_pins_ci_exactly():
    pins = dict(ln.split("==") for ln in (ROOT / "constraints.txt").read_text().splitlines()
                if ln and not ln.startswith("#"))
    pins = {k.lower(): v for k, v in pins.items()}
    for name, req in _deps().items():
        assert Version(pins[name]) in req.specifier, (name, pins[name])


# ---- the explorer's sliders --------------------------------------------------------------
def test_explorer_sliders_build_on_the_installed_ipywidgets(monkeypatch):
    """The explorer's widget cell, run with a stand-in ``draw``, builds four sliders with
    the values of the book's figure and calls ``draw`` with them (ipywidgets 7.7 and 8 share
    ``interactive``, ``FloatSlider`` and ``FloatLogSlider``; run under 7.7.1 by hand)."""
    import IPython.display
    import ipywidgets

    nb = jupytext.read(ROOT / "book" / "pinson2023" / "explorer.md")
    src = next(c.source for c in nb.cells if c.cell_type == "code"
               and "ipywidgets" in c.source)
    shown, calls = [], []

    def display(w):   # what a notebook's display does to a widget
        shown.append(w)
        if hasattr(w, "_handle_displayed"):   # ipywidgets 7 draws on display, 8 at once
            w._handle_displayed()

    monkeypatch.setattr(IPython.display, "display", display)
    plt = types.SimpleNamespace(show=lambda: None)
    ns = {"draw": lambda *a: calls.append(a), "plt": plt}
    exec(compile(src, "explorer", "exec"), ns)
    ui = ns["ui"]
    assert shown == [ui] and isinstance(ui, ipywidgets.interactive)
    sliders = [w for w in ui.children if "Slider" in type(w).__name__]
    assert [type(w).__name__ for w in sliders] == ["FloatSlider", "FloatSlider",
                                                   "FloatLogSlider", "FloatLogSlider"]
    assert [w.value for w in sliders] == pytest.approx([6.0, 1.0, 5e-4, 3e-10])
    assert calls and calls[-1] == pytest.approx((6.0, 1.0, 5e-4, 3e-10))
    sliders[0].value = 2.0                        # moving a slider redraws
    assert calls[-1][0] == pytest.approx(2.0)
    assert Version(ipywidgets.__version__) in _deps()["ipywidgets"].specifier

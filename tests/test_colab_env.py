"""A Colab-like environment in the tests (issue 23, item 4; ``freqlearn.colabcheck``).

The fast tests check the pieces offline: the one list of Colab's versions, the stand-in
``google.colab``, the throwaway clone at the release tag, the install line that is pointed
at it, the reader's environment. The slow ones run the cheapest ``.ipynb`` twin of each
chapter (``colabcheck.PER_CHAPTER``) as ``make colab-check`` runs every twin: Colab's
versions in a virtual environment outside the checkout, each twin's own setup cell
installing the package, from an empty folder at the quick preset. They skip, saying why,
where the package index or git cannot be reached. ``FREQLEARN_COLAB_CHECK=all`` runs every
twin here, ``=off`` none; ``make test`` passes ``off`` unless called with
``COLAB_CHECK=chapters`` (its time limit). The first twin installs the package for real;
later ones keep that install (their setup cells clone and build it, and find it
installed), which saves ~15 s a twin; ``make colab-check`` starts every twin from Colab's
own set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from freqlearn import booktools, colabcheck

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ROOT / "tests" / "colab-versions.txt"


# ---- the list of Colab's versions ------------------------------------------------------------
def test_the_list_holds_colabs_versions_and_says_what_differs_here():
    pins = {p.name: p for p in colabcheck.pins(VERSIONS)}
    text = VERSIONS.read_text()
    assert "googlecolab/backend-info" in text and "2026-08-19" in text   # source and date
    colab = colabcheck.colab_versions(VERSIONS)
    assert {k: colab[k] for k in ("numpy", "scipy", "matplotlib", "scikit-image",
                                  "scikit-learn", "ipywidgets", "tqdm", "pillow")} == {
        "numpy": "2.1.3", "scipy": "1.16.3", "matplotlib": "3.10.0",
        "scikit-image": "0.25.2", "scikit-learn": "1.6.1", "ipywidgets": "7.7.1",
        "tqdm": "4.67.3", "pillow": "11.3.0"}
    assert "tensorly" not in pins and "freqlearn" not in pins   # the setup cell adds them
    # torch stays at this machine's version, said in the list with its reason
    assert pins["torch"].colab == "2.11.0" and pins["torch"].spec == "torch==2.13.0"
    assert "CUDA" in text
    differ = [p for p in pins.values() if p.spec != f"{p.name}=={p.colab}"]
    assert all(p.why for p in differ) and len(differ) <= 5, differ
    specs = colabcheck.install_specs(VERSIONS, torch="torch==2.12.0")
    assert "torch==2.12.0" in specs and "ipywidgets==7.7.1" in specs
    assert all(s.count("==") == 1 for s in specs)


def test_a_line_that_is_not_a_pin_is_refused(tmp_path):
    f = tmp_path / "v.txt"
    f.write_text("numpy>=2\n")
    with pytest.raises(ValueError, match="not `name==version`"):
        colabcheck.pins(f)


# ---- the stand-in google.colab ------------------------------------------------------------------
def test_stand_in_colab_imports_and_its_drive_says_what_it_is(tmp_path, monkeypatch):
    for rel, text in colabcheck._STUB.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    code = ("import sys\nfrom google.colab import drive\n"
            "try:\n    drive.mount('/content/drive')\nexcept RuntimeError as e:\n"
            "    print('mount:', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert "mount: google.colab.drive.mount: no Google Drive" in r.stdout
    launcher = colabcheck._STUB["colab_kernel_launcher.py"]
    assert launcher.index("import google.colab") < launcher.index("launch_new_instance")


# ---- the throwaway clone and the install line ------------------------------------------------
def _git(*args, cwd):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_snapshot_is_the_working_tree_at_the_tag_and_writes_nothing_in_the_checkout(
        tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _git("init", "-q", cwd=src)
    (src / ".gitignore").write_text("ignored.txt\n")
    (src / "a.txt").write_text("committed\n")
    _git("add", "-A", cwd=src)
    _git("commit", "-q", "-m", "one", cwd=src)
    (src / "a.txt").write_text("changed, not committed\n")
    (src / "new.txt").write_text("untracked\n")
    (src / "ignored.txt").write_text("ignored\n")
    before = (_git("status", "--porcelain", cwd=src), _git("show-ref", cwd=src),
              sorted(p.name for p in (src / ".git" / "objects").rglob("*")))
    url = colabcheck.snapshot(src, tmp_path / "snap", "v0.1.0")
    assert url == f"file://localhost{(tmp_path / 'snap').resolve()}"
    after = (_git("status", "--porcelain", cwd=src), _git("show-ref", cwd=src),
             sorted(p.name for p in (src / ".git" / "objects").rglob("*")))
    assert after == before
    out = tmp_path / "clone"      # what pip's `git clone file://localhost/...` sees
    subprocess.run(["git", "clone", "-q", "--branch", "v0.1.0", url, str(out)], check=True,
                   capture_output=True)
    assert (out / "a.txt").read_text() == "changed, not committed\n"
    assert (out / "new.txt").exists() and not (out / "ignored.txt").exists()


def test_every_twin_has_the_install_line_that_the_check_points_at_its_clone():
    mds = booktools.notebooks(ROOT)
    assert len(mds) >= 20
    url, tag = booktools.install_url(mds[0]), booktools.install_tag(mds[0])
    for md in mds:
        nb = json.loads(booktools.twin(md).read_text())
        first = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
        assert colabcheck._SPEC.findall(first) == [(url, tag)], md.name
        assert "%pip install" in first and '"{SPEC}"' in first


def test_the_readers_environment_has_none_of_the_checkouts(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    monkeypatch.setenv("VIRTUAL_ENV", str(ROOT / ".venv"))
    monkeypatch.setenv("FREQLEARN_BASELINE", "check")
    monkeypatch.setenv("BOOK_SEED", "44")
    monkeypatch.setenv("FREQLEARN_DEVICE", "cpu")
    monkeypatch.setenv("PATH", f"{ROOT / '.venv' / 'bin'}{os.pathsep}/usr/bin")
    env = colabcheck._kernel_env(venv, tmp_path / "home")
    assert "VIRTUAL_ENV" not in env and "FREQLEARN_BASELINE" not in env
    assert "BOOK_SEED" not in env and env["BOOK_PRESET"] == "quick"
    assert env["FREQLEARN_DEVICE"] == "cpu"          # a GPU check passes its device on
    assert env["PATH"].split(os.pathsep)[0] == str(venv / "bin")
    if (ROOT / ".venv" / "bin" / "activate").exists():
        assert str(ROOT / ".venv" / "bin") not in env["PATH"]
    assert env["HOME"] == str(tmp_path / "home")


def test_the_environment_may_not_live_in_the_checkout():
    env = colabcheck.ColabEnv(ROOT / "_build" / "colab", versions=VERSIONS)
    with pytest.raises(ValueError, match="outside the checkout"):
        env.ensure(log=lambda *a: None)


def test_result_line_names_the_error_and_the_times():
    r = colabcheck.Result("pinson2023/explorer", False, 52.4, 30.1,
                          "code cell 3: ModuleNotFoundError: No module named 'tensorly'")
    line = r.line()
    assert line.startswith("FAILED") and "52 s" in line and "install 30 s" in line
    assert "No module named 'tensorly'" in line
    assert json.dumps(r.__dict__)


# ---- the twins in the Colab-like environment (slow; skipped without the package index) ----
_MODE = os.environ.get("FREQLEARN_COLAB_CHECK", "off")
_NAMES = ([md.relative_to(ROOT / "book").with_suffix("").as_posix()
           for md in booktools.notebooks(ROOT)] if _MODE == "all"
          else colabcheck.PER_CHAPTER)


def test_each_chapter_has_its_cheapest_twin_in_the_check():
    chapters = {md.parent.name for md in booktools.notebooks(ROOT)
                if md.parent != ROOT / "book"}
    assert {n.split("/")[0] for n in colabcheck.PER_CHAPTER} == chapters
    for n in colabcheck.PER_CHAPTER:
        assert (ROOT / "book" / f"{n}.ipynb").exists(), n


@pytest.fixture(scope="module")
def session():
    if _MODE == "off":
        pytest.skip("FREQLEARN_COLAB_CHECK=off")
    why = colabcheck.unavailable()
    if why:
        pytest.skip(f"no Colab-like environment here: {why}")
    with colabcheck.Session(ROOT, fresh=False, log=lambda *a: None) as s:
        yield s


@pytest.mark.parametrize("name", _NAMES)
def test_twin_runs_in_a_colab_like_environment(session, name):
    r = session.run(name)
    print(r.line())
    assert r.ok, r.line()

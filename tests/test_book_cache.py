"""The book's execution cache is never stale (issue 25, item 1).

jupyter-cache finds an executed notebook by its code cells alone; ``booktools execute``
records what else the pages depend on (preset, seed, device, ``lib/freqlearn``, the lock,
the records, the baseline) and clears the cache when it changed. These tests run on a
temporary copy of the package, never on the real ``_build``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from freqlearn import booktools
from mystnb_header import MYST_HEADER

ROOT = Path(__file__).resolve().parents[1]
BUILT = booktools.BUILT_FROM_CACHE


@pytest.fixture
def book(tmp_path):
    """A temporary book root holding a copy of what the key hashes."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "lib" / "freqlearn", tmp_path / "lib" / "freqlearn", ignore=ignore)
    shutil.copy(ROOT / "constraints.txt", tmp_path / "constraints.txt")
    shutil.copytree(ROOT / "records", tmp_path / "records", ignore=ignore)
    shutil.copytree(ROOT / "tests" / "baselines", tmp_path / "tests" / "baselines")
    return tmp_path


def _build_something(root: Path) -> None:
    """Stand-ins for a finished build: the cache, the doctrees, the pages, the claims."""
    for d in BUILT:
        (root / "_build" / d).mkdir(parents=True, exist_ok=True)
        (root / "_build" / d / "x").write_text("built")


def _kept(root: Path) -> bool:
    return all((root / "_build" / d / "x").exists() for d in BUILT)


def _cleared(root: Path) -> bool:
    return not any((root / "_build" / d).exists() for d in BUILT)


def test_a_fresh_checkout_only_records_the_key(book):
    assert booktools.refresh_cache(book, env={}) == []
    assert (book / "_build" / ".book-key.json").exists()


def test_a_build_without_a_key_is_cleared(book):
    _build_something(book)   # e.g. a cache made before the key existed
    assert booktools.refresh_cache(book, env={}) == [
        "no record of what the cache was built for"]
    assert _cleared(book)


def test_changed_seed_after_a_default_build_clears_the_cache(book, capsys):
    assert booktools.refresh_cache(book, env={}) == []
    _build_something(book)
    # the same setup, written three ways, keeps the cache
    for env in ({}, {"BOOK_SEED": ""}, {"BOOK_SEED": " 20230302 "},
                {"BOOK_PRESET": "quick", "FREQLEARN_BASELINE": "warn"}):
        assert booktools.refresh_cache(book, env=env) == [], env
        assert _kept(book)
    # BOOK_SEED=11 make book after a default build
    assert booktools.refresh_cache(book, env={"BOOK_SEED": "11"}) == ["seed 20230302 -> 11"]
    assert _cleared(book)
    assert "seed 20230302 -> 11" in capsys.readouterr().out
    _build_something(book)
    assert booktools.refresh_cache(book, env={"BOOK_SEED": "11"}) == []
    assert _kept(book)
    # back to the default seed: cleared again (the cache holds seed 11's pages)
    assert booktools.refresh_cache(book, env={}) == ["seed 11 -> 20230302"]
    assert _cleared(book)


@pytest.mark.parametrize("env, change", [
    ({"BOOK_PRESET": "paper"}, "preset quick -> paper"),
    ({"FREQLEARN_DEVICE": "meta"}, "device auto:"),
    ({"FREQLEARN_BASELINE": "off"}, "baseline_mode warn -> off"),
])
def test_preset_device_and_baseline_mode_clear_the_cache(book, env, change):
    booktools.refresh_cache(book, env={})
    _build_something(book)
    changes = booktools.refresh_cache(book, env=env)
    assert any(c.startswith(change) for c in changes), changes
    assert _cleared(book)


@pytest.mark.parametrize("rel, name", [
    ("lib/freqlearn/presets.py", "code (lib/freqlearn) changed"),
    ("lib/freqlearn/theory/new_module.py", "code (lib/freqlearn) changed"),
    ("constraints.txt", "lock (constraints.txt) changed"),
    ("records/paper/new.json", "records (records) changed"),
    ("tests/baselines/quick.json", "baseline (tests/baselines) changed"),
])
def test_an_edit_to_the_package_lock_or_records_clears_the_cache(book, rel, name):
    booktools.refresh_cache(book, env={})
    _build_something(book)
    path = book / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write("\n# edited\n")
    assert booktools.refresh_cache(book, env={}) == [name]
    assert _cleared(book)


def test_byte_code_and_hidden_files_do_not_count(book):
    booktools.refresh_cache(book, env={})
    _build_something(book)
    cache = book / "lib" / "freqlearn" / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "presets.cpython-311.pyc").write_bytes(b"\0\1")
    (book / "records" / ".DS_Store").write_bytes(b"\0")
    assert booktools.refresh_cache(book, env={}) == []
    assert _kept(book)


def test_an_unreadable_key_counts_as_none(book):
    booktools.refresh_cache(book, env={})
    _build_something(book)
    (book / "_build" / ".book-key.json").write_text("{trunc")
    assert booktools.refresh_cache(book, env={}) == ["no record of what the cache was built for"]
    assert _cleared(book)


NB = MYST_HEADER + """
# Which seed?

```{code-cell} ipython3
import os
print("seed=" + (os.environ.get("BOOK_SEED") or "default"))
```
"""


def _page(book: Path, nb: Path) -> str:
    """The output the build would show for ``nb``: myst-nb's reader merged with the cache."""
    from jupyter_cache import get_cache
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    text = nb.read_text()
    reader = create_nb_reader(str(nb), MdParserConfig(), NbParserConfig(), text)
    cache = get_cache(str(book / "_build" / ".jupyter_cache"))
    _, merged = cache.merge_match_into_notebook(reader.read(text))
    return merged.cells[-1].outputs[0]["text"].strip()


@pytest.mark.slow
def test_execute_re_executes_after_a_seed_change(book, monkeypatch):
    """``BOOK_SEED=11`` after a default build re-executes the unchanged notebook, and the
    page the build reads from the cache shows seed 11 (an edit to ``lib/freqlearn`` takes
    the same path: ``test_an_edit_to_the_package_lock_or_records_clears_the_cache``)."""
    for var in ("BOOK_SEED", "BOOK_PRESET", "FREQLEARN_DEVICE", "FREQLEARN_BASELINE"):
        monkeypatch.delenv(var, raising=False)
    nb = book / "page.md"
    nb.write_text(NB)
    run = lambda: booktools.execute(1, root=book, timeout=120, paths=[nb])  # noqa: E731
    assert run() == ([str(nb.resolve())], [])
    assert _page(book, nb) == "seed=default"
    assert run() == ([], [])          # nothing changed: served from the cache
    monkeypatch.setenv("BOOK_SEED", "11")
    assert run() == ([str(nb.resolve())], [])
    assert _page(book, nb) == "seed=11"
    assert run() == ([], [])

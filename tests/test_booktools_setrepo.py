"""``booktools set-repo`` on a scratch book: all or nothing (BT.18), exactly
``repository.url`` (BT.19), atomic writes (probe-reliability-2)."""

from __future__ import annotations

import pytest
import yaml

from freqlearn import booktools

OLD = "https://github.com/freqlearn/freqlearn-book"
NEW = "https://github.com/someone/fork"

CONFIG = f"""# a scratch book
title: "Scratch"
analytics:
  # not the repository: must be left alone
  url: https://example.org/stats   # a comment to keep
repository:
  branch: main
  url: {OLD}   # the one place the repository is named
  path_to_book: ""
html:
  use_repository_button: true
"""

NB = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {title}

```{{code-cell}} ipython3
:tags: [remove-cell]

import sys

if "google.colab" in sys.modules:
    %pip install -q "freqlearn @ git+{url}"
```

```{{code-cell}} ipython3
print({title!r})
```
"""


def _book(tmp_path, *, last_has_install=True):
    """A book root: _config.yml, _toc.yml and three notebooks (the last one optionally
    without a Colab install cell), with their .ipynb twins in sync."""
    (tmp_path / "_config.yml").write_text(CONFIG)
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/a\n  - file: book/z\n")
    (tmp_path / "book").mkdir()
    for name in ("intro", "a", "z"):
        text = NB.format(title=name, url=OLD)
        if name == "z" and not last_has_install:
            text = text.replace(f'%pip install -q "freqlearn @ git+{OLD}"', "pass")
        (tmp_path / "book" / f"{name}.md").write_text(text)
    booktools.sync_ipynb(tmp_path)
    return tmp_path


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_bt18_a_notebook_without_install_cell_leaves_the_book_untouched(tmp_path,
                                                                       monkeypatch):
    root = _book(tmp_path, last_has_install=False)
    before = _snapshot(root)
    with pytest.raises(RuntimeError, match=r"z\.md: no Colab install cell"):
        booktools.set_repo(NEW, root=root)
    assert _snapshot(root) == before               # not _config.yml, not intro.md, not a twin
    monkeypatch.setenv("FREQLEARN_ROOT", str(root))    # the CLI, as the probe ran it
    with pytest.raises(RuntimeError, match="no Colab install cell"):
        booktools.main(["set-repo", NEW])
    assert _snapshot(root) == before
    assert not [p for p in root.rglob("*.tmp")]    # no temporary file left behind


def test_bt19_only_repository_url_changes_and_the_file_keeps_its_comments(tmp_path):
    root = _book(tmp_path)
    written = booktools.set_repo(NEW, root=root)
    cfg = (root / "_config.yml").read_text()
    assert cfg == CONFIG.replace(f"url: {OLD}", f"url: {NEW}")     # one line, comment kept
    data = yaml.safe_load(cfg)
    assert data["repository"]["url"] == NEW
    assert data["analytics"]["url"] == "https://example.org/stats"
    assert booktools.repository_url(root) == NEW
    for md in booktools.notebooks(root):
        assert booktools.install_url(md) == NEW
        assert NEW in booktools.twin(md).read_text()
    assert root / "_config.yml" in written and len(written) == 1 + 3 + 3   # config, mds, twins
    again = _snapshot(root)
    assert booktools.set_repo(NEW, root=root) == [] and _snapshot(root) == again


@pytest.mark.parametrize("config, why", [
    (CONFIG.replace("repository:\n", "repository: {}\nold_repository:\n"), "no repository.url"),
    (CONFIG + "repository:\n  url: https://github.com/a/b\n", "top-level 'repository:'"),
    (CONFIG.replace(f"url: {OLD}", f"url:\n    {OLD}"), "not a plain"),
    (CONFIG.replace("  path_to_book", "  urls:\n    url: x\n  path_to_book"), None),
    (CONFIG.replace("title:", "title: [unclosed\n"), "not valid YAML")])
def test_bt19_a_config_it_cannot_edit_safely_is_refused_without_writing(tmp_path, config,
                                                                        why):
    root = _book(tmp_path)
    (root / "_config.yml").write_text(config)
    before = _snapshot(root)
    if why is None:    # a nested url: deeper in the block is not repository.url: still fine
        booktools.set_repo(NEW, root=root)
        data = yaml.safe_load((root / "_config.yml").read_text())
        assert data["repository"]["url"] == NEW and data["repository"]["urls"]["url"] == "x"
        return
    with pytest.raises(RuntimeError, match="nothing was written") as e:
        booktools.set_repo(NEW, root=root)
    assert why in str(e.value)
    assert _snapshot(root) == before


def test_sync_ipynb_rewrites_a_corrupt_twin(tmp_path):
    root = _book(tmp_path)
    tw = booktools.twin(root / "book" / "a.md")
    tw.write_text("{ not json")
    assert booktools.sync_ipynb(root) == [tw]
    assert '"cells"' in tw.read_text() and booktools.sync_ipynb(root) == []

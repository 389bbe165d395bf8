"""``booktools set-repo`` on a scratch book: all or nothing (BT.18), exactly
``repository.url`` (BT.19), atomic writes (probe-reliability-2)."""

from __future__ import annotations

import jupytext
import pytest
import yaml

import freqlearn
from freqlearn import booktools
from mystnb_header import MYST_HEADER

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

NB = MYST_HEADER + """
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


# ---- issue 23: the setup cell at the book's release tag --------------------------------------
def test_set_repo_writes_the_setup_cell_at_the_tag(tmp_path):
    root = _book(tmp_path)
    assert booktools.install_tag(root / "book" / "a.md") is None      # the old, unpinned cell
    written = booktools.set_repo(NEW, root=root, tag="v0.1.0")
    assert len(written) == 1 + 3 + 3
    for md in booktools.notebooks(root):
        first = next(c for c in jupytext.read(md).cells if c.cell_type == "code")
        assert first.source == booktools.install_cell(NEW, "v0.1.0")
        assert first.metadata["tags"] == ["remove-cell"]
        assert (booktools.install_url(md), booktools.install_tag(md)) == (NEW, "v0.1.0")
        assert md.read_text().endswith("```{code-cell} ipython3\nprint('" + md.stem
                                       + "')\n```\n")        # the rest of the file as it was
    # the default tag is the package's version (this scratch book has no pyproject.toml)
    booktools.set_repo(NEW, root=root)
    assert booktools.install_tag(root / "book" / "z.md") == f"v{freqlearn.__version__}"


@pytest.mark.parametrize("tag", ["", "v 1", "v1@x", 'v1"'])
def test_set_repo_refuses_a_bad_tag_without_writing(tmp_path, tag):
    root = _book(tmp_path)
    before = _snapshot(root)
    with pytest.raises(ValueError, match="tag must be"):
        booktools.set_repo(NEW, root=root, tag=tag)
    assert _snapshot(root) == before


def test_set_repo_keeps_crlf_line_endings(tmp_path):
    root = _book(tmp_path)
    md = root / "book" / "a.md"
    md.write_bytes(md.read_bytes().replace(b"\n", b"\r\n"))
    booktools.set_repo(NEW, root=root, tag="v0.1.0")
    data = md.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert booktools.install_tag(md) == "v0.1.0"

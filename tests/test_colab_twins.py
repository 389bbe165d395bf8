"""Readable twins (issue 23, item 3): ``sync-ipynb`` writes ``.ipynb`` twins whose markdown
holds no MyST — what a reader opening the Colab button sees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jupytext
import pytest

from freqlearn import booktools

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A copy of the whole book (without its twins), synced."""
    root = tmp_path_factory.mktemp("book")
    for f in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / f, root / f)
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    written = booktools.sync_ipynb(root)
    return root, written


def _markdown(tw: Path) -> list[str]:
    nb = json.loads(tw.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_no_twin_of_the_book_holds_myst(synced):
    root, written = synced
    mds = booktools.notebooks(root)
    assert len(written) == len(mds) >= 20
    raw = sum(len(booktools.myst_leftovers(md.read_text())) for md in mds)
    assert raw > 500            # the sources are full of MyST: the scan does see it
    left = {md.name: booktools.myst_leftovers(m)[:3] for md in mds
            for m in _markdown(booktools.twin(md)) if booktools.myst_leftovers(m)}
    assert not left, f"MyST left in twins' markdown: {left}"
    assert booktools.sync_ipynb(root) == []      # a second sync writes nothing


def test_twins_keep_the_code_and_link_to_the_book(synced):
    root, _ = synced
    url = booktools.book_url(root)
    assert url == "https://freqlearn.github.io/freqlearn-book"    # from repository.url
    for md in booktools.notebooks(root):
        a, b = jupytext.read(md), jupytext.read(booktools.twin(md))
        assert ([c.source for c in a.cells if c.cell_type == "code"]
                == [c.source for c in b.cells if c.cell_type == "code"])
        assert [c.cell_type for c in a.cells] == [c.cell_type for c in b.cells]
        rel = md.relative_to(root).with_suffix("").as_posix()
        assert f"({url}/{rel}.html)" in _markdown(booktools.twin(md))[0]
        assert booktools.twin_in_sync(md)


def test_cosines_twin_reads_like_the_page(synced):
    root, _ = synced
    md = _markdown(root / "book" / "pinson2023" / "cosines.ipynb")
    text = "\n".join(md)
    bib = "https://freqlearn.github.io/freqlearn-book/book/bibliography.html"
    assert f"[Pinson et al. (2023)]({bib}) train the two-layer" in text
    assert "\\tag{1} $$" in text and "\\tag{2} $$" in text and "(pinson-eq22)" not in text
    assert "Eq. (2)" in text                      # {eq}`pinson-eq-time`: its number
    assert "*Figure 1 (above): the plot and its caption are the output of code cell 3.*" \
        in text
    code = [c.source for c in jupytext.read(root / "book/pinson2023/cosines.md").cells
            if c.cell_type == "code"]
    # the glued value points to the cell that glues it (an f-string name in a loop)
    assert "⟨`p3-dev-slow`, code cell 6⟩" in text and 'glue(f"p3-dev-{k}"' in code[5]


def _nb(root: Path, name: str, body: str) -> Path:
    md = root / "book" / f"{name}.md"
    md.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n"
                  "    format_name: myst\n    format_version: 0.13\nkernelspec:\n"
                  "  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
                  + body)
    return md


def test_each_kind_of_myst_becomes_plain_markdown(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "title: t\nbibtex_bibfiles:\n  - book/refs.bib\nhtml:\n"
        "  baseurl: https://example.org/bk/\nrepository:\n  url: https://github.com/a/b\n")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/a\nchapters:\n  - file: book/b\n")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "refs.bib").write_text(
        "@article{solo2020,\n  author = {Sz{\\'e}kely, Eszter},\n  year = {2020}\n}\n"
        "@article{duo2021,\n  author = {Chowers, Rhea and Weiss, Yair},\n  year = 2021,\n}\n"
        "@article{trio2022,\n  author = {A, B and C, D and van der E, F},\n"
        "  year = {2022}\n}\n")
    _nb(tmp_path, "b", "# Page B\n\n$$ y = 1 $$ (eq-b)\n\n(sec-b)=\n## A section\n")
    md = _nb(tmp_path, "a", """# Page A

```{code-cell} ipython3
x = 1
```

{cite:t}`solo2020` and {cite:p}`duo2021,trio2022`; see {doc}`b`, {doc}`that page <b>`,
{ref}`the section <sec-b>` and Eq. {eq}`eq-b` of page B; here Eq. {eq}`eq-a`.

$$ x = 2 $$ (eq-a)

```{code-cell} ipython3
fl.notebook.glue("val", x)
fl.notebook.figure(fig, "fig-a", "a caption")
```

(tgt)=
The value is {glue:}`val` and {glue:}`nowhere`; {numref}`fig-a` shows it.

```{glue:figure} fig-a
:name: fig-a

{glue:}`fig-a-caption`
```

:::{note}
A *note* citing {cite}`solo2020`.
:::

```{warning}
Careful.
```
""")
    booktools.sync_ipynb(tmp_path)
    text = "\n".join(_markdown(booktools.twin(md)))
    bib = "https://example.org/bk/book/bibliography.html"
    assert f"[Székely (2020)]({bib}) and ([Chowers and Weiss, 2021]({bib}); " \
           f"[A et al., 2022]({bib}))" in text
    assert "see [Page B](https://example.org/bk/book/b.html), " \
           "[that page](https://example.org/bk/book/b.html)," in text
    assert "[the section](https://example.org/bk/book/b.html#sec-b)" in text
    assert "Eq. [(1)](https://example.org/bk/book/b.html#equation-eq-b) of page B" in text
    assert "here Eq. (1)." in text and "$$ x = 2 \\tag{1} $$" in text
    assert "The value is ⟨`val`, code cell 2⟩ and ⟨`nowhere`, the code above⟩; " \
           "Figure 1 shows it." in text
    assert "*Figure 1 (above): the plot and its caption are the output of code cell 2.*" \
        in text
    assert f"> **Note.**\n>\n> A *note* citing ([Székely, 2020]({bib}))." in text
    assert "> **Warning.**\n>\n> Careful." in text
    assert "(tgt)=" not in text and not booktools.myst_leftovers(text)
    assert "(https://example.org/bk/book/a.html)" in text      # the note under the title


def test_the_leftover_scan_sees_each_kind():
    for s in ("{glue:}`x`", "{cite:t}`k`", "```{warning}\nx\n```", ":::{note}\nx\n:::",
              "$$ x $$ (lbl)", "(lbl)=\n", "  ```{glue:figure} f\n  ```"):
        assert booktools.myst_leftovers(s), s
    assert not booktools.myst_leftovers("`{code}` in backticks is fine? $$ x $$ (a) b")


def test_a_changed_page_keeps_its_twins_cell_ids(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/a/b\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/a\n")
    (tmp_path / "book").mkdir()
    md = _nb(tmp_path, "a", "# A\n\nOne {doc}`a`.\n\n```{code-cell} ipython3\nx = 1\n```\n")
    booktools.sync_ipynb(tmp_path)
    before = booktools.twin(md).read_text()
    md.write_text(md.read_text().replace("One", "Two"))
    assert booktools.sync_ipynb(tmp_path) == [booktools.twin(md)]
    after = booktools.twin(md).read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True)
               if a != b]
    assert len(changed) == 1 and "Two [A](https://a.github.io/b/book/a.html)." in after

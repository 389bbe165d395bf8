"""Unit tests of ``freqlearn.notebook`` and ``freqlearn.plots`` (the notebooks' helpers)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from freqlearn import notebook, plots  # noqa: E402
from freqlearn.claims import Claims  # noqa: E402


def test_start_seeds_and_returns_claims(monkeypatch, capsys):
    monkeypatch.setenv("BOOK_PRESET", "quick")
    p, c = notebook.start("toolkit/fourier")
    a = torch.rand(3)
    assert p.name == "quick" and isinstance(c, Claims)
    assert c.notebook == "toolkit/fourier" and c.preset == "quick"
    assert "preset=quick" in capsys.readouterr().out
    notebook.start("toolkit/fourier")
    assert torch.equal(torch.rand(3), a)
    monkeypatch.setenv("BOOK_PRESET", "paper")
    p, c = notebook.start("toolkit/fourier")
    assert p.name == "paper" and c.preset == "paper"
    assert not torch.equal(torch.rand(3), a)
    with pytest.raises(ValueError, match="without suffix"):
        notebook.start("toolkit/fourier.md")


def test_glue_returns_value_and_formats(monkeypatch):
    seen = {}
    monkeypatch.setattr(notebook, "_myst_glue",
                        lambda: (lambda name, v, display=False: seen.__setitem__(name, v)))
    assert notebook.glue("x", 0.123456, fmt=".3g") is None
    assert repr(seen["x"]) == "0.123"  # glued as text, shown without quotes
    assert notebook.glue("y", 7) is None and seen["y"] == 7
    fig = plt.figure()
    notebook.figure(fig, "fig-a", "A caption.")
    assert seen["fig-a"] is fig and repr(seen["fig-a-caption"]) == "A caption."
    assert not plt.fignum_exists(fig.number)  # closed


def test_caption_names_data_preset_trials(monkeypatch):
    monkeypatch.setenv("BOOK_PRESET", "quick")
    s = plots.caption("Loss curves.", data="CIFAR-10", trials=10)
    assert "Data: CIFAR-10." in s and "10 trials" in s
    assert "quick" in s and "20230302" in s
    assert "band" in s
    s1 = plots.caption("One", data="x", trials=1)
    assert "1 trial." in s1 and "band" not in s1
    s0 = plots.caption("Q", data="none", trials=0)
    assert "deterministic" in s0 and "trial" not in s0
    s5 = plots.caption("Timing", data="x", trials=5, spread="median and quartiles")
    assert "5 trials (median and quartiles)." in s5 and "band" not in s5
    for bad in (-1, 2.0, True, "3"):
        with pytest.raises(ValueError, match="trials"):
            plots.caption("x", data="x", trials=bad)


def test_every_notebook_caption_names_its_trials():
    """Guide: every figure's caption names data, preset and trials (0 = deterministic)."""
    import re
    from pathlib import Path

    missing = []
    for nb in sorted((Path(__file__).parents[1] / "book").rglob("*.md")):
        text = nb.read_text()
        for m in re.finditer(r"fl\.plots\.caption\(", text):
            i, depth = m.end(), 1
            while depth:
                depth += (text[i] == "(") - (text[i] == ")")
                i += 1
            if "trials=" not in text[m.start():i]:
                missing.append(f"{nb.name}:{text[:m.start()].count(chr(10)) + 1}")
    assert not missing, f"captions without trials=: {missing}"


def test_band_and_theory_draw_mean_and_dashed():
    fig, ax = plt.subplots()
    t = np.arange(5.0)
    Y = np.stack([t, t + 2.0])
    line = plots.band(ax, t, Y)
    np.testing.assert_allclose(line.get_ydata(), t + 1.0)
    assert len(ax.collections) == 1  # the ± sd band
    th = plots.theory(ax, t, t)
    assert th.get_linestyle() == "--"
    plots.band(ax, t, t)  # a single trial: no band
    assert len(ax.collections) == 1
    plt.close(fig)
    fig = plots.imshow_grid(np.zeros((5, 4, 4)), ncols=3)
    assert len(fig.axes) == 6
    plt.close(fig)


def test_glue_without_myst_nb_shows_name_and_value_in_a_notebook(monkeypatch):
    """On Colab (no myst-nb) the twin's prose points at the cell: the value shows there."""
    import IPython.display

    from freqlearn import notebook as nbk

    shown = []
    monkeypatch.setattr(nbk, "_myst_glue", lambda: None)
    monkeypatch.setattr(IPython.display, "display", lambda x: shown.append(x))
    monkeypatch.setattr(nbk, "_in_ipython", lambda: False)
    assert nbk.glue("p3-ratio", 1.41421, fmt=".3f") is None
    assert shown == []  # a plain script prints nothing
    monkeypatch.setattr(nbk, "_in_ipython", lambda: True)
    nbk.glue("p3-ratio", 1.41421, fmt=".3f")
    assert shown[-1].data == "`p3-ratio` = 1.414"
    nbk.glue("p3-text", "a b", display=True)
    assert repr(shown[-1]) == "a b"


def test_table_shows_numbers_not_reprs():
    """``fl.notebook.table``: a cell's intermediate numbers as a small table (issue 25:
    no raw reprs such as ``np.float64(…)`` under a cell)."""
    import numpy as np
    import torch

    t = notebook.table({"unitary": np.float64(3.552713678825696e-15), "n": np.int64(8),
                        "v": np.array([1.23456, 2.0]), "t": torch.tensor(0.5)})
    text, html = repr(t), t._repr_html_()
    assert "np." not in text and "array(" not in text and "tensor(" not in text
    assert "3.55e-15" in text and "[1.23, 2]" in text and "0.5" in text
    assert html.startswith('<table class="freqlearn-table">') and "<td>8</td>" in html
    rows = notebook.table({"a": {"x": 1, "y": 2.5}, "b": {"x": 3}})
    assert rows.head == ["", "x", "y"] and rows.rows == [["a", "1", "2.5"], ["b", "3", ""]]
    named = notebook.table([("k", 1.0, 0.57)], ["net", "acc", "paper"], digits=2)
    assert named.head == ["net", "acc", "paper"] and named.rows == [["k", "1", "0.57"]]
    assert "<th>net</th>" in named._repr_html_()
    assert notebook.table((1, 2.0)).rows == [["1", "2"]]
    with pytest.raises(ValueError, match="2 names for 3 columns"):
        notebook.table([(1, 2, 3)], ["a", "b"])
    assert "&lt;b&gt;" in notebook.table({"<b>": 1})._repr_html_()   # escaped
    assert repr(notebook.table([])) == "(empty)" and notebook.table({})._repr_html_()

"""Results at a glance (``freqlearn.claims.glance``): computed from the claims and the
committed records, every outcome counted, and README.md's copy kept in sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freqlearn import store
from freqlearn.claims import glance

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_results_table_is_up_to_date(monkeypatch):
    """`make results` wrote README.md's table from the records now committed."""
    monkeypatch.setenv("FREQLEARN_ROOT", str(REPO))
    assert glance.update_readme(REPO, check=True), (
        "README.md's results table is out of date: run `make results` and commit it")


def _row(nb, verdict, claim="c"):
    return {"notebook": nb, "id": "P1", "claim": claim, "verdict": verdict,
            "preset": "quick", "measured": 1.0, "expected": 1.0, "tolerance": "",
            "reason": ""}


@pytest.fixture
def book(root):
    (root / "book" / "_ext").mkdir(parents=True)
    store.write_json(root / "book/_ext/chapters.json", [
        {"dir": "a", "title": "Paper A", "finding": "it holds"},
        {"dir": "b", "title": "Paper B", "finding": "it fails"}])
    for nb in ("a/x", "b/y"):
        (root / "book" / nb).parent.mkdir(parents=True, exist_ok=True)
        (root / "book" / f"{nb}.md").write_text("```{code-cell} ipython3\nx = 1\n```\n")
    (root / "_toc.yml").write_text("root: intro\n")
    return root


def test_every_outcome_is_counted_and_stale_records_are_marked(book):
    from freqlearn.claims.paths import notebook_code_sha256

    quick = [_row("a/x", "PASS"), _row("a/x", "INCONCLUSIVE", "d"), _row("b/y", "DIFFERS")]
    paper = {"b/y": {"provenance": {"code_sha256": "old"},
                     "claims": [_row("b/y", "FAIL"), _row("b/y", "PASS", "e")]}}
    seeds = {"_provenance": {"code_sha256": {"a/x": notebook_code_sha256("a/x")}},
             "a/x": {"P1|c": {"agree": 4, "of": 4}, "P1|d": {"agree": 3, "of": 4}}}
    a, b = glance.results_rows(quick, paper, seeds, book)
    assert (a["quick"], a["paper"], a["seeds"]) == ("1 PASS, 1 INCONCLUSIVE", "not run",
                                                    "1/2")
    assert b["quick"] == "1 DIFFERS" and b["seeds"] == "—"
    assert b["paper"].startswith("1 PASS, 1 FAIL (the record of 1 notebook predates")
    assert a["scale"] == "quick (1 notebooks)" and b["scale"].endswith("paper preset for 1")
    md = glance.results_markdown([a, b])
    assert "[Paper B](book/b/index.md)" in md and "it fails" in md


def test_update_readme_writes_between_its_markers_and_refuses_without_them(book):
    base = {"_rule": "", "_variants": ["default"],
            "a/x": {"P1|c": {"verdict": "PASS", "value": 1.0}}}
    store.write_json(book / "tests/baselines/quick.json", base)
    (book / "README.md").write_text(f"# Book\n\n{glance.START}\nold\n{glance.END}\n\nrest\n")
    assert not glance.update_readme(book, check=True)
    assert "old" in (book / "README.md").read_text()  # --check never writes
    assert not glance.update_readme(book)
    text = (book / "README.md").read_text()
    assert "| [Paper A](book/a/index.md) | quick (1 notebooks) | 1 PASS |" in text
    assert text.endswith(f"{glance.END}\n\nrest\n") and glance.update_readme(book, check=True)
    (book / "README.md").write_text("# no markers\n")
    with pytest.raises(ValueError, match="must hold the markers"):
        glance.update_readme(book)
    json.loads((book / "book/_ext/chapters.json").read_text())


def test_the_results_directive_renders_links_and_counts(book, monkeypatch):
    """A tiny Sphinx build with the book's extension: ``.. results::`` becomes the table,
    with a working link per chapter and this build's counts."""
    sphinx_app = pytest.importorskip("sphinx.application")
    from freqlearn.claims import Claims

    monkeypatch.syspath_prepend(str(REPO / "book" / "_ext"))
    (book / "conf.py").write_text("extensions = ['scoreboard']\nexclude_patterns = "
                                  "['_build']\n")
    (book / "index.rst").write_text("Intro\n=====\n\n.. results::\n\n.. scoreboard::\n\n"
                                    ".. toctree::\n\n   book/a/index\n   book/b/index\n")
    for d in ("a", "b"):
        (book / "book" / d / "index.rst").write_text(f"Chapter {d}\n=========\n")
    monkeypatch.setenv("FREQLEARN_CLAIMS_DIR", str(book / "_build" / "claims"))
    c = Claims("a/x", preset="quick")
    c.at_least("P1", "beats", measured=1.0, expected=0.5)
    c.at_least("P1", "fails", measured=0.1, expected=0.5)
    c.write()
    out = book / "_build" / "html"
    app = sphinx_app.Sphinx(str(book), str(book), str(out), str(book / "_build/doctrees"),
                            "html", status=None, warning=None, freshenv=True)
    app.build()
    html = (out / "index.html").read_text()
    assert 'href="book/a/index.html"' in html and ">Paper A</a>" in html
    assert "1 PASS, 1 FAIL" in html and "it fails" in html
    assert "quick verdicts (this build)" in html
    # the scoreboard's headline and its map, beside the page
    assert "2 claims from 1 notebooks" in html and 'src="scoreboard-map.svg"' in html
    svg = (out / "scoreboard-map.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "P1 (2)" in svg
    # downloads and provenance
    import csv

    assert 'href="scoreboard.csv"' in html and 'href="claims/a/x.json"' in html
    assert "preset quick, seed " in html and "Built from commit " in html
    table = list(csv.reader((out / "scoreboard.csv").open()))
    assert table[0][:3] == ["table", "ID", "claim"] and len(table) == 3
    obj = store.read_json(out / "scoreboard.json")
    assert obj["provenance"]["preset"] == "quick" and len(obj["rows"]) == 2
    assert [r["claim"] for r in store.read_json(out / "claims/a/x.json")] == ["beats",
                                                                              "fails"]


# ---- numbers quoted in prose: {claim} and {paper-runs} ---------------------------------
def _quoted():
    build = [dict(_row("a/x", "PASS", "accuracy of the net"), measured=0.96789,
                  uncertainty={"se": 0.0123, "n": 4}),
             dict(_row("a/x", "DIFFERS", "ratio against chance"), measured=3.1,
                  null={"what": "GP nets", "value": 1.02, "se": None, "beaten": True})]
    paper = {"a/x": {"provenance": {"code_sha256": "old", "date": "2026-11-24T04:19:32",
                                    "machine": "Linux", "device": "cpu", "wall_s": 874.2,
                                    "reused": []},
                     "claims": [dict(_row("a/x", "FAIL", "accuracy of the net"),
                                     measured=0.5)]}}
    return build, paper


def test_quote_takes_the_number_from_the_claims_and_marks_stale_records():
    build, paper = _quoted()
    assert glance.quote("a/x: accuracy", build, paper) == "0.968 ± 0.012"
    assert glance.quote("null a/x: against chance", build, paper) == "1.02"
    assert glance.quote("verdict a/x: against chance", build, paper) == "DIFFERS"
    # a whole claim text picks that claim even where it is part of another's
    longer = dict(build[0], claim="accuracy of the net, at paper size", measured=0.5)
    assert glance.quote("a/x: accuracy of the net", build + [longer], paper).startswith(
        "0.968")
    assert glance.quote("paper a/x: accuracy", build, paper) == "0.5"
    assert glance.quote("paper a/x: accuracy", build, paper,
                        code_sha={"a/x": "new"}) == "0.5 †"
    for bad, msg in (("a/x: c", "2 claims"), ("a/x: nothing", "0 claims"),
                     ("b/y: accuracy", "no claims of b/y"), ("paper b/y: x", "no recorded"),
                     ("a/x accuracy", "expected"), ("loud a/x: accuracy", "unknown flag"),
                     ("null a/x: accuracy", "has no null")):
        with pytest.raises(KeyError, match=msg):
            glance.quote(bad, build, paper)


def test_paper_runs_rows_list_every_run_and_what_did_not_pass():
    _, paper = _quoted()
    (r,) = glance.paper_runs_rows(paper, "a", code_sha={"a/x": "new"})
    assert (r["date"], r["wall"], r["verdicts"], r["stale"]) == ("2026-11-24", "874 s",
                                                                 "1 FAIL", True)
    assert r["notable"] == ["FAIL: accuracy of the net: 0.5"]
    assert glance.paper_runs_rows(paper, "b") == []


def test_the_claim_role_and_paper_runs_render_in_a_build(book, monkeypatch):
    sphinx_app = pytest.importorskip("sphinx.application")
    from freqlearn.claims import Claims

    monkeypatch.syspath_prepend(str(REPO / "book" / "_ext"))
    monkeypatch.setenv("FREQLEARN_ROOT", str(book))
    (book / "conf.py").write_text("extensions = ['scoreboard']\nexclude_patterns = "
                                  "['_build']\n")
    (book / "index.rst").write_text("Intro\n=====\n\nThe net reaches :claim:`a/x: beats` "
                                    "(paper :claim:`paper a/x: beats`).\n\n"
                                    ".. paper-runs:: a\n")
    store.write_json(book / "records/paper/a/x.json", {
        "provenance": {"date": "2026-11-24", "wall_s": 12.0, "code_sha256": "old"},
        "claims": [_row("a/x", "FAIL", "beats")]})
    monkeypatch.setenv("FREQLEARN_CLAIMS_DIR", str(book / "_build" / "claims"))
    c = Claims("a/x", preset="quick")
    c.at_least("P1", "beats", measured=0.75, expected=0.5)
    c.write()
    out = book / "_build" / "html"
    app = sphinx_app.Sphinx(str(book), str(book), str(out), str(book / "_build/doctrees"),
                            "html", status=None, warning=None, freshenv=True)
    app.build()
    html = (out / "index.html").read_text()
    assert "The net reaches <span class=\"claim-quote\">0.75</span>" in html
    assert "paper <span class=\"claim-quote\">1 †</span>" in html
    assert "FAIL: beats: 1" in html and "12 s" in html and "2026-11-24 †" in html


def test_every_figure_map_entry_quotes_a_committed_claim(monkeypatch):
    """Each "ours" of ``book/_ext/figure-map.json`` names exactly one claim of the committed
    regression baseline (quick) or of ``records/paper`` (paper), so the book's build cannot
    fail on it; and each page exists."""
    from freqlearn import claims as fc

    monkeypatch.setenv("FREQLEARN_ROOT", str(REPO))
    base = store.read_json(REPO / "tests/baselines/quick.json")
    build = [{"notebook": nb, "id": k.split("|", 1)[0], "claim": k.split("|", 1)[1],
              "measured": v["value"], "verdict": v["verdict"], "preset": "quick",
              "expected": None, "tolerance": "", "reason": ""}
             for nb, claims in base.items() if not nb.startswith("_")
             for k, v in claims.items()]
    paper = fc.load_paper_records(REPO / "records" / "paper")
    fmap = glance.figure_map(REPO)
    assert fmap
    for chapter, entries in fmap.items():
        for e in entries:
            assert (REPO / "book" / chapter / f"{e['page']}.md").exists(), e
            for _label, spec in e["ours"]:
                assert spec.split(":")[0].split()[-1].startswith(chapter + "/"), spec
                glance.quote(spec, build, paper)

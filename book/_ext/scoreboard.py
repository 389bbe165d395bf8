"""Sphinx extension: the book's scoreboard (catalog X2).

The directive ``{scoreboard}`` leaves a placeholder; when the page is written — after
every notebook has been executed and has written its claims JSON to
``_build/claims/<notebook>.json`` — the placeholder becomes

1. a summary line (claims by verdict — PASS, INCONCLUSIVE, DIFFERS, FAIL, each counted
   apart — and by status, the preset);
2. the coverage of the catalog: every catalog ID with its checks, quick and paper verdicts;
3. three tables (built by :func:`freqlearn.claims.scoreboard_rows`): claims reproduced on
   the paper's data at the paper's scale (from ``records/paper``), claims tested on a
   stand-in, synthetic data or at reduced scale, and identity checks. Each row shows the
   data, the measured value (± se), the expectation, the null, the quick verdict with the
   seed agreement of ``records/seeds/quick.json``, the paper verdict and the trivial
   explanation the claim names ("(not beaten)": the claim is INCONCLUSIVE);
4. the notes of values that drifted from the regression baseline (``FREQLEARN_BASELINE=warn``);
5. the wall-clock benchmarks notebooks recorded under ``_build/benchmarks`` (not claims:
   they vary from run to run).

Missing records (no seeds run, no paper run) are shown as such, never as a warning.

A notebook of the table of contents with no claims JSON is a warning (and so fails the
``-W`` build): its claims were lost, e.g. by deleting ``_build/claims`` but not the
execution cache; ``make clean book`` rebuilds both. The scoreboard page is re-written on
every build, so it never shows stale claims of a cached page.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent


class scoreboard_placeholder(nodes.General, nodes.Element):
    pass


class results_placeholder(nodes.General, nodes.Element):
    pass


class claim_placeholder(nodes.Inline, nodes.TextElement):
    pass


def claim_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{claim}`[paper] [FIELD] NOTEBOOK: NAME``: a number quoted in prose, from this
    build's claims or the notebook's recorded paper run (``†`` when its code changed since),
    resolved when the page is written (:func:`freqlearn.claims.glance.quote`)."""
    node = claim_placeholder(rawtext, "")
    node["spec"] = text
    return [node], []


class paper_runs_placeholder(nodes.General, nodes.Element):
    pass


class PaperRunsDirective(SphinxDirective):
    """``{paper-runs} CHAPTER``: the chapter's recorded paper-preset runs (date, machine,
    wall time, verdicts and every claim that is not a PASS, with its value), from
    ``records/paper`` (:func:`freqlearn.claims.glance.paper_runs_rows`)."""

    required_arguments = 1
    has_content = False

    def run(self):
        node = paper_runs_placeholder("")
        node["chapter"] = self.arguments[0]
        return [node]


class figure_map_placeholder(nodes.General, nodes.Element):
    pass


class FigureMapDirective(SphinxDirective):
    """``{figure-map} CHAPTER``: paper figure or equation → what the paper prints → the
    book's page → our value, from ``book/_ext/figure-map.json`` and the claims
    (:func:`freqlearn.claims.glance.figure_map_rows`)."""

    required_arguments = 1
    has_content = False

    def run(self):
        node = figure_map_placeholder("")
        node["chapter"] = self.arguments[0]
        return [node]


class ResultsDirective(SphinxDirective):
    """``{results}``: the results at a glance, one row per chapter
    (:mod:`freqlearn.claims.glance`), from this build's claims and the committed records."""

    has_content = False

    def run(self):
        return [results_placeholder("")]


class ScoreboardDirective(SphinxDirective):
    has_content = False

    def run(self):
        return [scoreboard_placeholder("")]


def _table(header, rows, widths=None):
    """A docutils table; a cell starting with a verdict (PASS, INCONCLUSIVE, DIFFERS, FAIL)
    gets the class ``verdict-<verdict>`` (styled by book.css)."""
    from freqlearn.claims import VERDICTS

    table = nodes.table(classes=["scoreboard-table"])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for w in widths or [1] * len(header):
        tgroup += nodes.colspec(colwidth=w)
    thead = nodes.thead()
    tgroup += thead
    hrow = nodes.row()
    for h in header:
        hrow += nodes.entry("", nodes.paragraph(text=h))
    thead += hrow
    tbody = nodes.tbody()
    tgroup += tbody
    for r in rows:
        row = nodes.row()
        for c in r:
            first = (str(c).replace(":", " ").split() or [""])[0]
            cls = [f"verdict-{first.lower()}"] if first in VERDICTS else []
            row += nodes.entry("", nodes.paragraph(text=str(c)), classes=cls)
        tbody += row
    return table


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _notebooks(app) -> list[str]:
    """Docnames of the table of contents that are jupytext notebooks."""
    out = []
    for doc in sorted(app.env.found_docs):
        src = Path(app.env.doc2path(doc))
        if src.suffix == ".md" and src.exists():
            head = src.read_text(encoding="utf-8")[:400]
            if head.startswith("---") and "jupytext:" in head:
                out.append(doc)
    return out


def _claims_dir(app) -> Path:
    """``FREQLEARN_CLAIMS_DIR`` when set (as the notebooks saw it), else ``_build/claims``."""
    env = os.environ.get("FREQLEARN_CLAIMS_DIR", "").strip()
    return Path(env).expanduser() if env else Path(app.outdir).parent / "claims"


DOWNLOAD_HEAD = ["table", "ID", "claim", "data", "measured", "expected / tolerance", "null",
                 "quick verdict", "paper verdict", "explanation", "notebook"]


def _downloads(app, docname, rows, sb, fc, preset):
    """Write the scoreboard as CSV and JSON and each notebook's claims JSON beside the page,
    and return the paragraph that links them, with the build's provenance (commit, date,
    preset, seeds)."""
    import csv
    import io

    from freqlearn import store
    from freqlearn.claims import paths

    if app.builder.format != "html":
        return []
    here = (Path(app.outdir) / app.builder.get_target_uri(docname)).parent
    table = [[key] + [str(c) for c in cells]
             for key in ("reproduced", "tested", "identity") for cells in sb[key]]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(DOWNLOAD_HEAD)
    w.writerows(table)
    store.write_text(here / "scoreboard.csv", buf.getvalue())
    seeds = sorted({str(r.get("seed")) for r in rows})
    prov = {"commit": paths._commit(), "date": paths._utc_now(), "preset": preset,
            "seeds": seeds}
    store.write_json(here / "scoreboard.json", {
        "provenance": prov, "summary": sb["summary"], "coverage": sb["coverage"],
        "columns": DOWNLOAD_HEAD, "rows": table})
    nbs = sorted({r["notebook"] for r in rows})
    for nb in nbs:
        store.write_json(here / "claims" / f"{nb}.json",
                         [r for r in rows if r["notebook"] == nb])
    para = nodes.paragraph()
    para += nodes.Text(f"Built from commit {prov['commit'][:12]} on {prov['date']}, preset "
                       f"{preset}, seed {', '.join(seeds)}. Download: ")
    para += nodes.reference("", "scoreboard.csv", refuri="scoreboard.csv")
    para += nodes.Text(", ")
    para += nodes.reference("", "scoreboard.json", refuri="scoreboard.json")
    para += nodes.Text("; each notebook's claims: ")
    for i, nb in enumerate(nbs):
        if i:
            para += nodes.Text(", ")
        para += nodes.reference("", nb, refuri=f"claims/{nb}.json")
    para += nodes.Text(".")
    return [para]


def _map_figure(app, docname, rows, fc, root, catalog, preset):
    """The whole scoreboard as one picture (catalog IDs × quick, seeds, paper), written
    beside the page; a raw HTML figure with its caption (HTML builders only)."""
    from freqlearn.claims import scoreboard as fsb

    if app.builder.format != "html":
        return []
    seeds = fc.load_seeds_record(root / "records" / "seeds" / "quick.json")
    data = fsb.scoreboard_map_data(rows, seeds=seeds, catalog=catalog,
                                   paper=fc.load_paper_records(root / "records" / "paper"))
    page = Path(app.outdir) / app.builder.get_target_uri(docname)
    svg = page.parent / "scoreboard-map.svg"
    fsb.scoreboard_map(data, svg)
    nseeds = len(seeds.get("_provenance", {}).get("seeds", []))
    cap = (f"The whole scoreboard: each catalog ID (its number of claims in brackets) and "
           f"the share of its claims by outcome in this build (preset {preset}), agreeing "
           f"at all {nseeds} seeds of records/seeds/quick.json, and in the recorded "
           "paper-scale runs (records/paper); grey: not run or not recorded.")
    html = (f'<figure class="scoreboard-map"><img src="scoreboard-map.svg" '
            f'alt="scoreboard map" style="max-width:100%"><figcaption>{cap}</figcaption>'
            "</figure>")
    return [nodes.raw("", html, format="html")]


def _resolve_results(app, doctree, docname):
    from freqlearn import claims as fc
    from freqlearn.claims import glance

    for node in doctree.findall(results_placeholder):
        root = Path(app.srcdir)
        want = os.environ.get("BOOK_PRESET", "quick") or "quick"
        rows = [r for r in fc.load_all(_claims_dir(app)) if r["preset"] == want]
        res = glance.results_rows(
            rows, fc.load_paper_records(root / "records" / "paper"),
            fc.load_seeds_record(root / "records" / "seeds" / "quick.json"), root)
        head = list(glance.HEAD)
        head[2] = f"{want} verdicts (this build)"
        table = _table(head, [["", r["scale"], r["quick"], r["seeds"], r["paper"],
                               r["finding"]] for r in res], [12, 12, 16, 10, 16, 34])
        body = next(iter(table.findall(nodes.tbody)))
        for row, r in zip(body.children, res, strict=True):
            uri = app.builder.get_relative_uri(docname, f"book/{r['dir']}/index")
            para = row.children[0].children[0]
            para += nodes.reference("", r["title"], refuri=uri, internal=True)
        node.replace_self([table])


def _resolve_quotes(app, doctree, docname):  # noqa: C901 (one pass over both)
    from freqlearn import claims as fc
    from freqlearn.claims import glance

    quotes = list(doctree.findall(claim_placeholder))
    runs = list(doctree.findall(paper_runs_placeholder))
    maps = list(doctree.findall(figure_map_placeholder))
    if not quotes and not runs and not maps:
        return
    root = Path(app.srcdir)
    build = fc.load_all(_claims_dir(app))
    paper = fc.load_paper_records(root / "records" / "paper")
    code_sha = {}
    for nb in paper:
        src = root / "book" / f"{nb}.md"
        if src.exists():
            code_sha[nb] = fc.code_sha256(src.read_text())
    for node in maps:
        chapter = node["chapter"]
        entries = glance.figure_map(root).get(chapter)
        if not entries:
            logger.warning(f"figure-map: no entries for {chapter!r} in "
                           "book/_ext/figure-map.json", location=node)
            node.replace_self([])
            continue
        try:
            res = glance.figure_map_rows(entries, build, paper, code_sha=code_sha)
        except KeyError as e:
            logger.warning(str(e.args[0]), location=node)
            node.replace_self([])
            continue
        table = _table(["paper", "the paper prints", "page", "what", "ours"],
                       [[r[0], r[1], "", r[3], r[4]] for r in res], [10, 22, 10, 22, 36])
        body = next(iter(table.findall(nodes.tbody)))
        for row, r in zip(body.children, res, strict=True):
            uri = app.builder.get_relative_uri(docname, f"book/{chapter}/{r[2]}")
            para = row.children[2].children[0]
            para += nodes.reference("", r[2], refuri=uri, internal=True)
        note = nodes.paragraph(text=(
            "Ours: this build's values (preset in the scoreboard's headline) or, marked "
            "paper, the recorded paper-preset run († its code changed since); ± is one "
            "standard error over trials."))
        node.replace_self([table, note])
    for node in runs:
        res = glance.paper_runs_rows(paper, node["chapter"], code_sha=code_sha)
        if not res:
            node.replace_self(nodes.paragraph(
                text="No notebook of this chapter has a recorded paper-preset run."))
            continue
        table = _table(["notebook", "recorded", "machine", "wall time", "verdicts",
                        "not a PASS"],
                       [["", r["date"] + (" †" if r["stale"] else ""), r["machine"],
                         r["wall"], r["verdicts"], "; ".join(r["notable"]) or "—"]
                        for r in res], [12, 9, 14, 9, 12, 44])
        body = next(iter(table.findall(nodes.tbody)))
        for row, r in zip(body.children, res, strict=True):
            uri = app.builder.get_relative_uri(docname, f"book/{r['notebook']}")
            para = row.children[0].children[0]
            para += nodes.reference("", r["notebook"].split("/")[-1], refuri=uri,
                                    internal=True)
        note = nodes.paragraph(text=(
            "From records/paper (make record-paper NB=…); † the notebook's code changed "
            "since its record, so the record may not describe the page as it is now."))
        node.replace_self([table, note])
    for node in quotes:
        try:
            text = glance.quote(node["spec"], build, paper, code_sha=code_sha)
        except KeyError as e:
            logger.warning(str(e.args[0]), location=node)
            text = "??"
        node.replace_self(nodes.inline(text, text, classes=["claim-quote"]))


def _resolve(app, doctree, docname):
    from freqlearn import claims as fc
    from freqlearn import store

    _resolve_results(app, doctree, docname)
    _resolve_quotes(app, doctree, docname)
    for node in doctree.findall(scoreboard_placeholder):
        root = Path(app.srcdir)
        outdir = Path(app.outdir).parent  # _build
        cdir = _claims_dir(app)
        rows = fc.load_all(cdir)
        have = {r["notebook"] for r in rows}
        sha, code_sha = {}, {}
        for doc in _notebooks(app):
            nb = doc[len("book/"):] if doc.startswith("book/") else doc
            src = Path(app.env.doc2path(doc))
            sha[nb] = hashlib.sha256(src.read_bytes()).hexdigest()
            code_sha[nb] = fc.code_sha256(src.read_text())
            if nb not in have:
                logger.warning(f"scoreboard: notebook {doc} wrote no claims to {cdir}; "
                               "run `make clean book` to re-execute it", location=docname)
        want = os.environ.get("BOOK_PRESET", "quick") or "quick"
        other = sorted({r["notebook"] for r in rows if r["preset"] != want})
        if other:
            logger.warning(f"scoreboard: claims of {other} are from another preset than "
                           f"{want!r}; run `make clean book`", location=docname)
        catalog = json.loads((HERE / "catalog.json").read_text())
        sb = fc.scoreboard_rows(
            rows, seeds=fc.load_seeds_record(root / "records" / "seeds" / "quick.json"),
            paper=fc.load_paper_records(root / "records" / "paper"), catalog=catalog, sha=sha,
            code_sha=code_sha)
        new = [nodes.paragraph(text=sb["summary"])]
        new += _downloads(app, docname, rows, sb, fc, want)
        new += _map_figure(app, docname, rows, fc, root, catalog, want)
        new += [nodes.rubric(text="Coverage of the catalog"),
                _table(["ID", "result", "checks", "quick verdicts", "paper verdicts",
                        "status"], sb["coverage"], [5, 40, 5, 14, 14, 18])]
        head = ["ID", "claim", "data", "measured", "expected / tolerance", "null",
                "quick verdict (seeds agreeing)", "paper verdict", "explanation", "notebook"]
        widths = [4, 22, 7, 9, 12, 11, 14, 13, 11, 10]
        for key, title, empty in (
                ("reproduced", "Reproduced on the paper's data at the paper's scale",
                 "None yet: no claim on the paper's data has a recorded paper-preset run."),
                ("tested", "Tested on a stand-in, synthetic data or at reduced scale", "None."),
                ("identity", "Identity checks (true by construction: they test the code, "
                 "not the paper)", "None.")):
            new.append(nodes.rubric(text=title))
            new.append(_table(head, sb[key], widths) if sb[key]
                       else nodes.paragraph(text=empty))
        new.append(nodes.paragraph(text=(
            "Marks: a number after the quick verdict is how many seeds of the seeds record "
            "agree with it (records/seeds/quick.json); ‡ the notebook's code changed since "
            "that record; † the notebook's code changed since its recorded paper-preset run "
            "(for records older than the code-cell hash: the notebook file); § the value "
            "left its drift band of the regression baseline (see below).")))
        if sb["drift"]:
            new.append(nodes.rubric(text="Drift from the regression baseline (§)"))
            lst = nodes.bullet_list()
            for t in sb["drift"]:
                lst += nodes.list_item("", nodes.paragraph(text=t))
            new.append(lst)
        bdir = outdir / "benchmarks"
        bench = []
        for p in sorted(bdir.rglob("*.json")) if bdir.exists() else []:
            bench.extend(store.read_json(p, fix="Delete it and re-run its notebook."))
        if bench:
            new += [nodes.rubric(text="Wall-clock benchmarks (vary from run to run; not claims)")]
            new.append(_table(["what", "value", "unit", "notebook", "machine"],
                              [[b["what"], _fmt(b["value"]), b["unit"], b["notebook"],
                                b.get("machine", "")] for b in bench], [30, 8, 6, 12, 20]))
        node.replace_self(new)


def _always_outdated(app, env, added, changed, removed):
    # the intro, the scoreboard and the chapter indexes quote this build's claims
    return [d for d in env.found_docs
            if d.endswith(("scoreboard", "intro", "/index"))]


def setup(app):
    app.add_node(scoreboard_placeholder)
    app.add_directive("scoreboard", ScoreboardDirective)
    app.add_node(results_placeholder)
    app.add_directive("results", ResultsDirective)
    app.add_node(claim_placeholder)
    app.add_node(paper_runs_placeholder)
    app.add_directive("paper-runs", PaperRunsDirective)
    app.add_node(figure_map_placeholder)
    app.add_directive("figure-map", FigureMapDirective)
    app.add_role("claim", claim_role)
    app.connect("doctree-resolved", _resolve)
    app.connect("env-get-outdated", _always_outdated)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}

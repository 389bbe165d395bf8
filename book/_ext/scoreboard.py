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


def _resolve(app, doctree, docname):
    from freqlearn import claims as fc
    from freqlearn import store

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
    return [d for d in env.found_docs if d.endswith("scoreboard")]


def setup(app):
    app.add_node(scoreboard_placeholder)
    app.add_directive("scoreboard", ScoreboardDirective)
    app.connect("doctree-resolved", _resolve)
    app.connect("env-get-outdated", _always_outdated)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}

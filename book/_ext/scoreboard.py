"""Sphinx extension: the book's scoreboard (catalog X2).

The directive ``{scoreboard}`` leaves a placeholder; when the page is written — after
every notebook has been executed and has written its claims JSON to
``_build/claims/<notebook>.json`` — the placeholder becomes

1. a summary line (how many claims PASS / DIFFER / FAIL, at which preset);
2. the coverage of the catalog: every catalog ID with its number of checks and verdicts;
3. the table of every claim of every notebook;
4. the wall-clock benchmarks notebooks recorded under ``_build/benchmarks`` (not claims:
   they vary from run to run).

A notebook of the table of contents with no claims JSON is a warning (and so fails the
``-W`` build): its claims were lost, e.g. by deleting ``_build/claims`` but not the
execution cache; ``make clean book`` rebuilds both. The scoreboard page is re-written on
every build, so it never shows stale claims of a cached page.
"""

from __future__ import annotations

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
            cls = [f"verdict-{c.split(':')[0].lower()}"] if str(c).split(":")[0] in (
                "PASS", "DIFFERS", "FAIL") else []
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


def _resolve(app, doctree, docname):
    for node in doctree.findall(scoreboard_placeholder):
        outdir = Path(app.outdir).parent  # _build
        cdir = outdir / "claims"
        rows = []
        for p in sorted(cdir.rglob("*.json")) if cdir.exists() else []:
            rows.extend(json.loads(p.read_text()))
        have = {r["notebook"] for r in rows}
        for doc in _notebooks(app):
            nb = doc[len("book/"):] if doc.startswith("book/") else doc
            if nb not in have:
                logger.warning(f"scoreboard: notebook {doc} wrote no claims to {cdir}; "
                               "run `make clean book` to re-execute it", location=docname)
        want = os.environ.get("BOOK_PRESET", "quick") or "quick"
        other = sorted({r["notebook"] for r in rows if r["preset"] != want})
        if other:
            logger.warning(f"scoreboard: claims of {other} are from another preset than "
                           f"{want!r}; run `make clean book`", location=docname)
        catalog = json.loads((HERE / "catalog.json").read_text())
        counts = {v: sum(r["verdict"] == v for r in rows) for v in ("PASS", "DIFFERS", "FAIL")}
        presets = sorted({r["preset"] for r in rows}) or ["(none)"]
        new = [nodes.paragraph(text=(
            f"{len(rows)} claims from {len(have)} notebooks at preset "
            f"{', '.join(presets)}: {counts['PASS']} PASS, {counts['DIFFERS']} DIFFERS "
            f"(declared known discrepancies), {counts['FAIL']} FAIL."))]
        cov = []
        for cid, title in catalog.items():
            mine = [r for r in rows if r["id"] == cid]
            if mine:
                vs = {v: sum(r["verdict"] == v for r in mine) for v in ("PASS", "DIFFERS", "FAIL")}
                status = ", ".join(f"{n} {v}" for v, n in vs.items() if n)
            else:
                status = "not yet reproduced"
            cov.append([cid, title, str(len(mine)), status])
        sec = nodes.rubric(text="Coverage of the catalog")
        new += [sec, _table(["ID", "result", "checks", "verdicts"], cov, [6, 50, 6, 20])]
        new += [nodes.rubric(text="Every claim")]
        new.append(_table(
            ["ID", "claim", "measured", "expected", "tolerance", "verdict", "preset", "notebook"],
            [[r["id"], r["claim"], _fmt(r["measured"]), _fmt(r["expected"]), r["tolerance"],
              r["verdict"] + (f": {r['reason']}" if r.get("reason") else ""), r["preset"],
              r["notebook"]] for r in rows],
            [4, 30, 8, 8, 10, 20, 5, 12]))
        bdir = outdir / "benchmarks"
        bench = []
        for p in sorted(bdir.rglob("*.json")) if bdir.exists() else []:
            bench.extend(json.loads(p.read_text()))
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

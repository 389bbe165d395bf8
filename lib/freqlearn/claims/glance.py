"""Results at a glance: one row per paper (and the book's own chapters), computed from the
claims, never typed.

Each row gives the scale the chapter reached (its quick run, and how many of its notebooks
have a recorded paper-preset run), the verdict counts of the quick run and of the recorded
paper runs — every outcome, ``FAIL`` included — the seeds agreement, the chapter's one-line
finding (``book/_ext/chapters.json``, prose without numbers: the numbers are the counts
beside it) and a link to the chapter.

Two renderings of the same rows:

- the ``{results}`` directive at the top of the book's intro (``book/_ext/scoreboard.py``),
  from the build's own claims;
- the table between ``<!-- results:start -->`` and ``<!-- results:end -->`` in README.md,
  from what is committed (the regression baseline's quick verdicts at the default seed, the
  seeds record and ``records/paper``): ``python -m freqlearn.claims results`` writes it
  (``make results``), ``results --check`` fails when it is out of date (a unit test runs it).
"""

from __future__ import annotations

from pathlib import Path

from .. import store
from .paths import notebook_code_sha256
from .verdicts import VERDICTS, _normalise

START, END = "<!-- results:start -->", "<!-- results:end -->"


def chapters(root: Path) -> list[dict]:
    """The chapters in the book's order: ``{"dir", "title", "finding"}`` each, from
    ``book/_ext/chapters.json``."""
    obj = store.read_json(Path(root) / "book" / "_ext" / "chapters.json",
                          fix="Restore it from git: git checkout -- book/_ext/chapters.json")
    if not isinstance(obj, list) or not all(
            isinstance(c, dict) and {"dir", "title", "finding"} <= set(c) for c in obj):
        raise store.StoreCorrupt(Path(root) / "book/_ext/chapters.json",
                                 "expected a list of {dir, title, finding}",
                                 "Restore it from git")
    return obj


def _counts(verdicts) -> str:
    n = {v: 0 for v in VERDICTS}
    for v in verdicts:
        n[v] = n.get(v, 0) + 1
    return ", ".join(f"{k} {v}" for v, k in n.items() if k) or "—"


def _stale(n: int) -> str:
    return (f" (the record of {n} notebook{'s' if n > 1 else ''} predates a change of its "
            "code)") if n else ""


def results_rows(quick: list[dict], paper: dict, seeds: dict, root: Path) -> list[dict]:
    """One dict per chapter: ``title``, ``dir``, ``finding``, ``quick`` (verdict counts),
    ``paper`` (verdict counts of the recorded paper runs, or "not run"), ``scale``,
    ``seeds`` (claims whose verdict agrees at every recorded seed, of those recorded).

    ``quick``: claim rows of the quick preset; ``paper``: :func:`load_paper_records`;
    ``seeds``: :func:`load_seeds_record`."""
    out = []
    quick = [_normalise(r) for r in quick]
    for ch in chapters(root):
        d = ch["dir"]
        mine = lambda nb, d=d: nb.split("/")[0] == d  # noqa: E731
        q = [r for r in quick if mine(r["notebook"])]
        nbs = sorted({r["notebook"] for r in q})
        pnb = sorted(nb for nb in paper if mine(nb))
        prow = [r for nb in pnb for r in paper[nb]["claims"]]
        s = [e for nb, ent in seeds.items() if not nb.startswith("_") and mine(nb)
             for e in ent.values()]
        sprov = seeds.get("_provenance", {}).get("code_sha256", {}) or {}
        s_stale = sum(1 for nb in seeds if not nb.startswith("_") and mine(nb)
                      and sprov.get(nb) != notebook_code_sha256(nb))
        p_stale = sum(1 for nb in pnb if paper[nb]["provenance"].get("code_sha256")
                      != notebook_code_sha256(nb))
        out.append({
            "title": ch["title"], "dir": d, "finding": ch["finding"],
            "quick": _counts(r["verdict"] for r in q),
            "paper": (_counts(r["verdict"] for r in prow) + _stale(p_stale)) if prow
            else "not run",
            "scale": (f"quick ({len(nbs)} notebooks)"
                      + (f"; paper preset for {len(pnb)}" if pnb else "")),
            "seeds": (f"{sum(e['agree'] == e['of'] for e in s)}/{len(s)}" + _stale(s_stale)
                      if s else "—"),
        })
    return out


HEAD = ["chapter", "scale reached", "quick verdicts", "seeds agreeing",
        "paper-scale verdicts", "finding"]


def results_markdown(rows: list[dict], link=lambda d: f"book/{d}/index.md") -> str:
    """The rows as a Markdown table (``link``: chapter dir → its address)."""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for r in rows:
        cells = [f"[{r['title']}]({link(r['dir'])})", r["scale"], r["quick"], r["seeds"],
                 r["paper"], r["finding"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _from_baseline(baseline: dict) -> list[dict]:
    """Quick-preset rows (notebook, verdict) from the regression baseline."""
    return [{"notebook": nb, "verdict": e["verdict"], "id": k.split("|")[0],
             "claim": k.split("|", 1)[-1], "preset": "quick"}
            for nb, ent in baseline.items() if not nb.startswith("_")
            for k, e in ent.items() if isinstance(e, dict) and "verdict" in e]


def readme_block(root: Path) -> str:
    """The README's results block (markers included), from the committed records."""
    from .baseline import read_baseline
    from .records import load_paper_records, load_seeds_record

    root = Path(root)
    base = read_baseline(root / "tests" / "baselines" / "quick.json")
    rows = results_rows(_from_baseline(base), load_paper_records(root / "records" / "paper"),
                        load_seeds_record(root / "records" / "seeds" / "quick.json"), root)
    note = ("Generated by `make results` from the regression baseline (quick preset, 2 CPU "
            "cores, default seed), `records/seeds/quick.json` and `records/paper/`; "
            "`make test` fails when it is out of date. `INCONCLUSIVE`: the run cannot tell "
            "the paper's mechanism from a trivial explanation, or rests on a time never "
            "reached.")
    return "\n".join([START, "", results_markdown(rows), "", note, "", END])


def update_readme(root: Path, check: bool = False) -> bool:
    """Write (or with ``check`` only compare) README.md's results block; returns whether it
    was already up to date. The block must exist once, between its two markers."""
    p = Path(root) / "README.md"
    text = p.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{p} must hold the markers {START} and {END} once each, in order")
    a, b = text.index(START), text.index(END) + len(END)
    new = text[:a] + readme_block(root) + text[b:]
    if new == text:
        return True
    if not check:
        store.write_text(p, new)
    return False


# ---- numbers quoted in prose ------------------------------------------------------------
#: what ``quote`` can give of a claim
FIELDS = ("value", "null", "explanation", "verdict", "expected")


def _num(v, digits: int) -> str:
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return "—" if v is None else str(v)


def quote(spec: str, build: list[dict], paper: dict, *, code_sha: dict | None = None,
          digits: int = 3) -> str:
    """The text of one number quoted in the prose of a page (the ``{claim}`` role), taken
    from the claims, never typed.

    ``spec`` is ``"[paper] [FIELD] NOTEBOOK: NAME"``: NAME is the claim's whole text, or a
    part of it that matches exactly one claim of NOTEBOOK (``pinson2023/shapes``); FIELD is one of
    :data:`FIELDS` (default ``value``: the measured value, ``± se`` when it has one);
    ``paper`` takes the claim from the notebook's recorded paper-preset run (``paper``, as
    :func:`load_paper_records` gives) instead of this build's claims (``build``), and marks
    it ``†`` when the notebook's code changed since that record (``code_sha``: notebook →
    current code sha256), as the scoreboard does. Raises ``KeyError`` with a message that
    names what is missing or ambiguous (the build then fails on the warning).
    """
    head, sep, name = spec.partition(":")
    words = head.split()
    if not sep or not words or not name.strip():
        raise KeyError(f"{{claim}}`{spec}`: expected '[paper] [FIELD] NOTEBOOK: NAME'")
    nb, flags = words[-1], words[:-1]
    rec = "paper" in flags
    field = next((f for f in flags if f in FIELDS), "value")
    bad = [f for f in flags if f not in FIELDS and f != "paper"]
    if bad:
        raise KeyError(f"{{claim}}`{spec}`: unknown flag(s) {bad}; use paper and one of "
                       f"{', '.join(FIELDS)}")
    if rec:
        if nb not in paper:
            raise KeyError(f"{{claim}}`{spec}`: {nb} has no recorded paper-preset run")
        rows = [_normalise(r) for r in paper[nb]["claims"]]
    else:
        rows = [_normalise(r) for r in build if r["notebook"] == nb]
        if not rows:
            raise KeyError(f"{{claim}}`{spec}`: this build has no claims of {nb}")
    name = name.strip()
    hits = ([r for r in rows if r["claim"] == name]
            or [r for r in rows if name in r["claim"]])
    if len(hits) != 1:
        raise KeyError(f"{{claim}}`{spec}`: {len(hits)} claims of {nb} contain {name!r}"
                       + (f": {[r['claim'] for r in hits]}" if hits else ""))
    r = hits[0]
    if field == "verdict":
        text = r["verdict"]
    elif field == "expected":
        text = _num(r.get("expected"), digits)
    elif field in ("null", "explanation"):
        n = r.get(field)
        if not n:
            raise KeyError(f"{{claim}}`{spec}`: the claim has no {field}")
        text = _num(n.get("value"), digits) + (
            f" ± {_num(n['se'], 2)}" if n.get("se") is not None else "")
    else:
        u = r.get("uncertainty") or {}
        text = _num(r.get("measured"), digits) + (
            f" ± {_num(u['se'], 2)}" if u.get("se") is not None else "")
    if rec:
        prov = paper[nb].get("provenance", {})
        now = (code_sha or {}).get(nb)
        if prov.get("code_sha256") and now and prov["code_sha256"] != now:
            text += " †"
    return text


def paper_runs_rows(paper: dict, chapter: str, *, code_sha: dict | None = None,
                    digits: int = 3) -> list[dict]:
    """The recorded paper-preset runs of one chapter (the ``{paper-runs}`` directive), from
    ``records/paper`` (``paper``, as :func:`load_paper_records` gives): one dict per
    notebook with ``notebook``, ``date``, ``machine`` (with the device), ``wall`` (and what
    was restored from checkpoints), ``verdicts`` (counts) and ``notable`` (each claim that
    is not a PASS: its verdict, text and value against its null or explanation), ``stale``
    (the notebook's code changed since: ``†``)."""
    out = []
    for nb in sorted(n for n in paper if n.split("/")[0] == chapter):
        prov = paper[nb].get("provenance", {})
        rows = [_normalise(r) for r in paper[nb]["claims"]]
        wall = prov.get("wall_s")
        walls = "—" if wall is None else f"{wall:.0f} s"
        if prov.get("reused"):
            walls += f" (restored {len(prov['reused'])} checkpoint(s); not a run time)"
        notable = []
        for r in rows:
            if r["verdict"] == "PASS":
                continue
            u = r.get("uncertainty") or {}
            v = _num(r.get("measured"), digits) + (
                f" ± {_num(u['se'], 2)}" if u.get("se") is not None else "")
            for field in ("null", "explanation"):
                n = r.get(field)
                if n:
                    v += f" against {_num(n.get('value'), digits)} ({n.get('what')})"
                    break
            notable.append(f"{r['verdict']}: {r['claim']}: {v}")
        now = (code_sha or {}).get(nb)
        out.append({
            "notebook": nb, "date": str(prov.get("date", "—"))[:10],
            "machine": f"{prov.get('machine', '—')}, {prov.get('device', '—')}",
            "wall": walls, "verdicts": _counts(r["verdict"] for r in rows),
            "notable": notable,
            "stale": bool(prov.get("code_sha256") and now and prov["code_sha256"] != now)})
    return out


def figure_map(root: Path) -> dict[str, list[dict]]:
    """``book/_ext/figure-map.json``: per chapter, the paper's figures and equations with
    the values the paper prints and the claims of the book that measure them: a list of
    ``{"paper", "printed", "page", "what", "ours": [[label, quote spec], ...]}``."""
    p = Path(root) / "book" / "_ext" / "figure-map.json"
    fix = "Restore it from git: git checkout -- book/_ext/figure-map.json"
    obj = store.read_json(p, fix=fix)
    keys = {"paper", "printed", "page", "what", "ours"}
    if not isinstance(obj, dict) or not all(
            isinstance(v, list) and all(isinstance(e, dict) and keys <= set(e) for e in v)
            for v in obj.values()):
        raise store.StoreCorrupt(p, f"expected {{chapter: [{{{', '.join(sorted(keys))}}}]}}",
                                 fix)
    return obj


def figure_map_rows(entries: list[dict], build: list[dict], paper: dict, *,
                    code_sha: dict | None = None) -> list[list[str]]:
    """The rows of one chapter's figure map: paper figure or equation, what the paper
    prints, the book's page, and ours (each quoted claim with :func:`quote`)."""
    rows = []
    for e in entries:
        ours = "; ".join(
            f"{label} {quote(spec, build, paper, code_sha=code_sha)}"
            + (" (paper run)" if spec.split()[0] == "paper" else "")
            for label, spec in e["ours"]) or "—"
        rows.append([e["paper"], e["printed"], e["page"], e["what"], ours])
    return rows

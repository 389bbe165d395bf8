"""The scoreboard's content (catalog X2): every claim of the build beside its seeds record
and its recorded paper-preset run, split into reproduced / tested / identity checks, and the
coverage of the catalog. Rendered by ``book/_ext/scoreboard.py`` and, as Markdown, by
``python -m freqlearn.claims show``."""

from __future__ import annotations

from .records import _key
from .verdicts import STATUSES, VERDICTS, _fmt, _normalise, _reconstruction

#: what each verdict means, as the scoreboard's summary line says it
VERDICT_GLOSS = {"PASS": "",
                 "INCONCLUSIVE": " (a trivial explanation gives the same value at this scale, "
                 "or a compared time was never reached)",
                 "DIFFERS": " (declared known discrepancies)", "FAIL": ""}


def _measured_cell(r: dict) -> str:
    m = _fmt(r.get("measured"))
    u = r.get("uncertainty")
    if u:
        m += f" ± {_fmt(u.get('se'))} (n={u.get('n')})"
    return m


def _expected_cell(r: dict) -> str:
    if r.get("check") == "close" or (not r.get("check") and r.get("tolerance", "").startswith(
            "|Δ|")):
        return f"{_fmt(r.get('expected'))}, {r.get('tolerance', '')}"
    if r.get("check"):
        return r.get("tolerance", "")
    return f"{_fmt(r.get('expected'))} ({r.get('tolerance', '')})"


def _null_cell(r: dict, field: str = "null") -> str:
    """The row's null (or, with ``field="explanation"``, its explanation): what, value ± se,
    and "(not beaten)" when it was not."""
    n = r.get(field)
    if not n:
        return "—"
    v = _fmt(n.get("value")) + (f" ± {_fmt(n['se'])}" if n.get("se") is not None else "")
    return f"{n.get('what')}: {v}" + ("" if n.get("beaten") else " (not beaten)")


def _verdict_text(r: dict) -> str:
    return r["verdict"] + (f": {r['reason']}" if r.get("reason") else "")


def scoreboard_rows(rows: list[dict], *, seeds: dict | None = None,
                    paper: dict | None = None, catalog: dict | None = None,
                    sha: dict | None = None, code_sha: dict | None = None) -> dict:
    """The scoreboard's content as plain lists (rendered by ``book/_ext/scoreboard.py``).

    ``rows``: the current build's claims; ``seeds``: the seeds record; ``paper``:
    :func:`load_paper_records`; ``catalog``: ID → title; ``sha``: notebook → current
    sha256 of its source (for the ‡/† marks). Returns ``{"summary": str, "coverage":
    [[ID, result, checks, quick, paper, status]], "reproduced"/"tested"/"identity":
    [[ID, claim, data, measured, expected/tolerance, null, quick verdict, paper verdict,
    explanation, notebook]], "drift": [str]}``. The summary counts each of the four
    verdicts; the coverage's quick and paper cells count each verdict that occurs.
    """
    seeds, paper, catalog, sha = seeds or {}, paper or {}, catalog or {}, sha or {}
    code_sha = code_sha or {}

    def changed(prov_sha, prov_code, nb):
        """A record is stale when the code it ran changed (its code sha, where it has one),
        else when the notebook file changed."""
        if prov_code and code_sha.get(nb):
            return prov_code != code_sha[nb]
        return bool(prov_sha and sha.get(nb) and prov_sha != sha[nb])

    rows = [_normalise(r) for r in rows]
    build = sorted({r["preset"] for r in rows})
    quick = {(r["notebook"], _key(r)): r for r in rows if r["preset"] != "paper"}
    prec = {(nb, _key(r)): r for nb, rec in paper.items() for r in rec["claims"]}
    prec.update({(r["notebook"], _key(r)): r for r in rows if r["preset"] == "paper"})
    order = list(dict.fromkeys([(r["notebook"], _key(r)) for r in rows] + sorted(prec)))
    seeds_sha = seeds.get("_provenance", {}).get("notebook_sha256", {})
    seeds_code = seeds.get("_provenance", {}).get("code_sha256", {}) or {}
    out = {"reproduced": [], "tested": [], "identity": [], "drift": [], "coverage": []}
    per_id: dict[str, list[tuple[dict | None, dict | None, str]]] = {}
    for nb, k in order:
        q, p = quick.get((nb, k)), prec.get((nb, k))
        r = q or p
        if r["kind"] == "identity" or (p and p["kind"] == "identity"):
            status = "identity"
        elif p and p["status"] == "reproduced":
            status = "reproduced"
        else:
            status = "tested"
        if q is None:
            qv = "not run at quick"
        else:
            qv = _verdict_text(q)
            s = seeds.get(nb, {}).get(k)
            if s:
                qv += f" {s['agree']}/{s['of']}"
                if changed(seeds_sha.get(nb), seeds_code.get(nb), nb):
                    qv += " ‡"
            elif q["preset"] == "quick":
                qv += " (seeds not run)"
            if q.get("drift"):
                out["drift"].append(f"{r['id']} {r['claim']!r} ({nb}): {q['drift']}")
                qv += " §"
        if p is None:
            pv = "not run at paper scale"
        else:
            # the reason is in the quick column already; repeat it only when that is absent
            pv = f"{_verdict_text(p) if q is None else p['verdict']} ({_measured_cell(p)})"
            prov = paper.get(nb, {}).get("provenance", {})
            if changed(prov.get("notebook_sha256"), prov.get("code_sha256"), nb):
                pv += " †"
        data = r["data"] + (" (reconstruction)" if _reconstruction(nb) else "")
        out[status].append([r["id"], r["claim"], data, _measured_cell(r),
                            _expected_cell(r), _null_cell(r), qv, pv,
                            _null_cell(r, "explanation"), nb])
        per_id.setdefault(r["id"], []).append((q, p, status))
    for cid, title in catalog.items():
        mine = per_id.get(cid, [])
        if not mine:
            out["coverage"].append([cid, title, "0", "not yet reproduced", "—", "—"])
            continue
        qc = {v: sum(1 for q, _, _ in mine if q and q["verdict"] == v) for v in VERDICTS}
        pc = {v: sum(1 for _, p, _ in mine if p and p["verdict"] == v) for v in VERDICTS}
        sc = {s: sum(1 for _, _, st in mine if st == s) for s in STATUSES}
        out["coverage"].append([
            cid, title, str(len(mine)),
            ", ".join(f"{n} {v}" for v, n in qc.items() if n) or "—",
            ", ".join(f"{n} {v}" for v, n in pc.items() if n) or "not run at paper scale",
            ", ".join(f"{n} {s}" for s, n in sc.items() if n)
            + ("" if sc["reproduced"] else " (not yet reproduced)")])
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    pv = [r for rec in paper.values() for r in rec["claims"]]
    pc_all = {v: sum(r["verdict"] == v for r in pv) for v in VERDICTS}
    status = {s: len(out[s]) for s in STATUSES}
    nbs = {r["notebook"] for r in rows}
    out["summary"] = (
        f"{len(rows)} claims from {len(nbs)} notebooks at preset "
        f"{', '.join(build) or '(none)'}: "
        + ", ".join(f"{counts[v]} {v}{VERDICT_GLOSS[v]}" for v in VERDICTS)
        + f". Of {len(order)} checks: "
        f"{status['reproduced']} reproduced on the paper's data at the paper's scale, "
        f"{status['tested']} tested on a stand-in, synthetic data or at reduced scale, "
        f"{status['identity']} identity checks; {len(paper)} notebooks have a recorded "
        "paper-preset run" + (
            f", whose {len(pv)} claims read " + ", ".join(
                f"{n} {v}" for v, n in pc_all.items()) + "." if pv else "."))
    return out


def scoreboard_markdown(rows: list[dict], **kw) -> str:
    """The scoreboard as Markdown tables (``python -m freqlearn.claims show``)."""
    sb = scoreboard_rows(rows, **kw)
    head = ["ID", "claim", "data", "measured", "expected / tolerance", "null",
            "quick verdict", "paper verdict", "explanation", "notebook"]
    lines = [sb["summary"], ""]
    for name, title in (("reproduced", "Reproduced on the paper's data at the paper's scale"),
                        ("tested", "Tested on a stand-in, synthetic data or at reduced scale"),
                        ("identity", "Identity checks")):
        lines += [f"## {title}", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for cells in sb[name]:
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


#: the outcome colours of the scoreboard map (colour-blind safe: Okabe–Ito)
MAP_COLOURS = {"PASS": "#009E73", "INCONCLUSIVE": "#E69F00", "DIFFERS": "#56B4E9",
               "FAIL": "#D55E00", "agree": "#009E73", "disagree": "#CC79A7",
               "none": "#BBBBBB"}


def scoreboard_map_data(rows: list[dict], *, seeds: dict | None = None,
                        paper: dict | None = None, catalog: dict | None = None) -> dict:
    """Per catalog ID, the fractions of its claims by outcome in three columns: ``quick``
    (this build's verdicts), ``seeds`` (``agree``: same verdict at every recorded seed,
    ``disagree``, ``none``: not in the seeds record) and ``paper`` (the recorded
    paper-scale verdicts; ``none`` where not run). Returns ``{"ids", "titles", "quick",
    "seeds", "paper", "n"}``, each column a list (per ID) of ``{outcome: fraction}``."""
    seeds, paper, catalog = seeds or {}, paper or {}, catalog or {}
    rows = [_normalise(r) for r in rows if r["preset"] != "paper"]
    prow = [_normalise(r) for rec in paper.values() for r in rec["claims"]]
    ids = list(catalog) + sorted({r["id"] for r in rows + prow} - set(catalog))
    out = {"ids": ids, "titles": [catalog.get(i, "") for i in ids], "quick": [],
           "seeds": [], "paper": [], "n": []}

    def frac(vals, keys):
        n = len(vals)
        return {k: sum(v == k for v in vals) / n for k in keys} if n else {"none": 1.0}

    for cid in ids:
        q = [r for r in rows if r["id"] == cid]
        p = [r for r in prow if r["id"] == cid]
        out["n"].append(len(q))
        out["quick"].append(frac([r["verdict"] for r in q], VERDICTS))
        s = []
        for r in q:
            e = seeds.get(r["notebook"], {}).get(_key(r))
            s.append("none" if not e else "agree" if e["agree"] == e["of"] else "disagree")
        out["seeds"].append(frac(s, ("agree", "disagree", "none")))
        out["paper"].append(frac([r["verdict"] for r in p], VERDICTS))
    return out


def scoreboard_map(data: dict, path, title: str = "") -> None:
    """Draw :func:`scoreboard_map_data` as an SVG or PNG at ``path``: one row per catalog ID,
    three columns, each cell a bar split by outcome (written atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .. import store

    ids, cols = data["ids"], ("quick", "seeds", "paper")
    fig, ax = plt.subplots(figsize=(7.0, 0.8 + 0.22 * len(ids)), facecolor="white")
    for j, col in enumerate(cols):
        for i, fr in enumerate(data[col]):
            left = j * 1.1
            for k, f in fr.items():
                if f > 0:
                    ax.barh(i, f, left=left, height=0.8, color=MAP_COLOURS[k], lw=0)
                    left += f
    ax.set_yticks(range(len(ids)), [f"{i} ({n})" for i, n in zip(ids, data["n"],
                                                                 strict=True)], fontsize=7)
    ax.set_xticks([0.5, 1.6, 2.7], ["quick (this build)", "seeds agreeing",
                                    "paper scale (recorded)"], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_xlim(-0.05, 3.25)
    ax.set_ylim(len(ids) - 0.5, -0.5)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    labels = {"PASS": "PASS (seeds: agree)", "INCONCLUSIVE": "INCONCLUSIVE", "DIFFERS": "DIFFERS",
              "FAIL": "FAIL", "disagree": "seeds disagree", "none": "not run / no record"}
    handles = [plt.Rectangle((0, 0), 1, 1, color=MAP_COLOURS[k]) for k in labels]
    ax.legend(handles, labels.values(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=3, fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9, pad=18)
    fig.tight_layout()
    store.write_figure(path, fig, facecolor="white")
    plt.close(fig)

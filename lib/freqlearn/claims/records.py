"""Reading the claims back, and the records made from them.

Files: ``<claims dir>/<notebook>.json`` = ``{"meta": {...}, "claims": [rows]}``, byte-
identical for two runs of the same preset and seed; the wall time and machine go to
``<notebook>.run.json`` beside it. The seeds record (``records/seeds/quick.json``) holds,
per claim, its verdict at each seed; a paper-preset record (``records/paper/<notebook>.json``)
a paper-preset run's claims with their provenance.

Every file is written through :mod:`freqlearn.store` (atomic: a reader or a kill never sees
half of one) and read with :func:`freqlearn.store.read_json`: a truncated or garbage file
raises :class:`freqlearn.store.StoreCorrupt` naming it and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import store
from .paths import (
    _check_name,
    _commit,
    _default_out,
    _device,
    _inside,
    _machine,
    _shown,
    _utc_now,
    _versions,
    claims_dir,
    notebook_code_sha256,
    notebook_sha256,
)
from .verdicts import CLAIMS_FIX, _normalise


def _restore_fix(path: Path, make: str) -> str:
    """What to do with a damaged record that is committed: restore or re-record it."""
    return f"Restore it with `git checkout -- {_shown(path)}` or re-record it with `{make}`."


# ------------------------------------------------------------------- reading claims
def _read(p: Path) -> tuple[dict | None, list[dict]]:
    obj = store.read_json(p, fix=CLAIMS_FIX)
    if isinstance(obj, list):  # the old format: a bare list of rows
        return None, obj
    if not isinstance(obj, dict) or "claims" not in obj:
        raise store.StoreCorrupt(p, "it is not a claims file (expected {'meta', 'claims'})",
                                 CLAIMS_FIX)
    return obj.get("meta"), obj["claims"]


def _claim_files(d: Path) -> list[Path]:
    if not d.exists():
        return []
    return [p for p in sorted(d.rglob("*.json")) if not p.name.endswith(".run.json")]


def load_all(directory: str | os.PathLike | None = None) -> list[dict]:
    """All claims rows of a claims dir (sorted by notebook, then recording order).

    Reads the current ``{"meta", "claims"}`` files and the old bare lists; rows of the old
    format get the new fields' defaults.
    """
    d = Path(directory) if directory else claims_dir()
    rows: list[dict] = []
    for p in _claim_files(d):
        rows.extend(_normalise(r) for r in _read(p)[1])
    return rows


def load_meta(directory: str | os.PathLike | None = None) -> dict[str, dict]:
    """notebook → its meta (notebook, preset, seed, notebook_sha256), plus ``wall_s``,
    ``machine``, ``device`` and ``finished`` from its ``.run.json`` when present."""
    d = Path(directory) if directory else claims_dir()
    out: dict[str, dict] = {}
    for p in _claim_files(d):
        meta, rows = _read(p)
        if meta is None:
            if not rows:
                continue
            meta = {"notebook": rows[0]["notebook"], "preset": rows[0]["preset"],
                    "seed": None, "notebook_sha256": None}
        meta = dict(meta)
        run = p.with_name(p.name[:-len(".json")] + ".run.json")
        if run.exists():
            info = store.read_json(run, fix=CLAIMS_FIX)
            meta.update({k: info.get(k) for k in ("wall_s", "machine", "device", "finished",
                                                  "reused")})
        out[meta["notebook"]] = meta
    return out


def _key(r: dict) -> str:
    return f"{r['id']}|{r['claim']}"


def _by_notebook(rows: list[dict]) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for r in rows:
        out.setdefault(r["notebook"], {})[_key(r)] = r
    return out


def _dirs(dirs) -> dict[str, Path]:
    if dirs is None:
        return {"default": claims_dir()}
    if isinstance(dirs, (str, os.PathLike)):
        return {"default": Path(dirs)}
    if not dirs:
        raise ValueError("dirs must name at least one claims dir")
    return {str(k): Path(v) for k, v in dirs.items()}


# ---------------------------------------------------------------- seeds and records
def record_seeds(dirs, out=None, merge: bool = False) -> list[str]:
    """Write the seeds record (default ``records/seeds/quick.json``) from ``dirs`` (seed
    name → claims dir of a quick-preset run; the first is the default seed).

    ``merge`` (``make seeds NB=...``): replace only the notebooks that ``dirs`` hold and
    keep the others' entries, with their shas and the commit and date they were recorded
    at (``_provenance.recorded``); the seeds must be the file's (else ``ValueError``).

    Per notebook and claim: ``{"verdicts": {seed: verdict}, "agree": k, "of": n,
    "values": {seed: measured}}`` where ``agree`` counts the seeds whose verdict equals the
    first seed's (a claim missing under a seed has verdict ``"missing"``). Returns the
    claims whose verdict differs across seeds, as sentences.
    """
    dirs = _dirs(dirs)
    names = list(dirs)
    per = {n: _by_notebook([r for r in load_all(d) if r["preset"] == "quick"])
           for n, d in dirs.items()}
    nbs = sorted(set().union(*(set(p) for p in per.values())))
    if not nbs:
        raise RuntimeError(f"no quick-preset claims under {[str(d) for d in dirs.values()]}")
    commit, date = _commit(), _utc_now()
    record: dict = {"_provenance": {
        "commit": commit, "date": date, "seeds": names,
        "notebook_sha256": {nb: notebook_sha256(nb) for nb in nbs},
        "code_sha256": {nb: notebook_code_sha256(nb) for nb in nbs},
        "recorded": {nb: {"commit": commit, "date": date} for nb in nbs}}}
    disagree: list[str] = []
    for nb in nbs:
        keys: list[str] = []
        for n in names:
            keys += [k for k in per[n].get(nb, {}) if k not in keys]
        entry = {}
        for k in keys:
            rows = {n: per[n].get(nb, {}).get(k) for n in names}
            verdicts = {n: (r["verdict"] if r else "missing") for n, r in rows.items()}
            ref = verdicts[names[0]]
            agree = sum(v == ref for v in verdicts.values())
            entry[k] = {"verdicts": verdicts, "agree": agree, "of": len(names),
                        "values": {n: (r["measured"] if r else None) for n, r in rows.items()}}
            if agree < len(names):
                disagree.append(f"{nb}: {k!r}: " + ", ".join(f"{n} {v}"
                                                             for n, v in verdicts.items()))
        record[nb] = entry
    out = Path(out) if out else _default_out("records", "seeds", "quick.json")
    if merge and out.exists():
        old = store.read_json(out)
        oprov = old.get("_provenance", {})
        if oprov.get("seeds") != names:
            raise ValueError(f"cannot merge into {out}: it was recorded at the seeds "
                             f"{oprov.get('seeds')}, this run at {names}; record every "
                             "notebook (make seeds without NB=)")
        prov = record["_provenance"]
        for nb in sorted(k for k in old if not k.startswith("_") and k not in record):
            record[nb] = old[nb]
            for f in ("notebook_sha256", "code_sha256"):
                if nb in oprov.get(f, {}):
                    prov[f][nb] = oprov[f][nb]
            prov["recorded"][nb] = oprov.get("recorded", {}).get(
                nb, {"commit": oprov.get("commit"), "date": oprov.get("date")})
        for f in ("notebook_sha256", "code_sha256", "recorded"):
            prov[f] = dict(sorted(prov[f].items()))
        record = {"_provenance": prov, **{k: record[k] for k in sorted(record)
                                          if not k.startswith("_")}}
    store.write_json(out, record)
    return disagree


def record_run(claims_dir, out_dir=None) -> list[Path]:
    """Copy a paper-preset run's claims into ``records/paper/<notebook>.json`` with its
    provenance (commit, date, machine, device, versions, wall time, notebook sha256,
    preset, seed). Refuses quick-preset claims. Returns the files written.
    """
    d = Path(claims_dir)
    metas = load_meta(d)
    rows = _by_notebook(load_all(d))
    if not rows:
        raise RuntimeError(f"no claims under {d}: run the notebooks at BOOK_PRESET=paper first")
    quick = sorted(nb for nb, rs in rows.items()
                   if any(r["preset"] != "paper" for r in rs.values()))
    if quick:
        raise ValueError(f"record_run records paper-preset runs only; {quick} under {d} were "
                         "run at another preset")
    out_dir = Path(out_dir) if out_dir else _default_out("records", "paper")
    commit, written = _commit(), []
    for nb, rs in sorted(rows.items()):
        meta = metas.get(nb, {})
        run_sha = meta.get("notebook_sha256")
        # the code sha can only be read now: it belongs to the run if the file is unchanged
        code = notebook_code_sha256(nb) if run_sha and run_sha == notebook_sha256(nb) else None
        prov = {"commit": commit, "date": meta.get("finished") or _utc_now(),
                "machine": meta.get("machine") or _machine(),
                "device": meta.get("device") or _device(), **_versions(),
                "wall_s": meta.get("wall_s"), "reused": meta.get("reused"),
                "notebook_sha256": run_sha or notebook_sha256(nb), "code_sha256": code,
                "preset": "paper", "seed": meta.get("seed")}
        path = _inside(out_dir / f"{_check_name(nb)}.json", out_dir, nb)
        store.write_json(path, {"provenance": prov, "claims": list(rs.values())})
        written.append(path)
    return written


def load_paper_records(directory=None) -> dict[str, dict]:
    """notebook → ``{"provenance", "claims"}`` from ``records/paper`` (empty if none)."""
    d = Path(directory) if directory else _default_out("records", "paper")
    out = {}
    for p in sorted(d.rglob("*.json")) if d.exists() else []:
        nb = p.relative_to(d).with_suffix("").as_posix()
        fix = _restore_fix(p, f"make record-paper NB={nb}")
        obj = store.read_json(p, fix=fix)
        if not isinstance(obj, dict):
            raise store.StoreCorrupt(p, "it is not a paper-preset record (expected "
                                        "{'provenance', 'claims'})", fix)
        rows = [_normalise(r) for r in obj.get("claims", [])]
        if rows:
            out[rows[0]["notebook"]] = {"provenance": obj.get("provenance", {}), "claims": rows}
    return out


def load_seeds_record(path=None) -> dict:
    """The seeds record (``records/seeds/quick.json``), or ``{}`` if there is none."""
    p = Path(path) if path else _default_out("records", "seeds", "quick.json")
    if not p.exists():
        return {}
    fix = _restore_fix(p, "make seeds")
    obj = store.read_json(p, fix=fix)
    if not isinstance(obj, dict):
        raise store.StoreCorrupt(p, "it is not a seeds record (expected an object of "
                                    "notebooks)", fix)
    return obj

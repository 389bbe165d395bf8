"""Portable regression: the drift band of each claim, and the check against it.

The quick preset's claims are recorded in ``tests/baselines/quick.json`` with, per claim,
its value, verdict and drift band. ``make baseline`` runs the notebooks under several
numerical variants (other CPU kernels) and :func:`update_baseline` sets::

    spread = max over variants of |value_variant − value_default|
    band   = max(K · spread, floor),  K = 5
    floor  = max(0.01 · tol_scale, 1e-9 · |value|, drift_rtol · |value| if given)

where ``tol_scale`` is the claim's own tolerance scale: ``atol + rtol·|expected|`` for
``close``, ``|bound|`` for ``at_most``/``at_least``, ``high − low`` for ``between`` and 0 for
``holds`` (booleans and strings must then match exactly). A value drifts when
``|new − value| > band`` or when a numeric value is not finite (a ``NaN`` or ``Infinity``
in a hand-edited claims file); a changed verdict (``PASS`` → ``INCONCLUSIVE`` included) or
an added/removed claim is drift too. ``FREQLEARN_BASELINE`` says what drift does: ``check``
raises :class:`BaselineDrift` (the test suite), ``warn`` (default: a reader's ``make book``
or Colab run never fails on it) prints a note and stores it in the row's ``drift`` field,
``off`` skips the check. Only the quick preset at its default seed is compared (other seeds
are checked by the seeds record).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .. import store
from .paths import _shown, baseline_path
from .records import _by_notebook, _dirs, _key, load_all
from .verdicts import _NONFINITE_WORD, _num

BASELINE_MODES = ("check", "warn", "off")
#: the drift band is this multiple of the spread measured across numerical variants
DRIFT_K = 5.0
#: floor of the band, as a fraction of the claim's own tolerance scale
DRIFT_TOL_FRACTION = 0.01
#: floor of the band, relative to the value (rounding of the recorded 12 digits)
DRIFT_REL_FLOOR = 1e-9
BASELINE_RULE = (
    "band = max(5 x spread, floor); spread = max over variants of |value - default value|; "
    "floor = max(0.01 x tol_scale, 1e-9 x |value|, drift_rtol x |value| if given); "
    "tol_scale = atol + rtol|expected| (close), |bound| (at_most, at_least), high - low "
    "(between), 0 (holds). Drift: |new - value| > band, a changed verdict, or a claim "
    "added or removed; booleans and strings must match exactly.")


class BaselineDrift(AssertionError):
    """Raised when a measured value moved from its recorded baseline (mode ``check``)."""


def baseline_mode() -> str:
    """``FREQLEARN_BASELINE``: ``check``, ``warn`` (default) or ``off``."""
    mode = os.environ.get("FREQLEARN_BASELINE", "").strip().lower() or "warn"
    if mode not in BASELINE_MODES:
        raise ValueError(f"FREQLEARN_BASELINE={mode!r}; use one of {', '.join(BASELINE_MODES)}")
    return mode


def read_baseline(path) -> dict:
    """The baseline at ``path``; a damaged one raises :class:`freqlearn.store.StoreCorrupt`
    naming it and saying how to restore or re-record it."""
    fix = (f"Restore it with `git checkout -- {_shown(path)}` or re-record it with "
           "`make baseline`.")
    obj = store.read_json(path, fix=fix)
    if not isinstance(obj, dict):
        raise store.StoreCorrupt(path, "it is not a baseline (expected an object of "
                                       "notebooks)", fix)
    return obj


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _floor(value, tol_scale, drift_rtol) -> float:
    v = abs(value) if _is_number(value) else 0.0
    f = max(DRIFT_TOL_FRACTION * float(tol_scale or 0.0), DRIFT_REL_FLOOR * v)
    if drift_rtol:
        f = max(f, float(drift_rtol) * v)
    return f


def _band_entry(entry, row: dict) -> dict:
    """A baseline entry in the current form; an old plain value gets band = floor."""
    if isinstance(entry, dict) and "value" in entry:
        return entry
    return {"value": entry, "spread": 0.0, "verdict": None,
            "band": _floor(entry, row.get("tol_scale"), row.get("drift_rtol")), "old": True}


def _baseline_problems(rows: list[dict], baseline: dict | None) -> list[tuple[str | None, str]]:
    """(claim key or None, text) for every difference of ``rows`` (one notebook) from the
    baseline."""
    if not rows:
        return []
    if baseline is None:
        bp = baseline_path()
        if bp is None:  # outside a checkout (Colab): nothing to compare with
            return []
        if not bp.exists():
            return [(None, f"no baseline at {bp}; record one with `make baseline`")]
        baseline = read_baseline(bp)
    nb = rows[0]["notebook"]
    if nb not in baseline:
        return [(None, f"{nb} has no baseline; record it deliberately with `make baseline`")]
    base = baseline[nb]
    problems: list[tuple[str | None, str]] = []
    now = {_key(r): r for r in rows}
    for k in sorted(set(base) - set(now)):
        problems.append((None, f"claim {k!r} is in the baseline but was not measured"))
    for k, r in now.items():
        if k not in base:
            problems.append((k, f"claim {k!r} is new (not in the baseline)"))
            continue
        b = _band_entry(base[k], r)
        old, new = b["value"], r["measured"]
        if b.get("verdict") is not None and b["verdict"] != r["verdict"]:
            problems.append((k, f"claim {k!r}: verdict {r['verdict']} vs baseline "
                                f"{b['verdict']}"))
        band = b.get("band")
        if _is_number(old) and _is_number(new):
            if not (isinstance(band, (int, float)) and math.isfinite(band) and band >= 0):
                problems.append((k, f"claim {k!r}: the baseline's band {band!r} is not a "
                                    "finite number ≥ 0; re-record it with `make baseline`"))
            elif not math.isfinite(old):
                problems.append((k, f"claim {k!r}: the baseline value {old!r} is not finite"))
            elif not math.isfinite(new):  # a NaN/Infinity literal in a hand-edited file
                problems.append((k, f"claim {k!r}: measured {new!r} is not finite"))
            elif abs(new - old) > band:
                problems.append((k, f"claim {k!r}: measured {new!r} vs baseline {old!r} "
                                    f"(|Δ| = {abs(new - old):.3g} > band {band:.3g})"))
        elif type(old) is not type(new) and not (_is_number(old) and _is_number(new)):
            problems.append((k, f"claim {k!r}: measured {new!r} ({type(new).__name__}) vs "
                                f"baseline {old!r} ({type(old).__name__})"))
        elif old != new:
            problems.append((k, f"claim {k!r}: measured {new!r} vs baseline {old!r} "
                                "(must match exactly)"))
        elif isinstance(old, str) and _NONFINITE_WORD.fullmatch(old.strip()):
            problems.append((k, f"claim {k!r}: measured {new!r} is not finite"))
    return problems


def _drift_message(nb: str, problems: list[str]) -> str:
    return (f"{nb} drifted from tests/baselines/quick.json:\n  - " + "\n  - ".join(problems)
            + "\nIf the change is intended, run `make baseline` and commit it.")


def check_against_baseline(rows: list[dict], baseline: dict | None = None) -> list[str]:
    """The differences of one notebook's ``rows`` from the baseline, as sentences.

    ``baseline`` maps notebook → {``id|claim`` → {value, spread, verdict, band}} (an old
    plain value is taken as ``{value, spread 0, band = floor, verdict not checked}``); by
    default it is read from ``tests/baselines/quick.json`` (a damaged file raises
    :class:`freqlearn.store.StoreCorrupt`). Drift: ``|new − value| > band``, a non-finite
    numeric value, a changed verdict, a claim added or removed, a notebook without a
    baseline. Returns ``[]`` when nothing drifted (and outside a checkout).
    """
    return [t for _, t in _baseline_problems(rows, baseline)]


def update_baseline(dirs=None, path=None, merge: bool = False) -> Path:
    """Record the quick-preset claims of ``dirs`` (variant name → claims dir; the first is
    the default variant) as the baseline, with each claim's spread and drift band.

    ``merge`` (``make baseline NB=...``): replace only the notebooks that ``dirs`` hold and
    keep every other notebook's entry of the existing file; the variants must be the same
    as the file's (else ``ValueError``). Without it the file holds exactly ``dirs``'
    notebooks.

    Raises ``ValueError`` listing every claim whose verdict, presence, or boolean/string
    value differs between variants, or whose numeric value is not finite (such a claim is
    not portable: make it sound first). The file is replaced atomically.
    """
    dirs = _dirs(dirs)
    names = list(dirs)
    per = {n: _by_notebook([r for r in load_all(d) if r["preset"] == "quick"])
           for n, d in dirs.items()}
    default = per[names[0]]
    if not default:
        raise RuntimeError(f"no quick-preset claims under {dirs[names[0]]}: run the notebooks "
                           "first")
    out: dict = {"_rule": BASELINE_RULE, "_variants": names}
    bad: list[str] = []
    for nb, claims in sorted(default.items()):
        entry = {}
        for k, r in claims.items():
            v = r["measured"]
            if _is_number(v) and not math.isfinite(v):
                bad.append(f"{nb}: {k!r} value {v!r} ({names[0]}) is not finite")
            spread = 0.0
            for n in names[1:]:
                other = per[n].get(nb, {}).get(k)
                if other is None:
                    bad.append(f"{nb}: {k!r} missing under variant {n}")
                    continue
                if other["verdict"] != r["verdict"]:
                    bad.append(f"{nb}: {k!r} verdict {r['verdict']} ({names[0]}) vs "
                               f"{other['verdict']} ({n})")
                w = other["measured"]
                if _is_number(v) and _is_number(w):
                    spread = max(spread, abs(w - v))
                elif v != w or type(v) is not type(w):
                    bad.append(f"{nb}: {k!r} value {v!r} ({names[0]}) vs {w!r} ({n})")
            floor = _floor(v, r.get("tol_scale"), r.get("drift_rtol"))
            band = max(DRIFT_K * spread, floor) if _is_number(v) else 0.0
            entry[k] = {"value": v, "spread": _num(spread), "verdict": r["verdict"],
                        "band": _num(band)}
        out[nb] = entry
        for n in names[1:]:
            for k in sorted(set(per[n].get(nb, {})) - set(claims)):
                bad.append(f"{nb}: {k!r} only under variant {n}")
    for n in names[1:]:
        for nb in sorted(set(per[n]) - set(default)):
            bad.append(f"{nb}: only under variant {n}")
    if bad:
        raise ValueError("these claims are not the same across the numerical variants "
                         f"{names}; make them sound before recording a baseline:\n  - "
                         + "\n  - ".join(bad))
    path = Path(path) if path else baseline_path()
    if path is None:
        raise RuntimeError("not inside the book's checkout (no _toc.yml found)")
    if merge and path.exists():
        old = read_baseline(path)
        if old.get("_variants") != names:
            raise ValueError(f"cannot merge into {path}: it was recorded under the variants "
                             f"{old.get('_variants')}, this run under {names}; record every "
                             "notebook (make baseline without NB=)")
        out = {**{k: v for k, v in old.items() if not k.startswith("_")}, **out}
    store.write_json(path, out, sort_keys=True)
    return path

"""The claims check that ends every notebook, and the scoreboard (catalog X2; DESIGN.md §2).

A notebook records each reproduced result as a *claim*: catalog ID, what is claimed, the
measured value, the expected value, a tolerance and a verdict:

- ``PASS``    — the measured value meets the expectation within the tolerance (and beats
  its null, when it has one);
- ``DIFFERS`` — it does not, and the notebook declared this a known discrepancy with a
  reason (a finding of the reproduction, discussed in the chapter index);
- ``FAIL``    — it does not, and nothing was declared. A **non-finite** measured or
  expected value (NaN, ±inf, also inside a :class:`Stat` or a :class:`Null`) is a ``FAIL``
  whatever else was declared.

Each claim also records what it is (DESIGN.md §2):

- ``kind``: ``"result"``, or ``"identity"`` for a check that is true by construction (an
  SVD reconstruction): it tests the code, not the paper, and is never counted as a
  reproduction;
- ``data``: ``"paper"`` (the paper's own data or generator), ``"stand-in"`` (a substitute
  for the paper's data), ``"synthetic"`` (our own synthetic data, not in the paper) or
  ``"none"`` (closed forms); ``"unspecified"`` when the notebook did not say;
- ``scale``: ``"paper"`` at the paper preset, else ``"reduced"``;
- ``status``: ``"identity"``; ``"reproduced"`` when data and scale are the paper's;
  otherwise ``"tested"``.

Uncertainty and nulls
---------------------
``measured`` may be a :class:`Stat` (n ≥ 2 trials: mean, sd, standard error se = sd/√n).
**Uncertainty never widens a tolerance**: ``close`` compares the mean (se is recorded, not
used); ``at_least`` needs ``mean − z·se ≥ bound``; ``at_most`` needs ``mean + z·se ≤
bound``; ``between`` needs ``low ≤ mean − z·se`` and ``mean + z·se ≤ high``.

A comparative claim states its :class:`Null` — the value a trivial model gets (random RF
centres, an untrained net, a low-pass kernel, shuffled labels) — and passes only if its own
check passes *and* it beats the null by ``margin``, with lower/upper = mean ∓ z·se for a
Stat and the value itself for a number:

- ``at_least`` / ``better="higher"``: lower(measured) − upper(null) ≥ margin;
- ``at_most`` / ``better="lower"``: lower(null) − upper(measured) ≥ margin;
- ``close``: (nearest distance of the null to expected) − (farthest distance of the
  measurement to expected) ≥ margin (for plain numbers: |null − e| − |measured − e|);
- ``holds`` and ``between`` need an explicit ``better=``.

Portable regression (the drift band)
------------------------------------
The quick preset's claims are recorded in ``tests/baselines/quick.json`` with, per claim,
its value, verdict and drift band. ``make baseline`` runs the notebooks under several
numerical variants (other CPU kernels) and :func:`update_baseline` sets::

    spread = max over variants of |value_variant − value_default|
    band   = max(K · spread, floor),  K = 5
    floor  = max(0.01 · tol_scale, 1e-9 · |value|, drift_rtol · |value| if given)

where ``tol_scale`` is the claim's own tolerance scale: ``atol + rtol·|expected|`` for
``close``, ``|bound|`` for ``at_most``/``at_least``, ``high − low`` for ``between`` and 0 for
``holds`` (booleans and strings must then match exactly). A value drifts when
``|new − value| > band``; a changed verdict or an added/removed claim is drift too.
``FREQLEARN_BASELINE`` says what drift does: ``check`` raises :class:`BaselineDrift` (the
test suite), ``warn`` (default: a reader's ``make book`` or Colab run never fails on it)
prints a note and stores it in the row's ``drift`` field, ``off`` skips the check. Only the
quick preset at its default seed is compared (other seeds are checked by the seeds record).

Files: ``<claims dir>/<notebook>.json`` = ``{"meta": {...}, "claims": [rows]}``, byte-
identical for two runs of the same preset and seed; the wall time and machine go to
``<notebook>.run.json`` beside it. The claims dir is ``<root>/_build/claims`` unless
``FREQLEARN_CLAIMS_DIR`` says otherwise.

Usage::

    claims = fl.claims.Claims("toolkit/fourier", data="none")
    claims.close("P1", "Q is unitary", measured=err, expected=0.0, atol=1e-10,
                 kind="identity")
    claims.at_least("I5", "IPR ratio", measured=fl.claims.Stat(ratios), expected=1.5,
                    null=fl.claims.Null(Stat(rand), "random RF centres", margin=0.2))
    claims.report()

Command line: ``python -m freqlearn.claims baseline NAME=DIR ... | check DIR |
seeds SEED=DIR ... | record DIR | show`` (see :func:`main`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import presets

__all__ = ["Claim", "Claims", "Stat", "Null", "ClaimsFailed", "BaselineDrift", "repo_root",
           "claims_dir", "load_all", "load_meta", "baseline_path", "update_baseline",
           "check_against_baseline", "record_seeds", "record_run", "scoreboard_rows",
           "scoreboard_markdown", "main", "DRIFT_K", "BASELINE_RULE", "code_cells",
           "notebook_code_sha256"]

VERDICTS = ("PASS", "DIFFERS", "FAIL")
KINDS = ("result", "identity")
DATA = ("paper", "stand-in", "synthetic", "none")
SCALES = ("paper", "reduced")
STATUSES = ("reproduced", "tested", "identity")
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
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$")
_NONFINITE_WORD = re.compile(r"(?<![a-z])(nan|-?inf|infinity)(?![a-z])", re.I)


class ClaimsFailed(AssertionError):
    """Raised by :meth:`Claims.report` when a claim FAILs."""


class BaselineDrift(AssertionError):
    """Raised when a measured value moved from its recorded baseline (mode ``check``)."""


# ------------------------------------------------------------------------------ paths
def repo_root(start: str | os.PathLike | None = None) -> Path | None:
    """The book's root (the folder holding ``_toc.yml``), searched upward from ``start``.

    ``FREQLEARN_ROOT`` overrides the search. ``None`` outside a checkout (e.g. Colab).
    """
    env = os.environ.get("FREQLEARN_ROOT")
    if env:
        return Path(env)
    p = Path(start or os.getcwd()).resolve()
    for q in (p, *p.parents):
        if (q / "_toc.yml").exists():
            return q
    return None


def claims_dir() -> Path:
    """Where claims JSON goes: ``FREQLEARN_CLAIMS_DIR``, else ``<root>/_build/claims``.

    A relative ``FREQLEARN_CLAIMS_DIR`` is taken from the book's root (a notebook runs in
    its own folder, so the working directory would scatter the claims over the chapters).
    """
    env = os.environ.get("FREQLEARN_CLAIMS_DIR", "").strip()
    root = repo_root() or Path.cwd()
    if env:
        p = Path(env).expanduser()
        return p if p.is_absolute() else root / p
    return root / "_build" / "claims"


def baseline_path() -> Path | None:
    """``<root>/tests/baselines/quick.json`` (``None`` outside a checkout)."""
    root = repo_root()
    return None if root is None else root / "tests" / "baselines" / "quick.json"


def _from_root(p: str | os.PathLike) -> Path:
    """A path given on the command line: relative paths are taken from the repo root."""
    p = Path(p).expanduser()
    if p.is_absolute():
        return p
    return (repo_root() or Path.cwd()) / p


def _check_name(notebook) -> str:
    if (not isinstance(notebook, str) or not _NAME_RE.match(notebook)
            or ".." in notebook.split("/") or notebook.endswith(".md")):
        raise ValueError(
            "notebook must be the path under book/ without suffix, made of lower-case letters,"
            " digits, '_', '.', '-' in segments separated by '/' (no '..'), e.g."
            f" 'toolkit/fourier'; got {notebook!r}")
    return notebook


def _inside(path: Path, folder: Path, notebook: str) -> Path:
    rp, rf = path.resolve(), folder.resolve()
    if rp != rf and rf not in rp.parents:
        raise ValueError(f"notebook {notebook!r} would write {rp}, outside the claims dir {rf}")
    return path


def notebook_sha256(notebook: str) -> str | None:
    """sha256 of ``book/<notebook>.md`` in the checkout, or ``None`` if there is none."""
    root = repo_root()
    if root is None:
        return None
    p = root / "book" / f"{notebook}.md"
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def code_cells(text: str) -> str:
    """The code cells of a MyST notebook's text (options and source), joined: what a run
    executes. Prose can change without changing it."""
    out, inside = [], False
    for line in text.splitlines():
        if not inside and line.startswith("```{code-cell}"):
            inside = True
        elif inside and line.startswith("```"):
            inside = False
            out.append("")
        if inside:
            out.append(line)
    return "\n".join(out)


def notebook_code_sha256(notebook: str) -> str | None:
    """sha256 of the code cells of ``book/<notebook>.md`` (:func:`code_cells`), or ``None``
    if there is no such file: a record made from a run is stale when this changes, not when
    only the prose around the code does."""
    root = repo_root()
    if root is None:
        return None
    p = root / "book" / f"{notebook}.md"
    if not p.is_file():
        return None
    return hashlib.sha256(code_cells(p.read_text()).encode()).hexdigest()


# --------------------------------------------------------------------------- numbers
def _num(x):
    """A JSON-friendly, reproducible number: 12 significant digits, or bool/None/str."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, bool):
        return x
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return float(f"{x:.12g}")


def _real(x, name: str, where: str = "") -> float:
    """``x`` as a float: a number, a 0-d/1-element array or tensor, or a numeric string.

    Complex values are refused unless their imaginary part is exactly 0.
    """
    at = f" ({where})" if where else ""
    orig = x
    if x is None:
        raise TypeError(f"{name}{at} must be a real number; got None")
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach()
        if x.numel() != 1:
            raise ValueError(f"{name}{at} must be a scalar; got a tensor of shape "
                             f"{tuple(x.shape)}")
        if x.is_complex():
            if x.imag.reshape(()).item() != 0:
                raise TypeError(f"{name}{at} must be real; got complex {x.reshape(()).item()}")
            x = x.real
        x = x.reshape(()).item()
    elif hasattr(x, "dtype") and hasattr(x, "shape"):  # numpy array or scalar
        if getattr(x, "size", 1) != 1:
            raise ValueError(f"{name}{at} must be a scalar; got an array of shape {x.shape}")
        x = x.reshape(()).item() if hasattr(x, "reshape") else x.item()
    if isinstance(x, complex):
        if x.imag != 0:
            raise TypeError(f"{name}{at} must be real; got complex {x}")
        x = x.real
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name}{at} must be a real number; got {type(orig).__name__} "
                        f"{orig!r}") from None


def _tol(x, name: str) -> float:
    """A tolerance, margin or z: finite and ≥ 0, else ValueError naming it."""
    v = _real(x, name)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be finite and ≥ 0; got {x!r}")
    return v


class Stat:
    """A mean over ``n ≥ 2`` trials with its uncertainty: mean, sd (ddof=1), se = sd/√n.

    ``z`` sets the conservative bounds ``lower = mean − z·se`` and ``upper = mean + z·se``
    used by the bound checks and nulls (never to widen a tolerance). Non-finite values are
    kept: a claim measured with one is a ``FAIL``.
    """

    def __init__(self, values, z: float = 2.0):
        import numpy as np

        if hasattr(values, "detach"):
            values = values.detach().cpu().numpy()
        arr = np.asarray(values)
        if arr.dtype.kind == "c":
            if np.any(arr.imag != 0):
                raise TypeError("Stat values must be real; got complex values with a non-zero "
                                "imaginary part")
            arr = arr.real
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Stat values must be numbers; got dtype {arr.dtype}")
        arr = arr.astype(float).ravel()
        if arr.size < 2:
            raise ValueError(f"Stat needs n ≥ 2 values for a standard error; got {arr.size}")
        self.z = _tol(z, "z")
        self.n = int(arr.size)
        self.finite = bool(np.all(np.isfinite(arr)))
        self.mean = float(arr.mean())
        self.sd = float(arr.std(ddof=1)) if self.finite else math.nan
        self.se = self.sd / math.sqrt(self.n)

    @property
    def lower(self) -> float:
        return self.mean - self.z * self.se

    @property
    def upper(self) -> float:
        return self.mean + self.z * self.se

    def to_dict(self) -> dict:
        return {"n": self.n, "mean": _num(self.mean), "sd": _num(self.sd),
                "se": _num(self.se), "z": _num(self.z)}

    def __repr__(self) -> str:
        return f"Stat(mean={self.mean:.4g}, se={self.se:.2g}, n={self.n})"


def _lo(x) -> float:
    return x.lower if isinstance(x, Stat) else x


def _hi(x) -> float:
    return x.upper if isinstance(x, Stat) else x


def _mean(x) -> float:
    return x.mean if isinstance(x, Stat) else x


def _finite(x) -> bool:
    if isinstance(x, Stat):
        return x.finite and math.isfinite(x.mean) and math.isfinite(x.se)
    return math.isfinite(x)


def _measure(x, name: str, where: str):
    return x if isinstance(x, Stat) else _real(x, name, where)


@dataclass
class Null:
    """The null of a comparative claim: the value a trivial model gets.

    ``what`` names it ("random RF centres", "untrained net", "low-pass kernel", "shuffled
    labels"); ``value`` is a number or a :class:`Stat`; the claim must beat it by
    ``margin`` (≥ 0); ``better`` (``"higher"``/``"lower"``) is needed by ``holds`` and
    ``between`` and may not contradict ``at_least``/``at_most``.
    """

    value: object
    what: str
    margin: float = 0.0
    better: str | None = None

    def __post_init__(self):
        if not isinstance(self.what, str) or not self.what.strip():
            raise ValueError("Null needs `what`, a non-empty description of the trivial model "
                             f"(e.g. 'untrained net'); got {self.what!r}")
        self.value = _measure(self.value, "Null value", self.what)
        self.margin = _tol(self.margin, "Null margin")
        if self.better not in (None, "higher", "lower"):
            raise ValueError(f"Null better must be 'higher', 'lower' or None; "
                             f"got {self.better!r}")


# ------------------------------------------------------------------------------ rows
@dataclass
class Claim:
    """One row of the claims table (the JSON fields of the scoreboard)."""

    id: str
    claim: str
    measured: float | bool | str | None
    expected: float | bool | str | None
    tolerance: str
    verdict: str
    preset: str
    notebook: str
    reason: str = ""
    check: str = ""
    kind: str = "result"
    data: str = "unspecified"
    scale: str = "reduced"
    seed: int | None = None
    status: str = "tested"
    tol_scale: float = 0.0
    uncertainty: dict | None = None
    null: dict | None = None
    drift_rtol: float | None = None
    drift: str | None = None

    def row(self) -> list[str]:
        m = _fmt(self.measured)
        if self.uncertainty:
            m += f" ± {_fmt(self.uncertainty['se'])} (n={self.uncertainty['n']})"
        return [self.id, self.claim, m, _fmt(self.expected),
                self.tolerance, self.verdict + (f" ({self.reason})" if self.reason else "")]


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "—" if v is None else str(v)


#: chapters that reconstruct a paper known only from its abstract: nothing there runs on
#: "the paper's data", and the scoreboard marks every row as a reconstruction
RECONSTRUCTIONS = ("ricci-merger-goldt2026",)


def _reconstruction(notebook: str) -> bool:
    return str(notebook).split("/")[0] in RECONSTRUCTIONS


def _status(kind: str, data: str, scale: str) -> str:
    if kind == "identity":
        return "identity"
    return "reproduced" if data == "paper" and scale == "paper" else "tested"


def _normalise(r: dict) -> dict:
    """Fill the fields an old-format row lacks (kind, data, scale, status, …)."""
    r = dict(r)
    r.setdefault("kind", "result")
    r.setdefault("data", "unspecified")
    r.setdefault("scale", "paper" if r.get("preset") == "paper" else "reduced")
    r.setdefault("status", _status(r["kind"], r["data"], r["scale"]))
    for k in ("uncertainty", "null", "drift", "seed", "drift_rtol"):
        r.setdefault(k, None)
    r.setdefault("tol_scale", 0.0)
    r.setdefault("reason", "")
    r.setdefault("check", "")
    return r


@dataclass
class Claims:
    """The claims of one notebook; ``notebook`` is its path under ``book/`` without suffix.

    ``data`` and ``scale`` are the notebook's defaults (settable later, e.g.
    ``claims.data = "stand-in"``); each comparator's ``data=`` overrides ``data``.
    """

    notebook: str
    preset: str = field(default_factory=lambda: presets.current().name)
    data: str | None = None
    scale: str | None = None
    rows: list[Claim] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=dict)
    benchmarks: list[dict] = field(default_factory=list)
    seed: int | None = None
    started: float = field(default_factory=time.time)

    def __post_init__(self):
        _check_name(self.notebook)
        if self.preset not in presets.PRESETS:
            raise ValueError(f"preset must be one of {presets.PRESETS}; got {self.preset!r}")
        if self.seed is None:
            self.seed = int(presets.current().seed)

    def __setattr__(self, name, value):
        if name == "data" and value is not None and value not in DATA:
            raise ValueError(f"data must be one of {DATA} or None; got {value!r}")
        if name == "scale" and value is not None and value not in SCALES:
            raise ValueError(f"scale must be one of {SCALES} or None; got {value!r}")
        super().__setattr__(name, value)

    @property
    def default_seed(self) -> bool:
        """Whether this run uses its preset's own seed (no ``BOOK_SEED`` override)."""
        return self.seed == presets.SEEDS.get(self.preset)

    # -- declaring known discrepancies ------------------------------------------------
    def known_discrepancy(self, id: str, claim: str, reason: str) -> None:
        """Declare, *before* checking, that claim ``(id, claim)`` is expected to differ.

        If the check then fails its verdict is ``DIFFERS`` with ``reason``; if it passes,
        the verdict is ``PASS`` and the declaration is noted in the row's reason. A
        non-finite measurement is a ``FAIL`` all the same.
        """
        if not reason.strip():
            raise ValueError("a known discrepancy needs a reason")
        self.known[f"{id}|{claim}"] = reason

    # -- recording ----------------------------------------------------------------------
    def _add(self, id, claim, *, check, measured, expected, ok, tolerance, tol_scale,
             finite, kind, data, null, null_ok, drift_rtol, expected_json=None):
        if not id or not claim:
            raise ValueError("every claim needs a catalog id and a statement")
        if any(r.id == id and r.claim == claim for r in self.rows):
            raise ValueError(f"claim {id!r} / {claim!r} recorded twice")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        data = data if data is not None else self.data
        if data is not None and data not in DATA:
            raise ValueError(f"data must be one of {DATA} or None; got {data!r}")
        if data == "paper" and _reconstruction(self.notebook):
            raise ValueError(f"{self.notebook} reconstructs its paper from the abstract: no "
                             "data of the paper's exists, so data='paper' is refused (use "
                             "'synthetic' for our generator, 'stand-in' for natural images)")
        data = data or "unspecified"
        scale = self.scale or ("paper" if self.preset == "paper" else "reduced")
        known = self.known.get(f"{id}|{claim}", "")
        null_msg = ""
        if null is not None and not null_ok:
            null_msg = (f"does not beat the null {null.what} ({_fmt(_num(_mean(null.value)))})"
                        f" by {null.margin:g}")
        if not finite:
            verdict = "FAIL"
            reason = "non-finite measurement" + (
                " (a declared known discrepancy does not cover it)" if known else "")
        elif ok and null_ok:
            verdict = "PASS"
            reason = f"declared a known discrepancy, but it passed: {known}" if known else ""
        else:
            verdict = "DIFFERS" if known else "FAIL"
            reason = "; ".join(s for s in (known, null_msg) if s)
        nrec = None
        if null is not None:
            v = null.value
            nrec = {"what": null.what, "value": _num(_mean(v)),
                    "se": _num(v.se) if isinstance(v, Stat) else None,
                    "n": v.n if isinstance(v, Stat) else None,
                    "margin": _num(null.margin), "better": null.better,
                    "beaten": bool(finite and null_ok)}
            tolerance += f"; beats {null.what} by ≥ {null.margin:g}"
        row = Claim(id=id, claim=claim, measured=_num(_mean(measured))
                    if not isinstance(measured, (bool, str)) else measured,
                    expected=expected_json if expected_json is not None else _num(expected),
                    tolerance=tolerance, verdict=verdict, preset=self.preset,
                    notebook=self.notebook, reason=reason, check=check, kind=kind, data=data,
                    scale=scale, seed=self.seed, status=_status(kind, data, scale),
                    tol_scale=_num(tol_scale) if math.isfinite(tol_scale) else 0.0,
                    uncertainty=measured.to_dict() if isinstance(measured, Stat) else None,
                    null=nrec, drift_rtol=drift_rtol)
        self.rows.append(row)
        return row

    @staticmethod
    def _drift_rtol(drift_rtol):
        if drift_rtol is None:
            return None
        v = _real(drift_rtol, "drift_rtol")
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"drift_rtol must be finite and > 0; got {drift_rtol!r}")
        return v

    @staticmethod
    def _null(null, check, where):
        if null is None:
            return None
        if not isinstance(null, Null):
            raise TypeError(f"null ({where}) must be a freqlearn.claims.Null; "
                            f"got {type(null).__name__}")
        implied = {"at_least": "higher", "at_most": "lower"}.get(check)
        if implied and null.better not in (None, implied):
            raise ValueError(f"null better={null.better!r} contradicts {check}() ({where}): "
                             f"a {check} claim is better when {implied}")
        if check in ("holds", "between") and null.better is None:
            raise ValueError(f"{check}() with a null needs Null(better='higher' or 'lower') "
                             f"({where})")
        return null

    @staticmethod
    def _beats(check, m, null, expected=None) -> bool:
        if null is None:
            return True
        v, margin = null.value, null.margin
        if not (_finite(v) and _finite(m)):
            return False
        better = null.better or {"at_least": "higher", "at_most": "lower"}.get(check)
        if check == "close" and better is None:
            e = expected
            far = max(abs(_lo(m) - e), abs(_hi(m) - e))
            near = 0.0 if _lo(v) <= e <= _hi(v) else min(abs(_lo(v) - e), abs(_hi(v) - e))
            return near - far >= margin
        if better == "higher":
            return _lo(m) - _hi(v) >= margin
        return _lo(v) - _hi(m) >= margin

    def close(self, id, claim, *, measured, expected, rtol=None, atol=None, drift_rtol=None,
              kind="result", data=None, null=None):
        """PASS when ``|mean(measured) − expected| ≤ atol + rtol·|expected|`` (give one or both).

        A :class:`Stat`'s standard error is recorded, not used (it never widens the
        tolerance).
        """
        where = f"claim {id} {claim!r}"
        if rtol is None and atol is None:
            raise ValueError(f"close() needs rtol, atol or both ({where})")
        rtol = 0.0 if rtol is None else _tol(rtol, "rtol")
        atol = 0.0 if atol is None else _tol(atol, "atol")
        m = _measure(measured, "measured", where)
        e = _real(expected, "expected", where)
        null = self._null(null, "close", where)
        finite = _finite(m) and math.isfinite(e) and (null is None or _finite(null.value))
        scale = atol + rtol * abs(e) if math.isfinite(e) else math.inf
        ok = finite and abs(_mean(m) - e) <= scale
        tol = " + ".join(s for s in (f"abs {atol:g}" if atol else "",
                                     f"rel {rtol:g}" if rtol else "") if s) or "0 (exact)"
        return self._add(id, claim, check="close", measured=m, expected=e, ok=ok,
                         tolerance=f"|Δ| ≤ {tol}", tol_scale=scale, finite=finite, kind=kind,
                         data=data, null=null, null_ok=self._beats("close", m, null, e),
                         drift_rtol=self._drift_rtol(drift_rtol))

    def _bound(self, check, id, claim, measured, expected, drift_rtol, kind, data, null):
        where = f"claim {id} {claim!r}"
        m = _measure(measured, "measured", where)
        b = _real(expected, "expected", where)
        null = self._null(null, check, where)
        finite = _finite(m) and math.isfinite(b) and (null is None or _finite(null.value))
        ok = finite and (_hi(m) <= b if check == "at_most" else _lo(m) >= b)
        sign = "≤" if check == "at_most" else "≥"
        tol = f"{sign} {b:g}" + (f" (mean {'+' if sign == '≤' else '−'} {m.z:g}·se)"
                                  if isinstance(m, Stat) else "")
        return self._add(id, claim, check=check, measured=m, expected=b, ok=ok, tolerance=tol,
                         tol_scale=abs(b), finite=finite, kind=kind, data=data, null=null,
                         null_ok=self._beats(check, m, null),
                         drift_rtol=self._drift_rtol(drift_rtol))

    def at_most(self, id, claim, *, measured, expected, drift_rtol=None, kind="result",
                data=None, null=None):
        """PASS when ``measured ≤ expected`` (the bound); for a Stat, ``mean + z·se ≤ bound``."""
        return self._bound("at_most", id, claim, measured, expected, drift_rtol, kind, data,
                           null)

    def at_least(self, id, claim, *, measured, expected, drift_rtol=None, kind="result",
                 data=None, null=None):
        """PASS when ``measured ≥ expected`` (the bound); for a Stat, ``mean − z·se ≥ bound``."""
        return self._bound("at_least", id, claim, measured, expected, drift_rtol, kind, data,
                           null)

    def between(self, id, claim, *, measured, low, high, drift_rtol=None, kind="result",
                data=None, null=None):
        """PASS when ``low ≤ measured ≤ high`` (a Stat's whole ``mean ± z·se`` inside).

        ``expected`` is recorded as ``"[low, high]"``.
        """
        where = f"claim {id} {claim!r}"
        m = _measure(measured, "measured", where)
        lo, hi = _real(low, "low", where), _real(high, "high", where)
        if lo > hi:
            raise ValueError(f"between() needs low ≤ high ({where}); got low={lo:g}, "
                             f"high={hi:g}")
        null = self._null(null, "between", where)
        finite = (_finite(m) and math.isfinite(lo) and math.isfinite(hi)
                  and (null is None or _finite(null.value)))
        ok = finite and lo <= _lo(m) and _hi(m) <= hi
        return self._add(id, claim, check="between", measured=m, expected=None, ok=ok,
                         tolerance=f"in [{lo:g}, {hi:g}]", tol_scale=hi - lo, finite=finite,
                         kind=kind, data=data, null=null,
                         null_ok=self._beats("between", m, null),
                         drift_rtol=self._drift_rtol(drift_rtol),
                         expected_json=f"[{lo:g}, {hi:g}]")

    def holds(self, id, claim, *, value: bool, measured=None, kind="result", data=None,
              null=None):
        """PASS when the boolean ``value`` is true (a qualitative claim, e.g. an ordering).

        ``measured`` may carry a number (or a Stat) that explains it — recorded and
        baseline-checked, and a non-finite one is a ``FAIL`` — or a descriptive string
        (a string showing ``nan``/``inf`` is a ``FAIL`` too). A ``null`` needs ``better=``
        and a numeric ``measured``.
        """
        if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):
            raise TypeError("holds() takes a bool; compare numbers with close/at_least/...")
        where = f"claim {id} {claim!r}"
        null = self._null(null, "holds", where)
        if measured is None or isinstance(measured, bool) or type(measured).__name__ in (
                "bool_", "bool"):
            m = bool(value) if measured is None else bool(measured)
            finite = True
        elif isinstance(measured, str):
            m, finite = measured, not _NONFINITE_WORD.search(measured)
        else:
            m = _measure(measured, "measured", where)
            finite = _finite(m)
        if null is not None:
            if isinstance(m, (bool, str)):
                raise TypeError(f"holds() with a null needs a numeric measured ({where}); "
                                f"got {m!r}")
            finite = finite and _finite(null.value)
        beats = self._beats("holds", m, null) if null is not None else True
        return self._add(id, claim, check="holds", measured=m, expected=True,
                         ok=finite and bool(value), tolerance="must hold", tol_scale=0.0,
                         finite=finite, kind=kind, data=data, null=null, null_ok=beats,
                         drift_rtol=None)

    def benchmark(self, what: str, value: float, unit: str) -> float:
        """Record a wall-clock measurement (not a claim: it varies from run to run).

        Benchmarks go to ``_build/benchmarks/<notebook>.json`` and appear on the
        scoreboard in their own table; they are never compared with the baseline.
        """
        self.benchmarks.append({"what": what, "value": _num(value), "unit": unit,
                                "notebook": self.notebook, "preset": self.preset,
                                "machine": f"{platform.machine()}, {os.cpu_count()} cores"})
        return value

    # -- output -------------------------------------------------------------------------
    def table(self) -> str:
        """The claims as a plain-text table."""
        head = ["id", "claim", "measured", "expected", "tolerance", "verdict"]
        rows = [head] + [r.row() for r in self.rows]
        widths = [min(max(len(r[i]) for r in rows), 60) for i in range(len(head))]
        lines = []
        for k, r in enumerate(rows):
            lines.append("  ".join(c[:60].ljust(w) for c, w in zip(r, widths, strict=True)))
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def to_json(self) -> list[dict]:
        return [asdict(r) for r in self.rows]

    def meta(self) -> dict:
        """The deterministic header of the JSON file (no wall time, no machine)."""
        return {"notebook": self.notebook, "preset": self.preset, "seed": self.seed,
                "notebook_sha256": notebook_sha256(self.notebook)}

    def write(self) -> Path:
        """Write ``<claims dir>/<notebook>.json`` and ``<notebook>.run.json``; return the first."""
        cdir = claims_dir()
        path = _inside(cdir / f"{self.notebook}.json", cdir, self.notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic(path, {"meta": self.meta(), "claims": self.to_json()})
        _atomic(path.with_name(path.name[:-len(".json")] + ".run.json"), {
            "notebook": self.notebook, "wall_s": round(time.time() - self.started, 3),
            "finished": _utc_now(), "machine": _machine(), "device": _device(),
            "reused": presets.reused()})
        if self.benchmarks:
            bdir = cdir.parent / "benchmarks"
            bpath = _inside(bdir / f"{self.notebook}.json", bdir, self.notebook)
            bpath.parent.mkdir(parents=True, exist_ok=True)
            _atomic(bpath, self.benchmarks)
        return path

    def report(self) -> None:
        """Print the table, check the baseline, write the JSON; raise on FAIL (or drift
        when ``FREQLEARN_BASELINE=check``)."""
        if not self.rows:
            raise ClaimsFailed(f"{self.notebook}: no claims were recorded")
        print(f"Claims of {self.notebook} at preset {self.preset} (seed {self.seed}):\n")
        print(self.table())
        counts = {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}
        print("\n" + ", ".join(f"{n} {v}" for v, n in counts.items()))
        mode = baseline_mode()
        problems: list[tuple[str | None, str]] = []
        if mode != "off" and self.preset == "quick" and self.default_seed:
            problems = _baseline_problems(self.to_json(), None)
            by_key: dict[str, list[str]] = {}
            for k, text in problems:
                if k is not None:
                    by_key.setdefault(k, []).append(text)
            for r in self.rows:
                if f"{r.id}|{r.claim}" in by_key:
                    r.drift = "; ".join(by_key[f"{r.id}|{r.claim}"])
            if problems and mode == "warn":
                print(f"\nNote: {len(problems)} difference(s) from the regression baseline "
                      "(recorded on the scoreboard; `make test` checks them):\n  - "
                      + "\n  - ".join(t for _, t in problems))
        self.write()
        failed = [r for r in self.rows if r.verdict == "FAIL"]
        if failed:
            raise ClaimsFailed(
                f"{len(failed)} claim(s) FAILED in {self.notebook}: "
                + "; ".join(f"{r.id} {r.claim!r} measured {r.measured} vs {r.expected}"
                            + (f" ({r.reason})" if r.reason else "") for r in failed))
        if problems and mode == "check":
            raise BaselineDrift(_drift_message(self.notebook, [t for _, t in problems]))


def _atomic(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = cpu or platform.processor() or "unknown CPU"
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores"


def _device() -> str:
    try:
        import torch

        if presets.device().type == "cuda":
            return torch.cuda.get_device_name()
    except Exception:  # noqa: BLE001 - a provenance string must never break a notebook
        pass
    return "cpu"


# ------------------------------------------------------------------- reading claims
def _read(p: Path) -> tuple[dict | None, list[dict]]:
    obj = json.loads(p.read_text())
    if isinstance(obj, list):  # the old format: a bare list of rows
        return None, obj
    if not isinstance(obj, dict) or "claims" not in obj:
        raise ValueError(f"{p} is not a claims file (expected {{'meta', 'claims'}})")
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
            info = json.loads(run.read_text())
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


# ----------------------------------------------------------------------- baseline
def baseline_mode() -> str:
    """``FREQLEARN_BASELINE``: ``check``, ``warn`` (default) or ``off``."""
    mode = os.environ.get("FREQLEARN_BASELINE", "").strip().lower() or "warn"
    if mode not in BASELINE_MODES:
        raise ValueError(f"FREQLEARN_BASELINE={mode!r}; use one of {', '.join(BASELINE_MODES)}")
    return mode


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
        baseline = json.loads(bp.read_text())
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
    default it is read from ``tests/baselines/quick.json``. Drift: ``|new − value| >
    band``, a changed verdict, a claim added or removed, a notebook without a baseline.
    Returns ``[]`` when nothing drifted (and outside a checkout).
    """
    return [t for _, t in _baseline_problems(rows, baseline)]


def _dirs(dirs) -> dict[str, Path]:
    if dirs is None:
        return {"default": claims_dir()}
    if isinstance(dirs, (str, os.PathLike)):
        return {"default": Path(dirs)}
    if not dirs:
        raise ValueError("dirs must name at least one claims dir")
    return {str(k): Path(v) for k, v in dirs.items()}


def update_baseline(dirs=None, path=None) -> Path:
    """Record the quick-preset claims of ``dirs`` (variant name → claims dir; the first is
    the default variant) as the baseline, with each claim's spread and drift band.

    Raises ``ValueError`` listing every claim whose verdict, presence, or boolean/string
    value differs between variants (such a claim is not portable: make it sound first).
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------- seeds and records
def _git(*args) -> str | None:
    root = repo_root() or Path.cwd()
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _commit() -> str:
    head = _git("rev-parse", "HEAD")
    if not head:
        return "unknown"
    return head + ("+dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")


def _default_out(*parts) -> Path:
    return (repo_root() or Path.cwd()).joinpath(*parts)


def record_seeds(dirs, out=None) -> list[str]:
    """Write the seeds record (default ``records/seeds/quick.json``) from ``dirs`` (seed
    name → claims dir of a quick-preset run; the first is the default seed).

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
    record: dict = {"_provenance": {
        "commit": _commit(), "date": _utc_now(), "seeds": names,
        "notebook_sha256": {nb: notebook_sha256(nb) for nb in nbs},
        "code_sha256": {nb: notebook_code_sha256(nb) for nb in nbs}}}
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
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return disagree


def _versions() -> dict:
    import numpy

    try:
        import torch

        tv = torch.__version__
    except ImportError:  # pragma: no cover
        tv = None
    return {"torch": tv, "numpy": numpy.__version__, "python": platform.python_version()}


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
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic(path, {"provenance": prov, "claims": list(rs.values())})
        written.append(path)
    return written


def load_paper_records(directory=None) -> dict[str, dict]:
    """notebook → ``{"provenance", "claims"}`` from ``records/paper`` (empty if none)."""
    d = Path(directory) if directory else _default_out("records", "paper")
    out = {}
    for p in sorted(d.rglob("*.json")) if d.exists() else []:
        obj = json.loads(p.read_text())
        rows = [_normalise(r) for r in obj.get("claims", [])]
        if rows:
            out[rows[0]["notebook"]] = {"provenance": obj.get("provenance", {}), "claims": rows}
    return out


def load_seeds_record(path=None) -> dict:
    """The seeds record (``records/seeds/quick.json``), or ``{}`` if there is none."""
    p = Path(path) if path else _default_out("records", "seeds", "quick.json")
    return json.loads(p.read_text()) if p.exists() else {}


# ------------------------------------------------------------------------ scoreboard
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


def _null_cell(r: dict) -> str:
    n = r.get("null")
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
    notebook]], "drift": [str]}``.
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
                            _expected_cell(r), _null_cell(r), qv, pv, nb])
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
    status = {s: len(out[s]) for s in STATUSES}
    nbs = {r["notebook"] for r in rows}
    out["summary"] = (
        f"{len(rows)} claims from {len(nbs)} notebooks at preset "
        f"{', '.join(build) or '(none)'}: {counts['PASS']} PASS, {counts['DIFFERS']} DIFFERS "
        f"(declared known discrepancies), {counts['FAIL']} FAIL. Of {len(order)} checks: "
        f"{status['reproduced']} reproduced on the paper's data at the paper's scale, "
        f"{status['tested']} tested on a stand-in, synthetic data or at reduced scale, "
        f"{status['identity']} identity checks; {len(paper)} notebooks have a recorded "
        "paper-preset run.")
    return out


def scoreboard_markdown(rows: list[dict], **kw) -> str:
    """The scoreboard as Markdown tables (``python -m freqlearn.claims show``)."""
    sb = scoreboard_rows(rows, **kw)
    head = ["ID", "claim", "data", "measured", "expected / tolerance", "null",
            "quick verdict", "paper verdict", "notebook"]
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


# ------------------------------------------------------------------------------ CLI
_USAGE = """usage: python -m freqlearn.claims COMMAND ...
  baseline NAME=DIR [NAME=DIR ...]  record tests/baselines/quick.json from claims dirs of
                                    numerical variants (the first is the default)
  check DIR                         compare a claims dir with the baseline (exit 1 on drift)
  seeds SEED=DIR [SEED=DIR ...]     write records/seeds/quick.json (exit 1 if verdicts differ;
                                    the first is the default seed)
  record DIR                        copy a paper-preset run to records/paper/ with provenance
  show                              print the scoreboard of the current claims dir
Relative paths are taken from the repository root."""


def _pairs(args: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for a in args:
        name, sep, d = a.partition("=")
        if not sep or not name or not d:
            raise SystemExit(f"expected NAME=DIR, got {a!r}\n{_USAGE}")
        out[name] = _from_root(d)
    if not out:
        raise SystemExit(f"expected at least one NAME=DIR\n{_USAGE}")
    return out


def main(argv=None) -> int:
    """The command line; returns the exit status (see ``_USAGE``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    if cmd == "baseline":
        print(f"baseline written to {update_baseline(_pairs(args))}")
        return 0
    if cmd == "check" and len(args) == 1:
        d = _from_root(args[0])
        rows = _by_notebook([r for r in load_all(d) if r["preset"] == "quick"])
        if not rows:
            print(f"no quick-preset claims under {d}", file=sys.stderr)
            return 1
        problems = []
        for nb, rs in sorted(rows.items()):
            problems += [f"{nb}: {t}" for t in check_against_baseline(list(rs.values()))]
        for p in problems:
            print(p)
        n = sum(len(rs) for rs in rows.values())
        print(f"{d}: {n} claims of {len(rows)} notebooks checked against the baseline: "
              + (f"{len(problems)} problem(s)" if problems else "all within their bands"))
        return 1 if problems else 0
    if cmd == "seeds":
        dirs = _pairs(args)
        disagree = record_seeds(dirs)
        for t in disagree:
            print(t)
        print(f"seeds record written ({len(dirs)} seeds): "
              + (f"{len(disagree)} claim(s) differ across seeds" if disagree
                 else "every verdict agrees"))
        return 1 if disagree else 0
    if cmd == "record" and len(args) == 1:
        for p in record_run(_from_root(args[0])):
            print(f"recorded {p}")
        return 0
    if cmd == "show" and not args:
        print(scoreboard_markdown(load_all(), seeds=load_seeds_record(),
                                  paper=load_paper_records()))
        return 0
    print(_USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""The verdicts: :class:`Claims`, the comparators that record one claim each, and the
values they take (:class:`Stat`, :class:`Null`, :class:`Explanation`).

A claim's verdict is one of four outcomes:

- ``PASS``         — the measured value meets the expectation within the tolerance, beats
  its null (when it has one) and beats its trivial explanation (when it names one);
- ``INCONCLUSIVE`` — it meets the expectation and beats its null, but the named trivial
  explanation gives the same value at this scale (it is not beaten by its margin): the run
  cannot separate the paper's mechanism from it. Also every row whose comparison rests on
  a **censored** time, mode or threshold (one never reached within the run's budget:
  ``censored="..."``), whatever its check gives: what was never reached is never
  "later", "faster" or "slower"; and every row whose run is shown, by a calibration, to be
  too small to decide it (``unresolved="..."``: e.g. a fit that cannot tell N² from N³ over
  the range run). Never a ``PASS``, not a failure either;
- ``DIFFERS``      — it does not meet the expectation (or does not beat its null), and the
  notebook declared this a known discrepancy with a reason (a finding of the reproduction,
  discussed in the chapter index);
- ``FAIL``         — it does not, and nothing was declared. A **non-finite** measured,
  expected, null or explanation value (NaN, ±inf, also inside a :class:`Stat`) is a
  ``FAIL`` whatever else was declared.

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

Uncertainty, nulls and explanations
-----------------------------------
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

A claim that compares may also name its :class:`Explanation`: the strongest trivial
explanation a skeptical referee would give (the data alone, the early-time profile, the
untrained net, shuffled labels, a blur, the data's own power spectrum). It is beaten by the
same rule as the null, and strictly: the difference must be ≥ its margin *and* > 0, so a
measurement equal to its explanation never beats it. Not beating it makes a claim that
would pass ``INCONCLUSIVE`` (the reason says "at this scale … gives the same value"); a
claim that fails its own check or its null stays ``FAIL``/``DIFFERS``.
"""

from __future__ import annotations

import math
import os
import platform
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import presets, store
from .paths import (
    _check_name,
    _device,
    _inside,
    _machine,
    _utc_now,
    claims_dir,
    notebook_sha256,
)

VERDICTS = ("PASS", "INCONCLUSIVE", "DIFFERS", "FAIL")
KINDS = ("result", "identity")
DATA = ("paper", "stand-in", "synthetic", "none")
SCALES = ("paper", "reduced")
STATUSES = ("reproduced", "tested", "identity")
_NONFINITE_WORD = re.compile(r"(?<![a-z])(nan|-?inf|infinity)(?![a-z])", re.I)
#: what a claims file's damage tells the reader to do
CLAIMS_FIX = "Delete it and re-run its notebook (`make book` rewrites it)."


class ClaimsFailed(AssertionError):
    """Raised by :meth:`Claims.report` when a claim FAILs."""


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
class _Trivial:
    """What a trivial model gets (the shared fields and checks of :class:`Null` and
    :class:`Explanation`)."""

    value: object
    what: str
    margin: float = 0.0
    better: str | None = None

    def __post_init__(self):
        kind = type(self).__name__
        if not isinstance(self.what, str) or not self.what.strip():
            raise ValueError(f"{kind} needs `what`, a non-empty description of the trivial "
                             f"model (e.g. 'untrained net'); got {self.what!r}")
        self.value = _measure(self.value, f"{kind} value", self.what)
        self.margin = _tol(self.margin, f"{kind} margin")
        if self.better not in (None, "higher", "lower"):
            raise ValueError(f"{kind} better must be 'higher', 'lower' or None; "
                             f"got {self.better!r}")

    def record(self, beaten: bool) -> dict:
        """The row's JSON of it: what, value, se, n, margin, better, beaten."""
        v = self.value
        return {"what": self.what, "value": _num(_mean(v)),
                "se": _num(v.se) if isinstance(v, Stat) else None,
                "n": v.n if isinstance(v, Stat) else None,
                "margin": _num(self.margin), "better": self.better, "beaten": bool(beaten)}


@dataclass
class Null(_Trivial):
    """The null of a comparative claim: the value a trivial model gets.

    ``what`` names it ("random RF centres", "untrained net", "low-pass kernel", "shuffled
    labels"); ``value`` is a number or a :class:`Stat`; the claim must beat it by
    ``margin`` (≥ 0); ``better`` (``"higher"``/``"lower"``) is needed by ``holds`` and
    ``between`` and may not contradict ``at_least``/``at_most``. Not beating it is a
    ``FAIL`` (or ``DIFFERS`` when declared).
    """


@dataclass
class Explanation(_Trivial):
    """The strongest trivial explanation a skeptical referee would give of a claim (the
    data alone, the early-time profile, the untrained net, shuffled labels, a blur, the
    data's own power spectrum), and the value it gets at this scale.

    Same fields and checks as :class:`Null`. A claim whose own check passes and which
    beats its null but does not beat this by ``margin`` (strictly: an equal value never
    beats it) is ``INCONCLUSIVE``: the run cannot separate the paper's mechanism from the
    explanation, so it is never a ``PASS``.
    """


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
    explanation: dict | None = None
    censored: str | None = None
    unresolved: str | None = None

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
    """Fill the fields an old-format row lacks (kind, data, scale, status, …).

    ``explanation`` and ``censored`` stay absent where a row names none (as
    :meth:`Claims.to_json` writes them, so a row read back equals the row written): read
    them with ``r.get("explanation")``, ``r.get("censored")``.
    """
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
             finite, kind, data, null, null_ok, drift_rtol, expected_json=None,
             explanation=None, censored=None, unresolved=None):
        """Record one row. The verdict: ``FAIL`` when anything is non-finite; else
        ``INCONCLUSIVE`` when the comparison rests on a censored quantity; else
        ``DIFFERS``/``FAIL`` when the own check fails or the null is not beaten; else
        ``INCONCLUSIVE`` when the explanation is not beaten; else ``PASS``."""
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
        expl_finite, expl_ok = True, True
        if explanation is not None:
            expl_finite = _finite(explanation.value)
            expl_ok = self._beats(check, measured, explanation, expected, strict=True)
        if censored is not None and (not isinstance(censored, str) or not censored.strip()):
            raise ValueError(f"censored must be None or a non-empty description of what was "
                             f"never reached (claim {id} {claim!r}); got {censored!r}")
        if unresolved is not None and (not isinstance(unresolved, str)
                                       or not unresolved.strip()):
            raise ValueError(f"unresolved must be None or a non-empty description of why the "
                             f"run cannot decide (claim {id} {claim!r}); got {unresolved!r}")
        if not finite or not expl_finite:
            verdict = "FAIL"
            reason = ("non-finite measurement" if not finite
                      else f"non-finite value of the explanation {explanation.what}") + (
                " (a declared known discrepancy does not cover it)" if known else "")
        elif censored or unresolved:
            verdict = "INCONCLUSIVE"
            reason = "; ".join(
                [f"censored: {censored}; what is never reached within the run is never "
                 "later, faster or slower"] * bool(censored)
                + [f"not resolved at this scale: {unresolved}"] * bool(unresolved)) + (
                f"; declared a known discrepancy: {known}" if known else "")
        elif ok and null_ok and expl_ok:
            verdict = "PASS"
            reason = f"declared a known discrepancy, but it passed: {known}" if known else ""
        elif ok and null_ok:
            verdict = "INCONCLUSIVE"
            same = (f"at this scale {explanation.what} gives the same value "
                    f"({_fmt(_num(_mean(explanation.value)))})")
            reason = same + (f"; declared a known discrepancy: {known}" if known else "")
        else:
            verdict = "DIFFERS" if known else "FAIL"
            reason = "; ".join(s for s in (known, null_msg) if s)
        nrec = erec = None
        if null is not None:
            nrec = null.record(beaten=finite and null_ok)
            tolerance += f"; beats {null.what} by ≥ {null.margin:g}"
        if explanation is not None:
            erec = explanation.record(beaten=finite and expl_finite and expl_ok)
            tolerance += f"; beats the explanation {explanation.what}" + (
                f" by ≥ {explanation.margin:g}" if explanation.margin else "")
        row = Claim(id=id, claim=claim, measured=_num(_mean(measured))
                    if not isinstance(measured, (bool, str)) else measured,
                    expected=expected_json if expected_json is not None else _num(expected),
                    tolerance=tolerance, verdict=verdict, preset=self.preset,
                    notebook=self.notebook, reason=reason, check=check, kind=kind, data=data,
                    scale=scale, seed=self.seed, status=_status(kind, data, scale),
                    tol_scale=_num(tol_scale) if math.isfinite(tol_scale) else 0.0,
                    uncertainty=measured.to_dict() if isinstance(measured, Stat) else None,
                    null=nrec, drift_rtol=drift_rtol, explanation=erec, censored=censored,
                    unresolved=unresolved)
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
    def _null(null, check, where, cls=Null, arg="null"):
        """``null`` (or, with ``cls=Explanation``, an explanation) checked against the
        comparator ``check``; ``None`` passes through."""
        if null is None:
            return None
        kind = cls.__name__
        if not isinstance(null, cls):
            raise TypeError(f"{arg} ({where}) must be a freqlearn.claims.{kind}; "
                            f"got {type(null).__name__}")
        implied = {"at_least": "higher", "at_most": "lower"}.get(check)
        if implied and null.better not in (None, implied):
            raise ValueError(f"{arg} better={null.better!r} contradicts {check}() ({where}): "
                             f"a {check} claim is better when {implied}")
        if check in ("holds", "between") and null.better is None:
            article = "an" if arg == "explanation" else "a"
            raise ValueError(f"{check}() with {article} {arg} needs "
                             f"{kind}(better='higher' or 'lower') ({where})")
        return null

    @staticmethod
    def _explanation(explanation, check, where):
        return Claims._null(explanation, check, where, Explanation, "explanation")

    @staticmethod
    def _beats(check, m, null, expected=None, strict=False) -> bool:
        """Whether ``m`` beats ``null`` (a :class:`Null` or :class:`Explanation`) by its
        margin; ``strict`` (explanations) also needs a difference > 0, so that an equal
        value never beats it."""
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
            diff = near - far
        elif better == "higher":
            diff = _lo(m) - _hi(v)
        else:
            diff = _lo(v) - _hi(m)
        return diff >= margin and (diff > 0 or not strict)

    def close(self, id, claim, *, measured, expected, rtol=None, atol=None, drift_rtol=None,
              kind="result", data=None, null=None, explanation=None, censored=None,
              unresolved=None):
        """PASS when ``|mean(measured) − expected| ≤ atol + rtol·|expected|`` (give one or both).

        A :class:`Stat`'s standard error is recorded, not used (it never widens the
        tolerance). An ``explanation`` without ``better=`` is beaten when the measurement is
        nearer ``expected`` than it (by its margin).
        """
        where = f"claim {id} {claim!r}"
        if rtol is None and atol is None:
            raise ValueError(f"close() needs rtol, atol or both ({where})")
        rtol = 0.0 if rtol is None else _tol(rtol, "rtol")
        atol = 0.0 if atol is None else _tol(atol, "atol")
        m = _measure(measured, "measured", where)
        e = _real(expected, "expected", where)
        null = self._null(null, "close", where)
        explanation = self._explanation(explanation, "close", where)
        finite = _finite(m) and math.isfinite(e) and (null is None or _finite(null.value))
        scale = atol + rtol * abs(e) if math.isfinite(e) else math.inf
        ok = finite and abs(_mean(m) - e) <= scale
        tol = " + ".join(s for s in (f"abs {atol:g}" if atol else "",
                                     f"rel {rtol:g}" if rtol else "") if s) or "0 (exact)"
        return self._add(id, claim, check="close", measured=m, expected=e, ok=ok,
                         tolerance=f"|Δ| ≤ {tol}", tol_scale=scale, finite=finite, kind=kind,
                         data=data, null=null, null_ok=self._beats("close", m, null, e),
                         drift_rtol=self._drift_rtol(drift_rtol), explanation=explanation,
                         censored=censored, unresolved=unresolved)

    def _bound(self, check, id, claim, measured, expected, drift_rtol, kind, data, null,
               explanation, censored=None, unresolved=None):
        where = f"claim {id} {claim!r}"
        m = _measure(measured, "measured", where)
        b = _real(expected, "expected", where)
        null = self._null(null, check, where)
        explanation = self._explanation(explanation, check, where)
        finite = _finite(m) and math.isfinite(b) and (null is None or _finite(null.value))
        ok = finite and (_hi(m) <= b if check == "at_most" else _lo(m) >= b)
        sign = "≤" if check == "at_most" else "≥"
        tol = f"{sign} {b:g}" + (f" (mean {'+' if sign == '≤' else '−'} {m.z:g}·se)"
                                  if isinstance(m, Stat) else "")
        return self._add(id, claim, check=check, measured=m, expected=b, ok=ok, tolerance=tol,
                         tol_scale=abs(b), finite=finite, kind=kind, data=data, null=null,
                         null_ok=self._beats(check, m, null),
                         drift_rtol=self._drift_rtol(drift_rtol), explanation=explanation,
                         censored=censored, unresolved=unresolved)

    def at_most(self, id, claim, *, measured, expected, drift_rtol=None, kind="result",
                data=None, null=None, explanation=None, censored=None, unresolved=None):
        """PASS when ``measured ≤ expected`` (the bound); for a Stat, ``mean + z·se ≤ bound``."""
        return self._bound("at_most", id, claim, measured, expected, drift_rtol, kind, data,
                           null, explanation, censored, unresolved)

    def at_least(self, id, claim, *, measured, expected, drift_rtol=None, kind="result",
                 data=None, null=None, explanation=None, censored=None, unresolved=None):
        """PASS when ``measured ≥ expected`` (the bound); for a Stat, ``mean − z·se ≥ bound``."""
        return self._bound("at_least", id, claim, measured, expected, drift_rtol, kind, data,
                           null, explanation, censored, unresolved)

    def between(self, id, claim, *, measured, low, high, drift_rtol=None, kind="result",
                data=None, null=None, explanation=None, censored=None, unresolved=None):
        """PASS when ``low ≤ measured ≤ high`` (a Stat's whole ``mean ± z·se`` inside).

        ``expected`` is recorded as ``"[low, high]"``. A ``null`` or ``explanation`` needs
        ``better=``.
        """
        where = f"claim {id} {claim!r}"
        m = _measure(measured, "measured", where)
        lo, hi = _real(low, "low", where), _real(high, "high", where)
        if lo > hi:
            raise ValueError(f"between() needs low ≤ high ({where}); got low={lo:g}, "
                             f"high={hi:g}")
        null = self._null(null, "between", where)
        explanation = self._explanation(explanation, "between", where)
        finite = (_finite(m) and math.isfinite(lo) and math.isfinite(hi)
                  and (null is None or _finite(null.value)))
        ok = finite and lo <= _lo(m) and _hi(m) <= hi
        return self._add(id, claim, check="between", measured=m, expected=None, ok=ok,
                         tolerance=f"in [{lo:g}, {hi:g}]", tol_scale=hi - lo, finite=finite,
                         kind=kind, data=data, null=null,
                         null_ok=self._beats("between", m, null),
                         drift_rtol=self._drift_rtol(drift_rtol),
                         expected_json=f"[{lo:g}, {hi:g}]", explanation=explanation,
                         censored=censored, unresolved=unresolved)

    def holds(self, id, claim, *, value: bool, measured=None, kind="result", data=None,
              null=None, explanation=None, censored=None, unresolved=None):
        """PASS when the boolean ``value`` is true (a qualitative claim, e.g. an ordering).

        ``measured`` may carry a number (or a Stat) that explains it — recorded and
        baseline-checked, and a non-finite one is a ``FAIL`` — or a descriptive string
        (a string showing ``nan``/``inf`` is a ``FAIL`` too). A ``null`` or an
        ``explanation`` needs ``better=`` and a numeric ``measured``.
        """
        if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):
            raise TypeError("holds() takes a bool; compare numbers with close/at_least/...")
        where = f"claim {id} {claim!r}"
        null = self._null(null, "holds", where)
        explanation = self._explanation(explanation, "holds", where)
        if measured is None or isinstance(measured, bool) or type(measured).__name__ in (
                "bool_", "bool"):
            m = bool(value) if measured is None else bool(measured)
            finite = True
        elif isinstance(measured, str):
            m, finite = measured, not _NONFINITE_WORD.search(measured)
        else:
            m = _measure(measured, "measured", where)
            finite = _finite(m)
        for what, given in (("a null", null), ("an explanation", explanation)):
            if given is not None and isinstance(m, (bool, str)):
                raise TypeError(f"holds() with {what} needs a numeric measured ({where}); "
                                f"got {m!r}")
        if null is not None:
            finite = finite and _finite(null.value)
        beats = self._beats("holds", m, null) if null is not None else True
        return self._add(id, claim, check="holds", measured=m, expected=True,
                         ok=finite and bool(value), tolerance="must hold", tol_scale=0.0,
                         finite=finite, kind=kind, data=data, null=null, null_ok=beats,
                         drift_rtol=None, explanation=explanation, censored=censored,
                         unresolved=unresolved)

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
        """The rows as JSON objects. A row that names no explanation (or no censoring) leaves
        the field out (so the files of such claims read as before; readers take a missing
        one as none)."""
        out = [asdict(r) for r in self.rows]
        for r in out:
            for k in ("explanation", "censored", "unresolved"):
                if r[k] is None:
                    del r[k]
        return out

    def meta(self) -> dict:
        """The deterministic header of the JSON file (no wall time, no machine)."""
        return {"notebook": self.notebook, "preset": self.preset, "seed": self.seed,
                "notebook_sha256": notebook_sha256(self.notebook)}

    def write(self) -> Path:
        """Write ``<claims dir>/<notebook>.json`` and ``<notebook>.run.json``; return the first."""
        cdir = claims_dir()
        path = _inside(cdir / f"{self.notebook}.json", cdir, self.notebook)
        store.write_json(path, {"meta": self.meta(), "claims": self.to_json()})
        store.write_json(path.with_name(path.name[:-len(".json")] + ".run.json"), {
            "notebook": self.notebook, "wall_s": round(time.time() - self.started, 3),
            "finished": _utc_now(), "machine": _machine(), "device": _device(),
            "reused": presets.reused()})
        if self.benchmarks:
            bdir = cdir.parent / "benchmarks"
            bpath = _inside(bdir / f"{self.notebook}.json", bdir, self.notebook)
            store.write_json(bpath, self.benchmarks)
        return path

    def report(self) -> None:
        """Print the table, check the baseline, write the JSON; raise on FAIL (or drift
        when ``FREQLEARN_BASELINE=check``). ``INCONCLUSIVE`` and ``DIFFERS`` never raise."""
        # the baseline reads claims files, which are read into rows made here: import late
        from .baseline import BaselineDrift, _baseline_problems, _drift_message, baseline_mode

        if not self.rows:
            raise ClaimsFailed(f"{self.notebook}: no claims were recorded")
        print(f"Claims of {self.notebook} at preset {self.preset} (seed {self.seed}):\n")
        print(self.table())
        counts = {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}
        # the three outcomes in their established order, then the fourth
        print("\n" + ", ".join(f"{counts[v]} {v}" for v in ("PASS", "DIFFERS", "FAIL"))
              + f", {counts['INCONCLUSIVE']} INCONCLUSIVE")
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



"""The claims check that ends every notebook, and the scoreboard (catalog X2; DESIGN.md §2).

A notebook records each reproduced result as a *claim*: catalog ID, what is claimed, the
measured value, the expected value, a tolerance and a verdict:

- ``PASS``    — the measured value meets the expectation within the tolerance;
- ``DIFFERS`` — it does not, and the notebook declared this a known discrepancy with a
  reason (a finding of the reproduction, discussed in the chapter index);
- ``FAIL``    — it does not, and nothing was declared.

The notebook's last cell calls :meth:`Claims.report`, which prints the table, writes the
claims as JSON to ``_build/claims/<notebook>.json`` (read by ``book/scoreboard.md``),
compares the measured values with the regression baseline ``tests/baselines/quick.json``
and raises on any ``FAIL`` or baseline drift.

Usage::

    claims = fl.claims.Claims("toolkit/fourier")
    claims.close("P1", "Q is unitary", measured=err, expected=0.0, atol=1e-10)
    claims.at_least("X1", "FFT speed-up", measured=speedup, expected=20)
    claims.report()
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import presets

__all__ = ["Claim", "Claims", "ClaimsFailed", "BaselineDrift", "repo_root", "claims_dir",
           "load_all", "baseline_path", "update_baseline", "check_against_baseline",
           "DEFAULT_DRIFT_RTOL"]

VERDICTS = ("PASS", "DIFFERS", "FAIL")
#: relative change of a measured value, against the baseline, that counts as drift
DEFAULT_DRIFT_RTOL = 1e-3
#: absolute slack under which values are equal whatever their relative change (zeros)
DEFAULT_DRIFT_ATOL = 1e-9


class ClaimsFailed(AssertionError):
    """Raised by :meth:`Claims.report` when a claim FAILs."""


class BaselineDrift(AssertionError):
    """Raised when a measured value moved from its recorded baseline."""


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
    """Where claims JSON goes: ``<root>/_build/claims`` (or ``./_build/claims``)."""
    root = repo_root() or Path.cwd()
    return root / "_build" / "claims"


def baseline_path() -> Path | None:
    root = repo_root()
    return None if root is None else root / "tests" / "baselines" / "quick.json"


def _num(x):
    """A JSON-friendly, reproducible number: 12 significant digits, or bool/None/str."""
    if x is None or isinstance(x, (bool, str)):
        return x
    try:
        import numpy as np

        if isinstance(x, np.generic):
            x = x.item()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, bool):
        return x
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return float(f"{x:.12g}")


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
    drift_rtol: float = DEFAULT_DRIFT_RTOL

    def row(self) -> list[str]:
        return [self.id, self.claim, _fmt(self.measured), _fmt(self.expected),
                self.tolerance, self.verdict + (f" ({self.reason})" if self.reason else "")]


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@dataclass
class Claims:
    """The claims of one notebook; ``notebook`` is its path under ``book/`` without suffix."""

    notebook: str
    preset: str = field(default_factory=lambda: presets.current().name)
    rows: list[Claim] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=dict)
    benchmarks: list[dict] = field(default_factory=list)

    def __post_init__(self):
        if not self.notebook or self.notebook.startswith("/") or self.notebook.endswith(".md"):
            raise ValueError(
                f"notebook must be the path under book/ without suffix, e.g. 'toolkit/fourier';"
                f" got {self.notebook!r}")

    # -- declaring known discrepancies ------------------------------------------------
    def known_discrepancy(self, id: str, claim: str, reason: str) -> None:
        """Declare, *before* checking, that claim ``(id, claim)`` is expected to differ.

        If the check then fails its verdict is ``DIFFERS`` with ``reason``; if it passes,
        the verdict is ``PASS`` and the declaration is noted in the row's reason.
        """
        if not reason.strip():
            raise ValueError("a known discrepancy needs a reason")
        self.known[f"{id}|{claim}"] = reason

    # -- recording ----------------------------------------------------------------------
    def _add(self, id, claim, measured, expected, ok: bool, tolerance: str, drift_rtol):
        if not id or not claim:
            raise ValueError("every claim needs a catalog id and a statement")
        if any(r.id == id and r.claim == claim for r in self.rows):
            raise ValueError(f"claim {id!r} / {claim!r} recorded twice")
        reason = self.known.get(f"{id}|{claim}", "")
        if ok:
            verdict = "PASS"
            reason = f"declared a known discrepancy, but it passed: {reason}" if reason else ""
        else:
            verdict = "DIFFERS" if reason else "FAIL"
        row = Claim(id=id, claim=claim, measured=_num(measured), expected=_num(expected),
                    tolerance=tolerance, verdict=verdict, preset=self.preset,
                    notebook=self.notebook, reason=reason,
                    drift_rtol=DEFAULT_DRIFT_RTOL if drift_rtol is None else float(drift_rtol))
        self.rows.append(row)
        return row

    def close(self, id, claim, *, measured, expected, rtol=None, atol=None, drift_rtol=None):
        """PASS when ``|measured - expected| ≤ atol + rtol·|expected|`` (give one or both)."""
        if rtol is None and atol is None:
            raise ValueError("close() needs rtol, atol or both")
        rtol = 0.0 if rtol is None else float(rtol)
        atol = 0.0 if atol is None else float(atol)
        m, e = float(measured), float(expected)
        ok = math.isfinite(m) and abs(m - e) <= atol + rtol * abs(e)
        tol = " + ".join(s for s in (f"abs {atol:g}" if atol else "",
                                     f"rel {rtol:g}" if rtol else "") if s)
        return self._add(id, claim, m, e, ok, f"|Δ| ≤ {tol}", drift_rtol)

    def at_most(self, id, claim, *, measured, expected, drift_rtol=None):
        """PASS when ``measured ≤ expected`` (``expected`` is the bound)."""
        m = float(measured)
        return self._add(id, claim, m, expected, math.isfinite(m) and m <= float(expected),
                         f"≤ {float(expected):g}", drift_rtol)

    def at_least(self, id, claim, *, measured, expected, drift_rtol=None):
        """PASS when ``measured ≥ expected`` (``expected`` is the bound)."""
        m = float(measured)
        return self._add(id, claim, m, expected, math.isfinite(m) and m >= float(expected),
                         f"≥ {float(expected):g}", drift_rtol)

    def between(self, id, claim, *, measured, low, high, drift_rtol=None):
        """PASS when ``low ≤ measured ≤ high``; ``expected`` is recorded as ``[low, high]``."""
        m = float(measured)
        return self._add(id, claim, m, f"[{float(low):g}, {float(high):g}]",
                         math.isfinite(m) and float(low) <= m <= float(high),
                         "interval", drift_rtol)

    def holds(self, id, claim, *, value: bool, measured=None):
        """PASS when the boolean ``value`` is true (a qualitative claim, e.g. an ordering).

        ``measured`` may carry a number that explains it (recorded and baseline-checked).
        """
        if not isinstance(value, bool) and type(value).__name__ not in ("bool_", "bool"):
            raise TypeError("holds() takes a bool; compare numbers with close/at_least/...")
        return self._add(id, claim, bool(value) if measured is None else measured, True,
                         bool(value), "must hold", None)

    def benchmark(self, what: str, value: float, unit: str) -> float:
        """Record a wall-clock measurement (not a claim: it varies from run to run).

        Benchmarks go to ``_build/benchmarks/<notebook>.json`` and appear on the
        scoreboard in their own table; they are never compared with the baseline.
        """
        import platform

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

    def write(self) -> Path:
        """Write ``_build/claims/<notebook>.json``; return its path."""
        path = claims_dir() / f"{self.notebook}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")
        tmp.replace(path)
        if self.benchmarks:
            bpath = claims_dir().parent / "benchmarks" / f"{self.notebook}.json"
            bpath.parent.mkdir(parents=True, exist_ok=True)
            bpath.write_text(json.dumps(self.benchmarks, indent=1, ensure_ascii=False) + "\n")
        return path

    def report(self) -> None:
        """Print the table, write the JSON, check the baseline; raise on FAIL or drift."""
        if not self.rows:
            raise ClaimsFailed(f"{self.notebook}: no claims were recorded")
        print(f"Claims of {self.notebook} at preset {self.preset}:\n")
        print(self.table())
        counts = {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}
        print("\n" + ", ".join(f"{n} {v}" for v, n in counts.items()))
        self.write()
        failed = [r for r in self.rows if r.verdict == "FAIL"]
        if failed:
            raise ClaimsFailed(
                f"{len(failed)} claim(s) FAILED in {self.notebook}: "
                + "; ".join(f"{r.id} {r.claim!r} measured {r.measured} vs {r.expected}"
                            for r in failed))
        if self.preset == "quick" and os.environ.get("FREQLEARN_BASELINE", "check") == "check":
            check_against_baseline(self.to_json())


# ---------------------------------------------------------------- scoreboard & baseline
def load_all(directory: str | os.PathLike | None = None) -> list[dict]:
    """All claims rows under ``_build/claims`` (sorted by notebook, then recording order)."""
    d = Path(directory) if directory else claims_dir()
    rows: list[dict] = []
    for p in sorted(d.rglob("*.json")):
        rows.extend(json.loads(p.read_text()))
    return rows


def _key(r: dict) -> str:
    return f"{r['id']}|{r['claim']}"


def _drifted(base, new, rtol: float) -> bool:
    if isinstance(base, bool) or isinstance(new, bool) or not (
            isinstance(base, (int, float)) and isinstance(new, (int, float))):
        return base != new
    return abs(new - base) > DEFAULT_DRIFT_ATOL + rtol * abs(base)


def check_against_baseline(rows: list[dict], baseline: dict | None = None) -> None:
    """Raise :class:`BaselineDrift` if a row's measured value moved from the baseline.

    ``baseline`` maps notebook → {``id|claim`` → measured}; by default it is read from
    ``tests/baselines/quick.json``. A notebook missing from the baseline is an error too
    (run ``make baseline`` deliberately to record it); so is a claim added or removed.
    """
    if not rows:
        return
    if baseline is None:
        bp = baseline_path()
        if bp is None:  # outside a checkout (Colab): nothing to compare with
            return
        if not bp.exists():
            raise BaselineDrift(f"no baseline at {bp}; record one with `make baseline`")
        baseline = json.loads(bp.read_text())
    nb = rows[0]["notebook"]
    if nb not in baseline:
        raise BaselineDrift(f"{nb} has no baseline; record it deliberately with `make baseline`")
    base = baseline[nb]
    problems = []
    now = {_key(r): r for r in rows}
    for k in sorted(set(base) - set(now)):
        problems.append(f"claim {k!r} is in the baseline but was not measured")
    for k, r in now.items():
        if k not in base:
            problems.append(f"claim {k!r} is new (not in the baseline)")
        elif _drifted(base[k], r["measured"], r.get("drift_rtol", DEFAULT_DRIFT_RTOL)):
            problems.append(f"claim {k!r}: measured {r['measured']} vs baseline {base[k]} "
                            f"(allowed relative drift {r.get('drift_rtol', DEFAULT_DRIFT_RTOL):g})")
    if problems:
        raise BaselineDrift(f"{nb} drifted from tests/baselines/quick.json:\n  - "
                            + "\n  - ".join(problems)
                            + "\nIf the change is intended, run `make baseline` and commit it.")


def update_baseline(directory=None, path=None) -> Path:
    """Record the quick-preset measured values under ``_build/claims`` as the baseline."""
    rows = [r for r in load_all(directory) if r["preset"] == "quick"]
    if not rows:
        raise RuntimeError("no quick-preset claims under _build/claims: run the notebooks first")
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["notebook"], {})[_key(r)] = r["measured"]
    path = Path(path) if path else baseline_path()
    if path is None:
        raise RuntimeError("not inside the book's checkout (no _toc.yml found)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def scoreboard_markdown(rows: list[dict]) -> str:
    """The scoreboard as a Markdown table (used by the book's scoreboard extension)."""
    lines = ["| ID | claim | measured | expected | tolerance | verdict | preset | notebook |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = r["verdict"] + (f": {r['reason']}" if r.get("reason") else "")
        cells = [r["id"], r["claim"], _fmt(r["measured"]), _fmt(r["expected"]),
                 r["tolerance"], verdict, r["preset"], r["notebook"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m freqlearn.claims baseline|show``."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["baseline"]:
        print(f"baseline written to {update_baseline()}")
        return 0
    if argv[:1] == ["show"]:
        print(scoreboard_markdown(load_all()))
        return 0
    print("usage: python -m freqlearn.claims baseline|show", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

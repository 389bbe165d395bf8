"""The claims check that ends every notebook, and the scoreboard (catalog X2; DESIGN.md §2).

A notebook records each reproduced result as a *claim*: catalog ID, what is claimed, the
measured value, the expected value, a tolerance and one of four verdicts — ``PASS``,
``INCONCLUSIVE`` (the check passes, but the named trivial explanation gives the same value
at this scale, so the run cannot tell the paper's mechanism from it), ``DIFFERS`` (a
declared known discrepancy) or ``FAIL``. Only ``FAIL`` stops a notebook.

What lives where:

- :mod:`~freqlearn.claims.verdicts` — :class:`Claims` and its comparators (``close``,
  ``at_least``, ``at_most``, ``between``, ``holds``), the values they take (:class:`Stat`,
  :class:`Null`, :class:`Explanation`), the verdict rules, the row (:class:`Claim`) and
  writing a notebook's claims;
- :mod:`~freqlearn.claims.paths` — the book's root, the claims dir, notebook names and
  hashes, provenance strings;
- :mod:`~freqlearn.claims.records` — reading claims back (:func:`load_all`,
  :func:`load_meta`), the seeds record and the paper-preset records;
- :mod:`~freqlearn.claims.baseline` — portable regression: drift bands, the check against
  ``tests/baselines/quick.json`` and recording it;
- :mod:`~freqlearn.claims.scoreboard` — the scoreboard's rows and its Markdown;
- :mod:`~freqlearn.claims.cli` — ``python -m freqlearn.claims baseline NAME=DIR ... |
  check DIR | seeds SEED=DIR ... | record DIR | show`` (:func:`main`).

Every file is written atomically and read back through :mod:`freqlearn.store`: a damaged
one raises :class:`freqlearn.store.StoreCorrupt` naming it and the fix.

Usage::

    claims = fl.claims.Claims("toolkit/fourier", data="none")
    claims.close("P1", "Q is unitary", measured=err, expected=0.0, atol=1e-10,
                 kind="identity")
    claims.at_least("I5", "IPR ratio", measured=fl.claims.Stat(ratios), expected=1.5,
                    null=fl.claims.Null(Stat(rand), "random RF centres", margin=0.2),
                    explanation=fl.claims.Explanation(Stat(data_only), "the data alone",
                                                      margin=0.1))
    claims.report()
"""

from __future__ import annotations

from .baseline import (
    BASELINE_MODES,
    BASELINE_RULE,
    DRIFT_K,
    DRIFT_REL_FLOOR,
    DRIFT_TOL_FRACTION,
    BaselineDrift,
    _baseline_problems,
    _floor,
    baseline_mode,
    check_against_baseline,
    read_baseline,
    update_baseline,
)
from .cli import main
from .paths import (
    baseline_path,
    claims_dir,
    code_cells,
    code_sha256,
    notebook_code_sha256,
    notebook_sha256,
    repo_root,
)
from .records import (
    _by_notebook,
    _key,
    load_all,
    load_meta,
    load_paper_records,
    load_seeds_record,
    record_run,
    record_seeds,
)
from .scoreboard import scoreboard_markdown, scoreboard_rows
from .verdicts import (
    DATA,
    KINDS,
    RECONSTRUCTIONS,
    SCALES,
    STATUSES,
    VERDICTS,
    Claim,
    Claims,
    ClaimsFailed,
    Explanation,
    Null,
    Stat,
    _fmt,
    _normalise,
    _num,
)

__all__ = ["Claim", "Claims", "Stat", "Null", "Explanation", "ClaimsFailed", "BaselineDrift",
           "repo_root", "claims_dir", "load_all", "load_meta", "baseline_path",
           "update_baseline", "check_against_baseline", "record_seeds", "record_run",
           "scoreboard_rows", "scoreboard_markdown", "main", "DRIFT_K", "BASELINE_RULE",
           "code_cells", "code_sha256", "notebook_code_sha256", "notebook_sha256",
           "load_paper_records",
           "load_seeds_record", "baseline_mode", "read_baseline", "VERDICTS", "KINDS", "DATA",
           "SCALES", "STATUSES", "BASELINE_MODES", "DRIFT_TOL_FRACTION", "DRIFT_REL_FLOOR",
           "RECONSTRUCTIONS"]
# private helpers the tests and older callers reach through the package
_PRIVATE = (_baseline_problems, _by_notebook, _floor, _fmt, _key, _normalise, _num)

"""The command line: ``python -m freqlearn.claims baseline NAME=DIR ... | check DIR |
seeds SEED=DIR ... | record DIR | show`` (the Makefile's verdict targets call :func:`main`).

A damaged file (:class:`freqlearn.store.StoreCorrupt`) or another refusal (``ValueError``,
``RuntimeError``) ends the command with its message on stderr, naming the file and the fix,
and exit status 1: never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .baseline import check_against_baseline, update_baseline
from .paths import _from_root
from .records import (
    _by_notebook,
    load_all,
    load_paper_records,
    load_seeds_record,
    record_run,
    record_seeds,
)
from .scoreboard import scoreboard_markdown

_USAGE = """usage: python -m freqlearn.claims COMMAND ...
  baseline [--merge] NAME=DIR ...   record tests/baselines/quick.json from claims dirs of
                                    numerical variants (the first is the default); --merge
                                    replaces only their notebooks and keeps the others
  check DIR                         compare a claims dir with the baseline (exit 1 on drift)
  seeds [--merge] SEED=DIR ...      write records/seeds/quick.json (exit 1 if verdicts differ;
                                    the first is the default seed; --merge as above)
  record DIR                        copy a paper-preset run to records/paper/ with provenance
  show                              print the scoreboard of the current claims dir
  results [--check]                 write (or check) README.md's results-at-a-glance table
                                    from the baseline, the seeds record and records/paper
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
    """The command line; returns the exit status (see ``_USAGE``): 0, 1 on drift, differing
    seeds or a refusal (a damaged file: its path, why and the fix, on one line of stderr),
    2 on a usage error."""
    argv = sys.argv[1:] if argv is None else list(argv)
    cmd, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        return _run(cmd, args)
    except (ValueError, RuntimeError) as e:  # StoreCorrupt is a ValueError
        print(f"error: {e}", file=sys.stderr)
        return 1


def _run(cmd: str, args: list[str]) -> int:
    merge = bool(args) and args[0] == "--merge"
    if merge:
        args = args[1:]
    if merge and cmd not in ("baseline", "seeds"):
        print(_USAGE, file=sys.stderr)
        return 2
    if cmd == "baseline":
        print(f"baseline written to {update_baseline(_pairs(args), merge=merge)}"
              + (" (other notebooks kept)" if merge else ""))
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
        disagree = record_seeds(dirs, merge=merge)
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
    if cmd == "results" and args in ([], ["--check"]):
        from .glance import update_readme
        from .paths import repo_root

        root = repo_root()
        if root is None:
            raise RuntimeError("not inside the book's checkout (no _toc.yml found)")
        fresh = update_readme(root, check=bool(args))
        if args and not fresh:
            print("README.md's results table is out of date: run `make results` and commit "
                  "it", file=sys.stderr)
            return 1
        print("README.md's results table is " + ("up to date" if fresh else "rewritten"))
        return 0
    if cmd == "show" and not args:
        print(scoreboard_markdown(load_all(), seeds=load_seeds_record(),
                                  paper=load_paper_records()))
        return 0
    print(_USAGE, file=sys.stderr)
    return 2

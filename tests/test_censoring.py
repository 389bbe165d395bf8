"""Censoring across the book: a time, mode or sample count never reached within a run is
never "later", "faster" or "slower" (issue 22 item 4, issue 21's censored rows).

Each library function that reports censoring is tested here, and so is the rule the
notebooks rely on: a comparison that rests on a censored quantity can never PASS through
the notebooks' helpers (``experiments.pinson.later_claim``, ``experiments.ricci.
censoring_note``, ``theory.pinson.censoring_note``)."""

import re
from pathlib import Path

import numpy as np
import pytest

from freqlearn.claims import Claims, Null, Stat
from freqlearn.experiments import pinson as E
from freqlearn.experiments import ricci as rx
from freqlearn.theory import pinson as th

T = np.arange(10.0)
EQUAL = Null(0.5, "equal speed (half of the trial pairs)", margin=0.25)


def ramp(t0):
    """A mode that reaches s/2 = 1/2 at t0 + 1 (never within T when t0 ≥ 9)."""
    return np.clip((T - t0) / 2, 0, 1)


def test_a_mode_never_reached_is_never_later():
    """The P7 case: a0 reached in every trial, a1 in none. The old semantics counted every
    pair as "later" (fraction 1, a PASS); now no pair is decidable."""
    a0 = np.stack([ramp(1), ramp(2), ramp(3)])
    a1 = np.stack([ramp(30)] * 3)
    r = th.later_fraction(T, a1, a0, np.ones(1))
    assert r.fraction == 0.0 and r.upper == 1.0
    assert (r.pairs, r.decidable, r.censored_late, r.censored_early) == (9, 0, 3, 0)
    assert np.isnan(r.decided) and r.involves_censoring and r.budget == 9.0
    note = r.censoring(0.75, "linear a1", "linear a0", "batches")
    assert note.startswith("linear a1 never reached s/2 within 9 batches in 3 of 3 trials")
    assert "9 of 9 trial pairs undecidable" in note and "[0.00, 1.00]" in note


def test_censoring_names_only_what_can_change_the_verdict():
    a0 = np.stack([ramp(1)] * 4)
    # three of four late trials reached later, one never: decided 0.75 already meets 0.75
    a1 = np.stack([ramp(4), ramp(5), ramp(6), ramp(30)])
    r = th.later_fraction(T, a1, a0, np.ones(1))
    assert (r.fraction, r.upper, r.decided) == (0.75, 1.0, 1.0)
    assert r.involves_censoring and r.censoring(0.75) is None
    # two of four never reached: [0.5, 1.0] straddles the bar
    a1 = np.stack([ramp(4), ramp(5), ramp(30), ramp(30)])
    r = th.later_fraction(T, a1, a0, np.ones(1))
    assert (r.fraction, r.upper) == (0.5, 1.0) and r.censoring(0.75) is not None
    # earlier where reached, never elsewhere: even counted as later it stays below the bar
    a1 = np.stack([ramp(0), ramp(0), ramp(0), ramp(30)])
    a0 = np.stack([ramp(3)] * 4)
    r = th.later_fraction(T, a1, a0, np.ones(1))
    assert (r.fraction, r.upper) == (0.0, 0.25) and r.censoring(0.75) is None
    # nothing censored: nothing to name
    r = th.later_fraction(T, a0, np.stack([ramp(0)] * 4), np.ones(1))
    assert r.fraction == 1.0 and not r.involves_censoring and r.censoring(0.75) is None


def test_ordering_fraction_leaves_out_undecidable_pairs():
    a = np.stack([[ramp(1), ramp(1)], [ramp(4), ramp(30)], [ramp(30), ramp(30)]])
    fr, n = E.ordering_fraction(T, a, np.ones(3))
    assert fr[0] == 1.0 and n[0] == 2        # the old count was 4 pairs, one never reached
    assert np.isnan(fr[1]) and n[1] == 0     # the old fraction was 1: "later or not at all"


def _later_row(a_late, a_early):
    c = Claims("t/cens", preset="quick")
    row, r = E.later_claim(c, "P7", "a1 after a0", T, a_late, a_early, np.ones(1),
                           null=EQUAL, late="a1", early="a0")
    return row, r


def test_later_claim_all_censored_is_inconclusive_not_pass():
    row, r = _later_row(np.stack([ramp(30)] * 3), np.stack([ramp(1)] * 3))
    assert row.verdict == "INCONCLUSIVE" and row.censored.startswith("a1 never reached")
    assert row.measured == 0.0
    row, _ = _later_row(np.stack([ramp(5)] * 3), np.stack([ramp(1)] * 3))
    assert row.verdict == "PASS" and row.censored is None


@pytest.mark.parametrize("seed", range(40))
def test_a_censored_comparison_never_passes_through_later_claim(seed):
    """Random onsets, some beyond the run: a PASS needs the decided pairs alone to meet the
    bar; a row whose late mode is censored in every trial is never a PASS."""
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 6)
    late = np.stack([ramp(t) for t in rng.choice([2, 4, 6, 30], size=k)])
    early = np.stack([ramp(t) for t in rng.choice([0, 1, 3, 30], size=k)])
    row, r = _later_row(late, early)
    if row.verdict == "PASS":
        assert r.fraction >= 0.75
    if r.censored_late == k or r.censored_early == k:
        assert row.verdict != "PASS"
    if row.censored is not None:
        assert row.verdict == "INCONCLUSIVE" and r.fraction < 0.75 <= r.upper


def test_censoring_note_and_half_time_ratio_at_budget():
    assert th.censoring_note([1.0, 2.0], "t", 10) is None
    assert th.censoring_note([1.0, np.nan, np.inf], "a2 half-time", 10) == (
        "a2 half-time never reached within 10 updates in 2 of 3")
    a = np.stack([np.stack([ramp(1), ramp(30)])] * 2)      # (T=2, p=2, K)
    b = np.stack([np.stack([ramp(1), ramp(3)])] * 2)
    r = th.half_time_ratio(T, a, b, np.ones(2), groups=2)
    assert r[:, 0].tolist() == [1.0, 1.0] and np.isnan(r[:, 1]).all()
    rb = th.half_time_ratio(T, a, b, np.ones(2), groups=2, at_budget=True)
    assert np.isfinite(rb).all() and rb[0, 1] == pytest.approx(9.0 / 4.0)


def _nstar(values, budget=200_000):
    v = np.array([values], float)
    return {"nstar_acc": v, "nstar_ov": v, "cs": np.array([16.0]), "n_run": budget,
            "budget": budget}


def test_best_rate_counts_censored_trials_and_the_note_names_them():
    b = rx.best_rate(_nstar([1e4, np.inf, 2e4, np.inf]), held_out=False)
    assert b["n_censored"] == 2 and b["censored"] == 0.5 and b["n_run"] == 200_000
    assert b["nstar"].tolist() == [1e4, 2e5, 2e4, 2e5]
    ok = rx.best_rate(_nstar([1e4, 3e4]), held_out=False)
    assert rx.censoring_note({"a": ok, "b": ok}) is None
    assert rx.censoring_note({"a": ok, "filtered": b}, "test accuracy 0.6") == (
        "filtered: 2 of 4 trials never reached test accuracy 0.6 within 200000 samples")
    with pytest.raises(ValueError, match="must be a result of best_rate"):
        rx.censoring_note({"a": {"nstar": [1.0]}})


def test_the_filtered_sources_case_is_inconclusive_not_a_hollow_pass():
    """R4c at quick: every filtered-source trial at the budget, so the Stat has se = 0 and
    ``0.256 ± 0 ≥ 0`` passed. With the note it is INCONCLUSIVE."""
    filt = rx.best_rate(_nstar([np.inf] * 4), held_out=False)
    matched = rx.best_rate(_nstar([1.5e5, np.inf, 1.6e5, 1.8e5]), held_out=False)
    d = np.log(filt["nstar"]) - np.log(matched["nstar"]).mean()
    assert Stat(d).se == 0.0
    c = Claims("t/r4", preset="quick")
    assert c.at_least("R4", "slower, uncensored", measured=Stat(d),
                      expected=0.0).verdict == "PASS"
    row = c.at_least("R4", "slower", measured=Stat(d), expected=0.0,
                     censored=rx.censoring_note({"filtered": filt, "matched": matched}))
    assert row.verdict == "INCONCLUSIVE"
    assert "filtered: 4 of 4 trials never reached" in row.reason
    assert "matched: 1 of 4 trials" in row.reason


# -- the book: every claim on a time-like quantity of a page names its censoring ---------------
BOOK = Path(__file__).resolve().parents[1] / "book"
#: chapters of this change (the Chowers–Weiss and Godfrey chapters are checked elsewhere)
CHAPTERS = ("pinson2023", "ingrosso-goldt2022", "ricci-merger-goldt2026", "synthesis",
            "toolkit")
#: what a measured value or check built on a time, mode or sample count reads from
TIMELIKE = re.compile(r"later_fraction|half_time|nstar|\bhc\b|\bhf\b|\bt_get\b|\bt_ipr\b|"
                      r"capped\[|\btb\[|Stat\(ratio\)|\bspeed\b|\bfilt\b|\bdelta\b|\bfB\b|\bfA\b|"
                      r"\blB\b|\bmix\[")
CALL = re.compile(r"claims\.(at_least|at_most|close|between|holds)\(")


def _claim_calls(text):
    """The argument text of every ``claims.<comparator>(...)`` call in ``text``."""
    for m in CALL.finditer(text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text[m.end():i - 1]


def _pages():
    return sorted(p for ch in CHAPTERS for p in (BOOK / ch).glob("*.md")
                  if p.name != "index.md")


@pytest.mark.parametrize("md", _pages(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_time_like_claim_of_a_page_names_its_censoring(md):
    """A claim whose measured value reads a half-time, an n*, a discovery record or a
    breakdown time passes ``censored=`` (None where nothing was censored), so a time never
    reached can never make it PASS."""
    code = "\n".join(c for i, c in enumerate(md.read_text().split("```")) if i % 2)
    bad = [args.strip().splitlines()[0] for args in _claim_calls(code)
           if TIMELIKE.search(args) and "censored=" not in args
           and 'kind="identity"' not in args]
    assert not bad, f"{md.name}: time-like claims without censored=: {bad}"


def test_the_book_scan_sees_a_claim_without_censoring(tmp_path):
    md = tmp_path / "p.md"
    md.write_text('```{code-cell} ipython3\nclaims.at_least("P7", "a1 after a0",\n'
                  '    measured=th_.later_fraction(t, a, b, s), expected=0.75)\n```\n')
    with pytest.raises(AssertionError, match="without censored="):
        test_every_time_like_claim_of_a_page_names_its_censoring(md)


def test_unresolved_at_this_scale_is_inconclusive_and_says_why():
    """A row that a calibration shows the run is too small to decide (``unresolved=``) is
    INCONCLUSIVE whatever its check gives, with its own reason (not the censoring one);
    a non-finite value still FAILs; an empty reason is refused."""
    from freqlearn.claims import Claims

    c = Claims("t/unresolved", preset="quick")
    r = c.at_least("R3", "N³ beats N² by LR ≥ 10", measured=25.0, expected=2.3,
                   unresolved="the calibration gives 6 % power at N = 16–32")
    assert r.verdict == "INCONCLUSIVE"
    assert r.reason.startswith("not resolved at this scale: the calibration")
    assert "never reached" not in r.reason
    assert c.holds("R3", "other", value=False, unresolved="too few trials").verdict == \
        "INCONCLUSIVE"
    assert c.at_least("R3", "nan", measured=float("nan"), expected=1.0,
                      unresolved="x").verdict == "FAIL"
    with pytest.raises(ValueError, match="unresolved must be"):
        c.at_least("R3", "empty", measured=1.0, expected=0.0, unresolved=" ")
    rows = {r["claim"]: r for r in c.to_json()}
    assert rows["other"]["unresolved"] == "too few trials"
    c2 = Claims("t/u2", preset="quick")
    c2.at_least("R3", "plain", measured=1.0, expected=0.0)
    assert "unresolved" not in c2.to_json()[0]      # absent where a row names none

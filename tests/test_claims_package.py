"""The claims package (``freqlearn.claims``): the fourth outcome, and its files.

1. **INCONCLUSIVE.** A claim that names its strongest trivial explanation passes only by
   beating it: a measurement equal to the explanation, or not beating it by its margin (a
   Stat by its conservative bound), is ``INCONCLUSIVE``, never ``PASS``; a failed own check
   stays ``FAIL``/``DIFFERS``; a non-finite explanation is a ``FAIL``. The outcome is
   recorded, reported without raising, counted on the scoreboard and checked by the
   baseline.
2. **Persistence.** Every claims file, baseline and record is written through
   :mod:`freqlearn.store` (two writers and a reader, a planted symlink, a kill -9 half-way)
   and read back through it (a damaged file is named with its fix, also by the command
   line); a NaN literal in a hand-edited claims file is drift.
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing as mp
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from freqlearn import claims as cl
from freqlearn import store
from freqlearn.claims import Claims, ClaimsFailed, Explanation, Null, Stat


def expl(value, margin=0.0, better=None, what="the data alone"):
    return Explanation(value, what, margin=margin, better=better)


# ------------------------------------------------------------------ the fourth outcome
#: (comparator, its arguments, a measured value that passes its own check, better=)
CHECKS = [
    ("close", dict(expected=1.0, atol=0.1), 1.0, None),
    ("at_least", dict(expected=0.8), 0.9, None),
    ("at_most", dict(expected=0.2), 0.1, None),
    ("between", dict(low=0.0, high=1.0), 0.5, "higher"),
    ("holds", dict(value=True), 3.0, "higher"),
]
IDS = [c[0] for c in CHECKS]


@pytest.mark.parametrize("method,kw,m,better", CHECKS, ids=IDS)
@pytest.mark.parametrize("margin", [0.0, 0.05])
def test_a_claim_equal_to_its_explanation_cannot_pass(method, kw, m, better, margin):
    """Own check passes, null beaten, explanation gives the same value: INCONCLUSIVE."""
    c = Claims("t/expl", preset="quick")
    assert getattr(c, method)("E", "alone", measured=m, **kw).verdict == "PASS"
    null = Null(-100.0 if method != "at_most" else 100.0, "untrained net", better=better)
    r = getattr(c, method)("E", "x", measured=m, **kw, null=null,
                           explanation=expl(m, margin, better))
    assert r.verdict == "INCONCLUSIVE"
    assert r.reason == f"at this scale the data alone gives the same value ({m:.4g})"
    assert r.null["beaten"] is True and r.explanation["beaten"] is False
    assert r.explanation == {"what": "the data alone", "value": m, "se": None, "n": None,
                             "margin": margin, "better": better, "beaten": False}
    assert "beats the explanation the data alone" in r.tolerance


#: (comparator, arguments, measured, better, an explanation beaten by ≥ 0.2, one by < 0.2)
BEATEN = [
    ("close", dict(expected=1.0, atol=0.1), 1.0, None, 0.5, 0.9),
    ("at_least", dict(expected=0.8), 0.9, None, 0.6, 0.75),
    ("at_most", dict(expected=0.2), 0.1, None, 0.5, 0.25),
    ("between", dict(low=0.0, high=1.0), 0.5, "higher", 0.2, 0.35),
    ("holds", dict(value=True), 3.0, "higher", 2.0, 2.9),
    ("holds", dict(value=True), 1.0, "lower", 2.0, 1.1),
]


@pytest.mark.parametrize("method,kw,m,better,far,near", BEATEN,
                         ids=[f"{b[0]}-{b[3]}" for b in BEATEN])
def test_beating_the_explanation_by_its_margin_passes(method, kw, m, better, far, near):
    c = Claims("t/expl", preset="quick")
    r = getattr(c, method)("E", "far", measured=m, **kw, explanation=expl(far, 0.2, better))
    assert r.verdict == "PASS" and r.reason == "" and r.explanation["beaten"] is True
    r = getattr(c, method)("E", "near", measured=m, **kw, explanation=expl(near, 0.2, better))
    assert r.verdict == "INCONCLUSIVE" and r.explanation["beaten"] is False


def test_a_stat_beats_its_explanation_only_with_its_conservative_bound():
    c = Claims("t/expl", preset="quick")
    s = Stat([0.8, 1.0])  # mean 0.9, se 0.1: mean − 2se = 0.7
    r = c.at_least("S", "a", measured=s, expected=0.5, explanation=expl(0.8))
    assert r.verdict == "INCONCLUSIVE"  # the mean beats 0.8, mean − 2se does not
    assert c.at_least("S", "b", measured=s, expected=0.5,
                      explanation=expl(0.65)).verdict == "PASS"
    # a Stat explanation is taken at its upper bound (mean + 2se = 0.8) against 0.75
    e = Explanation(Stat([0.5, 0.7]), "untrained net")
    r = c.at_least("S", "c", measured=0.75, expected=0.5, explanation=e)
    assert r.verdict == "INCONCLUSIVE"
    assert (r.explanation["n"], r.explanation["value"]) == (2, 0.6)
    assert r.explanation["se"] == pytest.approx(0.1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, Stat([1.0, math.nan])],
                         ids=["nan", "inf", "stat-nan"])
def test_a_nonfinite_explanation_fails(root, bad):
    c = Claims("t/expl", preset="quick")
    c.known_discrepancy("E", "x", "a smaller net")
    r = c.at_least("E", "x", measured=0.9, expected=0.8, explanation=expl(bad))
    assert r.verdict == "FAIL" and "non-finite value of the explanation" in r.reason
    assert r.explanation["beaten"] is False
    with pytest.raises(ClaimsFailed, match="non-finite"):
        c.report()


def test_a_failed_own_check_or_null_stays_fail_or_differs():
    c = Claims("t/expl", preset="quick")
    r = c.at_least("E", "low", measured=0.7, expected=0.8, explanation=expl(0.7))
    assert r.verdict == "FAIL"
    r = c.at_least("E", "null", measured=0.9, expected=0.8,
                   null=Null(0.95, "shuffled labels"), explanation=expl(0.9))
    assert r.verdict == "FAIL" and "does not beat the null shuffled labels" in r.reason
    c.known_discrepancy("E", "declared", "the paper's net is wider")
    r = c.at_least("E", "declared", measured=0.7, expected=0.8, explanation=expl(0.7))
    assert r.verdict == "DIFFERS" and r.reason == "the paper's net is wider"


def test_a_declared_discrepancy_does_not_turn_inconclusive_into_differs_or_pass():
    c = Claims("t/expl", preset="quick")
    c.known_discrepancy("E", "x", "the paper's net is wider")
    r = c.at_least("E", "x", measured=0.9, expected=0.8, explanation=expl(0.9))
    assert r.verdict == "INCONCLUSIVE"
    assert r.reason == ("at this scale the data alone gives the same value (0.9); declared a "
                        "known discrepancy: the paper's net is wider")


def test_explanation_is_validated_like_the_null():
    c = Claims("t/expl", preset="quick")
    with pytest.raises(ValueError, match="Explanation needs `what`"):
        Explanation(0.5, " ")
    with pytest.raises(ValueError, match="Explanation margin"):
        Explanation(0.5, "blur", margin=-0.1)
    with pytest.raises(ValueError, match="Explanation better"):
        Explanation(0.5, "blur", better="up")
    with pytest.raises(TypeError, match="real"):
        Explanation(1 + 2j, "blur")
    with pytest.raises(TypeError, match="explanation .* must be a freqlearn.claims.Expl"):
        c.at_least("V", "a", measured=1, expected=0, explanation=Null(0.5, "blur"))
    with pytest.raises(TypeError, match="null .* must be a freqlearn.claims.Null"):
        c.at_least("V", "b", measured=1, expected=0, null=expl(0.5))
    with pytest.raises(ValueError, match="contradicts at_most"):
        c.at_most("V", "c", measured=0, expected=1, explanation=expl(0.5, better="higher"))
    for method, kw in (("holds", dict(value=True)), ("between", dict(low=0, high=1))):
        with pytest.raises(ValueError, match="needs Explanation\\(better="):
            getattr(c, method)("V", method, measured=0.5, **kw, explanation=expl(0.1))
    with pytest.raises(TypeError, match="numeric measured"):
        c.holds("V", "d", value=True, measured="3 > 2", explanation=expl(1, better="higher"))
    assert not c.rows  # nothing refused was recorded


@pytest.mark.parametrize("method,kw,m,better", CHECKS, ids=IDS)
@pytest.mark.parametrize("passes", [True, False])
def test_a_censored_comparison_is_inconclusive_whatever_its_check_gives(method, kw, m,
                                                                         better, passes):
    """A time or mode never reached is never "later": the row is INCONCLUSIVE, both when
    its own check would pass and when it would fail, declared or not; non-finite stays
    FAIL."""
    c = Claims("t/cens", preset="quick")
    if not passes:  # move the measurement out of its own check
        kw = dict(kw, value=False) if method == "holds" else kw
        m = {"close": 5.0, "at_least": 0.1, "at_most": 0.9, "between": 2.0}.get(method, m)
    assert getattr(c, method)("T", "uncensored", measured=m, **kw).verdict == (
        "PASS" if passes else "FAIL")
    r = getattr(c, method)("T", "a1 after a0", measured=m, **kw,
                           censored="a1 never reached s/2 within 600 steps")
    assert r.verdict == "INCONCLUSIVE"
    assert r.reason.startswith("censored: a1 never reached s/2 within 600 steps; ")
    assert r.censored == "a1 never reached s/2 within 600 steps"
    c.known_discrepancy("T", "declared", "a known gap")
    r = getattr(c, method)("T", "declared", measured=m, **kw, censored="t_half censored")
    assert r.verdict == "INCONCLUSIVE" and "declared a known discrepancy: a known gap" in (
        r.reason)
    if method != "holds":
        bad = getattr(c, method)("T", "nan", measured=math.nan, **kw, censored="x")
        assert bad.verdict == "FAIL"
    for wrong in ("", "  ", True, 3):
        with pytest.raises(ValueError, match="censored must be None or a non-empty"):
            getattr(c, method)("T", f"bad {wrong!r}", measured=m, **kw, censored=wrong)


def test_a_censored_row_round_trips_and_an_uncensored_one_reads_as_before(root):
    c = Claims("chap/cens", preset="quick")
    c.holds("P7", "a1 after a0", value=True, censored="a1 never reached")
    c.holds("P7", "a0 reached", value=True)
    c.report()
    written = json.loads((root / "_build/claims/chap/cens.json").read_text())["claims"]
    assert written == c.to_json() == cl.load_all()
    assert written[0]["censored"] == "a1 never reached"
    assert written[0]["verdict"] == "INCONCLUSIVE"
    assert "censored" not in written[1]


def test_report_does_not_raise_on_inconclusive_and_the_row_round_trips(root, capsys):
    c = Claims("chap/nb", preset="quick")
    c.at_least("E1", "accuracy", measured=0.9, expected=0.8, explanation=expl(0.9))
    c.holds("E2", "ordering", value=True)
    c.report()
    out = capsys.readouterr().out
    assert "1 PASS, 0 DIFFERS, 0 FAIL, 1 INCONCLUSIVE" in out
    assert "INCONCLUSIVE (at this scale the data alone" in out  # the table cuts at 60
    written = json.loads((root / "_build/claims/chap/nb.json").read_text())["claims"]
    assert written == c.to_json() == cl.load_all()
    assert written[0]["verdict"] == "INCONCLUSIVE"
    assert written[0]["explanation"] == {"what": "the data alone", "value": 0.9, "se": None,
                                         "n": None, "margin": 0.0, "better": None,
                                         "beaten": False}
    assert "explanation" not in written[1]  # a row naming none reads as before


def test_the_scoreboard_counts_inconclusive_and_shows_the_explanation():
    c = Claims("chap/nb", preset="quick")
    c.at_least("P1", "beats the data", measured=0.9, expected=0.8, explanation=expl(0.5))
    c.at_least("P1", "same as the data", measured=0.9, expected=0.8, explanation=expl(0.9))
    c.holds("P1", "fails", value=False)
    sb = cl.scoreboard_rows(c.to_json(), catalog={"P1": "one"})
    assert ("3 claims from 1 notebooks at preset quick: 1 PASS, 1 INCONCLUSIVE (a trivial "
            "explanation gives the same value at this scale, or a compared time was never "
            "reached), 0 DIFFERS (declared known "
            "discrepancies), 1 FAIL.") in sb["summary"]
    beaten, same, fails = sb["tested"]
    assert [len(r) for r in sb["tested"]] == [10, 10, 10]
    assert beaten[8] == "the data alone: 0.5" and beaten[6].startswith("PASS")
    assert same[8] == "the data alone: 0.9 (not beaten)"
    assert same[6].startswith("INCONCLUSIVE: at this scale the data alone")
    assert fails[8] == "—" and fails[5] == "—" and fails[9] == "chap/nb"
    (cov,) = sb["coverage"]
    assert cov[3] == "1 PASS, 1 INCONCLUSIVE, 1 FAIL"
    md = cl.scoreboard_markdown(c.to_json())
    assert "| paper verdict | explanation | notebook |" in md
    assert "the data alone: 0.9 (not beaten)" in md


def _claims_dir(root, name, values, nb="chap/nb", preset="quick", explanation=None):
    """Write the claims dir ``<root>/v/<name>``: an at_most claim per ``values`` item."""
    d = root / "v" / name
    old = os.environ.get("FREQLEARN_CLAIMS_DIR")
    os.environ["FREQLEARN_CLAIMS_DIR"] = str(d)
    try:
        c = Claims(nb, preset=preset)
        for k, (v, bound) in values.items():
            c.at_most("B", k, measured=v, expected=bound, explanation=explanation)
        c.write()
    finally:
        if old is None:
            del os.environ["FREQLEARN_CLAIMS_DIR"]
        else:
            os.environ["FREQLEARN_CLAIMS_DIR"] = old
    return d


def test_pass_to_inconclusive_is_drift(root):
    base = store.read_json(cl.update_baseline({"default": _claims_dir(root, "d", {
        "a": (1.0, 2.0)})}))
    now = _claims_dir(root, "x", {"a": (1.0, 2.0)}, explanation=expl(1.0))
    (p,) = cl.check_against_baseline(cl.load_all(now), base)
    assert "verdict INCONCLUSIVE vs baseline PASS" in p


# ---------------------------------------------------------------------- persistence
def _write_claims(claims, root, n, size):
    """Write notebook chap/nb's claims ``n`` times (``size`` claims each)."""
    os.environ["FREQLEARN_ROOT"] = str(root)
    os.environ["FREQLEARN_CLAIMS_DIR"] = str(claims)
    for i in range(n):
        c = Claims("chap/nb", preset="quick", seed=1)
        for k in range(size):
            c.at_most("W", f"claim {k}", measured=float(i), expected=1e9)
        c.write()


def _read_claims(claims, stop, q):
    """Read chap/nb's claims until ``stop`` is set; put (reads, failures) on ``q``."""
    reads, bad = 0, []
    path = Path(claims) / "chap" / "nb.json"
    while not stop.is_set() or reads < 10:
        try:
            store.read_json(path)
            cl.load_all(claims)
        except (ValueError, OSError) as e:
            bad.append(f"{type(e).__name__}: {e}")
        reads += 1
    q.put((reads, bad[:3]))


@pytest.mark.slow
def test_two_writers_and_a_reader_on_one_notebooks_claims(root, monkeypatch):
    """Two processes write the same notebook's claims 200 times each while a third reads
    them: no write raises and every read parses (the old fixed ``.tmp`` name collided)."""
    claims = root / "_build" / "claims"
    monkeypatch.setenv("FREQLEARN_CLAIMS_DIR", str(claims))
    _write_claims(claims, root, 1, 1)
    ctx = mp.get_context("spawn")
    stop, q = ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=_write_claims, args=(claims, root, 200, size))
               for size in (2, 60)]
    reader = ctx.Process(target=_read_claims, args=(claims, stop, q))
    for pr in (reader, *writers):
        pr.start()
    for pr in writers:
        pr.join(240)
    stop.set()
    reads, bad = q.get(timeout=120)
    reader.join(60)
    assert [pr.exitcode for pr in (*writers, reader)] == [0, 0, 0]
    assert reads >= 10 and bad == []
    assert sorted(p.name for p in (claims / "chap").iterdir()) == ["nb.json", "nb.run.json"]


def test_a_symlink_planted_at_the_old_temp_name_is_not_followed(root):
    victim = root / "victim.txt"
    victim.write_text("precious")
    folder = root / "_build" / "claims" / "chap"
    folder.mkdir(parents=True)
    for name in ("nb.json.tmp", "nb.run.json.tmp"):
        (folder / name).symlink_to(victim)
    c = Claims("chap/nb", preset="quick")
    c.holds("A", "x", value=True)
    path = c.write()
    assert victim.read_text() == "precious"
    assert not path.is_symlink() and store.read_json(path)["claims"][0]["verdict"] == "PASS"
    assert (folder / "nb.json.tmp").is_symlink()  # left alone, never written through


def _die_half_way(kind, root, dirs, out):
    """In a child: record the baseline or the seeds record, but write half of the new file
    through the store, fsync it and die (SIGKILL) before the rename."""
    os.environ["FREQLEARN_ROOT"] = str(root)
    real = store.atomic_write

    def half(path, writer):
        buf = io.BytesIO()
        writer(buf)
        data = buf.getvalue()

        def write_half(f):
            f.write(data[:len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        return real(path, write_half)

    store.atomic_write = half
    if kind == "baseline":
        cl.update_baseline(dirs, path=out)
    else:
        cl.record_seeds(dirs, out)


@pytest.mark.parametrize("kind", ["baseline", "seeds"])
def test_a_kill_while_recording_leaves_the_old_file(root, kind):
    """kill -9 half-way through ``update_baseline``/``record_seeds`` (which wrote in place):
    the old file stays whole; a child that is not killed wrote around the store."""
    old = _claims_dir(root, "old", {f"c{k}": (1.0, 2.0) for k in range(50)})
    new = _claims_dir(root, "new", {f"c{k}": (1.5, 2.0) for k in range(50)})
    if kind == "baseline":
        out = cl.update_baseline({"default": old})
    else:
        out = root / "records" / "seeds" / "quick.json"
        cl.record_seeds({"default": old}, out)
    before = out.read_bytes()
    ctx = mp.get_context("spawn")
    pr = ctx.Process(target=_die_half_way, args=(kind, root, {"default": new}, out))
    pr.start()
    pr.join(120)
    assert pr.exitcode == -signal.SIGKILL, "the write did not go through freqlearn.store"
    assert out.read_bytes() == before
    if kind == "baseline":
        assert cl.check_against_baseline(cl.load_all(old)) == []
    else:
        assert cl.load_seeds_record(out)["chap/nb"]["B|c0"]["values"]["default"] == 1.0


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("damage", [lambda b: b[:len(b) // 2], lambda b: b"\x00garbage\xff"],
                         ids=["truncated", "garbage"])
def test_a_damaged_baseline_is_named_with_its_fix(root, capsys, damage):
    d = _claims_dir(root, "d", {"a": (1.0, 2.0)})
    path = cl.update_baseline({"default": d})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(store.StoreCorrupt, match="quick.json cannot be used") as e:
        cl.check_against_baseline(cl.load_all(d))
    assert e.value.path == path
    assert "git checkout -- tests/baselines/quick.json" in str(e.value)
    assert "make baseline" in str(e.value)
    capsys.readouterr()
    assert cl.main(["check", str(d)]) == 1
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line and "make baseline" in line


def test_a_damaged_seeds_record_is_named_with_its_fix(root, capsys):
    d = _claims_dir(root, "d", {"a": (1.0, 2.0)})
    path = root / "records" / "seeds" / "quick.json"
    cl.record_seeds({"default": d}, path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(store.StoreCorrupt, match="records/seeds/quick.json cannot be used"):
        cl.load_seeds_record()
    capsys.readouterr()
    assert cl.main(["show"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert "git checkout -- records/seeds/quick.json" in line and "make seeds" in line


def test_damaged_claims_and_paper_records_are_named(root, capsys):
    d = _claims_dir(root, "d", {"a": (1.0, 2.0)})
    (d / "chap" / "nb.json").write_text('{"meta": {}, "claims": [{"id": ')
    with pytest.raises(store.StoreCorrupt, match="nb.json cannot be used.*re-run its notebook"):
        cl.load_all(d)
    assert cl.main(["check", str(d)]) == 1
    assert "nb.json" in _one_line(capsys.readouterr().err)
    (d / "chap" / "nb.json").write_text('{"rows": []}')
    with pytest.raises(store.StoreCorrupt, match="not a claims file"):
        cl.load_all(d)
    p = _claims_dir(root, "p", {"a": (1.0, 2.0)}, preset="paper")
    (rec,) = cl.record_run(p, root / "records" / "paper")
    rec.write_bytes(rec.read_bytes()[:-30])
    with pytest.raises(store.StoreCorrupt, match="make record-paper NB=chap/nb"):
        cl.load_paper_records(root / "records" / "paper")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_nonfinite_literal_in_a_claims_file_is_drift(root, capsys, literal):
    """M10: ``abs(nan − v) > band`` is False, so a hand-edited NaN used to pass the check."""
    d = _claims_dir(root, "d", {"a": (1.0, 2.0), "b": (0.5, 2.0)})
    cl.update_baseline({"default": d})
    f = d / "chap" / "nb.json"
    text = f.read_text()
    assert text.count('"measured": 1.0,') == 1
    f.write_text(text.replace('"measured": 1.0,', f'"measured": {literal},'))
    (row, _) = cl.load_all(d)
    assert row["verdict"] == "PASS" and not math.isfinite(row["measured"])
    (p,) = cl.check_against_baseline(cl.load_all(d))
    assert "'B|a'" in p and "is not finite" in p
    capsys.readouterr()
    assert cl.main(["check", str(d)]) == 1
    assert "1 problem(s)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="is not finite"):
        cl.update_baseline({"default": d}, path=root / "b.json")


def test_the_package_runs_as_a_module_and_exits_1_on_a_damaged_file(root):
    """``python -m freqlearn.claims`` (the package's ``__main__``) and the names the
    Makefile and the notebooks import."""
    d = _claims_dir(root, "d", {"a": (1.0, 2.0)})
    path = cl.update_baseline({"default": d})
    path.write_text('{"chap/nb": {')
    env = {**os.environ, "FREQLEARN_ROOT": str(root), "OMP_NUM_THREADS": "1"}
    code = ("import freqlearn; from freqlearn.claims import main, Claims, Stat, Null, "
            "Explanation; import runpy; runpy.run_module('freqlearn.claims', "
            "run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", code, "check", str(d)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "tests/baselines/quick.json cannot be used" in _one_line(run.stderr)
    run = subprocess.run([sys.executable, "-m", "freqlearn.claims"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith("usage: python -m freqlearn.claims")


def test_the_code_sha_ignores_layout_not_code():
    """A record stays current when only the layout of its code changes (line breaks,
    comments, implicit string concatenation, docstrings), not when the code does."""
    def nb(src):
        return f"# T\n\n```{{code-cell}} ipython3\n:tags: [x]\n{src}\n```\n"

    base = nb('x = f(1, 2)  # two\ns = f"a {x} b"\ndef g():\n    """Doc."""\n    return 1')
    layout = nb('# two\nx = f(\n    1,\n    2,\n)\ns = f"a {x} "\'b\'\n'
                'def g():\n    """Another doc,\n    longer."""\n    return 1')
    assert cl.code_sha256(base) == cl.code_sha256(layout)
    tail = '\ndef g():\n    """Doc."""\n    return 1'
    for changed in (nb('x = f(1, 3)\ns = f"a {x} b"' + tail),
                    nb('x = f(1, 2)\ns = f"a {x}  b"' + tail),
                    nb('x = f(1, 2)\ns = f"a {x} b"' + tail.replace("1", "2")),
                    base.replace(":tags: [x]", ":tags: [y]")):
        assert cl.code_sha256(changed) != cl.code_sha256(base)
    magic = nb('%pip install "freqlearn @ git+https://example.org/a"')
    assert cl.code_sha256(magic) != cl.code_sha256(magic.replace("/a", "/b"))


def test_the_code_sha_leaves_out_the_colab_setup_cell_only():
    """Pointing the book at its repository or release (``set-repo``) rewrites the hidden
    Colab setup cell of every notebook: no record goes stale for it. Another hidden cell,
    or a setup cell's twin that is not hidden, still counts."""
    from freqlearn import booktools

    body = "```{code-cell} ipython3\nx = 1\n```\n"
    def nb(setup, tags=":tags: [remove-cell]"):
        return f"# T\n\n```{{code-cell}} ipython3\n{tags}\n\n{setup}\n```\n\n{body}"

    old = nb('import sys\n\nif "google.colab" in sys.modules:\n'
             '    %pip install -q "freqlearn @ git+https://github.com/a/b"')
    new = nb(booktools.install_cell("https://github.com/c/d", "v0.1.0"))
    bare = "# T\n\n" + body
    assert cl.code_sha256(old) == cl.code_sha256(new) == cl.code_sha256(bare)
    hidden = nb("y = 2")  # a hidden cell that computes is code
    assert cl.code_sha256(hidden) != cl.code_sha256(bare)
    shown = nb(booktools.install_cell("https://github.com/c/d", "v0.1.0"), tags="")
    assert cl.code_sha256(shown) != cl.code_sha256(bare)


# ------------------------------------------------------- one notebook at a time (NB=...)
def test_baseline_merge_replaces_only_the_notebooks_it_holds(root):
    both = root / "v" / "both"
    for nb in ("chap/a", "chap/b"):
        _claims_dir(root, "both", {"x": (1.0, 2.0)}, nb=nb)
    out = root / "base.json"
    cl.update_baseline({"default": both, "avx2": both}, path=out)
    new_a = _claims_dir(root, "a", {"x": (1.5, 2.0), "y": (0.5, 1.0)}, nb="chap/a")
    cl.update_baseline({"default": new_a, "avx2": new_a}, path=out, merge=True)
    base = store.read_json(out)
    assert sorted(k for k in base if not k.startswith("_")) == ["chap/a", "chap/b"]
    assert base["chap/a"]["B|x"]["value"] == 1.5 and "B|y" in base["chap/a"]
    assert base["chap/b"]["B|x"]["value"] == 1.0  # kept
    with pytest.raises(ValueError, match="recorded under the variants"):
        cl.update_baseline({"default": new_a}, path=out, merge=True)
    cl.update_baseline({"default": new_a, "avx2": new_a}, path=out)  # no merge: only a
    assert sorted(k for k in store.read_json(out) if not k.startswith("_")) == ["chap/a"]


def test_seeds_merge_keeps_the_other_notebooks_with_their_provenance(root, monkeypatch):
    for s in ("s0", "s1"):
        for nb in ("chap/a", "chap/b"):
            _claims_dir(root, s, {"x": (1.0, 2.0)}, nb=nb)
    out = root / "seeds.json"
    cl.record_seeds({"default": root / "v/s0", "11": root / "v/s1"}, out)
    old = store.read_json(out)["_provenance"]
    for s, v in (("n0", 1.5), ("n1", 3.0)):
        _claims_dir(root, s, {"x": (v, 2.0)}, nb="chap/a")
    dis = cl.record_seeds({"default": root / "v/n0", "11": root / "v/n1"}, out, merge=True)
    assert len(dis) == 1 and "chap/a" in dis[0]
    rec = store.read_json(out)
    assert rec["chap/a"]["B|x"]["verdicts"] == {"default": "PASS", "11": "FAIL"}
    assert rec["chap/b"]["B|x"]["agree"] == 2  # kept as it was
    prov = rec["_provenance"]
    assert set(prov["notebook_sha256"]) == set(prov["recorded"]) == {"chap/a", "chap/b"}
    assert prov["recorded"]["chap/b"] == old["recorded"]["chap/b"]
    with pytest.raises(ValueError, match="recorded at the seeds"):
        cl.record_seeds({"default": root / "v/n0"}, out, merge=True)
    args = ["--merge", f"default={root / 'v/n0'}", f"11={root / 'v/n1'}"]
    assert cl.main(["seeds", *args]) == 1  # differs across seeds, still written
    assert cl.main(["check", "--merge", str(root)]) == 2  # --merge only for the two

"""Unit tests of ``freqlearn.claims``: verdicts, the JSON written, the regression baseline."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from freqlearn import claims as cl
from freqlearn.claims import BaselineDrift, Claims, ClaimsFailed

FIELDS = {"id", "claim", "measured", "expected", "tolerance", "verdict", "preset", "notebook",
          "reason", "drift_rtol"}


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_ROOT", str(tmp_path))
    monkeypatch.setenv("BOOK_PRESET", "quick")
    monkeypatch.setenv("FREQLEARN_BASELINE", "off")
    return tmp_path


def verdict(row):
    return row.verdict


def test_close_verdicts():
    c = Claims("t/close", preset="quick")
    assert verdict(c.close("A", "a", measured=1.05, expected=1.0, rtol=0.1)) == "PASS"
    assert verdict(c.close("A", "b", measured=1.2, expected=1.0, rtol=0.1)) == "FAIL"
    assert verdict(c.close("A", "c", measured=1e-11, expected=0.0, atol=1e-10)) == "PASS"
    assert verdict(c.close("A", "d", measured=2e-10, expected=0.0, atol=1e-10)) == "FAIL"
    # atol and rtol add: |Δ| ≤ atol + rtol |e|
    assert verdict(c.close("A", "e", measured=1.15, expected=1.0, rtol=0.1, atol=0.06)) == "PASS"
    assert verdict(c.close("A", "f", measured=1.17, expected=1.0, rtol=0.1, atol=0.06)) == "FAIL"
    assert verdict(c.close("A", "g", measured=np.float32(0.5), expected=0.5, rtol=0)) == "PASS"
    with pytest.raises(ValueError, match="rtol, atol"):
        c.close("A", "h", measured=1, expected=1)


def test_bounds_and_holds_verdicts():
    c = Claims("t/bounds", preset="quick")
    assert verdict(c.at_most("B", "a", measured=2.0, expected=2.0)) == "PASS"
    assert verdict(c.at_most("B", "b", measured=2.1, expected=2.0)) == "FAIL"
    assert verdict(c.at_least("B", "c", measured=2.0, expected=2.0)) == "PASS"
    assert verdict(c.at_least("B", "d", measured=1.9, expected=2.0)) == "FAIL"
    r = c.between("B", "e", measured=0.5, low=0.0, high=1.0)
    assert r.verdict == "PASS" and r.expected == "[0, 1]"
    assert verdict(c.between("B", "f", measured=1.5, low=0.0, high=1.0)) == "FAIL"
    assert verdict(c.between("B", "g", measured=-0.1, low=0.0, high=1.0)) == "FAIL"
    assert verdict(c.holds("B", "h", value=True)) == "PASS"
    assert verdict(c.holds("B", "i", value=np.bool_(False))) == "FAIL"
    r = c.holds("B", "j", value=True, measured=3.25)
    assert r.measured == 3.25 and r.expected is True
    with pytest.raises(TypeError, match="bool"):
        c.holds("B", "k", value=1)


@pytest.mark.parametrize("method,kw", [
    ("close", dict(expected=1.0, rtol=1.0)),
    ("close", dict(expected=0.0, atol=1e9)),
    ("at_most", dict(expected=1e9)),
    ("at_least", dict(expected=-1e9)),
    ("between", dict(low=-1e9, high=1e9)),
])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_measured_fails(method, kw, bad):
    c = Claims("t/nan", preset="quick")
    row = getattr(c, method)("N", "x", measured=bad, **kw)
    assert row.verdict == "FAIL"
    assert isinstance(row.measured, str)  # JSON-safe: "nan", "inf"


def test_known_discrepancy_differs_and_pass_with_note():
    c = Claims("t/known", preset="quick")
    c.known_discrepancy("K", "off", "the paper used a different dataset")
    c.known_discrepancy("K", "fine", "we feared it would differ")
    r = c.close("K", "off", measured=2.0, expected=1.0, rtol=0.1)
    assert r.verdict == "DIFFERS" and r.reason == "the paper used a different dataset"
    r = c.close("K", "fine", measured=1.0, expected=1.0, rtol=0.1)
    assert r.verdict == "PASS"
    assert "declared a known discrepancy, but it passed" in r.reason
    assert "we feared" in r.reason
    # a declaration only covers its own (id, claim)
    assert c.close("K", "other", measured=2.0, expected=1.0, rtol=0.1).verdict == "FAIL"
    with pytest.raises(ValueError, match="reason"):
        c.known_discrepancy("K", "x", "  ")


def test_duplicate_and_invalid_claims_raise():
    c = Claims("t/dup", preset="quick")
    c.at_most("D", "same", measured=0, expected=1)
    with pytest.raises(ValueError, match="recorded twice"):
        c.at_least("D", "same", measured=2, expected=1)
    c.at_least("D", "other", measured=2, expected=1)  # same id, different claim: fine
    with pytest.raises(ValueError, match="catalog id"):
        c.at_most("", "x", measured=0, expected=1)
    for bad in ("", "/abs/path", "t/nb.md"):
        with pytest.raises(ValueError, match="without suffix"):
            Claims(bad, preset="quick")


def test_default_preset_follows_env(monkeypatch):
    monkeypatch.setenv("BOOK_PRESET", "paper")
    assert Claims("t/p").preset == "paper"
    monkeypatch.delenv("BOOK_PRESET")
    assert Claims("t/p").preset == "quick"


def test_report_writes_json_with_the_fields(root, capsys):
    c = Claims("chap/nb", preset="quick")
    c.close("P1", "Q unitary", measured=np.float64(1e-15), expected=0.0, atol=1e-10)
    c.known_discrepancy("G3", "slope", "different data")
    c.between("G3", "slope", measured=5.0, low=1.0, high=3.0)
    c.report()
    out = capsys.readouterr().out
    assert "Q unitary" in out and "1 PASS, 1 DIFFERS, 0 FAIL" in out
    path = root / "_build" / "claims" / "chap" / "nb.json"
    rows = json.loads(path.read_text())
    assert len(rows) == 2
    for r in rows:
        assert set(r) == FIELDS
        assert r["preset"] == "quick" and r["notebook"] == "chap/nb"
    assert rows[0]["id"] == "P1" and rows[0]["verdict"] == "PASS"
    assert rows[0]["measured"] == 1e-15 and rows[0]["expected"] == 0.0
    assert rows[1]["verdict"] == "DIFFERS" and rows[1]["reason"] == "different data"
    assert rows[1]["expected"] == "[1, 3]" and rows[1]["tolerance"] == "interval"
    assert not list(path.parent.glob("*.tmp"))
    assert cl.load_all() == rows


def test_report_raises_on_fail_but_still_writes(root):
    c = Claims("chap/bad", preset="quick")
    c.at_least("X1", "speed-up", measured=3.0, expected=20.0)
    c.holds("X2", "ok", value=True)
    with pytest.raises(ClaimsFailed, match="X1 'speed-up' measured 3.0 vs 20.0"):
        c.report()
    rows = json.loads((root / "_build/claims/chap/bad.json").read_text())
    assert [r["verdict"] for r in rows] == ["FAIL", "PASS"]


def test_report_with_no_claims_raises(root):
    with pytest.raises(ClaimsFailed, match="no claims"):
        Claims("chap/empty", preset="quick").report()


def test_json_is_byte_identical_on_rerun(root):
    def make():
        c = Claims("chap/same", preset="quick")
        c.close("A", "x", measured=np.float64(1) / 3, expected=0.3333, rtol=1e-3)
        c.at_most("A", "y", measured=np.float32(0.1), expected=1)
        c.holds("A", "z", value=True, measured=np.int64(7))
        return c.write()

    p = make()
    first = p.read_bytes()
    assert make().read_bytes() == first
    # the value is rounded to 12 significant digits (platform-stable)
    assert json.loads(first)[0]["measured"] == 0.333333333333


def _rows(nb, values, preset="quick"):
    c = Claims(nb, preset=preset)
    for k, v in values.items():
        c.holds("B", k, value=True, measured=v)
    return c.to_json()


def test_check_against_baseline(root):
    base = {"chap/nb": {"B|a": 1.0, "B|b": 0.0, "B|c": True}}
    ok = _rows("chap/nb", {"a": 1.0, "b": 0.0, "c": True})
    cl.check_against_baseline(ok, base)  # equal values pass
    cl.check_against_baseline(_rows("chap/nb", {"a": 1.0 + 5e-4, "b": 1e-10, "c": True}), base)
    with pytest.raises(BaselineDrift, match="B\\|a"):
        cl.check_against_baseline(_rows("chap/nb", {"a": 1.01, "b": 0.0, "c": True}), base)
    with pytest.raises(BaselineDrift, match="B\\|c"):
        cl.check_against_baseline(_rows("chap/nb", {"a": 1.0, "b": 0.0, "c": False}), base)
    with pytest.raises(BaselineDrift, match="no baseline"):
        cl.check_against_baseline(_rows("chap/other", {"a": 1.0}), base)
    with pytest.raises(BaselineDrift, match="is new"):
        cl.check_against_baseline(
            _rows("chap/nb", {"a": 1.0, "b": 0.0, "c": True, "d": 2.0}), base)
    with pytest.raises(BaselineDrift, match="was not measured"):
        cl.check_against_baseline(_rows("chap/nb", {"a": 1.0, "b": 0.0}), base)
    # a claim's own drift_rtol widens what counts as drift
    c = Claims("chap/nb", preset="quick")
    c.close("B", "a", measured=1.01, expected=1.0, rtol=0.1, drift_rtol=0.05)
    c.holds("B", "b", value=True, measured=0.0)
    c.holds("B", "c", value=True)
    cl.check_against_baseline(c.to_json(), base)
    # no baseline file in the checkout: an error naming the fix
    with pytest.raises(BaselineDrift, match="make baseline"):
        cl.check_against_baseline(ok)


def test_update_baseline_then_check_accepts(root, monkeypatch):
    c = Claims("chap/nb", preset="quick")
    c.close("P1", "x", measured=0.123456789, expected=0.1234, rtol=1e-2)
    c.at_least("P2", "y", measured=42.0, expected=20)
    c.write()
    Claims("chap/nb2", preset="paper").holds("Z", "z", value=True)  # not written
    cp = Claims("chap/paper", preset="paper")
    cp.holds("Z", "z", value=True, measured=1.0)
    cp.write()
    path = cl.update_baseline()
    assert path == root / "tests" / "baselines" / "quick.json"
    data = json.loads(path.read_text())
    assert set(data) == {"chap/nb"}  # only quick-preset rows
    assert data["chap/nb"] == {"P1|x": 0.123456789, "P2|y": 42.0}
    cl.check_against_baseline(c.to_json())  # reads the file written above
    # report() with the baseline check on: passes now, raises after a drift
    monkeypatch.setenv("FREQLEARN_BASELINE", "check")
    c.report()
    c2 = Claims("chap/nb", preset="quick")
    c2.close("P1", "x", measured=0.2, expected=0.1234, rtol=1.0)
    c2.at_least("P2", "y", measured=42.0, expected=20)
    with pytest.raises(BaselineDrift, match="P1\\|x"):
        c2.report()


def test_update_baseline_without_claims_raises(root):
    with pytest.raises(RuntimeError, match="no quick-preset claims"):
        cl.update_baseline()


def test_scoreboard_markdown_escapes_pipes():
    c = Claims("chap/nb", preset="quick")
    c.holds("A", "x | y", value=False)
    md = cl.scoreboard_markdown(c.to_json())
    assert "x \\| y" in md and "FAIL" in md
    assert md.splitlines()[0].startswith("| ID | claim")


def test_benchmarks_written_apart_and_not_baselined(root):
    c = Claims("chap/bench", preset="quick")
    c.holds("X1", "ok", value=True)
    assert c.benchmark("fft conv", np.float64(0.25), "s") == 0.25
    c.write()
    b = json.loads((root / "_build" / "benchmarks" / "chap" / "bench.json").read_text())
    assert len(b) == 1 and b[0]["what"] == "fft conv" and b[0]["value"] == 0.25
    assert b[0]["unit"] == "s" and b[0]["notebook"] == "chap/bench"
    rows = json.loads((root / "_build" / "claims" / "chap" / "bench.json").read_text())
    assert [r["claim"] for r in rows] == ["ok"]  # benchmarks are not claims

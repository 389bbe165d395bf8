"""Unit tests of ``freqlearn.claims``: verdicts, the JSON written, the regression baseline."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from freqlearn import claims as cl
from freqlearn.claims import BaselineDrift, Claims, ClaimsFailed

FIELDS = {"id", "claim", "measured", "expected", "tolerance", "verdict", "preset", "notebook",
          "reason", "check", "kind", "data", "scale", "seed", "status", "tol_scale",
          "uncertainty", "null", "drift_rtol", "drift"}


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
    assert r.verdict == "PASS" and r.expected == "[0, 1]" and r.tol_scale == 1.0
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
    for bad in ("", "/abs/path", "t/nb.md", "../../escape", "a/../../b", "A/b", "a//b",
                "a/b/", "a b", "a\\b", ".hidden"):
        with pytest.raises(ValueError, match="without suffix"):
            Claims(bad, preset="quick")


def test_default_preset_follows_env(monkeypatch):
    monkeypatch.setenv("BOOK_PRESET", "paper")
    assert Claims("t/p").preset == "paper"
    monkeypatch.delenv("BOOK_PRESET")
    assert Claims("t/p").preset == "quick"



def _file(root, nb, d="_build/claims"):
    return json.loads((root / d / f"{nb}.json").read_text())


def test_report_writes_json_with_the_fields(root, capsys):
    c = Claims("chap/nb", preset="quick")
    c.close("P1", "Q unitary", measured=np.float64(1e-15), expected=0.0, atol=1e-10,
            kind="identity")
    c.known_discrepancy("G3", "slope", "different data")
    c.between("G3", "slope", measured=5.0, low=1.0, high=3.0)
    c.report()
    out = capsys.readouterr().out
    assert "Q unitary" in out and "1 PASS, 1 DIFFERS, 0 FAIL" in out
    obj = _file(root, "chap/nb")
    assert set(obj) == {"meta", "claims"}
    assert obj["meta"] == {"notebook": "chap/nb", "preset": "quick", "seed": c.seed,
                           "notebook_sha256": None}
    rows = obj["claims"]
    assert len(rows) == 2
    for r in rows:
        assert set(r) == FIELDS
        assert r["preset"] == "quick" and r["notebook"] == "chap/nb"
    assert rows[0]["id"] == "P1" and rows[0]["verdict"] == "PASS"
    assert rows[0]["measured"] == 1e-15 and rows[0]["expected"] == 0.0
    assert rows[0]["kind"] == "identity" and rows[0]["status"] == "identity"
    assert rows[0]["check"] == "close" and rows[0]["tol_scale"] == 1e-10
    assert rows[1]["verdict"] == "DIFFERS" and rows[1]["reason"] == "different data"
    assert rows[1]["expected"] == "[1, 3]" and rows[1]["tolerance"] == "in [1, 3]"
    assert not list((root / "_build/claims/chap").glob("*.tmp"))
    assert cl.load_all() == rows
    run = json.loads((root / "_build/claims/chap/nb.run.json").read_text())
    assert run["wall_s"] >= 0 and "cores" in run["machine"] and run["device"]
    meta = cl.load_meta()["chap/nb"]
    assert meta["seed"] == c.seed and meta["wall_s"] == run["wall_s"]


def test_load_all_reads_the_old_format(root):
    d = root / "_build" / "claims" / "old"
    d.mkdir(parents=True)
    (d / "nb.json").write_text(json.dumps([{
        "id": "A", "claim": "x", "measured": 1.0, "expected": 1.0, "tolerance": "≤ 1",
        "verdict": "PASS", "preset": "quick", "notebook": "old/nb", "reason": "",
        "drift_rtol": 0.001}]))
    (rows,) = cl.load_all()
    assert rows["status"] == "tested" and rows["data"] == "unspecified"
    assert rows["kind"] == "result" and rows["null"] is None
    assert cl.load_meta()["old/nb"]["preset"] == "quick"


def test_notebook_sha256_in_meta(root):
    (root / "book" / "chap").mkdir(parents=True)
    (root / "book" / "chap" / "nb.md").write_text("# a notebook\n")
    c = Claims("chap/nb", preset="quick")
    c.holds("A", "x", value=True)
    c.write()
    import hashlib

    assert _file(root, "chap/nb")["meta"]["notebook_sha256"] == hashlib.sha256(
        b"# a notebook\n").hexdigest()


def test_claims_dir_env_override(root, tmp_path_factory, monkeypatch):
    other = tmp_path_factory.mktemp("variant")
    monkeypatch.setenv("FREQLEARN_CLAIMS_DIR", str(other))
    assert cl.claims_dir() == other
    c = Claims("chap/nb", preset="quick")
    c.holds("A", "x", value=True)
    assert c.write() == other / "chap" / "nb.json"
    assert not (root / "_build" / "claims").exists()
    assert len(cl.load_all()) == 1


def test_relative_claims_dir_is_taken_from_the_root(root, tmp_path, monkeypatch):
    """A notebook runs in its own folder: a relative FREQLEARN_CLAIMS_DIR must not follow it."""
    (root / "_toc.yml").write_text("root: intro\n")
    sub = root / "book" / "chap"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.setenv("FREQLEARN_CLAIMS_DIR", "_build/variants/x")
    assert cl.claims_dir() == root / "_build" / "variants" / "x"


def test_report_raises_on_fail_but_still_writes(root):
    c = Claims("chap/bad", preset="quick")
    c.at_least("X1", "speed-up", measured=3.0, expected=20.0)
    c.holds("X2", "ok", value=True)
    with pytest.raises(ClaimsFailed, match="X1 'speed-up' measured 3.0 vs 20.0"):
        c.report()
    rows = _file(root, "chap/bad")["claims"]
    assert [r["verdict"] for r in rows] == ["FAIL", "PASS"]


def test_report_with_no_claims_raises(root):
    with pytest.raises(ClaimsFailed, match="no claims"):
        Claims("chap/empty", preset="quick").report()


def test_json_is_byte_identical_on_rerun(root):
    def make():
        c = Claims("chap/same", preset="quick", data="synthetic")
        c.close("A", "x", measured=np.float64(1) / 3, expected=0.3333, rtol=1e-3)
        c.at_most("A", "y", measured=np.float32(0.1), expected=1)
        c.holds("A", "z", value=True, measured=np.int64(7))
        c.at_least("A", "w", measured=cl.Stat([1.0, 1.1, 0.9]), expected=0.5,
                   null=cl.Null(cl.Stat([0.1, 0.2]), "untrained net", margin=0.1))
        return c.write()

    p = make()
    first = p.read_bytes()
    assert make().read_bytes() == first
    # the value is rounded to 12 significant digits (platform-stable)
    assert json.loads(first)["claims"][0]["measured"] == 0.333333333333


# ------------------------------------------------------------- hardening (probe §5 BAD rows)
@pytest.mark.parametrize("kw", [
    dict(measured=5.0, expected=math.inf, rtol=0.1),        # 5.5
    dict(measured=-1e308, expected=math.inf, rtol=1e-9),    # 5.6
    dict(measured=1.0, expected=-math.inf, atol=1.0),
])
def test_close_to_infinity_fails(kw):
    r = Claims("t/x", preset="quick").close("X1", "c", **kw)
    assert r.verdict == "FAIL" and "non-finite" in r.reason


@pytest.mark.parametrize("name,val", [("atol", math.inf), ("atol", math.nan), ("atol", -1.0),
                                      ("rtol", -0.5), ("rtol", math.inf), ("rtol", math.nan)])
def test_bad_tolerances_refused(name, val):  # 5.7–5.11
    c = Claims("t/x", preset="quick")
    with pytest.raises(ValueError, match=name):
        c.close("X1", "c", measured=1.0, expected=1.0, **{name: val})


def test_exact_close_tolerance_is_readable():  # 5.12
    r = Claims("t/x", preset="quick").close("X1", "c", measured=1.0, expected=1.0, atol=0.0)
    assert r.verdict == "PASS" and r.tolerance == "|Δ| ≤ 0 (exact)"


def test_complex_refused_unless_real():  # 5.21, 5.22
    import torch

    c = Claims("t/x", preset="quick")
    for bad in (np.complex128(1 + 2j), 1 + 2j, torch.tensor(1 + 2j)):
        with pytest.raises(TypeError, match="complex"):
            c.close("X1", f"c{bad!r}", measured=bad, expected=1.0, atol=0.1)
    with pytest.raises(TypeError, match="complex"):
        c.at_most("X1", "e", measured=1.0, expected=np.complex64(1 + 1j))
    assert c.close("X1", "real", measured=np.complex128(1 + 0j), expected=1.0,
                   atol=0.1).verdict == "PASS"


def test_bad_measured_types_name_the_claim():  # 5.14, 5.19, 5.24
    import torch

    c = Claims("t/x", preset="quick")
    with pytest.raises(TypeError, match="measured .claim X1 'a'.*'abc'"):
        c.close("X1", "a", measured="abc", expected=1.0, atol=1)
    with pytest.raises(TypeError, match="measured .claim X1 'b'.*None"):
        c.close("X1", "b", measured=None, expected=1.0, atol=1)
    with pytest.raises(ValueError, match="scalar.*shape \\(2,\\)"):
        c.close("X1", "c", measured=torch.tensor([1.0, 99.0]), expected=1.0, atol=0.1)
    assert c.close("X1", "d", measured=np.array([1.0]), expected=1.0, atol=0.1).verdict == "PASS"


@pytest.mark.parametrize("method,kw", [
    ("at_most", dict(measured=1e308, expected=math.inf)),      # 5.33
    ("at_least", dict(measured=-1e308, expected=-math.inf)),   # 5.36
    ("between", dict(measured=0.5, low=-math.inf, high=math.inf)),  # 5.42
])
def test_infinite_bounds_fail(method, kw):
    assert getattr(Claims("t/x", preset="quick"), method)("X1", "c", **kw).verdict == "FAIL"


def test_empty_interval_refused():  # 5.41
    with pytest.raises(ValueError, match="low ≤ high"):
        Claims("t/x", preset="quick").between("X1", "c", measured=0.5, low=1, high=0)


def test_holds_with_nonfinite_measured_fails():  # 5.43, 5.45, 5.64, 5.67
    import torch

    c = Claims("t/x", preset="quick")
    assert c.holds("X1", "a", value=True, measured=math.nan).verdict == "FAIL"
    r = c.holds("X1", "b", value=True, measured=torch.tensor(math.nan, requires_grad=True))
    assert r.verdict == "FAIL" and r.reason == "non-finite measurement"
    assert c.holds("X1", "c", value=True, measured="[nan 3.]").verdict == "FAIL"
    assert c.holds("X1", "d", value=True, measured="-inf vs 2").verdict == "FAIL"
    # 5.44: a descriptive string is recorded as is (it explains the boolean)
    r = c.holds("X1", "e", value=True, measured="12 ≤ 40 updates")
    assert r.verdict == "PASS" and r.measured == "12 ≤ 40 updates"
    assert c.holds("X1", "f", value=True, measured=np.bool_(True)).measured is True


def test_known_discrepancy_does_not_cover_nan(root):  # 5.56, 5.67
    c = Claims("t/x", preset="quick")
    c.known_discrepancy("X1", "a", "the paper used other data")
    r = c.close("X1", "a", measured=math.nan, expected=1.0, atol=1.0)
    assert r.verdict == "FAIL" and "non-finite measurement" in r.reason
    with pytest.raises(ClaimsFailed, match="non-finite"):
        c.report()


def test_report_fails_close_to_infinity(root):  # 5.68
    c = Claims("t/x", preset="quick")
    c.close("X1", "a", measured=123, expected=math.inf, rtol=0.01)
    with pytest.raises(ClaimsFailed):
        c.report()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1, 0])
def test_bad_drift_rtol_refused(bad):  # 5.60–5.63
    with pytest.raises(ValueError, match="drift_rtol"):
        Claims("t/x", preset="quick").close("X1", "a", measured=1, expected=1, atol=1,
                                            drift_rtol=bad)


def test_traversal_never_writes_outside(root, monkeypatch):  # 5.57, 5.58
    for bad in ("../../../escaped", "../../tests/baselines/quick"):
        with pytest.raises(ValueError, match="without suffix"):
            Claims(bad, preset="quick")
    # a symlinked folder that points outside the claims dir is refused at write time
    (root / "_build" / "claims").mkdir(parents=True)
    (root / "outside").mkdir()
    (root / "_build" / "claims" / "ln").symlink_to(root / "outside")
    c = Claims("ln/nb", preset="quick")
    c.holds("A", "x", value=True)
    with pytest.raises(ValueError, match="outside the claims dir"):
        c.write()
    assert not list((root / "outside").iterdir())


# --------------------------------------------------------------- kind, data, status
def test_data_scale_status_derivation(monkeypatch):
    q = Claims("t/x", preset="quick")
    assert q.holds("A", "a", value=True).data == "unspecified"
    q.data = "paper"
    r = q.holds("A", "b", value=True)
    assert (r.data, r.scale, r.status) == ("paper", "reduced", "tested")
    p = Claims("t/x", preset="paper", data="paper")
    r = p.holds("A", "c", value=True)
    assert (r.scale, r.status) == ("paper", "reproduced")
    r = p.holds("A", "d", value=True, data="stand-in")
    assert (r.data, r.status) == ("stand-in", "tested")
    r = p.close("A", "e", measured=1e-15, expected=0, atol=1e-10, kind="identity")
    assert r.status == "identity" and r.data == "paper"
    assert Claims("t/x", preset="paper", scale="reduced", data="paper").holds(
        "A", "f", value=True).status == "tested"
    with pytest.raises(ValueError, match="data must be one of"):
        q.data = "cifar"
    with pytest.raises(ValueError, match="data must be one of"):
        q.holds("A", "g", value=True, data="real")
    with pytest.raises(ValueError, match="kind must be one of"):
        q.holds("A", "h", value=True, kind="exact")
    with pytest.raises(ValueError, match="scale must be one of"):
        Claims("t/x", preset="quick", scale="small")


# ---------------------------------------------------------------- Stat and Null
def test_stat_values_and_validation():
    s = cl.Stat([1.0, 2.0, 3.0, 4.0])
    assert s.n == 4 and s.mean == 2.5
    assert s.sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert s.se == pytest.approx(s.sd / 2)
    assert s.lower == pytest.approx(2.5 - 2 * s.se)
    with pytest.raises(ValueError, match="n ≥ 2"):
        cl.Stat([1.0])
    with pytest.raises(ValueError, match="z"):
        cl.Stat([1.0, 2.0], z=-1)
    with pytest.raises(TypeError, match="complex"):
        cl.Stat([1 + 1j, 2])


def test_stat_bounds_are_conservative():
    c = Claims("t/s", preset="quick")
    s = cl.Stat([0.9, 1.0, 1.1, 1.0])  # mean 1, se ≈ 0.041, mean ± 2se ≈ [0.918, 1.082]
    assert c.at_least("S", "a", measured=s, expected=0.95).verdict == "FAIL"  # mean ≥ 0.95
    assert c.at_least("S", "b", measured=s, expected=0.9).verdict == "PASS"
    assert c.at_most("S", "c", measured=s, expected=1.05).verdict == "FAIL"
    assert c.at_most("S", "d", measured=s, expected=1.1).verdict == "PASS"
    assert c.between("S", "e", measured=s, low=0.95, high=2).verdict == "FAIL"
    assert c.between("S", "f", measured=s, low=0.9, high=1.1).verdict == "PASS"
    # close uses the mean; se is recorded, never widens the tolerance
    r = c.close("S", "g", measured=s, expected=1.05, atol=0.04)
    assert r.verdict == "FAIL" and r.uncertainty["n"] == 4
    assert r.uncertainty["se"] == pytest.approx(s.se) and r.measured == 1.0
    assert c.at_least("S", "h", measured=cl.Stat([1.0, math.nan]), expected=0).verdict == "FAIL"


def test_null_beaten_and_not_beaten():
    c = Claims("t/n", preset="quick")
    null = cl.Null(0.5, "untrained net", margin=0.1)
    r = c.at_least("N", "a", measured=0.9, expected=0.8, null=null)
    assert r.verdict == "PASS" and r.null == {
        "what": "untrained net", "value": 0.5, "se": None, "n": None, "margin": 0.1,
        "better": None, "beaten": True}
    assert r.tolerance == "≥ 0.8; beats untrained net by ≥ 0.1"
    r = c.at_least("N", "b", measured=0.9, expected=0.8, null=cl.Null(0.85, "untrained net",
                                                                      margin=0.1))
    assert r.verdict == "FAIL" and r.null["beaten"] is False
    assert r.reason == "does not beat the null untrained net (0.85) by 0.1"
    c.known_discrepancy("N", "c", "smaller net")
    r = c.at_least("N", "c", measured=0.9, expected=0.8, null=cl.Null(0.85, "untrained net"
                                                                      , margin=0.1))
    assert r.verdict == "DIFFERS" and "does not beat the null" in r.reason
    # at_most: lower(null) − upper(measured) ≥ margin, with the Stat's z·se
    lp = cl.Null(cl.Stat([1.0, 1.2]), "low-pass kernel", margin=0.2)  # lower = 1.1 − 0.2
    assert c.at_most("N", "d", measured=0.6, expected=1.0, null=lp).verdict == "PASS"
    assert c.at_most("N", "e", measured=0.75, expected=1.0, null=lp).verdict == "FAIL"
    # close: |null − e| − |measured − e| ≥ margin
    rc = cl.Null(0.0, "random RF centres", margin=0.5)
    assert c.close("N", "f", measured=0.95, expected=1.0, atol=0.1, null=rc).verdict == "PASS"
    rc2 = cl.Null(0.6, "random RF centres", margin=0.5)
    assert c.close("N", "g", measured=0.95, expected=1.0, atol=0.1, null=rc2).verdict == "FAIL"
    # holds / between need better=
    sh = cl.Null(0.5, "shuffled labels", margin=0.1)
    with pytest.raises(ValueError, match="better"):
        c.holds("N", "h", value=True, measured=0.9, null=sh)
    with pytest.raises(ValueError, match="better"):
        c.between("N", "i", measured=0.9, low=0, high=1, null=sh)
    sh = cl.Null(0.5, "shuffled labels", margin=0.1, better="higher")
    assert c.holds("N", "j", value=True, measured=0.9, null=sh).verdict == "PASS"
    assert c.holds("N", "k", value=True, measured=0.55, null=sh).verdict == "FAIL"
    with pytest.raises(ValueError, match="contradicts"):
        c.at_least("N", "l", measured=1, expected=0, null=cl.Null(0, "x", better="lower"))
    # a NaN null is a non-finite measurement
    r = c.at_least("N", "m", measured=1, expected=0, null=cl.Null(math.nan, "untrained net"))
    assert r.verdict == "FAIL" and "non-finite" in r.reason


def test_null_validation():
    with pytest.raises(ValueError, match="what"):
        cl.Null(0.5, "  ")
    with pytest.raises(ValueError, match="margin"):
        cl.Null(0.5, "untrained net", margin=-0.1)
    with pytest.raises(ValueError, match="margin"):
        cl.Null(0.5, "untrained net", margin=math.inf)
    with pytest.raises(ValueError, match="better"):
        cl.Null(0.5, "untrained net", better="up")
    with pytest.raises(TypeError, match="Null"):
        Claims("t/x", preset="quick").at_least("A", "a", measured=1, expected=0, null=0.5)


# ---------------------------------------------------------------------- baseline
def _dir(root, name, values, verdict_flip=(), preset="quick", nb="chap/nb"):
    """Write one claims dir ``<root>/v/<name>`` with at_most claims of the given values."""
    import os

    d = root / "v" / name
    os.environ["FREQLEARN_CLAIMS_DIR"] = str(d)
    try:
        c = Claims(nb, preset=preset)
        for k, (v, bound) in values.items():
            if isinstance(v, bool):
                c.holds("B", k, value=v)
            else:
                c.at_most("B", k, measured=v, expected=bound)
        c.write()
    finally:
        del os.environ["FREQLEARN_CLAIMS_DIR"]
    return d


def test_band_from_spread_and_floor(root):
    vals = {"a": (1e-14, 1e-10), "b": (1.0, 10.0), "c": (True, None)}
    d0 = _dir(root, "default", vals)
    d1 = _dir(root, "avx2", {**vals, "b": (1.02, 10.0)})
    d2 = _dir(root, "compat", {**vals, "b": (0.99, 10.0)})
    path = cl.update_baseline({"default": d0, "avx2": d1, "compat": d2})
    base = json.loads(path.read_text())
    assert base["_variants"] == ["default", "avx2", "compat"] and "5 x spread" in base["_rule"]
    a, b, c = (base["chap/nb"][f"B|{k}"] for k in "abc")
    assert a == {"value": 1e-14, "spread": 0.0, "verdict": "PASS", "band": 1e-12}
    assert b["spread"] == pytest.approx(0.02) and b["band"] == pytest.approx(0.1)
    assert c["value"] is True and c["band"] == 0.0
    # the identity example: 1e-14 against a bound of 1e-10 may become 2e-14
    ok = _dir(root, "new", {"a": (2e-14, 1e-10), "b": (1.09, 10.0), "c": (True, None)})
    assert cl.check_against_baseline(cl.load_all(ok), base) == []
    bad = _dir(root, "new2", {"a": (5e-12, 1e-10), "b": (1.11, 10.0), "c": (True, None)})
    problems = cl.check_against_baseline(cl.load_all(bad), base)
    assert len(problems) == 2 and "'B|a'" in problems[0] and "band 1e-12" in problems[0]
    assert "'B|b'" in problems[1]


def test_band_floor_uses_tolerance_scale_and_drift_rtol():
    assert cl._floor(1.0, 0.2, None) == pytest.approx(0.002)      # 0.01 × tol_scale
    assert cl._floor(1e6, 0.0, None) == pytest.approx(1e-3)       # 1e-9 × |value|
    assert cl._floor(2.0, 0.0, 0.05) == pytest.approx(0.1)        # drift_rtol × |value|


def test_verdict_change_and_added_removed_detected(root):
    vals = {"a": (1.0, 2.0), "b": (True, None)}
    d0 = _dir(root, "default", vals)
    base = json.loads(cl.update_baseline({"default": d0}).read_text())
    flipped = _dir(root, "x", {"a": (1.0, 0.9999999), "b": (True, None)})  # 1.0 > bound: FAIL
    (p,) = cl.check_against_baseline(cl.load_all(flipped), base)
    assert "verdict FAIL vs baseline PASS" in p
    changed = cl.check_against_baseline(cl.load_all(_dir(root, "y", {"a": (1.0, 2.0),
                                                                  "b": (False, None)})), base)
    assert any("'B|b'" in t and "verdict" in t for t in changed)
    assert any("must match exactly" in t for t in changed)
    added = cl.check_against_baseline(cl.load_all(_dir(root, "z", {**vals, "c": (0.0, 1.0)})),
                                      base)
    assert added == ["claim 'B|c' is new (not in the baseline)"]
    removed = cl.check_against_baseline(cl.load_all(_dir(root, "w", {"a": (1.0, 2.0)})), base)
    assert removed == ["claim 'B|b' is in the baseline but was not measured"]
    other = cl.check_against_baseline(cl.load_all(_dir(root, "o", vals, nb="chap/other")), base)
    assert "no baseline" in other[0]


def test_update_baseline_refuses_verdicts_that_differ_across_variants(root):
    d0 = _dir(root, "default", {"a": (1.0, 2.0)})
    d1 = _dir(root, "avx2", {"a": (2.5, 2.0)})
    with pytest.raises(ValueError, match="verdict PASS \\(default\\) vs FAIL \\(avx2\\)"):
        cl.update_baseline({"default": d0, "avx2": d1}, path=root / "b.json")
    d2 = _dir(root, "compat", {"a": (False, None)})
    with pytest.raises(ValueError, match="value 1.0 \\(default\\) vs False"):
        cl.update_baseline({"default": d0, "compat": d2}, path=root / "b.json")


def test_old_format_baseline_entries_still_check(root):
    base = {"chap/nb": {"B|a": 1.0, "B|b": True}}
    ok = _dir(root, "x", {"a": (1.0, 2.0), "b": (True, None)})
    assert cl.check_against_baseline(cl.load_all(ok), base) == []
    # floor = 0.01 × |bound 2| = 0.02: verdict not checked for old entries
    near = _dir(root, "y", {"a": (1.015, 2.0), "b": (True, None)})
    assert cl.check_against_baseline(cl.load_all(near), base) == []
    far = _dir(root, "z", {"a": (1.05, 2.0), "b": (True, None)})
    (p,) = cl.check_against_baseline(cl.load_all(far), base)
    assert "'B|a'" in p and "band 0.02" in p


def test_nan_never_matches_a_baseline(root):  # 5.64
    c = Claims("chap/nb", preset="quick")
    c.holds("B", "a", value=True, measured="nan")
    base = {"chap/nb": {"B|a": {"value": "nan", "spread": 0, "verdict": "FAIL", "band": 0}}}
    assert c.rows[0].verdict == "FAIL"
    assert cl.check_against_baseline(c.to_json(), base)


def _baseline(root, rows_values):
    d0 = _dir(root, "default", rows_values)
    return cl.update_baseline({"default": d0})


def test_report_modes_warn_check_off(root, monkeypatch, capsys):
    _baseline(root, {"a": (1.0, 2.0)})

    def run():
        c = Claims("chap/nb", preset="quick")
        c.at_most("B", "a", measured=1.5, expected=2.0)
        return c

    monkeypatch.delenv("FREQLEARN_BASELINE")  # the default is warn: never raises
    c = run()
    c.report()
    assert "difference(s) from the regression baseline" in capsys.readouterr().out
    (row,) = _file(root, "chap/nb")["claims"]
    assert "measured 1.5 vs baseline 1.0" in row["drift"]
    monkeypatch.setenv("FREQLEARN_BASELINE", "check")
    with pytest.raises(BaselineDrift, match="(?s)B\\|a.*make baseline"):
        run().report()
    monkeypatch.setenv("FREQLEARN_BASELINE", "off")
    run().report()
    assert _file(root, "chap/nb")["claims"][0]["drift"] is None
    monkeypatch.setenv("FREQLEARN_BASELINE", "strict")
    with pytest.raises(ValueError, match="FREQLEARN_BASELINE"):
        run().report()


def test_report_check_passes_within_band(root, monkeypatch):
    _baseline(root, {"a": (1.0, 2.0)})
    monkeypatch.setenv("FREQLEARN_BASELINE", "check")
    c = Claims("chap/nb", preset="quick")
    c.at_most("B", "a", measured=1.0 + 1e-3, expected=2.0)  # floor 0.02
    c.report()


def test_other_seed_and_paper_skip_the_baseline(root, monkeypatch):
    _baseline(root, {"a": (1.0, 2.0)})
    monkeypatch.setenv("FREQLEARN_BASELINE", "check")
    c = Claims("chap/nb", preset="quick", seed=11)  # as with BOOK_SEED=11
    assert not c.default_seed
    c.at_most("B", "a", measured=1.9, expected=2.0)
    c.report()  # no BaselineDrift: seeds are checked by the seeds record
    p = Claims("chap/nb", preset="paper")
    p.at_most("B", "a", measured=1.9, expected=2.0)
    p.report()
    assert Claims("chap/nb", preset="quick").default_seed


def test_cli_baseline_and_check(root, capsys):
    d0 = _dir(root, "default", {"a": (1.0, 2.0)})
    d1 = _dir(root, "avx2", {"a": (1.001, 2.0)})
    assert cl.main(["baseline", "default=v/default", f"avx2={d1}"]) == 0
    assert json.loads((root / "tests/baselines/quick.json").read_text())["chap/nb"]["B|a"][
        "spread"] == pytest.approx(1e-3)
    assert cl.main(["check", str(d0)]) == 0
    bad = _dir(root, "bad", {"a": (1.5, 2.0)})
    capsys.readouterr()
    assert cl.main(["check", "v/bad"]) == 1
    out = capsys.readouterr().out
    assert "chap/nb: claim 'B|a': measured 1.5" in out and "1 problem(s)" in out
    assert bad.exists()
    assert cl.main(["bogus"]) == 2
    with pytest.raises(SystemExit, match="NAME=DIR"):
        cl.main(["baseline", "nodir"])


# ------------------------------------------------------------------- seeds & paper record
def test_record_seeds_counts_agreement(root, capsys):
    d = {"default": _dir(root, "s0", {"a": (1.0, 2.0), "b": (1.0, 2.0)}),
         "11": _dir(root, "s11", {"a": (1.5, 2.0), "b": (2.5, 2.0)}),
         "22": _dir(root, "s22", {"a": (1.2, 2.0)})}
    out = root / "records" / "seeds" / "quick.json"
    dis = cl.record_seeds(d, out)
    rec = json.loads(out.read_text())
    a, b = rec["chap/nb"]["B|a"], rec["chap/nb"]["B|b"]
    assert (a["agree"], a["of"]) == (3, 3) and a["values"]["11"] == 1.5
    assert b["verdicts"] == {"default": "PASS", "11": "FAIL", "22": "missing"}
    assert b["agree"] == 1 and len(dis) == 1 and "'B|b'" in dis[0]
    assert set(rec["_provenance"]) >= {"commit", "date", "notebook_sha256"}
    assert cl.main(["seeds", *(f"{k}={v}" for k, v in d.items())]) == 1  # still writes
    assert (root / "records/seeds/quick.json").exists()


def test_record_run_provenance(root):
    d = _dir(root, "paper", {"a": (1.0, 2.0)}, preset="paper")
    (p,) = cl.record_run(d, root / "records" / "paper")
    assert p == root / "records" / "paper" / "chap" / "nb.json"
    obj = json.loads(p.read_text())
    prov = obj["provenance"]
    assert {"commit", "date", "machine", "device", "torch", "numpy", "python", "wall_s",
            "notebook_sha256", "preset", "seed"} <= set(prov)
    assert prov["preset"] == "paper" and prov["wall_s"] >= 0 and "cores" in prov["machine"]
    assert obj["claims"][0]["status"] == "tested"  # data unspecified: not a reproduction
    q = _dir(root, "quick", {"a": (1.0, 2.0)})
    with pytest.raises(ValueError, match="paper-preset runs only"):
        cl.record_run(q, root / "records" / "paper")
    # the code sha is taken at record time, so only when the notebook is the one that ran
    src = root / "book" / "chap" / "nb.md"
    src.parent.mkdir(parents=True)
    src.write_text("Prose.\n```{code-cell} ipython3\nx = 1\n```\n")
    d2 = _dir(root, "paper2", {"a": (1.0, 2.0)}, preset="paper")
    prov = json.loads(cl.record_run(d2, root / "r2")[0].read_text())["provenance"]
    assert prov["code_sha256"] == cl.notebook_code_sha256("chap/nb") is not None
    src.write_text("Prose.\n```{code-cell} ipython3\nx = 2\n```\n")   # edited since the run
    prov = json.loads(cl.record_run(d2, root / "r3")[0].read_text())["provenance"]
    assert prov["code_sha256"] is None


# ----------------------------------------------------------------------- scoreboard
def test_scoreboard_rows_split_and_mark(root):
    c = Claims("chap/nb", preset="quick", data="paper")
    c.at_least("P1", "accuracy", measured=cl.Stat([0.9, 0.92, 0.94]), expected=0.8,
               null=cl.Null(0.5, "shuffled labels", margin=0.1))
    c.close("P1", "svd", measured=1e-15, expected=0, atol=1e-10, kind="identity")
    c.holds("P2", "stand-in", value=True, data="stand-in")
    rows = c.to_json()
    rows[2]["drift"] = "claim 'P2|stand-in': verdict PASS vs baseline FAIL"
    p = Claims("chap/nb", preset="paper", data="paper")
    p.at_least("P1", "accuracy", measured=0.95, expected=0.8)
    paper = {"chap/nb": {"provenance": {"notebook_sha256": "old"},
                         "claims": [cl._normalise(r) for r in p.to_json()]}}
    seeds = {"_provenance": {"notebook_sha256": {"chap/nb": "new"}},
             "chap/nb": {"P1|accuracy": {"agree": 4, "of": 4}}}
    sb = cl.scoreboard_rows(rows, seeds=seeds, paper=paper, sha={"chap/nb": "new"},
                            catalog={"P1": "one", "P2": "two", "P3": "three"})
    (rep,) = sb["reproduced"]
    assert rep[0] == "P1" and rep[2] == "paper"
    assert rep[3].startswith("0.92 ± 0.0115") and "(n=3)" in rep[3]
    assert rep[5] == "shuffled labels: 0.5"
    assert rep[6] == "PASS 4/4" and rep[7] == "PASS (0.95) †"
    (tested,) = sb["tested"]
    assert tested[2] == "stand-in" and tested[6] == "PASS (seeds not run) §"
    assert tested[7] == "not run at paper scale"
    (ident,) = sb["identity"]
    assert ident[1] == "svd" and ident[5] == "—"
    assert sb["drift"] and "P2" in sb["drift"][0]
    cov = {r[0]: r for r in sb["coverage"]}
    assert cov["P3"][3] == "not yet reproduced"
    assert cov["P1"][2] == "2" and cov["P1"][4] == "1 PASS"
    assert "1 reproduced" in cov["P1"][5] and "not yet reproduced" in cov["P2"][5]
    assert "3 claims from 1 notebooks" in sb["summary"] and "1 identity" in sb["summary"]


def test_records_are_stale_when_their_code_changes_not_their_prose(root):
    nb = "\n".join(["# Title", "Prose.", "```{code-cell} ipython3", ":tags: [x]", "a = 1",
                     "```", "More prose."])
    prose = nb.replace("More prose.", "Other prose, a typo fixed.")
    code = nb.replace("a = 1", "a = 2")
    assert cl.code_cells(nb) == cl.code_cells(prose) != cl.code_cells(code)
    assert "Prose" not in cl.code_cells(nb) and ":tags: [x]" in cl.code_cells(nb)
    h = lambda t: __import__("hashlib").sha256(cl.code_cells(t).encode()).hexdigest()  # noqa
    p = Claims("chap/nb", preset="paper", data="paper")
    p.at_least("P1", "accuracy", measured=0.95, expected=0.8)
    paper = {"chap/nb": {"provenance": {"notebook_sha256": "file-at-run",
                                        "code_sha256": h(nb)},
                         "claims": [cl._normalise(r) for r in p.to_json()]}}

    def mark(text):
        sb = cl.scoreboard_rows(p.to_json(), paper=paper, sha={"chap/nb": "file-now"},
                                code_sha={"chap/nb": h(text)})
        return sb["reproduced"][0][7]

    assert mark(prose) == "PASS (0.95)"         # prose edited since the run: still current
    assert mark(code) == "PASS (0.95) †"        # code edited: the record is stale
    del paper["chap/nb"]["provenance"]["code_sha256"]  # an older record: whole-file sha
    assert mark(prose) == "PASS (0.95) †"


def test_scoreboard_markdown_escapes_pipes():
    c = Claims("chap/nb", preset="quick")
    c.holds("A", "x | y", value=False)
    md = cl.scoreboard_markdown(c.to_json())
    assert "x \\| y" in md and "FAIL" in md
    assert "| ID | claim | data" in md


def test_benchmarks_written_apart_and_not_baselined(root):
    c = Claims("chap/bench", preset="quick")
    c.holds("X1", "ok", value=True)
    assert c.benchmark("fft conv", np.float64(0.25), "s") == 0.25
    c.write()
    b = json.loads((root / "_build" / "benchmarks" / "chap" / "bench.json").read_text())
    assert len(b) == 1 and b[0]["what"] == "fft conv" and b[0]["value"] == 0.25
    assert b[0]["unit"] == "s" and b[0]["notebook"] == "chap/bench"
    rows = _file(root, "chap/bench")["claims"]
    assert [r["claim"] for r in rows] == ["ok"]  # benchmarks are not claims


def test_a_reconstructed_chapter_never_claims_the_papers_data(root):
    c = Claims("ricci-merger-goldt2026/data", preset="quick")
    with pytest.raises(ValueError, match="abstract"):
        c.holds("R2", "x", value=True, data="paper")
    c.data = "synthetic"
    c.holds("R2", "y", value=True)
    board = cl.scoreboard_rows(c.to_json())
    assert [r[2] for r in board["tested"]] == ["synthetic (reconstruction)"]

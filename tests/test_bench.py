"""``python -m freqlearn.bench --quick``: runs, prints its tables and writes a record of the
documented schema. Never asserts a speed (timings vary with the machine and its load)."""

from __future__ import annotations

import json
import math

import pytest

from freqlearn import bench


def _is_stat(d):
    return (isinstance(d, dict) and {"median", "q25", "q75", "n", "inner"} <= set(d)
            and 0 < d["q25"] <= d["median"] <= d["q75"] and d["n"] >= 1 and d["inner"] >= 1)


def _is_ratio(d):
    return (isinstance(d, dict) and set(d) == {"median", "lo", "hi"}
            and all(math.isfinite(v) and v > 0 for v in d.values())
            and d["lo"] <= d["median"] <= d["hi"])


def test_quick_bench_writes_the_schema(tmp_path, capsys):
    out = tmp_path / "records" / "bench" / "m.json"
    assert bench.main(["--quick", "--threads", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "FFT path vs conv2d" in text and "written:" in text
    rec = json.loads(out.read_text())
    assert rec["schema"] == bench.SCHEMA
    m = rec["meta"]
    for k in ("date", "host", "cpu", "cores", "torch", "default_threads", "gpu", "quick",
              "loadavg_start", "loadavg_end", "wall_s"):
        assert k in m, k
    assert m["quick"] is True
    assert rec["conv"] and {r["pass"] for r in rec["conv"]} == {"forward", "forward+backward"}
    for r in rec["conv"]:
        assert r["threads"] == 1 and r["device"] == "cpu"
        assert 1 <= r["conv2d_batch"] <= r["batch"]
        assert _is_stat(r["fft"]) and _is_stat(r["conv2d"]) and _is_ratio(r["ratio"])
        if r["pass"] == "forward":
            assert _is_stat(r["fft_hat"]) and _is_ratio(r["ratio_hat"])
            assert r["rel_diff"] < 1e-4  # the two paths compute the same layer
    ca = rec["convactually"]
    for k in ("fft_step", "conv2d_step", "fft_sensitivity", "conv2d_sensitivity"):
        assert _is_stat(ca[k]), k
    assert _is_ratio(ca["step_ratio"]) and _is_ratio(ca["sensitivity_ratio"])
    assert rec["trials"]["T"] == 10 and _is_ratio(rec["trials"]["ratio"])
    nl = rec["nlgp"]
    assert _is_stat(nl["fft"]) and _is_stat(nl["mvn"]) and _is_stat(nl["cholesky"])
    assert _is_ratio(nl["ratio_mvn"]) and _is_ratio(nl["ratio_cholesky"])
    assert set(rec["walls"]) == {"quick", "paper", "quick_source"}
    ab = rec["ablation"][0]
    assert ab["rel_diff"] < 1e-6 and _is_ratio(ab["forward+backward"]["speedup"])
    assert ("gpu" in rec) == bool(m["gpu"])
    assert "FFT" in bench.format_tables(rec)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="sections must be among"):
        bench.run(sections=["nope"])
    with pytest.raises(ValueError, match="threads must be positive integers"):
        bench.run(threads=[0], sections=["walls"])
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        bench.time_fn(lambda: None, repeats=0)
    with pytest.raises(TypeError, match="fn must be callable"):
        bench.time_fn(3)
    with pytest.raises(SystemExit):
        bench.main(["--threads", "a,b"])


def test_ratio_and_walls_from_records(tmp_path):
    slow = {"median": 4.0, "q25": 3.0, "q75": 5.0}
    fast = {"median": 2.0, "q25": 1.0, "q75": 2.5}
    assert bench.ratio(slow, fast) == {"median": 2.0, "lo": 3.0 / 2.5, "hi": 5.0}
    q = tmp_path / "_build" / "variants" / "default" / "ch"
    q.mkdir(parents=True)
    (q / "nb.run.json").write_text(json.dumps({"notebook": "ch/nb", "wall_s": 3.5}))
    (q / "nb.json").write_text("{}")
    p = tmp_path / "records" / "paper" / "ch"
    p.mkdir(parents=True)
    (p / "nb.json").write_text(json.dumps({"provenance": {
        "wall_s": 9.0, "device": "cpu", "reused": ["checkpoint c.pt (update 5 of 10)"]}}))
    w = bench.walls_section(tmp_path)
    assert w["quick_source"] == "_build/variants/default"
    assert w["quick"] == [{"notebook": "ch/nb", "wall_s": 3.5, "finished": None,
                           "machine": None, "reused": None}]
    assert w["paper"][0]["notebook"] == "ch/nb" and w["paper"][0]["wall_s"] == 9.0
    assert w["paper"][0]["reused"] == ["checkpoint c.pt (update 5 of 10)"]  # a restored run

"""The sweep API: results on disk, skip when saved, any executor — here a REAL local Dask
cluster (distributed.LocalCluster), interrupted by failing points and resumed."""

import os
from pathlib import Path

import pytest

from freqlearn import sweep as SW


def square_point(*, x: int, workdir: str, fail_file: str = "", log: str = "") -> dict:
    """A sweep point that logs its calls and fails while ``fail_file`` exists (x ≥ 2)."""
    if log:
        with open(log, "a") as f:
            f.write(f"{x}\n")
    if fail_file and x >= 2 and os.path.exists(fail_file):
        raise RuntimeError(f"interrupted at x={x}")
    Path(workdir, "ckpt.txt").write_text(str(x))       # a point's own checkpoint
    return {"x": x, "y": x * x}


def _calls(log):
    return sorted(int(s) for s in Path(log).read_text().split()) if Path(log).exists() else []


def test_dask_local_cluster_interrupt_and_resume(tmp_path):
    distributed = pytest.importorskip("distributed")
    log, fail = str(tmp_path / "calls.log"), str(tmp_path / "FAIL")
    Path(fail).write_text("1")
    pts = [{"x": x, "fail_file": fail, "log": log} for x in range(4)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(SW.SweepError, match="2 sweep point"):
            SW.sweep(square_point, pts, tmp_path / "res", executor=client)
        assert _calls(log) == [0, 1, 2, 3]
        os.remove(fail)                                  # "fix" the interruption
        out = SW.sweep(square_point, pts, tmp_path / "res", executor=client)
    assert [o["y"] for o in out] == [0, 1, 4, 9]
    assert _calls(log) == [0, 1, 2, 2, 3, 3]             # only the failed points re-ran
    assert SW.load(tmp_path / "res", square_point, pts[3])["y"] == 9
    key = SW.point_key(square_point, pts[2])
    assert (tmp_path / "res" / key / "ckpt.txt").read_text() == "2"


def test_serial_and_skip(tmp_path, monkeypatch):
    from freqlearn import presets

    monkeypatch.setattr(presets, "_REUSED", [])
    log = str(tmp_path / "l")
    pts = [{"x": 1, "log": log}, {"x": 3, "log": log}]
    assert [o["y"] for o in SW.sweep(square_point, pts, tmp_path, executor="serial")] == [1, 9]
    assert presets.reused() == []
    SW.sweep(square_point, pts, tmp_path, executor="serial")
    assert _calls(log) == [1, 3]
    assert presets.reused() == [f"sweep {tmp_path}: 2 of 2 points"]  # recorded with the claims


def test_thread_executor_partial_results(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    fail = tmp_path / "F"
    fail.write_text("1")
    pts = [{"x": x, "fail_file": str(fail)} for x in (1, 2)]
    with ThreadPoolExecutor(2) as ex:
        out = SW.sweep(square_point, pts, tmp_path / "r", executor=ex, raise_errors=False)
    assert out[0]["y"] == 1 and out[1] is None


def test_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match="executor"):
        SW.sweep(square_point, [{"x": 1}], tmp_path, executor="slurm")
    with pytest.raises(ValueError, match="identical"):
        SW.sweep(square_point, [{"x": 1}, {"x": 1}], tmp_path, executor="serial")
    with pytest.raises(TypeError, match="dict"):
        SW.point_key(square_point, [1, 2])
    with pytest.raises(ValueError, match="max_workers"):
        SW.sweep(square_point, [{"x": 1}], tmp_path, max_workers=0)

"""Ricci runners and data: checkpoints that resume the right run, checked arguments, no
silent NaN (probe-reliability-2 rows M3/RX.16, M4/RX.17, RX.1–15, RD.10–35, CB.9/11/13)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from freqlearn import train
from freqlearn.data import ricci as rd
from freqlearn.experiments import chowers as ch
from freqlearn.experiments import ricci as rx

# a short run on the easy task: two rates reach the accuracy threshold, the run stops early
KW = dict(cs=[0.5, 2.0], trials=2, K=4, batch=8, budget=4000, n_test=200, chunk=10)
KEYS = ("nstar_acc", "nstar_ov", "final_acc")


def _same(a, b):
    for k in KEYS:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert a["n_run"] == b["n_run"]


class Flaky:
    """A sampler of ``task`` that dies on its ``die_at``-th call while armed (a killed run)."""

    def __init__(self, task, die_at):
        self.task, self.die_at, self.calls, self.armed = task, die_at, 0, True

    def fingerprint(self):
        return self.task.fingerprint()

    def __call__(self, n, rng):
        self.calls += 1
        if self.armed and self.calls == self.die_at:
            raise RuntimeError("killed")
        return self.task.sample(n, rng)


# ------------------------------------------------------------------ M3 (RX.16)
def test_m3_finished_checkpoint_gives_the_result_of_the_run_that_wrote_it(tmp_path):
    task = rd.PhaseTask(8, family="A")
    ref = rx.online_nstar(task.sample, 8, **KW)                 # no checkpoint
    ck = tmp_path / "ck.pt"
    first = rx.online_nstar(task.sample, 8, checkpoint=ck, **KW)
    again = rx.online_nstar(task.sample, 8, checkpoint=ck, **KW)    # the file is finished
    assert np.isfinite(first["nstar_acc"]).any() and first["n_run"] > 0
    _same(first, ref)
    _same(again, first)


@pytest.mark.parametrize("die_at", [4, 12])
def test_m3_killed_run_resumes_to_the_uninterrupted_result(tmp_path, die_at):
    task = rd.PhaseTask(8, family="A")
    kw = dict(KW, stop_factor=float("inf"), budget=2400)          # 30 chunks, no early stop
    ref = rx.online_nstar(task.sample, 8, **kw)
    ck = tmp_path / "ck.pt"
    s = Flaky(task, die_at)         # call 1 draws the test set, call k chunk k − 2 (saved: even)
    with pytest.raises(RuntimeError, match="killed"):
        rx.online_nstar(s, 8, checkpoint=ck, checkpoint_every=2, **kw)
    assert ck.exists()
    s.armed, s.calls = False, 0
    res = rx.online_nstar(s, 8, checkpoint=ck, checkpoint_every=2, **kw)
    assert s.calls < 30                                            # resumed, not restarted
    _same(res, ref)
    _same(rx.online_nstar(s, 8, checkpoint=ck, checkpoint_every=2, **kw), ref)   # finished


# ------------------------------------------------------------------ M4 (RX.17)
@pytest.mark.parametrize("change", [
    dict(task=dict(family="B")), dict(task=dict(family="A", width=2.0)),
    dict(n_test=100), dict(budget=3200), dict(chunk=5), dict(K=3), dict(seed=1),
    dict(acc_threshold=0.7), dict(stop_factor=3.0), dict(lr_scale=0.5)])
def test_m4_fingerprint_covers_what_determines_the_run(tmp_path, change):
    ck = tmp_path / "ck.pt"
    s = Flaky(rd.PhaseTask(8, family="A"), 5)
    with pytest.raises(RuntimeError, match="killed"):            # interrupted at chunk 3
        rx.online_nstar(s, 8, checkpoint=ck, checkpoint_every=1, **KW)
    before = ck.read_bytes()
    change = dict(change)
    other = Flaky(rd.PhaseTask(8, **change.pop("task", dict(family="A"))), 0)   # never dies
    with pytest.raises(train.CheckpointMismatch) as e:
        rx.online_nstar(other, 8, checkpoint=ck, **dict(KW, **change))
    key = next(iter(change), "sampler")
    assert key in str(e.value)
    assert ck.read_bytes() == before                              # nothing resumed or written


def test_m4_sampler_identity_names_the_task_through_methods_partials_and_closures():
    a, b = rd.PhaseTask(8, family="A"), rd.PhaseTask(8, family="B")

    def wrap(task):
        def sample(n, rng):
            return task.sample(n, rng)
        return sample

    ida, idb = rx._describe_sampler(a.sample), rx._describe_sampler(b.sample)
    assert ida != idb and ida["of"]["family"] == "A"
    assert rx._describe_sampler(wrap(a)) != rx._describe_sampler(wrap(b))
    assert rx._describe_sampler(rd.PhaseTask(8, family="A").sample) == ida
    pool = rx.texture_pool(6, 4, np.random.default_rng(0))
    white = rx.texture_pool(6, 4, np.random.default_rng(0), whitened=True)
    assert rx._describe_sampler(pool.sample) != rx._describe_sampler(white.sample)


def test_m4_a_family_b_run_refuses_a_family_a_file_through_nstar_point(tmp_path):
    kw = dict(N=8, cs=[1.0], trials=1, budget=800, n_test=50, chunk=10, workdir=tmp_path)
    rx.nstar_point(task=dict(family="A"), **kw)
    with pytest.raises(train.CheckpointMismatch, match="family"):
        rx.nstar_point(task=dict(family="B"), **kw)


# ------------------------------------------------------------------ RX.1–15: argument checks
def _nstar(**kw):
    base = dict(cs=[1.0], trials=1, budget=80, n_test=20, chunk=2)
    return rx.online_nstar(rd.PhaseTask(8, family="A").sample, kw.pop("D_in", 8),
                           **dict(base, **kw))


@pytest.mark.parametrize("kw, err, name", [
    (dict(trials=2.7), TypeError, "trials"),            # RX.1: ran 2 trials
    (dict(trials=True), TypeError, "trials"),
    (dict(K=4.0), TypeError, "K must"), (dict(batch=8.0), TypeError, "batch"),
    (dict(budget=80.5), TypeError, "budget"), (dict(n_test=20.0), TypeError, "n_test"),
    (dict(seed=1.5), TypeError, "seed"), (dict(chunk=2.0), TypeError, "chunk"),
    (dict(D_in=8.0), TypeError, "D_in"),
    (dict(cs=[float("nan")]), ValueError, "cs"),        # RX.2
    (dict(cs=[float("inf")]), ValueError, "cs"),        # RX.3
    (dict(budget=0), ValueError, "budget"),             # RX.4
    (dict(batch=0), ValueError, "batch"),               # RX.5
    (dict(chunk=0), ValueError, "chunk"),               # RX.6
    (dict(n_test=0), ValueError, "n_test"),             # RX.7
    (dict(seed=-1), ValueError, "seed"),                # RX.8
    (dict(acc_threshold=float("nan")), ValueError, "acc_threshold"),    # RX.9
    (dict(overlap_threshold=1.5), ValueError, "overlap_threshold"),
    (dict(K=0), ValueError, "K must"),                       # RX.10
    (dict(D_in=7), ValueError, "D_in"),                 # RX.11
    (dict(device="meta"), ValueError, "device"),        # RX.12
    (dict(lr_scale=0.0), ValueError, "lr_scale"), (dict(stop_factor=-1.0), ValueError,
                                                     "stop_factor")])
def test_rx_online_nstar_checks_its_arguments(kw, err, name):
    with pytest.raises(err, match=name):
        _nstar(**kw)


@pytest.mark.parametrize("call, err, name", [
    (lambda: rx.nstar_point(N=8.9, task={}, cs=[1.0], trials=1, budget=80, n_test=20),
     TypeError, "N must"),                              # RX.13: ran N = 8
    (lambda: rx.nstar_point(N=8, task={}, cs=[1.0], trials=2.5, budget=80, n_test=20),
     TypeError, "trials"),
    (lambda: rx.nstar_point(N=8, task={}, cs=[1.0], trials=1, seed=0.5), TypeError, "seed"),
    (lambda: rx.nstar_point(N=8, task={}, cs=[1.0], trials=1, rate_exponent=float("nan")),
     ValueError, "rate_exponent"),
    (lambda: rx.scan_sizes(dict(family="A"), [8.5], cs=[1.0], trials=1), TypeError, "Ns"),
    (lambda: rx.scan_sizes(dict(family="A"), [8], cs=[1.0], trials=1.5), TypeError,
     "trials"),
    (lambda: rx.texture_point(size=6.5, n_pool=4, pool_seed=0, whitened=False, cs=[1.0],
                              trials=1), TypeError, "size"),
    (lambda: rx.texture_point(size=6, n_pool=4, pool_seed=0, whitened="no", cs=[1.0],
                              trials=1), TypeError, "whitened"),
    (lambda: rx.best_rate({"cs": [1.0], "nstar_acc": np.ones((1, 2)), "n_run": 8}, "bogus"),
     ValueError, "key"),                                # RX.15
    (lambda: rx.probe_time(np.ones((1, 3)), [1, 2, 3], 0.1, frac=0.0), ValueError, "frac"),
    (lambda: rx.spectrum_classifier(rd.PhaseTask(8), 10.0, 5, np.random.default_rng(0)),
     TypeError, "n_train")])
def test_rx_other_runners_refuse_floats_and_bad_values(call, err, name):
    with pytest.raises(err, match=name):
        call()


# ------------------------------------------------------------------ RD: data.ricci
@pytest.mark.filterwarnings("error")      # a RuntimeWarning (0/0 → NaN) fails the test
@pytest.mark.parametrize("call, err, name", [
    (lambda r: rd.PhaseTask(8, amplitude="natural").natural_spectrum(n_mc=0), ValueError,
     "n_mc"),                                                       # RD.14
    (lambda r: rd.PhaseTask(8, amplitude="natural").natural_spectrum(n_mc=-5), ValueError,
     "n_mc"),                                                       # RD.15
    (lambda r: rd.gaussian_field(4, np.zeros(8), r), ValueError, r"\bS is zero"),       # RD.16
    (lambda r: rd.gaussian_field(-1, np.ones(8), r), ValueError, r"\bn must"),       # RD.17
    (lambda r: rd.gaussian_field(4, np.r_[1.0, np.nan, np.ones(6)], r), ValueError,
     r"\bS must"),                                                          # RD.18
    (lambda r: rd.gaussian_field(4, -np.ones(8), r), ValueError, r"\bS must"),
    (lambda r: rd.sparse_field(r.standard_normal((6, 8, 8)), threshold=np.nan), ValueError,
     "threshold"),                                                  # RD.19
    (lambda r: rd.sparse_field(r.standard_normal((6, 8)), threshold=-1), ValueError,
     "threshold"),                                                  # RD.20
    (lambda r: rd.hermite_moments(r.standard_normal((4, 8)), np.r_[np.ones((1, 8)),
                                                                     np.zeros((1, 8))]),
     ValueError, r"w\[1\]"),                                        # RD.25
    (lambda r: rd.gaussian_clone(r.standard_normal((6, 4, 4)), np.arange(6) % 2, 5, r,
                                 ridge=-1), ValueError, "ridge"),   # RD.26
    (lambda r: rd.gaussian_clone(r.standard_normal((10, 8, 8)), np.arange(10), 5, r),
     ValueError, "class"),                                          # RD.27
    (lambda r: rd.whiten(r.standard_normal((6, 8, 8)), np.zeros((8, 8))), ValueError,
     "mean_amplitude"),                                             # RD.29
    (lambda r: rd.whiten_images(r.standard_normal((4, 3, 8, 8)), np.zeros((3, 8, 8))),
     ValueError, "mean_amplitude"),                                 # RD.30
    (lambda r: rd.texture_patches(4, 10000, r), ValueError, "size"),         # RD.31
    (lambda r: rd.phases_of(r.standard_normal((6, 8, 8)), dim=3), ValueError, "dim"),
    (lambda r: rd.phases_of(r.standard_normal((6, 8, 8)), dim=1), ValueError, r"\bx must"),  # RD.35
    (lambda r: rd.PhaseTask(8).sample(4, 42), TypeError, "rng"),             # RD.12
    (lambda r: rd.PhaseTask(8, family="A").sample(4, np.random.RandomState(0)), TypeError,
     "rng"),                                                        # RD.13
    (lambda r: rd.random_phases(2.0, (8,), r), TypeError, r"\bn must"),
    (lambda r: rd.synthesize(np.ones(8), np.ones((2, 4))), ValueError, "phase"),
    (lambda r: rd.radial_power(np.ones(8)), ValueError, r"\bx must"),
    (lambda r: rd.amplitude_only(r.standard_normal((2, 3, 8, 8)), r, same_field=1),
     TypeError, "same_field"),
    (lambda r: rd.swap(np.ones((2, 8, 8)), np.ones((3, 8, 8))), ValueError, "x_amp"),
    (lambda r: rd.He(2, [np.inf]), ValueError, r"\bh must"),
    (lambda r: rd.PhaseTask(2 ** 15, dim=2), ValueError, "GiB")])            # RD.8
def test_rd_data_functions_refuse_what_would_give_nan(call, err, name):
    with pytest.raises(err, match=name):
        call(np.random.default_rng(0))


@pytest.mark.filterwarnings("error")
def test_rd_valid_calls_still_work_and_zero_samples_are_empty():
    r = np.random.default_rng(1)
    for fam in ("A", "B"):
        for amp in ("exact", "shared", "natural"):
            x, y = rd.PhaseTask(8, family=fam, amplitude=amp).sample(0, r)   # RD.10
            assert x.shape == (0, 8) and y.shape == (0,)
    x = r.standard_normal((10, 8, 8))
    xc, yc = rd.gaussian_clone(x, np.arange(10) % 2, 3, r)
    assert xc.shape == (6, 8, 8) and np.isfinite(xc).all()
    assert np.isfinite(rd.hermite_moments(x, r.standard_normal((3, 64)))).all()
    amp = np.abs(np.fft.fft2(x, norm="ortho")).mean(0)
    assert np.isclose(rd.whiten(x, amp).std(), 1.0)
    assert rd.phases_of(x, dim=2).shape == (10, 8, 5)
    t = rd.PhaseTask(8, amplitude="natural")
    assert t.natural_spectrum(n_mc=50).shape == (8,)
    assert not np.array_equal(t.natural_spectrum(n_mc=50), t.natural_spectrum(n_mc=60))


# ------------------------------------------------------------------ CB: load_celeba
def _celeba(root):
    from PIL import Image

    names = [f"{k:06d}.jpg" for k in range(1, 7)]
    root.mkdir(parents=True)
    (root / "list_attr_celeba.txt").write_text(
        "6\nMale\n" + "".join(f"{n} {1 - 2 * (k % 2)}\n" for k, n in enumerate(names)))
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{n} {p}\n" for n, p in zip(names, [0, 0, 0, 0, 2, 2], strict=True)))
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(root / "img_align_celeba.zip", "w") as z:
        for n in names:
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)).save(buf, "PNG")
            z.writestr(f"img_align_celeba/{n}", buf.getvalue())
    return root


@pytest.mark.filterwarnings("error")
def test_cb9_load_celeba_refuses_no_training_images_and_floats(tmp_path):
    root = _celeba(tmp_path / "celeba")
    with pytest.raises(ValueError, match="n_train"):               # CB.9: NaN images
        ch.load_celeba(0, 1, size=4, root=root)
    with pytest.raises(TypeError, match="n_train"):                # CB.11
        ch.load_celeba(2.5, 1, size=4, root=root)
    with pytest.raises(ValueError, match="seed"):                  # CB.13
        ch.load_celeba(2, 1, size=4, seed=-1, root=root)
    with pytest.raises(TypeError, match="size"):
        ch.load_celeba(2, 1, size=4.0, root=root)
    D = ch.load_celeba(2, 0, size=4, root=root)                    # no test images is fine
    assert D["x"].shape == (2, 3, 4, 4) and D["x_test"].shape == (0, 3, 4, 4)
    assert np.isfinite(D["x"]).all()

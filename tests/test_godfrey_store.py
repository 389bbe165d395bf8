"""The Godfrey runners' checkpoints and inputs under attack (probe-reliability-2: H2, M1,
M2, M5, M11 and the L rows on ``paper_point``, ``stationary_gaussian`` and
``planted_teacher``). Tiny models and data on the CPU, AMP off."""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn import store, train
from freqlearn import sweep as flsweep
from freqlearn.data import godfrey as D
from freqlearn.experiments import godfrey as E
from freqlearn.nets import godfrey as G


class _Payload:
    """Pickles to ``open(marker, "w")``: a file that runs code when loaded by plain pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant_payload(path, marker):
    """Write a code-running ``path``; check that plain pickle loading *would* run it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": _Payload(marker)}, path)
    torch.load(path, weights_only=False)          # the payload is live ...
    assert marker.exists()
    marker.unlink()                               # ... and the marker is gone again


def _tiny(seed=0, n=48):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)
    return (x, y), (x[:16], y[:16])


def _net(seed=0):
    torch.manual_seed(seed)
    return G.ConvActually(1, width=2, in_channels=1, size=8)


KW = dict(lr=0.05, batch=16, weight_decay=1e-4, patience=1, max_epochs=3, seed=0,
          device="cpu", amp=False)


def _train(workdir, **over):
    tr, va = _tiny()
    net = _net()
    out = E.train_paper(net, tr, va, workdir=workdir, **dict(KW, **over))
    return net, out


def _same(a, b):
    (na, oa), (nb, ob) = a, b
    assert oa["history"] == ob["history"] and oa["best_val_acc"] == ob["best_val_acc"]
    sa, sb = na.state_dict(), nb.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


TINY_POINT = dict(kind="convactually", depth=1, weight_decay=1e-5, seed=0,
                  schedule="convactually-depth", size=8, channels=1, width=2, n_train=40,
                  n_test=10, max_epochs=1, batch=8, patience=1, n_sens=4, prefer="standin")


# --------------------------------------------------------------------------------- H2
def test_h2_train_paper_refuses_a_code_running_checkpoint(tmp_path):
    marker = tmp_path / "ran"
    ck = tmp_path / "train_paper.pt"
    _plant_payload(ck, marker)
    with pytest.raises(store.StoreCorrupt, match="refused for safety") as e:
        _train(tmp_path)
    assert str(ck) in str(e.value) and "Delete" in str(e.value)
    assert not marker.exists()


def test_h2_paper_point_sweep_refuses_a_code_running_checkpoint(tmp_path):
    marker = tmp_path / "ran"
    folder = tmp_path / "sweep"
    ck = folder / flsweep.point_key(E.paper_point, TINY_POINT) / "train_paper.pt"
    _plant_payload(ck, marker)
    with pytest.raises(flsweep.SweepError) as e:
        flsweep.sweep(E.paper_point, [TINY_POINT], folder, executor="serial")
    (err,) = e.value.errors.values()
    assert isinstance(err, store.StoreCorrupt) and str(ck) in str(err)
    assert not marker.exists()


def test_h2_a_checkpoint_of_the_old_format_is_named_not_loaded(tmp_path):
    ck = tmp_path / "train_paper.pt"
    torch.save({"model": _net().state_dict(), "epoch": 1}, ck)   # no format marker
    with pytest.raises(store.StoreCorrupt, match="format marker") as e:
        _train(tmp_path)
    assert str(ck) in str(e.value)


# --------------------------------------------------------------------------------- M1
def test_m1_another_runs_checkpoint_is_refused_before_anything_is_touched(tmp_path):
    _train(tmp_path, max_epochs=2)
    for over, field in ((dict(weight_decay=0.5), "weight_decay"), (dict(lr=0.01), "lr"),
                        (dict(seed=1), "seed"), (dict(batch=8), "batch"),
                        (dict(patience=0), "patience"), (dict(augment=False), "augment"),
                        (dict(min_lr=1e-3), "min_lr")):
        tr, va = _tiny()
        net = _net()
        before = {k: v.clone() for k, v in net.state_dict().items()}
        with pytest.raises(store.StoreMismatch) as e:
            E.train_paper(net, tr, va, workdir=tmp_path, **dict(KW, max_epochs=2, **over))
        assert f"  {field}: saved" in str(e.value) and str(tmp_path) in str(e.value)
        assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    # other data, another model size
    (x, y), va = _tiny()
    with pytest.raises(store.StoreMismatch, match="data.digest"):
        E.train_paper(_net(), (x + 0.5, y), va, workdir=tmp_path, **dict(KW, max_epochs=2))
    tr, va = _tiny()
    with pytest.raises(store.StoreMismatch, match="parameters"):
        E.train_paper(G.ConvActually(1, width=3, in_channels=1, size=8), tr, va,
                      workdir=tmp_path, **dict(KW, max_epochs=2))
    # fewer epochs than the file holds (P.6: asked for 1, silently got 2)
    with pytest.raises(store.StoreMismatch, match="max_epochs"):
        _train(tmp_path, max_epochs=1)


def test_m1_the_notebook_context_is_part_of_the_fingerprint(tmp_path):
    _train(tmp_path, max_epochs=1)
    train.set_context("probe/nb", "paper", 1)
    try:
        with pytest.raises(store.StoreMismatch, match="preset"):
            _train(tmp_path, max_epochs=1)
    finally:
        train.clear_context()


# ------------------------------------------------------------------------ M2, resume
def test_m2_a_truncated_checkpoint_names_the_file_and_the_fix(tmp_path):
    _train(tmp_path, max_epochs=1)
    ck = tmp_path / "train_paper.pt"
    ck.write_bytes(ck.read_bytes()[:ck.stat().st_size // 2])
    with pytest.raises(store.StoreCorrupt, match="truncated") as e:
        _train(tmp_path)
    assert str(ck) in str(e.value) and f"Delete {ck}" in str(e.value)
    ck.write_bytes(b"")
    with pytest.raises(store.StoreCorrupt, match=r"empty or truncated"):
        _train(tmp_path)


def test_resume_after_an_interruption_is_bit_identical(tmp_path, monkeypatch):
    whole = _train(tmp_path / "a")
    calls = {"n": 0}
    real = E._accuracy

    def dies_in_epoch_2(*a):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(E, "_accuracy", dies_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "b")
    monkeypatch.setattr(E, "_accuracy", real)
    assert store.load_torch(tmp_path / "b" / "train_paper.pt")["epoch"] == 1
    _same(whole, _train(tmp_path / "b"))
    # a finished shorter run asked for more epochs continues exactly as one run
    _train(tmp_path / "c", max_epochs=2)
    _same(whole, _train(tmp_path / "c"))
    # re-running a finished run returns it without training
    _same(whole, _train(tmp_path / "c"))


def test_a_run_stopped_by_min_lr_stays_stopped_when_resumed(tmp_path):
    stop = dict(lr=0.05, min_lr=0.01, patience=0)
    whole = _train(tmp_path / "a", **dict(stop, max_epochs=6))
    done = len(whole[1]["history"]["epoch"])
    assert done < 6 and whole[1]["history"]["lr"][-1] < 0.01
    _train(tmp_path / "b", **dict(stop, max_epochs=done))
    _same(whole, _train(tmp_path / "b", **dict(stop, max_epochs=6)))


_KILL = """
import io, os, signal, sys
import torch
sys.path.insert(0, {tests!r})
from test_godfrey_store import _train

real, n = torch.save, [0]

def dying_save(obj, f, *a, **k):
    n[0] += 1
    if n[0] == 2:                          # the epoch-2 checkpoint: half of it, then kill -9
        buf = io.BytesIO()
        real(obj, buf, *a, **k)
        f.write(buf.getvalue()[:len(buf.getvalue()) // 2])
        f.flush()
        os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return real(obj, f, *a, **k)

torch.save = dying_save
_train({d!r})
"""


def test_m2_kill_9_during_the_save_leaves_the_previous_checkpoint_usable(tmp_path):
    d = tmp_path / "b"
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(_KILL.format(tests=os.path.dirname(__file__),
                                                   d=str(d))))
    env = dict(os.environ, OMP_NUM_THREADS="1", FREQLEARN_PROGRESS="0")
    p = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                       timeout=120)
    assert p.returncode == -9, p.stderr.decode()[-2000:]
    assert store.load_torch(d / "train_paper.pt")["epoch"] == 1     # the epoch-1 file
    _same(_train(tmp_path / "a"), _train(d))


def test_max_epochs_0_trains_nothing(tmp_path):
    net, out = _train(tmp_path, max_epochs=0)
    ref = _net()
    assert all(torch.equal(v, ref.state_dict()[k]) for k, v in net.state_dict().items())
    assert out["history"]["epoch"] == [] and 0.0 <= out["best_val_acc"] <= 1.0
    assert not (tmp_path / "train_paper.pt").exists()


def test_train_paper_checks_its_arguments():
    tr, va = _tiny()
    for over, exc, name in ((dict(lr=0.0), ValueError, "lr"), (dict(lr=math.nan), ValueError,
                            "lr"), (dict(batch=0), ValueError, "batch"),
                            (dict(batch=2.0), TypeError, "batch"),
                            (dict(weight_decay=-1.0), ValueError, "weight_decay"),
                            (dict(patience=-1), ValueError, "patience"),
                            (dict(max_epochs=1.5), TypeError, "max_epochs"),
                            (dict(min_lr=math.inf), ValueError, "min_lr"),
                            (dict(seed=-1), ValueError, "seed"),
                            (dict(amp=1), TypeError, "amp"),
                            (dict(device="meta"), ValueError, "device"),
                            (dict(device="gpu7"), ValueError, "device")):
        with pytest.raises(exc, match=name):
            E.train_paper(_net(), tr, va, **dict(KW, **over))
    with pytest.raises(ValueError, match="val_set"):
        E.train_paper(_net(), tr, (va[0][:0], va[1][:0]), **KW)
    with pytest.raises(TypeError, match="train_set y"):
        E.train_paper(_net(), (tr[0], tr[1].float()), va, **KW)


def test_scheduler_state_is_stored_as_plain_data():
    assert E._plain_state({"a": np.float64(2.5), "b": [1, None, "x"]}, "s") == \
        {"a": 2.5, "b": [1, None, "x"]}
    with pytest.raises(TypeError, match=r"s\['f'\] is a function"):
        E._plain_state({"f": lambda: 0}, "s")


# --------------------------------------------------------------------------------- M5
def _classifier_data():
    g = torch.Generator().manual_seed(3)
    return torch.rand(40, 1, 8, 8, generator=g), torch.randint(0, 10, (40,), generator=g)


def _classify(ck, seed=0, **over):
    x, y = _classifier_data()
    net = _net(seed)
    kw = dict(steps=10, lr=0.05, weight_decay=0.0, batch=8, seed=0, checkpoint=ck)
    out = E.train_classifier(net, x, y, **dict(kw, **over))
    return net, out


def test_m5_train_classifier_explicit_path_is_fingerprinted(tmp_path):
    ck = tmp_path / "c.pt"
    net, out = _classify(ck)
    assert out[0] == 10 and ck.exists()
    for over in (dict(weight_decay=0.9), dict(lr=0.5), dict(batch=4), dict(steps=12),
                 dict(optimizer="adam"), dict(clip=1.0)):
        with pytest.raises(train.CheckpointMismatch) as e:
            _classify(ck, **over)
        assert str(ck) in str(e.value)
    with pytest.raises(train.CheckpointMismatch, match="weight_decay"):
        _classify(ck, weight_decay=0.9)
    with pytest.raises(train.CheckpointMismatch, match="train_classifier"):
        _classify(ck, seed=1)                                   # another initialisation
    # the same call resumes the finished file: same model, and the steps it ran
    net2, out2 = _classify(ck)
    assert out2 == out
    assert all(torch.equal(v, net2.state_dict()[k]) for k, v in net.state_dict().items())


def test_m5_checkpoint_none_still_means_none(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "always")
    monkeypatch.setenv("FREQLEARN_CHECKPOINTS", str(tmp_path / "auto"))
    _, out = _classify(None)
    assert out[0] == 10 and not (tmp_path / "auto").exists()
    with pytest.raises(ValueError, match="optimizer"):
        _classify(None, optimizer="adamw")                     # was silently Adam


def test_sensitivity_point_checkpoint_still_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "always")
    kw = dict(kind="convactually", depth=1, weight_decay=1e-3, seed=0, size=8, width=2,
              n_train=16, n_test=4, steps=6, data_seed=0, workdir=tmp_path)
    a = E.sensitivity_point(**kw)
    assert (tmp_path / "ckpt.pt").exists()
    before = len(fl.presets.reused())
    b = E.sensitivity_point(**kw)
    assert len(fl.presets.reused()) == before + 1              # restored, not retrained
    assert a["steps"] == b["steps"] == 6 and a["train_loss"] == b["train_loss"]
    np.testing.assert_array_equal(a["trained_map"], b["trained_map"])
    with pytest.raises(train.CheckpointMismatch):
        E.sensitivity_point(**dict(kw, weight_decay=0.5))
    for over, exc, name in ((dict(kind="mlp"), ValueError, "kind"),
                            (dict(depth=1.0), TypeError, "depth"),
                            (dict(weight_decay=math.nan), ValueError, "weight_decay"),
                            (dict(lr=0.0), ValueError, "lr"),
                            (dict(steps=-1), ValueError, "steps"),
                            (dict(optimizer="adamw"), ValueError, "optimizer"),
                            (dict(seed=True), TypeError, "seed")):
        with pytest.raises(exc, match=name):
            E.sensitivity_point(**dict(kw, **over))


# -------------------------------------------------------------------------------- M11
def test_m11_planted_teacher_refuses_meta_and_mixed_devices():
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="x is a tensor on the meta device"):
        D.planted_teacher(x.to("meta"), noise=0.0)
    w = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="w_star and x must be on the same device"):
        D.planted_teacher(x, w_star=w.to("meta"))
    with pytest.raises(TypeError, match="x must be a real floating tensor"):
        D.planted_teacher(x.long())
    with pytest.raises(TypeError, match="w_star must be a tensor"):
        D.planted_teacher(x, w_star=w.numpy())
    with pytest.raises(TypeError, match="generator"):
        D.planted_teacher(x, generator=np.random.default_rng(0))
    # valid calls draw what they drew before
    g = torch.Generator().manual_seed(5)
    y, w_star = D.planted_teacher(x, 2, noise=0.1, generator=g)
    g = torch.Generator().manual_seed(5)
    w0 = torch.randn((2, 1, 8, 8), generator=g, dtype=x.dtype)
    w0 = w0 / w0.flatten(1).norm(dim=1)[:, None, None, None]
    y0 = torch.einsum("nchw,kchw->nk", x, w0) + 0.1 * torch.randn((4, 2), generator=g,
                                                                 dtype=x.dtype)
    assert torch.equal(w_star, w0) and torch.equal(y, y0)


# --------------------------------------------------------------------------- L: data
def test_l_stationary_gaussian_dtype_zero_and_inputs():
    tau = D.power_law_tau((1, 8, 8))
    with pytest.raises(TypeError, match="dtype"):
        D.stationary_gaussian(4, tau, dtype=torch.int64)
    with pytest.raises(TypeError, match="dtype"):
        D.stationary_gaussian(4, tau, dtype=torch.complex64)
    with pytest.raises(TypeError, match="dtype"):
        D.stationary_gaussian(4, tau, dtype="float32")
    with pytest.raises(TypeError, match="generator"):
        D.stationary_gaussian(4, tau, generator=np.random.default_rng())
    with pytest.raises(TypeError, match="n must be an integer"):
        D.stationary_gaussian(2.0, tau)
    with pytest.raises(ValueError, match="would need"):
        D.stationary_gaussian(10**9, tau)
    with pytest.raises(TypeError, match="tau"):
        D.stationary_gaussian(2, np.full((1, 4, 4), "a"))
    with pytest.raises(ValueError, match="tau is a tensor on the meta device"):
        D.stationary_gaussian(2, torch.as_tensor(tau).to("meta"))
    e = D.stationary_gaussian(0, tau, dtype=torch.float32)
    assert e.shape == (0, 1, 8, 8) and e.dtype == torch.float32
    # valid calls draw what they drew before; a tensor tau is the same as an array
    x = D.stationary_gaussian(3, torch.as_tensor(tau), generator=torch.Generator()
                              .manual_seed(0), dtype=torch.float32)
    z = torch.randn((3, 1, 8, 8), generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64)
    ref = torch.fft.ifft2(torch.fft.fft2(z, norm="ortho") * torch.as_tensor(tau).sqrt(),
                          norm="ortho").real.float()
    assert torch.equal(x, ref)


def test_l_power_law_tau_refuses_bad_parameters():
    for kw, exc, name in ((dict(alpha=math.inf), ValueError, "alpha"),
                          (dict(beta=math.nan), ValueError, "beta"),
                          (dict(delta=math.inf), ValueError, "delta"),
                          (dict(gamma=math.nan), ValueError, "gamma"),
                          (dict(gamma="big"), TypeError, "gamma"),
                          (dict(gamma=True), TypeError, "gamma"),
                          (dict(gamma=[[1.0]]), ValueError, "gamma")):
        with pytest.raises(exc, match=name):
            D.power_law_tau((1, 8, 8), **kw)
    with pytest.raises(TypeError, match="shape"):
        D.power_law_tau((1, 8.0, 8))
    with pytest.raises(ValueError, match="would need"):
        D.power_law_tau((1, 10**6, 10**6))
    np.testing.assert_array_equal(D.power_law_tau((2, 4, 4), gamma=torch.tensor([1.0, 0.5])),
                                  D.power_law_tau((2, 4, 4), gamma=[1.0, 0.5]))


# ------------------------------------------------------------------- L: paper_point
@pytest.mark.parametrize("over, exc, name", [
    (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    (dict(weight_decay=math.nan), ValueError, "weight_decay"),
    (dict(lr=math.nan), ValueError, "lr"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(batch=0), ValueError, "batch"),
    (dict(batch=8.0), TypeError, "batch"),
    (dict(max_epochs=-1), ValueError, "max_epochs"),
    (dict(max_epochs=1.5), TypeError, "max_epochs"),
    (dict(patience=-1), ValueError, "patience"),
    (dict(n_sens=-1), ValueError, "n_sens"),
    (dict(n_sens=0), ValueError, "n_sens"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(data_seed=2.5), TypeError, "data_seed"),
    (dict(depth=1.0), TypeError, "depth"),
    (dict(width=True), TypeError, "width"),
    (dict(size=0), ValueError, "size"),
    (dict(channels=0), ValueError, "channels"),
    (dict(schedule="bogus"), ValueError, "schedule"),
    (dict(kind="bogus"), ValueError, "kind"),
])
def test_l_paper_point_checks_every_argument_before_reading_data(over, exc, name,
                                                                 monkeypatch):
    def no_data(**kw):
        raise AssertionError("data was read before the arguments were checked")

    monkeypatch.setattr(E, "paper_data", no_data)
    with pytest.raises(exc, match=name):
        E.paper_point(**dict(TINY_POINT, **over))


def test_l_paper_point_zero_is_a_value_not_unset(monkeypatch):
    seen = {}

    class _Got(Exception):
        pass

    def spy(model, train_set, val_set, **kw):
        seen.update(kw)
        raise _Got

    monkeypatch.setattr(E, "train_paper", spy)
    for over, key, want in ((dict(max_epochs=0), "max_epochs", 0),
                            (dict(patience=0), "patience", 0),
                            (dict(max_epochs=None), "max_epochs", 500),
                            (dict(batch=None), "batch", 1024),
                            (dict(lr=None), "lr", 1e-4),
                            (dict(patience=None), "patience", 20)):
        seen.clear()
        with pytest.raises(_Got):
            E.paper_point(**dict(TINY_POINT, **over))
        assert seen[key] == want and type(seen[key]) is type(want)
    with pytest.raises(ValueError, match="n_sens must be at most the 10 test images"):
        E.paper_point(**dict(TINY_POINT, n_sens=11))         # was: silently all but one


def test_l_paper_point_max_epochs_0_runs_no_epoch():
    out = E.paper_point(**dict(TINY_POINT, max_epochs=0))
    assert out["history"]["epoch"] == [] and np.isfinite([out["m1"], out["m2"]]).all()

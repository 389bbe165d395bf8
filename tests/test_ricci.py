"""Unit tests of the Ricci, Merger & Goldt (2026) reconstruction (data, nets, theory)."""

import numpy as np
import pytest
import torch

from freqlearn.data import ricci as rd
from freqlearn.experiments import ricci as rx
from freqlearn.nets.ricci import MLP, SmallCNN, TwoLayer
from freqlearn.theory import ricci as rt


def test_power_law_normalised_and_dc_zero():
    for dim in (1, 2):
        A = rd.power_law_amplitude(8, 1.0, dim)
        assert A.flat[0] == 0
        assert np.isclose(np.sum(A ** 2), A.size)


def test_neff_flat_and_theory_agree():
    assert np.isclose(rt.n_eff_power_law(16, 0.0), 15.0)
    A = rd.power_law_amplitude(16, 0.7)
    assert np.isclose(rt.n_eff(A), rt.n_eff_power_law(16, 0.7))
    assert rt.n_eff_power_law(64, 1.0) < rt.n_eff_power_law(64, 0.5) < 63


@pytest.mark.parametrize("family", ["A", "B"])
@pytest.mark.parametrize("dim", [1, 2])
def test_exact_amplitude_imposed(family, dim):
    t = rd.PhaseTask(8, dim=dim, family=family, a=1.0)
    rng = np.random.default_rng(0)
    for s in (True, False):
        x = t.sample_class(5, s, rng)
        X = np.abs(np.fft.fftn(x, axes=tuple(range(1, dim + 1)), norm="ortho"))
        assert np.allclose(X, t.A[None], atol=1e-9)
        assert np.allclose(x.mean(axis=tuple(range(1, dim + 1))), 0, atol=1e-12)


def test_synthesize_is_real_inverse_of_dft():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 10))
    ph = rd.phases_of(x)
    A = np.abs(np.fft.fft(x, norm="ortho"))
    # amplitude must be the same for every sample to use synthesize; test one sample
    y = rd.synthesize(A[0], ph[:1])
    assert np.allclose(y[0], x[0])


def test_hermite_polynomials():
    h = np.linspace(-2, 2, 7)
    assert np.allclose(rd.He(4, h), h ** 4 - 6 * h ** 2 + 3)
    z = np.random.default_rng(2).standard_normal(400000)
    for k in (1, 2, 3, 4):
        assert abs(rd.He(k, z).mean()) < 0.05


def test_family_a_kurtosis_grows_family_b_bounded():
    rng = np.random.default_rng(3)

    def kurt(N, fam):
        x = rd.PhaseTask(N, family=fam).sample_class(4000, True, rng)
        return (np.mean(x ** 4, 0) / np.mean(x ** 2, 0) ** 2 - 3).mean()
    assert kurt(32, "A") > 2 * kurt(16, "A") * 0.9
    assert kurt(32, "B") < 2 * kurt(16, "B")


def test_class_statistics_low_orders_agree():
    s = rd.class_statistics(rd.PhaseTask(8, family="A"), 8000, 5, np.random.default_rng(4))
    assert s["z_rms"][3] > 3 * max(s["z_rms"][:3].max(), 1.0)


def test_twolayer_gradient_matches_autograd():
    g = torch.Generator().manual_seed(0)
    net = TwoLayer(2, 3, 5, generator=g, dtype=torch.float64)
    x = torch.randn(2, 4, 5, generator=g, dtype=torch.float64)
    y = torch.sign(torch.randn(2, 4, generator=g, dtype=torch.float64))
    W = net.W.clone().requires_grad_(True)
    v = net.v.clone().requires_grad_(True)
    h = torch.bmm(x, W.transpose(1, 2))
    out = torch.einsum("tbk,tk->tb", torch.relu(h), v)
    (0.5 * ((out - y) ** 2).mean(1)).sum().backward()
    W0, v0 = net.W.clone(), net.v.clone()
    lr = torch.tensor([0.1, 0.1], dtype=torch.float64)
    net.sgd_step(x, y, lr)
    assert torch.allclose((W0 - net.W) / 0.1, W.grad)
    assert torch.allclose((v0 - net.v) / 0.1, v.grad)


def test_probes_keep_amplitude_or_phase():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 8, 8))
    a = rd.amplitude_only(x, rng)
    assert np.allclose(np.abs(np.fft.fft2(a)), np.abs(np.fft.fft2(x)))
    mean_amp = np.abs(np.fft.fft2(x, norm="ortho")).mean(0)
    p = rd.phase_only(x, mean_amp)
    assert np.allclose(np.abs(np.fft.fft2(p, norm="ortho")), mean_amp[None])
    s = rd.swap(x, x[::-1])
    assert np.allclose(np.abs(np.fft.fft2(s)), np.abs(np.fft.fft2(x)))


def test_phase_randomise_and_whiten():
    rng = np.random.default_rng(6)
    x = rd.texture_patches(6, 8, rng)
    y = rd.phase_randomise(x, rng)
    assert np.allclose(np.abs(np.fft.fft2(y)), np.abs(np.fft.fft2(x)))
    w = rd.whiten(x, np.abs(np.fft.fft2(x, norm="ortho")).mean(0))
    assert np.isclose(w.std(), 1.0)


def test_fit_theta_recovers_exponent():
    N = np.array([8, 16, 32, 64])
    Y = rt.scaling_form(N, 3.0, 2.0, 5.0)[:, None] * np.exp(
        np.random.default_rng(7).normal(0, 0.05, (4, 6)))
    f = rt.fit_theta(N, Y, 2.0, n_boot=200)
    assert abs(f["theta"] - 3.0) < 0.1 and f["lo"] <= f["theta"] <= f["hi"]
    assert np.isclose(rt.local_exponent(16, 32, 3.0, 0.0), 3.0)


def test_online_nstar_learns_easy_task():
    t = rd.PhaseTask(8, family="A")
    r = rx.online_nstar(t.sample, 8, cs=[4.0], trials=2, lr_scale=1 / 64, budget=20000,
                        n_test=500)
    assert np.isfinite(r["nstar_acc"]).all()
    b = rx.best_rate(r)
    assert b["c"] == 4.0


def test_models_shapes():
    assert MLP(12, 5, 3)(torch.zeros(2, 3, 2, 2)).shape == (2, 3)
    assert SmallCNN(3, 4)(torch.zeros(2, 3, 8, 8)).shape == (2, 4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="family"):
        rd.PhaseTask(8, family="C")
    with pytest.raises(ValueError, match="amplitude"):
        rd.PhaseTask(8, amplitude="x")
    with pytest.raises(ValueError, match="a"):
        rd.power_law_amplitude(8, -1.0)
    with pytest.raises(ValueError, match="dim"):
        rd.power_law_amplitude(8, 1.0, dim=3)
    with pytest.raises(ValueError, match="nstar"):
        rt.fit_theta([8, 16], np.ones((3, 2)))
    with pytest.raises(ValueError, match="N1"):
        rt.local_exponent(32, 16)
    with pytest.raises(ValueError, match="cs"):
        rx.online_nstar(lambda n, r: None, 4, cs=[-1.0], trials=1)


def test_natural_probes_and_textures_run_small():
    from freqlearn.data import standin

    tr = standin(40, size=8, seed=0)
    te = standin(20, size=8, split="test", seed=0)
    for m in ("mlp", "cnn"):
        o = rx.natural_probes(tr, te, model=m, seeds=[0, 1], steps=4, batch=8, n_checks=3,
                              hidden=8, width=4)
        assert o["amp"].shape == (2, len(o["steps"]))
        assert np.all((o["swap_a"] >= 0) & (o["swap_a"] <= 1))
    t = rx.probe_time(np.array([[0.1, 0.3, 0.5]]), [1, 10, 100], 0.1)
    assert 1 <= t[0] <= 100
    pool = rx.texture_pool(8, 20, np.random.default_rng(0), whitened=True)
    x, y = pool.sample(10, np.random.default_rng(1))
    assert x.shape == (10, 64) and set(np.unique(y)) <= {-1.0, 1.0}


def test_scan_sizes_saves_points_and_skips_done(tmp_path, monkeypatch):
    kw = dict(cs=[4.0, 16.0], trials=2, budget=2000, n_test=200, seed=3)
    mem = rx.scan_sizes(dict(family="A"), [8], **kw)
    first = rx.scan_sizes(dict(family="A"), [8], folder=tmp_path, **kw)
    assert np.array_equal(first[8]["nstar_acc"], mem[8]["nstar_acc"])   # same numbers
    calls = []
    real = rx.online_nstar

    def counting(*a, **k):
        calls.append(k["lr_scale"])
        return real(*a, **k)
    monkeypatch.setattr(rx, "online_nstar", counting)
    # an interrupted scan resumed: N = 8 is on disk, only N = 12 runs
    again = rx.scan_sizes(dict(family="A"), [8, 12], folder=tmp_path, **kw)
    assert calls == [12.0 ** -2]
    assert np.array_equal(again[8]["nstar_acc"], first[8]["nstar_acc"])
    assert len(list(tmp_path.glob("nstar_point-*/result.npz"))) == 2
    with pytest.raises(ValueError, match="folder"):
        rx.scan_sizes(lambda N: rd.PhaseTask(N), [8], folder=tmp_path, **kw)
    with pytest.raises(TypeError, match="make_task"):
        rx.scan_sizes(3, [8], **kw)


def test_online_nstar_shared_data_draws_once_per_trial():
    sizes = []
    task = rd.PhaseTask(8, family="A")

    def sample(n, rng):
        sizes.append(n)
        return task.sample(n, rng)
    kw = dict(cs=[1.0, 2.0, 4.0], trials=2, budget=400, batch=4, chunk=10, n_test=50)
    r1 = rx.online_nstar(sample, 8, shared_data=True, **kw)
    assert sizes[1:] == [2 * 4 * 10] * (len(sizes) - 1)     # trials·batch·chunk, not T·…
    sizes.clear()
    rx.online_nstar(sample, 8, **kw)
    assert sizes[1] == 6 * 4 * 10
    r2 = rx.online_nstar(task.sample, 8, shared_data=True, **kw)
    assert np.array_equal(r1["final_acc"], r2["final_acc"])
    with pytest.raises(TypeError, match="shared_data"):
        rx.online_nstar(task.sample, 8, shared_data=1, **kw)


def test_texture_point_matches_pool():
    pool = rx.texture_pool(6, 30, np.random.default_rng(5))
    kw = dict(cs=[4.0], trials=2, budget=400, n_test=50, seed=1)
    a = rx.online_nstar(pool.sample, 36, lr_scale=1 / 36, **kw)
    b = rx.texture_point(size=6, n_pool=30, pool_seed=5, whitened=False, **kw)
    assert np.array_equal(a["final_acc"], b["final_acc"])


def _write_cifar100(path, n=12, classes=3, seed=0):
    from freqlearn.data import cifar

    rng = np.random.default_rng(seed)

    def part(k):
        return {"data": rng.integers(0, 256, (k, 3072), dtype=np.uint8),
                "fine_labels": [int(v) for v in rng.integers(0, classes, k)],
                "coarse_labels": [0] * k}
    members = {"train": part(n), "test": part(n // 2),
               "meta": {"fine_label_names": [f"c{i}" for i in range(100)],
                        "coarse_label_names": ["x"] * 20}}
    return cifar.write_archive(path, members, "cifar100")


def test_cifar100_loader_and_deep_point_on_tiny_archive(tmp_path, monkeypatch):
    from freqlearn.data import cifar

    p = _write_cifar100(tmp_path / "cifar-100-python.tar.gz")
    md5 = cifar.md5sum(p)
    tr, te = rd.load_cifar100(root=tmp_path, md5=md5)
    assert tr.x.shape == (12, 3, 32, 32) and tr.x.dtype == np.float32 and te.y.shape == (6,)
    assert 0 <= tr.x.min() and tr.x.max() <= 1 and len(tr.classes) == 100
    sub, _ = rd.load_cifar100(5, 3, seed=1, root=tmp_path, md5=md5)
    assert sub.x.shape[0] == 5
    with pytest.raises(ValueError, match="n_train"):
        rd.load_cifar100(13, root=tmp_path, md5=md5)
    with pytest.raises(cifar.CIFARNotFound):
        rd.load_cifar100(root=tmp_path / "none")
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    assert rx.cifar100_present()
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path / "none"))
    assert not rx.cifar100_present()
    o = rx.deep_point(whitened=True, seed=0, steps=2, batch=4, width=2, n_checks=2,
                      root=tmp_path, md5=md5)
    assert o["test"].shape == (1, len(o["steps"])) and o["whitened"]


def test_whiten_images_flattens_the_mean_spectrum():
    x = np.random.default_rng(8).random((20, 3, 8, 8))
    amp = np.abs(np.fft.fft2(x, norm="ortho")).mean(0)
    w = rd.whiten_images(x, amp)
    aw = np.abs(np.fft.fft2(w, norm="ortho")).mean(0)
    aw[:, 0, 0] = np.nan
    rel = np.nanstd(aw, axis=(1, 2)) / np.nanmean(aw, axis=(1, 2))
    assert rel.max() < 1e-8
    assert np.allclose(w.std(axis=(0, 2, 3)), x.std(axis=(0, 2, 3)))
    with pytest.raises(ValueError, match="mean_amplitude"):
        rd.whiten_images(x, amp[0])


def test_resnet18_shape_and_bad_width():
    from freqlearn.nets.ricci import ResNet18

    assert ResNet18(3, 7, width=2)(torch.zeros(2, 3, 16, 16)).shape == (2, 7)
    with pytest.raises(ValueError, match="width"):
        ResNet18(3, 7, width=0)


def test_online_nstar_checkpoint_resumes_with_same_numbers(tmp_path):
    task = rd.PhaseTask(8, family="A")
    kw = dict(cs=[4.0, 16.0], trials=2, budget=4000, batch=4, chunk=10, n_test=100,
              lr_scale=1 / 64, seed=2, stop_factor=1e9)
    ref = rx.online_nstar(task.sample, 8, **kw)
    calls = [0]

    def flaky(n, rng):
        calls[0] += 1
        if calls[0] == 40:          # the test set is call 1: dies in chunk 39
            raise RuntimeError("killed")
        return task.sample(n, rng)
    path = tmp_path / "run.pt"
    with pytest.raises(RuntimeError, match="killed"):
        rx.online_nstar(flaky, 8, checkpoint=path, checkpoint_every=7, **kw)
    assert path.exists()
    calls[0] = -10 ** 6
    res = rx.online_nstar(flaky, 8, checkpoint=path, checkpoint_every=7, **kw)
    assert calls[0] < -10 ** 6 + 100 - 30           # resumed: not all 100 chunks redrawn
    for k in ("nstar_acc", "nstar_ov", "final_acc"):
        assert np.array_equal(res[k], ref[k]), k
    assert res["n_run"] == ref["n_run"]

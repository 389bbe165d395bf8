"""Chowers & Weiss (2023): patch layout, the exact GD solution, formulas, nets, runners."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import freqlearn as fl
from freqlearn.experiments import chowers as E
from freqlearn.nets import chowers as N
from freqlearn.theory import chowers as th


def _imgs(n=5, c=3, h=9, w=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w))


def test_patch_flattening_matches_conv_weight_layout():
    x = _imgs()
    w = np.random.default_rng(1).standard_normal((4, 3, 3, 3))
    out = F.conv2d(torch.tensor(x), torch.tensor(w)).numpy()  # (n, 4, 7, 6)
    P = fl.fourier.extract_patches(x, 3)                       # (n·7·6, 27)
    direct = (P @ w.reshape(4, -1).T).reshape(5, 7, 6, 4).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(direct, out, atol=1e-12)
    # an (h, w, c) flattening (the peer demo's bug) does not match
    wrong = w.transpose(0, 2, 3, 1).reshape(4, -1)
    assert not np.allclose((P @ wrong.T).reshape(5, 7, 6, 4).transpose(0, 3, 1, 2), out)


@pytest.mark.parametrize("stride", [1, 3])
def test_gap_features_is_mean_patch(stride):
    x = _imgs(h=12, w=12)
    P = fl.fourier.extract_patches(x, 3, stride=stride).reshape(5, -1, 27)
    np.testing.assert_allclose(th.gap_features(x, 3, stride), P.mean(1), atol=1e-12)


def test_linear_gap_forward_is_c_pbar_wbar():
    x = _imgs(h=10, w=10)
    net = N.LinearGAP(4, trials=2, sigma=1.0, generator=torch.Generator().manual_seed(0))
    y = net(torch.tensor(x)).detach().numpy()
    wbar = net.filters.detach().numpy().mean(1)               # (trials, d)
    np.testing.assert_allclose(y, 4 * th.gap_features(x) @ wbar.T, atol=1e-12)


def test_closed_form_matches_recursion():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((6, 6))
    A = M @ M.T / 6
    b = rng.standard_normal((6, 3))
    w0 = rng.standard_normal((6, 3))
    eta, c = 0.3 / np.linalg.eigvalsh(A).max(), 4
    w, ref = w0.copy(), []
    for _ in range(31):
        ref.append(w.copy())
        w = w - eta * 2 * (c * A @ w - b)
    cf = th.gd_closed_form(A, b, np.arange(31), eta=eta, c=c, w0=w0)
    np.testing.assert_allclose(cf, np.stack(ref), rtol=1e-10, atol=1e-12)
    assert not np.allclose(th.gd_closed_form(A, b, 30, eta=eta, c=c), ref[30])  # w0 matters


def test_simulate_gap_matches_closed_form():
    x = _imgs(n=12, h=8, w=8)
    Y = E.label_draws(12, 2, np.random.default_rng(3))
    A, b = th.gap_moments(th.gap_features(x), Y)
    eta = 0.4 / (2 * 3 * np.linalg.eigvalsh(A).max())
    sim = E.simulate_gap(x, Y, K=3, eta=eta, steps=[0, 7], sigma=0.1,
                         generator=torch.Generator().manual_seed(0))
    cf = th.gd_closed_form(A, b, 7, eta=eta, c=3, w0=sim["W0"].mean(1).T)
    np.testing.assert_allclose(sim["W"][-1].mean(1).T, cf, rtol=1e-9, atol=1e-12)


def test_expected_profile_monte_carlo():
    rng = np.random.default_rng(4)
    P = rng.standard_normal((40, 5)) @ rng.standard_normal((5, 5))
    A, _ = th.gap_moments(P, np.zeros(40))
    U = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    Y = rng.standard_normal((40, 20000))
    _, b = th.gap_moments(P, Y)
    mc = th.profile_closed_form(A, b, 50, U, eta=0.01, c=2).mean(0)
    ex = th.expected_profile(A, U, 50, eta=0.01, c=2, N=40)
    np.testing.assert_allclose(mc, ex, rtol=0.03)


def test_formula_eta_power_limits_and_fit():
    lam2 = np.geomspace(10, 1e-3, 27)
    p = [th.printed_formula(lam2, 500, 1e-3, eta_power=k) for k in (0, 1, 2)]
    np.testing.assert_allclose(p[0] / p[0].max(), p[2] / p[2].max(), rtol=1e-12)
    assert th.loglog_slope(th.formula(lam2, 1e-6), lam2) == pytest.approx(1, abs=1e-3)
    assert th.loglog_slope(th.formula(lam2, 1e9), lam2) == pytest.approx(-1, abs=1e-6)
    np.testing.assert_allclose(th.formula(lam2, 1e9), th.formula_limit(lam2), rtol=1e-6)
    s, r, _ = th.fit_formula(th.formula(lam2, 3.0), lam2)
    assert r > 0.9999 and s == pytest.approx(3.0, rel=0.05)
    # small-η printed formula equals the one-parameter form
    pf = th.printed_formula(lam2, 3000, 1e-6, eta_power=1)
    np.testing.assert_allclose(pf / pf.max(), th.formula(lam2, 3e-3), rtol=1e-4)


def test_folded_normal_cv_and_helpers():
    z = np.abs(np.random.default_rng(5).standard_normal(200000))
    assert z.std() / z.mean() == pytest.approx(th.folded_normal_cv(), abs=0.005)
    assert th.pearson([1, 2, 3], [2, 4, 6.5]) > 0.99
    assert th.flatness(np.ones(5)) == 0
    M = np.eye(27)
    assert th.colour_dc_fraction(M) == pytest.approx(3 / 27)
    assert th.offdiag_fraction(M, np.eye(27)) == 0


def test_scale_component_tiles():
    x = _imgs(n=2, h=9, w=9)
    U = np.linalg.qr(np.random.default_rng(6).standard_normal((27, 27)))[0]
    y = th.scale_component(x, U, 4, 3.0)
    px = fl.fourier.extract_patches(x, 3, stride=3) @ U
    py = fl.fourier.extract_patches(y, 3, stride=3) @ U
    np.testing.assert_allclose(py[:, 4], 3 * px[:, 4], atol=1e-12)
    np.testing.assert_allclose(np.delete(py, 4, 1), np.delete(px, 4, 1), atol=1e-12)


def test_nets_shapes_and_freeze():
    net = N.vgg11_bn(width=0.125, first=16, freeze_first=True, n_classes=7)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    assert N.first_layer(net).weight.shape == (16, 3, 3, 3)
    assert not N.first_layer(net).weight.requires_grad
    r = N.cifar_resnet(8, width=16)
    assert r(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert N.first_layer(r).bias is None
    assert N.vgg11_bn(width=0.125, first_stride=3)(torch.zeros(2, 3, 33, 33)).shape == (2, 10)
    with pytest.raises(ValueError, match="depth"):
        N.cifar_resnet(21)
    with pytest.raises(TypeError, match="net"):
        N.first_layer(torch.nn.Linear(2, 2))


def test_train_net_runs_and_subtracts_init():
    D = {"x": _imgs(n=32, h=32, w=32).astype(np.float32), "y": np.arange(32) % 10}
    torch.manual_seed(0)
    net = N.vgg11_bn(width=0.0625, first=8)
    r = E.train_net(net, D["x"], D["y"], epochs=1, batch=16, lr=0.05,
                    generator=torch.Generator().manual_seed(0), device="cpu")
    assert r["loss"].shape == (2,) and r["W"].shape == (8, 27)
    assert not np.allclose(r["W"], r["W0"])
    U = np.eye(27)
    assert E.profile(r["W"], r["W0"], U).max() == 1


def test_autocorr_and_labels():
    noise = np.random.default_rng(7).standard_normal((20, 4, 16, 16))
    c = E.autocorr(noise, 3)
    assert c[0] == 1 and np.all(np.abs(c[1:]) < 0.05)
    w = E.whiten_images(_imgs(n=20, h=16, w=16) + np.linspace(0, 3, 16))
    assert np.all(np.abs(E.autocorr(w, 3)[1:]) < 0.1)
    lab = E.energy_labels(_imgs(n=40, h=8, w=8), np.eye(27), 0, n_classes=10)
    assert np.all(np.bincount(lab) == 4)


def test_bad_inputs():
    with pytest.raises(ValueError, match="eta"):
        th.gd_closed_form(np.eye(2), np.ones(2), 3, eta=-1, c=1)
    with pytest.raises(ValueError, match="t must"):
        th.gd_closed_form(np.eye(2), np.ones(2), 1.5, eta=0.1, c=1)
    with pytest.raises(ValueError, match="eta_power"):
        th.printed_formula(np.ones(3), 1, 0.1, eta_power=3)
    with pytest.raises(ValueError, match="profile"):
        th.fit_formula(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="size"):
        th.gap_features(_imgs(h=2, w=2), 3)
    with pytest.raises(ValueError, match="epochs"):
        E.train_net(N.vgg11_bn(width=0.0625), np.zeros((4, 3, 32, 32)), np.zeros(4),
                    epochs=0, generator=torch.Generator())
    with pytest.raises(TypeError, match="K"):
        N.LinearGAP(2.5)


def test_runners_small():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((40, 3, 8, 8))
    lam2, U = E.patch_basis(x, n_images=40)
    assert np.all(np.diff(lam2) <= 0) and np.allclose(U.T @ U, np.eye(27), atol=1e-10)
    pbar = th.gap_features(x)
    cv = E.cv_of_projections(pbar, U, [10, 40], 400, rng)
    assert cv.shape == (2, 27) and abs(cv.mean() - th.folded_normal_cv()) < 0.1
    L = E.linear_profiles(pbar, U, lam2, [3, 30], K=2, B=50, rng=rng)
    assert L["single"].shape == (2, 50, 27) and L["mean"].max() == 1
    C = E.label_energy_corr(x, np.arange(40) % 4, U, n_classes=4)
    assert C["energy"].shape == (4, 27) and np.all(np.abs(C["coef"]) <= 1 + 1e-12)
    banks = E.random_banks(3, 8, rng)
    assert banks.shape == (3, 8, 27)
    assert E.autocorr_filters(x, banks, 2).shape == (3, 3)


def test_train_set_labels_and_frozen():
    rng = np.random.default_rng(9)
    D = {"x": rng.standard_normal((32, 3, 16, 16)).astype(np.float32),
         "y": np.arange(32) % 10}
    U = np.eye(27)
    spec = dict(arch="vgg", width=0.0625, first=8)
    R = E.train_set(D, {"a": dict(spec, labels="random"), "f": dict(spec, freeze=True)},
                    epochs=1, U=U, batch=16)
    assert np.all(R["f"]["W"] == R["f"]["W0"]) and np.all(R["f"]["profile"] == 0)
    assert R["a"]["profile"].max() == 1
    with pytest.raises(ValueError, match="labels"):
        E.train_set(D, {"b": dict(spec, labels="bogus")}, epochs=1, U=U, batch=16)
    with pytest.raises(ValueError, match="arch"):
        E.make_net({"arch": "mlp"}, 10)


def test_patch_basis_chunked_equals_patch_pca():
    x = _imgs(n=7, h=10, w=10)
    lam2, U = E.patch_basis(x, chunk=3)
    ref_l, ref_U = fl.fourier.patch_pca(fl.fourier.extract_patches(x, 3))
    np.testing.assert_allclose(lam2, ref_l, rtol=1e-10)
    np.testing.assert_allclose(U, ref_U, atol=1e-8)


@pytest.mark.parametrize("depth,convs", [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_vgg_depth_series(depth, convs):
    torch.manual_seed(0)
    net = N.vgg_bn(depth, width=0.0625, n_classes=3, freeze_first=True)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == convs
    assert not N.first_layer(net).weight.requires_grad
    assert isinstance(E.make_net(dict(arch="vgg", depth=depth, width=0.0625), 10), N.VGG)


def test_vgg_bn_11_is_vgg11_bn_and_bad_depth():
    torch.manual_seed(3)
    a = N.vgg_bn(11, width=0.125, first=16).state_dict()
    torch.manual_seed(3)
    b = N.vgg11_bn(width=0.125, first=16).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="depth"):
        N.vgg_bn(12)


def test_train_pairs_two_classes_and_errors():
    rng = np.random.default_rng(10)
    D = {"x": rng.standard_normal((48, 3, 16, 16)).astype(np.float32),
         "y": np.arange(48) % 4}
    spec = dict(arch="vgg", width=0.0625, first=8)
    R = E.train_pairs(D, {"a/b": (0, 3)}, spec, epochs=1, U=np.eye(27), batch=8)
    assert R["a/b"]["profile"].shape == (27,) and R["a/b"]["steps"] == 3  # 24 images / 8
    assert R["a/b"]["W"].shape == (8, 27)
    with pytest.raises(ValueError, match="different class"):
        E.train_pairs(D, {"x": (1, 1)}, spec, epochs=1, U=np.eye(27), batch=8)
    with pytest.raises(ValueError, match="batch"):
        E.train_pairs(D, {"x": (1, 2)}, spec, epochs=1, U=np.eye(27), batch=64)


def test_formula_gain():
    lam2 = np.geomspace(10.0, 0.01, 27)
    e = th.formula(lam2, 1.0)
    g1, s = E.formula_gain(e, lam2, 14, 1.0)
    assert g1 == pytest.approx(1.0, abs=1e-12) and s > 0
    # early time (e ∝ λ): scaling λ_i by α multiplies e_i by α
    g, _ = E.formula_gain(np.sqrt(lam2 / lam2.max()), lam2, 14, 3.0)
    assert g == pytest.approx(3.0, rel=0.01)
    # whitening limit (e ∝ 1/λ): the scaled component loses energy instead
    g_late, _ = E.formula_gain(th.formula_limit(lam2), lam2, 14, 3.0)
    assert g_late < 1


def _write_celeba(root, zipped=True):
    import io
    import zipfile

    from PIL import Image

    names = [f"{k:06d}.jpg" for k in range(1, 9)]
    male = [1, -1, 1, 1, -1, -1, 1, -1]
    part = [0, 0, 0, 0, 0, 1, 2, 2]
    root.mkdir(parents=True, exist_ok=True)
    (root / "list_attr_celeba.txt").write_text(
        "8\nSmiling Male\n" + "".join(f"{n}  1 {m:2d}\n" for n, m in zip(names, male, strict=True)))
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{n} {p}\n" for n, p in zip(names, part, strict=True)))
    imgs = {}
    for k, n in enumerate(names):   # 20 wide × 24 high, one colour each, like 178×218
        buf = io.BytesIO()
        Image.new("RGB", (20, 24), (30 * k, 255 - 30 * k, 100)).save(buf, "JPEG",
                                                                      quality=95)
        imgs[n] = buf.getvalue()
    if zipped:
        with zipfile.ZipFile(root / "img_align_celeba.zip", "w") as z:
            for n, b in imgs.items():
                z.writestr(f"img_align_celeba/{n}", b)
    else:
        (root / "img_align_celeba").mkdir()
        for n, b in imgs.items():
            (root / "img_align_celeba" / n).write_bytes(b)


@pytest.mark.parametrize("zipped", [True, False])
def test_load_celeba_tiny_archive(tmp_path, zipped):
    _write_celeba(tmp_path / "celeba", zipped)
    D = E.load_celeba(None, None, size=4, root=tmp_path / "celeba")
    assert D["x"].shape == (5, 3, 4, 4) and D["x_test"].shape == (2, 3, 4, 4)
    assert list(D["y"]) == [1, 0, 1, 1, 0] and list(D["y_test"]) == [1, 0]
    np.testing.assert_allclose(D["x"].mean(axis=(0, 2, 3)), 0, atol=1e-3)
    # the red channel is 30·k: image k (k = 0…4) is brighter in red than image k − 1
    red = D["x"][:, 0].mean(axis=(1, 2))
    assert np.all(np.diff(red) > 0)
    D2 = E.load_celeba(3, 1, size=4, attr="Smiling", root=tmp_path / "celeba", seed=1)
    assert D2["x"].shape == (3, 3, 4, 4) and set(D2["y"]) == {1}
    with pytest.raises(ValueError, match="attr"):
        E.load_celeba(2, 1, attr="Beard", root=tmp_path / "celeba")
    with pytest.raises(ValueError, match="asked for 9"):
        E.load_celeba(9, 1, root=tmp_path / "celeba")
    with pytest.raises(FileNotFoundError, match="list_attr_celeba"):
        E.load_celeba(2, 1, root=tmp_path / "nothing")


def test_load_extra_uses_only_what_is_on_disk(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    _write_celeba(tmp_path / "celeba")
    out = E.load_extra(seed=0)
    assert list(out) == ["CelebA"] and out["CelebA"]["x"].shape[1:] == (3, 32, 32)
    assert "CIFAR-100 not used" in capsys.readouterr().out


def test_dataset_runs_small():
    rng = np.random.default_rng(11)
    D = {"x": rng.standard_normal((24, 3, 16, 16)).astype(np.float32),
         "y": np.arange(24) % 3, "classes": ["a", "b", "c"]}
    out = E.dataset_runs(D, dict(arch="vgg", width=0.0625, first=8), tag="tiny", epochs=1,
                         epochs_random=1, seeds=3, batch=8, n_images=24)
    assert len(out["r_seed"]) == 3 and len(out["r_init"]) == 3
    assert all(-1 <= r <= 1 for r in out["r_seed"] + [out["r_true_random"]])
    assert set(out["R"]) == {"tiny-s0", "tiny-s1", "tiny-s2", "tiny-true", "tiny-random"}
    with pytest.raises(ValueError, match="tag"):
        E.dataset_runs(D, {}, tag="a/b", epochs=1, epochs_random=1)

"""Unit tests of the Godfrey et al. (2022) modules: data, theory, nets, experiments."""

import math

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn.data import godfrey as D
from freqlearn.experiments import godfrey as E
from freqlearn.nets import godfrey as G
from freqlearn.theory import godfrey as T


def test_stationary_gaussian_has_diagonal_fourier_covariance():
    tau = D.power_law_tau((1, 6, 6))
    x = D.stationary_gaussian(20000, tau, generator=torch.Generator().manual_seed(0))
    xh = torch.fft.fft2(x, norm="ortho").reshape(len(x), -1)
    S = (xh.T @ xh.conj() / len(x)).numpy()
    np.testing.assert_allclose(np.real(np.diag(S)), tau.ravel(), rtol=0.05)
    off = np.abs(S - np.diag(np.diag(S))).max()
    assert off < 0.05 * tau.max()
    assert x.dtype == torch.float64 and x.shape == (20000, 1, 6, 6)


def test_power_law_tau_and_errors():
    tau = D.power_law_tau((2, 4, 4), alpha=2, gamma=[1.0, 0.5])
    assert tau[0, 0, 0] == 1.0 and tau[1, 0, 1] == pytest.approx(0.25)
    assert tau[0, 1, 0] == tau[0, -1, 0]
    with pytest.raises(ValueError, match="shape"):
        D.power_law_tau((4, 4))
    with pytest.raises(ValueError, match="gamma"):
        D.power_law_tau((2, 4, 4), gamma=[1, 2, 3])
    with pytest.raises(ValueError, match="delta"):
        D.power_law_tau((1, 4, 4), delta=0.0)
    with pytest.raises(ValueError, match="symmetric"):
        D.stationary_gaussian(2, np.random.default_rng(0).random((1, 4, 4)))


def test_planted_teacher_is_parseval():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 2, 4, 4, dtype=torch.float64, generator=g)
    y, w = D.planted_teacher(x, 3, noise=0.0, generator=g)
    v = torch.fft.fft2(w, norm="ortho")
    y2 = torch.einsum("kchw,nchw->nk", v.conj(), torch.fft.fft2(x, norm="ortho")).real
    assert torch.allclose(y, y2, atol=1e-12)


def test_shrink_modulus_is_the_global_minimiser():
    z = np.linspace(0, 3, 13)
    r = np.linspace(0, 3, 300001)
    for p in (2.0, 1.0, 2 / 3, 0.5):
        got = T.shrink_modulus(z, 1.3, 0.8, p)
        phi = 1.3 * (r[None] - z[:, None]) ** 2 + 0.8 * r[None] ** p
        best = r[np.argmin(phi, axis=1)]
        assert np.abs(got - best).max() < 2e-4, p
    assert T.shrink_modulus(2.0, 1.0, 1.0, 1.0) == pytest.approx(1.5)
    assert T.shrink_modulus(2.0, 1.0, 1.0, 2.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="p must"):
        T.shrink_modulus(1.0, 1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="branch"):
        T.shrink_modulus(1.0, 1.0, 1.0, 0.5, branch="lower")


def test_lam_eff_from_weight_balancing():
    """min λ(a²+b²) s.t. s·a·b = v is 2λ|v|/s = λ_eff·L·|v|^(2/L) with L = 2."""
    s = math.sqrt(64)
    a = np.linspace(0.01, 5, 200001)
    v = 1.7
    direct = np.min(0.3 * (a ** 2 + (v / (s * a)) ** 2))
    assert direct == pytest.approx(T.lam_eff(0.3, 2, (8, 8)) * 2 * v, rel=1e-6)
    assert T.lam_eff(0.3, 1, (8, 8)) == 0.3


def test_soft_threshold_and_ridge_closed_forms():
    v = np.array([2.0 + 1.0j, 0.1 - 0.1j])
    tau = np.array([1.0, 1.0])
    st = T.soft_threshold(tau, v, 8.0, (4, 4))          # λ_eff = 8/4 = 2
    np.testing.assert_allclose(np.abs(st), [math.sqrt(5) - 2, 0.0], atol=1e-12)
    assert np.angle(st[0]) == pytest.approx(np.angle(v[0]))
    np.testing.assert_allclose(T.ridge(tau, v, 1.0), v / 2)


def _planted(seed, n, k):
    """Stationary Gaussian 4×4 images with a power-law τ, a planted linear teacher with
    ``k`` outputs, and their statistics (S, B)."""
    g = torch.Generator().manual_seed(seed)
    x = D.stationary_gaussian(n, D.power_law_tau((1, 4, 4)), generator=g)
    y, _ = D.planted_teacher(x, k, generator=g)
    return g, x, y, *T.statistics(x, y)


def test_exact_solvers_match_autograd_stationarity():
    g, x, y, S, B = _planted(2, 400, 1)
    for L, lam in ((1, 0.05), (2, 0.02)):
        v = T.ridge_exact(S, B, lam, (1, 4, 4)) if L == 1 else \
            T.prox_gradient(S, B, lam, L, (1, 4, 4), n_iter=20000)
        w = torch.fft.ifft2(v, norm="ortho").real.reshape(1, -1)
        data = 2 * (w @ S - B)                           # gradient of the data term
        if L == 1:
            assert (data + 2 * lam * w).abs().max() < 1e-10
        else:  # subgradient: DFT(data) = −2λ_eff·v/|v| on the support, |·| ≤ 2λ_eff off it
            gd = torch.fft.fft2(data.reshape(1, 1, 4, 4), norm="ortho")
            le = T.lam_eff(lam, 2, (4, 4))
            on = v.abs() > 1e-9
            assert (gd[on] + 2 * le * v[on] / v[on].abs()).abs().max() < 1e-6
            assert (~on).sum() == 0 or gd[~on].abs().max() <= 2 * le * 1.0001


def test_trained_linear_cnn_reaches_ridge_and_basis_loss_is_data_loss():
    g, x, y, S, B = _planted(3, 500, 2)
    m, info = E.fit_linear_cnn(x, y, 1, 0.05, generator=g)
    v = fl.nets.dft.effective_predictor(m.weights()).detach()
    assert (v - T.ridge_exact(S, B, 0.05, (1, 4, 4))).abs().max() < 1e-7
    with torch.no_grad():
        direct = ((y - m(x)) ** 2).sum(1).mean().item()
    assert info["loss"] == pytest.approx(direct, rel=1e-9)


def test_fit_linear_cnn_via_fft_is_the_basis_objective():
    """``via_fft=True`` reads Wᵀ off the weights (Lemma 4.3): the same objective, so the
    same fit up to rounding (two layers: no spurious minima), and the same Wᵀ as the basis
    images pushed through a deeper net."""
    g, x, y, S, B = _planted(4, 300, 2)
    a, ia = E.fit_linear_cnn(x, y, 2, 0.05, width=2, max_iter=60,
                             generator=torch.Generator().manual_seed(7))
    b, ib = E.fit_linear_cnn(x, y, 2, 0.05, width=2, max_iter=60, via_fft=True,
                             generator=torch.Generator().manual_seed(7))
    va = fl.nets.dft.effective_predictor(a.weights()).detach()
    vb = fl.nets.dft.effective_predictor(b.weights()).detach()
    assert ia["loss"] == pytest.approx(ib["loss"], rel=1e-6)
    assert (va - vb).abs().max() < 1e-4 * va.abs().max()
    b, _ = E.fit_linear_cnn(x, y, 3, 0.05, width=2, max_iter=5, via_fft=True,
                            generator=torch.Generator().manual_seed(7))
    basis = torch.eye(16, dtype=torch.float64).reshape(16, 1, 4, 4)
    with torch.no_grad():
        v = fl.nets.dft.effective_predictor(b.weights())
        wt = torch.fft.ifft2(v, norm="ortho").real.reshape(len(v), 16).T
        assert (wt - b(basis)).abs().max() < 1e-12


def test_convactually_fft_equals_conv2d_and_shapes():
    torch.manual_seed(0)
    m = G.ConvActually(2, width=3, size=6, in_channels=3, n_classes=5)
    c = G.ConvActuallyConv2d(2, width=3, size=6, in_channels=3, n_classes=5)
    c.load_state_dict(m.state_dict())
    x = torch.rand(4, 3, 6, 6)
    assert m(x).shape == (4, 5)
    assert (m(x) - c(x)).abs().max() < 1e-4
    assert m.L == 3 and len(m.weights()) == 3
    lin = G.ConvActually(0, in_channels=1, size=4, n_classes=2, bias=False, normalize=False)
    assert lin(torch.zeros(1, 1, 4, 4)).abs().max() == 0
    with pytest.raises(ValueError, match="shape"):
        m(torch.rand(2, 3, 5, 5))
    with pytest.raises(ValueError, match="depth"):
        G.ConvActually(-1)


def test_parameter_counts_match_si_c5():
    m = G.ConvActually(1)
    assert sum(p.numel() for p in [*m.w, *m.b]) == 196672
    assert G.count_parameters(G.MyrtleCNN()) == 1556106


def test_resnets_forward():
    for d in (9, 20):
        net = G.resnet(d, width=4 if d == 9 else 4)
        assert net(torch.rand(2, 3, 16, 16)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n"):
        G.ResNetCIFAR(21)


def test_train_paper_code_path_and_resume(tmp_path):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)
    net = G.ConvActually(1, width=2, in_channels=1, size=8)
    out = E.train_paper(net, (x, y), (x[:16], y[:16]), lr=0.01, batch=16, weight_decay=1e-4,
                        patience=1, max_epochs=2, seed=0, device="cpu", workdir=tmp_path)
    assert len(out["history"]["epoch"]) == 2 and (tmp_path / "train_paper.pt").exists()
    out2 = E.train_paper(net, (x, y), (x[:16], y[:16]), lr=0.01, batch=16, weight_decay=1e-4,
                         patience=1, max_epochs=3, seed=0, device="cpu", workdir=tmp_path)
    assert out2["history"]["epoch"] == [1, 2, 3]


def test_theory_imports_no_nets():
    import sys
    src = open(T.__file__).read()
    assert "import train" not in src and ".nets" not in src and "experiments" not in src
    assert "freqlearn.theory.godfrey" in sys.modules


def _tiny_cifar(path, per_batch=24, seed=0):
    """A CIFAR-10 archive in the official format (tar.gz of protocol-2 pickles), tiny."""
    from freqlearn.data import cifar

    rng = np.random.default_rng(seed)

    def batch(n):
        return {"batch_label": "tiny", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                "labels": [int(v) for v in rng.integers(0, 10, n)]}

    members = {f"data_batch_{i}": batch(per_batch) for i in range(1, 6)}
    members["test_batch"] = batch(per_batch)
    members["batches.meta"] = {"label_names": [str(k) for k in range(10)], "num_vis": 3072}
    return cifar.write_archive(path, members)


def test_paper_point_runs_on_a_tiny_real_format_cifar_archive(tmp_path, monkeypatch):
    from freqlearn.data import cifar

    arch = _tiny_cifar(tmp_path / "cifar-10-python.tar.gz")
    md5 = cifar.md5sum(arch)
    monkeypatch.setattr(fl.data, "load_cifar", lambda name, download=False: cifar.load_cifar(
        name, root=tmp_path, md5=md5))
    out = E.paper_point(kind="convactually", depth=1, weight_decay=1e-5, seed=0,
                        schedule="convactually-depth", width=2, max_epochs=2, batch=16,
                        n_sens=8, workdir=tmp_path)
    assert "CIFAR-10" in out["source"]
    assert len(out["history"]["epoch"]) == 2 and 0.0 <= out["test_acc"] <= 1.0
    assert out["map"].shape == (3, 32, 32) and np.isfinite([out["m1"], out["m2"]]).all()
    # the paper preset's schedule and selection: plateau on validation accuracy, best weights
    assert out["best_val_acc"] == max(out["history"]["val_acc"])


def test_rank_trend_moment_grid_and_untrained_null():
    assert E.rank_trend([1, 2, 3, 4], [4.0, 3.0, 1.0, 2.0]) == -0.8
    with pytest.raises(ValueError, match="length"):
        E.rank_trend([1, 2], [1.0, 2.0])
    pts = [{"trained_m1": 3.0 - x + 0.1 * s, "trained_m2": 9.0 - x, "untrained_m1": 1.0 + s,
            "untrained_m2": 2.0, "train_loss": 1.0, "steps": 10}
           for x in range(4) for s in range(3)]
    g = E.moment_grid(pts, [1, 2, 3, 4], 3)
    assert g["trained_m1"].shape == (4, 3) and g["rho_trained_m1"] == -1.0
    assert np.all(g["rho_trained_m1_seeds"] == -1.0)
    assert math.isnan(g["rho_untrained_m1"])        # untrained nets independent of x
    with pytest.raises(ValueError, match="n_seeds"):
        E.moment_grid(pts[:-1], [1, 2, 3, 4], 3)
    u = E.untrained_moments("convactually", [1, 2, 3], [0, 1], size=4, width=2, n_test=4)
    assert u["m1"].shape == (3, 2) and np.isfinite(u["m1"]).all()
    torch.manual_seed(1)
    net = E.make_model("convactually", 2, width=2, size=4)
    _, (xt, _) = E.standin_set(0, 4, size=4, seed=0)
    r, g2 = fl.sensitivity.radial(fl.sensitivity.frequency_sensitivity(net, xt))
    assert u["m1"][1, 1] == pytest.approx(fl.sensitivity.moments(r, g2)[0])


def test_matched_sweeps_share_points_and_resume(tmp_path):
    kw = dict(depths=[1, 2, 3], lams=[1e-3, 1e-2, 1e-1], seeds=[0, 1], depth_decay=1e-2,
              decay_depth=2, resnet_depth=8, folder=tmp_path, executor="serial", size=4,
              width=2, n_train=16, n_test=4, steps=3, data_seed=0)
    S = E.matched_sweeps(**kw)
    assert set(S) == {"depth", "lam", "resnet"}
    assert S["depth"]["trained_m1"].shape == (3, 2) and len(S["resnet"]["maps"]) == 3
    # (depth 2, λ' = 1e-2) is in both ConvActually sweeps: it ran once
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 6 + 4 + 6
    np.testing.assert_array_equal(S["depth"]["trained_m1"][1], S["lam"]["trained_m1"][1])
    again = E.matched_sweeps(**dict(kw, executor=object()))    # all saved: nothing submitted
    np.testing.assert_array_equal(again["resnet"]["trained_m2"], S["resnet"]["trained_m2"])


def test_matched_sweeps_myrtle_sweep(tmp_path):
    kw = dict(depths=[1, 2, 3], lams=[1e-3, 1e-2, 2e-2], seeds=[0], depth_decay=1e-2,
              decay_depth=2,
              resnet_depth=8, folder=tmp_path, executor="serial", size=8, width=2,
              n_train=16, n_test=4, steps=2, data_seed=0, myrtle_lams=[1e-4, 1e-3, 1e-2])
    S = E.matched_sweeps(**kw)
    assert set(S) == {"depth", "lam", "resnet", "myrtle"}
    assert S["myrtle"]["trained_m1"].shape == (3, 1)
    np.testing.assert_array_equal(S["myrtle"]["x"], [1e-4, 1e-3, 1e-2])
    # the untrained Myrtle is the same net at every λ (same seed): λ only acts in training
    u = S["myrtle"]["untrained_m1"][:, 0]
    np.testing.assert_allclose(u, u[0])
    assert not np.allclose(S["myrtle"]["trained_m1"][:, 0], u)

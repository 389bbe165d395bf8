"""Unit tests of the title-claim intervention (spectrum transforms, the vectorised
ConvActually ensemble, the similarity measures) and of the paper-preset fixes (ResNet
width in ``paper_point``, per-image augmentation)."""

import numpy as np
import pytest
import torch

from freqlearn import sensitivity
from freqlearn.data import godfrey as D
from freqlearn.experiments import godfrey as E
from freqlearn.nets import godfrey as G


def _images(seed, n=1500, size=16):
    tau = D.power_law_tau((1, size, size), alpha=2.0)
    g = torch.Generator().manual_seed(seed)
    return D.stationary_gaussian(n, tau, generator=g) + 0.5


@pytest.mark.parametrize("slope", [-1.0, 0.0, 1.0, 2.0, 3.0])
def test_spectrum_transform_gives_the_target_radial_slope(slope):
    x, xt = _images(0), _images(1)
    f = D.fit_spectrum_transform(x, slope=slope)
    y = f(x)
    # on the images it was fitted on, exactly; on held-out images of the same source, nearly
    assert D.radial_power_slope(D.frequency_variance(y)) == pytest.approx(-slope, abs=1e-6)
    assert D.radial_power_slope(D.frequency_variance(f(xt))) == pytest.approx(-slope,
                                                                              abs=0.05)
    # only the shape of the spectrum changes: mean image and total variance are kept
    torch.testing.assert_close(y.mean(0), x.double().mean(0))
    assert float(y.var()) == pytest.approx(float(x.double().var()), rel=1e-9)
    assert f.gain.shape == (1, 16, 16)


def test_spectrum_transform_highpass_and_identity():
    x = _images(2, n=400, size=8)
    v = D.frequency_variance(D.fit_spectrum_transform(x, cutoff=2.0)(x))[0]
    r = np.hypot(*np.meshgrid(np.fft.fftfreq(8) * 8, np.fft.fftfreq(8) * 8, indexing="ij"))
    assert np.all(v[(r > 0) & (r < 2)] < 1e-20) and np.all(v[r >= 2] > 1e-6)
    torch.testing.assert_close(D.fit_spectrum_transform(x)(x), x.double())
    with pytest.raises(ValueError, match="not both"):
        D.fit_spectrum_transform(x, slope=1.0, cutoff=2.0)


def test_ensemble_members_are_convactually_nets():
    e = G.ConvActuallyEnsemble(3, 2, width=4, size=8, generator=torch.Generator()
                               .manual_seed(0)).double()
    x = torch.rand(3, 5, 1, 8, 8, dtype=torch.float64)
    y = e(x).detach()
    for t in range(3):
        m = e.member(t).double()
        torch.testing.assert_close(m(x[t]), y[t])
        ref = G.ConvActuallyConv2d(2, width=4, in_channels=1, size=8).double()
        ref.load_state_dict(m.state_dict())
        torch.testing.assert_close(ref(x[t]), y[t])            # an independent conv path
    # the ensemble's sensitivity maps are the members' SI C.2 maps
    xs = torch.rand(6, 1, 8, 8, dtype=torch.float64)
    maps = E.ensemble_sensitivity(e, xs)
    for t in range(3):
        np.testing.assert_allclose(maps[t], sensitivity.frequency_sensitivity(
            e.member(t).double(), xs), rtol=1e-10, atol=1e-12)


def test_spectrum_similarity_and_slope():
    tau = D.power_law_tau((1, 8, 8), alpha=2.0)
    assert E.spectrum_similarity(np.sqrt(tau), tau) == pytest.approx(1.0)
    assert E.spectrum_similarity(1 / tau, tau) == pytest.approx(-1.0)
    assert np.isnan(E.spectrum_similarity(np.sqrt(tau), np.ones_like(tau)))
    r = np.hypot(*np.meshgrid(np.fft.fftfreq(8) * 8, np.fft.fftfreq(8) * 8, indexing="ij"))
    s = np.where(r > 0, r, 1.0) ** -1.5
    assert E.sensitivity_slope(s[None]) == pytest.approx(-1.5)


def test_spectrum_intervention_is_paired_and_finite():
    out = E.spectrum_intervention(conditions=["white", "rising"], kinds=("linear",),
                                  trials=2, size=8, width=2, n_train=60, n_test=12,
                                  steps=3, batch=8)
    assert out["conditions"] == ["unchanged", "white", "rising"]
    runs = [out["runs"][("linear", 1e-2, c)] for c in out["conditions"]]
    # a linear net's sensitivity does not depend on the images: the same init in every
    # condition gives the same untrained maps (the paired design)
    for r in runs[1:]:
        np.testing.assert_allclose(r["untrained_map"], runs[0]["untrained_map"])
    assert not np.allclose(runs[1]["trained_map"], runs[2]["trained_map"])
    assert np.isnan(runs[1]["rho_trained"]).all()             # whitened: flat variance
    for r in (runs[0], runs[2]):
        assert r["rho_trained"].shape == (2,) and np.isfinite(r["rho_trained"]).all()
    np.testing.assert_allclose(runs[0]["rho_unchanged_net"], runs[0]["rho_trained"])


def test_paper_point_builds_the_cifar_resnets_at_their_width(monkeypatch):
    seen = {}

    class _Built(Exception):
        pass

    def fake_train(model, *a, **k):
        seen["n"] = G.count_parameters(model)
        raise _Built

    monkeypatch.setattr(E, "train_paper", fake_train)
    for depth, want in ((20, G.ResNetCIFAR(20, width=16)), (56, G.ResNetCIFAR(56, width=16)),
                        (9, G.ResNet9(width=64))):
        with pytest.raises(_Built):
            E.paper_point(kind="resnet", depth=depth, weight_decay=1e-5, seed=0,
                          schedule="resnet-depth", size=8, channels=3, n_train=40, n_test=10,
                          n_sens=4, prefer="standin")
        assert seen["n"] == G.count_parameters(want)
    assert G.count_parameters(G.ResNetCIFAR(20, width=16)) == 272474      # He et al. 0.27 M


def test_augment_translates_each_image_on_its_own():
    B, H = 64, 12
    x = torch.zeros(B, 1, H, H)
    x[:, 0, 6, 6] = 1.0
    out = E._augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    pos = [divmod(int(o.argmax()), H) for o in out[:, 0]]
    rows = {p[0] for p in pos}
    cols = {p[1] for p in pos}
    assert len(rows) > 1 and len(cols) > 1          # not one shift for the whole batch
    assert rows <= set(range(4, 9)) and cols <= set(range(3, 10))
    assert all(float(o.max()) == 1.0 for o in out)  # each image keeps its pixel


def test_l3_global_prox_reference_is_no_worse_than_the_upper_branch():
    from freqlearn.theory import godfrey as T

    tau = D.power_law_tau((1, 6, 6), alpha=2.0)
    g = torch.Generator().manual_seed(3)
    x = D.stationary_gaussian(3000, tau, generator=g)
    y, _ = D.planted_teacher(x, 1, noise=0.1, generator=g)
    S, B = T.statistics(x, y)
    shape, L = (1, 6, 6), 3
    tau_hat = torch.as_tensor(T.fourier_variance(S, shape))
    v_ls = T.least_squares(S, B, shape)
    for lam in (0.02, 0.2):
        def objective(v, lam=lam):
            le = T.lam_eff(lam, L, (6, 6))
            return float((tau_hat * (v - v_ls).abs() ** 2).sum()
                         + le * L * (v.abs() ** (2 / L)).sum())

        up = T.prox_gradient(S, B, lam, L, shape, diagonal=True, branch="upper")
        gl = T.prox_gradient(S, B, lam, L, shape, diagonal=True, branch="global")
        assert objective(gl) <= objective(up) + 1e-9
    with pytest.raises(ValueError, match="branch"):
        T.prox_gradient(S, B, 0.02, L, shape, diagonal=True, branch="middle")


def test_moments_in_both_conventions():
    i = np.fft.fftfreq(32) * 32
    r2 = i[:, None] ** 2 + i[None, :] ** 2
    r, g = sensitivity.radial(1 / (1 + r2))
    m_trap, m_sum = sensitivity.moments(r, g), sensitivity.moments(r, g, "sum")
    assert m_trap[0] == pytest.approx(2.01, abs=0.01)     # the review's 2.02 vs 3.70
    assert m_sum[0] == pytest.approx(3.70, abs=0.01)
    assert m_sum[0] == pytest.approx(float((r * g).sum() / g.sum()))
    with pytest.raises(ValueError, match="convention"):
        sensitivity.moments(r, g, "bins")


def test_flat_trend_deals_values_to_the_grid():
    rho = E.flat_trend([1, 2, 3, 4], [1, 2, 3, 4, 4, 3, 2, 1, 9])   # the 9 is dropped
    np.testing.assert_allclose(rho, [1.0, -1.0])
    with pytest.raises(ValueError, match="two groups"):
        E.flat_trend([1, 2, 3], [1, 2, 3, 4])
    res = [dict(trained_m1=float(k), trained_m2=1.0 + k, untrained_m1=1.0,
                untrained_m2=1.0, train_loss=0.1, steps=5, trained_m1_sum=-float(k),
                trained_m2_sum=2.0) for k in range(6)]
    grid = E.moment_grid(res, [1, 2, 3], 2)
    assert grid["rho_trained_m1"] == 1.0 and grid["rho_trained_m1_sum"] == -1.0

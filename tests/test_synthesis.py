"""Synthesis chapter (X3): the Fourier form of the patch PCA, the measures, the runners."""

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn.experiments import synthesis as S
from freqlearn.nets import pinson as PN


def _imgs(n=40, c=3, h=6, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, c, h, h))
    # some colour correlation and a smooth part, so no eigenvalue is degenerate by accident
    x[:, 1] += 0.5 * x[:, 0]
    return x + np.roll(x, 1, axis=-1)


def _circular_patches(x):
    n = x.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (0, n - 1), (0, n - 1)), mode="wrap")
    return fl.fourier.extract_patches(xp, n)          # every circular shift, (C, n, n) order


def _groups(lam2, e2, rtol=1e-7):
    """Sum e² over clusters of (numerically) equal eigenvalues, sorted by eigenvalue."""
    order = np.argsort(lam2)
    lam2, e2 = lam2[order], e2[order]
    out, cur, tot = [], lam2[0], 0.0
    for lv, ev in zip(lam2, e2, strict=True):
        if abs(lv - cur) > rtol * max(abs(cur), 1e-300) + 1e-12:
            out.append((cur, tot))
            cur, tot = lv, 0.0
        tot += ev
    out.append((cur, tot))
    return np.array(out)


def test_fourier_patch_basis_matches_patch_pca_of_circular_shifts():
    x = _imgs()
    fb = S.fourier_patch_basis(x)
    ev, _ = fl.fourier.patch_pca(_circular_patches(x))
    np.testing.assert_allclose(np.sort(fb["lam2"].ravel()), np.sort(ev), rtol=1e-9,
                               atol=1e-12)


def test_fourier_energy_matches_energy_profile_within_degenerate_pairs():
    x = _imgs()
    fb = S.fourier_patch_basis(x)
    ev, U = fl.fourier.patch_pca(_circular_patches(x))
    w = np.random.default_rng(3).standard_normal((5, 3, 6, 6))
    e_real = fl.fourier.energy_profile(w.reshape(5, -1), U)
    e_four = S.fourier_energy(w, fb)
    a = _groups(ev, e_real ** 2)
    b = _groups(fb["lam2"].ravel(), e_four.ravel() ** 2)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    # Parseval: the energies add up to the mean squared filter norm
    np.testing.assert_allclose((e_four ** 2).sum(), (w ** 2).sum() / 5, rtol=1e-12)


def test_fourier_energy_rejects_wrong_shape():
    fb = S.fourier_patch_basis(_imgs())
    with pytest.raises(ValueError, match="w must have shape"):
        S.fourier_energy(np.zeros((2, 3, 5, 5)), fb)
    with pytest.raises(ValueError, match="non-empty"):
        S.fourier_patch_basis(np.zeros((0, 3, 4, 4)))


def test_kernel_power_parseval_and_padding():
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3))
    P = S.kernel_power(w, 8)
    assert P.shape == (3, 8, 8)
    np.testing.assert_allclose(P.sum((-2, -1)), (w ** 2).sum((-2, -1)).mean(0), rtol=1e-12)
    P5 = S.kernel_power(np.stack([w, 2 * w]), 8)          # trials on axis 0
    np.testing.assert_allclose(P5[1], 4 * P, rtol=1e-12)
    with pytest.raises(ValueError, match="larger than size"):
        S.kernel_power(w, 2)


def test_dominance_peaks_at_the_class_cosine():
    n, f = 8, 2
    cos = np.cos(2 * np.pi * f * np.arange(n) / n)[None, :] * np.ones((n, 1))
    x = np.stack([s * cos for s in (1.0, -1.0)] * 4)[:, None]   # two classes, ±cosine
    Y = np.eye(2)[np.arange(8) % 2]
    d = S.dominance(x, Y)["dom"][0]
    j = np.unravel_index(np.argmax(d), d.shape)
    assert j in ((0, f), (0, n - f))
    np.testing.assert_allclose(d[0, f], 1 / np.sqrt(2), rtol=1e-10)   # Pinson S.157


def test_radial_moment_is_eq_5_1_of_the_channel_mean():
    a = np.random.default_rng(0).random((3, 8, 8))
    r, g = fl.fourier.radial_profile(a.mean(0), bins="exact")
    assert S.radial_moment(a) == pytest.approx(float(fl.fourier.radial_moment(r, g, 1)))
    low = np.zeros((8, 8))
    low[0, 1] = low[1, 0] = 1.0
    high = np.zeros((8, 8))
    high[4, 4] = 1.0
    assert S.radial_moment(low) < S.radial_moment(high)


def test_pinson_logits_equals_linear_cnn_and_its_sensitivity_is_input_free():
    g = torch.Generator().manual_seed(0)
    net = PN.LinearCNN.random(1, 3, 6, 4, 0.3, g)
    m = S.PinsonLogits(net.k[0], net.W[0])
    x = torch.randn(5, 3, 6, 6, dtype=torch.float64, generator=g)
    torch.testing.assert_close(m(x), net.predict(x[None])[0])
    s1 = fl.sensitivity.frequency_sensitivity(m, x[:2])
    s2 = fl.sensitivity.frequency_sensitivity(m, x[2:])
    np.testing.assert_allclose(s1, s2, rtol=1e-10)           # linear: the map is v̂


@pytest.fixture(scope="module")
def data():
    return S.load(64, 16, size=8, seed=0)


def test_load_removes_each_images_mean_colour(data):
    np.testing.assert_allclose(data["x"].mean(axis=(2, 3)), 0, atol=1e-5)
    assert data["Y"].shape == (64, 10)
    with pytest.raises(TypeError, match="remove_dc"):
        S.load(8, 2, size=8, remove_dc=1)


@pytest.mark.parametrize("kind,kw", [("pinson", dict(lr=0.05)),
                                     ("convactually", dict(lr=0.01, width=2)),
                                     ("vgg", dict(lr=0.1, first=4, vgg_width=1 / 16))])
def test_track_and_summarise_shapes(data, kind, kw):
    run = S.track(kind, data, steps=[0, 2, 4], trials=2, seed=1, batch=16, n_eval=8, **kw)
    assert run["t"].tolist() == [0, 2, 4]
    assert run["w"].shape[:2] == (3, 2) and run["smap"].shape == (3, 2, 3, 8, 8)
    assert not np.allclose(run["w"][-1], run["w"][0])       # the first layer moved
    m = S.summarise(run, data)
    for q in ("k_m1", "k_dom", "g_m1", "s", "r_fit", "slope"):
        assert m[q].shape == (3, 2) and np.isfinite(m[q]).all()
    assert m["k_dom0"].shape == (2,) and m["r_fit0"].shape == (2,)
    assert m["e"].shape[:2] == (3, 2) and m["full"] == (kind != "vgg")
    again = S.track(kind, data, steps=[0, 2, 4], trials=2, seed=1, batch=16, n_eval=8, **kw)
    np.testing.assert_array_equal(run["w"], again["w"])    # seeded


def test_track_rejects_bad_arguments(data):
    with pytest.raises(ValueError, match="kind"):
        S.track("resnet", data, steps=[0, 1], lr=0.1)
    with pytest.raises(ValueError, match="labels"):
        S.track("vgg", data, steps=[0, 1], lr=0.1, labels="random")
    with pytest.raises(ValueError, match="loss"):
        S.track("pinson", data, steps=[0, 1], lr=0.1, loss="ce")
    with pytest.raises(ValueError, match="lr"):
        S.track("vgg", data, steps=[0, 1], lr=-1.0)
    with pytest.raises(TypeError, match="trials"):
        S.track("vgg", data, steps=[0, 1], lr=0.1, trials=1.5)


def test_shuffled_labels_are_a_permutation(data):
    run = S.track("convactually", data, steps=[0, 1], trials=1, lr=0.01, width=2,
                  labels="shuffled", batch=8, n_eval=4)
    assert sorted(run["y"]) == sorted(data["y"]) and (run["y"] != data["y"]).any()


def test_converged_linear_record(data):
    c = S.converged_linear(data, L=2, lam=0.1, width=1, max_iter=20, n_eval=4)
    assert c["w"].shape == (2, 1, 1, 3, 8, 8) and c["smap"].shape == (2, 1, 3, 8, 8)
    assert np.isfinite(c["w"]).all() and not np.allclose(c["w"][0], c["w"][1])
    m = S.summarise(c, data)
    assert np.isfinite(m["g_m1"]).all()
    with pytest.raises(ValueError, match="lam"):
        S.converged_linear(data, lam=-1.0)
    with pytest.raises(ValueError, match="L must be"):
        S.converged_linear(data, L=1)


def test_radial_max1_normalises_each_map():
    a = np.random.default_rng(1).random((2, 3, 8, 8))
    r, g = S.radial_max1(a)
    assert g.shape == (2, len(r)) and np.allclose(g.max(-1), 1.0)
    r0, g0 = fl.fourier.radial_profile(a[1].mean(0), bins="exact")
    np.testing.assert_allclose(g[1], g0 / g0.max())
    with pytest.raises(ValueError, match="C, H, W"):
        S.radial_max1(np.ones((8, 8)))


def test_binned_profile_geometric_means():
    lam2 = np.array([1.0, 4.0, 100.0, 400.0, 0.0])
    e = np.array([[1.0, 4.0, 2.0, 8.0, 5.0]])
    lam, out = S.binned_profile(e, lam2, bins=2)
    assert lam.shape == (2,) and out.shape == (1, 2)
    np.testing.assert_allclose(out[0], [2.0, 4.0])        # √(1·4), √(2·8); λ²=0 dropped
    with pytest.raises(ValueError, match="must agree"):
        S.binned_profile(e, lam2[:3])

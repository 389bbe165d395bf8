"""Synthesis chapter: what a "follows the dominant frequencies" row must beat, the band
task, and the measures of a converged linear map."""

import numpy as np
import pytest

import freqlearn as fl
from freqlearn.experiments import synthesis as S


def _imgs(n=64, c=3, h=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, h))
    # a low-pass (natural-image-like) spectrum
    X = np.fft.fft2(x) / (1 + fl.fourier.frequency_grid(h, h)[2]) ** 1.5
    x = np.fft.ifft2(X).real
    return x - x.mean((2, 3), keepdims=True)


def test_data_power_and_blur_power():
    x = _imgs()
    P = S.data_power(x)
    assert P.shape == (3, 8, 8)
    assert np.allclose(P.sum((1, 2)), (x ** 2).sum((2, 3)).mean(0))   # Parseval
    B = S.blur_power(3, 8)
    r = fl.fourier.frequency_grid(8, 8)[2]
    assert np.isclose(B[0, 0, 0], 1 / (3 * 64))   # unit sum, orthonormal DFT, 3 filters
    assert B[0][r > 3].max() < B[0][r < 1].min()         # low-pass
    with pytest.raises(ValueError):
        S.blur_power(3, 8, sigma=0)


def test_partial_spearman():
    rng = np.random.default_rng(1)
    c = rng.standard_normal(500)
    a = c + 0.1 * rng.standard_normal(500)
    b = c + 0.1 * rng.standard_normal(500)
    assert S.spearman_map(a, b) > 0.9
    assert abs(S.partial_spearman(a, b, c)) < 0.2        # all shared through c
    d = rng.standard_normal(500)
    assert S.partial_spearman(a + 3 * d, b + 3 * d, c) > 0.5
    with pytest.raises(ValueError):
        S.partial_spearman(a, b[:10], c)


def test_follow_explanations_shapes():
    x = _imgs()
    dom = S.data_power(x) ** 0.5
    kp = np.stack([S.data_power(x), S.blur_power(3, 8)])
    X = S.follow_explanations(kp, dom, x)
    assert np.isclose(X["power"], 1.0)                   # dom is a function of the power
    assert X["partial"].shape == (2,) and X["rho_power"].shape == (2,)
    assert np.isclose(X["rho_power"][0], 1.0)


def test_band_labels_and_share():
    x = _imgs(n=200)
    bt = S.band_labels(x, band=(2.0, 3.0), seed=3)
    r = fl.fourier.frequency_grid(8, 8)[2]
    assert np.array_equal(bt["mask"], (r >= 2) & (r < 3))
    assert abs(bt["y"].mean() - 0.5) < 0.01               # balanced
    T = np.abs(np.fft.fft2(bt["template"])) ** 2
    assert np.isclose(T[:, ~bt["mask"]].sum(), 0, atol=1e-20)   # support on the band
    assert np.isclose(np.linalg.norm(bt["template"]), 1)
    a = np.zeros((2, 3, 8, 8))
    a[0][:, bt["mask"]] = 1
    a[1] = 1
    assert np.allclose(S.band_share(a, bt["mask"]), [1, bt["mask"].mean()])
    with pytest.raises(ValueError):
        S.band_labels(x, band=(3.0, 2.0))


def test_closed_form_linear_whitens_and_map_measures():
    x = _imgs(n=300, h=6, seed=2)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, len(x))
    D = {"x": x, "Y": np.eye(4)[y], "y": y, "x_test": x[:8]}
    c = S.closed_form_linear(D, lam=0.0)
    assert c["W"].shape == (4, 3, 6, 6) and c["B"].shape == (4, 3, 6, 6)
    assert c["grad_norm"] < 1e-8 and 0 <= c["acc"] <= 1
    fb = S.fourier_patch_basis(x)
    dom = S.dominance(x, D["Y"])["dom"]
    m = S.map_measures(c["W"], D, dom=dom, fbasis=fb)
    mb = S.map_measures(c["B"], D, dom=dom, fbasis=fb)
    # least squares divides b̂ by the variance: its slope is about b̂'s minus 2
    assert m["slope"] < mb["slope"] - 1
    assert m["smap"].shape == (3, 6, 6) and np.isfinite(m["g_m1"])
    with pytest.raises(ValueError):
        S.closed_form_linear(D, lam=0.1, L=3)
    assert np.isclose(S.smap_m1(m["smap"]), m["g_m1"])

"""Fig. S3 (drift and jumps) and the I5 chance nulls of Ingrosso & Goldt (2022)."""

import math

import numpy as np
import pytest
import torch

import freqlearn as fl

th = fl.theory.ingrosso


def bump(D, c, width=2.0, sign=1.0):
    """A periodic Gaussian bump of unit height centred at c (sites)."""
    d = (np.arange(D) - c + D / 2) % D - D / 2
    return sign * np.exp(-0.5 * (d / width) ** 2)


def test_rf_track_centre_and_sign():
    D = 50
    W = np.stack([bump(D, 7.3), bump(D, 48.5, sign=-1.0), bump(D, 0.0)])
    c, s = th.rf_track(W)
    # circular distance to the true centre (a symmetric bump: the weighted circular mean)
    err = np.abs((c - np.array([7.3, 48.5, 0.0]) + D / 2) % D - D / 2)
    assert err.max() < 1e-6
    assert s.tolist() == [1.0, -1.0, 1.0]
    # agrees with the committee's own centres
    np.testing.assert_allclose(c, fl.nets.committee.rf_centres(W), atol=1e-9)


def test_rf_jumps_detects_moves_flips_and_skips_nan():
    D = 60
    cs = [10.0, 10.2, 10.5, 30.0, 30.1, 30.3, 30.2, 58.0]  # jumps at 2→3 and 6→7
    signs = [1, 1, 1, 1, -1, -1, -1, -1]  # flip at 3→4
    W = np.stack([bump(D, c, sign=s) for c, s in zip(cs, signs, strict=True)])
    dc, jump = th.rf_jumps(W, threshold=2.5)
    assert dc.shape == jump.shape == (len(cs) - 1,)
    assert np.flatnonzero(jump).tolist() == [2, 3, 6]
    np.testing.assert_allclose(dc[[0, 1, 4]], [0.2, 0.3, 0.2], atol=1e-6)
    assert abs(dc[6] - 27.8) < 1e-6  # circular: 27.8 one way, 32.2 the other
    W2 = W.copy()
    W2[5] = np.nan  # a record that blew up: neither a drift nor a jump
    dc2, j2 = th.rf_jumps(W2, threshold=2.5)
    assert np.isnan(dc2[4]) and np.isnan(dc2[5]) and not j2[4] and not j2[5]
    # batched over trials: (T, trials, D)
    dcb, jb = th.rf_jumps(np.stack([W, W], 1), threshold=2.5)
    assert jb.shape == (len(cs) - 1, 2) and (jb[:, 0] == jump).all()
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="threshold"):
            th.rf_jumps(W, bad)
    with pytest.raises(ValueError, match="W must be"):
        th.rf_track(np.ones(5))


def test_jump_contrast_and_its_null():
    x = np.array([0.0, 0.1, 0.2, 1.2, 1.3, 1.4])  # |Δx| = .1 .1 1 .1 .1
    jump = np.array([False, False, True, False, False])
    assert th.jump_contrast(x, jump) == pytest.approx(1.0 / 0.1)
    assert math.isnan(th.jump_contrast(x, np.zeros(5, bool)))
    assert math.isnan(th.jump_contrast(x, np.ones(5, bool)))
    with pytest.raises(ValueError, match="jump"):
        th.jump_contrast(x, jump[:-1])
    # x moving independently of the jumps: the null's contrast is about 1
    rng = np.random.default_rng(0)
    xr = np.cumsum(rng.normal(size=2001))
    jr = np.zeros(2000, bool)
    jr[::50] = True
    null = th.jump_contrast_null(xr, jr, np.random.default_rng(1), draws=100)
    assert null.shape == (100,) and abs(null.mean() - 1.0) < 0.1
    assert th.jump_contrast(xr, jr) == pytest.approx(1.0, abs=0.3)
    # a null placing the real jumps can reach the real contrast only rarely
    assert np.mean(th.jump_contrast_null(x, jump, np.random.default_rng(2), draws=200)
                   >= 9.99) == pytest.approx(0.2, abs=0.1)


def test_perm_corrs_and_tail():
    x = np.array([2.0, 3.0, 4.0, 5.0, 6.0])
    rs = th.perm_corrs(x, x)
    assert rs.size == 120 and rs.max() == pytest.approx(1.0)
    assert th.perm_corr_tail(x, x) == pytest.approx(1 / 120)
    assert th.perm_corr_tail(x[:4], x[:4]) == pytest.approx(1 / 24)
    # ties (quantised half-widths) make a perfect-looking order more likely by chance
    y = np.array([1.5, 1.5, 2.0, 2.0, 2.5])
    assert th.perm_corr_tail(x, y) == pytest.approx(4 / 120)  # 2!·2! tied orders
    # the 95th percentile of a five-point Spearman ρ is 0.8 (exact)
    assert np.quantile(th.perm_corrs(np.arange(5.0), np.arange(5.0)), 0.95) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="length"):
        th.perm_corrs(np.arange(9.0), np.arange(9.0))
    with pytest.raises(ValueError, match="length"):
        th.perm_corrs(np.arange(4.0), np.arange(5.0))


def test_s3_paper_path_runs_small():
    """The notebook's S3 call at the paper's sizes (D = 100, P = 20D), few steps."""
    r = fl.experiments.ingrosso.finite_data(
        L=100, xis=(0.0, 4 * 5**0.5), g=3.0, K=1, alpha=20, lr=0.02, batch=10, steps=40,
        trials=2, n_test=20, plastic_v=True, v0=1.0, b0=-1.0, act="cubic", keep_w=True,
        record_steps=fl.train.lin_steps(40, 5), generator=torch.Generator().manual_seed(0),
        checkpoint=False)
    W = r["W"][:, :, 0]
    assert W.shape == (5, 2, 100) and r["v"].shape == (5, 2, 1)
    dc, jump = th.rf_jumps(W, 2.5)
    assert dc.shape == (4, 2) and jump.dtype == bool


def test_supplementary_paper_sizes_run_small():
    """S1 and S4 at the paper preset's sizes and conventions (supplementary.md), few steps."""
    ex = fl.experiments.ingrosso
    gen = torch.Generator().manual_seed(1)
    s1 = ex.finite_data(L=100, batch=1, steps=5, trials=2, xis=(2.0, 4.0), g=2.0, K=20,
                        alpha=1000, n_test=50, plastic_v=True, v0="random",
                        lr=2 * 0.05 / 100, init="authors", generator=gen, n_record=3,
                        checkpoint=False)
    assert s1["P"] == 100_000 and s1["ipr"].shape[1:] == (2, 20)
    assert np.isfinite(s1["acc"]).all()
    lr4 = ex.authors_lr(0.2, 8, 400, 1)
    assert lr4 == pytest.approx(2 * 0.2 * 8 / 400)
    s4 = ex.online_nlgp_vs_gp(L=400, xis=(8.0, 16.0), batch=1, lr=lr4, steps=5, trials=2, g=3.0,
                              K=8, n_test=50, weight_decay=1e-4, get=False, init="authors",
                              generator=gen, n_record=3, checkpoint=False)
    assert s4["W_final"].shape == (2, 2, 8, 400) and np.isfinite(s4["ipr"]).all()


def test_gradient_flow_cp_follows_the_weight_device_and_dtype():
    """The CP reconstruction (Fig. S2) is moved to w's device and dtype."""
    g = torch.Generator().manual_seed(2)
    Xs = [torch.randn(50, 6, generator=g, dtype=torch.float64) for _ in range(2)]
    U = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 2)))[0]
    w0 = torch.randn(3, 6, generator=g, dtype=torch.float64) / 6
    w, _ = th.gradient_flow(Xs, w0, 5, cp={1: (np.array([1.0, 0.5]), U)})
    # one Euler step by hand against the flow
    w1, _ = th.gradient_flow(Xs, w0, 1, cp={1: (np.array([1.0, 0.5]), U)})
    Ut = torch.as_tensor(U)
    dw = torch.zeros_like(w0)
    for mu, (X, y) in enumerate(zip(Xs, (-1.0, 1.0), strict=True)):
        c2, c4 = th.reduced_coeffs(y)
        C = X.T @ X / X.shape[0]
        Cw = w0 @ C
        dw += (c2 + 3 * c4 * (w0 * Cw).sum(-1, keepdim=True)) * Cw
        dw += c4 * (th.cumulant_w3(X, w0, C) if mu == 0
                    else ((w0 @ Ut) ** 3 * torch.tensor([1.0, 0.5])) @ Ut.T)
    torch.testing.assert_close(w1, w0 + 0.01 * dw / 2)
    assert w.dtype == torch.float64 and torch.isfinite(w).all()

"""Unit tests of the R3 calibration helpers (fixed-law comparison, protocol simulation) and
the two-group statistics of the Ricci, Merger & Goldt (2026) reconstruction."""

import numpy as np
import pytest

from freqlearn.experiments import ricci as rx
from freqlearn.theory import ricci as rt

N = np.array([16, 20, 24, 32])


def test_apparent_exponent_matches_local_exponent_on_two_sizes():
    assert np.isclose(rt.apparent_exponent([16, 32], 3.0, 2.0),
                      rt.local_exponent(16, 32, 3.0, 2.0))
    assert np.isclose(rt.apparent_exponent(N, 2.0, 0.0), 2.0)


def test_theta_se_matches_fit_theta_and_its_bootstrap():
    rng = np.random.default_rng(0)
    Y = np.exp(3 * np.log(N)[:, None] + rng.normal(0, 0.4, (4, 6)))
    th, se = rt.theta_se(N, Y)
    f = rt.fit_theta(N, Y, 0.0, n_boot=4000, seed=1)
    assert np.isclose(th, f["theta"])
    assert abs(se - f["se"]) < 0.1 * se
    # vectorised over leading axes
    th2, se2 = rt.theta_se(N, np.stack([Y, Y]))
    assert th2.shape == (2,) and np.allclose(th2, th)


def test_law_loglik_prefers_the_true_law():
    rng = np.random.default_rng(1)
    Ns = np.array([16, 32, 64, 128])
    for name in ("N^2", "N^3"):
        th, p = rt.LAWS[name]
        Y = np.exp(th * np.log(Ns)[:, None] + p * np.log(np.log(Ns))[:, None]
                   + rng.normal(0, 0.2, (4, 8)))
        c = rt.compare_laws(Ns, Y, ("N^2", "N^3", "N^3/log^2 N"))
        assert c["best"] == name and c["margin"] > 0
    with pytest.raises(ValueError):
        rt.compare_laws(Ns, Y, ("N^2", "nope"))


def test_rate_model_recovers_curvature_and_vertex():
    cs = np.array([4.0, 8, 16, 32, 64])
    u = np.log(cs)
    lc = np.log([10.0, 20.0])
    Y = 8 + 0.5 * (u[None, :, None] - lc[:, None, None]) ** 2 + np.zeros((2, 5, 3))
    Y = Y + np.random.default_rng(2).normal(0, 0.1, Y.shape)
    m = rt.rate_model(cs, np.exp(Y))
    assert abs(m["kappa"] - 0.5) < 0.1 and np.allclose(m["log_copt"], lc, atol=0.2)
    assert 0.05 < m["sigma"] < 0.2


def test_calibration_returns_the_control_exponents():
    sim = dict(trials=16, sigma=0.3, reps=200, seed=3, n_ref=1e4, cs=[8, 16, 32, 64, 128],
               kappa=0.3, log_copt=np.log([20, 24, 28, 36]), budget=1e9)
    cal = rt.calibrate(N, ["N", "N^2", "N^3"], **sim)
    for name, th in (("N", 1.0), ("N^2", 2.0), ("N^3", 3.0)):
        assert abs(cal[name]["theta"] - th) < 0.2, (name, cal[name]["theta"])
        assert cal[name]["cover"] > 0.8
    # the (N/log N)^3 form reads as ≈ 2.04 in a plain fit and 3 in its own form
    c0 = rt.calibrate(N, ["(N/log N)^3"], **sim)["(N/log N)^3"]
    c3 = rt.calibrate(N, ["(N/log N)^3"], fit_p=-3, **sim)["(N/log N)^3"]
    assert np.isclose(c0["truth"], rt.apparent_exponent(N, 3.0, -3.0))
    assert c3["truth"] == 3.0 and abs(c3["theta"] - 3.0) < 0.2


def test_censoring_at_the_budget_biases_the_exponent_low():
    sim = dict(trials=8, sigma=0.3, reps=100, seed=4, n_ref=1e5)
    free = rt.calibrate(N, ["N^3"], budget=1e12, **sim)["N^3"]["theta"]
    cut = rt.calibrate(N, ["N^3"], budget=3e5, **sim)["N^3"]["theta"]
    assert cut < free - 0.5


def test_separation_grows_with_range_and_trials():
    sim = dict(sigma=0.5, reps=200, seed=5, n_ref=1e4, budget=1e12)
    small = rt.separation([16, 20, 24, 32], 4, **sim)
    big = rt.separation([16, 32, 64, 128], 16, **sim)
    assert big["se"] < small["se"] and big["power"] > 0.9 > small["power"]


def test_diff_stat_carries_both_groups():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([0.0, 1.0, 0.5])
    s = rx.diff_stat(a, b)
    assert np.isclose(s.mean, a.mean() - b.mean())
    se = np.sqrt(a.var(ddof=1) / 4 + b.var(ddof=1) / 3)
    assert np.isclose(s.se, se) and s.lower < s.mean < s.upper
    # a one-value arm (a number) carries no error
    s1 = rx.diff_stat(a, 0.5)
    assert np.isclose(s1.se, a.std(ddof=1) / 2)
    e = rx.estimate(2.5, 0.4, 6)
    assert e.mean == 2.5 and e.se == 0.4 and e.lower == 1.7


def test_edge_picks_counts_grid_edges():
    res = {"cs": np.array([1.0, 2, 4]), "n_run": 100,
           "nstar_acc": np.array([[50.0, 60], [10, 12], [40, 45]])}
    assert rx.edge_picks({16: res}) == 0
    res2 = dict(res, nstar_acc=np.array([[5.0, 6], [10, 12], [40, 45]]))
    assert rx.edge_picks({16: res, 20: res2}) == 1


def test_comparison_power_low_on_a_short_range_high_on_a_long_one():
    sim = dict(sigma=0.3, reps=200, seed=6, n_ref=1e4, budget=1e12)
    short = rt.comparison_power([16, 20, 24, 32], 6, **sim)
    long = rt.comparison_power(np.geomspace(16, 4096, 5).round(), 48, **sim)
    assert short < 0.5 < long


def test_best_rate_complete_skips_rates_with_unfinished_trials():
    res = {"cs": np.array([1.0, 2, 4]), "n_run": 100,
           "nstar_acc": np.array([[50.0, 60, 70], [10, 12, np.inf], [40, 45, 48]])}
    assert rx.best_rate(res, held_out=False)["c"] == 2.0
    b = rx.best_rate(res, held_out=False, complete=True)
    assert b["c"] == 4.0 and b["n_censored"] == 0
    # no complete rate: falls back to all rates
    res2 = dict(res, nstar_acc=np.array([[np.inf, 60, 70], [10, 12, np.inf],
                                         [np.inf, 45, 48]]))
    assert rx.best_rate(res2, held_out=False, complete=True)["c"] == 2.0


def test_edge_picks_skips_a_run_that_never_reached_the_threshold():
    res = {"cs": np.array([1.0, 2, 4]), "n_run": 100,
           "nstar_acc": np.full((3, 2), np.inf)}
    assert rx.edge_picks({"censored": res}) == 0

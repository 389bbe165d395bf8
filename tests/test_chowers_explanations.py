"""Chowers & Weiss (2023): the trivial explanations and controls of the claims (issue 24)."""

import numpy as np
import pytest

from freqlearn.experiments import chowers as E
from freqlearn.theory import chowers as th

LAM2 = np.geomspace(20.0, 0.002, 27)  # a natural-image-like spread of eigenvalues


def test_early_profile_is_the_small_s_limit_of_the_formula():
    e = th.early_profile(LAM2)
    assert e.max() == 1 and np.all(np.diff(e) < 0)
    np.testing.assert_allclose(e, th.formula(LAM2, 1e-9 / LAM2.max()), rtol=1e-6)
    # and not the late-time (whitening) limit
    assert th.pearson(e, th.formula(LAM2, 1e3)) < 0
    with pytest.raises(ValueError, match="> 0"):
        th.early_profile(np.r_[LAM2[:-1], 0.0])


@pytest.mark.parametrize("x", [0.03, 3.0, 300.0])
def test_clock_recovers_s_max_lam2(x):
    p = th.formula(LAM2, x / LAM2.max())
    c = th.clock(p, LAM2)
    assert abs(np.log(c / x)) < 0.05          # the 400-point log grid's resolution
    # the early-time profile sits at the bottom of the default grid
    assert th.clock(th.early_profile(LAM2), LAM2) < 0.1


def test_authors_grid_cannot_reach_the_early_time_limit():
    g = th.authors_s_grid()
    assert np.isclose(g[0], 0.45) and g[-1] < 225 and np.all(np.diff(g) > 0)
    e = th.early_profile(LAM2)
    r_book = th.fit_formula(e, LAM2)[1]
    r_auth = th.fit_formula(e, LAM2, g)[1]
    assert r_book > 0.9999 and r_auth < 0.9
    assert np.isclose(th.authors_s_grid(J=196)[0], 1e-7 * 196 / 2 * 1e4)
    with pytest.raises(ValueError, match="t1"):
        th.authors_s_grid(t0=10, t1=5)


def _tiny():
    rng = np.random.default_rng(3)
    return {"x": rng.standard_normal((32, 3, 16, 16)).astype(np.float32),
            "y": np.arange(32) % 10}


def test_label_partner_has_an_independent_init():
    spec = dict(arch="vgg", width=0.0625, first=8, seed=2)
    p = E.partner(spec)
    assert p["labels"] == "random" and p["seed"] == 2 + E.PARTNER_SEED
    assert spec.get("labels") is None                        # spec itself untouched
    D = _tiny()
    R = E.train_set(D, {"true": spec, "random": p, "same": dict(spec, labels="random")},
                    epochs=1, U=np.eye(27), batch=16)
    assert not np.allclose(R["true"]["W0"], R["random"]["W0"])
    # the old pairing (same seed) shares the initialisation: what partner() avoids
    np.testing.assert_array_equal(R["true"]["W0"], R["same"]["W0"])
    with pytest.raises(TypeError, match="spec"):
        E.partner(None)


def test_eval_reset_puts_the_first_layer_back():
    D = _tiny()
    spec = dict(arch="resnet", depth=8, first=4, eval_reset=True)
    R = E.train_set(D, {"learned": spec, "frozen": dict(spec, freeze=True)},
                    epochs=2, U=np.eye(27), batch=16)
    f, le = R["frozen"], R["learned"]
    assert np.isclose(f["eval_loss_reset"], f["eval_loss"], rtol=1e-6)
    assert not np.isclose(le["eval_loss_reset"], le["eval_loss"], rtol=1e-6)
    assert "eval_loss_reset" not in E.train_set(D, {"a": dict(spec, eval_reset=False)},
                                                epochs=1, U=np.eye(27), batch=16)["a"]


def test_linear_profiles_single_and_mean_of_n_against_the_expectation():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((60, 3, 8, 8)) + rng.standard_normal((60, 3, 1, 1))
    lam2, U = E.patch_basis(x, n_images=60)
    L = E.linear_profiles(th.gap_features(x), U, lam2, [3, 300], K=2, B=400,
                          rng=rng, ns=(1, 10, 400, 5000))
    assert list(L["ns"]) == [1, 10, 400]                    # n > B dropped
    assert L["r_single_expected"].shape == (2, 200)
    assert L["r_mean_n"].shape == L["sd_mean_n"].shape == (2, 3)
    # the mean of n draws converges to the exact expectation; single nets scatter
    assert np.all(np.diff(L["r_mean_n"], axis=1) > 0)
    assert np.all(L["r_mean_n"][:, -1] > 0.99) and L["sd_mean_n"][0, -1] == 0
    np.testing.assert_allclose(L["r_mean_n"][:, 0],
                               L["r_single_expected"].mean(1), atol=0.05)
    assert np.all(L["r_single_expected"].std(1) > 0.01)
    with pytest.raises(ValueError, match="ns"):
        E.linear_profiles(th.gap_features(x), U, lam2, [3], K=2, B=4, rng=rng, ns=(9,))

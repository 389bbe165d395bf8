"""Unit tests of the Pinson et al. (2023) modules: nets, theory, data."""

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn.data import pinson as D
from freqlearn.nets import pinson as P
from freqlearn.theory import pinson as th


def test_cnn_gradients_match_autograd():
    X, Y = D.pure_cosines(8, [(0, 0), (1, 2), (3, 1)], [1.0, 0.7, 0.4])
    g = torch.Generator().manual_seed(0)
    net = P.LinearCNN.random(2, 1, 8, 3, 0.3, g)
    x = torch.as_tensor(X)[None, :2].expand(2, -1, -1, -1, -1).clone()
    y = torch.as_tensor(Y)[None, :2].expand(2, -1, -1)
    k, W = net.k.clone().requires_grad_(), net.W.clone().requires_grad_()
    h = fl.fourier.fft_depthwise_conv2d(x, k[:, None]).reshape(2, 2, -1)
    yh = torch.einsum("tpd,tbd->tbp", W, h)
    (0.5 * ((y - yh) ** 2).sum(-1).mean(-1).sum()).backward()
    dk, dW = net.grads(x, y - net.predict(x))
    assert (dk + k.grad).abs().max() < 1e-12 and (dW + W.grad).abs().max() < 1e-12


def test_train_twolayer_shared_hidden_is_bitwise_the_two_pass_update():
    """train_twolayer computes the hidden layer once per update for the plain nets; a
    subclass takes the old predict-then-grads path: the same numbers, bit for bit."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 2, 5, 5)), np.eye(3)[rng.integers(0, 3, 30)]
    makers = (lambda g: P.LinearCNN.random(2, 2, 5, 3, 1e-2, g),
              lambda g: P.LinearFCNN.random(2, 50, 3, 50, 1e-2, g))
    for make in makers:
        out = []
        for sub in (False, True):
            g = torch.Generator().manual_seed(1)
            net = make(g)
            if sub:
                net = type("Sub", (type(net),), {})(**net.__dict__)
            r = P.train_twolayer(net, X, Y, lr=0.05, budget=90, mode="epoch", generator=g,
                                 checkpoint=False, steps=[0, 45, 90])
            out.append((r.history["loss"], r.history["A"]))
        assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
        # the last record (A and loss share one prediction) is the final net's train loss
        yh = net.predict(torch.as_tensor(X)[None]).numpy()
        direct = (((Y[None] - yh) ** 2).sum(-1) / 3).mean(-1)
        assert np.allclose(out[1][0][-1], direct, rtol=1e-12, atol=0)


def test_cnn_prediction_equals_dbc_matrix():
    n = 6
    rng = np.random.default_rng(1)
    k, x = rng.normal(size=(n, n)), rng.normal(size=(n, n))
    W = rng.normal(size=(3, n * n))
    net = P.LinearCNN(torch.as_tensor(k)[None, None], torch.as_tensor(W)[None])
    yh = net.predict(torch.as_tensor(x)[None, None, None])[0, 0].numpy()
    assert np.abs(yh - W @ fl.fourier.dbc(k) @ fl.fourier.vec(x)).max() < 1e-10


def test_fcnn_span_form_gradients():
    X, Y = D.pure_cosines(8, [(0, 0), (1, 2)], [1.0, 0.5])
    svd = th.svd_yx(X, Y)
    g = torch.Generator().manual_seed(0)
    fc = P.LinearFCNN.random(2, 64, 2, svd["V"], 0.3, g)
    W1 = (fc.M @ fc.B.T).clone().requires_grad_()
    W2 = fc.W2.clone().requires_grad_()
    x = torch.as_tensor(X)[None].expand(2, -1, -1, -1, -1)
    y = torch.as_tensor(Y)[None].expand(2, -1, -1)
    yh = torch.einsum("tph,thd,tbd->tbp", W2, W1, x.reshape(2, 2, -1))
    (0.5 * ((y - yh) ** 2).sum(-1).mean(-1).sum()).backward()
    (gg, c), dW2 = fc.grads(x, y - fc.predict(x))
    dM = torch.einsum("tbh,tbr->thr", gg, c)
    assert (dM + W1.grad @ fc.B).abs().max() < 1e-12 and (dW2 + W2.grad).abs().max() < 1e-12
    M0 = fc.M.clone()
    fc.apply((gg, c), dW2, 0.1)
    assert (fc.M - M0 - 0.1 * dM).abs().max() < 1e-12


def test_aligned_init_is_diagonal_and_matches_S160():
    X, Y = D.pure_cosines()
    svd = th.svd_yx(X, Y)
    net = P.LinearCNN.aligned(3, 16, svd["U"], svd["V"], 1e-2, torch.Generator().manual_seed(2))
    A = th.effective_A(net.predict(torch.as_tensor(X)[None]).numpy(), X, svd["U"], svd["V"])
    diag = np.einsum("tii->ti", A)
    assert np.abs(A - diag[:, :, None] * np.eye(4)).max() < 1e-12 * np.abs(diag).max()
    d = th.d_alpha(svd["V"], 16)
    kap = np.abs(np.fft.fft2(net.k[:, 0].numpy()) / 16) ** 2
    j = [fl.fourier.freq_index(mu, nu, 16) for mu, nu in D.PURE_COSINES["pairs"]]
    pred = 16 / d * kap.reshape(3, -1)[:, j] * svd["Sxx"]
    assert np.allclose(diag, pred, rtol=1e-10)
    assert np.allclose(d, [1, 2 ** -0.5, 2 ** -0.5, 2 ** -0.5], atol=1e-12)


def test_sigmoid_limits_and_ode():
    t = np.linspace(0, 50, 501)
    a = th.sigmoid(t, 2.0, 0.5, 0.1, 4, 1e-3)
    assert a[0] == pytest.approx(1e-3) and a[-1] == pytest.approx(2.0, rel=1e-6)
    # satisfies da/dt = 2 n d λ a (s − a)
    da = np.gradient(a, t)
    assert np.abs(da - 2 * 4 * 0.5 * 0.1 * a * (2 - a)).max() < 2e-3
    # sWTA with a single frequency reduces to the sigmoid (a = n Σ |φ| u with |φ| = d)
    u, aa = th.swta_ode(t, [[1e-3 / (4 * 1.0 * 0.5)]], [0.5], [0], [2.0], [1.0], 0.1, 4)
    assert np.abs(aa[0, 0] - a).max() < 1e-5


def test_time_map_and_half_time():
    assert th.time_of_updates(8000, 4) == 4000
    assert th.time_of_updates(10, 2, "half_sum") == 10
    t = np.linspace(0, 10, 1001)
    h = th.half_time(t, np.tanh(t)[None], np.array([1.0]))[0]
    assert h == pytest.approx(np.arctanh(0.5), abs=1e-4)


def test_minimal_norm_of_aligned_converged_net():
    """The aligned, balanced construction satisfies the balance (S.75) and S.77 exactly."""
    X, Y = D.sums_of_cosines(n=16, classes=[[(1, 2, 1.0, 0.3), (3, 5, 0.5, -1.0)],
                                            [(2, 1, 0.8, 0.4)]])
    svd = th.svd_yx(X, Y)
    net = P.LinearCNN.aligned(1, 16, svd["U"], svd["V"], 1.0, torch.Generator().manual_seed(0))
    rep0 = th.minimal_norm_report(net.k[0, 0].numpy(), net.W[0].numpy(), svd["U"], svd["V"],
                                  svd["s"], svd["Sxx"], 16)
    assert rep0["balance_rel"].max() < 1e-10 and rep0["phase_err"].max() < 1e-10


def test_datasets():
    X, Y = D.shapes(32)
    assert X.shape == (4, 1, 32, 32) and set(np.unique(X)) <= {0.0, 1.0}
    X, _ = D.pure_cosines()
    assert X.shape == (4, 1, 16, 16) and X[0].std() == 0
    with pytest.raises(ValueError):
        D.sums_of_cosines(n=8, classes=[[(1, 2, 1, 0)], [(7, 6, 1, 0)]])


def test_deep_cnn_shapes():
    g = torch.Generator().manual_seed(0)
    for relu in (False, True):
        net = P.DeepCNN(2, 3, 16, 10, relu=relu, generator=g)
        assert net.forward(torch.zeros(5, 3, 16, 16)).shape == (2, 5, 10)


def test_paper_cost_times_every_model():
    from types import SimpleNamespace

    from freqlearn.experiments import pinson as pe

    rng = np.random.default_rng(0)
    ds = SimpleNamespace(x=rng.standard_normal((16, 3, 8, 8)).astype(np.float32),
                         y=np.arange(16) % 10, classes=list(range(10)))
    cost = pe.paper_cost(ds, short=1, long=3)
    assert set(cost) == {"linear CNN (Fig. 5)", "linear FCNN (Fig. 5)",
                         "deep linear CNN (Fig. 6)", "deep ReLU CNN (Fig. 6)"}
    assert all(np.isfinite(v) and 0 <= v < 10 for v in cost.values())
    # each value is a difference of wall times clipped at 0: under load it can be 0, so no
    # sign is asserted beyond the range above (the old `> 0` failed on a busy machine)


def test_lowest_frequencies_are_a_low_pass_support():
    idx = th.lowest_frequencies(8, 5)
    mu, nu = idx // 8, idx % 8
    f = lambda m: np.where(m > 4, m - 8, m)  # noqa: E731
    r2 = f(mu) ** 2 + f(nu) ** 2
    assert idx[0] == 0 and sorted(r2.tolist()) == [0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="k must be"):
        th.lowest_frequencies(4, 17)


def test_kernel_frequency_report_nulls():
    n, T = 8, 3
    phis = np.zeros((1, n * n))
    phis[0, [9, 63]] = 1.0               # a dominant ±(1, 1) pair, not among the lowest radii
    sf = np.full((T, n, n), 1e-6)
    sf[:, 1, 1] = sf[:, 7, 7] = 1.0      # trained kernels sit on the dominant pair
    si = np.random.default_rng(0).random((T, n, n))
    rep = th.kernel_frequency_report(sf, si, phis, k=2, frac=2 / 64)
    assert np.allclose(rep["overlap"], 1.0) and rep["overlap_lowpass"] == 0.0
    assert np.all(rep["share"] > 0.99) and np.all(rep["share_init"] < 0.2)
    assert rep["share_phi"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="phis must have shape"):
        th.kernel_frequency_report(sf, si, phis[:, :10])


def test_half_time_censoring_and_later_fraction():
    t = np.arange(5.0)
    early = np.array([[0, 1, 2, 2, 2], [0, 2, 2, 2, 2]], float)   # reach 1 at t=1 and 0.5
    late = np.array([[0, 0, 0, 1, 2], [0, 0, 0, 0, 0.5]], float)   # t=3; never (censored)
    h, c = th.half_time_censored(t, late, 2.0)
    assert h.tolist() == [3.0, 4.0] and c.tolist() == [False, True]
    r = th.later_fraction(t, late, early, 2.0)   # a censored "late" is never later
    assert (r.fraction, r.upper, r.pairs, r.decidable) == (0.5, 1.0, 4, 2)
    assert (r.censored_late, r.censored_early, r.budget) == (1, 0, 4.0)
    assert r.decided == 1.0 and r.involves_censoring
    r = th.later_fraction(t, early, late, 2.0)   # a censored "early" is undecidable too
    assert (r.fraction, r.upper) == (0.0, 0.5)
    assert np.isfinite(th.later_fraction(t, late, late, 2.0).fraction)


def test_overfit_rise():
    test = np.array([[1.0, 1.0], [0.5, 0.8], [0.6, 0.8], [0.7, 0.8]])
    r = th.overfit_rise(test, frac=0.5)
    assert r == pytest.approx([0.3, 0.0])
    with pytest.raises(ValueError, match="frac"):
        th.overfit_rise(test, frac=0)


def test_half_time_ratio_uses_trial_mean_curves():
    t = np.arange(11.0)
    fast = np.clip(t / 2, 0, 1)[None, None].repeat(4, 0)          # reaches 0.5 at t = 1
    slow = np.clip(t / 4, 0, 1)[None, None].repeat(4, 0)          # reaches 0.5 at t = 2
    slow[0, 0] = 0.0                                                 # one trial never learns
    r = th.half_time_ratio(t, slow, fast, [1.0], groups=2)
    assert r.shape == (2, 1) and np.all(np.isfinite(r)) and r[1, 0] == pytest.approx(2.0)
    assert np.isnan(th.half_time_ratio(t, slow, fast, [1.0], groups=4)[0, 0])
    with pytest.raises(ValueError, match="groups must divide"):
        th.half_time_ratio(t, slow, fast, [1.0], groups=3)


def test_wta_minimal_norm_and_exponent_by_hand():
    n = 4
    phis = np.zeros((2, n * n), complex)
    phis[0, [1, 3]] = 0.5          # mode 0: one ± pair
    phis[0, [5, 15]] = 0.35        # and a runner-up pair, r = 0.7
    phis[1, [2, 14]] = 0.25j       # mode 1: a single pair (already winner-takes-all)
    s, Sxx = np.array([2.0, 1.0]), np.array([0.5, 4.0])
    want = 2 * 2.0 / (n * 0.5 * 0.5) + 2 * 1.0 / (n * 4.0 * 0.25)
    assert th.wta_minimal_norm(phis, s, Sxx, n) == pytest.approx(want, rel=1e-12)
    assert th.wta_excess_exponent(phis) == pytest.approx(2 * (1 - 0.7), rel=1e-9)
    with pytest.raises(ValueError, match="runner-up"):
        th.wta_excess_exponent(phis[1:])
    with pytest.raises(ValueError, match="length p"):
        th.wta_minimal_norm(phis, s[:1], Sxx, n)
    with pytest.raises(ValueError, match="non-zero"):
        th.wta_minimal_norm(np.zeros((2, n * n)), s, Sxx, n)


@pytest.mark.slow
def test_trained_norm_approaches_the_wta_minimum_from_above():
    from freqlearn.experiments import pinson as E

    r = E.sums_min_norm(sigmas=(1e-6, 1e-9), T=2, budget=1600, lr=1e-4, generator_seed=5)
    assert np.allclose(r["a_over_s"], 1.0, atol=1e-6)        # converged: A = diag(s)
    assert r["excess"].min() >= 0                             # never below the minimum
    assert np.all(r["excess"][1] < 0.1 * r["excess"][0])      # and approaching it as σ → 0
    slope = np.log(r["excess"][0] / r["excess"][1]) / np.log(1e3)
    assert np.allclose(slope, r["exponent"], rtol=0.1)


def test_mode_pair_shares_by_hand():
    n = 8
    js = np.array([fl.fourier.freq_index(0, 1, n), fl.fourier.freq_index(0, 7, n),   # low
                   fl.fourier.freq_index(3, 0, n), fl.fourier.freq_index(5, 0, n)])  # high
    mode_of = np.zeros(4, int)
    phi_j = np.array([0.2, 0.2, 0.5, 0.5])          # the high pair is dominant
    u = np.array([[0.1, 0.1, 0.4, 0.4], [0.3, 0.3, 0.2, 0.2]])
    r = th.mode_pair_shares(u, js, mode_of, phi_j, n)
    assert np.allclose(r["dominant"][:, 0], [0.8, 0.4]) and np.allclose(r["lowest"][:, 0],
                                                                       [0.2, 0.6])
    assert r["winner_is_dominant"][:, 0].tolist() == [True, False]
    with pytest.raises(ValueError, match="length J"):
        th.mode_pair_shares(u[:, :3], js, mode_of, phi_j, n)


def test_shapes_invert_is_the_complement():
    X, _ = D.shapes(32)
    Xi, _ = D.shapes(32, invert=True)
    assert np.array_equal(Xi, 1.0 - X)
    with pytest.raises(TypeError, match="invert"):
        D.shapes(32, invert=1)

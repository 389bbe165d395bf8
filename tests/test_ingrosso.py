"""Unit tests of the Ingrosso & Goldt (2022) chapter's modules (data, committee, theory)."""

import math
import time

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import erf
from scipy.stats import multivariate_normal

from freqlearn.data import nlgp
from freqlearn.nets import committee as cm
from freqlearn.theory import ingrosso as th


def test_Z2_closed_form_matches_quadrature():
    for g in (0.3, 1.0, 3.0, 10.0):
        def f(z, g=g):
            return erf(g * z / math.sqrt(2)) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

        v, _ = integrate.quad(f, -np.inf, np.inf, epsabs=1e-13)
        assert abs(nlgp.Z2(g) - v) < 1e-10
    assert abs(nlgp.Z2_printed(3.0) - nlgp.Z2(3.0)) > 0.1  # the printed formula is wrong


def test_x_covariance_arcsine_law_by_quadrature():
    g, rho = 2.0, 0.6
    cov = np.array([[1, rho], [rho, 1]])
    f = lambda a, b: erf(g * a / math.sqrt(2)) * erf(g * b / math.sqrt(2)) * \
        multivariate_normal(cov=cov).pdf([a, b])  # noqa: E731
    v, _ = integrate.dblquad(f, -8, 8, -8, 8, epsabs=1e-11)
    assert abs(2 / np.pi * np.arcsin(g * g * rho / (1 + g * g)) - v) < 1e-8


@pytest.mark.parametrize("dim,L", [(1, 16), (2, 6)])
def test_fft_sampler_has_exact_covariance(dim, L):
    s = nlgp.NLGP(L, (1.0, 1.5), 2.0, dim=dim, gaussian=True)
    D = s.D
    # the sampler is linear in the white noise: push the identity through it
    e = torch.eye(D, dtype=torch.float64).reshape(D, *s.shape)
    dims = tuple(range(-dim, 0))
    M = torch.fft.irfftn(torch.fft.rfftn(e, dim=dims) * s._sqrt[1], s=s.shape, dim=dims)
    M = M.reshape(D, D).numpy()
    C = s.covariances()[1]
    assert s.clipped == 0.0
    assert np.abs(M.T @ M - C).max() < 1e-10
    assert np.allclose(np.diag(C), 1.0, atol=1e-12)


def test_nlgp_labels_and_unit_variance():
    s = nlgp.NLGP(64, (2.0, 4.0), 3.0)
    x, y = s.sample(20000, torch.Generator().manual_seed(0))
    assert x.shape == (20000, 64) and set(y.unique().tolist()) == {-1.0, 1.0}
    assert abs(x.var().item() - 1) < 0.02
    # heavy saturation: excess kurtosis of pixels is negative
    k = ((x**4).mean() / (x**2).mean() ** 2).item() - 3
    assert k < -0.5


def test_fft_sampler_much_faster_than_per_sample_mvn():
    s = nlgp.NLGP(400, (8.0, 16.0), 3.0)
    t = time.perf_counter()
    s.sample(2000, torch.Generator().manual_seed(0))
    fast = 2000 / (time.perf_counter() - t)
    C = s.covariances()[0]
    t = time.perf_counter()
    nlgp.mvn_reference_sampler(C, 3)
    slow = 3 / (time.perf_counter() - t)
    assert fast > 20 * slow


def test_committee_gradients_match_autograd():
    g = torch.Generator().manual_seed(1)
    net = cm.Committee(3, 4, 10, generator=g, plastic_v=True)
    net.b.normal_(generator=g)
    x = torch.randn(3, 7, 10, generator=g, dtype=torch.float64)
    y = torch.sign(torch.randn(3, 7, generator=g, dtype=torch.float64))
    W, b, v = (t.clone().requires_grad_(True) for t in (net.W, net.b, net.v))
    h = torch.einsum("tkd,tnd->tnk", W, x) + b[:, None]
    phi = (torch.erf(h / math.sqrt(2)) * v[:, None]).sum(-1)
    loss = (0.5 * ((phi - y) ** 2).mean(1)).sum()
    loss.backward()
    W0, b0, v0 = net.W.clone(), net.b.clone(), net.v.clone()
    net.sgd_step(x, y, lr=1.0)
    assert torch.allclose(W0 - net.W, W.grad, atol=1e-12)
    assert torch.allclose(b0 - net.b, b.grad, atol=1e-12)
    assert torch.allclose(v0 - net.v, v.grad, atol=1e-12)


def test_bvn_cdf_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        h, k = rng.normal(size=2) * 1.5
        r = rng.uniform(-0.95, 0.95)
        ref = multivariate_normal(cov=[[1, r], [r, 1]]).cdf([h, k])
        assert abs(th.bvn_cdf(h, k, r) - ref) < 1e-6
    assert abs(th.bvn_cdf(0.0, 0.0, 0.3) - (0.25 + np.arcsin(0.3) / (2 * np.pi))) < 1e-12


def test_erf_moments_zero_bias_is_arcsine_and_biased_matches_mc():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 3))
    Q = A @ A.T
    m, S2 = th.erf_moments(Q, np.zeros(3))
    s = np.sqrt(1 + np.diag(Q))
    assert np.abs(S2 - 2 / np.pi * np.arcsin(Q / np.outer(s, s))).max() < 1e-12
    assert np.abs(m).max() < 1e-12
    b = np.array([-1.0, 0.5, 0.0])
    m, S2 = th.erf_moments(Q, b)
    lam = rng.multivariate_normal(np.zeros(3), Q, size=400000) + b
    sg = erf(lam / math.sqrt(2))
    assert np.abs(sg.mean(0) - m).max() < 6e-3
    assert np.abs(sg.T @ sg / len(sg) - S2).max() < 6e-3


def test_get_pmse_matches_simulation_on_gaussian_inputs():
    s = nlgp.NLGP(32, (1.0, 2.0), 2.0, gaussian=True)
    g = torch.Generator().manual_seed(3)
    net = cm.Committee(1, 3, 32, generator=g)
    net.b.normal_(generator=g)
    x, y = s.sample((1, 200000), g)
    sim = net.pmse(x, y).item()
    th_ = th.get_pmse(net.W.numpy(), net.b.numpy(), net.v.numpy(), s.covariances())[0]
    assert abs(sim - th_) < 0.01


def test_reduced_coefficients_by_polynomial_expansion():
    v, b = 0.7, -1.0
    P = np.polynomial.Polynomial
    lam = P([0, 1])
    sig = lambda h: th.ALPHA1 * h - th.ALPHA3 / 3 * h**3  # noqa: E731
    dsig = lambda h: th.ALPHA1 - th.ALPHA3 * h**2  # noqa: E731
    for y in (-1.0, 1.0):
        poly = (y - v * sig(lam + b)) * dsig(lam + b)
        c2, c4 = th.reduced_coeffs(y, v, b)
        assert abs(poly.coef[1] - c2) < 1e-12 and abs(poly.coef[3] - c4) < 1e-12


def test_tensor_free_contractions_and_implicit_cp_loss():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6)) ** 3
    T = th.cumulant_tensor(X)
    w = rng.standard_normal(6)
    ref = np.einsum("abci,a,b,c->i", T, w, w, w)
    got = th.cumulant_w3(torch.tensor(X), torch.tensor(w)).numpy()
    assert np.abs(ref - got).max() < 1e-9 * np.abs(ref).max()
    r = 3
    p = np.concatenate([rng.normal(size=r), rng.normal(size=6 * r)])
    L, grad = th.implicit_cp_loss(p, X, r)
    U = p[r:].reshape(6, r)
    That = np.einsum("a,ia,ja,ka,la->ijkl", p[:r], U, U, U, U)
    assert abs((L + (T**2).sum()) - ((T - That) ** 2).sum()) < 1e-8 * (T**2).sum()
    eps = 1e-6
    for i in (0, 4, 10):
        dp = np.zeros_like(p)
        dp[i] = eps
        fd = (th.implicit_cp_loss(p + dp, X, r)[0]
              - th.implicit_cp_loss(p - dp, X, r)[0]) / (2 * eps)
        assert abs(fd - grad[i]) < 1e-5 * max(1, abs(fd))


def test_invariant_overlap_is_translation_invariant_and_clusters():
    rng = np.random.default_rng(0)
    D = 40
    bump = np.exp(-((np.arange(D) - 20) ** 2) / 4.0)
    osc = [np.cos(2 * np.pi * 7 * np.arange(D) / D + rng.uniform(0, 6)) for _ in range(5)]
    W = np.stack([np.roll(bump, k) for k in range(0, 40, 4)] + osc)
    q = cm.invariant_overlap(W)
    assert np.allclose(q[:10, :10], 1.0, atol=1e-12)
    lab, order, d = cm.cluster_two(W)
    assert (lab[:10] == 1).all() and (lab[10:] == 0).all()
    c = cm.rf_centres(W[:10])
    want = (20 + np.arange(0, 40, 4)) % 40
    dist = np.abs((c - want + 20) % 40 - 20)
    assert dist.max() < 1e-6


def test_cubic_committee_gradients_match_autograd():
    g = torch.Generator().manual_seed(2)
    net = cm.Committee(2, 1, 8, generator=g, plastic_v=True, v0=1.0, b0=-1.0, act="cubic")
    x = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    y = torch.sign(torch.randn(2, 5, generator=g, dtype=torch.float64))
    W, b, v = (t.clone().requires_grad_(True) for t in (net.W, net.b, net.v))
    h = torch.einsum("tkd,tnd->tnk", W, x) + b[:, None]
    s = th.ALPHA1 * h - th.ALPHA3 / 3 * h**3
    loss = (0.5 * (((s * v[:, None]).sum(-1) - y) ** 2).mean(1)).sum()
    loss.backward()
    W0 = net.W.clone()
    net.sgd_step(x, y, lr=1.0)
    assert torch.allclose(W0 - net.W, W.grad, atol=1e-12)


def test_gradient_flow_with_exact_cp_equals_dense_cumulant():
    rng = np.random.default_rng(1)
    D, r = 5, 2
    gam = rng.normal(size=r)
    U = rng.normal(size=(D, r))
    T = np.einsum("a,ia,ja,ka,la->ijkl", gam, U, U, U, U)
    w = rng.normal(size=D)
    direct = np.einsum("abci,a,b,c->i", T, w, w, w)
    via = np.einsum("a,a,da->d", (w @ U) ** 3, gam, U)
    assert np.abs(direct - via).max() < 1e-10
    X = [torch.tensor(rng.standard_normal((50, D))) for _ in range(2)]
    w0 = torch.tensor(w)[None] * 0.1
    a, _ = th.gradient_flow(X, w0, 3, cp={1: (gam, U)})
    b, _ = th.gradient_flow(X, w0, 3, cumulant=False)
    assert not torch.allclose(a, b)  # the CP term is used


def test_fixed_bias_stays_and_plastic_bias_moves():
    from freqlearn.nets.committee import Committee

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 12, generator=g, dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0], dtype=torch.float64).expand(2, 5)
    for plastic_b in (False, True):
        net = Committee(2, 1, 12, generator=g, v0=1.0, b0=-1.0, act="cubic", plastic_b=plastic_b)
        W0 = net.W.clone()
        net.sgd_step(x, y, 0.1)
        assert not torch.equal(net.W, W0)
        assert torch.equal(net.b, torch.full((2, 1), -1.0, dtype=torch.float64)) != plastic_b


def test_tiling_nulls_tell_a_lattice_from_random_centres():
    D, n = 64, 40
    lattice = np.arange(n) * D / n + 0.3
    assert th.gap_cv(lattice, D) < 1e-12
    assert np.isclose(th.circular_gaps(lattice, D).sum(), D)
    cv0, gap0 = th.uniform_centres_null(n, D, np.random.default_rng(1), draws=3000)
    assert cv0.shape == gap0.shape == (3000,)
    assert 0.85 < cv0.mean() < 1.05  # exponential-like gaps: CV close to 1
    assert np.all(gap0 > 1 / n - 1e-12)  # the largest gap is at least the mean gap
    with pytest.raises(ValueError, match="n must be"):
        th.uniform_centres_null(1, D, np.random.default_rng(0))


def test_random_bumps_have_the_requested_width_and_null_is_below_identical_shape():
    rng = np.random.default_rng(2)
    env = np.abs(th.random_bumps(rng, 4000, 41, 4.0)).mean(0)  # mean |profile| ∝ the envelope
    assert abs(th.half_width(env) - 4.0) <= 1.0
    ref = np.exp(-0.5 * (np.arange(41) - 20) ** 2 / 9.0)
    null = th.bump_overlap_null(ref, [21, 31], 3.5, rng, draws=50)
    assert null.shape == (50,) and np.all((null > 0) & (null <= 1 + 1e-12))
    assert null.mean() < th.padded_shift_overlap(ref, ref[10:31]) - 0.1  # a same-shape profile wins
    with pytest.raises(ValueError, match="hw"):
        th.random_bumps(rng, 1, 10, 0.0)


def test_cluster_separation_statistics():
    d = np.full((6, 6), 0.9)
    d[:3, :3] = d[3:, 3:] = 0.1
    np.fill_diagonal(d, 0.0)
    lab = np.array([0, 0, 0, 1, 1, 1])
    assert th.silhouette(d, lab) == pytest.approx(1 - 0.1 / 0.9)
    assert th.silhouette(d, np.array([0, 1, 0, 1, 0, 1])) < 0
    assert th.cluster_ipr_ratio([1, 1, 1, 3, 3, 3], lab) == pytest.approx(3.0)
    assert th.cluster_ipr_ratio([1, 2], [0, 0]) == 1.0


def test_width_match_and_its_permutation_null():
    cp = np.array([2.0, 2.5, 3.5, 5.5])
    assert th.width_match(cp, cp) == 0.0
    null = th.width_match_null(cp, cp)
    assert null.shape == (23,) and np.all(null > 0)  # every mismatched assignment differs
    flat = np.full(4, 2.0)
    assert th.width_match(flat, cp) > 0.3


def test_clipped_spectrum_gives_the_gp_the_actual_covariance():
    """Review point 6: a non-PSD periodised kernel is clipped; NLGP and GP then share the
    covariance the NLGP samples really have, and the change from the arcsine law is said."""
    L = 20
    with pytest.warns(UserWarning, match="not positive semidefinite"):
        s = nlgp.NLGP(L, (0.1 * L, 0.2 * L), 3.0, dim=2)
    with pytest.warns(UserWarning):
        gp = nlgp.NLGP(L, (0.1 * L, 0.2 * L), 3.0, dim=2, gaussian=True)
    assert 1e-4 < s.clipped < 1e-3 and 5e-4 < s.covariance_change < 5e-3
    nominal = np.stack([nlgp.x_cov_row(L, xi, 3.0, dim=2) for xi in s.xis])
    assert np.abs(s.covariance_rows() - nominal).max() == pytest.approx(s.covariance_change)
    # the GP sampler's spectrum is the actual input covariance's (push the identity through)
    D = gp.D
    e = torch.eye(D, dtype=torch.float64).reshape(D, L, L)
    M = torch.fft.irfftn(torch.fft.rfftn(e, dim=(-2, -1)) * gp._sqrt[1], s=(L, L),
                         dim=(-2, -1)).reshape(D, D).numpy()
    C = nlgp.cov_matrix(s.covariance_rows()[1])
    assert np.abs(M.T @ M - C).max() < 1e-10
    assert np.abs(M.T @ M - nlgp.cov_matrix(nominal[1])).max() > 5e-4  # it is not the nominal
    # the NLGP's own latent field has the clipped covariance: the arcsine law of it is C
    n = 100_000
    x = s.sample_class(torch.ones(n, dtype=torch.long), torch.Generator().manual_seed(3))
    emp = (x[:, :1] * x).mean(0).numpy()
    se = (x[:, :1] * x).std(0).numpy() / np.sqrt(n)
    assert np.max(np.abs(emp - s.covariance_rows()[1].ravel()) / se) < 5.5


def test_no_clipping_no_warning_and_clip_tol_checked():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = nlgp.NLGP(100, (1.0, 3.0), 3.0)
    assert s.clipped == 0.0 and s.covariance_change < 1e-12
    for bad in (-1.0, float("nan"), "1e-3", True):
        with pytest.raises(ValueError, match="clip_tol"):
            nlgp.NLGP(16, (1.0, 2.0), clip_tol=bad)


def test_committee_authors_init_and_checks():
    from freqlearn.nets.committee import Committee

    g = torch.Generator().manual_seed(0)
    net = Committee(2, 10, 400, generator=g, w_std=0.1, b0="pm")
    assert net.b[:, :5].eq(1).all() and net.b[:, 5:].eq(-1).all()
    assert abs(net.W.var().item() * 400 - 0.01) < 2e-3      # variance 0.01/D
    with pytest.raises(ValueError, match="b0"):
        Committee(1, 4, 8, b0="plus")
    with pytest.raises(ValueError, match="w_std"):
        Committee(1, 4, 8, w_std=0)


def test_authors_lr_gives_their_per_sample_step():
    """The authors move effective W and b by (2η/D)·e·σ'(h)·x per sample."""
    from freqlearn.experiments import ingrosso as E
    from freqlearn.nets.committee import Committee

    K, D, eta, B = 8, 50, 0.05, 4
    net = Committee(1, K, D, generator=torch.Generator().manual_seed(1), b0="pm", w_std=0.1)
    x = torch.randn(1, B, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = torch.tensor([[1.0, -1.0, 1.0, -1.0]], dtype=torch.float64)
    W0, b0 = net.W.clone(), net.b.clone()
    h = net.preact(x)
    e = net.forward(x) - y
    ds = math.sqrt(2 / math.pi) * torch.exp(-0.5 * h * h)
    want_W = W0 - (2 * eta / D) * torch.einsum("tn,tnk,tnd->tkd", e, ds, x)
    want_b = b0 - (2 * eta / D) * (e[..., None] * ds).sum(1)
    net.sgd_step(x, y, E.authors_lr(eta, K, D, batch=B))
    assert torch.allclose(net.W, want_W, atol=1e-13) and torch.allclose(net.b, want_b, atol=1e-13)


def test_best_threshold_accuracy():
    from freqlearn.experiments.ingrosso import best_threshold_accuracy

    y = torch.tensor([[-1.0, -1.0, 1.0, 1.0], [1.0, 1.0, 1.0, -1.0]])
    phi = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.0, 0.1, 0.2, 0.3]])  # offset / inverted
    acc = best_threshold_accuracy(phi, y)
    assert acc.tolist() == [1.0, 0.75]  # row 1: perfect above 0.2; row 2: all +1 beats any cut


def test_committee_random_readout_and_finite_data_init():
    from freqlearn.experiments import ingrosso as E
    from freqlearn.nets.committee import Committee

    net = Committee(3, 400, 16, generator=torch.Generator().manual_seed(0), v0="random")
    assert abs(net.v.std().item() - 0.1) < 0.01 and (net.v < 0).any() and (net.v > 0).any()
    with pytest.raises(ValueError, match="v0"):
        Committee(1, 4, 8, v0="uniform")
    with pytest.raises(ValueError, match="init"):
        E.finite_data(L=8, xis=(1.0, 2.0), g=2.0, K=2, alpha=1, lr=0.1, batch=2, steps=1,
                      trials=1, n_test=4, generator=torch.Generator().manual_seed(0),
                      init="paper")
    r = E.finite_data(L=8, xis=(1.0, 2.0), g=2.0, K=4, alpha=2, lr=0.0, batch=2, steps=1,
                      trials=1, n_test=4, generator=torch.Generator().manual_seed(0),
                      init="authors", n_record=2)
    assert np.allclose(r["b"][0, 0], [1, 1, -1, -1])            # ±1 halves, untouched at lr 0


def test_gradient_flow_converged_stops_and_matches_the_fixed_step_flow():
    """The stopping criterion: the same Euler map as gradient_flow, stopped when every
    trajectory's relative step and late IPR change are below tolerance; a cap reports
    non-convergence instead."""
    rng = np.random.default_rng(3)
    D = 8
    X = [torch.tensor(rng.standard_normal((400, D))) for _ in range(2)]
    w0 = torch.tensor(rng.standard_normal((2, D))) / np.sqrt(D)
    w, info = th.gradient_flow_converged(X, w0, lr=0.1, tol_step=1e-5, tol_ipr=1e-3,
                                         max_steps=20_000, check_every=50, cumulant=False)
    assert info["converged"] and info["steps"] % 50 == 0 and info["steps"] >= 250
    assert (info["rel_step"] < 1e-5).all() and (info["ipr_change"] < 1e-3).all()
    ref, _ = th.gradient_flow(X, w0, info["steps"], lr=0.1, cumulant=False)
    assert torch.allclose(w, ref, rtol=1e-10, atol=1e-12)
    _, capped = th.gradient_flow_converged(X, w0, lr=0.05, tol_step=1e-12, tol_ipr=1e-12,
                                           max_steps=120, check_every=50, cumulant=False)
    assert not capped["converged"] and capped["steps"] == 120
    with pytest.raises(ValueError, match="max_steps"):
        th.gradient_flow_converged(X, w0, max_steps=0)

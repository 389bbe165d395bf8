"""Unit tests of ``freqlearn.fourier``: every fast path against its direct definition.

The references are the O(n⁴) definitions (Pinson SI B–C; Godfrey Lemma 3.11) evaluated in
float64; identities are held to 1e-10. The references themselves are checked against naive
loops at n = 4, so a broken reference fails too.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from freqlearn import fourier as ff

NS = [4, 5, 7, 8, 12, 16]
TOL = 1e-10


def rng(seed=0):
    return np.random.default_rng(seed)


def flip(K):
    """``K_flip[i, j] = K[-i mod n, -j mod n]`` (Pinson Eq. S.28)."""
    H, W = K.shape[-2:]
    return K[..., (-np.arange(H)) % H, :][..., (-np.arange(W)) % W]


def naive_conv(X, K):
    """(X ⊛ K)[i, j] = Σ_{m,l} X[m, l] K[i-m, j-l] with four explicit loops (Eq. S.18)."""
    H, W = X.shape
    out = np.zeros((H, W))
    for i in range(H):
        for j in range(W):
            for m in range(H):
                for l in range(W):
                    out[i, j] += X[m, l] * K[(i - m) % H, (j - l) % W]
    return out


def naive_corr(X, K):
    """(X ⋆ K)[i, j] = Σ_{m,l} X[i+m, j+l] K[m, l] with four explicit loops."""
    H, W = X.shape
    out = np.zeros((H, W))
    for i in range(H):
        for j in range(W):
            for m in range(H):
                for l in range(W):
                    out[i, j] += X[(i + m) % H, (j + l) % W] * K[m, l]
    return out


def matrix_of(op, n):
    """The (n², n²) matrix of a linear map on n×n images, column by column."""
    M = np.empty((n * n, n * n))
    for c in range(n * n):
        E = np.zeros(n * n)
        E[c] = 1.0
        M[:, c] = ff.vec(op(ff.unvec(E, n)))
    return M


# ------------------------------------------------------------------------- Q (P1)
@pytest.mark.parametrize("n", NS)
def test_Q_unitary_symmetric_and_is_the_2d_dft(n):
    q = ff.Q(n)
    assert q.shape == (n * n, n * n) and q.dtype == np.complex128
    np.testing.assert_allclose(q.conj().T @ q, np.eye(n * n), atol=TOL)
    np.testing.assert_allclose(q, q.T, atol=TOL)
    X = rng(n).standard_normal((n, n))
    np.testing.assert_allclose(q @ ff.vec(X), ff.vec(np.fft.fft2(X)) / n, atol=TOL)


@pytest.mark.parametrize("n", [4, 5, 7, 8])
def test_Q_equals_its_entrywise_definition(n):
    # Q[n μ + ν, n s + t] = ω^{μ s} ω^{ν t} / n with ω = exp(-2πi/n) (Eq. S.14–S.15).
    ref = np.empty((n * n, n * n), complex)
    for mu in range(n):
        for nu in range(n):
            for s in range(n):
                for t in range(n):
                    ref[n * mu + nu, n * s + t] = np.exp(-2j * np.pi * (mu * s + nu * t) / n) / n
    np.testing.assert_allclose(ff.Q(n), ref, atol=TOL)
    F = ff.dft_matrix(n)
    for p in range(n):
        for r in range(n):
            assert abs(F[p, r] - np.exp(-2j * np.pi * p * r / n)) < TOL


def test_vec_unvec_row_major():
    X = np.arange(12.0).reshape(3, 4)
    x = ff.vec(X)
    assert x[1 * 4 + 2] == X[1, 2]
    np.testing.assert_array_equal(ff.unvec(x, 3, 4), X)
    Y = np.arange(2 * 9.0).reshape(2, 3, 3)
    np.testing.assert_array_equal(ff.unvec(ff.vec(Y), 3), Y)


@pytest.mark.parametrize("n", NS)
def test_freq_index_pair_jsymm(n):
    js = [ff.freq_index(mu, nu, n) for mu in range(n) for nu in range(n)]
    assert js == list(range(n * n))  # a bijection onto 0..n²-1, j = n μ + ν
    for j in range(n * n):
        mu, nu = ff.freq_pair(j, n)
        assert ff.freq_index(mu, nu, n) == j
        assert ff.jsymm(j, n) == ff.freq_index((-mu) % n, (-nu) % n, n)
    x = ff.vec(rng(n + 1).standard_normal((n, n)))
    qx = ff.Q(n) @ x
    J = ff.jsymm(np.arange(n * n), n)
    np.testing.assert_allclose(qx[J], qx.conj(), atol=TOL)
    np.testing.assert_array_equal(ff.jsymm(J, n), np.arange(n * n))  # an involution


@pytest.mark.parametrize("n", NS)
def test_QQk_is_the_flipped_kernel(n):
    """Eq. S.26: applying Q twice flips the kernel, ``QQ vec(K) = vec(K_flip)``.

    In 2-D the shift∘rev of S.24 acts on each axis (``K[-i, -j]``); on the 1-D DFT it is
    literally ``FFb/n = shift→1(rev(b))``.
    """
    K = rng(n + 2).standard_normal((n, n))
    q = ff.Q(n)
    np.testing.assert_allclose(q @ (q @ ff.vec(K)), ff.vec(flip(K)), atol=TOL)
    np.testing.assert_allclose(
        ff.vec(flip(K)), ff.vec(np.roll(np.roll(K[::-1, ::-1], 1, 0), 1, 1)), atol=0)
    b = K[0]
    F = ff.dft_matrix(n)
    np.testing.assert_allclose(F @ (F @ b) / n, np.roll(b[::-1], 1), atol=TOL)


# ---------------------------------------------------------- references vs loops
@pytest.mark.parametrize("n", [4, 5])
def test_direct_references_match_naive_loops(n):
    X, K = rng(3).standard_normal((2, n, n))
    np.testing.assert_allclose(ff.conv2d_direct(X, K), naive_conv(X, K), atol=TOL)
    np.testing.assert_allclose(ff.corr2d_direct(X, K), naive_corr(X, K), atol=TOL)
    # conv and corr are genuinely different operations (the test is not vacuous)
    assert np.abs(naive_conv(X, K) - naive_corr(X, K)).max() > 1e-3


def test_circulants_match_definition():
    b = rng(4).standard_normal(5)
    C = ff.circ(b)
    Cc = ff.circ_corr(b)
    for r in range(5):
        for c in range(5):
            assert C[r, c] == b[(r - c) % 5]
            assert Cc[r, c] == b[(c - r) % 5]
    np.testing.assert_array_equal(Cc, ff.circ(np.roll(b[::-1], 1)))  # Eq. S.25


# --------------------------------------------------------------- dbc (P1, SI C)
@pytest.mark.parametrize("n", NS)
def test_dbc_definition_fourier_and_direct_agree(n):
    K = rng(10 + n).standard_normal((n, n))
    X = rng(20 + n).standard_normal((n, n))
    D = ff.dbc(K)
    assert D.shape == (n * n, n * n)
    # block (i, j) of dbc(K) is circ(K[(i - j) mod n, :]) (Eq. S.17)
    for i in range(n):
        for j in range(n):
            np.testing.assert_array_equal(D[i * n:(i + 1) * n, j * n:(j + 1) * n],
                                          ff.circ(K[(i - j) % n]))
    np.testing.assert_allclose(ff.dbc_fourier(K), D, atol=TOL)  # Eq. 6
    np.testing.assert_allclose(D @ ff.vec(X), ff.vec(ff.conv2d_direct(X, K)), atol=TOL)  # Eq. 7
    if n <= 8:
        np.testing.assert_allclose(matrix_of(lambda Z: ff.conv2d_direct(Z, K), n), D, atol=TOL)


@pytest.mark.parametrize("n", NS)
def test_dbc_corr_definition_fourier_and_direct_agree(n):
    K = rng(30 + n).standard_normal((n, n))
    X = rng(40 + n).standard_normal((n, n))
    Dc = ff.dbc_corr(K)
    for i in range(n):
        for j in range(n):
            np.testing.assert_array_equal(Dc[i * n:(i + 1) * n, j * n:(j + 1) * n],
                                          ff.circ_corr(K[(j - i) % n]))  # Eq. S.22
    np.testing.assert_allclose(ff.dbc_corr_fourier(K), Dc, atol=TOL)  # Eq. S.29
    np.testing.assert_allclose(Dc, ff.dbc(flip(K)), atol=TOL)  # Eq. S.28
    np.testing.assert_allclose(Dc @ ff.vec(X), ff.vec(ff.corr2d_direct(X, K)), atol=TOL)
    if n <= 8:
        np.testing.assert_allclose(matrix_of(lambda Z: ff.corr2d_direct(Z, K), n), Dc,
                                   atol=TOL)
    assert np.abs(Dc - ff.dbc(K)).max() > 1e-3


def test_dbc_eigenvalues_are_n_Qk():
    n = 6
    K = rng(5).standard_normal((n, n))
    q = ff.Q(n)
    lam = n * (q @ ff.vec(K))
    # the rows of Q are eigenvectors: Q dbc(K) = diag(n Q k) Q
    np.testing.assert_allclose(q @ ff.dbc(K), lam[:, None] * q, atol=TOL)


# ------------------------------------------------------------- FFT conv (X1, G1)
def multi_ref(x, w, mode):
    """out[b, o] = Σ_i x[b, i] ⊛/⋆ w[o, i] with the direct definitions."""
    op = ff.conv2d_direct if mode == "conv" else ff.corr2d_direct
    H, W = x.shape[-2:]
    kh, kw = w.shape[-2:]
    wp = np.zeros(w.shape[:-2] + (H, W))
    wp[..., :kh, :kw] = w
    # (*lead, B, 1, Ci, H, W) with (*lead, 1, Co, Ci, H, W) → sum over Ci
    return op(x[..., :, None, :, :, :], wp[..., None, :, :, :, :]).sum(axis=-3)


@pytest.mark.parametrize("mode", ["conv", "corr"])
@pytest.mark.parametrize("n", [4, 5, 8, 12, 16])
def test_fft_conv2d_multichannel_matches_direct(n, mode):
    g = rng(50 + n)
    x = g.standard_normal((2, 3, n, n))
    w = g.standard_normal((4, 3, n, n))
    out = ff.fft_conv2d(torch.from_numpy(x), torch.from_numpy(w), mode=mode)
    assert out.shape == (2, 4, n, n) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), multi_ref(x, w, mode), atol=TOL)


@pytest.mark.parametrize("mode", ["conv", "corr"])
def test_fft_conv2d_precomputed_kernel_reused(mode):
    n = 7
    g = rng(60)
    w = torch.from_numpy(g.standard_normal((4, 3, n, n)))
    wh = ff.kernel_hat(w, (n, n))
    assert wh.c_in == 3 and wh.c_out == 4 and wh.size == (n, n)
    for seed in (1, 2):
        x = rng(seed).standard_normal((2, 3, n, n))
        got = ff.fft_conv2d(torch.from_numpy(x), w_hat=wh, mode=mode)
        np.testing.assert_allclose(got.numpy(), multi_ref(x, w.numpy(), mode), atol=TOL)


@pytest.mark.parametrize("mode", ["conv", "corr"])
def test_fft_conv2d_leading_trial_dims_broadcast(mode):
    n = 6
    g = rng(70)
    x = g.standard_normal((5, 2, 3, n, n))  # 5 trials, batch 2
    w = g.standard_normal((5, 4, 3, n, n))  # one kernel set per trial
    out = ff.fft_conv2d(torch.from_numpy(x), torch.from_numpy(w), mode=mode).numpy()
    assert out.shape == (5, 2, 4, n, n)
    for t in range(5):
        np.testing.assert_allclose(out[t], multi_ref(x[t], w[t], mode), atol=TOL)
    # shared input batch broadcast against per-trial kernels
    xs = x[0]
    out2 = ff.fft_conv2d(torch.from_numpy(xs), torch.from_numpy(w), mode=mode).numpy()
    assert out2.shape == (5, 2, 4, n, n)
    for t in range(5):
        np.testing.assert_allclose(out2[t], multi_ref(xs, w[t], mode), atol=TOL)


@pytest.mark.parametrize("mode", ["conv", "corr"])
def test_fft_conv2d_small_kernels_zero_padded(mode):
    n = 9
    g = rng(80)
    x = g.standard_normal((2, 3, n, n))
    w = g.standard_normal((4, 3, 3, 3))
    out = ff.fft_conv2d(torch.from_numpy(x), torch.from_numpy(w), mode=mode).numpy()
    np.testing.assert_allclose(out, multi_ref(x, w, mode), atol=TOL)


@pytest.mark.parametrize("k", [3, 8])
def test_fft_conv2d_corr_matches_torch_conv2d_circular(k):
    n = 8
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, n, n, generator=gen)
    w = torch.randn(4, 3, k, k, generator=gen)
    ref = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, (0, k - 1, 0, k - 1), mode="circular"), w)
    got = ff.fft_conv2d(x, w, mode="corr")
    assert got.dtype == torch.float32 and got.shape == ref.shape
    err = (got - ref).abs().max() / ref.abs().max()
    assert err < 1e-4
    conv = ff.fft_conv2d(x, w, mode="conv")
    assert (conv - ref).abs().max() / ref.abs().max() > 1e-2  # conv ≠ corr here


@pytest.mark.parametrize("n", [5, 8])
def test_multichannel_convolution_theorem(n):
    """Godfrey Lemma 3.11: DFT(w ⋆̃ x)_c = Σ_d ŵ_{c,d} x̂_d (unnormalised DFT), and with the
    orthonormal DFT of Eq. 3.5 the same holds with a factor √(HW)."""
    g = rng(90 + n)
    x = g.standard_normal((3, n, n))
    w = g.standard_normal((4, 3, n, n))
    y = multi_ref(x[None], w, "conv")[0]  # (Co, H, W) by the direct definition
    lhs = np.fft.fft2(y)
    rhs = np.einsum("cdij,dij->cij", np.fft.fft2(w), np.fft.fft2(x))
    np.testing.assert_allclose(lhs, rhs, atol=1e-9)
    lo = ff.dft2(y)
    ro = np.sqrt(n * n) * np.einsum("cdij,dij->cij", ff.dft2(w), ff.dft2(x))
    np.testing.assert_allclose(lo, ro, atol=TOL)
    # ff.dft2 is the orthonormal DFT, on numpy and torch alike
    np.testing.assert_allclose(ff.dft2(x), np.fft.fft2(x) / n, atol=TOL)
    np.testing.assert_allclose(ff.dft2(torch.from_numpy(x)).numpy(), np.fft.fft2(x) / n,
                               atol=TOL)


def test_parseval_with_conjugate():
    x, y = rng(91).standard_normal((2, 3, 7, 7))
    xh, yh = ff.dft2(x), ff.dft2(y)
    inner = np.sum(xh * yh.conj())
    assert abs(inner - np.sum(x * y)) < TOL
    assert abs(np.sum(np.abs(xh) ** 2) - np.sum(x**2)) < TOL


@pytest.mark.parametrize("mode", ["conv", "corr"])
def test_fft_depthwise_matches_direct_per_channel(mode):
    n = 7
    g = rng(100)
    x = g.standard_normal((2, 3, n, n))
    k = g.standard_normal((3, n, n))
    op = ff.conv2d_direct if mode == "conv" else ff.corr2d_direct
    got = ff.fft_depthwise_conv2d(torch.from_numpy(x), torch.from_numpy(k), mode=mode).numpy()
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(got[b, c], op(x[b, c], k[c]), atol=TOL)
    ks = g.standard_normal((3, 3, 3))
    got = ff.fft_depthwise_conv2d(torch.from_numpy(x), torch.from_numpy(ks), mode=mode).numpy()
    kp = np.zeros((3, n, n))
    kp[:, :3, :3] = ks
    np.testing.assert_allclose(got, op(x, kp), atol=TOL)


# --------------------------------------------------------- radial profiles (G)
def test_radial_profile_of_radial_function_is_exact():
    f = lambda r: np.cos(r) + r**2
    for H, W in [(8, 8), (9, 12)]:
        _, _, R = ff.frequency_grid(H, W)
        r, p = ff.radial_profile(f(R))
        np.testing.assert_allclose(p, f(r), atol=TOL)
        assert r[0] == 0 and np.all(np.diff(r) > 0)
        assert set(np.round(r**2).astype(int)) == set(np.round(R.ravel() ** 2).astype(int))
        # leading axes
        r2, p2 = ff.radial_profile(np.stack([f(R), 2 * f(R)]))
        np.testing.assert_allclose(p2[1], 2 * f(r2), atol=TOL)
    ri, pi = ff.radial_profile(np.rint(R), bins="integer")
    np.testing.assert_allclose(pi, ri, atol=TOL)


def test_frequency_grid_fft_layout():
    ii, jj, r = ff.frequency_grid(6, 5)
    np.testing.assert_array_equal(ii[:, 0], [0, 1, 2, -3, -2, -1])
    np.testing.assert_array_equal(jj[0], [0, 1, 2, -2, -1])
    np.testing.assert_allclose(r, np.hypot(ii, jj))


def test_radial_moment_known_densities():
    r = np.linspace(0.0, 1.0, 11)
    assert abs(ff.radial_moment(r, np.ones_like(r), 1) - 0.5) < TOL  # uniform: mean 1/2
    r = np.linspace(0.0, 30.0, 30001)
    g = np.exp(-r)
    # ∫ r e^{-r} / ∫ e^{-r} = 1 and ∫ r² e^{-r} / ∫ e^{-r} = 2 (truncation e^{-30} negligible;
    # trapezoid error O(h²) = 1e-6 relative)
    assert abs(ff.radial_moment(r, g, 1) - 1.0) < 1e-5
    assert abs(ff.radial_moment(r, g, 2) - 2.0) < 1e-5
    np.testing.assert_allclose(ff.radial_moment(r, np.stack([g, 7 * g]), 1), [1.0, 1.0],
                               atol=1e-5)
    with pytest.raises(ValueError, match="increasing"):
        ff.radial_moment(r[::-1], g)
    with pytest.raises(ValueError, match="non-negative"):
        ff.radial_moment(r, -g)


def random_phase_images(N, n, a, g, *, gaussian=False):
    """Images with power |k|^-a: amplitude |k|^(-a/2) with random phases (DC zero)."""
    _, _, R = ff.frequency_grid(n)
    amp = np.where(R > 0, np.maximum(R, 1.0) ** (-a / 2), 0.0)
    z = np.fft.fft2(g.standard_normal((N, n, n)), norm="ortho")
    if not gaussian:
        z = z / np.abs(z)  # unit modulus, Hermitian (real noise) → real image
    return np.fft.ifft2(amp * z, norm="ortho").real


@pytest.mark.parametrize("a", [1.0, 2.0, 2.8])
def test_power_law_fit_recovers_exponent(a):
    g = rng(110)
    # Exact random phases: each frequency has power exactly |k|^-a, so the exact-radius
    # profile is exactly r^-a and the log-log fit must recover a to rounding.
    x = random_phase_images(4, 16, a, g)
    P = ff.power_spectrum(x)
    r, prof = ff.radial_profile(P)
    fit = ff.fit_power_law(r, prof, kmin=1.0)
    assert abs(fit.exponent - a) < 1e-8 and fit.r2 > 1 - 1e-12
    # Gaussian field: power = |k|^-a · χ²₂/2 per frequency. Averaging 200 images of 32×32,
    # each radial bin holds ≥ 4·200 = 800 draws, so log-power errors are ≲ 0.04 and the slope
    # error over log r ∈ [0, 3.1] is ≲ 0.02 (the fit's stderr is ~0.003); 0.05 allows ~10 sd.
    x = random_phase_images(200, 32, a, g, gaussian=True)
    r, prof = ff.radial_profile(ff.power_spectrum(x))
    fit = ff.fit_power_law(r, prof, kmin=1.0)
    assert abs(fit.exponent - a) < 0.05, fit


def test_fit_separable_power_law_recovers_exact_tau():
    ii, jj, _ = ff.frequency_grid(16)
    gamma, alpha, beta = 3.0, 1.7, 2.4
    with np.errstate(divide="ignore"):
        tau = gamma / (np.abs(ii) ** alpha + np.abs(jj) ** beta)
    tau[0, 0] = 123.0  # excluded
    fit = ff.fit_separable_power_law(tau)
    assert abs(fit["alpha"] - alpha) < 1e-6
    assert abs(fit["beta"] - beta) < 1e-6
    assert abs(fit["gamma"] - gamma) < 1e-5
    assert fit["rms_log_residual"] < 1e-8


def test_power_spectrum_is_mean_orthonormal_power():
    x = rng(111).standard_normal((5, 2, 6, 6))
    P = ff.power_spectrum(x, remove_mean=False)
    np.testing.assert_allclose(P, (np.abs(np.fft.fft2(x)) ** 2).mean(axis=(0, 1)) / 36,
                               atol=TOL)
    assert ff.power_spectrum(x)[0, 0] < TOL


# --------------------------------------------------------- Fourier covariance
def test_fourier_covariance_of_circularly_stationary_data_is_diagonal():
    n = 8
    g = rng(120)
    base = g.standard_normal((n, n))
    # every circular shift once: exactly stationary, so Σ is exactly diagonal
    allshift = np.stack([np.roll(base, (a, b), (0, 1)) for a in range(n) for b in range(n)])
    S = ff.fourier_covariance(allshift)
    assert S.shape == (n * n, n * n)
    np.testing.assert_allclose(S, S.conj().T, atol=TOL)
    # exactly diagonal up to rounding (≈ 1e-16 with some BLAS kernels; random shifts: 0.016)
    assert ff.offdiagonal_fraction(S) < 1e-12
    # diagonal = variances τ = |x̂|² · N/(N-1) at k ≠ 0
    tau = np.abs(np.fft.fft2(base, norm="ortho")).ravel() ** 2 * 64 / 63
    np.testing.assert_allclose(np.diag(S).real[1:], tau[1:], rtol=1e-9)
    # random shifts: off-diagonal entries are Monte-Carlo noise. Each |Σ_kl| (k≠l) is
    # ~|x̂_k||x̂_l|/√N; the off-diagonal mass fraction is then ≈ D/(N+D) = 64/4064 ≈ 0.016.
    N = 4000
    sh = g.integers(0, n, (N, 2))
    xs = np.stack([np.roll(base, tuple(s), (0, 1)) for s in sh])
    frac = ff.offdiagonal_fraction(ff.fourier_covariance(xs))
    assert frac < 0.05
    # non-stationary data (a random-amplitude delta): Σ is rank one and far from diagonal
    d = np.zeros((N, n, n))
    d[:, 0, 0] = g.standard_normal(N)
    assert ff.offdiagonal_fraction(ff.fourier_covariance(d)) > 0.9


def test_covariance_vs_distance_and_offdiagonal_fraction():
    C, H, W = 2, 4, 5
    D = C * H * W
    r, m = ff.covariance_vs_distance(np.eye(D), (C, H, W))
    assert r.shape == m.shape and r[0] == 0 and np.all(np.diff(r) > 0)
    assert m[0] == 1.0 and np.all(m[1:] == 0)
    # max torus distance² = 2² + 2² (+ channel 1²)
    assert r[-1] == pytest.approx(np.sqrt(4 + 4 + 1))
    r2, m2 = ff.covariance_vs_distance(np.ones((D, D)), (C, H, W), modular=False)
    np.testing.assert_allclose(m2, 1.0)
    assert r2[-1] > r[-1]  # signed frequencies reach farther than the torus distance
    assert ff.offdiagonal_fraction(np.diag(np.arange(1.0, 6.0))) == 0.0
    assert ff.offdiagonal_fraction(np.ones((4, 4))) == pytest.approx(12 / 16)


# ------------------------------------------------------------- patches (Chowers)
def test_extract_patches_count_and_order():
    x = rng(130).standard_normal((2, 3, 6, 7))
    s, st = 3, 2
    P = ff.extract_patches(x, s, stride=st)
    ref = [x[n, :, i:i + s, j:j + s].ravel()
           for n in range(2) for i in range(0, 6 - s + 1, st) for j in range(0, 7 - s + 1, st)]
    assert P.shape == (2 * 2 * 3, 3 * s * s)
    np.testing.assert_array_equal(P, np.array(ref))
    P1 = ff.extract_patches(x[:, 0], 2)  # (N, H, W) input, stride 1
    assert P1.shape == (2 * 5 * 6, 4)
    np.testing.assert_array_equal(P1[7], x[0, 0, 1:3, 1:3].ravel())


def test_patch_pca_reconstructs_second_moment():
    P = rng(131).standard_normal((500, 12)) @ rng(132).standard_normal((12, 12))
    evals, U = ff.patch_pca(P)
    M = P.T @ P / len(P)
    np.testing.assert_allclose(U @ np.diag(evals) @ U.T, M, atol=1e-9)
    np.testing.assert_allclose(U.T @ U, np.eye(12), atol=TOL)
    assert np.all(np.diff(evals) <= 0)
    idx = np.argmax(np.abs(U), axis=0)
    assert np.all(U[idx, np.arange(12)] > 0)
    ec, Uc = ff.patch_pca(P, center=True)
    Pc = P - P.mean(0)
    np.testing.assert_allclose(Uc @ np.diag(ec) @ Uc.T, Pc.T @ Pc / len(P), atol=1e-9)


def test_energy_profile_formula_and_invariances():
    g = rng(140)
    K, d = 6, 12
    Wf = g.standard_normal((K, d))
    _, U = ff.patch_pca(g.standard_normal((200, d)))
    e = ff.energy_profile(Wf, U)
    ref = np.array([np.sqrt(np.mean([(Wf[k] @ U[:, i]) ** 2 for k in range(K)]))
                    for i in range(d)])
    np.testing.assert_allclose(e, ref, atol=TOL)
    np.testing.assert_allclose(ff.energy_profile(Wf[g.permutation(K)], U), e, atol=TOL)
    O, _ = np.linalg.qr(g.standard_normal((K, K)))
    np.testing.assert_allclose(ff.energy_profile(O @ Wf, U), e, atol=TOL)
    # a non-orthogonal mixing does change it
    assert np.abs(ff.energy_profile(2 * O @ Wf, U) - e).max() > 1e-3
    np.testing.assert_allclose(ff.energy_profile(Wf.reshape(K, 3, 2, 2), U), e, atol=TOL)


# ------------------------------------------------------------------ bad inputs
def raises(exc, msg):
    return pytest.raises(exc, match=re.escape(msg))


def test_bad_n():
    for bad in (0, -3, 2.5, True, "4"):
        with raises(ValueError, "positive integer"):
            ff.Q(bad)
    with raises(ValueError, "positive integer"):
        ff.frequency_grid(0)
    with raises(ValueError, "[0, 4)"):
        ff.freq_index(4, 0, 4)
    with raises(ValueError, "[0, 16)"):
        ff.freq_pair(16, 4)


def test_bad_shapes_name_expected_shape():
    with raises(ValueError, "(..., H, W)"):
        ff.conv2d_direct(np.ones(4), np.ones((4, 4)))
    with raises(ValueError, "(..., 4, 4) like X"):
        ff.conv2d_direct(np.ones((4, 4)), np.ones((3, 3)))
    with raises(ValueError, "(..., H, W)"):
        ff.corr2d_direct(np.ones((4, 4)), np.ones(4))
    with raises(ValueError, "(n, n)"):
        ff.dbc_fourier(np.ones((3, 4)))
    with raises(ValueError, "(n, n)"):
        ff.dbc_corr_fourier(np.ones((3, 3, 3)))
    with raises(ValueError, "(u, m)"):
        ff.dbc(np.ones(3))
    with raises(ValueError, "(q,)"):
        ff.circ(np.ones((2, 2)))
    with raises(ValueError, "(..., H, W)"):
        ff.vec(np.ones(3))
    with raises(ValueError, "(..., 9)"):
        ff.unvec(np.ones(8), 3)
    with raises(ValueError, "(..., B, C_in, H, W)"):
        ff.fft_conv2d(torch.ones(3, 4, 4), torch.ones(1, 3, 4, 4))
    with raises(ValueError, "(..., C_out, C_in, kh, kw)"):
        ff.fft_conv2d(torch.ones(1, 3, 4, 4), torch.ones(3, 4, 4))
    with raises(ValueError, "(..., B, 3, 4, 4) (C_in of w)"):
        ff.fft_conv2d(torch.ones(2, 2, 4, 4), torch.ones(5, 3, 4, 4))
    with raises(ValueError, "larger than the image size 4×4"):
        ff.fft_conv2d(torch.ones(2, 3, 4, 4), torch.ones(5, 3, 5, 5))
    with raises(ValueError, "larger than the image"):
        ff.fft_depthwise_conv2d(torch.ones(2, 3, 4, 4), torch.ones(3, 5, 5))
    with raises(ValueError, "(..., C, H, W)"):
        ff.fft_depthwise_conv2d(torch.ones(4), torch.ones(3, 3))
    wh = ff.kernel_hat(torch.ones(5, 3, 2, 2), (6, 6))
    with raises(ValueError, "(6, 6)"):
        ff.fft_conv2d(torch.ones(2, 3, 4, 4), w_hat=wh)
    with raises(ValueError, "not both"):
        ff.fft_conv2d(torch.ones(2, 3, 6, 6), torch.ones(5, 3, 2, 2), w_hat=wh)
    with raises(ValueError, "(N, H, W) or (N, C, H, W)"):
        ff.power_spectrum(np.ones((4, 4)))
    with raises(ValueError, "(N, H, W) or (N, C, H, W)"):
        ff.fourier_covariance(np.ones((2, 2, 2, 4, 4)))
    with raises(ValueError, "(R,)"):
        ff.fit_power_law(np.ones((3, 3)), np.ones(3))
    with raises(ValueError, "(5,) like k"):
        ff.fit_power_law(np.arange(1.0, 6.0), np.ones(4))
    with raises(ValueError, "(H, W)"):
        ff.fit_separable_power_law(np.ones(5))
    with raises(ValueError, "(..., 3) (one value per radius)"):
        ff.radial_moment(np.arange(3.0), np.ones(4))
    with raises(ValueError, "(24, 24) for images (2, 3, 4)"):
        ff.covariance_vs_distance(np.eye(10), (2, 3, 4))
    with raises(ValueError, "(D, D)"):
        ff.offdiagonal_fraction(np.ones((2, 3)))
    with raises(ValueError, "(M, d)"):
        ff.patch_pca(np.ones(5))
    with raises(ValueError, "(4, d) (filter dimension first)"):
        ff.energy_profile(np.ones((3, 4)), np.eye(5))
    with raises(ValueError, "exceeds the image size"):
        ff.extract_patches(np.ones((1, 4, 4)), 5)


def test_bad_dtypes_and_modes():
    with raises(TypeError, "must be real"):
        ff.conv2d_direct(np.ones((4, 4), complex), np.ones((4, 4)))
    with raises(TypeError, "must be real"):
        ff.dbc_fourier(torch.ones(4, 4, dtype=torch.complex128))
    with raises(TypeError, "must be real"):
        ff.radial_profile(np.ones((4, 4)) * 1j)
    with raises(TypeError, "real floating tensor"):
        ff.fft_conv2d(torch.ones(1, 3, 4, 4, dtype=torch.int64), torch.ones(2, 3, 4, 4))
    with raises(TypeError, "must be real"):
        ff.fft_conv2d(np.ones((1, 3, 4, 4), complex), torch.ones(2, 3, 4, 4))
    with raises(TypeError, "torch.Tensor or numpy array"):
        ff.fft_conv2d([[[[1.0]]]], torch.ones(1, 1, 1, 1))
    with raises(TypeError, "numeric array"):
        ff.conv2d_direct(np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)))
    with raises(ValueError, "mode must be 'conv' or 'corr'"):
        ff.fft_conv2d(torch.ones(1, 3, 4, 4), torch.ones(2, 3, 4, 4), mode="same")
    with raises(ValueError, "mode must be 'conv' or 'corr'"):
        ff.fft_depthwise_conv2d(torch.ones(3, 4, 4), torch.ones(3, 4, 4), mode="full")
    with raises(ValueError, "bins must be 'exact' or 'integer'"):
        ff.radial_profile(np.ones((4, 4)), bins="log")

"""Bad inputs to ``freqlearn.fourier`` give clear errors (issue 14, items 5–6).

Each case is a row of the reliability probe (``shared/notes/probe-reliability.md``, sections
1a "bad inputs" and 1b "huge sizes"); its id is the probe label. Every BAD row is here, with
the notable WEAK ones: the error must be a ValueError/TypeError whose message names the
parameter (and, for sizes, what the build would need). Nothing here allocates a large array:
the size limit is checked before the allocation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqlearn import fourier as ff

STR = np.array([["a", "b"], ["c", "d"]])
OBJ = np.array([[1, None], [2, 3]], dtype=object)
K19 = np.arange(1.0, 20.0)
P19 = K19**-2.0


def _profile_from_radius_0():
    """A radial profile as the book makes it: its radii start at 0 (the DC term)."""
    x = np.random.default_rng(0).standard_normal((4, 16, 16))
    return ff.radial_profile(ff.power_spectrum(x), bins="integer")


def _forged_kernel():
    hat = ff.kernel_hat(torch.ones(4, 3, 8, 8)).hat  # c_in = 3
    return ff.SpectralKernel(hat=hat, size=(8, 8), c_in=7, c_out=4)


# (probe label, call, exception, regex the message must match: it names the parameter)
BAD = [
    # 1a.20/21, 1a.37/38: dbc, dbc_corr returned a str/object "matrix"
    ("1a.20 dbc(object)", lambda: ff.dbc(OBJ), TypeError, r"B must be a numeric array.*object"),
    ("1a.21 dbc(str)", lambda: ff.dbc(STR), TypeError, r"B must be a numeric array.*<U1"),
    ("1a.37 dbc_corr(object)", lambda: ff.dbc_corr(OBJ), TypeError, r"B must be a numeric"),
    ("1a.38 dbc_corr(str)", lambda: ff.dbc_corr(STR), TypeError, r"B must be a numeric"),
    # 1a.55: MKL "DFTI ERROR" for an empty channel axis
    ("1a.55 kernel_hat(empty_chan)", lambda: ff.kernel_hat(torch.ones(4, 0, 3, 3), (8, 8)),
     ValueError, r"w must have shape \(\.\.\., C_out, C_in, kh, kw\) with no zero-size axis; "
     r"got shape \(4, 0, 3, 3\)"),
    # 1a.60: size (8.9, 8.9) silently truncated to (8, 8)
    ("1a.60 kernel_hat(size_float)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), (8.9, 8.9)),
     ValueError, r"size must be a pair \(H, W\) of positive integers; got \(8\.9, 8\.9\)"),
    # 1a.83: an empty batch crashed in MKL
    ("1a.83 fft_conv2d(x_empty_batch)",
     lambda: ff.fft_conv2d(torch.ones(0, 3, 8, 8), torch.ones(4, 3, 8, 8)),
     ValueError, r"x must have shape \(\.\.\., B, C_in, H, W\).*got shape \(0, 3, 8, 8\)"),
    # 1a.91: a meta x and a CPU w returned a CPU tensor of uninitialised memory
    ("1a.91 fft_conv2d(x_meta_w_cpu)",
     lambda: ff.fft_conv2d(torch.empty(2, 3, 8, 8, device="meta"), torch.randn(4, 3, 8, 8)),
     ValueError, r"x and w must be on the same device; got x on meta, w on cpu"),
    # 1a.108: MKL "DFTI ERROR" for an empty channel axis
    ("1a.108 fft_depthwise_conv2d(empty_C)",
     lambda: ff.fft_depthwise_conv2d(torch.ones(0, 8, 8), torch.ones(0, 8, 8)),
     ValueError, r"x must have shape \(\.\.\., C, H, W\) with no zero-size axis"),
    # 1a.117: numpy "need at least one array to stack"
    ("1a.117 radial_profile(empty_lead)", lambda: ff.radial_profile(np.empty((0, 8, 8))),
     ValueError, r"a must have shape \(\.\.\., H, W\) with no zero-size axis; got shape "
     r"\(0, 8, 8\)"),
    # 1a.163: LAPACK noise + "SVD did not converge" for an infinite k
    ("1a.163 fit_power_law(k_inf)", lambda: ff.fit_power_law(np.r_[K19[:-1], np.inf], P19),
     ValueError, r"k must be finite; got 1 NaN/inf entry of 19 \(first at index \(18,\)"),
    # 1a.164: kmin=0 on a profile from radial_profile (r starts at 0) → log(0) → LAPACK noise
    ("1a.164 fit_power_law(k_zero_kmin0)",
     lambda: ff.fit_power_law(*_profile_from_radius_0(), kmin=0),
     ValueError, r"k must be positive in the fit window \[kmin, kmax\] = \[0, .*kmin > 0"),
    # 1a.165: all k equal returned a finite exponent -0.19
    ("1a.165 fit_power_law(k_constant)", lambda: ff.fit_power_law(np.full(5, 2.0), K19[:5]),
     ValueError, r"k must take at least 2 distinct values.*got k = 2 at all 5 points"),
    # 1a.166: log of negative k → LAPACK noise
    ("1a.166 fit_power_law(k_negative)",
     lambda: ff.fit_power_law(-K19, np.ones(19), kmin=-30), ValueError,
     r"k must be positive in the fit window.*got k = -19"),
    # 1a.216: zero patches → 0/0 → "Eigenvalues did not converge"
    ("1a.216 patch_pca(M=0)", lambda: ff.patch_pca(np.empty((0, 4))), ValueError,
     r"patches must have shape \(M, d\) with no zero-size axis; got shape \(0, 4\)"),
    # 1a.221–223: non-finite patches → "Eigenvalues did not converge"
    ("1a.221 patch_pca(nan)", lambda: ff.patch_pca(np.full((5, 4), np.nan)), ValueError,
     r"patches must be finite; got 20 NaN/inf entries of 20"),
    ("1a.222 patch_pca(some_nan)",
     lambda: ff.patch_pca(np.r_[np.ones((4, 4)), [[1.0, np.nan, 1.0, 1.0]]]), ValueError,
     r"patches must be finite; got 1 NaN/inf entry of 20 \(first at index \(4, 1\)"),
    ("1a.223 patch_pca(inf)", lambda: ff.patch_pca(np.full((5, 4), np.inf)), ValueError,
     r"patches must be finite"),
]

WEAK = [
    ("1a.27 dbc(meta)", lambda: ff.dbc(torch.ones(3, 3, device="meta")), ValueError,
     r"B is a tensor on the meta device"),
    ("1a.51 kernel_hat(object_np)", lambda: ff.kernel_hat(np.ones((1, 1, 3, 3), object)),
     TypeError, r"w must be a numeric array; got dtype object"),
    ("1a.54 kernel_hat(empty_kernel)", lambda: ff.kernel_hat(torch.ones(1, 1, 0, 0), (8, 8)),
     ValueError, r"w must have shape .* with no zero-size axis"),
    ("1a.56 kernel_hat(size_neg)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), (-8, -8)),
     ValueError, r"size must be a pair \(H, W\) of positive integers; got \(-8, -8\)"),
    ("1a.57 kernel_hat(size_zero)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), (0, 0)),
     ValueError, r"size must be a pair"),
    ("1a.58 kernel_hat(size_1tuple)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), (8,)),
     ValueError, r"size must be a pair"),
    ("1a.59 kernel_hat(size_int)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), 8),
     ValueError, r"size must be a pair .*; got 8"),
    ("1a.61 kernel_hat(size_str)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), "ab"),
     ValueError, r"size must be a pair"),
    ("1a.63 kernel_hat(float16)",
     lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3, dtype=torch.float16), (8, 8)), TypeError,
     r"w must be float32 or float64 .*got dtype torch.float16 on cpu"),
    ("1a.64 kernel_hat(bfloat16)",
     lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3, dtype=torch.bfloat16), (8, 8)), TypeError,
     r"w must be float32 or float64"),
    ("1a.75 fft_conv2d(x_object_np)",
     lambda: ff.fft_conv2d(np.ones((2, 3, 8, 8), object), torch.ones(4, 3, 8, 8)), TypeError,
     r"x must be a numeric array"),
    ("1a.84 fft_conv2d(x_empty_HW)",
     lambda: ff.fft_conv2d(torch.ones(2, 3, 0, 0), torch.ones(4, 3, 0, 0)), ValueError,
     r"x must have shape .* with no zero-size axis; got shape \(2, 3, 0, 0\)"),
    ("1a.86 fft_conv2d(lead_mismatch)",
     lambda: ff.fft_conv2d(torch.ones(5, 2, 3, 8, 8), torch.ones(4, 4, 3, 8, 8)), ValueError,
     r"leading axes of x \(5,\) and of w \(4,\) must broadcast"),
    ("1a.98 fft_conv2d(w_hat_not_SpectralKernel)",
     lambda: ff.fft_conv2d(torch.ones(2, 3, 8, 8), w_hat=torch.ones(8, 5, 3, 4)), TypeError,
     r"w_hat must be a SpectralKernel made by kernel_hat; got Tensor"),
    ("1a.99 fft_conv2d(w_hat_forged_inconsistent)", _forged_kernel, ValueError,
     r"SpectralKernel.hat must have shape \(\.\.\., 8, 5, 7, 4\)"),
    ("1a.102 fft_depthwise_conv2d(chan_mismatch)",
     lambda: ff.fft_depthwise_conv2d(torch.ones(2, 4, 8, 8), torch.ones(3, 8, 8)), ValueError,
     r"leading axes of x \(2, 4\) and of k \(3,\) must broadcast"),
    ("1a.107 fft_depthwise_conv2d(empty_HW)",
     lambda: ff.fft_depthwise_conv2d(torch.ones(3, 0, 0), torch.ones(3, 0, 0)), ValueError,
     r"x must have shape \(\.\.\., C, H, W\) with no zero-size axis"),
    ("1a.110 fft_depthwise_conv2d(meta_cpu_mix)",
     lambda: ff.fft_depthwise_conv2d(torch.ones(3, 8, 8, device="meta"), torch.ones(3, 8, 8)),
     ValueError, r"x and k must be on the same device; got x on meta, k on cpu"),
    ("1a.116 radial_profile(empty(0,0))", lambda: ff.radial_profile(np.empty((0, 0))),
     ValueError, r"^a must have shape"),
    ("1a.124 radial_profile(meta)", lambda: ff.radial_profile(torch.ones(8, 8, device="meta")),
     ValueError, r"a is a tensor on the meta device"),
    ("1a.128 radial_moment(g_all_zero)", lambda: ff.radial_moment(K19[:5], np.zeros(5)),
     ValueError, r"g must have a positive mass"),
    ("1a.133 radial_moment(empty)", lambda: ff.radial_moment(np.empty(0), np.empty(0)),
     ValueError, r"r must hold at least 2 radii"),
    ("1a.134 radial_moment(single)", lambda: ff.radial_moment(np.ones(1), np.ones(1)),
     ValueError, r"r must hold at least 2 radii"),
    ("1a.142 radial_moment(k_str)", lambda: ff.radial_moment(K19[:5], np.ones(5), k="a"),
     ValueError, r"k must be a finite real number; got 'a' \(str\)"),
    ("1a.147 power_spectrum(N=0)", lambda: ff.power_spectrum(np.empty((0, 8, 8))), ValueError,
     r"images must hold at least 1 image; got shape \(0, 8, 8\) \(N=0\)"),
    ("1a.148 power_spectrum(H=W=0)", lambda: ff.power_spectrum(np.empty((2, 0, 0))),
     ValueError, r"images must have shape .* with C, H, W ≥ 1; got shape \(2, 0, 0\)"),
    ("1a.161 fit_power_law(P_some_nan)",
     lambda: ff.fit_power_law(K19, np.r_[np.nan, P19[1:]]), ValueError,
     r"P must be finite; got 1 NaN/inf entry"),
    ("1a.162 fit_power_law(P_inf)", lambda: ff.fit_power_law(K19, np.r_[np.inf, P19[1:]]),
     ValueError, r"P must be finite"),
    ("1a.169 fit_power_law(kmin_nan)", lambda: ff.fit_power_law(K19, P19, kmin=np.nan),
     ValueError, r"kmin must be a finite real number"),
    ("1a.167 fit_power_law(kmin_gt_kmax)", lambda: ff.fit_power_law(K19, P19, kmin=10, kmax=2),
     ValueError, r"kmin must be ≤ kmax; got kmin=10, kmax=2"),
    ("1a.172 fit_power_law(empty)", lambda: ff.fit_power_law(np.empty(0), np.empty(0)),
     ValueError, r"k must hold at least 3 radii"),
    ("1a.178 fit_power_law(meta)",
     lambda: ff.fit_power_law(torch.ones(19, device="meta"), P19), ValueError,
     r"k is a tensor on the meta device"),
    ("1a.190 fourier_covariance(H=0)", lambda: ff.fourier_covariance(np.empty((3, 0, 4))),
     ValueError, r"images must have shape .* with C, H, W ≥ 1"),
    ("1a.194 extract_patches(size0)", lambda: ff.extract_patches(np.ones((2, 8, 8)), 0),
     ValueError, r"^size must be a positive integer; got 0"),
    ("1a.196 extract_patches(size_float)", lambda: ff.extract_patches(np.ones((2, 8, 8)), 2.0),
     ValueError, r"^size must be a positive integer; got 2\.0 \(float\)"),
    ("1a.197 extract_patches(size_bool)", lambda: ff.extract_patches(np.ones((2, 8, 8)), True),
     ValueError, r"^size must be a positive integer; got True \(bool\)"),
    ("1a.199 extract_patches(stride0)",
     lambda: ff.extract_patches(np.ones((2, 8, 8)), 2, stride=0), ValueError,
     r"^stride must be a positive integer; got 0"),
    ("1a.204 extract_patches(C=0)", lambda: ff.extract_patches(np.ones((2, 0, 8, 8)), 2),
     ValueError, r"images must have shape .* with C, H, W ≥ 1; got shape \(2, 0, 8, 8\)"),
    ("1a.217 patch_pca(d=0)", lambda: ff.patch_pca(np.empty((4, 0))), ValueError,
     r"patches must have shape \(M, d\) with no zero-size axis; got shape \(4, 0\)"),
    ("1a.224 patch_pca(meta)", lambda: ff.patch_pca(torch.ones(5, 4, device="meta")),
     ValueError, r"patches is a tensor on the meta device"),
    ("1a.231 energy_profile(K=0)", lambda: ff.energy_profile(np.empty((0, 4)), np.eye(4)),
     ValueError, r"filters must have shape .* with no zero-size axis; got shape \(0, 4\)"),
    # not probe rows: the same checks elsewhere in the module
    ("freq_index(mu=1.5)", lambda: ff.freq_index(1.5, 0, 4), ValueError,
     r"mu must be an integer; got 1\.5 \(float\)"),
    ("jsymm(float j)", lambda: ff.jsymm(1.0, 4), TypeError, r"j must be an integer index"),
    ("jsymm(j out of range)", lambda: ff.jsymm(np.array([0, 16]), 4), ValueError,
     r"j must lie in \[0, 16\)"),
    ("unvec(m=2.5)", lambda: ff.unvec(np.ones(8), 4, 2.5), ValueError,
     r"^m must be a positive integer"),
    ("frequency_grid(W=0)", lambda: ff.frequency_grid(4, 0), ValueError,
     r"^W must be a positive integer"),
    ("circ(str)", lambda: ff.circ(np.array(["a", "b"])), TypeError, r"b must be a numeric"),
    ("dft2(norm)", lambda: ff.dft2(np.ones((4, 4)), norm="unitary"), ValueError,
     r"norm must be 'backward', 'ortho' or 'forward'"),
    ("offdiagonal_fraction(zeros)", lambda: ff.offdiagonal_fraction(np.zeros((3, 3))),
     ValueError, r"Sigma must not be all zeros"),
    ("covariance_vs_distance(shape float)",
     lambda: ff.covariance_vs_distance(np.eye(16), (1, 4.0, 4)), ValueError,
     r"shape\[1\] must be a positive integer"),
    ("fit_separable_power_law(nan)",
     lambda: ff.fit_separable_power_law(np.full((4, 4), np.nan)), ValueError,
     r"tau must be finite"),
    ("conv2d_direct(lead mismatch)",
     lambda: ff.conv2d_direct(np.ones((2, 4, 4)), np.ones((3, 4, 4))), ValueError,
     r"leading axes of X \(2,\) and K \(3,\) must broadcast"),
]


def _gib(n: float) -> str:
    return rf"would allocate {n} GiB \(> limit 1 GiB, FREQLEARN_MAX_BYTES\)"


HUGE = [
    # the brief's example, word for word
    ("1b.17 Q(100)", lambda: ff.Q(100),
     r"^Q\(n=100\) would allocate 1\.5 GiB \(> limit 1 GiB, FREQLEARN_MAX_BYTES\); use the "
     r"FFT routines instead$"),
    ("1b.1 Q(300)", lambda: ff.Q(300), r"Q\(n=300\) " + _gib(120.7)),
    ("1b.2 Q(10**5)", lambda: ff.Q(10**5), r"Q\(n=100000\) would allocate 1\.6e\+21 bytes"),
    ("1b.3 Q(10**12)", lambda: ff.Q(10**12), r"Q\(n=1000000000000\) would allocate"),
    ("dft_matrix(10**5)", lambda: ff.dft_matrix(10**5), r"dft_matrix\(n=100000\) " + _gib(149)),
    ("1b.4 dbc(200×200)", lambda: ff.dbc(np.ones((200, 200))),
     r"dbc\(B of shape 200×200\) " + _gib(11.9)),
    ("1b.5 dbc_corr(200×200)", lambda: ff.dbc_corr(np.ones((200, 200))),
     r"dbc_corr\(B of shape 200×200\) " + _gib(11.9)),
    ("1b.6 fourier_covariance(2,3,128,128)",
     lambda: ff.fourier_covariance(np.zeros((2, 3, 128, 128))),
     r"fourier_covariance\(images of shape \(2, 3, 128, 128\)\) " + _gib(36)),
    ("1b.7 kernel_hat(10**6)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), (10**6, 10**6)),
     r"kernel_hat\(w of shape \(1, 1, 3, 3\), size=\(1000000, 1000000\)\) would allocate "
     r"3\.6 TiB"),
    ("1b.8 kernel_hat(10**10)", lambda: ff.kernel_hat(torch.ones(1, 1, 3, 3), (10**10,) * 2),
     r"kernel_hat\(.*size=\(10000000000, 10000000000\)\) would allocate"),
    ("1b.9 patch_pca(2×60000)", lambda: ff.patch_pca(np.ones((2, 60000))),
     r"patch_pca\(patches of shape \(2, 60000\)\) " + _gib(53.6)),
    ("1b.10 extract_patches(10,1,512,512; 32)",
     lambda: ff.extract_patches(np.ones((10, 1, 512, 512)), 32),
     r"extract_patches\(images of shape \(10, 1, 512, 512\), size=32, stride=1\) "
     + _gib(17.7)),
    ("dbc_fourier(K 64×64)", lambda: ff.dbc_fourier(np.ones((64, 64))),
     r"dbc_fourier\(K of shape 64×64\) " + _gib(1.2)),
    ("conv2d_direct(200×200)", lambda: ff.conv2d_direct(np.ones((200, 200)), np.ones((200, 200))),
     r"conv2d_direct\(images 200×200, leading axes \(\)\) " + _gib(11.9)),
    ("covariance_vs_distance(D=8192)",
     lambda: ff.covariance_vs_distance(np.broadcast_to(np.float32(0), (8192, 8192)), (2, 64, 64)),
     r"covariance_vs_distance\(Sigma of shape \(8192, 8192\)\) would allocate"),
]


@pytest.mark.parametrize("call, exc, match",
                         [pytest.param(c, e, m, id=label) for label, c, e, m in BAD])
def test_bad_rows_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("call, exc, match",
                         [pytest.param(c, e, m, id=label) for label, c, e, m in WEAK])
def test_weak_rows_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("call, match", [pytest.param(c, m, id=label) for label, c, m in HUGE])
def test_huge_sizes_refused_up_front(call, match, monkeypatch):
    monkeypatch.delenv("FREQLEARN_MAX_BYTES", raising=False)
    with pytest.raises(ValueError, match=match):
        call()


def test_probe_table_is_covered():
    """Every BAD row of probe sections 1a/1b has a case (18 rows, all in section 1a)."""
    bad_rows = {"1a.20", "1a.21", "1a.37", "1a.38", "1a.55", "1a.60", "1a.83", "1a.91",
                "1a.108", "1a.117", "1a.163", "1a.164", "1a.165", "1a.166", "1a.216",
                "1a.221", "1a.222", "1a.223"}
    assert {label.split()[0] for label, *_ in BAD} == bad_rows


# ------------------------------------------------------------ the size limit itself
def test_size_limit_follows_env_and_constant(monkeypatch):
    monkeypatch.setenv("FREQLEARN_MAX_BYTES", "1KiB")
    assert ff.Q(2).shape == (4, 4)  # 256 bytes
    with pytest.raises(ValueError, match=r"Q\(n=3\) would allocate 1\.3 KiB \(> limit 1 KiB"):
        ff.Q(3)  # 1296 bytes
    monkeypatch.setenv("FREQLEARN_MAX_BYTES", "2000")
    assert ff.Q(3).shape == (9, 9)
    monkeypatch.setenv("FREQLEARN_MAX_BYTES", "")  # empty: the module constant
    monkeypatch.setattr(ff, "MAX_DENSE_BYTES", 100)
    with pytest.raises(ValueError, match=r"dbc\(B of shape 2×2\) would allocate 128 B"):
        ff.dbc(np.ones((2, 2)))


@pytest.mark.parametrize("raw", ["lots", "-5", "0", "1 parsec", "1e400"])
def test_bad_env_limit_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("FREQLEARN_MAX_BYTES", raw)
    with pytest.raises(ValueError, match=r"FREQLEARN_MAX_BYTES must be a positive number"):
        ff.Q(2)


def test_default_limit_is_one_gib():
    assert ff.MAX_DENSE_BYTES == 2**30


# -------------------------------------------------- valid inputs still work (and agree)
def test_integers_numpy_ok_floats_and_bools_refused():
    assert ff.Q(np.int64(3)).shape == (9, 9)
    assert ff.extract_patches(np.ones((1, 4, 4)), np.int32(2), stride=np.int64(2)).shape == (4, 4)
    for bad in (4.0, 4.7, True, np.bool_(True), "4", None, np.array(4)):
        with pytest.raises(ValueError, match=r"^n must be a positive integer"):
            ff.Q(bad)


def test_size_pair_accepts_lists_and_numpy_ints():
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    ref = ff.kernel_hat(w, (8, 8)).hat
    assert torch.equal(ff.kernel_hat(w, [8, 8]).hat, ref)
    assert torch.equal(ff.kernel_hat(w, (np.int64(8), np.int64(8))).hat, ref)


def test_requires_grad_and_negative_strides_are_accepted():
    w = torch.randn(3, 3, requires_grad=True)
    np.testing.assert_array_equal(ff.dbc(w), ff.dbc(w.detach().numpy()))
    a = np.random.default_rng(1).standard_normal((1, 1, 3, 3))
    np.testing.assert_array_equal(ff.kernel_hat(a[..., ::-1], (8, 8)).hat.numpy(),
                                  ff.kernel_hat(a[..., ::-1].copy(), (8, 8)).hat.numpy())


def test_meta_tensors_alone_still_give_shapes():
    # all-meta inputs never reach data, so shape inference keeps working; a mix is refused
    y = ff.fft_conv2d(torch.ones(2, 3, 8, 8, device="meta"), torch.ones(4, 3, 8, 8, device="meta"))
    assert y.device.type == "meta" and y.shape == (2, 4, 8, 8)


def test_fit_power_law_still_fits_the_book_profile():
    r, prof = _profile_from_radius_0()
    fit = ff.fit_power_law(r, prof, kmin=1, kmax=8)
    assert np.isfinite(fit.exponent) and fit.kmin == 1.0 and fit.kmax == 8.0
    exact = ff.fit_power_law(K19, 3.0 * K19**-2.0, kmin=np.int64(1), kmax=np.float32(19))
    assert abs(exact.exponent - 2.0) < 1e-12 and abs(exact.amplitude - 3.0) < 1e-12


def test_patch_pca_and_extract_patches_edge_cases_still_fine():
    assert ff.extract_patches(np.ones((0, 8, 8)), 2).shape == (0, 4)  # no images, no patches
    evals, U = ff.patch_pca(np.eye(4))
    np.testing.assert_allclose(evals, 0.25)
    np.testing.assert_allclose(U @ U.T, np.eye(4), atol=1e-12)

"""Bad inputs to ``freqlearn.data``: each gives a clear error naming the parameter (issue 14).

One test (or parametrised case) per BAD row, and per notable WEAK row, of sections 1b, 1c
and 2 of the reliability probe (``../shared/notes/probe-reliability.md``); the comments
give the probe's row labels. Nothing here touches the network.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn.data import _checks, cifar, nlgp, pinson
from freqlearn.data.cifar import CIFARCorrupt, CIFARNotFound

NLGP = nlgp.NLGP


# ------------------------------------------------------------------ NLGP constructor
@pytest.mark.parametrize("kw,exc,match", [
    (dict(L=0), ValueError, r"L must be an integer ≥ 1; got 0"),           # 1c.1
    (dict(L=-4), ValueError, r"L must be an integer ≥ 1; got -4"),         # 1c.2
    (dict(L=2.5), TypeError, r"L must be an integer; got 2\.5"),           # 1c.4
    (dict(L="16"), TypeError, r"L must be an integer; got '16'"),          # 1c.5
    (dict(L=True), TypeError, r"L must be an integer, not a bool"),        # 1c.6
    (dict(L=16, dim=0), ValueError, r"dim must be 1 .* or 2 .*got 0"),     # 1c.8
    (dict(L=16, dim=3), ValueError, r"dim must be 1 .*got 3"),             # 1c.9
    (dict(L=16, dim=-1), ValueError, r"dim must be 1 .*got -1"),           # 1c.10
    (dict(L=16, xis=(float("nan"), 16)), ValueError, r"xis\[0\] must be a number; got NaN"),
    (dict(L=16, xis=(-8, -16)), ValueError, r"xis\[0\] must be ≥ 0"),      # 1c.13 BAD
    (dict(L=16, xis=(8,)), ValueError, r"xis must hold exactly two .*got 1"),  # 1c.14
    (dict(L=16, xis=(2, 4, 8)), ValueError, r"xis must hold exactly two .*got 3"),  # 1c.15 BAD
    (dict(L=16, xis=()), ValueError, r"xis must hold exactly two .*got 0"),   # 1c.16 BAD
    (dict(L=16, xis="ab"), TypeError, r"xis must be a pair"),
    (dict(L=16, xis=("a", "b")), TypeError, r"xis\[0\] must be a real number"),  # 1c.19
    (dict(L=16, g=0), ValueError, r"g must be a non-zero gain"),           # 1c.21
    (dict(L=16, g=0, gaussian=True), ValueError, r"g must be a non-zero gain"),  # 1c.33
    (dict(L=16, g=float("nan")), ValueError, r"g must be a number; got NaN"),  # 1c.23
    (dict(L=16, g=float("inf")), ValueError, r"g must be finite"),         # 1c.24
    (dict(L=16, g=1e200), ValueError, r"g must be a non-zero gain .*Z\(g\)² = nan"),  # 1c.26
    (dict(L=16, g=1e-200), ValueError, r"g must be a non-zero gain"),      # underflow to 0
    (dict(L=16, g=3 + 1j), TypeError, r"g must be a real number"),         # 1c.27
    (dict(L=16, g="3"), TypeError, r"g must be a real number"),            # 1c.28
    (dict(L=16, dtype=torch.int64), TypeError, r"dtype must be torch.float32"),  # 1c.29
    (dict(L=16, dtype=torch.float16), TypeError, r"dtype must be torch.float32"),  # 1c.30
    (dict(L=16, dtype=torch.complex64), TypeError, r"dtype must be torch.float32"),  # 1c.31
    (dict(L=16, dtype="float32"), TypeError, r"dtype must be torch.float32"),  # 1c.32
    (dict(L=16, gaussian="no"), TypeError, r"gaussian must be True or False"),  # 1c.34
])
def test_nlgp_constructor_refuses(kw, exc, match):
    with pytest.raises(exc, match=match):
        NLGP(**kw)


def test_nlgp_accepts_limits_and_numpy_types():
    # 1c.3, 1c.7, 1c.12, 1c.17, 1c.20, 1c.22: valid inputs still work
    g = torch.Generator().manual_seed(0)
    assert NLGP(L=1).sample(4, g)[0].shape == (4, 1)
    assert NLGP(L=np.int64(16), xis=(np.float64(2), 4)).sample(4, g)[0].shape == (4, 16)
    x, _ = NLGP(L=32, xis=(float("inf"), 16)).sample(4, g)
    assert torch.isfinite(x).all()
    assert torch.isfinite(NLGP(L=32, g=-3).sample(4, g)[0]).all()
    assert NLGP(L=32, xis=(0.0, 0.0)).sample(4, g)[0].shape == (4, 32)


# ---------------------------------------------------------------------- NLGP.sample
def test_nlgp_empty_batch_is_empty_not_mkl_error():
    # 1c.35 BAD (MKL "DFTI ERROR"), 1c.50 BAD: zero samples give correctly shaped empties
    s = NLGP(L=16)
    x, y = s.sample(0)
    assert x.shape == (0, 16) and y.shape == (0,) and x.dtype == torch.float64
    x, y = s.sample((2, 0))
    assert x.shape == (2, 0, 16) and y.shape == (2, 0)
    assert s.sample_class([]).shape == (0, 16)
    s2 = NLGP(L=4, xis=(0.4, 0.8), dim=2, gaussian=True, dtype=torch.float32)
    assert s2.sample(0)[0].shape == (0, 16) and s2.sample(0)[0].dtype == torch.float32


@pytest.mark.parametrize("shape,exc,match", [
    (-1, ValueError, r"shape must be an integer ≥ 0; got -1"),       # 1c.36
    ((2, -3), ValueError, r"shape\[1\] must be an integer ≥ 0; got -3"),  # 1c.38
    (2.5, TypeError, r"shape must be an integer or a tuple"),         # 1c.37
    ("4", TypeError, r"shape must be an integer or a tuple"),         # 1c.39
    (None, TypeError, r"shape must be an integer or a tuple"),        # 1c.40
    ((2, 2.0), TypeError, r"shape\[1\] must be an integer"),
    (True, TypeError, r"shape must be an integer, not a bool"),
])
def test_nlgp_sample_shape_checked(shape, exc, match):
    with pytest.raises(exc, match=match):
        NLGP(L=16).sample(shape)


def test_nlgp_sample_accepts_numpy_int_and_size():
    # 1c.41 WEAK (np.int64 was "not iterable"), 1c.42
    s = NLGP(L=16)
    assert s.sample(np.int64(3))[0].shape == (3, 16)
    assert s.sample(torch.Size([2, 3]))[0].shape == (2, 3, 16)
    a = s.sample(np.int64(3), torch.Generator().manual_seed(1))[0]
    b = s.sample(3, torch.Generator().manual_seed(1))[0]
    assert torch.equal(a, b)


@pytest.mark.parametrize("cls,exc,match", [
    (2, ValueError, r"cls must hold class indices 0\.\.1; got 2"),           # 1c.43
    (-1, ValueError, r"cls must hold class indices 0\.\.1; got -1"),         # 1c.44/45 BAD
    ([0, 1, -1], ValueError, r"got -1"),
    (0.7, TypeError, r"cls must hold integer class indices .*float"),        # 1c.46 BAD
    (torch.tensor([0.9, 1.9]), TypeError, r"cls must hold integer class"),   # 1c.48 BAD
    (np.array([0.0, 1.0]), TypeError, r"cls must hold integer class"),
    ("a", TypeError, r"cls must be class indices"),                          # 1c.49
    (None, TypeError, r"cls must be class indices"),
])
def test_nlgp_sample_class_checked(cls, exc, match):
    with pytest.raises(exc, match=match):
        NLGP(L=16).sample_class(cls)


def test_nlgp_sample_class_valid_kinds_agree():
    # 1c.47: bools, ints, lists and integer tensors are class indices
    s = NLGP(L=16)
    ref = s.sample_class(torch.tensor([1, 0]), torch.Generator().manual_seed(2))
    for c in ([True, False], [1, 0], np.array([1, 0]), torch.tensor([1, 0], dtype=torch.int32)):
        assert torch.equal(s.sample_class(c, torch.Generator().manual_seed(2)), ref)


@pytest.mark.parametrize("gen,exc,match", [
    ("seed", TypeError, r"generator must be a torch.Generator or None; got 'seed'"),  # 1c.51
    (np.random.default_rng(0), TypeError, r"generator must be a torch.Generator"),    # 1c.52
    ("cuda", ValueError, r"generator must be a CPU torch.Generator"),
])
def test_nlgp_generator_checked(gen, exc, match):
    if isinstance(gen, str) and gen == "cuda":
        if not torch.cuda.is_available():
            pytest.skip("needs CUDA for a non-CPU generator")
        gen = torch.Generator(device="cuda")
    s = NLGP(L=16)
    with pytest.raises(exc, match=match):
        s.sample(4, gen)
    with pytest.raises(exc, match=match):
        s.sample_class([0], gen)


def test_nlgp_helpers_checked():
    with pytest.raises(TypeError, match="g must be a real number"):
        nlgp.Z2("a")
    with pytest.raises(TypeError, match="g must be a real number"):
        nlgp.Z2_printed([1, "x"])
    assert np.isnan(nlgp.Z2(float("nan")))  # NaN in → NaN out (a formula, not a sampler)
    with pytest.raises(TypeError, match="L must be an integer"):
        nlgp.periodic_distance(4.0)
    with pytest.raises(ValueError, match=r"xi must be ≥ 0"):
        nlgp.z_cov_row(8, -1.0)
    with pytest.raises(ValueError, match="dim must be 1"):
        nlgp.z_cov_row(8, 1.0, dim=3)
    with pytest.raises(ValueError, match="g must be a non-zero gain"):
        nlgp.x_cov_row(8, 1.0, 0.0)
    with pytest.raises(TypeError, match="gaussian_latent must be True or False"):
        nlgp.x_cov_row(8, 1.0, 1.0, gaussian_latent="yes")
    with pytest.raises(ValueError, match=r"row must be 1-D or 2-D; got shape \(2, 2, 2\)"):
        nlgp.cov_matrix(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="row must hold real numbers"):
        nlgp.circulant_spectrum(np.array([1 + 1j, 0]))
    with pytest.raises(ValueError, match="row must not be empty"):
        nlgp.circulant_spectrum([])


def test_mvn_reference_sampler_checked():
    C = NLGP(L=8, xis=(0.5, 1.0)).covariances()[1]
    assert nlgp.mvn_reference_sampler(C, 0).shape == (0, 8)  # empty request: empty result
    with pytest.raises(TypeError, match="n must be an integer"):
        nlgp.mvn_reference_sampler(C, 2.5)
    with pytest.raises(ValueError, match="seed must be an integer ≥ 0"):
        nlgp.mvn_reference_sampler(C, 2, seed=-1)
    with pytest.raises(ValueError, match=r"C must be a square .*\(8, 4\)"):
        nlgp.mvn_reference_sampler(C[:, :4], 2)
    with pytest.raises(ValueError, match="C must hold finite numbers"):
        nlgp.mvn_reference_sampler(np.full((2, 2), np.nan), 2)


# --------------------------------------------------------------- huge sizes (1b rows)
@pytest.mark.parametrize("call", [
    lambda: NLGP(L=10**5, dim=2),                 # 1b.11 (74.5 GiB)
    lambda: NLGP(L=10**9),                        # 1b.12
    lambda: NLGP(L=64).sample((10**6, 10**3)),    # 1b.13
    lambda: NLGP(L=200, xis=(2.0, 4.0), dim=2).covariances(),  # 2 × 40000² doubles
    lambda: nlgp.cov_matrix(np.ones(10**5)),
    lambda: fl.data.standin(10**9),               # 1b.14
    lambda: fl.data.standin(10, size=4000),       # 1b.15 (12.9 GiB photographs)
    lambda: pinson.cosine_image(10**5, 1, 1),
])
def test_huge_sizes_refused_up_front(call):
    with pytest.raises(ValueError, match=r"would need [0-9.e+]+ GiB, more than the 8 GiB"):
        call()
    assert _checks.MAX_BYTES == 8 * 2**30


# --------------------------------------------------------------------------- stand-in
@pytest.mark.parametrize("kw,exc,match", [
    (dict(n=2.5), TypeError, r"n must be an integer; got 2\.5"),          # 1c.55
    (dict(n="5"), TypeError, r"n must be an integer; got '5'"),           # 1c.56
    (dict(n=-1), ValueError, r"n must be an integer ≥ 0; got -1"),        # 1c.54
    (dict(n=4, size=2.5), TypeError, r"size must be an integer"),          # 1c.59 (said "seed")
    (dict(n=4, size=1), ValueError, r"size must be an integer ≥ 2; got 1"),  # 1c.57
    (dict(n=4, channels=3.0), TypeError, r"channels must be an integer"),  # 1c.63
    (dict(n=4, channels=True), TypeError, r"channels must be an integer, not a bool"),  # 1c.64
    (dict(n=4, n_classes=2.5), TypeError, r"n_classes must be an integer"),  # 1c.68
    (dict(n=4, n_classes=True), TypeError, r"n_classes must be an integer, not a bool"),
    (dict(n=4, seed=-1), ValueError, r"seed must be an integer ≥ 0; got -1"),  # 1c.70
    (dict(n=4, seed=2.5), TypeError, r"seed must be an integer; got 2\.5"),   # 1c.71
    (dict(n=4, seed=None), TypeError, r"seed must be an integer; got None"),  # 1c.72
    (dict(n=4, seed="a"), TypeError, r"seed must be an integer; got 'a'"),    # 1c.73
    (dict(n=4, context=0), ValueError, r"context must be an integer ≥ 1"),    # 1c.74
    (dict(n=4, context=-5), ValueError, r"context must be an integer ≥ 1"),   # 1c.75
    (dict(n=4, context=10), ValueError, r"context .* must be at least size=32"),  # 1c.76
    (dict(n=4, context=32.7), TypeError, r"context must be an integer"),      # 1c.77
    (dict(n=4, split=1), ValueError, r"split must be 'train' or 'test'"),
])
def test_standin_refuses(kw, exc, match):
    with pytest.raises(exc, match=match):
        fl.data.standin(**kw)


def test_standin_too_large_crop_names_context():
    with pytest.raises(ValueError, match=r"too large .*context=40.*test band"):
        fl.data.standin(4, size=16, context=40, split="test")


def test_standin_numpy_ints_same_as_python_ints():
    a = fl.data.standin(np.int64(6), size=np.int64(8), seed=np.int64(3), n_classes=np.int32(3))
    b = fl.data.standin(6, size=8, seed=3, n_classes=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)


# ----------------------------------------------------------------------- load_natural
@pytest.mark.parametrize("kw,exc,match", [
    (dict(prefer="bogus"), ValueError, r"prefer must be one of 'cifar10', 'cifar100', "
                                       r"'standin'; got 'bogus'"),           # 1c.83
    (dict(prefer=["cifar10"]), ValueError, r"prefer must be one of"),
    (dict(n_train=2.5), TypeError, r"n_train must be an integer"),
    (dict(n_test=-1), ValueError, r"n_test must be an integer ≥ 0"),
    (dict(n_classes=11), ValueError, r"n_classes must be an integer ≤ 10; got 11"),  # 1c.87
    (dict(n_classes=0), ValueError, r"n_classes must be an integer ≥ 1"),
    (dict(channels=2), ValueError, r"channels must be 1 or 3; got 2"),        # 1c.86
    (dict(size=16.0), TypeError, r"size must be an integer"),
    (dict(seed=1.5), TypeError, r"seed must be an integer"),
    (dict(allow_fallback="no"), TypeError, r"allow_fallback must be True or False"),
    (dict(download=1), TypeError, r"download must be True or False"),
    (dict(verbose=None), TypeError, r"verbose must be True or False"),
])
def test_load_natural_refuses_before_reading(kw, exc, match, tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    args = dict(n_train=10, n_test=5)
    args.update(kw)
    with pytest.raises(exc, match=match):
        fl.data.load_natural(args.pop("n_train"), args.pop("n_test"), **args)
    assert os.listdir(tmp_path) == []


def test_load_natural_empty_request(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    tr, te = fl.data.load_natural(0, 4, prefer="standin", size=8, verbose=False)
    assert tr.x.shape == (0, 3, 8, 8) and te.x.shape == (4, 3, 8, 8)


# ------------------------------------------------------------------ Pinson generators
@pytest.mark.parametrize("call,exc,match", [
    (lambda: pinson.pure_cosines(16.5), TypeError, r"n must be an integer; got 16\.5"),
    (lambda: pinson.pure_cosines(8, [(0.5, 1)], [1.0]), TypeError, r"pairs\[0\]\[0\] \(μ\)"),
    (lambda: pinson.pure_cosines(8, [], []), ValueError, r"pairs must hold at least one"),
    (lambda: pinson.pure_cosines(8, [(1, 2)], [np.nan]), ValueError, r"amplitudes\[0\] must "
                                                                      r"be a number; got NaN"),
    (lambda: pinson.pure_cosines(8, [(1, 2, 3)], [1.0]), ValueError, r"pairs\[0\] must be a"),
    (lambda: pinson.pure_cosines(8, [(1, 2)], [1.0, 2.0]), ValueError, r"1 pairs and 2 ampl"),
    (lambda: pinson.sums_of_cosines(n=16.5), TypeError, r"n must be an integer; got 16\.5"),
    (lambda: pinson.sums_of_cosines([[]], n=8), ValueError, r"classes\[0\] must hold at least"),
    (lambda: pinson.sums_of_cosines([], n=8), ValueError, r"classes must hold at least one"),
    (lambda: pinson.sums_of_cosines([[(1, 2, 1.0)]], n=8), ValueError,
     r"classes\[0\]\[0\] must be \(μ, ν, amplitude, phase\)"),
    (lambda: pinson.sums_of_cosines([[(1, 2, 1.0, np.inf)]], n=8), ValueError,
     r"classes\[0\]\[0\] phase must be finite"),
    (lambda: pinson.cosine_image(8, 1.5, 0), TypeError, r"mu must be an integer"),
    (lambda: pinson.cosine_image(0, 1, 0), ValueError, r"n must be an integer ≥ 1"),
    (lambda: pinson.shapes(64.0), TypeError, r"n must be an integer"),
    (lambda: pinson.shapes(64, size=0), ValueError, r"size must be > 0"),
    (lambda: pinson.shapes(64, size=0.8), ValueError, r"size must be in \(0, 0\.5\]"),
    (lambda: pinson.shapes(4, size=0.1), ValueError, r"empty or not distinct"),
])
def test_pinson_generators_refuse(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------- FREQLEARN_DATA
def test_freqlearn_data_expands_home_and_empty_means_default(monkeypatch, tmp_path):
    # 2.40, 2.41, 2.42 (WEAK): '~' expanded; '' → the default cache, not the cwd
    monkeypatch.setenv("HOME", str(tmp_path))
    default = Path(tmp_path) / ".cache" / "freqlearn"
    monkeypatch.delenv("FREQLEARN_DATA", raising=False)
    assert cifar.data_dir() == default
    for empty in ("", "   "):
        monkeypatch.setenv("FREQLEARN_DATA", empty)
        assert cifar.data_dir() == default
    monkeypatch.setenv("FREQLEARN_DATA", "~/somewhere")
    assert cifar.data_dir() == tmp_path / "somewhere"
    with pytest.raises(CIFARNotFound, match=str(tmp_path / "somewhere")):
        cifar.load_cifar("cifar10")
    assert cifar.load_cifar.__doc__ and "~" in cifar.data_dir.__doc__


def test_no_literal_tilde_directory_on_failed_download(monkeypatch, tmp_path):
    # 2.44 (WEAK-M): a failed download with FREQLEARN_DATA='~/x' made ./~/x in the cwd
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FREQLEARN_DATA", "~/x")
    spec = dict(cifar.ARCHIVES["cifar10"], url=(tmp_path / "nothing.tar.gz").as_uri())
    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", spec)
    with pytest.raises(CIFARNotFound, match="could not download"):
        cifar.load_cifar("cifar10", download=True)
    assert not (tmp_path / "~").exists()


def test_unwritable_data_dir_is_cifar_not_found(tmp_path):
    # 2.43 (WEAK): a raw FileNotFoundError from mkdir → CIFARNotFound naming the path
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    dest = blocker / "sub" / "cifar-10-python.tar.gz"
    with pytest.raises(CIFARNotFound, match=r"could not download .* to .*file/sub"):
        cifar._download((tmp_path / "x").as_uri(), dest, "0" * 32)


def test_archive_path_is_a_directory(tmp_path):
    # 2.39 (WEAK): raw IsADirectoryError → CIFARCorrupt with the fix
    (tmp_path / "cifar-10-python.tar.gz").mkdir()
    with pytest.raises(CIFARCorrupt, match=r"is not a file .*Fix: remove or rename"):
        cifar.load_cifar("cifar10", root=tmp_path)


@pytest.mark.parametrize("kw,exc,match", [
    (dict(name=["cifar10"]), ValueError, r"name must be one of .*got \['cifar10'\]"),  # 1c.82
    (dict(name=None), ValueError, r"name must be one of"),                             # 1c.81
    (dict(md5="xyz"), ValueError, r"md5 must be None or 32 hexadecimal digits"),
    (dict(download="yes"), TypeError, r"download must be True or False"),
    (dict(root=5), TypeError, r"root must be None or a path"),
])
def test_load_cifar_arguments(kw, exc, match, tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    with pytest.raises(exc, match=match):
        cifar.load_cifar(**kw)


def test_root_expands_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CIFARNotFound, match=str(tmp_path / "d" / "cifar-10-python")):
        cifar.load_cifar("cifar10", root="~/d")


# ----------------------------------------------------- malformed archives (md5 override)
def _pickle(obj, protocol=2) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def _archive(path: Path, replace: dict) -> str:
    rng = np.random.default_rng(0)
    members = {f"data_batch_{i}": _pickle({"data": rng.integers(0, 256, (2, 3072), np.uint8),
                                           "labels": [0, 1]}) for i in range(1, 6)}
    members["test_batch"] = _pickle({"data": rng.integers(0, 256, (2, 3072), np.uint8),
                                     "labels": [1, 0]})
    members["batches.meta"] = _pickle({"label_names": [f"c{k}" for k in range(10)]})
    members.update(replace)
    return cifar.md5sum(cifar.write_archive(path, members))


def _data(labels, n=2):
    return {"data": np.zeros((n, 3072), np.uint8), "labels": labels}


class _Bomb:
    """Unpickles as ``numpy.ndarray(shape, 'u1')``: uninitialised memory, no stored data."""

    def __init__(self, shape):
        self.shape = shape

    def __reduce__(self):
        return (np.ndarray, (self.shape, "u1"))


@pytest.mark.parametrize("member,obj,match", [
    ("data_batch_1", _data(["a", "b"]), r"labels must be a list of integers"),      # 2.26
    ("data_batch_1", _data([0.5, 1.7]), r"labels must be a list of integers; got "
                                         r"float64.*not truncated"),                # 2.27 BAD
    ("data_batch_1", _data([[0, 1], [2]]), r"labels are not a list of integers"),    # 2.28
    ("data_batch_1", _data(None), r"labels must be a list of integers"),             # 2.29
    ("batches.meta", {"label_names": 5}, r"'label_names' must be a list of class names"),  # 2.34
    ("test_batch", _data([], n=0), r"0 test images"),                                # 2.45
    ("data_batch_1", {"data": _Bomb((20000, 3072)), "labels": [0] * 20000},
     r"holds an array of 61440000 bytes"),                                           # 2.47
])
def test_malformed_archive_is_corrupt(tmp_path, member, obj, match):
    # protocol 4: protocol 2 stores empty arrays' bytes with a global the loader refuses
    md5 = _archive(tmp_path / "cifar-10-python.tar.gz", {member: _pickle(obj, 4)})
    with pytest.raises(CIFARCorrupt, match=match):
        cifar.load_cifar("cifar10", root=tmp_path, md5=md5)


def test_all_batches_empty_is_corrupt(tmp_path):
    # 2.45 (WEAK): "zero-size array to reduction operation minimum"
    empty = _pickle(_data([], n=0), 4)
    md5 = _archive(tmp_path / "cifar-10-python.tar.gz",
                   {**{f"data_batch_{i}": empty for i in range(1, 6)}, "test_batch": empty})
    with pytest.raises(CIFARCorrupt, match=r"holds 0 training and 0 test images"):
        cifar.load_cifar("cifar10", root=tmp_path, md5=md5)


def test_valid_tiny_archive_still_loads(tmp_path):
    md5 = _archive(tmp_path / "cifar-10-python.tar.gz", {})
    c = cifar.load_cifar("cifar10", root=tmp_path, md5=md5.upper())
    assert c.train_x.shape == (10, 3, 32, 32) and c.train_y.dtype == np.int64
    assert c.classes[:2] == ("c0", "c1")


# ------------------------------------------------------------------- shared checks
def test_checks_helpers():
    assert _checks.integer(np.int64(3), "k") == 3 and type(_checks.integer(np.int64(3), "k")) \
        is int
    with pytest.raises(TypeError, match=r"k must be an integer; got 3\.0 \(float\)"):
        _checks.integer(3.0, "k")
    with pytest.raises(ValueError, match="k must be an integer ≤ 2; got 3"):
        _checks.integer(3, "k", maximum=2)
    assert _checks.real(np.float32(0.5), "r") == 0.5
    assert _checks.real(np.array(2.0), "r") == 2.0
    with pytest.raises(TypeError, match="r must be a real number"):
        _checks.real(True, "r")
    with pytest.raises(ValueError, match="r must be > 0"):
        _checks.real(0, "r", minimum=0, strict=True)
    assert _checks.shape(torch.Size([2, 0]), "s") == (2, 0)

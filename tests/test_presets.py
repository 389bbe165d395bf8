"""Unit tests of ``freqlearn.presets``: preset choice, seeds, device."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from freqlearn import presets


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch):
    """Each test starts without BOOK_SEED/FREQLEARN_DEVICE (``make seeds`` sets the former)."""
    monkeypatch.delenv("BOOK_SEED", raising=False)
    monkeypatch.delenv("FREQLEARN_DEVICE", raising=False)


def test_default_is_quick(monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    p = presets.current()
    assert p.name == "quick" and p.seed == presets.SEEDS["quick"]
    assert presets.pick(quick=1, paper=2) == 1
    monkeypatch.setenv("BOOK_PRESET", "")
    assert presets.current().name == "quick"


def test_paper_preset(monkeypatch):
    monkeypatch.setenv("BOOK_PRESET", "paper")
    p = presets.current()
    assert p.name == "paper" and p.seed == presets.SEEDS["paper"]
    assert p.seed != presets.SEEDS["quick"]
    assert presets.pick(quick=1, paper=2) == 2
    assert p.pick(quick="a", paper="b") == "b"
    assert "paper" in str(p) and str(p.seed) in str(p)
    monkeypatch.setenv("BOOK_PRESET", " Paper ")
    assert presets.current().name == "paper"


@pytest.mark.parametrize("bad", ["fast", "full", "quick2"])
def test_bad_preset_names_allowed_values(monkeypatch, bad):
    monkeypatch.setenv("BOOK_PRESET", bad)
    with pytest.raises(ValueError, match="quick, paper") as e:
        presets.current()
    assert bad in str(e.value)
    with pytest.raises(ValueError, match="quick, paper"):
        presets.pick(quick=1, paper=2)


def _draws():
    return (torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random())


def test_seed_everything_repeats_draws(monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    assert presets.seed_everything(5) == 5
    a = _draws()
    presets.seed_everything(5)
    assert _draws() == a
    presets.seed_everything(6)
    assert _draws() != a
    assert presets.seed_everything() == presets.SEEDS["quick"]
    b = _draws()
    presets.seed_everything()
    assert _draws() == b


def test_rng_and_generator_follow_preset_and_offset(monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    assert presets.rng(3).random() == presets.rng(3).random()
    assert presets.rng(3).random() != presets.rng(4).random()
    g1, g2 = presets.generator(3), presets.generator(3)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))
    q = presets.rng(0).random()
    monkeypatch.setenv("BOOK_PRESET", "paper")
    assert presets.rng(0).random() != q


def test_device_honours_env(monkeypatch):
    monkeypatch.setenv("FREQLEARN_DEVICE", "cpu")
    assert presets.device() == torch.device("cpu")
    monkeypatch.setenv("FREQLEARN_DEVICE", "meta")
    assert presets.device() == torch.device("meta")
    monkeypatch.delenv("FREQLEARN_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert presets.device().type == expected
    assert "preset=quick" in presets.describe() or "preset=paper" in presets.describe()


# ------------------------------------------------------------ BOOK_SEED (issue 8, item 2)
def test_book_seed_overrides_the_preset_seed(monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    monkeypatch.delenv("BOOK_SEED", raising=False)
    default = presets.current()
    assert default.default_seed and str(default) == "preset `quick` (seed 20230302)"
    q_default = presets.rng(5).random()
    monkeypatch.setenv("BOOK_SEED", "11")
    p = presets.current()
    assert p == presets.Preset("quick", 11) and not p.default_seed
    assert str(p) == "preset `quick` (seed 11, BOOK_SEED)"
    assert "seed=11 (BOOK_SEED)" in presets.describe()
    # every draw made through the presets follows it
    assert presets.rng(5).random() == np.random.default_rng(16).random() != q_default
    assert torch.equal(torch.rand(3, generator=presets.generator(5)),
                       torch.rand(3, generator=torch.Generator().manual_seed(16)))
    assert presets.seed_everything() == 11
    a = _draws()
    presets.seed_everything(11)
    assert _draws() == a
    monkeypatch.setenv("BOOK_PRESET", "paper")
    assert presets.current() == presets.Preset("paper", 11)
    monkeypatch.setenv("BOOK_SEED", " 007 ")  # spaces and leading zeros are fine
    assert presets.current().seed == 7


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_book_seed_is_the_preset_seed(monkeypatch, empty):
    monkeypatch.setenv("BOOK_PRESET", "paper")
    monkeypatch.setenv("BOOK_SEED", empty)
    p = presets.current()
    assert p.seed == presets.SEEDS["paper"] and p.default_seed
    assert "BOOK_SEED" not in str(p) and "BOOK_SEED" not in presets.describe()


def test_book_seed_equal_to_the_default_is_default(monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    monkeypatch.setenv("BOOK_SEED", str(presets.SEEDS["quick"]))
    assert presets.current().default_seed


@pytest.mark.parametrize("bad", ["abc", "-1", "1.5", "1e3", "0x10", "+3", "1 2", "٣",
                                 str(2**63), "nan"])
def test_bad_book_seed_is_refused_naming_it(monkeypatch, bad):
    monkeypatch.setenv("BOOK_SEED", bad)
    for call in (presets.current, presets.rng, presets.generator, presets.seed_everything,
                 presets.describe):
        with pytest.raises(ValueError, match="BOOK_SEED") as e:
            call()
        assert repr(bad) in str(e.value)


def test_preset_checks_its_fields():
    with pytest.raises(ValueError, match="name must be one of quick, paper"):
        presets.Preset("fast", 1)
    with pytest.raises(TypeError, match="seed must be an integer; got 1.5"):
        presets.Preset("quick", 1.5)
    with pytest.raises(ValueError, match="seed must be an integer in 0..2\\*\\*63-1; got -1"):
        presets.Preset("quick", -1)


# ------------------------------------------------------- seeds and offsets (probe 4.34-4.40)
@pytest.mark.parametrize("seed,exc,match", [
    (1.9, TypeError, r"seed must be an integer; got 1\.9"),        # 4.36 BAD (was 1)
    (2.0, TypeError, r"seed must be an integer; got 2\.0"),
    (True, TypeError, r"seed must be an integer, not a bool"),
    ("abc", TypeError, r"seed must be an integer; got 'abc'"),     # 4.37
    ("5", TypeError, r"seed must be an integer; got '5'"),
    (2**70, ValueError, r"seed must be an integer in 0\.\.2\*\*63-1"),  # 4.35
    (-1, ValueError, r"seed must be an integer in 0\.\.2\*\*63-1; got -1"),  # 4.34
])
def test_seed_everything_refuses(seed, exc, match):
    with pytest.raises(exc, match=match):
        presets.seed_everything(seed)


def test_seed_everything_accepts_numpy_ints():
    assert presets.seed_everything(np.int64(5)) == 5
    a = _draws()
    presets.seed_everything(5)
    assert _draws() == a


@pytest.mark.parametrize("fn", [presets.rng, presets.generator])
@pytest.mark.parametrize("offset,exc,match", [
    ("x", TypeError, r"offset must be an integer; got 'x'"),           # 4.38
    (2.5, TypeError, r"offset must be an integer; got 2\.5"),
    (False, TypeError, r"offset must be an integer, not a bool"),
    (-10**9, ValueError, r"offset=-1000000000 gives .* use an offset ≥ -20230302"),  # 4.39/40
])
def test_offsets_checked(monkeypatch, fn, offset, exc, match):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    monkeypatch.delenv("BOOK_SEED", raising=False)
    with pytest.raises(exc, match=match):
        fn(offset)


def test_negative_offsets_allowed_while_seed_stays_non_negative(monkeypatch):
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    monkeypatch.setenv("BOOK_SEED", "10")
    assert presets.rng(-10).random() == np.random.default_rng(0).random()
    assert presets.rng(np.int64(-3)).random() == np.random.default_rng(7).random()
    presets.generator(-10)
    with pytest.raises(ValueError, match="offset=-11"):
        presets.generator(-11)


# ------------------------------------------------------- FREQLEARN_DEVICE (probe 4.13-4.33)
@pytest.mark.parametrize("value", ["cuda", "cuda:0", "cuda:3", "CUDA"])
def test_cuda_without_cuda_fails_at_once(monkeypatch, value):
    # 4.13-4.18, 4.31, 4.32: was accepted, failing later inside torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("FREQLEARN_DEVICE", value)
    with pytest.raises(ValueError, match=r"FREQLEARN_DEVICE=.*CUDA.*available here: cpu") as e:
        presets.device()
    assert repr(value) in str(e.value)
    with pytest.raises(ValueError, match="FREQLEARN_DEVICE"):
        presets.describe()


def test_cuda_index_beyond_the_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("FREQLEARN_DEVICE", "cuda:3")
    with pytest.raises(ValueError, match=r"FREQLEARN_DEVICE='cuda:3' .*device 3, but there "
                                         r"are 1; available here: cpu, cuda:0"):
        presets.device()
    monkeypatch.setenv("FREQLEARN_DEVICE", "cuda:0")
    assert presets.device() == torch.device("cuda:0")


@pytest.mark.parametrize("value", ["gpu", "garbage", "cuda:x", "ipu", "cpu:0:1"])
def test_unparsable_device_names_the_variable(monkeypatch, value):
    # 4.19-4.22 (torch's device-string error did not name the variable)
    monkeypatch.setenv("FREQLEARN_DEVICE", value)
    with pytest.raises(ValueError, match=r"FREQLEARN_DEVICE=.* is not a device freqlearn "
                                         r"runs on; use cpu, cuda"):
        presets.device()


def test_mps_without_mps(monkeypatch):
    # 4.25/4.26
    monkeypatch.setattr(presets, "_available", lambda: ["cpu"])
    monkeypatch.setenv("FREQLEARN_DEVICE", "mps")
    with pytest.raises(ValueError, match=r"FREQLEARN_DEVICE='mps' asks for Apple's MPS"):
        presets.device()


@pytest.mark.parametrize("value,expected", [(" cpu", "cpu"), ("CPU\n", "cpu"),
                                            ("meta", "meta")])
def test_device_value_is_stripped_and_lowercased(monkeypatch, value, expected):
    # 4.27/4.28: ' cpu' was "Invalid device string"
    monkeypatch.setenv("FREQLEARN_DEVICE", value)
    assert presets.device() == torch.device(expected)


@pytest.mark.parametrize("empty", ["", "  "])
def test_empty_device_is_automatic(monkeypatch, empty):
    monkeypatch.setenv("FREQLEARN_DEVICE", empty)
    assert presets.device().type == ("cuda" if torch.cuda.is_available() else "cpu")

"""Unit tests of ``freqlearn.presets``: preset choice, seeds, device."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from freqlearn import presets


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

"""Presets, seeds and device choice (DESIGN.md §3; used by every notebook's first cells).

The book runs at one of two presets, chosen by the environment variable ``BOOK_PRESET``:

- ``quick`` (default): reduced sizes, trials and steps so that the whole book runs on two
  CPU cores without network; every claim is still tested.
- ``paper``: the papers' own hyperparameters; uses a GPU when one is present and real
  datasets where they can be had.

Each preset has one seed, so the same preset gives the same numbers twice.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

PRESETS = ("quick", "paper")
SEEDS = {"quick": 20230302, "paper": 20220601}


@dataclass(frozen=True)
class Preset:
    """The active preset: its ``name`` and its ``seed``."""

    name: str
    seed: int

    def pick(self, *, quick, paper):
        """Return ``quick`` or ``paper`` according to this preset."""
        return quick if self.name == "quick" else paper

    def __str__(self) -> str:  # used in figure captions
        return f"preset `{self.name}` (seed {self.seed})"


def current() -> Preset:
    """The preset named by ``BOOK_PRESET`` (default ``quick``).

    Raises ``ValueError`` naming the allowed values when the variable holds anything else.
    """
    name = os.environ.get("BOOK_PRESET", "quick").strip().lower() or "quick"
    if name not in PRESETS:
        raise ValueError(
            f"BOOK_PRESET={name!r} is not a preset; use one of {', '.join(PRESETS)}"
        )
    return Preset(name=name, seed=SEEDS[name])


def pick(*, quick, paper):
    """The value for the active preset: ``pick(quick=2000, paper=8000)``."""
    return current().pick(quick=quick, paper=paper)


def seed_everything(seed: int | None = None) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA); return the seed used.

    With no argument, the active preset's seed is used.
    """
    if seed is None:
        seed = current().seed
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


def rng(offset: int = 0) -> np.random.Generator:
    """A NumPy generator seeded by the active preset's seed plus ``offset``.

    Notebooks pass a distinct ``offset`` per experiment so experiments do not share streams.
    """
    return np.random.default_rng(current().seed + int(offset))


def generator(offset: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator seeded like :func:`rng`."""
    g = torch.Generator(device=device)
    g.manual_seed(current().seed + int(offset))
    return g


def device() -> torch.device:
    """CUDA when a GPU is present, else CPU (override with ``FREQLEARN_DEVICE``)."""
    forced = os.environ.get("FREQLEARN_DEVICE")
    if forced:
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe() -> str:
    """One line for a notebook's first output: preset, seed, device, torch threads."""
    p = current()
    return (
        f"preset={p.name} seed={p.seed} device={device()} "
        f"torch={torch.__version__} threads={torch.get_num_threads()}"
    )

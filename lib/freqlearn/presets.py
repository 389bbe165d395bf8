"""Presets, seeds and device choice (DESIGN.md §3; used by every notebook's first cells).

The book runs at one of two presets, chosen by the environment variable ``BOOK_PRESET``:

- ``quick`` (default): reduced sizes, trials and steps so that the whole book runs on two
  CPU cores without network; every claim is still tested.
- ``paper``: the papers' own hyperparameters; uses a GPU when one is present and real
  datasets where they can be had.

Each preset has one seed (:data:`SEEDS`), so the same preset gives the same numbers twice.
``BOOK_SEED`` (a non-negative decimal integer; unset or empty = the preset's own seed)
overrides it for every random draw made through :func:`seed_everything`, :func:`rng` and
:func:`generator`, so a verdict can be checked at other seeds (``BOOK_SEED=11 make book``).
Anything else in ``BOOK_SEED`` is refused with a ``ValueError`` naming it.

``FREQLEARN_DEVICE`` forces the torch device (``cpu``, ``cuda``, ``cuda:N``, ``mps`` or
``meta``; case and surrounding spaces are ignored; unset or empty = CUDA when present, else
CPU). A device this machine does not have is refused at once by :func:`device`, naming the
variable, its value and the devices that are available.

Seeds are integers in ``0 .. 2**63 - 1`` (:data:`MAX_SEED`); floats, bools and strings are
refused rather than truncated.
"""

from __future__ import annotations

import contextlib
import operator
import os
import random
import re
from dataclasses import dataclass

import numpy as np
import torch

PRESETS = ("quick", "paper")
SEEDS = {"quick": 20230302, "paper": 20220601}
#: the largest seed accepted (torch's generators take 64-bit seeds)
MAX_SEED = 2**63 - 1


def _int(value, name: str) -> int:
    """``value`` as an ``int``: Python/NumPy integers only (no bool, float or str)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, not a bool; got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {value!r} "
                        f"({type(value).__name__})") from None


def _seed(value, name: str = "seed") -> int:
    v = _int(value, name)
    if not 0 <= v <= MAX_SEED:
        raise ValueError(f"{name} must be an integer in 0..2**63-1; got {v}")
    return v


@dataclass(frozen=True)
class Preset:
    """The active preset: its ``name`` and its ``seed`` (``BOOK_SEED`` or ``SEEDS[name]``)."""

    name: str
    seed: int

    def __post_init__(self):
        if self.name not in PRESETS:
            raise ValueError(f"name must be one of {', '.join(PRESETS)}; got {self.name!r}")
        _seed(self.seed)

    @property
    def default_seed(self) -> bool:
        """Whether the seed is the preset's own (``SEEDS[name]``), i.e. not overridden."""
        return self.seed == SEEDS[self.name]

    def pick(self, *, quick, paper):
        """Return ``quick`` or ``paper`` according to this preset."""
        return quick if self.name == "quick" else paper

    def __str__(self) -> str:  # used in figure captions
        src = "" if self.default_seed else ", BOOK_SEED"
        return f"preset `{self.name}` (seed {self.seed}{src})"


def _book_seed() -> int | None:
    """``BOOK_SEED`` as an int, ``None`` when unset or empty; ``ValueError`` otherwise."""
    raw = os.environ.get("BOOK_SEED", "")
    text = raw.strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]+", text, flags=re.ASCII) or int(text) > MAX_SEED:
        raise ValueError(f"BOOK_SEED={raw!r} is not a seed; use a non-negative decimal "
                         f"integer up to 2**63-1 (e.g. BOOK_SEED=11), or leave it empty for "
                         f"the preset's own seed")
    return int(text)


def current() -> Preset:
    """The preset named by ``BOOK_PRESET`` (default ``quick``), seeded by ``BOOK_SEED``.

    Raises ``ValueError`` naming the variable and the allowed values when ``BOOK_PRESET``
    or ``BOOK_SEED`` holds anything else.
    """
    name = os.environ.get("BOOK_PRESET", "quick").strip().lower() or "quick"
    if name not in PRESETS:
        raise ValueError(
            f"BOOK_PRESET={name!r} is not a preset; use one of {', '.join(PRESETS)}"
        )
    seed = _book_seed()
    return Preset(name=name, seed=SEEDS[name] if seed is None else seed)


def pick(*, quick, paper):
    """The value for the active preset: ``pick(quick=2000, paper=8000)``."""
    return current().pick(quick=quick, paper=paper)


def seed_everything(seed: int | None = None) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA); return the seed used.

    With no argument, the active preset's seed (``BOOK_SEED`` when set) is used. ``seed``
    must be an integer in ``0 .. 2**63 - 1``.
    """
    seed = current().seed if seed is None else _seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed


def _offset_seed(offset, what: str) -> int:
    off = _int(offset, "offset")
    base = current().seed
    s = base + off
    if not 0 <= s <= MAX_SEED:
        raise ValueError(f"offset={off} gives {what} the seed {base} + {off} = {s}, outside "
                         f"0..2**63-1; use an offset ≥ {-base}")
    return s


def rng(offset: int = 0) -> np.random.Generator:
    """A NumPy generator seeded by the active preset's seed plus ``offset``.

    Notebooks pass a distinct ``offset`` per experiment so experiments do not share streams.
    ``offset`` is an integer; it may be negative as long as the sum stays ≥ 0.
    """
    return np.random.default_rng(_offset_seed(offset, "rng"))


def generator(offset: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator seeded like :func:`rng`."""
    s = _offset_seed(offset, "generator")
    try:
        g = torch.Generator(device=device)
    except (RuntimeError, TypeError, ValueError) as e:
        raise ValueError(f"device={device!r} cannot hold a torch generator here (available: "
                         f"{', '.join(_available())}): {str(e).splitlines()[0]}") from None
    g.manual_seed(s)
    return g


def _available() -> list[str]:
    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def check_device(value, name: str = "device") -> torch.device:
    """``value`` (a ``torch.device`` or its name) as a device this machine has and that holds
    data: the meta device, absent CUDA devices and MPS where there is none are refused with
    a ``ValueError`` naming ``name`` and the devices available here."""
    here = ", ".join(_available())
    try:
        d = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must be a torch device or its name (cpu, cuda, cuda:N, "
                         f"mps); got {value!r} (available here: {here})") from None
    if d.type == "meta":
        raise ValueError(f"{name} 'meta' holds no data: use a real device (available here: "
                         f"{here})")
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} {str(d)!r}: this torch ({torch.__version__}) sees no "
                             f"CUDA device (available here: {here})")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise ValueError(f"{name} {str(d)!r}: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    elif d.type == "mps" and "mps" not in _available():
        raise ValueError(f"{name} {str(d)!r}: MPS is not available here (available here: "
                         f"{here})")
    elif d.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} must be cpu, cuda or mps; got {value!r}")
    return d


def device() -> torch.device:
    """CUDA when a GPU is present, else CPU (override with ``FREQLEARN_DEVICE``).

    A forced device that cannot be parsed, or that this machine does not have, raises
    ``ValueError`` naming ``FREQLEARN_DEVICE``, its value and the available devices.
    """
    raw = os.environ.get("FREQLEARN_DEVICE", "")
    forced = raw.strip().lower()
    if not forced:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    here = ", ".join(_available())
    try:
        d = torch.device(forced)
    except (RuntimeError, ValueError):
        d = None
    if d is None or d.type not in ("cpu", "cuda", "mps", "meta"):
        raise ValueError(f"FREQLEARN_DEVICE={raw!r} is not a device freqlearn runs on; use "
                         f"cpu, cuda, cuda:N, mps or meta, or leave it empty for the "
                         f"automatic choice (available here: {here})")
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"FREQLEARN_DEVICE={raw!r} asks for CUDA, but this torch "
                             f"({torch.__version__}) sees no CUDA device; available here: "
                             f"{here}. Unset FREQLEARN_DEVICE or set it to one of those.")
        n = torch.cuda.device_count()
        if d.index is not None and d.index >= n:
            raise ValueError(f"FREQLEARN_DEVICE={raw!r} asks for CUDA device {d.index}, but "
                             f"there are {n}; available here: {here}")
    if d.type == "mps" and "mps" not in _available():
        raise ValueError(f"FREQLEARN_DEVICE={raw!r} asks for Apple's MPS, which this machine "
                         f"does not have; available here: {here}")
    return d


def describe() -> str:
    """One line for a notebook's first output: preset, seed, device, torch threads."""
    p = current()
    src = "" if p.default_seed else " (BOOK_SEED)"
    return (
        f"preset={p.name} seed={p.seed}{src} device={device()} "
        f"torch={torch.__version__} threads={torch.get_num_threads()}"
    )


@contextlib.contextmanager
def threads(n: int = 1):
    """Run torch and the BLAS of numpy/scipy on ``n`` threads inside the block (restored after).

    The chapters' networks are small (a few thousand weights per trial): on a shared two-core
    machine a second thread buys nothing and, when the other core is busy, stalls every
    parallel region. A run-time setting, so it lives here: theory, nets and the training loop
    all use it (``freqlearn.train.threads`` is the same function).
    """
    n = _int(n, "n")
    if n < 1:
        raise ValueError(f"n must be an integer ≥ 1; got {n}")
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(n)
    try:
        with limits:
            yield
    finally:
        torch.set_num_threads(old)


# ---- what a run reused from disk (recorded with its claims) --------------------------------
_REUSED: list[str] = []


def note_reused(what: str) -> None:
    """Record that this process restored ``what`` (a training checkpoint, a saved sweep point)
    instead of computing it, so that a recorded run's wall time can be read for what it is:
    :meth:`freqlearn.claims.Claims.write` puts the list in the ``.run.json`` and
    ``record-paper`` copies it into the record's provenance."""
    _REUSED.append(str(what))


def reused() -> list[str]:
    """What this process has restored from disk so far (see :func:`note_reused`)."""
    return list(_REUSED)

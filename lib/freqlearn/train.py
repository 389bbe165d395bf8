"""One training API for the book (DESIGN.md §1 ``train.py``; toolkit chapter, all chapters).

Every experiment is a *step function* run for an explicit *budget* of updates::

    rec = fl.train.Recorder({"loss": lambda: loss_now()}, steps=fl.train.log_steps(8000, 60))
    fl.train.run(step, budget=8000, recorder=rec, state={"k": k, "W": W},
                 checkpoint="runs/p3.pt")           # resumes from the file if present
    rec.history["loss"]                              # (len(steps), ...) array

- ``step(t)`` performs update number ``t`` (0-based) in place on the state; trials are
  batched along a leading axis of the state tensors (DEVELOPERS habit 6), so one call
  updates every trial.
- The recorder samples its metrics *before* update 0 (step 0) and after the updates named
  in ``steps``: ``steps`` counts updates done.
- ``checkpoint`` saves the state, the recorder, the step count and the RNG states
  atomically every ``checkpoint_every`` updates and at the end; a re-run resumes where it
  stopped and gives the same numbers as an uninterrupted run.
- A tqdm bar shows progress unless ``FREQLEARN_PROGRESS=0`` (the Makefile sets it for the
  test and book builds, so nbval and the HTML stay quiet).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

__all__ = ["Recorder", "log_steps", "lin_steps", "run", "progress_enabled", "batched_normal",
           "threads"]


def progress_enabled() -> bool:
    """Whether progress bars are shown (``FREQLEARN_PROGRESS`` unset or not ``0``)."""
    return os.environ.get("FREQLEARN_PROGRESS", "1") not in ("0", "false", "no")


def log_steps(budget: int, n: int = 50) -> np.ndarray:
    """About ``n`` recording steps in ``[0, budget]``, log-spaced, always with 0 and budget."""
    budget = int(budget)
    if budget < 1 or n < 2:
        raise ValueError(f"need budget ≥ 1 and n ≥ 2; got budget={budget}, n={n}")
    s = np.unique(np.round(np.geomspace(1, budget, n - 1)).astype(int))
    return np.concatenate([[0], s])


def lin_steps(budget: int, n: int = 50) -> np.ndarray:
    """About ``n`` evenly spaced recording steps in ``[0, budget]``, with 0 and budget."""
    budget = int(budget)
    if budget < 1 or n < 2:
        raise ValueError(f"need budget ≥ 1 and n ≥ 2; got budget={budget}, n={n}")
    return np.unique(np.round(np.linspace(0, budget, n)).astype(int))


def _to_numpy(v):
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy().copy()
    return np.array(v, copy=True)


class Recorder:
    """Samples named metrics at chosen steps (numbers of updates done)."""

    def __init__(self, metrics: dict[str, Callable[[], object]], steps: Iterable[int]):
        if not metrics:
            raise ValueError("a Recorder needs at least one metric")
        self.metrics = dict(metrics)
        steps = np.asarray(sorted(set(int(s) for s in steps)))
        if steps.size == 0 or steps[0] < 0:
            raise ValueError("steps must be non-negative integers")
        self.steps = steps
        self._want = set(steps.tolist())
        self.recorded: list[int] = []
        self._values: dict[str, list] = {k: [] for k in self.metrics}

    def __call__(self, t: int) -> None:
        if t in self._want and (not self.recorded or self.recorded[-1] < t):
            with torch.no_grad():
                for k, fn in self.metrics.items():
                    self._values[k].append(_to_numpy(fn()))
            self.recorded.append(t)

    @property
    def t(self) -> np.ndarray:
        """The steps recorded so far."""
        return np.asarray(self.recorded)

    @property
    def history(self) -> dict[str, np.ndarray]:
        """``{metric: array of shape (len(t), ...)}``."""
        return {k: np.stack(v) if v else np.empty(0) for k, v in self._values.items()}

    def state_dict(self) -> dict:
        return {"recorded": list(self.recorded), "values": self._values}

    def load_state_dict(self, d: dict) -> None:
        self.recorded = list(d["recorded"])
        self._values = {k: list(d["values"][k]) for k in self.metrics}


def batched_normal(n_trials: int, shape, std: float, *, generator: torch.Generator,
                   dtype=torch.float64, device=None) -> torch.Tensor:
    """``n_trials`` independent N(0, std²) initialisations stacked on a leading axis."""
    return std * torch.randn((int(n_trials), *shape), generator=generator, dtype=dtype,
                             device=device)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def _set_rng_state(d: dict) -> None:
    torch.set_rng_state(d["torch"])
    np.random.set_state(d["numpy"])
    random.setstate(d["python"])


def _state_items(state) -> dict:
    if state is None:
        return {}
    if isinstance(state, torch.nn.Module):
        return {"module": state}
    if not isinstance(state, dict):
        raise TypeError("state must be a dict of tensors/modules/optimizers or a Module")
    return state


def _save(path: Path, t: int, state, recorder, extra_rng) -> None:
    blob = {"t": t, "rng": _rng_state(), "extra_rng": extra_rng, "state": {},
            "recorder": recorder.state_dict() if recorder is not None else None}
    for k, v in _state_items(state).items():
        blob["state"][k] = v.state_dict() if hasattr(v, "state_dict") else v.detach().clone()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def _load(path: Path, state, recorder, generators) -> int:
    blob = torch.load(path, weights_only=False)
    for k, v in _state_items(state).items():
        if k not in blob["state"]:
            raise ValueError(f"checkpoint {path} has no state {k!r}; delete it to start over")
        if hasattr(v, "load_state_dict"):
            v.load_state_dict(blob["state"][k])
        else:
            with torch.no_grad():
                v.copy_(blob["state"][k])
    if recorder is not None and blob["recorder"] is not None:
        recorder.load_state_dict(blob["recorder"])
    _set_rng_state(blob["rng"])
    if len(generators) != len(blob["extra_rng"]):
        raise ValueError(f"checkpoint {path} saved {len(blob['extra_rng'])} generators; "
                         f"this run passes {len(generators)}")
    for g, s in zip(generators, blob["extra_rng"], strict=True):
        g.set_state(s)
    return int(blob["t"])


def run(step: Callable[[int], object], budget: int, *, recorder: Recorder | None = None,
        state=None, generators: Iterable[torch.Generator] = (),
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        desc: str = "training", progress: bool | None = None) -> Recorder | None:
    """Run ``step(t)`` for ``t = 0 … budget-1``; record, checkpoint and show progress.

    ``generators``: torch generators the step function draws from; their states are saved
    in checkpoints so a resumed run draws the same samples.
    Returns the recorder (also filled in place).
    """
    budget = int(budget)
    if budget < 0:
        raise ValueError(f"budget must be ≥ 0; got {budget}")
    generators = list(generators)
    path = Path(checkpoint) if checkpoint is not None else None
    t0 = 0
    if path is not None and path.exists():
        t0 = _load(path, state, recorder, generators)
    if path is not None and checkpoint_every is None:
        checkpoint_every = max(budget // 10, 1)
    if recorder is not None and t0 == 0:
        recorder(0)
    show = progress_enabled() if progress is None else progress
    bar = None
    if show and budget > t0:
        from tqdm.auto import tqdm

        bar = tqdm(total=budget, initial=t0, desc=desc, mininterval=0.5)
    try:
        for t in range(t0, budget):
            step(t)
            if recorder is not None:
                recorder(t + 1)
            if bar is not None:
                bar.update(1)
            if path is not None and ((t + 1) % checkpoint_every == 0 or t + 1 == budget):
                _save(path, t + 1, state, recorder, [g.get_state() for g in generators])
    finally:
        if bar is not None:
            bar.close()
    return recorder


@contextlib.contextmanager
def threads(n: int = 1):
    """Run torch and the BLAS of numpy/scipy on ``n`` threads inside the block (restored after).

    The chapters' networks are small (a few thousand weights per trial): on a shared two-core
    machine a second thread buys nothing and, when the other core is busy, stalls every
    parallel region. Used by the training loops of Pinson et al. and Ingrosso & Goldt.
    """
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

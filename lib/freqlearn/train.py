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
  atomically (:func:`freqlearn.store.save_torch`: a unique temporary file, fsync, rename)
  every ``checkpoint_every`` updates and at the end; a re-run resumes where it stopped and
  gives the same numbers as an uninterrupted run.
- A tqdm bar shows progress unless ``FREQLEARN_PROGRESS=0`` (the Makefile sets it for the
  test and book builds, so nbval and the HTML stay quiet).

Checkpoint format (``FORMAT_VERSION`` 2)
    A ``torch.save`` file holding only tensors and plain ``dict``/``list``/``int``/``float``/
    ``str``/``None``, read back with ``torch.load(..., weights_only=True)``: a checkpoint can
    never run code. Keys: ``format``, ``format_version``, ``fingerprint``, ``t`` (updates
    done), ``rng`` (torch as a byte tensor; NumPy's MT19937 as ``kind``/``keys``/``pos``/
    ``has_gauss``/``cached_gaussian``; Python's ``random`` as ``version``/``internal``/
    ``gauss_next``), ``generators`` (byte tensors), ``state`` (tensors and ``state_dict``\\ s)
    and ``recorder`` (steps recorded; every value as ``dtype``/``shape``/raw bytes, so it
    comes back bit-identical).

Fingerprint
    What makes a checkpoint *this* run's: ``name`` (``run(name=…)``, default ``desc``),
    ``preset`` and ``seed`` (of :func:`set_context`, ``None`` without one), ``budget``, every
    state entry's type, dtype, shape and device, the recorder's metric names and steps, the
    number and devices of the generators and a digest of their states at the start of the
    run, the caller's ``fingerprint=`` values, the freqlearn version and the format version,
    and (``runners``) the module, name and argument digest of every runner that resolved
    the path with :func:`resolve_checkpoint` — for an explicit path as for an automatic one.
    Before anything of the caller's is touched (state, recorder, global RNGs, generators), the
    whole file is read and checked: a difference raises :class:`CheckpointMismatch` naming the
    file, each field (saved vs now) and the fix; an unreadable or malformed file raises
    :class:`CheckpointCorrupt`. Nothing is ever cast or broadcast.

Automatic checkpoints
    :func:`set_context` (called by :func:`freqlearn.notebook.start`) names the notebook,
    preset and seed; :func:`checkpoint_path` then gives
    ``<root>/<preset>-seed<seed>/<notebook>/<name>.pt``, with ``<root>`` = ``FREQLEARN_CHECKPOINTS``
    (``~`` expanded; empty = default), else ``<book root>/_build/checkpoints``, else
    ``~/.cache/freqlearn/checkpoints``. Checkpointing is on for the ``paper`` preset, or
    everywhere with ``FREQLEARN_CHECKPOINT=always`` (notebook ``_interactive`` without a
    context), and off with ``FREQLEARN_CHECKPOINT=off``. The experiment runners of
    :mod:`freqlearn.nets` take ``checkpoint=None`` (automatic: :func:`resolve_checkpoint`,
    a file per runner and per :func:`digest` of its arguments), a path, or ``False`` (none).
"""

from __future__ import annotations

import math
import numbers
import os
import random
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import torch

from . import presets, store

__all__ = ["Recorder", "log_steps", "lin_steps", "run", "progress_enabled", "batched_normal",
           "threads", "CheckpointError", "CheckpointMismatch", "CheckpointCorrupt",
           "set_context", "clear_context", "context", "checkpointing", "checkpoint_root",
           "checkpoint_path", "resolve_checkpoint", "digest", "read_checkpoint",
           "FORMAT_VERSION"]

FORMAT = "freqlearn.train checkpoint"
FORMAT_VERSION = 2


class CheckpointError(store.StoreError):
    """A checkpoint file that cannot be resumed (base of the two below)."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint belongs to another run (its fingerprint differs from this run's)."""


class CheckpointCorrupt(CheckpointError):
    """The checkpoint file is unreadable, truncated, malformed or not a freqlearn checkpoint."""


# ------------------------------------------------------------------------ input checks
def _int(name: str, v, *, lo: int | None = None) -> int:
    """``v`` as an int: ints and NumPy integers only (no bool, no float), ``≥ lo``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(v).__name__} {v!r}")
    v = int(v)
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be an integer ≥ {lo}; got {v}")
    return v


def progress_enabled() -> bool:
    """Whether progress bars are shown (``FREQLEARN_PROGRESS`` unset or not ``0``)."""
    return os.environ.get("FREQLEARN_PROGRESS", "1") not in ("0", "false", "no")


def _steps_args(budget, n):
    budget = _int("budget", budget)
    n = _int("n", n)
    if budget < 1 or n < 2:
        raise ValueError(f"need budget ≥ 1 and n ≥ 2; got budget={budget}, n={n}")
    return budget, n


def log_steps(budget: int, n: int = 50) -> np.ndarray:
    """About ``n`` recording steps in ``[0, budget]``, log-spaced, always with 0 and budget."""
    budget, n = _steps_args(budget, n)
    s = np.unique(np.round(np.geomspace(1, budget, n - 1)).astype(int))
    return np.concatenate([[0], s])


def lin_steps(budget: int, n: int = 50) -> np.ndarray:
    """About ``n`` evenly spaced recording steps in ``[0, budget]``, with 0 and budget."""
    budget, n = _steps_args(budget, n)
    return np.unique(np.round(np.linspace(0, budget, n)).astype(int))


# ------------------------------------------------------------------------ recorder
def _to_numpy(v):
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy().copy()
    return np.array(v, copy=True)


def _encode_array(a: np.ndarray, what: str) -> dict:
    """A NumPy array as plain data (dtype string, shape, raw bytes): exact and pickle-free."""
    if a.dtype.hasobject:
        raise TypeError(f"{what} is an object array ({a.dtype}); metrics must return numbers "
                        "or arrays/tensors of numbers")
    raw = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": torch.from_numpy(raw.copy())}


def _decode_array(d, what: str) -> np.ndarray:
    if not (isinstance(d, dict) and set(d) == {"dtype", "shape", "data"}):
        raise ValueError(f"{what} is not an encoded array")
    try:
        dt = np.dtype(d["dtype"]) if isinstance(d["dtype"], str) else None
    except TypeError:
        dt = None
    shape = d["shape"]
    data = d["data"]
    if dt is None or dt.hasobject:
        raise ValueError(f"{what} has an unusable dtype {d['dtype']!r}")
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise ValueError(f"{what} has a malformed shape {shape!r}")
    if not (isinstance(data, torch.Tensor) and data.dtype == torch.uint8 and data.dim() == 1
            and data.numel() == math.prod(shape) * dt.itemsize):
        raise ValueError(f"{what} has {getattr(data, 'shape', '?')} bytes for {dt} {shape}")
    return np.frombuffer(data.numpy().tobytes(), dtype=dt).reshape(shape).copy()


class Recorder:
    """Samples named metrics at chosen steps (numbers of updates done)."""

    def __init__(self, metrics: Mapping[str, Callable[[], object]], steps: Iterable[int]):
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a dict name → callable; got "
                            f"{type(metrics).__name__}")
        if not metrics:
            raise ValueError("a Recorder needs at least one metric")
        for k, fn in metrics.items():
            if not isinstance(k, str) or not callable(fn):
                raise TypeError(f"metrics must map names (str) to callables; got {k!r}: "
                                f"{type(fn).__name__}")
        self.metrics = dict(metrics)
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
            raise TypeError(f"steps must be an iterable of integers ≥ 0; got "
                            f"{type(steps).__name__}")
        steps = list(np.asarray(steps).reshape(-1)) if isinstance(steps, np.ndarray) \
            else list(steps)
        if not steps:
            raise ValueError("steps must be non-negative integers; got no steps")
        clean = set()
        for s in steps:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise TypeError(f"steps must be non-negative integers; got "
                                f"{type(s).__name__} {s!r}")
            if s < 0:
                raise ValueError(f"steps must be non-negative integers; got {int(s)}")
            clean.add(int(s))
        self.steps = np.asarray(sorted(clean))
        self._want = set(self.steps.tolist())
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
        """Plain data (lists, ints, str, uint8 tensors): safe for ``weights_only`` loading."""
        return {"recorded": [int(s) for s in self.recorded],
                "values": {k: [_encode_array(a, f"metric {k!r} at step {s}")
                               for a, s in zip(v, self.recorded, strict=True)]
                           for k, v in self._values.items()}}

    def _decode(self, d, upto: int | None = None) -> tuple[list[int], dict[str, list]]:
        """Check and decode a :meth:`state_dict` completely; raises ``ValueError``."""
        if not (isinstance(d, dict) and set(d) == {"recorded", "values"}):
            raise ValueError("the recorder state is not a Recorder.state_dict()")
        rec = d["recorded"]
        if not (isinstance(rec, list) and all(type(s) is int for s in rec)
                and all(a < b for a, b in zip(rec, rec[1:], strict=False))
                and set(rec) <= self._want and (upto is None or not rec or rec[-1] <= upto)):
            raise ValueError(f"the recorded steps {rec!r} are not increasing steps of this "
                             "recorder" + ("" if upto is None else f" up to {upto}"))
        vals = d["values"]
        if not (isinstance(vals, dict) and set(vals) == set(self.metrics)):
            got = sorted(vals) if isinstance(vals, dict) else type(vals).__name__
            raise ValueError(f"the recorder state has metrics {got}, this recorder "
                             f"{sorted(self.metrics)}")
        out = {}
        for k in self.metrics:
            v = vals[k]
            if not (isinstance(v, list) and len(v) == len(rec)):
                raise ValueError(f"metric {k!r} has {len(v) if isinstance(v, list) else '?'} "
                                 f"values for {len(rec)} recorded steps")
            out[k] = [_decode_array(a, f"metric {k!r} value {i}") for i, a in enumerate(v)]
        return list(rec), out

    def load_state_dict(self, d: dict) -> None:
        """Restore from :meth:`state_dict`; checks everything before changing anything."""
        self.recorded, self._values = self._decode(d)


def batched_normal(n_trials: int, shape, std: float, *, generator: torch.Generator,
                   dtype=torch.float64, device=None) -> torch.Tensor:
    """``n_trials`` independent N(0, std²) initialisations stacked on a leading axis."""
    n_trials = _int("n_trials", n_trials, lo=1)
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list, torch.Size)):
        raise TypeError(f"shape must be a tuple of integers ≥ 0; got {type(shape).__name__}")
    shape = tuple(_int("shape entry", s, lo=0) for s in shape)
    if isinstance(std, bool) or not isinstance(std, numbers.Real) or not (
            math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be a finite real ≥ 0; got {std!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
    return std * torch.randn((n_trials, *shape), generator=generator, dtype=dtype,
                             device=device)


# ------------------------------------------------------------------------ RNG states
def _rng_state() -> dict:
    """The global RNG states as plain data (no NumPy objects: ``weights_only``-safe)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"torch": torch.get_rng_state(),
            "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)),
                      "pos": int(pos), "has_gauss": int(has_gauss),
                      "cached_gaussian": float(cached)},
            "python": {"version": int(version), "internal": [int(x) for x in internal],
                       "gauss_next": gauss_next}}


def _check_rng_state(d) -> tuple:
    """Validate a saved :func:`_rng_state`; return ``(torch, numpy tuple, python tuple)``."""
    if not (isinstance(d, dict) and set(d) == {"torch", "numpy", "python"}):
        raise ValueError("the RNG state is malformed")
    ts, ns, ps = d["torch"], d["numpy"], d["python"]
    cur = torch.get_rng_state()
    if not (isinstance(ts, torch.Tensor) and ts.dtype == torch.uint8 and ts.shape == cur.shape):
        raise ValueError("the torch RNG state is malformed")
    if not (isinstance(ns, dict) and ns.get("kind") == "MT19937"
            and isinstance(ns.get("keys"), torch.Tensor) and ns["keys"].shape == (624,)
            and type(ns.get("pos")) is int and 0 <= ns["pos"] <= 624
            and type(ns.get("has_gauss")) is int and type(ns.get("cached_gaussian")) is float
            and int(ns["keys"].min()) >= 0 and int(ns["keys"].max()) < 2**32):
        raise ValueError("the NumPy RNG state is malformed")
    nstate = ("MT19937", ns["keys"].numpy().astype(np.uint32), ns["pos"], ns["has_gauss"],
              ns["cached_gaussian"])
    gn = ps.get("gauss_next") if isinstance(ps, dict) else 0
    if not (isinstance(ps, dict) and type(ps.get("version")) is int
            and isinstance(ps.get("internal"), list) and len(ps["internal"]) == 625
            and all(type(x) is int for x in ps["internal"])
            and (gn is None or type(gn) is float)):
        raise ValueError("the Python random state is malformed")
    pstate = (ps["version"], tuple(ps["internal"]), gn)
    return ts, nstate, pstate


def _set_rng_state(checked: tuple) -> None:
    ts, nstate, pstate = checked
    torch.set_rng_state(ts)
    np.random.set_state(nstate)
    random.setstate(pstate)


# ------------------------------------------------------------------------ digest
#: a short stable hash of arguments (one home: :func:`freqlearn.store.digest`)
digest = store.digest


# ------------------------------------------------------------------------ context, paths
_context: dict | None = None
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=-]*")


def _check_name(what: str, v, *, slashes: bool) -> str:
    if not isinstance(v, str):
        raise TypeError(f"{what} must be a string; got {type(v).__name__}")
    parts = v.split("/") if slashes else [v]
    if not v or not all(_PART.fullmatch(p) for p in parts):
        raise ValueError(f"{what} must be {'/-separated ' if slashes else ''}names of letters, "
                         f"digits and _.+=- (not starting with . or -); got {v!r}")
    return v


def set_context(notebook: str, preset: str, seed: int) -> None:
    """Name the notebook, preset and seed that automatic checkpoints belong to.

    Called by :func:`freqlearn.notebook.start`; ``notebook`` is like ``"pinson2023/cosines"``.
    """
    global _context
    notebook = _check_name("notebook", notebook, slashes=True)
    preset = _check_name("preset", preset, slashes=False)
    seed = _int("seed", seed, lo=0)
    _context = {"notebook": notebook, "preset": preset, "seed": seed}


def clear_context() -> None:
    """Forget the notebook context (automatic checkpoints off unless ``always``)."""
    global _context
    _context = None


def context() -> dict | None:
    """The current ``{"notebook", "preset", "seed"}`` or ``None``."""
    return None if _context is None else dict(_context)


def _checkpoint_mode() -> str:
    v = os.environ.get("FREQLEARN_CHECKPOINT", "").strip().lower() or "auto"
    if v not in ("auto", "always", "off"):
        raise ValueError(f"FREQLEARN_CHECKPOINT={v!r} is not a mode; use auto (paper preset "
                         "only, the default), always or off")
    return v


def checkpointing() -> bool:
    """Whether automatic checkpoints are on: ``paper`` preset context, or
    ``FREQLEARN_CHECKPOINT=always``; never with ``FREQLEARN_CHECKPOINT=off``."""
    mode = _checkpoint_mode()
    if mode != "auto":
        return mode == "always"
    return _context is not None and _context["preset"] == "paper"


def checkpoint_root() -> Path:
    """``FREQLEARN_CHECKPOINTS`` (``~`` expanded), else ``<book root>/_build/checkpoints``,
    else ``~/.cache/freqlearn/checkpoints``."""
    env = os.environ.get("FREQLEARN_CHECKPOINTS", "").strip()
    if env:
        return Path(env).expanduser().absolute()
    from .claims import repo_root

    root = repo_root()
    if root is not None:
        return Path(root) / "_build" / "checkpoints"
    return Path("~/.cache/freqlearn/checkpoints").expanduser()


def checkpoint_path(name: str) -> Path | None:
    """``<root>/<preset>-seed<seed>/<notebook>/<name>.pt`` when checkpointing is on, else None.

    Without a context (no :func:`freqlearn.notebook.start`) only ``FREQLEARN_CHECKPOINT=always``
    gives a path, under the notebook name ``_interactive`` and the active preset.
    """
    name = _check_name("checkpoint name", name, slashes=False)
    if not checkpointing():
        return None
    ctx = _context
    if ctx is None:
        from . import presets

        p = presets.current()
        ctx = {"notebook": "_interactive", "preset": p.name, "seed": p.seed}
    return (checkpoint_root() / f"{ctx['preset']}-seed{ctx['seed']}" / ctx["notebook"]
            / f"{name}.pt")


#: what each runner that resolved a checkpoint path was called with, by path: ``run`` adds
#: the entry of its path to the file's fingerprint, so an explicit path is checked against
#: the runner's arguments too (not only an automatic one, whose name holds their digest)
_runner_args: dict[str, dict] = {}


def resolve_checkpoint(checkpoint, name: str, key=None, part: str | None = None) -> Path | None:
    """The checkpoint file of a runner: ``checkpoint`` ``False`` → None (none); a path → that
    path (``part`` appended to its stem: ``run.pt`` → ``run-cnn.pt``); ``None`` → automatic:
    ``checkpoint_path(f"{name}-{digest(key)}[-{part}]")`` (None when checkpointing is off).

    Either way the runner (its module and ``name``) and the :func:`digest` of ``key`` (all
    of its arguments) go into the fingerprint of the run that :func:`run` checkpoints to
    that path: resuming a file written by another call of the runner, with other arguments,
    raises :class:`CheckpointMismatch`. Call it on entry, before the runner draws from its
    generators (``key`` holds them).
    """
    if part is not None:
        _check_name("part", part, slashes=False)
    if checkpoint is False:
        return None
    if checkpoint is None:
        if not checkpointing():
            return None
        d = digest(key)
        path = checkpoint_path(f"{name}-{d}" + (f"-{part}" if part else ""))
    elif isinstance(checkpoint, (str, os.PathLike)) and not isinstance(checkpoint, bool):
        p = Path(checkpoint).expanduser()
        path = p.with_name(f"{p.stem}-{part}{p.suffix}") if part else p
        d = digest(key)
    else:
        raise TypeError("checkpoint must be a path, False (none) or None (automatic); got "
                        f"{type(checkpoint).__name__} {checkpoint!r}")
    caller = sys._getframe(1).f_globals.get("__name__", "?")
    _runner_args.setdefault(str(path), {})[f"{caller}.{name}"] = d
    return path


# ------------------------------------------------------------------------ state & fingerprint
def _state_items(state) -> dict:
    if state is None:
        return {}
    if isinstance(state, torch.nn.Module):
        return {"module": state}
    if not isinstance(state, dict):
        raise TypeError("state must be a dict of tensors/modules/optimizers or a Module; got "
                        f"{type(state).__name__}")
    for k, v in state.items():
        if not isinstance(k, str):
            raise TypeError(f"state keys must be strings; got {k!r}")
        if not isinstance(v, (torch.Tensor, torch.nn.Module, torch.optim.Optimizer)):
            raise TypeError(f"state[{k!r}] must be a tensor, a torch Module or an optimizer "
                            f"(something updated in place); got {type(v).__name__}")
    return state


def _tensor_descr(t: torch.Tensor) -> str:
    return f"tensor {str(t.dtype).removeprefix('torch.')} {list(t.shape)} {t.device}"


def _state_fingerprint(items: dict) -> dict:
    out = {}
    for k, v in items.items():
        if isinstance(v, torch.Tensor):
            out[k] = _tensor_descr(v)
        elif isinstance(v, torch.nn.Module):
            for kk, vv in v.state_dict().items():
                out[f"{k}.{kk}"] = (_tensor_descr(vv) if isinstance(vv, torch.Tensor)
                                    else type(vv).__name__)
        else:  # optimizer: its kind and parameter groups (its state grows as it runs)
            sizes = [len(g["params"]) for g in v.param_groups]
            shapes = [[list(p.shape) for p in g["params"]] for g in v.param_groups]
            out[k] = f"{type(v).__name__} groups {sizes} params {shapes}"
    return out


def _version() -> str:
    v = getattr(sys.modules.get("freqlearn"), "__version__", None)
    if v is None:
        try:
            from importlib.metadata import version

            v = version("freqlearn")
        except Exception:  # noqa: BLE001 - not installed: no version to compare
            v = "unknown"
    return str(v)


_PLAIN = (type(None), bool, int, float, str)


def _check_plain(name: str, v) -> None:
    if isinstance(v, (list, tuple)):
        for x in v:
            _check_plain(name, x)
    elif not isinstance(v, _PLAIN) or (isinstance(v, float) and not math.isfinite(v)):
        raise TypeError(f"fingerprint[{name!r}] must be None, bool, int, finite float, str or "
                        f"a list of them; got {type(v).__name__} {v!r}")


def _fingerprint(name, budget, items, recorder, generators, extra) -> dict:
    ctx = _context or {}
    return {
        "name": name, "preset": ctx.get("preset"), "seed": ctx.get("seed"), "budget": budget,
        "state": _state_fingerprint(items),
        "metrics": None if recorder is None else sorted(recorder.metrics),
        "record_steps": None if recorder is None else [int(s) for s in recorder.steps],
        "generators": [str(g.device) for g in generators],
        "generators_start": digest([g for g in generators]),
        "args": {k: list(v) if isinstance(v, tuple) else v for k, v in (extra or {}).items()},
        "version": _version(), "format_version": FORMAT_VERSION,
    }


def _short(v) -> str:
    if isinstance(v, list) and len(v) > 8:
        return f"[{', '.join(map(repr, v[:3]))}, …, {', '.join(map(repr, v[-2:]))}] " \
               f"({len(v)} entries)"
    return repr(v) if not isinstance(v, str) else v


def _diff(saved: dict, now: dict) -> list[str]:
    lines = []
    for f in now:
        a, b = saved.get(f, "(absent)"), now[f]
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if a.get(k, "(absent)") != b.get(k, "(absent)"):
                    lines.append(f"  {f}[{k!r}]: saved {_short(a.get(k, '(absent)'))}, "
                                 f"now {_short(b.get(k, '(absent)'))}")
        elif a != b:
            lines.append(f"  {f}: saved {_short(a)}, now {_short(b)}")
    for f in saved:
        if f not in now:
            lines.append(f"  {f}: saved {_short(saved[f])}, now (absent)")
    return lines


def _fix(path: Path) -> str:
    return f"Fix: delete {path} to start over, or use another checkpoint path."


def _corrupt(path: Path, why: str) -> CheckpointCorrupt:
    return CheckpointCorrupt(f"checkpoint {path} cannot be resumed: {why}. "
                             f"Delete {path} to start over.")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint file safely (``weights_only=True``, on the CPU) and check its format.

    Returns the plain dict; raises :class:`CheckpointCorrupt` naming the file for anything
    that is not a readable freqlearn checkpoint (empty, truncated, garbage, a plain pickle,
    a file of an older format).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"checkpoint {path} is a directory; give a file path")
    try:
        blob = store.load_torch(path)
    except store.StoreCorrupt as e:
        why = e.why + ("; not a checkpoint of this freqlearn" if "refused" in e.why else "")
        raise _corrupt(path, f"it is not a readable checkpoint: {why}") from None
    if not (isinstance(blob, dict) and blob.get("format") == FORMAT):
        raise _corrupt(path, "it is not a freqlearn.train checkpoint (no 'format' marker; a "
                             "file of freqlearn < 0.2 or of something else)")
    if blob.get("format_version") != FORMAT_VERSION:
        raise _corrupt(path, f"its format version is {blob.get('format_version')!r}, this "
                             f"freqlearn reads {FORMAT_VERSION}")
    need = {"format", "format_version", "fingerprint", "t", "rng", "generators", "state",
            "recorder"}
    if set(blob) != need or not isinstance(blob["fingerprint"], dict):
        raise _corrupt(path, f"its keys are {sorted(blob)}, expected {sorted(need)}")
    return blob


def _check_saved_state(path: Path, items: dict, saved) -> None:
    """Every saved state entry has this run's dtype and shape (the device is fingerprinted)."""
    if not (isinstance(saved, dict) and set(saved) == set(items)):
        raise _corrupt(path, f"its state holds {sorted(saved) if isinstance(saved, dict) else '?'}"
                             f", its fingerprint and this run {sorted(items)}")

    def same(a, b, what):
        if not (isinstance(a, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and a.device.type == "cpu"):
            got = (f"{a.dtype} {list(a.shape)} on {a.device}" if isinstance(a, torch.Tensor)
                   else type(a).__name__)
            raise _corrupt(path, f"{what} is {got}, expected {b.dtype} {list(b.shape)}")

    for k, v in items.items():
        s = saved[k]
        if isinstance(v, torch.Tensor):
            same(s, v, f"state {k!r}")
        elif isinstance(v, torch.nn.Module):
            cur = v.state_dict()
            if not (isinstance(s, dict) and set(s) == set(cur)):
                raise _corrupt(path, f"state {k!r} does not hold the module's entries")
            for kk, vv in cur.items():
                if isinstance(vv, torch.Tensor):
                    same(s[kk], vv, f"state {k}.{kk}")
        else:
            params = [p for g in v.param_groups for p in g["params"]]
            ok = (isinstance(s, dict) and set(s) == {"state", "param_groups"}
                  and isinstance(s["param_groups"], list) and isinstance(s["state"], dict)
                  and [len(g.get("params", ())) if isinstance(g, dict) else -1
                       for g in s["param_groups"]] == [len(g["params"]) for g in v.param_groups])
            if ok:
                for i, st in s["state"].items():
                    if not (type(i) is int and 0 <= i < len(params) and isinstance(st, dict)):
                        ok = False
                        break
                    for vv in st.values():
                        if isinstance(vv, torch.Tensor) and vv.dim() > 0 \
                                and vv.shape != params[i].shape:
                            ok = False
            if not ok:
                raise _corrupt(path, f"state {k!r} is not a state_dict of this "
                                     f"{type(v).__name__}")


def _save(path: Path, t: int, fingerprint: dict, items: dict, recorder, generators) -> None:
    blob = {"format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": fingerprint,
            "t": int(t), "rng": _rng_state(), "generators": [g.get_state() for g in generators],
            "state": {}, "recorder": recorder.state_dict() if recorder is not None else None}
    for k, v in items.items():
        blob["state"][k] = (v.detach().clone() if isinstance(v, torch.Tensor)
                            else v.state_dict())
    store.save_torch(path, blob)


def _load(path: Path, fingerprint: dict, items: dict, recorder, generators) -> int:
    """Read, check everything, then restore; nothing is changed unless all checks pass."""
    blob = read_checkpoint(path)
    diff = _diff(blob["fingerprint"], fingerprint)
    if diff:
        raise CheckpointMismatch(f"checkpoint {path} belongs to another run; what differs "
                                 "(saved vs now):\n" + "\n".join(diff) + "\n" + _fix(path))
    t = blob["t"]
    if type(t) is not int or not 0 <= t <= fingerprint["budget"]:
        raise _corrupt(path, f"its step count {t!r} is not in [0, budget "
                             f"{fingerprint['budget']}]")
    _check_saved_state(path, items, blob["state"])
    try:
        rng = _check_rng_state(blob["rng"])
        rec = recorder._decode(blob["recorder"], upto=t) if recorder is not None else None
    except ValueError as e:
        raise _corrupt(path, str(e)) from None
    if recorder is None and blob["recorder"] is not None:
        raise _corrupt(path, "it holds a recorder, its fingerprint none")
    gs = blob["generators"]
    if not (isinstance(gs, list) and len(gs) == len(generators) and all(
            isinstance(s, torch.Tensor) and s.dtype == torch.uint8
            and s.shape == g.get_state().shape for s, g in zip(gs, generators, strict=False))):
        raise _corrupt(path, "its generator states do not fit this run's generators")
    # ---- all checked: restore
    for k, v in items.items():
        if isinstance(v, torch.Tensor):
            with torch.no_grad():
                v.copy_(blob["state"][k])
        else:
            v.load_state_dict(blob["state"][k])
    if recorder is not None:
        recorder.recorded, recorder._values = rec
    _set_rng_state(rng)
    for g, s in zip(generators, gs, strict=True):
        g.set_state(s)
    return t


def run(step: Callable[[int], object], budget: int, *, recorder: Recorder | None = None,
        state=None, generators: Iterable[torch.Generator] = (),
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        desc: str = "training", progress: bool | None = None, name: str | None = None,
        fingerprint: Mapping | None = None) -> Recorder | None:
    """Run ``step(t)`` for ``t = 0 … budget-1``; record, checkpoint and show progress.

    ``generators``: torch generators the step function draws from; their states are saved
    in checkpoints so a resumed run draws the same samples. ``checkpoint``: a file (resumed
    when it exists) or ``None``/``False`` (none); ``name`` (default ``desc``) and
    ``fingerprint`` (extra values, e.g. hyperparameters) go into its fingerprint, which must
    match for a resume (see the module docstring). Returns the recorder (also filled in place).
    """
    if not callable(step):
        raise TypeError(f"step must be callable step(t); got {type(step).__name__}")
    budget = _int("budget", budget, lo=0)
    if recorder is not None and not isinstance(recorder, Recorder):
        raise TypeError(f"recorder must be a freqlearn.train.Recorder or None; got "
                        f"{type(recorder).__name__}")
    items = _state_items(state)
    generators = list(generators)
    for g in generators:
        if not isinstance(g, torch.Generator):
            raise TypeError(f"generators must be torch.Generator objects; got "
                            f"{type(g).__name__}")
    if checkpoint_every is not None:
        checkpoint_every = _int("checkpoint_every", checkpoint_every, lo=1)
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None; got {progress!r}")
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a string; got {type(desc).__name__}")
    name = desc if name is None else name
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    if fingerprint is not None:
        if not isinstance(fingerprint, Mapping):
            raise TypeError(f"fingerprint must be a dict; got {type(fingerprint).__name__}")
        for k, v in fingerprint.items():
            if not isinstance(k, str):
                raise TypeError(f"fingerprint keys must be strings; got {k!r}")
            _check_plain(k, v)
    if checkpoint is None or checkpoint is False:
        path = None
    elif isinstance(checkpoint, (str, os.PathLike)):
        path = Path(checkpoint).expanduser()
        if path.is_dir():
            raise ValueError(f"checkpoint {path} is a directory; give a file path")
    else:
        raise TypeError(f"checkpoint must be a path, None or False; got "
                        f"{type(checkpoint).__name__} {checkpoint!r}")
    show = progress_enabled() if progress is None else progress
    t0 = 0
    fp = None
    if path is not None:
        fp = _fingerprint(name, budget, items, recorder, generators, fingerprint)
        runners = _runner_args.pop(str(path), None)
        if runners:
            fp["runners"] = runners
        if checkpoint_every is None:
            checkpoint_every = max(budget // 10, 1)
        if path.exists():
            t0 = _load(path, fp, items, recorder, generators)
            if t0:
                presets.note_reused(f"checkpoint {path} (update {t0} of {budget})")
            if show:
                print(f"{desc}: resumed from {path} at update {t0} of {budget}",
                      file=sys.stderr)
    if recorder is not None and t0 == 0:
        recorder(0)
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
                _save(path, t + 1, fp, items, recorder, generators)
    finally:
        if bar is not None:
            bar.close()
    return recorder


#: one thread for small tensors: the run-time setting of :mod:`freqlearn.presets`
threads = presets.threads

"""`make bench`: speed ratios measured in one run on the machine where it runs (issue 13).

``python -m freqlearn.bench [--quick] [--out records/bench/<machine>.json] [--threads 2,1]``

Every timing is repeated (``repeats`` samples, each the mean of enough calls to last
≥ ``min_time`` seconds, after one warm-up call) and reported as the median with its
interquartile range; a ratio ``slow/fast`` is the ratio of the medians, with the spread
``[q25_slow/q75_fast, q75_slow/q25_fast]``. Nothing here is a claim: timings vary with the
machine and its load, which the record keeps (``loadavg`` before and after).

Sections:

- ``conv``: one full-size circular convolution layer (``C → C`` channels, ``size×size``
  kernels): :func:`freqlearn.fourier.fft_conv2d` vs ``conv2d`` with circular padding,
  forward (kernel transform included, and reused: ``fft_hat``) and forward+backward, at
  1 and 64 channels, 32×32 and 64×64, batch 1, 16 and 256, for each thread count.
  ``conv2d`` costs ``O(B C² (HW)²)``: where that exceeds ~10¹¹ flops it is timed on fewer
  images and scaled linearly to the batch (``conv2d_batch`` says on how many).
- ``convactually``: one SGD step of Godfrey et al.'s ConvActually (depth 4, width 64,
  32×32, batch 128) and one batch of frequency-sensitivity maps, FFT path vs ``conv2d``.
- ``trials``: Pinson et al.'s P3 (pure cosines, 8000 single-sample updates, 10 trials)
  with the trials batched in one tensor vs a Python loop over the 10 trials.
- ``nlgp``: the NLGP/GP sampler (FFT of the circulant covariance) vs one multivariate-normal
  draw per sample (the authors' approach, :func:`freqlearn.data.nlgp.mvn_reference_sampler`)
  and vs a batched Cholesky draw.
- ``walls``: wall time of every notebook at the quick preset (the ``.run.json`` files of
  ``_build/variants/default``) and at the paper preset (``records/paper``).
- ``gpu``: the ``conv`` section on CUDA, labelled with the GPU's name, when one is present.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import socket
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import fourier, presets, store

__all__ = ["SCHEMA", "time_fn", "time_fns", "ratio", "conv_case", "op_counts", "plain_fft_conv2d",
           "ablation", "conv_section", "convactually_section", "trials_section",
           "nlgp_section", "walls_section", "run", "format_tables", "ratio_figure", "main"]

SCHEMA = "freqlearn.bench/1"
ROOT = Path(__file__).resolve().parents[2]
#: conv2d is timed on at most as many images as keep one call under this many flops, and
#: about this many seconds.
CONV2D_FLOPS = 1.5e11
CONV2D_SECONDS = 2.0


# ------------------------------------------------------------------------------ timing
def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_fn(fn, *, repeats: int = 5, min_time: float = 0.05, device="cpu") -> dict:
    """Seconds per call of ``fn()``: ``{"median", "q25", "q75", "n", "inner"}``.

    One warm-up call (timed, to choose ``inner``), then ``repeats`` samples, each the mean
    over ``inner`` calls, with ``inner`` chosen so a sample lasts at least ``min_time``
    seconds.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    return time_fns({"fn": fn}, repeats=repeats, min_time=min_time, device=device)["fn"]


def time_fns(fns: dict, *, repeats: int = 5, min_time: float = 0.05, device="cpu") -> dict:
    """:func:`time_fn` for several functions with their samples **interleaved** (one sample
    of each in turn), so that a change of the machine's load hits all of them alike. When a
    warm-up call lasts over a second, at most 3 samples are taken."""
    if not isinstance(fns, dict) or not fns or not all(callable(f) for f in fns.values()):
        raise TypeError("fns must be a non-empty dict of callables")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}")
    dev = torch.device(device)
    inner, first_max = {}, [0.0]
    for k, fn in fns.items():
        t0 = time.perf_counter()
        fn()  # warm-up: first-call allocations, kernel choice
        _sync(dev)
        first = time.perf_counter() - t0
        inner[k] = max(1, math.ceil(min_time / max(first, 1e-9))) if first < min_time else 1
        first_max[0] = max(first_max[0], first)
    if first_max[0] > 1.0:  # calls of over a second: 3 samples are enough for a median
        repeats = min(repeats, 3)
    samples: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner[k]):
                fn()
            _sync(dev)
            samples[k].append((time.perf_counter() - t0) / inner[k])
    return {k: _stats(samples[k], inner[k]) for k in fns}


def _stats(samples, inner: int = 1) -> dict:
    q = np.quantile(np.asarray(samples, float), [0.25, 0.5, 0.75])
    return {"median": float(q[1]), "q25": float(q[0]), "q75": float(q[2]),
            "n": len(samples), "inner": int(inner)}


def _scaled(st: dict, factor: float) -> dict:
    return {**st, **{k: st[k] * factor for k in ("median", "q25", "q75")}}


def ratio(slow: dict, fast: dict) -> dict:
    """``slow/fast`` as the ratio of the medians, spread from the interquartile ranges."""
    return {"median": slow["median"] / fast["median"], "lo": slow["q25"] / fast["q75"],
            "hi": slow["q75"] / fast["q25"]}


# ------------------------------------------------------------------ circular convolution
def _conv2d_circular(x, w):
    kh, kw = w.shape[-2:]
    return F.conv2d(F.pad(x, (0, kw - 1, 0, kh - 1), mode="circular"), w)


def _calibrate(x1, w, backward: bool, dev) -> float:
    """Seconds of one conv2d call on the image ``x1`` (after a warm-up call)."""
    x1 = x1.clone().requires_grad_(backward)
    wc = w.clone().requires_grad_(backward)
    ts = []
    for _ in range(2):
        t0 = time.perf_counter()
        with torch.set_grad_enabled(backward):
            y = _conv2d_circular(x1, wc)
            if backward:
                y.square().sum().backward()
        _sync(dev)
        ts.append(time.perf_counter() - t0)
    return max(ts[-1], 1e-6)


def conv_case(*, channels: int, size: int, batch: int, backward: bool, repeats: int = 5,
              device="cpu", seed: int = 0, conv2d_flops: float = CONV2D_FLOPS,
              conv2d_seconds: float = CONV2D_SECONDS, cache: dict | None = None) -> dict:
    """One row of the ``conv`` section (see the module docstring); float32.

    ``conv2d`` is timed on ``conv2d_batch`` images — at most ``conv2d_flops`` flops and,
    from a one-image call, about ``conv2d_seconds`` per call — and scaled to the batch.
    ``cache``: a dict in which conv2d timings are kept by (channels, size, pass, images), so
    that batches timed on the same number of images share one measurement.
    """
    cache = {} if cache is None else cache
    dev = torch.device(device)
    g = torch.Generator().manual_seed(seed)
    C, n = channels, size
    per_image = 2.0 * C * C * (n * n) ** 2 * (3 if backward else 1)
    x = torch.randn(batch, C, n, n, generator=g).to(dev)
    w = (torch.randn(C, C, n, n, generator=g) / (n * math.sqrt(C))).to(dev)
    cb = int(min(batch, max(1, conv2d_flops // per_image)))
    if cb > 1:  # conv2d's speed per flop varies (its single-channel backward is slow):
        t1 = _calibrate(x[:1], w, backward, dev)  # a call may last about conv2d_seconds
        cb = int(min(cb, max(1, conv2d_seconds // t1)))
    row = {"channels": C, "size": n, "batch": batch,
           "pass": "forward+backward" if backward else "forward", "conv2d_batch": cb,
           "threads": torch.get_num_threads(), "device": str(dev)}
    if backward:
        xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        xs, ws = x[:cb].clone().requires_grad_(True), w.clone().requires_grad_(True)

        def fft():
            fourier.fft_conv2d(xg, wg, mode="corr").square().sum().backward()

        def direct():
            _conv2d_circular(xs, ws).square().sum().backward()

        key = (C, n, "fb", cb, str(dev))
        fns = {"fft": fft, **({} if key in cache else {"conv2d": direct})}
        t = time_fns(fns, repeats=repeats, device=dev)
        cache.setdefault(key, t.get("conv2d"))
        row["fft"], row["conv2d"] = t["fft"], _scaled(cache[key], batch / cb)
    else:
        w_hat = fourier.kernel_hat(w)
        xs = x[:cb]
        key = (C, n, "f", cb, str(dev))
        fns = {"fft": lambda: fourier.fft_conv2d(x, w, mode="corr"),
               "fft_hat": lambda: fourier.fft_conv2d(x, w_hat=w_hat, mode="corr"),
               **({} if key in cache else {"conv2d": lambda: _conv2d_circular(xs, w)})}
        with torch.no_grad():
            t = time_fns(fns, repeats=repeats, device=dev)
            cache.setdefault(key, t.get("conv2d"))
            row["fft"], row["fft_hat"] = t["fft"], t["fft_hat"]
            row["conv2d"] = _scaled(cache[key], batch / cb)
            a, b = fourier.fft_conv2d(xs, w, mode="corr"), _conv2d_circular(xs, w)
            row["rel_diff"] = float((a - b).abs().max() / b.abs().max())
        row["ratio_hat"] = ratio(row["conv2d"], row["fft_hat"])
    row["ratio"] = ratio(row["conv2d"], row["fft"])
    return row


def op_counts(*, channels: int, size: int, batch: int, backward: bool = False) -> dict:
    """Real floating-point operations of one circular layer, ``C → C`` channels, full-size
    ``size×size`` kernels, ``batch`` images: ``conv2d`` (direct sum) vs the FFT path.

    Direct: ``2 B C² (HW)²`` forward (each output pixel sums ``C·HW`` products). FFT path:
    a real FFT of ``n = HW`` points costs about ``2.5 n log₂ n`` flops (half a complex
    FFT's ``5 n log₂ n``); ``B·C`` image and ``C²`` kernel transforms, ``B·C`` inverse
    transforms, and per frequency of the half spectrum (``H(W/2+1)`` of them) a complex
    ``(B×C)·(C×C)`` product, 8 real flops per complex multiply-add. Backward: the direct
    sum twice more (input and kernel gradients); the FFT path twice the products and the
    transforms of the gradients (two per image, one per kernel). ``fft_hat``: the FFT path
    with the kernel transform reused (``kernel_transforms`` left out).
    """
    C, n, B = channels, size * size, batch
    fft1 = 2.5 * n * math.log2(n) if n > 1 else 1.0
    half = size * (size // 2 + 1)
    direct = 2.0 * B * C * C * n * n
    mm = 8.0 * B * C * C * half
    ffts = (2 * B * C + C * C) * fft1
    if backward:
        direct *= 3
        mm *= 3
        ffts += (2 * B * C + C * C) * fft1
    kernels = C * C * fft1 * (2 if backward else 1)
    return {"conv2d": direct, "fft": mm + ffts, "matmul": mm, "transforms": ffts,
            "kernel_transforms": kernels, "fft_hat": mm + ffts - kernels,
            "ratio": direct / (mm + ffts)}


def plain_fft_conv2d(x, w, mode: str = "corr"):
    """The FFT path as it was before issue 13: ``rfft2``, axes moved (strided views), one
    ``matmul``, axes moved back, ``irfft2``, with torch's own autograd — the baseline of
    the ablation (:func:`ablation`)."""
    H, W = x.shape[-2:]
    K = torch.fft.rfft2(w, s=(H, W)).movedim((-4, -3), (-1, -2)).contiguous()
    if mode == "corr":
        K = K.conj()
    X = torch.fft.rfft2(x).movedim(-3, -1).movedim(-4, -2)
    Y = torch.matmul(X, K).movedim(-2, -4).movedim(-1, -3)
    return torch.fft.irfft2(Y, s=(H, W))


def ablation(*, channels: int = 64, size: int = 32, batch: int = 16, repeats: int = 5,
             device="cpu", seed: int = 0) -> dict:
    """The FFT path before (:func:`plain_fft_conv2d`) and after issue 13, same run: forward
    with the kernel transform reused, forward with it, forward+backward (float32)."""
    dev = torch.device(device)
    g = torch.Generator().manual_seed(seed)
    C, n = channels, size
    x = torch.randn(batch, C, n, n, generator=g).to(dev)
    w = (torch.randn(C, C, n, n, generator=g) / (n * math.sqrt(C))).to(dev)
    w_hat = fourier.kernel_hat(w)
    K_plain = torch.fft.rfft2(w).movedim((-4, -3), (-1, -2)).contiguous().conj()

    def plain_hat():
        X = torch.fft.rfft2(x).movedim(-3, -1).movedim(-4, -2)
        return torch.fft.irfft2(torch.matmul(X, K_plain).movedim(-2, -4).movedim(-1, -3),
                                s=(n, n))

    xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    out = {"channels": C, "size": n, "batch": batch, "threads": torch.get_num_threads()}
    with torch.no_grad():
        t = time_fns({
            "hat_before": plain_hat,
            "hat_after": lambda: fourier.fft_conv2d(x, w_hat=w_hat, mode="corr"),
            "before": lambda: plain_fft_conv2d(x, w),
            "after": lambda: fourier.fft_conv2d(x, w, mode="corr")},
            repeats=repeats, device=dev)
    out["forward_hat"] = {"before": t["hat_before"], "after": t["hat_after"]}
    out["forward"] = {"before": t["before"], "after": t["after"]}
    out["forward+backward"] = time_fns({
        "before": lambda: plain_fft_conv2d(xg, wg).square().sum().backward(),
        "after": lambda: fourier.fft_conv2d(xg, wg, mode="corr").square().sum().backward()},
        repeats=repeats, device=dev)
    for k in ("forward_hat", "forward", "forward+backward"):
        out[k]["speedup"] = ratio(out[k]["before"], out[k]["after"])
    with torch.no_grad():
        a, b = fourier.fft_conv2d(x, w, mode="corr"), plain_fft_conv2d(x, w)
    out["rel_diff"] = float((a - b).abs().max() / b.abs().max())
    return out


def conv_section(*, quick: bool = False, threads=(None,), device="cpu", repeats=None,
                 log=print) -> list[dict]:
    """The ``conv`` rows: the whole grid at the first thread count (``None``: torch's
    current setting), the goal case (64 channels, 32×32) at the others."""
    if quick:
        full = [(16, 16, 4), (1, 16, 4)]
        goal = [(16, 16, 4)]
    else:
        full = [(c, s, b) for c in (1, 64) for s in (32, 64) for b in (1, 16, 256)]
        goal = [(64, 32, b) for b in (1, 16, 256)]  # the goal case, at each count
    reps = repeats or (3 if quick else 5)
    rows = []
    for i, th in enumerate(threads):
        cache: dict = {}
        with presets.threads(th or torch.get_num_threads()):
            nth = torch.get_num_threads()
            for c, s, b in (full if i == 0 else goal):
                for bw in (False, True):
                    r = conv_case(channels=c, size=s, batch=b, backward=bw, repeats=reps,
                                  device=device, cache=cache)
                    r["threads"] = nth
                    rows.append(r)
                    log(_conv_line(r))
    return rows


def _conv_line(r: dict) -> str:
    hat = (f" fft(ŵ reused) {r['fft_hat']['median'] * 1e3:9.2f} ms ×{r['ratio_hat']['median']:6.1f}"
           if "fft_hat" in r else "")
    return (f"  {r['device']:>5} threads={r['threads']} C={r['channels']:>2} {r['size']}×"
            f"{r['size']} B={r['batch']:>3} {r['pass']:<16} conv2d "
            f"{r['conv2d']['median'] * 1e3:10.1f} ms  fft {r['fft']['median'] * 1e3:9.2f} ms "
            f"×{r['ratio']['median']:6.1f} [{r['ratio']['lo']:.0f}–{r['ratio']['hi']:.0f}]{hat}")


def _ablation_line(a: dict) -> str:
    parts = [f"{k} {a[k]['before']['median'] * 1e3:.1f} → {a[k]['after']['median'] * 1e3:.1f} ms"
             f" (×{a[k]['speedup']['median']:.2f})" for k in
             ("forward_hat", "forward", "forward+backward")]
    return (f"  FFT path before → after issue 13, C={a['channels']} {a['size']}² B={a['batch']} "
            f"threads={a['threads']}: " + "; ".join(parts))


# ---------------------------------------------------------------- ConvActually (Godfrey)
def convactually_section(*, quick: bool = False, repeats=None, device="cpu",
                         log=print) -> dict:
    """One SGD step and one batch of sensitivity maps of ConvActually, FFT vs conv2d.

    Depth 4, width 64, 32×32 (the paper's network); batch 128 on the FFT path, the conv2d
    path timed on ``conv2d_batch`` images and scaled linearly (same weights, same data).
    """
    from .experiments import godfrey as eg

    depth, width, size = (2, 8, 8) if quick else (4, 64, 32)
    batch, cb = (8, 2) if quick else (128, 1)
    reps = repeats or 3
    dev = torch.device(device)
    out = {"depth": depth, "width": width, "size": size, "batch": batch, "conv2d_batch": cb}
    fns, scale = eg.benchmark_fns(depth=depth, width=width, size=size, batch=batch,
                                  conv2d_batch=cb, device=dev)
    t = time_fns(fns, repeats=reps, device=dev)
    out.update({k: _scaled(v, scale[k]) for k, v in t.items()})
    out["step_ratio"] = ratio(out["conv2d_step"], out["fft_step"])
    out["sensitivity_ratio"] = ratio(out["conv2d_sensitivity"], out["fft_sensitivity"])
    out["threads"] = torch.get_num_threads()
    log(f"  ConvActually depth {depth}, width {width}, {size}×{size}, batch {batch}: step "
        f"×{out['step_ratio']['median']:.1f}, sensitivity ×"
        f"{out['sensitivity_ratio']['median']:.1f} (fft step "
        f"{out['fft_step']['median']:.3f} s, conv2d step {out['conv2d_step']['median']:.2f} s)")
    return out


# ------------------------------------------------------------- batched trials (Pinson P3)
def trials_section(*, quick: bool = False, repeats=None, log=print) -> dict:
    """P3 (SI I.1: pure cosines, λ = 1/2000, single-sample updates) with T = 10 trials in
    one tensor vs a loop of 10 runs with T = 1; ``budget`` updates (8000 = the paper's)."""
    from .experiments import pinson as ep

    T, budget = 10, (100 if quick else 8000)
    reps = repeats or (2 if quick else 3)

    def run(t):
        return ep.cosines(T=t, budget=budget, lr=1 / 2000, mode="single",
                          generator=presets.generator(31), checkpoint=False)

    t = time_fns({"batched": lambda: run(T), "single": lambda: run(1)}, repeats=reps,
                 min_time=0.0)
    batched, single = t["batched"], t["single"]
    loop = _scaled(single, T)
    out = {"T": T, "budget": budget, "batched": batched, "loop": loop,
           "ratio": ratio(loop, batched), "threads": torch.get_num_threads()}
    log(f"  P3 cosines, {budget} updates, {T} trials: batched {batched['median']:.2f} s, loop "
        f"{loop['median']:.2f} s: ×{out['ratio']['median']:.1f}")
    return out


# ------------------------------------------------------------------ NLGP sampler (Ingrosso)
def nlgp_section(*, quick: bool = False, repeats=None, log=print) -> dict:
    """Seconds per sample of the GP control ``x ~ N(0, C^x)`` (Ingrosso & Goldt's 1-D data,
    L = 400, ξ = 8, g = 3): the book's FFT sampler vs one multivariate-normal draw per
    sample (scipy, refactorising C each call, as the authors) vs a Cholesky factor once and
    one batched product."""
    from .data import nlgp

    L, xis, n, n_mvn = (64, (2.0, 4.0), 1000, 3) if quick else (400, (8.0, 16.0), 10000, 20)
    reps = repeats or 3
    s = nlgp.NLGP(L, xis, 3.0, gaussian=True)
    C = s.covariances()[0]
    gen = presets.generator(41)
    cls = torch.zeros(n, dtype=torch.long)
    rng = np.random.default_rng(0)

    def chol():
        lo = np.linalg.cholesky(C + 1e-10 * np.trace(C) / L * np.eye(L))
        return rng.standard_normal((n, L)) @ lo.T

    t = time_fns({"fft": lambda: s.sample_class(cls, gen), "cholesky": chol,
                  "mvn": lambda: nlgp.mvn_reference_sampler(C, n_mvn)}, repeats=reps)
    fft, cho, mvn = (_scaled(t["fft"], 1 / n), _scaled(t["cholesky"], 1 / n),
                     _scaled(t["mvn"], 1 / n_mvn))
    out = {"L": L, "xi": xis[0], "n": n, "n_mvn": n_mvn, "fft": fft, "cholesky": cho, "mvn": mvn,
           "ratio_mvn": ratio(mvn, fft), "ratio_cholesky": ratio(cho, fft),
           "threads": torch.get_num_threads()}
    log(f"  NLGP/GP sampler, D = {L}: per sample fft {fft['median'] * 1e6:.2f} µs, Cholesky "
        f"{cho['median'] * 1e6:.2f} µs (×{out['ratio_cholesky']['median']:.1f}), one MVN per "
        f"sample {mvn['median'] * 1e3:.2f} ms (×{out['ratio_mvn']['median']:.0f})")
    return out


# ------------------------------------------------------------------------ recorded walls
def walls_section(root: Path | str = ROOT, quick_dir: Path | str | None = None) -> dict:
    """Wall times of the recorded runs: quick (the ``.run.json`` files that the notebooks'
    claims write: ``quick_dir``, by default ``_build/variants/default`` — ``make
    baseline``'s default variant — or, when that has none, ``_build/claims``) and paper
    (``records/paper``). ``quick_source`` says which folder the quick walls came from."""
    root = Path(root)
    if quick_dir is None:
        cands = [root / "_build" / "variants" / "default", root / "_build" / "claims"]
        quick_dir = next((c for c in cands if any(c.rglob("*.run.json"))), cands[0])
    quick_dir = Path(quick_dir)
    quick = []
    for p in sorted(quick_dir.rglob("*.run.json")):
        try:
            d = store.read_json(p)
        except (OSError, ValueError):
            continue
        quick.append({k: d.get(k) for k in ("notebook", "wall_s", "finished", "machine",
                                            "reused")})
    paper = []
    for p in sorted((root / "records" / "paper").rglob("*.json")):
        try:
            prov = store.read_json(p).get("provenance", {})
        except (OSError, ValueError, AttributeError):
            continue
        nb = f"{p.parent.name}/{p.stem}"
        paper.append({"notebook": nb, **{k: prov.get(k) for k in (
            "wall_s", "date", "machine", "device", "commit", "reused")}})
    try:
        src = str(quick_dir.resolve().relative_to(root.resolve()))
    except ValueError:
        src = str(quick_dir)
    return {"quick": quick, "paper": paper, "quick_source": src}


# ---------------------------------------------------------------------------- the run
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meta(quick: bool) -> dict:
    cuda = torch.cuda.is_available()
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(), "cpu": _cpu_model(), "cores": os.cpu_count(),
        "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "mkl": torch.backends.mkl.is_available(),
        "default_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "quick": quick, "loadavg_start": list(os.getloadavg()),
    }


def run(*, quick: bool = False, threads=None, sections=None, log=print) -> dict:
    """Run the benchmark; returns the record (see the module docstring for the sections).

    ``threads``: thread counts for the ``conv`` section (default: torch's current count,
    then 1). ``sections``: a subset of ``conv convactually trials nlgp walls gpu``.
    """
    allowed = ("conv", "ablation", "convactually", "trials", "nlgp", "walls", "gpu")
    sections = tuple(allowed if sections is None else sections)
    bad = [s for s in sections if s not in allowed]
    if bad:
        raise ValueError(f"sections must be among {allowed}; got {bad}")
    if threads is None:
        threads = tuple(dict.fromkeys((torch.get_num_threads(), 1)))
    threads = tuple(threads)
    if not threads or any(isinstance(t, bool) or not isinstance(t, int) or t < 1
                          for t in threads):
        raise ValueError(f"threads must be positive integers; got {threads!r}")
    rec = {"schema": SCHEMA, "meta": _meta(quick)}
    t0 = time.perf_counter()
    if "conv" in sections:
        log("circular convolution, FFT path vs conv2d (median, [IQR spread])")
        rec["conv"] = conv_section(quick=quick, threads=threads, log=log)
    if "ablation" in sections:
        rec["ablation"] = []
        for th in threads:
            with presets.threads(th):
                rec["ablation"].append(ablation(**(
                    {"channels": 16, "size": 16, "batch": 4, "repeats": 3} if quick else {})))
            log(_ablation_line(rec["ablation"][-1]))
    if "convactually" in sections:
        rec["convactually"] = convactually_section(quick=quick, log=log)
    if "trials" in sections:
        rec["trials"] = trials_section(quick=quick, log=log)
    if "nlgp" in sections:
        rec["nlgp"] = nlgp_section(quick=quick, log=log)
    if "walls" in sections:
        rec["walls"] = walls_section()
    if "gpu" in sections and torch.cuda.is_available():
        log(f"GPU: {torch.cuda.get_device_name(0)}")
        rec["gpu"] = conv_section(quick=quick, device="cuda", log=log)
    rec["meta"]["loadavg_end"] = list(os.getloadavg())
    rec["meta"]["wall_s"] = round(time.perf_counter() - t0, 1)
    return rec


def format_tables(rec: dict) -> str:
    """The record as readable text tables."""
    m = rec["meta"]
    lines = [f"freqlearn bench — {m['date']} — {m['host']}: {m['cpu']}, {m['cores']} cores, "
             f"torch {m['torch']}, GPU {m['gpu'] or 'none'}; load average "
             f"{m['loadavg_start'][0]:.2f} → {m.get('loadavg_end', [float('nan')])[0]:.2f}",
             "", "ratio = conv2d time / FFT time (median [IQR spread]); ŵ reused = kernel "
             "transform computed once", ""]
    for key in ("conv", "gpu"):
        for r in rec.get(key) or []:
            lines.append(_conv_line(r))
    for a in rec.get("ablation") or []:
        lines += ["", _ablation_line(a)]
    ca = rec.get("convactually")
    if ca:
        lines += ["", f"ConvActually depth {ca['depth']} width {ca['width']} {ca['size']}² batch "
                  f"{ca['batch']}: step ×{ca['step_ratio']['median']:.1f} "
                  f"[{ca['step_ratio']['lo']:.1f}–{ca['step_ratio']['hi']:.1f}], sensitivity "
                  f"×{ca['sensitivity_ratio']['median']:.1f} "
                  f"[{ca['sensitivity_ratio']['lo']:.1f}–{ca['sensitivity_ratio']['hi']:.1f}]"]
    tr = rec.get("trials")
    if tr:
        lines.append(f"P3 trials batched vs loop ({tr['T']} trials, {tr['budget']} updates): "
                     f"×{tr['ratio']['median']:.1f} [{tr['ratio']['lo']:.1f}–"
                     f"{tr['ratio']['hi']:.1f}]")
    nl = rec.get("nlgp")
    if nl:
        lines.append(f"NLGP sampler D={nl['L']}: vs one MVN per sample ×"
                     f"{nl['ratio_mvn']['median']:.0f}, vs batched Cholesky ×"
                     f"{nl['ratio_cholesky']['median']:.1f}")
    w = rec.get("walls")
    if w:
        q = [r for r in w["quick"] if r.get("wall_s") is not None]
        if q:
            lines += ["", f"quick preset, {len(q)} notebooks, total "
                      f"{sum(r['wall_s'] for r in q):.0f} s:"]
            lines += [f"  {r['notebook']:<42} {r['wall_s']:8.1f} s" for r in q]
        p = [r for r in w["paper"] if r.get("wall_s") is not None]
        if p:
            lines += ["paper preset (records/paper):"]
            lines += [f"  {r['notebook']:<42} {r['wall_s']:8.1f} s  ({r['device']}, "
                      f"{r['date']})" for r in p]
    return "\n".join(lines)


def ratio_figure(recs: list[dict]):
    """Figure of the ``conv`` ratios of records ``recs`` (median, IQR spread bars), one
    series per record and thread count, with the operation-count limit as black dashes."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    labels, lim_label = [], "operation-count limit"
    for rec in recs:
        m = rec["meta"]
        for th in sorted({r["threads"] for r in rec["conv"]}, reverse=True):
            rows = [r for r in rec["conv"] if r["threads"] == th]
            lab = [f"C{r['channels']} {r['size']}² B{r['batch']} "
                   f"{'for+' if r['pass'] != 'forward' else 'for'}" for r in rows]
            labels += [x for x in lab if x not in labels]
            x = np.array([labels.index(t) for t in lab], float)
            med = np.array([r["ratio"]["median"] for r in rows])
            err = np.array([med - [r["ratio"]["lo"] for r in rows],
                            [r["ratio"]["hi"] for r in rows] - med])
            ax.errorbar(x + 0.15 * (th == 1), med, yerr=err, fmt="o", ms=4, capsize=2,
                        label=f"{m['host']} ({m['cpu']}), {th} thread{'s' * (th > 1)}, "
                        f"{m['date'][:10]}, load {m['loadavg_start'][0]:.1f}")
            lim = [op_counts(channels=r["channels"], size=r["size"], batch=r["batch"],
                             backward=r["pass"] != "forward")["ratio"] for r in rows]
            ax.plot(x, lim, "k_", ms=12, label=lim_label)
            lim_label = None
    ax.axhline(100, color="grey", ls=":", lw=1, label="goal 100×")
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("conv2d time / FFT time")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m freqlearn.bench", description=__doc__.split(
        "\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds, for tests)")
    ap.add_argument("--out", help="write the JSON record here (e.g. records/bench/<host>.json)")
    ap.add_argument("--threads", help="comma-separated thread counts for the conv section "
                    "(default: torch's default, then 1)")
    ap.add_argument("--sections", help="comma-separated subset of conv,ablation,"
                    "convactually,trials,nlgp,walls,gpu")
    a = ap.parse_args(argv)
    threads = None
    if a.threads:
        try:
            threads = tuple(int(t) for t in a.threads.split(","))
        except ValueError:
            ap.error(f"--threads must be comma-separated integers; got {a.threads!r}")
    sections = tuple(a.sections.split(",")) if a.sections else None
    os.environ.setdefault("FREQLEARN_PROGRESS", "0")
    rec = run(quick=a.quick, threads=threads, sections=sections,
              log=lambda s: print(s, flush=True))
    print()
    print(format_tables(rec))
    if a.out:
        out = store.write_json(Path(a.out), rec)
        print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

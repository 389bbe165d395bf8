"""Experiments of Godfrey et al. (2022) (catalog G2, G4–G7); the chapter's cells call these.

- :func:`fit_linear_cnn` / :func:`theorem_case` — G2: linear CNNs with weight decay trained
  to convergence (full-batch L-BFGS through the FFT path) on stationary Gaussian data,
  against the exact finite-sample solution and the diagonal closed forms.
- :func:`sensitivity_point` — one point of a depth / weight-decay / seed sweep (G4–G6):
  build, train (to a target training loss or a step budget), measure the frequency
  sensitivity of the trained and of the untrained net. Run many through
  :func:`freqlearn.sweep.sweep`.
- :func:`train_paper` — the SI C.5 schedule (G7): SGD, momentum 0.9, ``ReduceLROnPlateau``
  on validation accuracy, best-validation checkpoint; its per-epoch checkpoint goes through
  :mod:`freqlearn.store` (atomic, ``weights_only``, fingerprinted).
- :func:`spectrum_intervention` — the title claim as an intervention: the same nets
  trained on the same stand-in images with their spectrum changed (whitened, high-passed,
  power laws, rising), each net's sensitivity map against its training data's
  per-frequency variance (:func:`spectrum_similarity`, :func:`sensitivity_slope`), with
  the untrained nets and the nets trained on unchanged images as the nulls.
- :func:`benchmark_step` — FFT path vs ``conv2d`` for one training step and one batch of
  sensitivity maps.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import data as fldata
from .. import presets, sensitivity, store, train
from ..data import _checks as chk
from ..data import godfrey as gdata
from ..nets import dft
from ..nets import godfrey as nets
from ..theory import godfrey as theory

__all__ = ["fit_linear_cnn", "theorem_case", "relative_error", "carrying", "make_model",
           "standin_set", "train_classifier", "sensitivity_point", "residual_toy",
           "train_paper", "benchmark_step", "benchmark_fns", "PAPER_SCHEDULES",
           "linear_sweep_point", "paper_width",
           "rank_trend", "moment_grid", "matched_sweeps", "untrained_moments",
           "flat_trend_null", "flat_trend",
           "SPECTRA", "spectrum_similarity", "sensitivity_slope", "ensemble_sensitivity",
           "train_ensemble", "spectrum_intervention", "intervention_table"]


# ----------------------------------------------------------------------------- G2
def penalty(model) -> torch.Tensor:
    """``Σ_l ‖w^l‖²`` over every weight (Eq. 4.1; biases excluded — the theorem has none)."""
    return sum((w ** 2).sum() for w in model.weights())


def fit_linear_cnn(x, y, L: int, lam: float, *, width: int = 1, generator=None,
                   max_iter: int = 3000, init_gain: float = 1.0, via_basis: bool = True,
                   loss: str = "mse", via_fft: bool = False):
    """Train the linear CNN of Eq. 3.1 (``L`` layers, no bias) to convergence, float64.

    Loss ``(1/N)Σ‖y − f(x)‖² + λ Σ_l‖w^l‖²`` (Eq. 4.1; ``torch.optim.SGD(weight_decay=2λ)``
    would add the same ``2λw`` to the gradient), minimised by full-batch L-BFGS. For a linear
    net the data term equals ``tr(W S Wᵀ) − 2 tr(B Wᵀ) + const`` with ``S = XᵀX/N``,
    ``B = YᵀX/N`` and ``W`` the net's predictor, so with ``via_basis=True`` (default) each
    evaluation pushes the ``D = C·H·W`` pixel basis images through the network's FFT path
    instead of the ``N`` samples (same loss up to a constant, ``N/D`` times cheaper).
    Returns ``(model, info)`` with the final data loss and gradient norm.

    ``loss="ce"`` (not in the paper; the synthesis chapter's loss condition) replaces the
    data term by the cross-entropy ``−(1/N)Σ_n Σ_k y_{nk} log softmax(f(x_n))_k`` with ``y``
    rows of class probabilities (one-hot labels), same penalty. With ``via_basis=True`` the
    logits are ``X Wᵀ`` with ``Wᵀ`` read off the basis images (the net is linear, no bias).
    With ``λ > 0`` the objective is coercive, so a minimiser exists; with ``λ = 0`` on
    separable data it has none (L-BFGS then stops after its ``2 × max_iter`` budget).

    ``via_fft=True`` (with ``via_basis``) reads ``Wᵀ`` off the weights instead of pushing the
    basis images through the net: ``W = IDFT_ortho(v̂)`` with ``v̂`` the per-frequency
    product of Lemma 4.3 (:func:`freqlearn.nets.dft.effective_predictor`; real because the
    weights are). The same objective and gradient up to rounding, several times cheaper per
    evaluation (one FFT per layer instead of ``D`` images through every layer).
    """
    if not isinstance(loss, str) or loss not in ("mse", "ce"):
        raise ValueError(f"loss must be 'mse' or 'ce'; got {loss!r}")
    if loss == "ce":
        y = torch.as_tensor(y, dtype=torch.float64)
        if y.ndim != 2 or len(y) != len(x) or bool((y < 0).any()) or not torch.allclose(
                y.sum(1), torch.ones(len(y), dtype=torch.float64)):
            raise ValueError("y must be (N, K) rows of class probabilities (one-hot labels) "
                             f"for loss='ce'; got shape {tuple(y.shape)}")
    if generator is not None:
        state = torch.random.get_rng_state()
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    model = nets.ConvActually(L - 1, width=width, in_channels=x.shape[1], size=x.shape[-1],
                              n_classes=y.shape[1], bias=False, linear=True, normalize=False,
                              init_gain=init_gain).double()
    if generator is not None:
        torch.random.set_rng_state(state)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=max_iter, history_size=50,
                            tolerance_grad=1e-12, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")
    D = int(np.prod(x.shape[1:]))
    basis = torch.eye(D, dtype=torch.float64).reshape(D, *x.shape[1:])
    K = y.shape[1]

    def predictor_t():
        """``Wᵀ`` ``(D, K)``: the net applied to the basis images, or read off the weights."""
        if not via_fft:
            return model(basis)
        v = dft.effective_predictor(model.weights())            # (K, C, H, W) complex
        return torch.fft.ifft2(v, norm="ortho").real.reshape(K, D).T

    if loss == "mse":
        S, B = theory.statistics(x, y)
        yy = float((y.double() ** 2).sum(1).mean())

        def data_loss():
            if not via_basis:
                return ((y - model(x)) ** 2).sum(1).mean()
            Wt = predictor_t()                                  # (D, K) = Wᵀ
            return (Wt * (S @ Wt)).sum() - 2 * (B.T * Wt).sum() + yy
    else:
        x = torch.as_tensor(x, dtype=torch.float64)
        xf = x.reshape(len(x), D)

        def data_loss():
            logits = xf @ predictor_t() if via_basis else model(x)     # (N, K)
            return -(y * F.log_softmax(logits, 1)).sum(1).mean()

    def closure():
        opt.zero_grad()
        loss = data_loss() + lam * penalty(model)
        loss.backward()
        return loss

    with presets.threads(1):
        for _ in range(2):
            opt.step(closure)
        closure()
    g = math.sqrt(sum(float((p.grad.detach() ** 2).sum()) for p in model.parameters()))
    return model, {"loss": float(data_loss().detach()), "grad_norm": g}


def relative_error(a, b, mask) -> float:
    """``‖a − b‖₂ / ‖b‖₂`` over the entries selected by ``mask``."""
    a, b = np.asarray(a)[mask], np.asarray(b)[mask]
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def carrying(ref, frac: float = 0.05):
    """Frequencies that carry weight: ``ref > frac·max(ref)``."""
    ref = np.asarray(ref)
    return ref > frac * ref.max()


def _moduli(v):
    """Per-frequency magnitude: ``|v̂|`` (scalar) or singular values (``(H, W, r)``)."""
    v = torch.as_tensor(v)
    if v.shape[0] == 1 and v.shape[1] == 1:
        return v[0, 0].abs().numpy()
    return torch.linalg.svdvals(v.permute(2, 3, 0, 1)).numpy()


def theorem_case(L: int, lam: float, n: int, *, size: int = 8, channels: int = 1,
                 outputs: int = 1, width: int = 1, alpha: float = 2.0, noise: float = 0.1,
                 offset: int = 0, train_net: bool = True, gamma=None, max_iter: int = 300,
                 init_gain: float = 1.0, branch: str = "upper", n_iter: int = 3000):
    """One G2 case: data, the trained net, the exact solution and the diagonal closed form.

    Returns a dict of per-frequency magnitudes (``|v̂|`` or singular values) ``net``,
    ``exact`` (for ``L ≥ 3`` an upper-branch stationary point of proximal gradient, not the
    global minimiser), ``diag`` and ``tau`` (population variances), the ``mask`` of carrying
    frequencies, the errors ``err_net_exact`` and ``err_diag`` (net or exact vs diagonal
    form) and the trained net's final gradient norm. For ``L ≥ 3`` with a trained net also
    ``exact_global`` (proximal gradient with the global prox, started at ``exact``: it
    moves off an upper-branch point that is not a fixed point of the true prox) and
    ``stuck_vs_global``: the
    frequencies that carry weight there on which the net stayed at 0 (``stuck_at_zero``
    counts them against the upper-branch ``exact``).
    """
    g = presets.generator(offset)
    shape = (channels, size, size)
    if gamma is None:
        gamma = [1.0, 0.6, 0.3][:channels] if channels <= 3 else 1.0
    tau = gdata.power_law_tau(shape, alpha=alpha, gamma=gamma)
    x = gdata.stationary_gaussian(n, tau, generator=g)
    y, w_star = gdata.planted_teacher(x, outputs, noise=noise, generator=g)
    S, B = theory.statistics(x, y)
    with presets.threads(1):
        if L == 1:
            exact = theory.ridge_exact(S, B, lam, shape)
        else:
            exact = theory.prox_gradient(S, B, lam, L, shape, n_iter=n_iter)
        tau_hat = theory.fourier_variance(S, shape).numpy()
        v_ls = theory.least_squares(S, B, shape).numpy()
        if channels == 1:
            diag = theory.diagonal_solution(tau_hat, v_ls, lam, L, (size, size), branch)
        else:
            diag = theory.prox_gradient(S, B, lam, L, shape, diagonal=True).numpy()
    out = {"tau": tau, "tau_hat": tau_hat, "exact": _moduli(exact), "diag": _moduli(diag),
           "ls": _moduli(torch.as_tensor(v_ls)), "v_star": _moduli(
               torch.fft.fft2(w_star, norm="ortho"))}
    out["mask"] = carrying(out["exact"])
    out["err_diag"] = relative_error(out["exact"], out["diag"], out["mask"])
    if train_net:
        model, info = fit_linear_cnn(x, y, L, lam, width=width, generator=g, max_iter=max_iter,
                                     init_gain=init_gain)
        with torch.no_grad():
            v_net = dft.effective_predictor(model.weights())
        out["net"] = _moduli(v_net)
        out["err_net_exact"] = relative_error(out["net"], out["exact"], out["mask"])
        out["err_net_diag"] = relative_error(out["net"], out["diag"], out["mask"])
        out["grad_norm"] = info["grad_norm"]
        out["stuck_at_zero"] = int(np.sum(out["mask"] & (out["net"] < 1e-3 * out["exact"].max())))
        if L >= 3:
            # for L ≥ 3 "exact" is an upper-branch stationary point; a frequency is only
            # "stuck" if the *global* reference carries weight there and the net left 0.
            # Proximal gradient with the true (global) prox, started at the upper point:
            # it stays only if that point is a fixed point of the global prox too.
            with presets.threads(1):
                glob = _moduli(theory.prox_gradient(S, B, lam, L, shape, n_iter=n_iter,
                                                    branch="global", v0=exact))
            out["exact_global"] = glob
            out["stuck_vs_global"] = int(np.sum(carrying(glob)
                                                & (out["net"] < 1e-3 * glob.max())))
    return out


# --------------------------------------------------------------------- G4–G6 sweeps
def make_model(kind: str, depth: int = 2, *, width: int = 16, size: int = 16,
               in_channels: int = 1, n_classes: int = 10) -> torch.nn.Module:
    """``kind`` = ``"convactually"``, ``"linear"`` (ConvActually without ReLU),
    ``"myrtle"`` (``depth`` is ignored; ``width`` = c), ``"resnet"`` (``depth`` 9/20/56)."""
    if kind in ("convactually", "linear"):
        return nets.ConvActually(depth, width=width, in_channels=in_channels, size=size,
                                 n_classes=n_classes, linear=kind == "linear")
    if kind == "myrtle":
        return nets.MyrtleCNN(width, in_channels=in_channels, n_classes=n_classes)
    if kind == "resnet":
        return nets.resnet(depth, width=width, in_channels=in_channels, n_classes=n_classes)
    raise ValueError(f"kind must be 'convactually', 'linear', 'myrtle' or 'resnet'; got "
                     f"{kind!r}")


def standin_set(n_train: int, n_test: int, *, size: int = 16, channels: int = 1,
                seed: int = 0):
    """Stand-in train/test tensors ``(x, y)`` in [0, 1] (offline photographs)."""
    tr, te = fldata.load_natural(n_train, n_test, prefer="standin", size=size,
                                 channels=channels, seed=seed, verbose=False)
    return ((torch.as_tensor(tr.x), torch.as_tensor(tr.y).long()),
            (torch.as_tensor(te.x), torch.as_tensor(te.y).long()))


_KINDS = ("convactually", "linear", "myrtle", "resnet")
_OPTIMIZERS = ("sgd", "adam")


def _decayed(model):
    """The parameters PyTorch's ``weight_decay`` acts on (weights, as the released code) and
    the rest (biases, norms)."""
    decay = [p for n, p in model.named_parameters() if "weight" in n or n.startswith("w.")]
    rest = [p for n, p in model.named_parameters() if not ("weight" in n or n.startswith("w."))]
    return decay, rest


def _labelled(pair, name: str, *, empty: bool = True):
    """``(x, y)``: ``x`` a real floating tensor of images, ``y`` integer labels of the same
    length; ``empty=False`` refuses zero samples."""
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(f"{name} must be a pair (x, y) of tensors; got {type(pair).__name__}")
    x, y = pair
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a pair (x, y) of tensors; got "
                        f"({type(x).__name__}, {type(y).__name__})")
    _check_xy(x, y, name)
    if not empty and len(x) == 0:
        raise ValueError(f"{name} must hold at least one sample; got none")
    return x, y


def _check_xy(x, y, name: str) -> None:
    for t, what in ((x, "x"), (y, "y")):
        if t.device.type == "meta":
            raise ValueError(f"{name} {what} is a tensor on the meta device, which holds no "
                             "data; pass tensors on a real device (cpu, cuda)")
    if not x.dtype.is_floating_point or x.ndim < 2:
        raise TypeError(f"{name} x must be a real floating tensor (N, ...); got {x.dtype} "
                        f"{tuple(x.shape)}")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool or y.ndim != 1:
        raise TypeError(f"{name} y must be a 1-D tensor of integer labels; got {y.dtype} "
                        f"{tuple(y.shape)}")
    if len(y) != len(x):
        raise ValueError(f"{name} x and y must hold the same number of samples; got "
                         f"{len(x)} and {len(y)}")
    if x.device != y.device:
        raise ValueError(f"{name} x and y must be on the same device; got {x.device} and "
                         f"{y.device}")


def _state_digest(model) -> str:
    """A digest of every parameter and buffer of ``model`` (its weights at this moment)."""
    return store.digest({k: v for k, v in model.state_dict().items()})


def train_classifier(model, x, y, *, steps: int, lr: float, weight_decay: float,
                     batch: int = 128, target_loss: float | None = None, seed: int = 0,
                     optimizer: str = "sgd", checkpoint=None, check_every: int = 25,
                     clip: float | None = None):
    """Minibatch training with cross-entropy; stops early at ``target_loss`` (full-set loss,
    checked every ``check_every`` steps). ``weight_decay`` is PyTorch's (``= 2λ`` of Eq.
    4.1), on the parameters whose name holds ``weight`` or ``w.`` (not biases), as the
    released code. ``clip``: gradient-norm clipping (keeps deep full-kernel ReLU nets from
    dying). ``checkpoint``: ``None`` (none) or a file, resumed when it exists; its
    fingerprint holds every argument (the model's class and weights at entry, a digest of
    ``x`` and ``y``, the hyper-parameters), so a file of another call is refused
    (:class:`freqlearn.train.CheckpointMismatch`). Returns the number of steps run and the
    final training loss."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"x and y must be tensors; got {type(x).__name__} and "
                        f"{type(y).__name__}")
    _check_xy(x, y, "train_classifier:")
    steps = chk.integer(steps, "steps", minimum=0)
    lr = chk.real(lr, "lr", minimum=0.0, strict=True)
    weight_decay = chk.real(weight_decay, "weight_decay", minimum=0.0)
    batch = chk.integer(batch, "batch", minimum=1)
    if target_loss is not None:
        target_loss = chk.real(target_loss, "target_loss", minimum=0.0)
    seed = chk.integer(seed, "seed", minimum=0)
    chk.one_of(optimizer, "optimizer", _OPTIMIZERS)
    check_every = chk.integer(check_every, "check_every", minimum=1)
    if clip is not None:
        clip = chk.real(clip, "clip", minimum=0.0, strict=True)
    if steps > 0 and len(x) == 0:
        raise ValueError("x holds no samples to train on")
    # checkpoint=None keeps its meaning here: no checkpoint (the sweep points pass a path)
    ck = train.resolve_checkpoint(checkpoint if checkpoint is not None else False,
                                  "train_classifier", key=dict(
                                      model=store.callable_identity(type(model)),
                                      weights=_state_digest(model), x=x, y=y, steps=steps,
                                      lr=lr, weight_decay=weight_decay, batch=batch,
                                      target_loss=target_loss, seed=seed, optimizer=optimizer,
                                      check_every=check_every, clip=clip))
    decay, rest = _decayed(model)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    opt = (torch.optim.SGD(groups, lr=lr, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam(groups, lr=lr))
    g = torch.Generator().manual_seed(seed)
    # updates done, in the checkpointed state: a finished file resumed gives ``steps``, not 0
    done = torch.zeros((), dtype=torch.int64)
    state = {"loss": float("nan")}

    def full_loss():
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)])
            loss = float(F.cross_entropy(out, y))
        model.train()
        return loss

    class _Stop(Exception):
        pass

    def step(t):
        idx = torch.randint(0, len(x), (batch,), generator=g).to(x.device)
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        done.fill_(t + 1)
        if target_loss is not None and (t + 1) % check_every == 0:
            state["loss"] = full_loss()
            if state["loss"] <= target_loss:
                raise _Stop

    model.train()
    try:
        train.run(step, steps, generators=[g], state={"model": model, "opt": opt, "done": done},
                  checkpoint=ck, desc="train", progress=False,
                  fingerprint={"lr": lr, "weight_decay": weight_decay, "batch": batch,
                               "target_loss": target_loss, "seed": seed,
                               "optimizer": optimizer, "check_every": check_every,
                               "clip": clip} if ck is not None else None)
    except _Stop:
        pass
    state["loss"] = full_loss() if len(x) else float("nan")
    model.eval()
    return int(done), state["loss"]


def _accuracy(model, x, y):
    with torch.no_grad():
        out = torch.cat([model(x[i:i + 512]) for i in range(0, len(x), 512)])
    return float((out.argmax(1) == y).float().mean())


def sensitivity_point(*, kind: str, depth: int, weight_decay: float, seed: int,
                      size: int = 16, width: int = 16, n_train: int = 1000, n_test: int = 200,
                      steps: int = 400, lr: float = 0.01, target_loss: float | None = None,
                      optimizer: str = "sgd", data_seed: int = 0, workdir=None) -> dict:
    """One sweep point (G4–G6): train a model on the stand-in and measure its sensitivity.

    Returns the radial profiles and moments (Eq. 5.1) of the trained net and of the same
    net at initialisation (the untrained null), training loss and steps, test accuracy.
    ``workdir`` (given by :func:`freqlearn.sweep.sweep`) holds the training checkpoint.
    """
    chk.one_of(kind, "kind", _KINDS)
    depth = chk.integer(depth, "depth", minimum=0)
    weight_decay = chk.real(weight_decay, "weight_decay", minimum=0.0)
    seed = chk.integer(seed, "seed", minimum=0)
    size = chk.integer(size, "size", minimum=2)
    width = chk.integer(width, "width", minimum=1)
    n_train = chk.integer(n_train, "n_train", minimum=1)
    n_test = chk.integer(n_test, "n_test", minimum=1)
    steps = chk.integer(steps, "steps", minimum=0)
    lr = chk.real(lr, "lr", minimum=0.0, strict=True)
    if target_loss is not None:
        target_loss = chk.real(target_loss, "target_loss", minimum=0.0)
    chk.one_of(optimizer, "optimizer", _OPTIMIZERS)
    data_seed = chk.integer(data_seed, "data_seed", minimum=0)
    (x, y), (xt, yt) = standin_set(n_train, n_test, size=size, seed=data_seed)
    torch.manual_seed(seed)
    model = make_model(kind, depth, width=width, size=size)
    dev = presets.device()                      # the init is drawn on the CPU, then moved
    model, x, y, xt, yt = model.to(dev), x.to(dev), y.to(dev), xt.to(dev), yt.to(dev)
    model.eval()
    m0 = sensitivity.frequency_sensitivity(model, xt)
    ckpt = None if workdir is None or not train.checkpointing() else Path(workdir) / "ckpt.pt"
    with presets.threads(1):
        n_steps, loss = train_classifier(model, x, y, steps=steps, lr=lr,
                                         weight_decay=weight_decay, target_loss=target_loss,
                                         seed=seed, optimizer=optimizer, checkpoint=ckpt,
                                         check_every=5, clip=1.0)
        m1 = sensitivity.frequency_sensitivity(model, xt)
    out = {"kind": kind, "depth": depth, "weight_decay": weight_decay, "seed": seed,
           "steps": n_steps, "train_loss": loss, "test_acc": _accuracy(model, xt, yt)}
    for tag, m in (("untrained", m0), ("trained", m1)):
        r, gr = sensitivity.radial(m)
        out[f"{tag}_map"] = m
        out[f"{tag}_r"], out[f"{tag}_g"] = r, gr
        ok = bool(np.isfinite(gr).all() and gr.sum() > 0)
        out[f"{tag}_m1"], out[f"{tag}_m2"] = (sensitivity.moments(r, gr) if ok
                                              else (float("nan"), float("nan")))
        out[f"{tag}_m1_sum"], out[f"{tag}_m2_sum"] = (
            sensitivity.moments(r, gr, "sum") if ok else (float("nan"), float("nan")))
    return out


def linear_sweep_point(*, depth: int, lam: float, size: int = 12, n_train: int = 1500,
                       width: int = 2, seed: int = 0, data_seed: int = 0,
                       workdir=None) -> dict:
    """Deep *linear* ConvActually (G4/G5, hypothesis I in its own setting): MSE on centred
    one-hot targets with weight decay λ (Eq. 4.1), trained to convergence by L-BFGS on the
    grey stand-in; sensitivity map = ``‖v̂_ij‖`` over classes (the gradient of a linear net
    is ``v``). Returns moments of the net and of the per-frequency closed form."""
    (x, y), _ = standin_set(n_train, 0, size=size, seed=data_seed)
    x = x.double()
    x = x - x.mean(0, keepdim=True)
    yy = F.one_hot(y, 10).double()
    yy = yy - yy.mean(0, keepdim=True)
    L = depth + 1
    g = torch.Generator().manual_seed(seed)
    model, info = fit_linear_cnn(x, yy, L, lam, width=width, generator=g, via_fft=True)
    g0 = torch.Generator().manual_seed(seed)
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g0)))
    init = nets.ConvActually(L - 1, width=width, in_channels=1, size=size, n_classes=10,
                             bias=False, linear=True, normalize=False).double()
    with torch.no_grad():
        v = dft.effective_predictor(model.weights())
        v0 = dft.effective_predictor(init.weights())
    smap = v.abs().pow(2).sum(0).sqrt().numpy()                # (1, H, W)
    imap = v0.abs().pow(2).sum(0).sqrt().numpy()
    S, B = theory.statistics(x, yy)
    shape = (1, size, size)
    tau_hat = theory.fourier_variance(S, shape).numpy()
    v_ls = theory.least_squares(S, B, shape).numpy()
    vd = theory.diagonal_solution(tau_hat, v_ls, lam, L, (size, size))
    dmap = np.linalg.norm(vd, axis=0)
    out = {"depth": depth, "lam": lam, "grad_norm": info["grad_norm"], "map": smap,
           "diag_map": dmap}
    for tag, m in (("net", smap), ("diag", dmap), ("init", imap)):
        r, gr = sensitivity.radial(m)
        out[f"{tag}_r"], out[f"{tag}_g"] = r, gr
        out[f"{tag}_m1"], out[f"{tag}_m2"] = sensitivity.moments(r, gr)
    return out


def residual_toy(lams, *, depth: int = 2, size: int = 8, n_train: int = 1000,
                 data_seed: int = 0) -> dict:
    """G6 toy, per frequency: a linear net with ``depth`` full-size circular convolutions
    and a readout ``R``, plain (``v̂ = s^d R Π ŵ_l``) or residual (``v̂ = R Π(1 + s ŵ_l)``,
    identity skips), ``s = √(HW)``, with Eq. 4.1's penalty ``λ(R² + Σŵ_l²)`` per frequency
    and the diagonal data term ``τ(|v̂| − |v̂_LS|)²`` of the grey stand-in (centred one-hot
    targets). Minimised (from the same start) by L-BFGS over all frequencies at once.
    Returns the moments (Eq. 5.1) of ``|v̂|`` for each λ, plain and residual."""
    (x, y), _ = standin_set(n_train, 0, size=size, seed=data_seed)
    x = x.double() - x.double().mean(0, keepdim=True)
    yy = F.one_hot(y, 10).double()
    yy = yy - yy.mean(0, keepdim=True)
    S, B = theory.statistics(x, yy)
    shape = (1, size, size)
    tau = theory.fourier_variance(S, shape).reshape(-1)
    z = torch.as_tensor(np.linalg.norm(theory.least_squares(S, B, shape).numpy(), axis=0)
                        ).reshape(-1)
    s = float(size)
    out = {"lam": list(lams), "plain_m1": [], "res_m1": [], "plain_maps": [], "res_maps": []}
    for lam in lams:
        for tag in ("plain", "res"):
            R = torch.full_like(z, 0.5).requires_grad_(True)
            Wt = torch.full((depth, len(z)), 0.1, dtype=z.dtype).requires_grad_(True)
            opt = torch.optim.LBFGS([R, Wt], max_iter=2000, tolerance_grad=1e-12,
                                    tolerance_change=1e-16, line_search_fn="strong_wolfe")

            def v(R=R, Wt=Wt, tag=tag):
                return R * torch.prod(1 + s * Wt if tag == "res" else s * Wt, 0)

            def closure(opt=opt, R=R, Wt=Wt, v=v, lam=lam):
                opt.zero_grad()
                loss = (tau * (v() - z) ** 2).sum() + lam * ((R ** 2).sum() + (Wt ** 2).sum())
                loss.backward()
                return loss

            with presets.threads(1):
                opt.step(closure)
                opt.step(closure)
            m = v().detach().abs().reshape(1, size, size).numpy()
            r, gr = sensitivity.radial(m)
            out[f"{tag}_m1"].append(sensitivity.moments(r, gr)[0] if gr.sum() > 0 else 0.0)
            out[f"{tag}_maps"].append(m[0])
    return out


def rank_trend(xs, values) -> float:
    """Spearman ρ of ``values`` against ``xs``, rounded to 10 decimals (ρ of ``n`` untied
    points is a multiple of ``6/(n³−n)``; the rounding removes float noise such as
    ``−0.7999999999999999`` so a bound ``ρ ≤ −0.8`` reads as stated)."""
    xs, values = np.asarray(xs, dtype=float), np.asarray(values, dtype=float)
    if xs.shape != values.shape or xs.ndim != 1 or len(xs) < 3:
        raise ValueError(f"xs and values must be 1-D of the same length ≥ 3; got {xs.shape} "
                         f"and {values.shape}")
    return round(sensitivity.spearman(xs, values), 10)


def moment_grid(results, xs, n_seeds: int) -> dict:
    """Arrange sweep results (``x``-major, then seed) into ``(len(xs), n_seeds)`` arrays of
    ``trained_m1``, ``trained_m2``, ``untrained_m1``, ``untrained_m2``, ``train_loss`` and
    ``steps``, and add the trends: ``rho_<t>`` (Spearman ρ of the seed-mean moments against
    ``xs``) and ``rho_<t>_seeds`` (one ρ per seed), for ``t`` in the four moment keys and,
    when every point has them, ``trained_m1_sum``/``trained_m2_sum`` (the authors'
    discrete-sum convention of :func:`freqlearn.sensitivity.moments`)."""
    if len(results) != len(xs) * n_seeds:
        raise ValueError(f"results must hold len(xs)·n_seeds = {len(xs) * n_seeds} points; "
                         f"got {len(results)}")
    keys = ("trained_m1", "trained_m2", "untrained_m1", "untrained_m2", "train_loss", "steps")
    extra = tuple(k for k in ("trained_m1_sum", "trained_m2_sum")
                  if all(k in p for p in results))
    out = {"x": list(xs)}
    for k in keys + extra:
        out[k] = np.array([p[k] for p in results], dtype=float).reshape(len(xs), n_seeds)
    for k in keys[:4] + extra:
        a = out[k]
        same = np.all(a == a[:1], axis=0)         # untrained nets that do not depend on x
        out[f"rho_{k}"] = (float("nan") if same.all() else rank_trend(xs, a.mean(1)))
        out[f"rho_{k}_seeds"] = np.array([float("nan") if same[j] else rank_trend(xs, a[:, j])
                                          for j in range(n_seeds)])
    return out


def untrained_moments(kind: str, depths, seeds, *, size: int = 16, width: int = 16,
                      n_test: int = 100, data_seed: int = 0) -> dict:
    """Moments (Eq. 5.1) of the sensitivity of *untrained* nets (the null of G4): for each
    depth and seed, the net :func:`sensitivity_point` would build (``torch.manual_seed(seed)``
    then :func:`make_model`) on the same held-out images. Cheap (no training), so the null
    can use more seeds than the trained sweep. Returns ``m1``, ``m2``:
    ``(len(depths), len(seeds))`` and the trends of :func:`moment_grid` as ``rho_m1``,
    ``rho_m1_seeds``, ``rho_m2``, ``rho_m2_seeds``."""
    _, (xt, _) = standin_set(0, n_test, size=size, seed=data_seed)
    m = np.zeros((2, len(depths), len(seeds)))
    with presets.threads(1):
        for i, d in enumerate(depths):
            for j, s in enumerate(seeds):
                torch.manual_seed(int(s))
                net = make_model(kind, int(d), width=width, size=size)
                r, gr = sensitivity.radial(sensitivity.frequency_sensitivity(net, xt))
                m[:, i, j] = sensitivity.moments(r, gr)
    out = {"m1": m[0], "m2": m[1]}
    for k in ("m1", "m2"):
        out[f"rho_{k}"] = rank_trend(depths, out[k].mean(1))
        out[f"rho_{k}_seeds"] = np.array([rank_trend(depths, out[k][:, j])
                                          for j in range(len(seeds))])
    return out


def flat_trend_null(kind: str, xs, seeds, *, depth: int = 2, size: int = 16,
                    width: int = 16, n_test: int = 100, data_seed: int = 0) -> dict:
    """The null of a trend "moments fall with λ": the Spearman ρ that a *flat* curve with
    the nets' own seed-to-seed spread shows. The untrained nets of ``seeds`` (built as
    :func:`sensitivity_point` builds them) are dealt out, ``len(xs)`` at a time, to the
    grid ``xs``; each group gives one ρ(xs, m) — a null that knows the moments' noise and
    the grid's size, unlike a bare 0. Returns ``rho_m1``, ``rho_m2``
    (``len(seeds) // len(xs)`` groups each)."""
    k = len(xs)
    if len(seeds) < 2 * k:
        raise ValueError(f"need at least {2 * k} seeds for two groups; got {len(seeds)}")
    _, (xt, _) = standin_set(0, n_test, size=size, seed=data_seed)
    n = len(seeds) // k * k
    m = np.zeros((2, n))
    with presets.threads(1):
        for j, s in enumerate(seeds[:n]):
            torch.manual_seed(int(s))
            net = make_model(kind, depth, width=width, size=size)
            r, gr = sensitivity.radial(sensitivity.frequency_sensitivity(net, xt))
            m[:, j] = sensitivity.moments(r, gr)
    return {f"rho_{t}": flat_trend(xs, m[i]) for i, t in enumerate(("m1", "m2"))}


def flat_trend(xs, values) -> np.ndarray:
    """Spearman ρ(xs, group) of ``values`` (one per independent net, no dependence on
    ``xs``) dealt out ``len(xs)`` at a time: the trends a flat curve with their spread
    shows (:func:`flat_trend_null`). A remainder of fewer than ``len(xs)`` is dropped."""
    v = np.asarray(values, dtype=float).ravel()
    k = len(xs)
    n = len(v) // k * k
    if n < 2 * k:
        raise ValueError(f"need at least {2 * k} values for two groups; got {len(v)}")
    return np.array([rank_trend(xs, g) for g in v[:n].reshape(-1, k)])


def matched_sweeps(*, depths, lams, seeds, depth_decay: float, decay_depth: int,
                   resnet_depth: int, folder, executor=None, max_workers: int = 1,
                   lr: float = 0.01, resnet_lr: float = 0.05, myrtle_lams=None,
                   myrtle_lr: float = 0.03, **common) -> dict:
    """G4–G6 at matched training loss, as one sweep (:func:`freqlearn.sweep.sweep`, one point
    = one (model, depth or λ, seed) call of :func:`sensitivity_point`):

    - ``"depth"``: ReLU ConvActually at each of ``depths``, PyTorch weight decay
      ``depth_decay``;
    - ``"lam"``: ReLU ConvActually of depth ``decay_depth`` at each weight decay of ``lams``;
    - ``"resnet"``: the CIFAR ResNet of depth ``resnet_depth`` (6n+2) at each of ``lams``;
    - ``"myrtle"`` (when ``myrtle_lams`` is given): the Myrtle CNN (SI C.5 table (b),
      ``width`` base channels) at each weight decay of ``myrtle_lams``, rate ``myrtle_lr``.

    ``common`` (``size``, ``width``, ``n_train``, ``n_test``, ``steps``, ``target_loss``,
    ``data_seed``) goes to every point. Points shared by two sweeps run once. Returns
    :func:`moment_grid` of each sweep (keys ``"depth"``, ``"lam"``, ``"resnet"`` and
    ``"myrtle"``).
    """
    from .. import sweep as flsweep

    seeds = [int(s) for s in seeds]
    plans = {"depth": [dict(kind="convactually", depth=int(d), weight_decay=float(depth_decay),
                            lr=lr) for d in depths],
             "lam": [dict(kind="convactually", depth=int(decay_depth), weight_decay=float(w),
                          lr=lr) for w in lams],
             "resnet": [dict(kind="resnet", depth=int(resnet_depth), weight_decay=float(w),
                             lr=resnet_lr) for w in lams]}
    xs_of = {"depth": depths, "lam": lams, "resnet": lams}
    if myrtle_lams is not None:
        plans["myrtle"] = [dict(kind="myrtle", depth=0, weight_decay=float(w), lr=myrtle_lr)
                           for w in myrtle_lams]
        xs_of["myrtle"] = myrtle_lams
    full = {name: [dict(p, seed=s, **common) for p in plan for s in seeds]
            for name, plan in plans.items()}
    unique = []
    for pts in full.values():
        for p in pts:
            if p not in unique:
                unique.append(p)
    res = flsweep.sweep(sensitivity_point, unique, folder, executor=executor,
                        max_workers=max_workers)
    out = {}
    for name, pts in full.items():
        got = [res[unique.index(p)] for p in pts]
        xs = xs_of[name]
        out[name] = moment_grid(got, xs, len(seeds))
        out[name]["maps"] = [got[i * len(seeds)]["trained_map"] for i in range(len(xs))]
    return out


# ------------------------------------------------- the title claim as an intervention
#: the spectrum conditions: name → :func:`freqlearn.data.godfrey.fit_spectrum_transform`
#: arguments (``{}``: the images unchanged). A slope ``s`` gives per-frequency variance
#: ``∝ |k|^(−s)``: 0 whitens, −1 rises with frequency; ``cutoff`` removes ``0 < |k| < c``.
SPECTRA = {"unchanged": {}, "white": {"slope": 0.0}, "power 1": {"slope": 1.0},
           "power 2": {"slope": 2.0}, "power 3": {"slope": 3.0},
           "rising": {"slope": -1.0}, "high-pass": {"cutoff": 2.0}}


def _nondc(shape):
    """Mask of the non-DC components of a ``(C, H, W)`` map."""
    m = np.ones(shape, dtype=bool)
    m[..., 0, 0] = False
    return m


def spectrum_similarity(smap, tau) -> float:
    """Spearman ρ between ``log`` sensitivity and ``log`` variance over the non-DC
    frequencies of ``(C, H, W)`` maps (variances below ``1e-12·max`` — the components a
    high-pass removed — are tied at the floor). Ranks make the log immaterial; it names
    what is compared. ``nan`` when either map is constant (a whitened set's variance)."""
    s, t = np.asarray(smap, dtype=float), np.asarray(tau, dtype=float)
    m = _nondc(t.shape)
    t = np.log(np.maximum(t, 1e-12 * t.max()))[m]
    s = np.log(np.maximum(s, 1e-300))[m]
    if np.ptp(t) <= 1e-6 or np.ptp(s) == 0:
        return float("nan")
    return sensitivity.spearman(s, t)


def sensitivity_slope(smap) -> float:
    """Least-squares slope of ``log s`` against ``log |k|`` over ``1 ≤ |k| ≤`` Nyquist
    (channels averaged): a sensitivity ``∝ |k|^b`` gives ``b``. Data of variance ``∝
    |k|^(−s)`` have amplitude ``∝ |k|^(−s/2)``: inheriting it means ``b ≈ −s/2``."""
    return gdata.radial_power_slope(smap)


def ensemble_sensitivity(model, x) -> np.ndarray:
    """SI C.2 sensitivity maps of every member of a
    :class:`freqlearn.nets.godfrey.ConvActuallyEnsemble`: ``(T, C, H, W)``, the mean over
    images of ``‖|DFT_ortho(∇_x f_k)|‖₂`` over classes (``K`` backward passes for all
    members at once). ``x``: ``(B, C, H, W)`` shared by the members, or ``(T, B, C, H, W)``,
    each member's own images."""
    x = torch.as_tensor(x).to(next(model.parameters()).dtype)
    xt = (x.expand(model.trials, *x.shape) if x.ndim == 4 else x).clone()
    xt.requires_grad_(True)
    was = model.training
    model.eval()
    with torch.enable_grad():
        out = model(xt)
        J2 = 0
        for k in range(out.shape[-1]):
            (g,) = torch.autograd.grad(out[..., k].sum(), xt,
                                       retain_graph=k < out.shape[-1] - 1)
            J2 = J2 + torch.fft.fft2(g, norm="ortho").abs().pow(2)
    model.train(was)
    return J2.sqrt().mean(1).detach().double().numpy()


def train_ensemble(model, x, y, *, steps: int, lr: float, weight_decay: float,
                   batch: int = 64, seed: int = 0, clip: float = 1.0, groups: int = 1):
    """SGD (momentum 0.9) on every member of an ensemble at once, each member with its own
    gradient-norm clipping at ``clip``; PyTorch ``weight_decay`` (``= 2λ`` of Eq. 4.1) on
    kernels and readout, not biases. ``x``: ``(N, C, H, W)`` shared, or ``(T, N, C, H, W)``
    (each member's own images; labels ``y`` ``(N,)`` shared). The ``T`` members form
    ``groups`` blocks of ``T / groups``; member ``t`` draws the minibatches of member
    ``t mod (T / groups)`` (from ``seed``), so the blocks see the same batch order.
    Returns the members' final full training losses ``(T,)``."""
    steps = chk.integer(steps, "steps", minimum=0)
    T = model.trials
    if T % groups:
        raise ValueError(f"groups ({groups}) must divide the {T} members")
    xs = x.expand(T, *x.shape) if x.ndim == 4 else x
    decay = [*model.w, model.readout_weight]
    rest = [*model.b, model.readout_bias]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                           {"params": rest, "weight_decay": 0.0}], lr=lr, momentum=0.9)
    g = torch.Generator().manual_seed(seed)
    params = decay + rest
    rows = torch.arange(T)[:, None]
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, xs.shape[1], (T // groups, batch), generator=g).repeat(
            groups, 1)
        opt.zero_grad()
        logits = model(xs[rows, idx])
        F.cross_entropy(logits.flatten(0, 1), y[idx].flatten(), reduction="sum").div(
            batch).backward()
        norm = torch.sqrt(sum(p.grad.flatten(1).pow(2).sum(1) for p in params))
        fac = (clip / norm.clamp_min(1e-12)).clamp(max=1.0)
        for p in params:
            p.grad.mul_(fac.view(-1, *[1] * (p.ndim - 1)))
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(xs)
        loss = F.cross_entropy(out.transpose(1, 2), y.expand(T, len(y)),
                               reduction="none").mean(1)
    return loss.numpy()


def spectrum_intervention(*, conditions=None, kinds=("convactually", "linear"),
                          weight_decays=(1e-2,), trials: int = 4, depth: int = 2,
                          size: int = 8, width: int = 8, n_train: int = 500,
                          n_test: int = 100, steps: int = 300, lr: float = 0.01,
                          batch: int = 32, seed: int = 0, data_seed: int = 0) -> dict:
    """The title claim as an intervention (catalog G4, the paper's title): for each net
    ``kind`` (ReLU ConvActually or its linear variant, ``depth`` blocks) and PyTorch weight
    decay, ``trials`` nets are trained on the grey stand-in with its spectrum changed by
    each of ``conditions`` (names of :data:`SPECTRA`; each transform is fitted on the
    training images and applied to the held-out ones). All conditions and trials train at
    once (one vectorised :class:`freqlearn.nets.godfrey.ConvActuallyEnsemble`), and trial
    ``t`` has the same initialisation and minibatch order in every condition (a paired
    design). Returns ``{"tau": {cond: (C, H, W)}, "conditions": [...], "runs": {(kind, wd,
    cond): dict}}``, each run holding the trained and untrained maps ``(T, C, H, W)``,
    their similarity to the condition's training variance (``rho_trained``,
    ``rho_untrained``, :func:`spectrum_similarity`), the similarity of the nets trained on
    *unchanged* images to this condition's variance (``rho_unchanged_net``), the
    sensitivity slopes ``slope_trained``/``slope_untrained`` (:func:`sensitivity_slope`),
    the final training loss and the test accuracy, all per trial."""
    conditions = list(SPECTRA) if conditions is None else list(conditions)
    for c in conditions:
        chk.one_of(c, "condition", tuple(SPECTRA))
    if "unchanged" not in conditions:
        conditions = ["unchanged", *conditions]
    trials = chk.integer(trials, "trials", minimum=2)
    (x0, y), (xt0, yt) = standin_set(n_train, n_test, size=size, seed=data_seed)
    xs, xts, taus = [], [], {}
    for c in conditions:
        f = gdata.fit_spectrum_transform(x0, **SPECTRA[c])
        x64 = f(x0)
        taus[c] = gdata.frequency_variance(x64)               # float64: white is flat
        xs.append(x64.float())
        xts.append(f(xt0).float())
    out = {"tau": taus, "conditions": conditions, "runs": {}}
    nc = len(conditions)
    X = torch.stack(xs).repeat_interleave(trials, 0)          # member c·T + t
    XT = torch.stack(xts).repeat_interleave(trials, 0)
    with presets.threads(1):
        for kind in kinds:
            chk.one_of(kind, "kind", ("convactually", "linear"))
            for wd in weight_decays:
                gen = torch.Generator().manual_seed(seed)
                net = nets.ConvActuallyEnsemble(nc * trials, depth, width=width, size=size,
                                                linear=kind == "linear", generator=gen)
                with torch.no_grad():                 # the same T inits in every condition
                    for p in net.parameters():
                        p.copy_(p[:trials].repeat(nc, *[1] * (p.ndim - 1)))
                m0 = ensemble_sensitivity(net, XT)
                loss = train_ensemble(net, X, y, steps=steps, lr=lr, weight_decay=wd,
                                      batch=batch, seed=seed + 1, groups=nc)
                m1 = ensemble_sensitivity(net, XT)
                with torch.no_grad():
                    acc = (net(XT).argmax(-1) == yt).float().mean(1).numpy()
                for i, c in enumerate(conditions):
                    sl = slice(i * trials, (i + 1) * trials)
                    out["runs"][(kind, wd, c)] = {
                        "trained_map": m1[sl], "untrained_map": m0[sl], "loss": loss[sl],
                        "test_acc": acc[sl]}
                ref = out["runs"][(kind, wd, "unchanged")]["trained_map"]
                for c in conditions:
                    run, tau = out["runs"][(kind, wd, c)], out["tau"][c]
                    for tag in ("trained", "untrained"):
                        run[f"rho_{tag}"] = np.array([spectrum_similarity(m, tau)
                                                      for m in run[f"{tag}_map"]])
                        run[f"slope_{tag}"] = np.array([sensitivity_slope(m)
                                                        for m in run[f"{tag}_map"]])
                    run["rho_unchanged_net"] = np.array([spectrum_similarity(m, tau)
                                                         for m in ref])
    return out


def intervention_table(out) -> str:
    """A markdown table of :func:`spectrum_intervention`'s runs: per net, weight decay and
    condition, the data's variance slope and the trials' mean ± sd of ``ρ`` (trained,
    untrained, trained on unchanged images), of the sensitivity slope (trained,
    untrained), of the final training loss and of the test accuracy."""
    def ms(a):
        a = np.asarray(a, dtype=float)
        return "—" if np.isnan(a).all() else f"{np.nanmean(a):+.2f} ± {np.nanstd(a):.2f}"

    head = ("net", "λ'", "images", "data slope", "ρ trained", "ρ untrained",
            "ρ net on unchanged", "slope trained", "slope untrained", "loss", "acc")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (kind, wd, c), r in out["runs"].items():
        tau = out["tau"][c]
        ds = "—" if "cutoff" in SPECTRA[c] else f"{gdata.radial_power_slope(tau):+.2f}"
        net = "ReLU" if kind == "convactually" else "linear"
        cells = (net, f"{wd:g}", c, ds, ms(r["rho_trained"]), ms(r["rho_untrained"]),
                 ms(r["rho_unchanged_net"]), ms(r["slope_trained"]),
                 ms(r["slope_untrained"]), f"{np.mean(r['loss']):.2f}",
                 f"{np.mean(r['test_acc']):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- G7 schedules
#: SI C.5 (paper v1 text) and the released code (``zoo.py``), with the choice made here.
PAPER_SCHEDULES = {
    "convactually-depth": {"batch": 1024, "lr": 1e-4, "patience": 20, "max_epochs": 500,
                           "min_lr": 1e-6, "weight_decay": 1e-5, "depths": [1, 2, 4, 8],
                           "text": "batch 1028, patience 50, wd 1e-9"},
    "convactually-decay": {"batch": 1024, "lr": 1e-4, "patience": 20, "max_epochs": 500,
                           "min_lr": 1e-6, "depth": 4,
                           "weight_decays": [1e-5, 2.15e-4, 4.64e-3, 1e-1],
                           "text": "λ shown 0.01 … 1"},
    "myrtle-decay": {"batch": 512, "lr": 1e-2, "patience": 20, "max_epochs": 500,
                     "min_lr": 1e-6,
                     "weight_decays": [float(v) for v in np.logspace(-5, -2, 10)],
                     "text": "lr 1e-4"},
    "resnet-depth": {"batch": 512, "lr": 0.1, "patience": 20, "max_epochs": 200,
                     "min_lr": 1e-6, "weight_decay": 1e-5, "depths": [9, 20, 56],
                     "text": "batch 32, lr 32/512, patience 10"},
    "resnet-decay": {"batch": 512, "lr": 0.1, "patience": 20, "max_epochs": 500,
                     "min_lr": 1e-6, "depth": 9,
                     "weight_decays": [float(v) for v in np.logspace(-5, -2, 10)],
                     "text": "as the code"},
}


def _augment(xb, g):
    """Random horizontal flip and a random translation by ≤ 2 px, both drawn **per image**
    (as ffcv's ``RandomHorizontalFlip`` and ``RandomTranslate`` of the released code); the
    uncovered border is filled with the batch mean."""
    flip = torch.rand(len(xb), generator=g) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    pad = 2
    B, C, H, W = xb.shape
    xp = F.pad(xb, (pad, pad, pad, pad), value=float(xb.mean()))
    off = torch.randint(0, 2 * pad + 1, (2, B), generator=g)
    rows = (off[0][:, None] + torch.arange(H))[:, None, :, None]     # (B, 1, H, 1)
    cols = (off[1][:, None] + torch.arange(W))[:, None, None, :]     # (B, 1, 1, W)
    return xp[torch.arange(B)[:, None, None, None], torch.arange(C)[None, :, None, None],
              rows, cols]


#: the ``format`` marker and version of :func:`train_paper`'s checkpoint file
PAPER_FORMAT = "freqlearn.experiments.godfrey.train_paper checkpoint"
PAPER_FORMAT_VERSION = 1
_PAPER_KEYS = {"format", "format_version", "fingerprint", "max_epochs", "epoch", "model",
               "opt", "sched", "scaler", "gen", "hist", "best"}
_HIST_KEYS = ("epoch", "val_acc", "lr", "train_loss")


def _plain_state(d, where: str):
    """A scheduler/scaler ``state_dict`` as plain data (what ``weights_only`` loading
    admits): numbers, strings, None, tensors, and lists/dicts of them. NumPy scalars become
    Python numbers; anything else is refused, naming the entry."""
    if d is None or isinstance(d, (bool, int, float, str, torch.Tensor)):
        return d
    if isinstance(d, np.generic) and np.ndim(d) == 0:
        return d.item()
    if isinstance(d, (list, tuple)):
        return [_plain_state(v, f"{where}[{i}]") for i, v in enumerate(d)]
    if isinstance(d, dict):
        return {k: _plain_state(v, f"{where}[{k!r}]") for k, v in d.items()}
    raise TypeError(f"{where} is a {type(d).__name__}, which a checkpoint cannot hold")


def _paper_fingerprint(model, data, *, lr, batch, weight_decay, patience, min_lr, seed,
                       augment, amp) -> dict:
    """What makes a :func:`train_paper` checkpoint this run's (plain JSON data)."""
    ctx = train.context() or {}
    x, y, xv, yv = data
    return {
        "function": store.callable_identity(train_paper),
        "lr": lr, "batch": batch, "weight_decay": weight_decay, "patience": patience,
        "min_lr": min_lr, "seed": seed, "augment": augment, "amp": amp,
        "model": store.callable_identity(type(model))["function"],
        "parameters": {k: f"{str(v.dtype).removeprefix('torch.')} {list(v.shape)}"
                       for k, v in model.state_dict().items()},
        "data": {"train_x": [str(x.dtype).removeprefix("torch."), *x.shape],
                 "train_y": [str(y.dtype).removeprefix("torch."), *y.shape],
                 "val_x": [str(xv.dtype).removeprefix("torch."), *xv.shape],
                 "val_y": [str(yv.dtype).removeprefix("torch."), *yv.shape],
                 "digest": store.digest(x, y, xv, yv)},
        "freqlearn": train._version(), "preset": ctx.get("preset"),
        "context_seed": ctx.get("seed"), "format_version": PAPER_FORMAT_VERSION,
    }


def _load_paper(ck: Path, fp: dict, max_epochs: int, model, opt, sched, scaler, g):
    """Read ``ck`` safely, check it is a :func:`train_paper` checkpoint of *this* run, then
    restore the model, optimizer, scheduler, scaler and generator. Returns ``(hist, best,
    epoch)``. Nothing of the caller's is touched until every check has passed."""
    fix = f"Delete {ck} to start this run over."

    def bad(why):
        return store.StoreCorrupt(ck, why, fix)

    blob = store.load_torch(ck, fix=fix)
    if not (isinstance(blob, dict) and blob.get("format") == PAPER_FORMAT):
        raise bad("it is not a train_paper checkpoint (no format marker: a file of an older "
                  "freqlearn, or of something else)")
    if blob.get("format_version") != PAPER_FORMAT_VERSION:
        raise bad(f"its format version is {blob.get('format_version')!r}, this freqlearn "
                  f"reads {PAPER_FORMAT_VERSION}")
    if set(blob) != _PAPER_KEYS or not isinstance(blob["fingerprint"], dict):
        raise bad(f"its keys are {sorted(blob)}, expected {sorted(_PAPER_KEYS)}")
    store.check_fingerprint(ck, blob["fingerprint"], fp, fix=fix + " Or use another workdir.")
    epoch = blob["epoch"]
    if type(epoch) is not int or epoch < 0:
        raise bad(f"its epoch count {epoch!r} is not an integer ≥ 0")
    if epoch > max_epochs:
        raise store.StoreMismatch(ck, [f"  max_epochs: saved a run with {epoch} epochs done "
                                       f"(of max_epochs {blob['max_epochs']!r}), now "
                                       f"max_epochs {max_epochs}"],
                                  fix + " Or ask for max_epochs ≥ the epochs done.")

    def same_tensors(saved, cur: dict, what: str):
        if not (isinstance(saved, dict) and set(saved) == set(cur)):
            raise bad(f"{what} does not hold this model's entries")
        for k, v in cur.items():
            s = saved[k]
            if not (isinstance(s, torch.Tensor) and s.dtype == v.dtype and s.shape == v.shape):
                got = (f"{s.dtype} {list(s.shape)}" if isinstance(s, torch.Tensor)
                       else type(s).__name__)
                raise bad(f"{what} {k!r} is {got}, expected {v.dtype} {list(v.shape)}")

    cur = model.state_dict()
    same_tensors(blob["model"], cur, "its model state")
    best = blob["best"]
    if not (isinstance(best, dict) and set(best) == {"acc", "state"}
            and type(best["acc"]) is float
            and (best["state"] is not None or epoch == 0)):
        raise bad("its best-validation record is malformed")
    if best["state"] is not None:
        same_tensors(best["state"], cur, "its best-validation state")
    hist = blob["hist"]
    if not (isinstance(hist, dict) and set(hist) == set(_HIST_KEYS) and all(
            isinstance(hist[k], list) and len(hist[k]) == epoch for k in _HIST_KEYS)
            and hist["epoch"] == list(range(1, epoch + 1))
            and all(type(v) is float for k in _HIST_KEYS[1:] for v in hist[k])):
        raise bad(f"its history does not list epochs 1 … {epoch}")
    o = blob["opt"]
    params = [p for grp in opt.param_groups for p in grp["params"]]
    ok = (isinstance(o, dict) and set(o) == {"state", "param_groups"}
          and isinstance(o["state"], dict) and isinstance(o["param_groups"], list)
          and [len(grp["params"]) if isinstance(grp, dict) and isinstance(
              grp.get("params"), list) else -1 for grp in o["param_groups"]]
          == [len(grp["params"]) for grp in opt.param_groups])
    if ok:
        for i, st in o["state"].items():
            ok = ok and type(i) is int and 0 <= i < len(params) and isinstance(st, dict) and all(
                not isinstance(v, torch.Tensor) or v.dim() == 0 or v.shape == params[i].shape
                for v in st.values())
    if not ok:
        raise bad("its optimizer state is not a state_dict of this run's SGD")
    if not isinstance(blob["sched"], dict) or not isinstance(blob["scaler"], dict):
        raise bad("its scheduler or scaler state is not a state_dict")
    gs = blob["gen"]
    if not (isinstance(gs, torch.Tensor) and gs.dtype == torch.uint8
            and gs.shape == g.get_state().shape):
        raise bad("its generator state does not fit a CPU torch.Generator")
    # ---- every check passed: restore
    try:
        model.load_state_dict(blob["model"])
        opt.load_state_dict(o)
        sched.load_state_dict(blob["sched"])
        if blob["scaler"]:
            scaler.load_state_dict(blob["scaler"])
        g.set_state(gs)
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise bad(f"its state cannot be restored ({type(e).__name__}: {str(e)[:200]})") \
            from None
    return hist, best, epoch


def train_paper(model, train_set, val_set, *, lr: float, batch: int, weight_decay: float,
                patience: int, max_epochs: int, min_lr: float = 1e-6, seed: int = 0,
                device=None, workdir=None, augment: bool = True, amp: bool = True) -> dict:
    """SI C.5: SGD (momentum 0.9, PyTorch ``weight_decay`` on weights only), reduce-on-plateau
    (×0.1) on **validation accuracy** with a 1-point absolute threshold, stop at
    ``max_epochs`` or when the lr falls below ``min_lr``; keep the best-validation weights
    (on a held-out split, not the test set). AMP on CUDA. ``max_epochs = 0`` trains
    nothing: the model keeps its weights and ``best_val_acc`` is their validation accuracy.

    ``workdir``: the run checkpoints every epoch into ``workdir/train_paper.pt`` and resumes
    from there, giving the numbers of an uninterrupted run. The file is written atomically
    (:func:`freqlearn.store.save_torch`: a kill leaves the previous epoch's file) and read
    with ``weights_only=True`` (it can never run code). Its fingerprint — this function, lr,
    batch, weight decay, patience, min_lr, seed, augment, amp, the model's class and
    parameter shapes, the data's shapes and a digest of the train and validation tensors,
    the freqlearn version and the notebook's preset and seed — must match, else
    :class:`freqlearn.store.StoreMismatch` lists what differs; a damaged or foreign file
    raises :class:`freqlearn.store.StoreCorrupt` naming it and the fix (delete it).
    ``max_epochs`` may grow (a finished run asked for more epochs continues, exactly as one
    run would have); asking for fewer epochs than the file holds is a ``StoreMismatch``."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    x, y = _labelled(train_set, "train_set", empty=False)
    xv, yv = _labelled(val_set, "val_set", empty=False)
    lr = chk.real(lr, "lr", minimum=0.0, strict=True)
    batch = chk.integer(batch, "batch", minimum=1)
    weight_decay = chk.real(weight_decay, "weight_decay", minimum=0.0)
    patience = chk.integer(patience, "patience", minimum=0)
    max_epochs = chk.integer(max_epochs, "max_epochs", minimum=0)
    min_lr = chk.real(min_lr, "min_lr", minimum=0.0)
    seed = chk.integer(seed, "seed", minimum=0)
    augment = chk.boolean(augment, "augment")
    amp = chk.boolean(amp, "amp")
    device = presets.check_device(presets.device() if device is None else device, "device")
    if workdir is not None and not isinstance(workdir, (str, Path)):
        raise TypeError(f"workdir must be a folder path or None; got {type(workdir).__name__}")
    ck = None if workdir is None else Path(workdir) / "train_paper.pt"
    fp = None if ck is None else _paper_fingerprint(
        model, (x, y, xv, yv), lr=lr, batch=batch, weight_decay=weight_decay,
        patience=patience, min_lr=min_lr, seed=seed, augment=augment, amp=amp)
    model = model.to(device)
    x, y, xv, yv = (t.to(device) for t in (x, y, xv, yv))
    decay, rest = _decayed(model)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                           {"params": rest, "weight_decay": 0.0}], lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.1,
                                                       patience=patience, threshold=0.01,
                                                       threshold_mode="abs")
    use_amp = amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    g = torch.Generator().manual_seed(seed)
    hist = {k: [] for k in _HIST_KEYS}
    best = {"acc": -1.0, "state": None}
    start = 0
    if ck is not None and ck.exists():
        hist, best, start = _load_paper(ck, fp, max_epochs, model, opt, sched, scaler, g)
        if start:
            presets.note_reused(f"checkpoint {ck} (epoch {start})")
    # a resumed run whose lr already fell below min_lr had stopped: it stays stopped
    stopped = start > 0 and opt.param_groups[0]["lr"] < min_lr
    per_epoch = max(len(x) // batch, 1)
    for epoch in range(start, 0 if stopped else max_epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        tot = 0.0
        for k in range(per_epoch):                          # drop_last as the released code
            idx = perm[k * batch:(k + 1) * batch].to(device)
            xb = _augment(x[idx].cpu(), g).to(device) if augment else x[idx]
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=use_amp):
                loss = F.cross_entropy(model(xb), y[idx])
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            tot += float(loss.detach())
        model.eval()
        acc = _accuracy(model, xv, yv)
        sched.step(acc)
        hist["epoch"].append(epoch + 1)
        hist["val_acc"].append(acc)
        hist["lr"].append(float(opt.param_groups[0]["lr"]))
        hist["train_loss"].append(tot / per_epoch)
        if acc > best["acc"]:
            best = {"acc": acc, "state": {k: v.detach().cpu().clone()
                                          for k, v in model.state_dict().items()}}
        if ck is not None:
            store.save_torch(ck, {
                "format": PAPER_FORMAT, "format_version": PAPER_FORMAT_VERSION,
                "fingerprint": fp, "max_epochs": max_epochs, "epoch": epoch + 1,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "opt": opt.state_dict(),
                "sched": _plain_state(sched.state_dict(), "the scheduler state"),
                "scaler": _plain_state(scaler.state_dict(), "the AMP scaler state"),
                "gen": g.get_state(), "hist": hist, "best": best})
        if opt.param_groups[0]["lr"] < min_lr:
            break
    if best["state"] is None:                   # max_epochs = 0: the weights as given
        model.eval()
        return {"history": hist, "best_val_acc": _accuracy(model, xv, yv)}
    model.load_state_dict(best["state"])
    model.eval()
    return {"history": hist, "best_val_acc": best["acc"]}


def paper_data(*, size: int = 32, channels: int = 3, n_train=None, n_test=None,
               n_val: int = 5000, seed: int = 0, prefer: str = "cifar10"):
    """CIFAR-10 (or the stand-in when absent) as ``(train, val, test)`` tensor pairs in
    [0, 1]; ``n_val`` training images are held out for the plateau schedule and model
    selection (the released code selects on the test split). Returns also the source."""
    tr, te = fldata.load_natural(n_train, n_test, prefer=prefer, size=size,
                                 channels=channels, seed=seed, verbose=False)
    x, y = torch.as_tensor(tr.x), torch.as_tensor(tr.y).long()
    n_val = min(n_val, len(x) // 5)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    v, t = perm[:n_val], perm[n_val:]
    return ((x[t], y[t]), (x[v], y[v]),
            (torch.as_tensor(te.x), torch.as_tensor(te.y).long()), tr.source)


def paper_width(kind: str, depth: int) -> int:
    """The paper's base width: 64 channels (ConvActually, Myrtle c = 64, composer's
    ResNet-9), but 16 for the He CIFAR ResNet-20/56 (stages 16/32/64, ≈ 0.27 M / 0.85 M
    parameters); 64 there would build them at 4× the width (16× the parameters)."""
    return 16 if kind == "resnet" and depth != 9 else 64


def paper_point(*, kind: str, depth: int, weight_decay: float, seed: int, schedule: str,
                size: int = 32, channels: int = 3, width: int | None = None, n_train=None,
                n_test=None, max_epochs: int | None = None, lr: float | None = None,
                batch: int | None = None, patience: int | None = None,
                n_sens: int = 5000, data_seed: int = 0, prefer: str = "cifar10",
                workdir=None) -> dict:
    """One run of the paper preset (G7, and G4–G6 at scale): the SI C.5 schedule
    ``PAPER_SCHEDULES[schedule]`` (overrides for reduced runs: ``max_epochs``, ``lr``,
    ``batch``, ``patience``; ``None`` = the schedule's, and 0 is a value, not "unset"),
    best-validation weights, test accuracy and the sensitivity moments on ``n_sens`` test
    images (at most the test set). ``width=None`` is the paper's (:func:`paper_width`: 64
    base channels, 16 for the He CIFAR ResNet-20/56, whose stages are 16/32/64). Every
    argument is checked before any data is read.
    ``workdir`` (given by :func:`freqlearn.sweep.sweep`) holds :func:`train_paper`'s
    checkpoint."""
    chk.one_of(kind, "kind", _KINDS)
    chk.one_of(schedule, "schedule", tuple(PAPER_SCHEDULES))
    depth = chk.integer(depth, "depth", minimum=0)
    weight_decay = chk.real(weight_decay, "weight_decay", minimum=0.0)
    seed = chk.integer(seed, "seed", minimum=0)
    size = chk.integer(size, "size", minimum=2)
    channels = chk.integer(channels, "channels", minimum=1)
    width = chk.integer(paper_width(kind, depth) if width is None else width, "width",
                        minimum=1)
    n_train = chk.optional_integer(n_train, "n_train", minimum=1)
    n_test = chk.optional_integer(n_test, "n_test", minimum=1)
    sch = dict(PAPER_SCHEDULES[schedule])
    max_epochs = chk.integer(max_epochs if max_epochs is not None else sch["max_epochs"],
                             "max_epochs", minimum=0)
    lr = chk.real(lr if lr is not None else sch["lr"], "lr", minimum=0.0, strict=True)
    batch = chk.integer(batch if batch is not None else sch["batch"], "batch", minimum=1)
    patience = chk.integer(patience if patience is not None else sch["patience"], "patience",
                           minimum=0)
    n_sens = chk.integer(n_sens, "n_sens", minimum=1)
    data_seed = chk.integer(data_seed, "data_seed", minimum=0)
    chk.one_of(prefer, "prefer", ("cifar10", "cifar100", "standin"))
    (x, y), (xv, yv), (xt, yt), source = paper_data(size=size, channels=channels,
                                                    n_train=n_train, n_test=n_test,
                                                    seed=data_seed, prefer=prefer)
    if len(xv) == 0:
        raise ValueError(f"n_train={n_train} leaves no validation images (a fifth of the "
                         "training set, at most 5000, is held out); use n_train ≥ 5")
    if n_sens > len(xt):
        raise ValueError(f"n_sens must be at most the {len(xt)} test images; got {n_sens}")
    torch.manual_seed(seed)
    model = make_model(kind, depth, width=width, size=size, in_channels=channels)
    hist = train_paper(model, (x, y), (xv, yv), lr=lr, batch=batch,
                       weight_decay=weight_decay, patience=patience, max_epochs=max_epochs,
                       min_lr=sch["min_lr"], seed=seed, workdir=workdir)
    dev = next(model.parameters()).device
    acc = _accuracy(model, xt.to(dev), yt.to(dev))
    smap = sensitivity.frequency_sensitivity(model, xt[:n_sens])
    r, gr = sensitivity.radial(smap)
    m1, m2 = sensitivity.moments(r, gr)
    return {"kind": kind, "depth": depth, "weight_decay": weight_decay, "seed": seed,
            "test_acc": acc, "best_val_acc": hist["best_val_acc"], "history": hist["history"],
            "map": smap, "r": r, "g": gr, "m1": m1, "m2": m2, "source": source}


# ---------------------------------------------------------------------- speed
def benchmark_fns(*, depth: int = 4, width: int = 64, size: int = 32, batch: int = 128,
                  conv2d_batch: int | None = None, device=None) -> tuple[dict, dict]:
    """The callables that :func:`benchmark_step` and ``make bench`` (:mod:`freqlearn.bench`)
    time: ``{fft,conv2d}_{step,sensitivity}`` — one SGD step (forward+backward) and one batch
    of sensitivity maps of ConvActually on the FFT path and of the same net on ``conv2d``
    (same weights, same data) — and, per name, the factor that scales a time measured on
    ``conv2d_batch`` images (default ``batch``) to ``batch`` images."""
    cb = batch if conv2d_batch is None else conv2d_batch
    dev = presets.device() if device is None else torch.device(device)
    fns, scale = {}, {}
    for name, cls, b in (("fft", nets.ConvActually, batch),
                         ("conv2d", nets.ConvActuallyConv2d, cb)):
        torch.manual_seed(0)
        m = cls(depth, width=width, size=size).to(dev)
        x = torch.rand(b, 3, size, size, device=dev)
        y = torch.randint(0, 10, (b,), device=dev)
        opt = torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9)

        def step(m=m, x=x, y=y, opt=opt):
            opt.zero_grad()
            F.cross_entropy(m(x), y).backward()
            opt.step()

        def smap(m=m, x=x):
            sensitivity.frequency_sensitivity(m, x, batch_size=len(x))

        fns[f"{name}_step"], fns[f"{name}_sensitivity"] = step, smap
        scale[f"{name}_step"] = scale[f"{name}_sensitivity"] = batch / b
    return fns, scale


def benchmark_step(*, depth: int = 4, width: int = 64, size: int = 32, batch: int = 128,
                   conv2d_batch: int | None = None, repeat: int = 1) -> dict:
    """Seconds for one training step (forward+backward, SGD) and one batch of sensitivity
    maps, FFT path vs ``conv2d``, same weights, same run (:func:`benchmark_fns`; the best of
    ``repeat``). ``conv2d_batch`` (default ``batch``) times the slow path on fewer images
    and scales linearly to ``batch``."""
    dev = presets.device()
    fns, scale = benchmark_fns(depth=depth, width=width, size=size, batch=batch,
                               conv2d_batch=conv2d_batch, device=dev)
    out = {}
    for key, fn in fns.items():
        best = math.inf
        for _ in range(repeat):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        out[f"{key}_s"] = best * scale[key]
    out["step_ratio"] = out["conv2d_step_s"] / out["fft_step_s"]
    out["sensitivity_ratio"] = out["conv2d_sensitivity_s"] / out["fft_sensitivity_s"]
    out["device"] = str(dev)
    return out

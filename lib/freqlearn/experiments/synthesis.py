"""The synthesis chapter (catalog X3): three measures of frequency preference, one network.

The three papers measure three different objects; this module takes them on the *same*
trained networks, at checkpoints along *one* training run per network and trial:

1. **kernel spectrum vs dominant frequencies** (Pinson et al. 2023, Sec. 4): the power
   ``|ŵ_{c,j}|²`` of the first layer's (change of) kernels at every frequency ``j`` and colour
   ``c``, against the dominance ``max_α |(Qφ_α)_{c,j}|`` of the singular vectors ``φ_α`` of
   ``Σ^{yx}`` (:func:`dominance`, :func:`kernel_power`);
2. **frequency sensitivity** of the end-to-end map (Godfrey et al. 2022, SI C.2):
   :func:`freqlearn.sensitivity.frequency_sensitivity`, its radial average and moments;
3. **energy profile** of the first layer in the patch-PCA basis (Chowers & Weiss 2023,
   Def. 2.1–2.2) with the fitted formula ``e_i ∝ (1 − e^{−sλ_i²})/λ_i``
   (:func:`freqlearn.theory.chowers.fit_formula`). For a 3×3 layer (VGG) the basis is the
   3×3×3 patch PCA of :func:`freqlearn.experiments.chowers.patch_basis`. For a *full-size
   circular* kernel (the linear CNN of Pinson, ConvActually) the patches are all circular
   shifts of an image; their uncentred second moment is block-diagonal in the Fourier basis
   (:func:`fourier_patch_basis`), so Def. 2.1's PCA vectors are Fourier modes times colour
   eigenvectors and Def. 2.2's profile is read off the kernel's DFT (:func:`fourier_energy`).
   That is the exact bridge between the Fourier language of Pinson and Godfrey and the
   PCA language of Chowers & Weiss.

The networks: ``"pinson"`` — the two-layer linear CNN (Eq. 8, one n×n kernel per colour,
MSE, gradient descent), ``"convactually"`` — Godfrey's ConvActually (full-size circular
kernels on the FFT path, ReLU, cross-entropy, SGD with momentum, optional weight decay),
``"vgg"`` — VGG11-bn of Chowers & Weiss (plain SGD, cross-entropy), all on the same
per-channel-normalised images. :func:`track` trains one of them (``trials`` independent
initialisations) and records the first-layer weights and the sensitivity map at the
requested steps; :func:`summarise` turns the record into the three measures.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from .. import fourier, presets, sensitivity, train
from ..nets import chowers as cw_nets
from ..nets import godfrey as gd_nets
from ..nets import pinson as pn_nets
from ..theory import chowers as cw_th
from ..theory import godfrey as gd_th
from ..theory import pinson as pn_th
from . import chowers as cw_exp
from . import godfrey as gd_exp

__all__ = ["KINDS", "load", "fourier_patch_basis", "fourier_energy", "dominance",
           "kernel_power", "radial_moment", "radial_max1", "binned_profile",
           "PinsonLogits", "track", "summarise", "spearman_map", "converged_linear",
           "data_power", "blur_power", "partial_spearman", "follow_explanations",
           "band_labels", "band_share", "map_measures", "closed_form_linear",
           "linear_map", "energy_band_share", "smap_m1"]

KINDS = ("pinson", "convactually", "vgg")


def _pos_int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer ≥ {lo}; got {type(v).__name__} {v!r}")
    if v < lo:
        raise ValueError(f"{name} must be an integer ≥ {lo}; got {v}")
    return int(v)


def load(n_train: int | None, n_test: int | None, *, size: int = 12, seed: int = 0,
         prefer: str = "standin", n_classes: int = 10, remove_dc: bool = True) -> dict:
    """The one data set of the chapter: :func:`freqlearn.experiments.chowers.load`
    (colour, per-channel mean/std of the training set; CIFAR-10 when present and asked for,
    else the stand-in, saying so) plus one-hot targets ``Y`` and ``Y_test``.

    ``remove_dc``: subtract each image's own mean colour (its frequency-0 coefficient per
    channel). On the stand-in (one photograph per class) the mean colour alone separates the
    classes, so without this every measure collapses onto frequency 0."""
    if not isinstance(remove_dc, bool):
        raise TypeError(f"remove_dc must be a bool; got {type(remove_dc).__name__}")
    D = cw_exp.load(n_train, n_test, prefer=prefer, n_classes=n_classes, seed=seed, size=size)
    if remove_dc:
        for k in ("x", "x_test"):
            D[k] = D[k] - D[k].mean(axis=(2, 3), keepdims=True)
    D["Y"] = np.eye(n_classes)[D["y"]]
    D["Y_test"] = np.eye(n_classes)[D["y_test"]]
    D["n_classes"] = n_classes
    return D


# ------------------------------------------------------------------ measure 3 (CW) on the
# full-size circular kernels: Def. 2.1 for all circular shifts, in the Fourier basis
def fourier_patch_basis(x) -> dict:
    """Patch PCA (Chowers Def. 2.1, uncentred) of *all circular shifts* of full images.

    For ``x`` (N, C, H, W) the second moment ``M = ⟨p pᵀ⟩`` over images and shifts is, in the
    orthonormal 2-D DFT, block-diagonal: ``M̂ = ⊕_j S_j`` with ``S_j = (1/N) Σ_x x̂_j x̂_jᴴ``
    (C×C; the cross-frequency terms average to zero over shifts). Its eigenvectors are the
    Fourier modes ``j`` times the eigenvectors ``c_{j,m}`` of ``S_j``. Returns
    ``dict(lam2 (C, H, W), E (H, W, C, C) eigenvectors as columns, r (H, W) radius |j|)``;
    ``lam2[m, j]`` is the m-th largest eigenvalue of ``S_j``: the DFT is orthonormal, so
    these are the eigenvalues of ``M`` itself (``fl.fourier.patch_pca`` of the circularly
    extended patches gives the same numbers; a ±j pair is one degenerate real pair).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 4 or len(a) == 0:
        raise ValueError(f"x must be a non-empty (N, C, H, W) array; got shape {a.shape}")
    N, C, H, W = a.shape
    X = fourier.dft2(a)                                    # (N, C, H, W), orthonormal
    X = np.asarray(X)
    S = np.einsum("nchw,ndhw->hwcd", X, X.conj()) / N      # (H, W, C, C) Hermitian
    ev, E = np.linalg.eigh(S)
    ev, E = ev[..., ::-1], E[..., ::-1]                    # decreasing
    _, _, r = fourier.frequency_grid(H, W)
    return {"lam2": np.moveaxis(ev, -1, 0), "E": E, "r": r}


def fourier_energy(w, basis: dict) -> np.ndarray:
    """Energy profile (Chowers Def. 2.2) of full-size filters ``w`` (K, C, H, W) in the basis
    of :func:`fourier_patch_basis`: ``e_{m,j} = √((1/K) Σ_k |c_{j,m}ᴴ ŵ_{k,j}|²)``, shape
    (C, H, W). Each complex mode pairs with its conjugate ``−j``; the energies of the real
    cosine/sine pair sum to twice that of each complex mode."""
    w = np.asarray(w, dtype=np.float64)
    E = basis["E"]
    if w.ndim != 4 or w.shape[1:] != (E.shape[-1], *E.shape[:2]):
        raise ValueError(f"w must have shape (K, {E.shape[-1]}, {E.shape[0]}, {E.shape[1]});"
                         f" got {w.shape}")
    Wh = np.asarray(fourier.dft2(w))                       # (K, C, H, W)
    proj = np.einsum("hwcm,kchw->kmhw", E.conj(), Wh)
    return np.sqrt((np.abs(proj) ** 2).mean(0))


# ----------------------------------------------------------- measure 1 (Pinson) on any net
def dominance(x, Y) -> dict:
    """Singular vectors of ``Σ^{yx}`` (:func:`freqlearn.theory.pinson.svd_yx`) and their
    dominance per colour and frequency, ``max_α |(Qφ_α)_{c,j}|`` (C, H, W) (Pinson Sec. 4:
    the kernel keeps the frequencies where some φ_α is large). Returns ``dict(dom, s, V)``."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W); got shape {a.shape}")
    svd = pn_th.svd_yx(a, Y)
    N, C, H, W = a.shape
    phis = svd["V"].T.reshape(-1, C, H, W)
    dom = np.abs(np.asarray(fourier.dft2(phis))).max(0)
    return {"dom": dom, "s": svd["s"], "V": svd["V"]}


def kernel_power(w, size: int) -> np.ndarray:
    """Mean power ``|ŵ|²`` of kernels ``w`` (..., K, C, kh, kw), zero-padded to ``size``:
    averaged over the K filters (and any leading axes except the first when ``w.ndim`` is 5),
    shape (C, size, size) — or (T, C, size, size) for trials on axis 0 (``w.ndim == 5``)."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim not in (4, 5):
        raise ValueError(f"w must be (K, C, kh, kw) or (T, K, C, kh, kw); got {w.shape}")
    size = _pos_int("size", size)
    kh, kw = w.shape[-2:]
    if kh > size or kw > size:
        raise ValueError(f"kernels {kh}×{kw} are larger than size={size}")
    pad = [(0, 0)] * (w.ndim - 2) + [(0, size - kh), (0, size - kw)]
    P = np.abs(np.asarray(fourier.dft2(np.pad(w, pad)))) ** 2
    return P.mean(-4)


def radial_moment(a) -> float | np.ndarray:
    """First moment (Godfrey Eq. 5.1) of the radial average (exact radii, channels averaged)
    of a non-negative map ``a`` (..., C, H, W) or (H, W)."""
    a = np.asarray(a, dtype=float)
    if a.ndim >= 3:
        a = a.mean(-3)
    r, g = fourier.radial_profile(a, bins="exact")
    return fourier.radial_moment(r, g, 1)


def radial_max1(a) -> tuple[np.ndarray, np.ndarray]:
    """Radial average (exact radii) of maps ``a`` (..., C, H, W), channels averaged, each
    divided by its maximum: ``(r, g)`` with ``g`` of shape (..., R) — for plotting shapes
    of different measures on one radial axis."""
    a = np.asarray(a, dtype=float)
    if a.ndim < 3:
        raise ValueError(f"a must be (..., C, H, W); got shape {a.shape}")
    r, g = fourier.radial_profile(a.mean(-3), bins="exact")
    return r, g / g.max(-1, keepdims=True)


def binned_profile(e, lam2, bins: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Geometric mean of energy profiles ``e`` (..., d) in ``bins`` log-spaced bins of
    ``λ = √lam2`` (components with ``lam2 ≤ 10⁻¹² max lam2`` dropped, as in
    :func:`summarise`): ``(λ centres, (..., bins))`` — a readable line through the scatter
    of a full-size kernel's d = C·H·W components. Empty bins are NaN."""
    e = np.asarray(e, dtype=float)
    lam2 = np.asarray(lam2, dtype=float)
    if e.shape[-1] != lam2.shape[-1] or lam2.ndim != 1:
        raise ValueError(f"e (..., d) and lam2 (d,) must agree; got {e.shape}, {lam2.shape}")
    bins = _pos_int("bins", bins)
    ok = lam2 > 1e-12 * lam2.max()
    lam = np.sqrt(lam2[ok])
    edges = np.geomspace(lam.min(), lam.max() * (1 + 1e-12), bins + 1)
    idx = np.clip(np.searchsorted(edges, lam, side="right") - 1, 0, bins - 1)
    le = np.log(np.maximum(e[..., ok], 1e-300))
    out = np.full((*e.shape[:-1], bins), np.nan)
    for b in range(bins):
        if np.any(idx == b):
            out[..., b] = np.exp(le[..., idx == b].mean(-1))
    return np.sqrt(edges[:-1] * edges[1:]), out


def spearman_map(a, b) -> float:
    """Spearman rank correlation of two maps over all their entries (colour × frequency)."""
    return sensitivity.spearman(np.ravel(a), np.ravel(b))


# --------------------------------------------------------------------------- the nets
class PinsonLogits(torch.nn.Module):
    """One trial of :class:`freqlearn.nets.pinson.LinearCNN` as an ``nn.Module`` returning
    logits (B, p), so that :func:`freqlearn.sensitivity.frequency_sensitivity` applies."""

    def __init__(self, k, W):
        super().__init__()
        self.register_buffer("k", torch.as_tensor(k, dtype=torch.float64))
        self.register_buffer("W", torch.as_tensor(W, dtype=torch.float64))

    def forward(self, x):
        net = pn_nets.LinearCNN(self.k[None], self.W[None])
        return net.predict(x.to(torch.float64)[None])[0]


def _make(kind: str, *, n_classes: int, size: int, depth: int, width: int,
          vgg_width: float, first: int):
    if kind == "convactually":
        return gd_nets.ConvActually(depth, width=width, in_channels=3, size=size,
                                    n_classes=n_classes, normalize=False)
    if kind == "vgg":
        return cw_nets.vgg11_bn(n_classes=n_classes, width=vgg_width, first=first)
    raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")


def _first(net) -> torch.Tensor:
    return net.w[0] if isinstance(net, gd_nets.ConvActually) else cw_nets.first_layer(net).weight


def _labels(D, labels, seed):
    if isinstance(labels, str) and labels == "true":
        return np.asarray(D["y"])
    if isinstance(labels, str) and labels == "shuffled":
        return np.random.default_rng([seed, 7919]).permutation(np.asarray(D["y"]))
    raise ValueError(f"labels must be 'true' or 'shuffled'; got {labels!r}")


def track(kind: str, D: dict, *, steps, lr: float, trials: int = 3, seed: int = 0,
          weight_decay: float = 0.0, batch: int = 128, labels: str = "true",
          loss: str | None = None, depth: int = 2, width: int = 8, vgg_width: float = 0.125,
          first: int = 16, sigma: float = 1e-4, n_eval: int = 128, clip: float | None = 1.0,
          device=None) -> dict:
    """Train ``trials`` copies of one network on ``D`` (:func:`load`) and record, at every
    step in ``steps`` (numbers of updates; 0 = the initialisation), the first-layer weights
    ``w`` (len(t), T, K, C, kh, kw) and the sensitivity map ``smap`` (len(t), T, C, H, W)
    on ``n_eval`` held-out images; also ``loss`` (len(t), T), the labels used, ``t``.

    ``kind``: ``"pinson"`` (batched trials, full-batch gradient descent on the Keras MSE —
    the slow-learning limit of Pinson's updates — through
    :func:`freqlearn.nets.pinson.train_twolayer`; init N(0, ``sigma``²)), ``"convactually"``
    (depth ``depth``, ``width`` channels; SGD with momentum 0.9, ``weight_decay`` on the
    weights as Godfrey's runner) or ``"vgg"`` (VGG11-bn, width ×``vgg_width``, ``first``
    first-layer filters; plain SGD as Chowers & Weiss, ``weight_decay`` if asked).
    ``loss``: ``"ce"`` (default for the ReLU nets) or ``"mse"`` (Keras MSE on one-hot targets,
    the Pinson net's only loss). Every trial's initialisation and batch order come from
    ``seed`` + trial. ``clip``: gradient-norm clipping of the ReLU nets (Godfrey's runner
    clips at 1: full-size ReLU kernels otherwise die at some seeds). One run per trial;
    checkpoints at the ``paper`` preset (:func:`freqlearn.train.resolve_checkpoint`).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    trials = _pos_int("trials", trials)
    batch = _pos_int("batch", batch)
    n_eval = _pos_int("n_eval", n_eval)
    st = sorted({_pos_int("steps", int(s), 0) for s in np.ravel(steps)})
    if not st:
        raise ValueError("steps must name at least one step")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a number > 0; got {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a number ≥ 0; got {weight_decay!r}")
    loss = ("mse" if kind == "pinson" else "ce") if loss is None else loss
    if loss not in ("ce", "mse") or (kind == "pinson" and loss != "mse"):
        raise ValueError(f"loss must be 'ce' or 'mse' ('mse' for the Pinson net); got {loss!r}")
    y = _labels(D, labels, seed)
    x = np.asarray(D["x"], np.float32)
    n_cls = int(D.get("n_classes", int(y.max()) + 1))
    Yh = np.eye(n_cls)[y]
    size = x.shape[-1]
    xe = torch.as_tensor(np.asarray(D["x_test"][:n_eval], np.float32))
    budget = max(st)
    if kind == "pinson":
        return _track_pinson(x, Yh, xe, st, budget, lr, trials, seed, sigma, y)
    dev = presets.device() if device is None else torch.device(device)
    X = torch.as_tensor(x, device=dev)
    Yi = torch.as_tensor(y, device=dev)
    Yo = torch.as_tensor(Yh, dtype=torch.float32, device=dev)
    out = {"w": [], "smap": [], "loss": [], "t": None}
    for trial in range(trials):
        s = seed + trial
        torch.manual_seed(s)
        net = _make(kind, n_classes=n_cls, size=size, depth=depth, width=width,
                    vgg_width=vgg_width, first=first).to(dev)
        decay = [p for n, p in net.named_parameters() if "weight" in n or n.startswith("w.")]
        rest = [p for n, p in net.named_parameters()
                if not ("weight" in n or n.startswith("w."))]
        groups = [{"params": decay, "weight_decay": weight_decay},
                  {"params": rest, "weight_decay": 0.0}]
        opt = torch.optim.SGD(groups, lr=lr, momentum=0.9 if kind == "convactually" else 0.0)
        g = torch.Generator().manual_seed(s)

        def lossf(out_, idx):
            if loss == "ce":
                return F.cross_entropy(out_, Yi[idx])
            return ((out_ - Yo[idx]) ** 2).sum(1).mean() / n_cls

        def step(t, net=net, opt=opt, g=g):
            idx = torch.randint(0, len(X), (batch,), generator=g).to(dev)
            net.train()
            opt.zero_grad()
            lossf(net(X[idx]), idx).backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()

        def full_loss(net=net):
            was = net.training
            net.eval()
            with torch.no_grad():
                v = float(lossf(net(X[:512]), torch.arange(min(512, len(X)), device=dev)))
            net.train(was)
            return v

        rec = train.Recorder({"w": lambda net=net: _first(net).detach().cpu().clone(),
                              "smap": lambda net=net: torch.as_tensor(
                                  sensitivity.frequency_sensitivity(net, xe.to(dev))),
                              "loss": full_loss}, st)
        ck = train.resolve_checkpoint(None, f"synthesis-{kind}-{trial}", key=dict(
            kind=kind, s=s, lr=lr, wd=weight_decay, batch=batch, labels=labels, loss=loss,
            depth=depth, width=width, vgg_width=vgg_width, first=first, steps=st,
            shape=x.shape))
        train.run(step, budget, recorder=rec, state={"net": net, "opt": opt},
                  generators=[g], checkpoint=ck, desc=f"{kind} trial {trial}")
        h = rec.history
        for k in ("w", "smap", "loss"):
            out[k].append(h[k])
        out["t"] = rec.t
    res = {k: np.stack(out[k], 1) for k in ("w", "smap", "loss")}
    res.update(t=out["t"], kind=kind, y=y, size=size)
    return res


def _track_pinson(x, Yh, xe, st, budget, lr, trials, seed, sigma, y):
    g = torch.Generator().manual_seed(seed)
    C, n = x.shape[1], x.shape[-1]
    net = pn_nets.LinearCNN.random(trials, C, n, Yh.shape[1], sigma, g)
    rec = pn_nets.train_twolayer(net, x, Yh, lr=lr, budget=budget, mode="mean", generator=g,
                                 steps=st, record_W=[0], extra={"Wfc": lambda: net.W.clone()},
                                 desc="Pinson linear CNN")
    h = rec.history
    k, Wfc = h["W"], h["Wfc"]                                  # (t, T, C, n, n), (t, T, p, D)
    smap = np.stack([[sensitivity.frequency_sensitivity(PinsonLogits(k[i, j], Wfc[i, j]),
                                                        xe[:8])
                      for j in range(trials)] for i in range(len(rec.t))])
    # the kernel as a one-filter bank (K = 1) of C-channel n×n kernels: (t, T, 1, C, n, n)
    return {"w": k[:, :, None], "smap": smap, "loss": h["loss"], "t": rec.t, "kind": "pinson",
            "y": y, "size": n}


# ------------------------------------------------------------------------- the measures
def summarise(run: dict, D: dict, *, dom=None, fbasis=None, pbasis=None) -> dict:
    """The three measures at every recorded step of :func:`track`'s ``run``.

    Uses the change of the first layer ``ΔW = W_t − W_0`` (as Chowers & Weiss; for the Pinson
    net the initialisation is negligible anyway). Returns arrays over (len(t), T):

    - ``kpow`` (t, T, C, H, W) kernel power of ΔW; ``k_m1`` its radial first moment;
      ``k_dom`` Spearman correlation of the kernel power with the dominance map ``dom``
      (:func:`dominance`); ``k_dom0`` the same for the initial random kernel W_0 (the null);
    - ``g_r``, ``g`` radial sensitivity profiles; ``g_m1`` first moments (Eq. 5.1);
    - ``e`` energy profiles (max-normalised) with ``lam2``: in the Fourier patch basis
      ``fbasis`` (:func:`fourier_patch_basis`) for full-size kernels, in the 3×3×3 patch basis
      ``pbasis`` = (lam2, U) of :func:`freqlearn.experiments.chowers.patch_basis` for VGG;
      ``s`` and ``r_fit`` the fitted formula's shape and Pearson r
      (:func:`freqlearn.theory.chowers.fit_formula`), ``slope`` the log–log slope of e
      against λ (+1: data-like, −1: whitening; :func:`freqlearn.theory.chowers.loglog_slope`).
    """
    w = np.asarray(run["w"], np.float64)              # (t, T, K, C, kh, kw)
    size = run["size"]
    nt, T = w.shape[:2]
    dw = w - w[:1]
    dom = dominance(D["x"], np.eye(int(run["y"].max()) + 1)[run["y"]])["dom"] \
        if dom is None else dom
    kpow = kernel_power(dw.reshape(nt * T, *w.shape[2:]), size).reshape(nt, T, -1, size, size)
    kpow0 = kernel_power(w[0], size)
    full = w.shape[-1] == size
    if full:
        fb = fourier_patch_basis(D["x"]) if fbasis is None else fbasis
        lam2 = fb["lam2"].ravel()
    else:
        lam2, U = cw_exp.patch_basis(D["x"], 3) if pbasis is None else pbasis
    out = {k: np.zeros((nt, T)) for k in ("k_m1", "k_dom", "g_m1", "s", "r_fit", "slope")}
    out["k_dom0"] = np.array([spearman_map(kpow0[j], dom) for j in range(T)])
    out["r_fit0"] = np.zeros(T)
    e_all = []
    for i in range(nt):
        es = []
        for j in range(T):
            if i == 0:                      # the null: the random initial kernels themselves
                e0 = (fourier_energy(w[0, j].reshape(-1, *w.shape[3:]), fb).ravel() if full
                      else cw_exp.profile(w[0, j].reshape(w.shape[2], -1), 0.0, U,
                                          subtract_init=False))
                ok = lam2 > 1e-12 * lam2.max()
                out["r_fit0"][j] = cw_th.fit_formula(e0[ok], lam2[ok])[1]
                e = np.ones_like(lam2)
            elif full:
                e = fourier_energy(dw[i, j].reshape(-1, *w.shape[3:]), fb).ravel()
            else:
                e = cw_exp.profile(w[i, j].reshape(w.shape[2], -1),
                                   w[0, j].reshape(w.shape[2], -1), U)
            e = e / e.max()
            es.append(e)
            if i > 0:
                out["k_m1"][i, j] = radial_moment(kpow[i, j])
                out["k_dom"][i, j] = spearman_map(kpow[i, j], dom)
                ok = lam2 > 1e-12 * lam2.max()
                s, r, _ = cw_th.fit_formula(e[ok], lam2[ok])
                out["s"][i, j], out["r_fit"][i, j] = s, r
                out["slope"][i, j] = cw_th.loglog_slope(np.maximum(e[ok], 1e-300), lam2[ok])
            r_, gr = sensitivity.radial(run["smap"][i, j])
            out["g_m1"][i, j] = sensitivity.moments(r_, gr)[0]
        e_all.append(es)
    r_, g = sensitivity.radial(np.asarray(run["smap"]).mean(-3))
    out.update(kpow=kpow, e=np.asarray(e_all), lam2=lam2, g_r=r_, g=g, t=run["t"],
               full=full)
    return out


# --------------------------------------------------------------- converged, regularised
def converged_linear(D: dict, *, L: int = 2, lam: float = 0.0, width: int = 2, seed: int = 0,
                     n_eval: int = 32, max_iter: int = 300, loss: str = "mse") -> dict:
    """A *linear* ConvActually with ``L`` layers (``L − 1`` full-size circular convolutions,
    no bias) trained **to convergence** by L-BFGS on MSE to centred one-hot targets with the
    weight decay ``lam`` of Godfrey's Eq. 4.1 (:func:`freqlearn.experiments.godfrey.
    fit_linear_cnn`) on the chapter's data. Returns a record shaped like :func:`track`'s
    (one trial; step 0 = the initialisation, step 1 = converged): first-layer kernels ``w``,
    sensitivity maps ``smap``, the data loss and the training accuracy ``acc`` — the setting
    of Godfrey's
    Theorem 4.9; ``lam = 0`` is the unregularised least-squares end point.

    ``loss="ce"``: cross-entropy on the (uncentred) one-hot labels instead, same penalty
    (``fit_linear_cnn(..., loss="ce")``); with ``lam > 0`` it has a minimiser, with
    ``lam = 0`` on separable data it has none and the run is a fixed L-BFGS budget."""
    L = _pos_int("L", L, 2)
    if not (isinstance(lam, (int, float)) and lam >= 0):
        raise ValueError(f"lam must be a number ≥ 0; got {lam!r}")
    if not isinstance(loss, str) or loss not in ("mse", "ce"):
        raise ValueError(f"loss must be 'mse' or 'ce'; got {loss!r}")
    x = torch.as_tensor(np.asarray(D["x"]), dtype=torch.float64)
    Y = torch.as_tensor(np.asarray(D["Y"]), dtype=torch.float64)
    if loss == "mse":
        Y = Y - Y.mean(0, keepdim=True)
    g = torch.Generator().manual_seed(seed)
    g0 = torch.Generator().manual_seed(seed)
    state = torch.random.get_rng_state()
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g0)))
    init = gd_nets.ConvActually(L - 1, width=width, in_channels=x.shape[1], size=x.shape[-1],
                                n_classes=Y.shape[1], bias=False, linear=True, normalize=False,
                                init_gain=1.0).double()
    torch.random.set_rng_state(state)
    xe = torch.as_tensor(np.asarray(D["x_test"][:n_eval]), dtype=torch.float64)
    with presets.threads(1):
        model, info = gd_exp.fit_linear_cnn(x, Y, L, lam, width=width, generator=g,
                                            max_iter=max_iter, loss=loss)
        smaps = [sensitivity.frequency_sensitivity(m, xe) for m in (init, model)]
        with torch.no_grad():
            acc = float((model(x).argmax(1) == torch.as_tensor(D["y"])).double().mean())
    w = np.stack([m.w[0].detach().numpy() for m in (init, model)])[:, None]
    return {"w": w, "smap": np.stack(smaps)[:, None], "t": np.array([0, 1]), "size": x.shape[-1],
            "y": np.asarray(D["y"]), "loss": info["loss"], "grad_norm": info["grad_norm"],
            "L": L, "lam": lam, "loss_kind": loss, "acc": acc,
            "map": linear_map(model, tuple(x.shape[1:]))}


# ------------------------------------------------ what a "follows D" row must beat
def data_power(x) -> np.ndarray:
    """The data's own power spectrum per colour, ``E|x̂_{c,j}|²`` (C, H, W), orthonormal
    DFT: the "data-power" explanation of a kernel that follows the dominant frequencies."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 4 or len(a) == 0:
        raise ValueError(f"x must be a non-empty (N, C, H, W) array; got shape {a.shape}")
    return (np.abs(np.asarray(fourier.dft2(a))) ** 2).mean(0)


def blur_power(channels: int, size: int, *, k: int = 3, sigma: float = 1.0) -> np.ndarray:
    """Power (C, size, size) of a fixed ``k``×``k`` Gaussian blur (width ``sigma`` pixels),
    one per colour, zero-padded as :func:`kernel_power` pads a first layer: the "low-pass"
    explanation — a kernel nobody trained, which prefers low frequencies by construction."""
    channels, size, k = _pos_int("channels", channels), _pos_int("size", size), _pos_int("k", k)
    if not (isinstance(sigma, (int, float)) and sigma > 0):
        raise ValueError(f"sigma must be a number > 0; got {sigma!r}")
    u = np.arange(k) - (k - 1) / 2
    g = np.exp(-u ** 2 / (2 * sigma ** 2))
    g = np.outer(g, g) / np.outer(g, g).sum()
    w = np.zeros((channels, channels, k, k))
    w[np.arange(channels), np.arange(channels)] = g
    return kernel_power(w, size)


def _rank(a):
    from scipy.stats import rankdata

    return rankdata(np.ravel(a))


def partial_spearman(a, b, c) -> float:
    """Partial Spearman correlation of maps ``a`` and ``b`` with ``c`` held fixed:
    ``(ρ_ab − ρ_ac ρ_bc)/√((1 − ρ_ac²)(1 − ρ_bc²))`` on ranks over all entries. What ``a``
    shares with ``b`` beyond what both share with ``c`` (here: the data power)."""
    ra, rb, rc = _rank(a), _rank(b), _rank(c)
    if not (ra.size == rb.size == rc.size):
        raise ValueError(f"maps must have as many entries; got {ra.size}, {rb.size}, {rc.size}")
    r = np.corrcoef(np.stack([ra, rb, rc]))
    ab, ac, bc = r[0, 1], r[0, 2], r[1, 2]
    den = np.sqrt(max((1 - ac ** 2) * (1 - bc ** 2), 0.0))
    return float((ab - ac * bc) / den) if den > 0 else float("nan")


def follow_explanations(kpow, dom, x, *, k: int = 3) -> dict:
    """What a row "kernel power ``kpow`` (T, C, H, W) follows the dominance ``dom``" must
    beat: ``power`` = ρ(data power, D), ``blur`` = ρ(power of a fixed ``k``×``k`` Gaussian
    blur, D), both single numbers (nothing is trained), and per trial ``partial`` =
    :func:`partial_spearman` (kernel power, D | data power) and ``rho_power`` =
    ρ(kernel power, data power)."""
    kpow = np.asarray(kpow, dtype=float)
    if kpow.ndim != 4:
        raise ValueError(f"kpow must be (T, C, H, W); got shape {kpow.shape}")
    P = data_power(x)
    B = blur_power(kpow.shape[1], kpow.shape[-1], k=k)
    return {"power": spearman_map(P, dom), "blur": spearman_map(B, dom),
            "partial": np.array([partial_spearman(p, dom, P) for p in kpow]),
            "rho_power": np.array([spearman_map(p, P) for p in kpow])}


# -------------------------------------------- a task whose labels are not in the power
def band_labels(x, *, band=(3.0, 4.5), seed: int = 0) -> dict:
    """Labels tied to a mid-frequency band (after Chowers & Weiss App. D.1, where labels
    follow one PCA direction): a fixed random template ``t`` with Fourier support on the
    radii ``band[0] ≤ |k| < band[1]`` (random phases and colours, unit norm) and
    ``y = 1[⟨x, t⟩ > median]`` — two balanced classes, linearly separable along a direction
    of *low* variance, so the label-relevant frequencies are not the high-power ones.
    Returns ``dict(y (N,), template (C, H, W), mask (H, W) of the band)``."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 4 or len(a) < 2:
        raise ValueError(f"x must be an (N ≥ 2, C, H, W) array; got shape {a.shape}")
    lo, hi = (float(b) for b in band)
    if not 0 < lo < hi:
        raise ValueError(f"band must be (lo, hi) with 0 < lo < hi; got {band!r}")
    _, C, H, W = a.shape
    _, _, r = fourier.frequency_grid(H, W)
    mask = (r >= lo) & (r < hi)
    if not mask.any():
        raise ValueError(f"no frequency of a {H}×{W} image has radius in {band}")
    rng = np.random.default_rng([seed, 104729])
    Z = (rng.standard_normal((C, H, W)) + 1j * rng.standard_normal((C, H, W))) * mask
    t = np.fft.ifft2(Z).real                    # real part: Hermitian, same support
    t /= np.linalg.norm(t)
    z = np.einsum("nchw,chw->n", a, t)
    y = (z > np.median(z)).astype(np.int64)
    return {"y": y, "template": t, "mask": mask}


def band_share(a, mask) -> np.ndarray:
    """Share of a non-negative map ``a`` (..., C, H, W) that lies on the frequencies of
    ``mask`` (H, W): Σ_band a / Σ a, colours summed; shape (...)."""
    a = np.asarray(a, dtype=float)
    m = np.asarray(mask, dtype=bool)
    if a.ndim < 3 or a.shape[-2:] != m.shape:
        raise ValueError(f"a must be (..., C, H, W) with (H, W) = {m.shape}; got {a.shape}")
    s = a.sum(-3)
    return (s * m).sum((-2, -1)) / s.sum((-2, -1))


# ------------------------------------------------ converged linear nets: the map itself
class _Linear(torch.nn.Module):
    def __init__(self, W):
        super().__init__()
        self.register_buffer("W", torch.as_tensor(W, dtype=torch.float64))

    def forward(self, x):
        return x.to(torch.float64).reshape(len(x), -1) @ self.W.reshape(len(self.W), -1).T


def linear_map(model, shape) -> np.ndarray:
    """The end-to-end map ``W`` (K, C, H, W) of a bias-free linear net: its outputs on the
    pixel basis images."""
    D = int(np.prod(shape))
    basis = torch.eye(D, dtype=torch.float64).reshape(D, *shape)
    with torch.no_grad():
        return model(basis).T.reshape(-1, *shape).detach().numpy()


def map_measures(W, D: dict, *, dom, fbasis, n_eval: int = 32, zero: float = 1e-6) -> dict:
    """The three measures of an end-to-end linear map ``W`` (K, C, H, W) (its K output
    filters as one full-size "layer"): ``g_m1`` the sensitivity's first moment (Eq. 5.1, on
    ``n_eval`` test images; for a linear map it does not depend on them), ``slope`` the
    log–log slope of its energy profile against the patch-PCA λ (CW Def. 2.2 in the Fourier
    patch basis: −1 is whitening) over the components it keeps, ``kept`` the fraction of
    components whose energy exceeds ``zero`` × the largest (weight decay's soft threshold
    sets the others to 0; a solver leaves them at rounding level, 10⁻¹⁰ or below, whose
    logarithm would otherwise decide the slope), ``k_dom`` ρ(power, dominance), ``e``,
    ``kpow``, ``smap``."""
    W = np.asarray(W, dtype=np.float64)
    xe = torch.as_tensor(np.asarray(D["x_test"][:n_eval]), dtype=torch.float64)
    smap = sensitivity.frequency_sensitivity(_Linear(W), xe)
    r_, gr = sensitivity.radial(smap)
    lam2 = fbasis["lam2"].ravel()
    ok = lam2 > 1e-12 * lam2.max()
    e = fourier_energy(W, fbasis).ravel()
    e = e / e.max()
    kept = ok & (e > zero)
    kp = kernel_power(W, W.shape[-1])
    return {"g_m1": sensitivity.moments(r_, gr)[0],
            "slope": cw_th.loglog_slope(e[kept], lam2[kept]),
            "kept": float(kept.sum() / ok.sum()),
            "k_dom": spearman_map(kp, dom), "e": e, "lam2": lam2, "kpow": kp,
            "smap": np.asarray(smap)}


def closed_form_linear(D: dict, *, lam: float = 0.0, L: int = 2) -> dict:
    """The converged end point of MSE on centred one-hot targets (Eq. 4.1) in closed form
    (:mod:`freqlearn.theory.godfrey`), as the end-to-end map ``W`` (K, C, H, W):
    ``lam = 0``: the minimum-norm least-squares map (:func:`~freqlearn.theory.godfrey.
    min_norm_least_squares`; any linear net without weight decay, trained by gradient
    descent from near zero, ends there); ``lam > 0`` with ``L = 2``: the exact minimiser
    of Eq. 4.10 by proximal gradient (nuclear norm per frequency; a net with at least
    C channels). Also ``grad_norm``: the norm of the data term's gradient at ``W`` (for
    ``lam = 0``: 0 up to rounding), ``acc`` the training accuracy and ``B`` (K, C, H, W) the
    cross-covariance ``E[y xᵀ]`` of the centred targets (``b̂`` of Eq. sy-eq-ls)."""
    if not (isinstance(lam, (int, float)) and lam >= 0):
        raise ValueError(f"lam must be a number ≥ 0; got {lam!r}")
    L = _pos_int("L", L, 1)
    if lam > 0 and L != 2:
        raise ValueError(f"the closed form with weight decay is for L = 2; got L = {L}")
    x = torch.as_tensor(np.asarray(D["x"]), dtype=torch.float64)
    Y = torch.as_tensor(np.asarray(D["Y"]), dtype=torch.float64)
    Y = Y - Y.mean(0, keepdim=True)
    shape = tuple(x.shape[1:])
    S, B = gd_th.statistics(x, Y)
    v = (gd_th.min_norm_least_squares(S, B, shape) if lam == 0 else
         gd_th.prox_gradient(S, B, lam, L, shape))
    W = torch.fft.ifft2(v, norm="ortho").real
    Wf = W.reshape(len(W), -1)
    grad = 2 * (Wf @ S - B)
    pred = (x.reshape(len(x), -1) @ Wf.T).argmax(1).numpy()
    acc = float((pred == np.asarray(D["y"])).mean())
    Bm = B.reshape(len(B), *shape).numpy()
    return {"W": W.numpy(), "B": Bm, "grad_norm": float(grad.norm()), "lam": lam, "L": L,
            "acc": acc}


def energy_band_share(m: dict, mask, shape) -> dict:
    """Band shares (:func:`band_share`) of the squared energy profiles of :func:`summarise`'s
    record ``m`` at its last step (full-size kernels: ``e`` laid out as ``shape`` = (C, H,
    W)) and of the CW formula fitted to each, ``(1 − e^{−sλ²})/λ`` — a function of the
    patch variance alone. Components with ``lam2 ≤ 10⁻¹² max`` (the removed mean colour) are
    left out of both. Returns ``dict(profile (T,), formula (T,))``."""
    if not m.get("full", False):
        raise ValueError("energy_band_share needs a full-size kernel's record (m['full'])")
    lam2 = np.asarray(m["lam2"], dtype=float)
    ok = lam2 > 1e-12 * lam2.max()
    e = np.where(ok, np.asarray(m["e"][-1], dtype=float), 0.0)
    f = np.zeros_like(e)
    for j, s_ in enumerate(np.asarray(m["s"][-1], dtype=float)):
        f[j, ok] = cw_th.formula(lam2[ok], float(s_))
    sh = (len(e), *shape)
    return {"profile": band_share(e.reshape(sh) ** 2, mask),
            "formula": band_share(f.reshape(sh) ** 2, mask)}


def smap_m1(smap) -> float:
    """First moment (Eq. 5.1) of the radial average of one sensitivity map (C, H, W)."""
    r_, gr = sensitivity.radial(np.asarray(smap, dtype=float))
    return float(sensitivity.moments(r_, gr)[0])

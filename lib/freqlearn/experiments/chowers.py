"""Runners for Chowers & Weiss (2023): data, training, profiles; plain arrays out.

Training follows the authors' code (the paper states no settings): plain SGD, lr 0.01, **no
momentum, no weight decay, no schedule**, batch 256 (shuffled, ``drop_last``), cross-entropy,
no augmentation, per-channel mean/std normalisation (here the training set's own), and the
energy profile of the first layer computed from ``W_T − W_0`` (initial weights subtracted),
max-normalised.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from .. import data as fldata
from .. import fourier, presets, train
from ..nets import chowers as nets
from ..theory import chowers as th

__all__ = ["load", "patch_basis", "train_net", "profile", "first_weights", "simulate_gap",
           "label_energy_corr", "energy_labels", "autocorr", "whiten_images",
           "per_image_energy", "label_draws", "cv_of_projections",
           "linear_profiles", "make_net", "train_set", "autocorr_filters",
           "random_banks", "train_pairs", "partner", "PARTNER_SEED", "formula_gain",
           "relative_energy", "load_celeba",
           "load_extra",
           "CELEBA_FILES", "dataset_runs"]

#: the files of the official CelebA release that :func:`load_celeba` reads
CELEBA_FILES = ("img_align_celeba.zip (or the folder img_align_celeba/)",
                "list_attr_celeba.txt", "list_eval_partition.txt")


def load(n_train: int | None, n_test: int | None, *, prefer: str = "cifar10",
         n_classes: int = 10, seed: int = 0, size: int = 32):
    """Normalised natural images ``dict(x, y, x_test, y_test, name, source, mean, std)``:
    CIFAR when present (else the stand-in, saying so); per-channel mean/std of the training
    set (the authors use CIFAR-10's constants, which are that)."""
    tr, te = fldata.load_natural(n_train, n_test, prefer=prefer, n_classes=n_classes,
                                 seed=seed, size=size)
    m = tr.x.mean(axis=(0, 2, 3), keepdims=True)
    s = tr.x.std(axis=(0, 2, 3), keepdims=True)
    return {"x": (tr.x - m) / s, "y": tr.y, "x_test": (te.x - m) / s, "y_test": te.y,
            "name": tr.name, "source": tr.source, "mean": m.ravel(), "std": s.ravel(),
            "classes": tr.classes}


def patch_basis(x, size: int = 3, *, n_images: int = 2000, stride: int = 1,
                chunk: int = 500):
    """``(lam2, U)``: exact ``eigh`` patch PCA (Def. 2.1, uncentred) of all valid
    ``size×size`` patches of the first ``n_images`` images; ``lam2`` = eigenvalues λ_i².

    Same result as ``fl.fourier.patch_pca(fl.fourier.extract_patches(x, size))`` (sorting
    and sign convention included), with the second moment accumulated over ``chunk`` images
    at a time so that 10,000 CIFAR images do not need a 2 GB patch array."""
    x = np.asarray(x[:n_images], np.float64)
    d = x.shape[1] * size * size
    M, n = np.zeros((d, d)), 0
    for k in range(0, len(x), chunk):
        P = fourier.extract_patches(x[k:k + chunk], size, stride=stride)
        M += P.T @ P
        n += len(P)
    if n == 0:
        raise ValueError("patch_basis needs at least one image")
    evals, U = np.linalg.eigh(M / n)
    order = np.argsort(evals)[::-1]
    evals, U = evals[order], U[:, order]
    idx = np.argmax(np.abs(U), axis=0)
    return evals, U * np.sign(U[idx, np.arange(d)])


def first_weights(net) -> np.ndarray:
    """The first conv's weights ``(K, C·s·s)`` as float64 numpy (flattened in (C, s, s))."""
    w = nets.first_layer(net).weight.detach().cpu().double().numpy()
    return w.reshape(w.shape[0], -1)


def profile(W, W0, U, *, subtract_init: bool = True) -> np.ndarray:
    """Max-normalised energy profile (Def. 2.2) of ``W − W0`` (or of ``W``)."""
    W = np.asarray(W, float)
    e = fourier.energy_profile(W - np.asarray(W0, float) if subtract_init else W, U)
    return e / e.max() if e.max() > 0 else e  # a frozen layer has a zero profile


def train_net(net, x, y, *, epochs: int, batch: int = 256, lr: float = 0.01,
              generator: torch.Generator, x_test=None, y_test=None, device=None,
              desc: str = "training", checkpoint=None, eval_reset: bool = False):
    """Plain SGD (authors' settings) on ``(x, y)``; returns ``dict(W0, W, loss, acc,
    test_loss, test_acc, steps)``: first-layer weights before/after, per-step train loss.
    ``eval_reset`` adds ``eval_loss_reset``: the trained net's training loss with its first
    layer put back to ``W0`` (C2's trivial explanation: a layer that barely moved)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer ≥ 1; got {epochs!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an integer ≥ 1; got {batch!r}")
    dev = presets.device() if device is None else torch.device(device)
    # None means no checkpoint here; a path is fingerprinted with every argument
    checkpoint = train.resolve_checkpoint(
        False if checkpoint is None else checkpoint, "train_net",
        key=dict(net=[type(net).__qualname__, net.state_dict()], x=np.asarray(x),
                 y=np.asarray(y), epochs=epochs, batch=batch, lr=lr, generator=generator,
                 device=str(dev), desc=desc))
    net = net.to(dev)
    X = torch.as_tensor(np.asarray(x, np.float32), device=dev)
    Y = torch.as_tensor(np.asarray(y, np.int64), device=dev)
    n = len(Y)
    if n < batch:
        raise ValueError(f"batch={batch} exceeds the {n} training images")
    per = n // batch  # drop_last
    W0 = first_weights(net)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=lr)
    order = {"perm": None}
    losses = []

    def step(t):
        k = t % per
        if k == 0:
            order["perm"] = torch.randperm(n, generator=generator).to(dev)
        idx = order["perm"][k * batch:(k + 1) * batch]
        net.train()
        opt.zero_grad()
        loss = F.cross_entropy(net(X[idx]), Y[idx])
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))

    train.run(step, epochs * per, state={"net": net, "opt": opt}, generators=[generator],
              checkpoint=checkpoint, desc=desc, name=desc)
    out = {"W0": W0, "W": first_weights(net), "loss": np.asarray(losses),
           "steps": epochs * per}
    net.eval()
    with torch.no_grad():
        for k, (xx, yy) in {"": (X, Y), "test_": (x_test, y_test)}.items():
            if xx is None:
                continue
            xx = torch.as_tensor(np.asarray(xx, np.float32), device=dev)
            yy = torch.as_tensor(np.asarray(yy, np.int64), device=dev)
            logits = torch.cat([net(xx[i:i + 512]) for i in range(0, len(yy), 512)])
            out[k + "eval_loss"] = float(F.cross_entropy(logits, yy))
            out[k + "acc"] = float((logits.argmax(1) == yy).float().mean())
        if eval_reset:
            conv = nets.first_layer(net)
            W = conv.weight.detach().clone()
            conv.weight.copy_(torch.as_tensor(W0.reshape(W.shape), dtype=W.dtype,
                                              device=W.device))
            logits = torch.cat([net(X[i:i + 512]) for i in range(0, n, 512)])
            out["eval_loss_reset"] = float(F.cross_entropy(logits, Y))
            conv.weight.copy_(W)
    return out


def simulate_gap(x, y, *, K: int, eta: float, steps, sigma: float = 1e-3,
                 generator: torch.Generator, size: int = 3, stride: int = 1):
    """Full-batch GD on :class:`~freqlearn.nets.chowers.LinearGAP` by autograd, float64.

    ``y``: ``(N, B)`` — B label draws, one independent filter bank each (batched). Loss
    ``Σ_b (1/N) Σ_x (y_b − ŷ_b)²``, so the trials do not interact. Returns
    ``dict(t, W (len(t), B, K, d), W0 (B, K, d))`` at the requested ``steps``.
    """
    X = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    Y = torch.as_tensor(np.asarray(y), dtype=torch.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have {X.shape[0]} rows; got {tuple(Y.shape)}")
    net = nets.LinearGAP(K, trials=Y.shape[1], size=size, channels=X.shape[1], stride=stride,
                         sigma=sigma, generator=generator)
    opt = torch.optim.SGD(net.parameters(), lr=eta)
    rec = train.Recorder({"W": lambda: net.filters.detach().clone()}, steps)
    W0 = net.filters.detach().numpy().copy()

    def step(t):
        opt.zero_grad()
        loss = ((Y - net(X)) ** 2).mean(0).sum()
        loss.backward()
        opt.step()

    train.run(step, int(max(rec.steps)), recorder=rec, desc="linear GAP GD")
    return {"t": rec.t, "W": rec.history["W"], "W0": W0}


def per_image_energy(x, U, size: int = 3) -> np.ndarray:
    """``E_i(x) = mean_j (u_iᵀ p_j(x))²`` — per-image patch energy per component, (N, d)."""
    x = np.asarray(x, np.float64)
    out = []
    for k in range(0, len(x), 100):
        P = fourier.extract_patches(x[k:k + 100], size)
        J = P.shape[0] // len(x[k:k + 100])
        out.append(((P @ U) ** 2).reshape(-1, J, U.shape[1]).mean(1))
    return np.concatenate(out)


def label_energy_corr(x, y, U, *, n_classes: int, size: int = 3):
    """Fig. 5: Pearson correlation of each component's per-image patch energy with each
    one-vs-all label, ``(n_classes, d)``; and Def. A.4's linear version with the mean
    coefficient ``u_iᵀp̄(x)``. Returns ``dict(energy, coef)``."""
    E = per_image_energy(x, U, size)
    Cf = th.gap_features(x, size) @ U
    Yo = (np.asarray(y)[:, None] == np.arange(n_classes)[None]).astype(float)

    def corr(Z):
        Z = (Z - Z.mean(0)) / Z.std(0)
        L = (Yo - Yo.mean(0)) / Yo.std(0)
        return L.T @ Z / len(Z)

    return {"energy": corr(E), "coef": corr(Cf)}


def energy_labels(x, U, i: int, *, n_classes: int = 10, size: int = 3) -> np.ndarray:
    """App. D.1: label each image by the decile (``n_classes``-quantile) of its total patch
    energy in direction ``u_i`` (label 0 = highest energy)."""
    e = per_image_energy(x, U[:, [i]], size)[:, 0]
    ranks = np.argsort(np.argsort(-e, kind="stable"), kind="stable")
    return (ranks * n_classes // len(e)).astype(np.int64)


def whiten_images(x, eps: float = 1e-3) -> np.ndarray:
    """Perfect (full-image, per-channel) whitening: divide each Fourier coefficient by the
    root of the dataset's mean power at that frequency (ZCA in the circular Fourier basis)."""
    x = np.asarray(x, np.float64)
    X = np.fft.fft2(x - x.mean(axis=(2, 3), keepdims=True))
    pw = (np.abs(X) ** 2).mean(0, keepdims=True)
    return np.fft.ifft2(X / np.sqrt(pw + eps * pw.mean())).real


def autocorr(y, dmax: int = 10) -> np.ndarray:
    """Fig. 6: ``C(δ) = E_i[y(i)·y(i+δ)] / E_i[y(i)·y(i)]`` for feature maps ``y`` (N, K, H, W),
    channels' means removed, averaged over horizontal and vertical shifts δ = 0…dmax."""
    y = np.asarray(y, np.float64)
    y = y - y.mean(axis=(0, 2, 3), keepdims=True)
    c0 = (y * y).sum(1).mean()
    out = [1.0]
    for d in range(1, dmax + 1):
        h = (y[..., :, d:] * y[..., :, :-d]).sum(1).mean()
        v = (y[..., d:, :] * y[..., :-d, :]).sum(1).mean()
        out.append(0.5 * (h + v) / c0)
    return np.asarray(out)


def label_draws(N: int, B: int, rng: np.random.Generator) -> np.ndarray:
    """``B`` independent random-label draws ``±1`` for ``N`` images, ``(N, B)``."""
    return rng.choice(np.array([-1.0, 1.0]), size=(N, B))


def cv_of_projections(pbar, U, Ns, B: int, rng: np.random.Generator) -> np.ndarray:
    """Proof step 2: coefficient of variation over ``B`` random-label draws of ``|u_iᵀb|``
    for the first ``N`` images, each ``N`` in ``Ns``; ``(len(Ns), d)``."""
    out = []
    for n in Ns:
        _, b = th.gap_moments(pbar[:n], label_draws(n, B, rng))
        z = np.abs(U.T @ b)
        out.append(z.std(1) / z.mean(1))
    return np.asarray(out)


def linear_profiles(pbar, U, lam2, ts, *, K: int, B: int, rng: np.random.Generator,
                    ns=(1, 5, 20, 100, 1000)):
    """The GAP linear model's profiles at steps ``ts`` (closed form, exact) for ``B``
    random-label draws, with ``2ηK = 1/max a`` (the largest stable-and-monotone step).

    Returns dict with ``single`` (len(ts), B, d) max-normalised single-net profiles, ``mean``
    (mean of the unnormalised profiles over draws, max-normalised), ``se`` (its standard error,
    same scale), ``expected`` (exact expectation, :func:`~freqlearn.theory.chowers.
    expected_profile`), ``formula_A`` (the formula with A's diagonal ``u_iᵀAu_i`` for λ², at
    the known t), ``printed`` (printed formula, best ``s``), ``r_*`` correlations and
    ``lr_*`` log-RMS errors, ``eta``, ``a_diag``; ``r_single_expected`` (len(ts), ≤200):
    each single net against the exact expectation; ``r_mean_n`` / ``sd_mean_n``
    (len(ts), len(ns)): r of the mean of ``n`` draws (unnormalised profiles averaged, as
    ``mean``) with the exact expectation, mean and s.d. over the ``B // n`` disjoint groups
    of ``n`` draws, for each ``n`` in ``ns`` (those ``≤ B``, kept in ``ns``).
    """
    ns = [int(n) for n in ns if 1 <= int(n) <= B]
    if not ns:
        raise ValueError(f"ns must hold at least one n in 1..B={B}; got {ns!r}")
    N = len(pbar)
    A, b = th.gap_moments(pbar, label_draws(N, B, rng))
    a = np.linalg.eigvalsh(A)
    eta = 1.0 / (2 * K * a.max())
    ad = np.einsum("di,de,ei->i", U, A, U)
    keys = ("single", "mean", "se", "expected", "formula_A", "printed", "r_printed",
            "r_A", "r_expected", "lr_printed", "lr_A", "lr_expected", "r_single_printed",
            "r_single_A", "s_printed", "r_single_expected", "r_mean_n", "sd_mean_n")
    out = {k: [] for k in keys}
    for t in ts:
        P = th.profile_closed_form(A, b, int(t), U, eta=eta, c=K)
        m = P.mean(0)
        out["se"].append(P.std(0, ddof=1) / np.sqrt(B) / m.max())
        m = m / m.max()
        ex = th.expected_profile(A, U, float(t), eta=eta, c=K, N=N)
        ex = ex / ex.max()
        fA = -np.expm1(float(t) * np.log1p(-2 * eta * K * ad)) / np.sqrt(ad)
        fA = fA / fA.max()
        s, r, cur = th.fit_formula(m, lam2)
        Pn = P / P.max(1, keepdims=True)
        rn = [[th.pearson(P[g * n:(g + 1) * n].mean(0), ex) for g in range(B // n)]
              for n in ns]
        for k, v in (("single", Pn), ("mean", m), ("expected", ex), ("formula_A", fA),
                     ("printed", cur), ("r_printed", r), ("s_printed", s),
                     ("r_A", th.pearson(fA, m)), ("r_expected", th.pearson(ex, m)),
                     ("lr_printed", th.log_rms(cur, m)), ("lr_A", th.log_rms(fA, m)),
                     ("lr_expected", th.log_rms(ex, m)),
                     ("r_single_printed", [th.fit_formula(p, lam2)[1] for p in Pn[:200]]),
                     ("r_single_A", [th.pearson(p, fA) for p in Pn[:200]]),
                     ("r_single_expected", [th.pearson(p, ex) for p in Pn[:200]]),
                     ("r_mean_n", [np.mean(v) for v in rn]),
                     ("sd_mean_n", [np.std(v, ddof=1) if len(v) > 1 else 0.0
                                    for v in rn])):
            out[k].append(v)
    out = {k: np.asarray(v) for k, v in out.items()}
    out.update(eta=eta, a_diag=ad, A=A, t=np.asarray(ts), ns=np.asarray(ns))
    return out


def make_net(spec: dict, n_classes: int):
    """A net from a spec: ``arch`` "vgg" (``depth`` 11/13/16/19, default 11; ``width``,
    ``first``, ``first_stride``) or "resnet" (``depth`` 6n+2, ``first``); ``freeze`` freezes
    the first layer."""
    arch = spec.get("arch", "vgg")
    if arch == "vgg":
        return nets.vgg_bn(spec.get("depth", 11), n_classes=n_classes,
                           width=spec.get("width", 1.0), first=spec.get("first"),
                           first_stride=spec.get("first_stride", 1),
                           freeze_first=spec.get("freeze", False))
    if arch == "resnet":
        return nets.cifar_resnet(spec.get("depth", 20), width=spec.get("first", 16),
                                 n_classes=n_classes, freeze_first=spec.get("freeze", False))
    raise ValueError(f"spec['arch'] must be 'vgg' or 'resnet'; got {arch!r}")


#: seed offset of a label partner (:func:`partner`): its own initialisation and batch order
PARTNER_SEED = 1000


def partner(spec: dict, labels="random") -> dict:
    """The label partner of a net ``spec`` (C3, App. D.1): the same architecture trained on
    other ``labels`` ("random", or an array) from an **independent** initialisation and batch
    order (seed ``spec seed + PARTNER_SEED``), as the authors' code builds the two nets with
    two ``get_model()`` calls. A shared seed would hand both nets the same ``W_0`` and the same
    batches, a confound for "the profile does not depend on the labels"."""
    if not isinstance(spec, dict):
        raise TypeError(f"spec must be a dict (see make_net); got {type(spec).__name__}")
    return dict(spec, seed=int(spec.get("seed", 0)) + PARTNER_SEED, labels=labels)


def train_set(D: dict, specs: dict, *, epochs: int, U, batch: int = 256, lr: float = 0.01,
              seed: int = 0, n_classes: int = 10, x=None):
    """Train every ``specs[name]`` (see :func:`make_net`; ``seed``: init/order seed offset,
    ``eval_reset``: see :func:`train_net`; ``labels``: "true", "random" (one fixed
    permutation of the labels, as the authors' code) or an array) on ``D`` (or images
    ``x``); returns ``{name: dict(profile, profile_raw, profile_init, W0, W, loss, acc,
    test_acc, ...)}`` — ``profile`` from ``W − W0``."""
    out = {}
    for name, spec in specs.items():
        s = seed + int(spec.get("seed", 0))
        lab = spec.get("labels", "true")
        y = np.asarray(D["y"])
        if isinstance(lab, str):
            if lab == "random":
                y = np.random.default_rng(s + 7919).permutation(y)
            elif lab != "true":
                raise ValueError(f"labels must be 'true', 'random' or an array; got {lab!r}")
        else:
            y = np.asarray(lab)
        torch.manual_seed(s)
        net = make_net(spec, n_classes)
        xx = D["x"] if x is None else x
        key = {k: v for k, v in spec.items() if k not in ("labels", "eval_reset")}
        ck = train.resolve_checkpoint(None, f"chowers-{name}", key=dict(
            key, s=s, epochs=epochs, batch=batch, lr=lr, y=y, n=len(y), shape=np.shape(xx)))
        r = train_net(net, xx, y, epochs=epochs, batch=batch, lr=lr,
                      generator=torch.Generator().manual_seed(s),
                      x_test=D.get("x_test") if x is None else None,
                      y_test=D.get("y_test") if x is None else None, desc=name,
                      checkpoint=ck, eval_reset=bool(spec.get("eval_reset", False)))
        r["profile"] = profile(r["W"], r["W0"], U)
        r["profile_raw"] = profile(r["W"], 0 * r["W0"], U)
        r["profile_init"] = profile(r["W0"], 0 * r["W0"], U)
        out[name] = r
    return out


def autocorr_filters(x, banks, dmax: int = 10) -> np.ndarray:
    """:func:`autocorr` of the (pre-BN, bias-free) outputs of each filter bank in ``banks``
    (each ``(K, C·s·s)`` or ``(K, C, s, s)``) on images ``x``; ``(len(banks), dmax + 1)``."""
    X = torch.as_tensor(np.asarray(x, np.float64))
    out = []
    for W in banks:
        W = torch.as_tensor(np.asarray(W, np.float64))
        if W.ndim == 2:
            W = W.reshape(W.shape[0], X.shape[1], 3, 3)
        out.append(autocorr(F.conv2d(X, W).numpy(), dmax))
    return np.asarray(out)


def random_banks(n: int, K: int, rng: np.random.Generator, d: int = 27) -> np.ndarray:
    """``n`` random first layers as VGG11-bn initialises them (Kaiming normal, fan_out:
    std = √(2/(K·9)))."""
    return rng.standard_normal((n, K, d)) * np.sqrt(2.0 / (K * 9))


def train_pairs(D: dict, pairs: dict, spec: dict, *, epochs: int, U, seed: int = 0,
                batch: int = 256, lr: float = 0.01):
    """Table 3: one net (``spec``, see :func:`make_net`) per class pair, trained on the images
    of the two classes of ``D`` only, labels 0/1 (``pairs``: ``{name: (a, b)}``); the k-th pair
    uses init/order seed ``seed + spec seed + 100 + k``. Returns ``{name: result}`` as
    :func:`train_set` (``profile`` from ``W − W0``)."""
    if not isinstance(pairs, dict) or not pairs:
        raise ValueError(f"pairs must be a non-empty dict {{name: (a, b)}}; got {pairs!r}")
    y = np.asarray(D["y"])
    out = {}
    for k, (name, ab) in enumerate(pairs.items()):
        if (not isinstance(ab, (tuple, list)) or len(ab) != 2 or ab[0] == ab[1]
                or any(isinstance(c, bool) or not isinstance(c, (int, np.integer))
                       for c in ab)):
            raise ValueError(f"pairs[{name!r}] must be two different class indices; got {ab!r}")
        a, b = (int(c) for c in ab)
        mask = (y == a) | (y == b)
        if mask.sum() < batch:
            raise ValueError(f"pair {name!r} has {int(mask.sum())} images, fewer than "
                             f"batch={batch}; load more images")
        Dp = {"x": D["x"][mask], "y": (y[mask] == b).astype(np.int64)}
        sp = dict(spec, seed=int(spec.get("seed", 0)) + 100 + k)
        out[name] = train_set(Dp, {f"pair{a}-{b}": sp}, epochs=epochs, U=U, batch=batch,
                              lr=lr, seed=seed, n_classes=2)[f"pair{a}-{b}"]
    return out


def relative_energy(p, i: int) -> float:
    """Energy of component ``i`` of a profile ``p`` relative to the largest other component
    (App. D.2: how far scaling one PCA direction lifts it above the rest)."""
    p = np.asarray(p, float)
    return float(p[i] / np.delete(p, i).max())


def formula_gain(p_orig, lam2, i: int, alpha: float) -> tuple[float, float]:
    """App. D.2 as a prediction: fit :func:`~freqlearn.theory.chowers.fit_formula` (over
    ``s``) to the profile ``p_orig`` of a net trained on the original images, then evaluate
    the formula at that ``s`` with ``λ_i² → α²λ_i²``. Returns ``(gain, s)``: the predicted
    factor by which component ``i``'s energy relative to the largest other component grows."""
    lam2 = np.asarray(lam2, float)
    s, _, f_o = th.fit_formula(p_orig, lam2)
    lam2_a = lam2.copy()
    lam2_a[i] *= float(alpha) ** 2
    f_a = th.formula(lam2_a, s)
    return relative_energy(f_a, i) / relative_energy(f_o, i), s


def _celeba_table(path, what):
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"CelebA {what} not found: {path}. Fix: put the official "
                                f"CelebA files ({', '.join(CELEBA_FILES)}) in "
                                f"{path.parent}") from None
    return [ln.split() for ln in lines if ln.strip()]


def load_celeba(n_train: int | None, n_test: int | None, *, attr: str = "Male",
                size: int = 32, seed: int = 0, root=None):
    """CelebA (aligned faces) from its official files, as :func:`load` returns CIFAR.

    ``root`` (default ``<FREQLEARN_DATA>/celeba``) holds ``list_attr_celeba.txt``,
    ``list_eval_partition.txt`` and the images, as ``img_align_celeba.zip`` or the extracted
    folder ``img_align_celeba/``. Nothing is downloaded. The paper does not say which label
    it trains on: we use the binary attribute ``attr`` (1 = present; default "Male"). Images
    (178×218) are centre-cropped to 178×178 and box-filtered to ``size×size``, scaled to
    [0, 1] and normalised per channel by the training set's mean/std. ``n_train`` images
    are drawn (seeded) from the train partition (0), ``n_test`` from the test partition (2);
    ``None`` = all of it. ``n_train`` must leave at least one training image (every image is
    normalised by the training set's statistics); ``n_test`` may be 0. Counts, ``size`` and
    ``seed`` are integers (floats are refused, not truncated).
    """
    import zipfile
    from pathlib import Path

    from PIL import Image

    from ..data import _checks as chk
    from ..data.cifar import data_dir

    if n_train is not None:
        n_train = chk.integer(n_train, "n_train")
        if n_train < 1:
            raise ValueError(f"n_train must be None or an integer ≥ 1: the training images' "
                             f"mean and std normalise every image, so at least one is needed; "
                             f"got {n_train}")
    n_test = chk.optional_integer(n_test, "n_test", minimum=0)
    size = chk.integer(size, "size", minimum=2)
    seed = chk.integer(seed, "seed", minimum=0)
    if not isinstance(attr, str):
        raise TypeError(f"attr must be the name of a CelebA attribute (a string); got "
                        f"{type(attr).__name__}")
    root = Path(data_dir() / "celeba" if root is None else root).expanduser()
    rows = _celeba_table(root / "list_attr_celeba.txt", "attribute list")
    names = rows[1]
    if attr not in names:
        raise ValueError(f"attr must be one of the CelebA attributes {names}; got {attr!r}")
    col = names.index(attr) + 1
    label = {r[0]: int(r[col] == "1") for r in rows[2:]}
    part = {r[0]: int(r[1]) for r in _celeba_table(root / "list_eval_partition.txt",
                                                   "partition list")}
    zpath, folder = root / "img_align_celeba.zip", root / "img_align_celeba"
    if zpath.exists():
        zf = zipfile.ZipFile(zpath)
        members = {Path(n).name: n for n in zf.namelist() if n.endswith(".jpg")}

        def read(f):
            return zf.read(members[f])
    elif folder.is_dir():
        zf = None

        def read(f):
            return (folder / f).read_bytes()
    else:
        raise FileNotFoundError(f"CelebA images not found: neither {zpath} nor {folder}. "
                                f"Fix: put the official img_align_celeba.zip in {root}")
    rng = np.random.default_rng(seed)
    n_train_all = sum(1 for f, q in part.items() if q == 0 and f in label)
    if n_train is None and n_train_all == 0:
        raise ValueError(f"the CelebA train partition (0) in {root} has no images: nothing to "
                         "normalise the images with (list_eval_partition.txt marks none 0)")
    n_test_all = sum(1 for f, q in part.items() if q == 2 and f in label)
    n_img = (n_train_all if n_train is None else n_train) + \
        (n_test_all if n_test is None else n_test)
    chk.fits(4.0 * 2 * 3 * size * size * n_img,
             f"{n_img} CelebA images of {size}×{size}")

    def take(p, n):
        files = sorted(f for f, q in part.items() if q == p and f in label)
        if n is not None:
            if n > len(files):
                raise ValueError(f"asked for {n} CelebA images of partition {p}; "
                                 f"{len(files)} exist in {root}")
            files = [files[i] for i in np.sort(rng.choice(len(files), n, replace=False))]
        xs = []
        for f in files:
            import io

            im = Image.open(io.BytesIO(read(f))).convert("RGB")
            w, h = im.size
            c = min(w, h)
            im = im.crop(((w - c) // 2, (h - c) // 2, (w - c) // 2 + c, (h - c) // 2 + c))
            xs.append(np.asarray(im.resize((size, size), Image.Resampling.BOX), np.float32))
        x = np.stack(xs).transpose(0, 3, 1, 2) / 255.0 if xs else np.zeros((0, 3, size, size))
        return x.astype(np.float32), np.array([label[f] for f in files], np.int64)

    try:
        xtr, ytr = take(0, n_train)
        xte, yte = take(2, n_test)
    finally:
        if zf is not None:
            zf.close()
    m = xtr.mean(axis=(0, 2, 3), keepdims=True)
    s = xtr.std(axis=(0, 2, 3), keepdims=True)
    flat = [c for c, v in zip("RGB", s.ravel(), strict=True) if not v > 0]
    if flat:
        raise ValueError(f"the {len(xtr)} CelebA training image(s) are constant in channel "
                         f"{flat[0]}: its std is 0, so normalising would divide by zero; ask "
                         "for more training images (n_train)")
    return {"x": (xtr - m) / s, "y": ytr, "x_test": (xte - m) / s, "y_test": yte,
            "name": "CelebA", "source": f"CelebA ({root}), attribute {attr!r}",
            "mean": m.ravel(), "std": s.ravel(), "classes": [f"not {attr}", attr]}


def load_extra(*, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
               root=None) -> dict:
    """The paper's other datasets where they are on disk (Table 1/2): ``{"CIFAR-100": D,
    "CelebA": D}`` with each present one, as :func:`load` returns it; absent ones are left
    out with a printed note (nothing is downloaded, nothing falls back to the stand-in)."""
    out = {}
    try:
        tr, te = fldata.load_natural(n_train, n_test, prefer="cifar100", n_classes=100,
                                     seed=seed, allow_fallback=False)
        m = tr.x.mean(axis=(0, 2, 3), keepdims=True)
        s = tr.x.std(axis=(0, 2, 3), keepdims=True)
        out["CIFAR-100"] = {"x": (tr.x - m) / s, "y": tr.y, "x_test": (te.x - m) / s,
                            "y_test": te.y, "name": tr.name, "source": tr.source,
                            "mean": m.ravel(), "std": s.ravel(), "classes": tr.classes}
    except fldata.CIFARNotFound as e:
        print(f"CIFAR-100 not used: {str(e).split(' Fix:')[0]}")
    try:
        out["CelebA"] = load_celeba(n_train, n_test, seed=seed, root=root)
    except FileNotFoundError as e:
        print(f"CelebA not used: {e}")
    return out


def dataset_runs(D: dict, spec: dict, *, tag: str, epochs: int, epochs_random: int,
                 seeds: int = 2, seed: int = 0, batch: int = 256, n_images: int = 10000):
    """Table 1 / Table 2 on one more dataset ``D`` (CIFAR-100, CelebA): its own patch basis,
    ``seeds`` nets with true labels for ``epochs``, and one true/random-label pair for
    ``epochs_random``. ``tag`` prefixes the run names (checkpoints). Returns ``dict(r_seed,
    r_init, r_true_random, r_random_init, lam2, U, R)`` (correlations of max-normalised
    profiles of ``W − W0``; ``r_init``: the same seed pairs' initial profiles)."""
    if not isinstance(tag, str) or not tag or "/" in tag:
        raise ValueError(f"tag must be a non-empty name without '/'; got {tag!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise ValueError(f"seeds must be an integer ≥ 2; got {seeds!r}")
    lam2, U = patch_basis(D["x"], n_images=n_images)
    nc = len(D["classes"])
    S = {f"{tag}-s{k}": dict(spec, seed=k) for k in range(seeds)}
    R = train_set(D, S, epochs=epochs, U=U, seed=seed, n_classes=nc, batch=batch)
    R.update(train_set(D, {f"{tag}-true": dict(spec, seed=50),
                           f"{tag}-random": partner(dict(spec, seed=50))},
                       epochs=epochs_random, U=U, seed=seed, n_classes=nc, batch=batch))
    ks = [(f"{tag}-s{a}", f"{tag}-s{b}") for a in range(seeds) for b in range(a + 1, seeds)]
    return {"r_seed": [th.pearson(R[a]["profile"], R[b]["profile"]) for a, b in ks],
            "r_init": [th.pearson(R[a]["profile_init"], R[b]["profile_init"]) for a, b in ks],
            "r_true_random": th.pearson(R[f"{tag}-true"]["profile"],
                                        R[f"{tag}-random"]["profile"]),
            "r_random_init": th.pearson(R[f"{tag}-random"]["profile"],
                                        R[f"{tag}-random"]["profile_init"]),
            "lam2": lam2, "U": U, "R": R}

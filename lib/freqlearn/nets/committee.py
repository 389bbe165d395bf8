"""Two-layer committee machine of Ingrosso & Goldt (2022), batched over trials.

φ(x) = Σ_k v_k σ(w_k·x + b_k)  (paper Eq. 7), σ(h) = erf(h/√2), W_ki ~ N(0, 1/D),
v_k = 1/K fixed (or plastic, Fig. S1), MSE loss ½(φ − y)². Every tensor carries a
leading trial axis ``T`` (independent networks — several seeds and/or several datasets —
trained in one tensor update), so ``W`` is (T, K, D), ``b`` and ``v`` are (T, K).

Gradients are written out (no autograd): with h = Wx + b, e = φ − y,
∂/∂W_k = e v_k σ'(h_k) x, ∂/∂b_k = e v_k σ'(h_k), ∂/∂v_k = e σ(h_k).

Training loops (online SGD with fresh samples, finite-data minibatch SGD, the circular
CNN of Fig. 2E) go through :func:`freqlearn.train.run`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import train as _train

__all__ = ["Committee", "train_online", "train_finite", "CircularCNN", "train_cnn",
           "ipr", "invariant_overlap", "cluster_two", "rf_centres", "centred", "filters",
           "shape_correlation"]

_SQ2 = math.sqrt(2.0)
_SQ2PI = math.sqrt(2.0 / math.pi)


def ipr(W, axis=-1):
    """Inverse participation ratio Σ w⁴ / (Σ w²)² (paper Eq. 2)."""
    w2 = W**2
    return (w2**2).sum(axis) / w2.sum(axis) ** 2


class Committee:
    """Trial-batched committee: ``W`` (T, K, D), ``b`` (T, K), ``v`` (T, K)."""

    def __init__(self, T, K, D, *, generator=None, plastic_v=False, plastic_b=True, v0=None,
                 b0=0.0, act="erf", dtype=torch.float64, w_std=1.0):
        """``w_std``: W_ki ~ N(0, w_std²/D) (the Methods: 1; the authors' code: 0.1).
        ``b0``: the initial bias, one number, or ``"pm"`` for +1 on the first K/2 units and
        −1 on the rest (the authors' code: "large random biases to break the initial
        symmetry"). ``v0``: the readout, one number (default 1/K) or ``"random"`` for
        v_k ~ N(0, 0.1²) (the authors' plastic readout, Fig. S1)."""
        if isinstance(w_std, bool) or not isinstance(w_std, (int, float)) or not w_std > 0:
            raise ValueError(f"w_std must be a number > 0; got {w_std!r}")
        self.W = torch.randn((T, K, D), generator=generator, dtype=dtype) * (w_std / math.sqrt(D))
        if isinstance(b0, str):
            if b0 != "pm":
                raise ValueError(f"b0 must be a number or 'pm' (±1 halves); got {b0!r}")
            self.b = torch.ones((T, K), dtype=dtype)
            self.b[:, K // 2:] = -1.0
        else:
            self.b = torch.full((T, K), float(b0), dtype=dtype)
        if isinstance(v0, str):
            if v0 != "random":
                raise ValueError(f"v0 must be a number, None or 'random'; got {v0!r}")
            self.v = 0.1 * torch.randn((T, K), generator=generator, dtype=dtype)
        else:
            self.v = torch.full((T, K), 1.0 / K if v0 is None else float(v0), dtype=dtype)
        self.plastic_v = plastic_v
        self.plastic_b = plastic_b  # False: the bias stays at b0 (the reduced model, Fig. 4)
        if act not in ("erf", "cubic"):
            raise ValueError("act must be 'erf' or 'cubic' (α₁h − α₃h³/3, Fig. S3)")
        self.act = act

    def _sigma(self, h):
        if self.act == "erf":
            return torch.erf(h / _SQ2), _SQ2PI * torch.exp(-0.5 * h * h)
        a1, a3 = _SQ2PI, 1 / math.sqrt(2 * math.pi)
        return a1 * h - a3 / 3 * h**3, a1 - a3 * h * h

    @property
    def state(self):
        return {"W": self.W, "b": self.b, "v": self.v}

    def preact(self, x):
        """h (T, n, K) for x (T, n, D)."""
        return torch.einsum("tkd,tnd->tnk", self.W, x) + self.b[:, None, :]

    def forward(self, x):
        return (self._sigma(self.preact(x))[0] * self.v[:, None, :]).sum(-1)

    def pmse(self, x, y):
        """Test error ⟨(φ − y)²⟩ (Eq. 9) per trial, on a batch x (T, n, D), y (T, n)."""
        return ((self.forward(x) - y) ** 2).mean(-1)

    def accuracy(self, x, y):
        return (torch.sign(self.forward(x)) == y).to(x.dtype).mean(-1)

    def sgd_step(self, x, y, lr, weight_decay=0.0):
        """One SGD step on the mean of ½(φ − y)² over the batch (axis 1)."""
        h = self.preact(x)
        s, ds = self._sigma(h)
        e = (s * self.v[:, None, :]).sum(-1) - y  # (T, n)
        n = x.shape[1]
        gh = e[..., None] * self.v[:, None, :] * ds
        gW = torch.einsum("tnk,tnd->tkd", gh, x) / n
        if weight_decay:
            gW = gW + weight_decay * self.W
        self.W.sub_(lr * gW)
        if self.plastic_b:
            self.b.sub_(lr * gh.mean(1))
        if self.plastic_v:
            self.v.sub_(lr * (e[..., None] * s).mean(1))


def _recorder(net, steps, test, extra=None):
    xt, yt = test
    metrics = {"ipr": lambda: ipr(net.W), "pmse": lambda: net.pmse(xt, yt),
               "acc": lambda: net.accuracy(xt, yt)}
    if extra:
        metrics.update(extra)
    return _train.Recorder(metrics, steps)


def train_online(net: Committee, sample, steps: int, *, lr: float, batch: int = 1,
                 test=None, record=None, weight_decay=0.0, extra=None, desc="online SGD",
                 generators=(), checkpoint=None):
    """Online SGD: ``sample(batch)`` returns fresh (x (T, batch, D), y (T, batch)) each step.

    ``test`` = (x_test, y_test) held out; ``record`` = steps to record IPR, pmse, accuracy
    (and ``extra`` metrics). ``generators``: the torch generators ``sample`` draws from (saved
    in checkpoints); ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`). Returns the recorder.
    """
    generators = list(generators)
    ck = _train.resolve_checkpoint(checkpoint, "train_online", key=dict(
        net=net.state, steps=steps, lr=lr, batch=batch, test=test, record=record,
        weight_decay=weight_decay, extra=sorted(extra or {}), desc=desc, gens=generators))
    rec = _recorder(net, record, test, extra) if test is not None else None

    def step(t):
        x, y = sample(batch)
        net.sgd_step(x, y, lr, weight_decay)

    return _train.run(step, steps, recorder=rec, state=net.state, generators=generators,
                      desc=desc, checkpoint=ck)


def train_finite(net: Committee, X, Y, steps: int, *, lr: float, batch: int,
                 generator=None, test=None, record=None, weight_decay=0.0, extra=None,
                 desc="minibatch SGD", checkpoint=None):
    """Minibatch SGD on a fixed training set X (T, P, D), Y (T, P); reshuffled each epoch.

    ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`)."""
    P = X.shape[1]
    ck = _train.resolve_checkpoint(checkpoint, "train_finite", key=dict(
        net=net.state, X=X, Y=Y, steps=steps, lr=lr, batch=batch, generator=generator,
        test=test, record=record, weight_decay=weight_decay, extra=sorted(extra or {}),
        desc=desc))
    rec = _recorder(net, record, test, extra) if test is not None else None
    # the epoch's order and the position in it are state: a resumed run continues them
    perm = {"p": torch.randperm(P, generator=generator), "i": torch.zeros((), dtype=torch.long)}

    def step(t):
        if int(perm["i"]) + batch > P:
            perm["p"].copy_(torch.randperm(P, generator=generator))
            perm["i"].zero_()
        i = int(perm["i"])
        idx = perm["p"][i:i + batch]
        perm["i"] += batch
        net.sgd_step(X[:, idx], Y[:, idx], lr, weight_decay)

    gens = [generator] if generator is not None else []
    return _train.run(step, steps, recorder=rec, state={**net.state, "perm": perm["p"],
                      "perm_i": perm["i"]}, generators=gens, desc=desc, checkpoint=ck)


# ------------------------------------------------------------------ analysis of the RFs
def invariant_overlap(W):
    """q̃_kl = |ŵ_k|·|ŵ_l| / D for unit-norm rows (Eq. 8); 1D (K, D) or 2D (K, L, L)."""
    W = np.asarray(W, dtype=float)
    K = W.shape[0]
    Wf = W.reshape(K, -1)
    Wf = Wf / np.linalg.norm(Wf, axis=1, keepdims=True)
    A = np.abs(np.fft.fftn(Wf.reshape(W.shape), axes=tuple(range(1, W.ndim)))).reshape(K, -1)
    return A @ A.T / Wf.shape[1]


def cluster_two(W):
    """Average-linkage clustering of d = 1 − q̃ into two clusters.

    Returns (labels in {0, 1} with 1 = the cluster of larger mean IPR, dendrogram order,
    distance matrix).
    """
    from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
    from scipy.spatial.distance import squareform

    d = 1.0 - invariant_overlap(W)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    Z = linkage(squareform(np.clip(d, 0, None), checks=False), method="average")
    lab = fcluster(Z, 2, criterion="maxclust") - 1
    Wf = np.asarray(W).reshape(len(W), -1)
    r = ipr(Wf)
    if lab.max() == 1 and r[lab == 0].mean() > r[lab == 1].mean():
        lab = 1 - lab
    return lab, leaves_list(Z), d


def rf_centres(W):
    """Centre of each RF: circular mean of the position weighted by w² (1D (K, D) or 2D)."""
    W = np.asarray(W, dtype=float)
    out = []
    for ax in range(1, W.ndim):
        n = W.shape[ax]
        other = tuple(a for a in range(1, W.ndim) if a != ax)
        p = (W**2).sum(axis=other) if other else W**2
        ang = 2 * np.pi * np.arange(n) / n
        c = np.angle((p * np.exp(1j * ang)).sum(-1)) % (2 * np.pi)
        out.append(c * n / (2 * np.pi))
    return np.stack(out, -1) if len(out) > 1 else out[0]


def centred(W):
    """Roll each 1D RF (K, D) so its centre sits in the middle and its peak is positive."""
    W = np.asarray(W, dtype=float)
    K, D = W.shape
    c = np.round(rf_centres(W)).astype(int)
    out = np.stack([np.roll(W[k], D // 2 - c[k]) for k in range(K)])
    sgn = np.sign(out[np.arange(K), np.abs(out).argmax(1)])
    return out * sgn[:, None]


# ------------------------------------------------------------------ the CNN of Fig. 2E
class CircularCNN(torch.nn.Module):
    """1D conv (``channels`` filters of size ``ks``, circular padding, erf) + linear readout."""

    def __init__(self, D, ks, channels=1, dtype=torch.float64):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, channels, ks, padding=ks // 2, padding_mode="circular",
                                    dtype=dtype)
        with torch.no_grad():
            self.conv.weight.normal_(0, 1 / math.sqrt(ks))
            self.conv.bias.zero_()
        self.D = D
        self.read = torch.nn.Linear(channels * D, 1, dtype=dtype)
        with torch.no_grad():  # like the committee's v = 1/K: a uniform trainable readout
            self.read.weight.fill_(1.0)  # scaled by 1/(channels·D) in forward
            self.read.bias.zero_()
        self.scale = 1.0 / (channels * D)

    def forward(self, x):
        h = self.conv(x[:, None, :])[..., : self.D]
        return self.read(torch.erf(h / _SQ2).flatten(1) * self.scale)[:, 0]


def train_cnn(D, ks, X, Y, steps, *, lr, batch, channels=1, read_lr=0.1, generator=None,
              desc="CNN", checkpoint=None):
    """Minibatch SGD (MSE) of a :class:`CircularCNN` on X (P, D), Y (P,); returns the net.

    ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`)."""
    ck = _train.resolve_checkpoint(checkpoint, "train_cnn", key=dict(
        D=D, ks=ks, X=X, Y=Y, steps=steps, lr=lr, batch=batch, channels=channels,
        read_lr=read_lr, generator=generator, desc=desc))
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    net = CircularCNN(D, ks, channels, dtype=X.dtype)
    # the readout (and its bias) gets a small fixed rate: its gradient is O(1) per weight
    opt = torch.optim.SGD([{"params": net.conv.parameters(), "lr": lr},
                           {"params": net.read.parameters(), "lr": read_lr}])
    P = X.shape[0]

    def step(t):
        idx = torch.randint(0, P, (batch,), generator=generator)
        opt.zero_grad()
        loss = 0.5 * ((net(X[idx]) - Y[idx]) ** 2).mean()
        loss.backward()
        opt.step()

    with _train.threads(1):  # tiny convolutions: one thread
        _train.run(step, steps, state={"net": net, "opt": opt}, desc=desc, checkpoint=ck,
                   generators=[generator] if generator is not None else [])
    return net


def filters(net: CircularCNN) -> np.ndarray:
    """The learnt conv filters (channels, ks)."""
    return net.conv.weight.detach().cpu().numpy()[:, 0, :]


def shape_correlation(a, b):
    """Max over shifts and sign of the correlation of two centred 1D profiles (zero-padded)."""
    from ..theory.ingrosso import padded_shift_overlap

    return padded_shift_overlap(a, b)

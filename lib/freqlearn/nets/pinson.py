"""Models of Pinson, Lenaerts & Ginis (2023), batched over trials (leading axis T).

- :class:`LinearCNN` — Eq. 8: ŷ = W dbc(K) x, one n×n circular kernel per input channel
  (computed by :func:`freqlearn.fourier.fft_depthwise_conv2d`), flatten, one FC layer to p.
- :class:`LinearFCNN` — SI I: ŷ = W² W¹ x with n² hidden units (C·n² for colour). The first
  layer is stored through its action on a basis ``B`` (D×r, orthonormal columns) of the
  data span, ``M = W¹B``: for data in span(B) this is exact, and W¹'s component
  orthogonal to the span never changes. With ``B = I`` it is the plain FCNN.
- :func:`train_twolayer` — single-sample updates (a random sample per trial per update;
  one class drawn at random when there is one image per class) or the class-averaged
  update (``mode="mean"``), loss (1/p)Σ(y−ŷ)² (Keras' MSE, SI I) by default, through
  :func:`freqlearn.train.run`, recording A (Eq. 5), the loss and |(Qk)_j|².
- :class:`DeepCNN` — SI K: 4 conv layers (16 channels, 8×8, zero padding), max-pool 2×2
  after conv 2 and 4 in the ReLU net, FC 16, FC p; Glorot normal ×0.1; trials batched
  as groups of a grouped convolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import fourier, train
from ..theory import pinson as th

__all__ = ["LinearCNN", "LinearFCNN", "train_twolayer", "kernel_spectrum", "DeepCNN",
           "train_deep", "LOSS_FACTOR"]

LOSS_FACTOR = th.LOSS_FACTORS


def kernel_spectrum(k):
    """|(Qk)_j|² per channel: ``(..., C, n, n)`` → same shape, |F2D(K)/n|²."""
    k = torch.as_tensor(k)
    n = k.shape[-1]
    return (torch.fft.fft2(k).abs() / n) ** 2


@dataclass
class LinearCNN:
    """ŷ = Σ_c W_c vec(X_c ⊛ K_c) (Eq. 8). ``k`` (T, C, n, n), ``W`` (T, p, C·n²)."""

    k: torch.Tensor
    W: torch.Tensor

    @classmethod
    def random(cls, T, C, n, p, sigma, generator, dtype=torch.float64):
        k = train.batched_normal(T, (C, n, n), sigma, generator=generator, dtype=dtype)
        W = train.batched_normal(T, (p, C * n * n), sigma, generator=generator, dtype=dtype)
        return cls(k, W)

    @classmethod
    def aligned(cls, T, n, U, V, sigma, generator, dtype=torch.float64):
        """SI I.1 / S.138: random kernel N(0, σ²), W balanced and aligned to it (R = Q).

        For every mode α and j in its support σα_symm: (W̄Q⁻¹)_{α,j} = conj((Qk)_j) e^{−iψ_j},
        ψ_j = angle((Qφα)_j), zero elsewhere, W = U W̄. Then A is diagonal with
        aα = n Σxx_αα Σ_j |Qφα_j| |Qk_j|² (S.159–S.160). Single channel.
        """
        k = train.batched_normal(T, (1, n, n), sigma, generator=generator, dtype=dtype)
        kap = np.fft.fft2(k[:, 0].numpy()) / n  # (T, n, n)
        p = V.shape[1]
        Om = np.zeros((T, p, n, n), complex)
        for a in range(p):
            phi = np.fft.fft2(V[:, a].reshape(n, n)) / n
            sup = np.abs(phi) > 1e-6 * np.abs(phi).max()
            Om[:, a][:, sup] = (np.conj(kap) * np.exp(-1j * np.angle(phi)))[:, sup]
        # W̄_α = Ω_α Q  ⇔  w̄_α = Q ω_α (Q symmetric): an inverse-free FFT of ω
        Wb = np.real(np.fft.fft2(Om) / n).reshape(T, p, n * n)
        W = np.einsum("ab,tbd->tad", U, Wb)
        return cls(k, torch.as_tensor(W, dtype=dtype))

    def hidden(self, x):
        """x (T|1, B, C, n, n) → dbc(K)x flattened (T, B, C·n²)."""
        h = fourier.fft_depthwise_conv2d(x, self.k[:, None])
        return h.reshape(*h.shape[:2], -1)

    def predict(self, x, h=None):
        """ŷ (T, B, p); ``h``: :meth:`hidden` of ``x`` when already computed."""
        return torch.einsum("tpd,tbd->tbp", self.W, self.hidden(x) if h is None else h)

    def grads(self, x, e, h=None):
        """Descent directions for the loss ½Σ(y−ŷ)² averaged over B: (dk, dW); e = y − ŷ.
        ``h``: :meth:`hidden` of ``x`` when already computed (the same numbers, one FFT
        convolution less)."""
        h = self.hidden(x) if h is None else h
        B = h.shape[1]
        dW = torch.einsum("tbp,tbd->tpd", e, h) / B
        g = torch.einsum("tpd,tbp->tbd", self.W, e).reshape(*h.shape[:2], *self.k.shape[1:])
        xb = x.expand(g.shape) if x.shape != g.shape else x
        dk = fourier.fft_depthwise_conv2d(g, xb, mode="corr").sum(1) / B
        return dk, dW

    def apply(self, dk, dW, lr):
        self.k += lr * dk
        self.W += lr * dW

    def state(self):
        return {"k": self.k, "W": self.W}

    def spectrum(self):
        return kernel_spectrum(self.k)


@dataclass
class LinearFCNN:
    """ŷ = W² W¹ x with W¹ stored as ``M = W¹B`` (T, H, r) on the basis ``B`` (D, r)."""

    M: torch.Tensor
    W2: torch.Tensor
    B: torch.Tensor | None  # None: the identity (plain FCNN, M = W¹)

    @classmethod
    def random(cls, T, H, p, basis, sigma, generator, dtype=torch.float64):
        """W¹, W² ~ N(0, σ²); with orthonormal B, W¹B ~ N(0, σ²) exactly.

        ``basis``: (D, r) orthonormal columns, or an int D for the plain FCNN (B = I)."""
        B = None if isinstance(basis, int) else torch.as_tensor(basis, dtype=dtype)
        r = basis if B is None else B.shape[1]
        M = train.batched_normal(T, (H, r), sigma, generator=generator, dtype=dtype)
        W2 = train.batched_normal(T, (p, H), sigma, generator=generator, dtype=dtype)
        return cls(M, W2, B)

    @classmethod
    def aligned(cls, a0, Sxx, U, V, H, dtype=torch.float64):
        """SI I.1: W̄¹, W̄² diagonal with √(aα(0)/Σxx_αα) (so A(0) = diag a0), basis B = V."""
        a0 = np.asarray(a0)
        T, p = a0.shape
        w = np.sqrt(a0 / Sxx)
        M = np.zeros((T, H, p))
        M[:, np.arange(p), np.arange(p)] = w
        W2 = np.zeros((T, p, H))
        W2[:, :, :p] = U[None] * w[:, None, :]
        t = lambda a: torch.as_tensor(a, dtype=dtype)  # noqa: E731
        return cls(t(M), t(W2), t(V))

    def coords(self, x):
        x = x.reshape(*x.shape[:2], -1).to(self.M.dtype)
        return x if self.B is None else x @ self.B

    def hidden(self, x):
        """x (T|1, B, C, n, n) → W¹x (T, B, H)."""
        return torch.einsum("thr,tbr->tbh", self.M,
                            self.coords(x).expand(self.M.shape[0], -1, -1))

    def predict(self, x, h=None):
        """ŷ (T, B, p); ``h``: :meth:`hidden` of ``x`` when already computed."""
        h = self.hidden(x) if h is None else h
        return torch.einsum("tph,tbh->tbp", self.W2, h)

    def grads(self, x, e, h=None):
        """``h``: :meth:`hidden` of ``x`` when already computed (the same numbers, one
        product less)."""
        c = self.coords(x).expand(self.M.shape[0], -1, -1)
        h = torch.einsum("thr,tbr->tbh", self.M, c) if h is None else h
        Bn = h.shape[1]
        dW2 = torch.einsum("tbp,tbh->tph", e, h) / Bn
        g = torch.einsum("tph,tbp->tbh", self.W2, e)
        return (g / Bn, c), dW2  # dM = gᵀc / B, applied in place (no M-sized temporary)

    def apply(self, dM, dW2, lr):
        g, c = dM
        self.M.baddbmm_(g.transpose(1, 2), c, alpha=lr)
        self.W2 += lr * dW2

    def state(self):
        return {"M": self.M, "W2": self.W2}

    def rows(self, idx):
        """Rows of W¹ restricted to the data span: (T, len(idx), D)."""
        return self.M[:, idx] if self.B is None else self.M[:, idx] @ self.B.T


def train_twolayer(net, X, Y, *, lr, budget, mode="single", generator=None, loss="keras",
                   steps=None, X_eval=None, Y_eval=None, svd=None, n_eval=None,
                   record_spectrum=False, record_W=None, extra=None, threads=1,
                   desc="training", checkpoint=None):
    """Train ``net`` (LinearCNN or LinearFCNN) on ``X`` (N, C, n, n), ``Y`` (N, p).

    ``mode="single"``: each update uses one sample per trial, drawn uniformly (with one image
    per class: one class at random). ``mode="epoch"``: per trial a fresh random order each
    epoch (SI I.4). ``mode="mean"``: the average update over all N samples (the slow-learning
    limit's expectation). Loss (``loss``): ``"keras"`` = (1/p)Σ_l(y_l−ŷ_l)².
    Records at ``steps`` (default log-spaced): ``A`` (T, p, p) on ``svd`` (from
    :func:`freqlearn.theory.pinson.svd_yx` of the training set unless given), train ``loss``,
    ``test`` loss on ``(X_eval, Y_eval)`` if given, ``spec`` = |(Qk)_j|² (CNN) if asked,
    and ``W`` snapshots of the given hidden rows (FCNN) or of the kernel (CNN) if asked;
    ``counts`` (T, N): how often each sample was drawn so far (not in mode "mean");
    ``extra`` adds metrics (name → callable). Runs with ``threads`` torch threads (1: these
    tensors are small and thread overhead dominates), restoring the setting afterwards.
    ``checkpoint``: a path, ``False`` (none) or ``None`` (the automatic path of
    :func:`freqlearn.train.resolve_checkpoint`). Returns the :class:`freqlearn.train.Recorder`.
    """
    ck = train.resolve_checkpoint(checkpoint, "train_twolayer", key=dict(
        net=net.state(), X=np.asarray(X), Y=np.asarray(Y), lr=lr, budget=budget, mode=mode,
        generator=generator, loss=loss, steps=steps, X_eval=X_eval, Y_eval=Y_eval,
        n_eval=n_eval, spec=record_spectrum, record_W=record_W, extra=sorted(extra or {}),
        desc=desc))
    dt = net.W.dtype if isinstance(net, LinearCNN) else net.W2.dtype
    Xt = torch.as_tensor(np.asarray(X), dtype=dt)
    Yt = torch.as_tensor(np.asarray(Y), dtype=dt)
    N, p = Yt.shape
    T = (net.k if isinstance(net, LinearCNN) else net.M).shape[0]
    fac = th.LOSS_FACTORS[loss](p)
    if svd is None:
        svd = th.svd_yx(X, Y)
    Xa = Xt if n_eval is None else Xt[:n_eval]
    U, V = svd["U"], svd["V"]

    def preds(x):
        out = []
        for i in range(0, x.shape[0], 512):
            out.append(net.predict(x[None, i:i + 512]))
        return torch.cat(out, 1)

    def lossfn(x, y):
        yh = preds(x)
        return (((y[None] - yh) ** 2).sum(-1) / p).mean(-1)  # Keras MSE, per trial

    # A and the train loss need the same predictions at a record: made once per update
    done = [0]
    memo = {"at": -1, "yh": None}

    def preds_a():
        if memo["at"] != done[0]:
            memo["yh"], memo["at"] = preds(Xa), done[0]
        return memo["yh"]

    def loss_a():
        yh = preds_a()
        return (((Yt[:Xa.shape[0]][None] - yh) ** 2).sum(-1) / p).mean(-1)

    metrics = {"A": lambda: th.effective_A(preds_a().numpy(), Xa.numpy(), U, V),
               "loss": loss_a}
    if X_eval is not None:
        Xe = torch.as_tensor(np.asarray(X_eval), dtype=dt)
        Ye = torch.as_tensor(np.asarray(Y_eval), dtype=dt)
        metrics["test"] = lambda: lossfn(Xe, Ye)
    if record_spectrum and isinstance(net, LinearCNN):
        metrics["spec"] = net.spectrum
    if record_W is not None:
        if isinstance(net, LinearCNN):
            metrics["W"] = lambda: net.k.clone()
        else:
            metrics["W"] = lambda: net.rows(record_W)
    counts = torch.zeros(T, N, dtype=torch.long)
    if mode != "mean":
        metrics["counts"] = lambda: counts.clone()  # draws of each sample so far, per trial
    metrics.update(extra or {})
    rec = train.Recorder(metrics, train.log_steps(budget, 60) if steps is None else steps)
    state = {**net.state(), "counts": counts}  # everything a resumed run needs
    if mode == "epoch":  # this epoch's order, and whether it was drawn yet
        state.update(perm=torch.zeros(T, N, dtype=torch.long),
                     perm_ok=torch.zeros((), dtype=torch.bool))

    shared = type(net) in (LinearCNN, LinearFCNN)  # subclasses may memoise on their own

    def step(t):
        done[0] += 1          # the weights change: recorded predictions are stale
        memo["yh"] = None
        if mode == "mean":
            x, y = Xt[None], Yt[None]
        else:
            if mode == "epoch":
                e, i = divmod(t, N)
                if i == 0 or not state["perm_ok"]:
                    state["perm"].copy_(torch.argsort(torch.rand(T, N, generator=generator), 1))
                    state["perm_ok"].fill_(True)
                idx = state["perm"][:, i]
            else:
                idx = torch.randint(N, (T,), generator=generator)
            counts[torch.arange(T), idx] += 1
            x, y = Xt[idx][:, None], Yt[idx][:, None]
        if shared:  # the hidden layer once per update (the same numbers as twice)
            h = net.hidden(x)
            e = y - net.predict(x, h=h)
            g1, g2 = net.grads(x, e, h=h)
        else:
            e = y - net.predict(x)
            g1, g2 = net.grads(x, e)
        net.apply(g1, g2, lr * fac)

    gens = [generator] if generator is not None else []
    with train.threads(threads):
        return train.run(step, budget, recorder=rec, state=state, generators=gens,
                         desc=desc, checkpoint=ck)


# ------------------------------------------------------------------ deep CNNs (SI K)
def _glorot(shape, fan_in, fan_out, T, gen, scale=0.1):
    """Keras GlorotNormal: truncated normal (±2 sd) with sd √(2/(fan_in+fan_out)), ×scale."""
    sd = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
    w = torch.randn((T, *shape), generator=gen) * sd
    while True:
        bad = w.abs() > 2 * sd
        if not bad.any():
            break
        w[bad] = torch.randn(int(bad.sum()), generator=gen) * sd
    return (scale * w).requires_grad_(True)


class DeepCNN:
    """SI K's deep linear / ReLU CNN, ``T`` trials as groups of grouped convolutions."""

    def __init__(self, T, C, size, p=10, *, relu=False, channels=16, ksize=8, hidden=16,
                 generator=None, scale=0.1, device="cpu"):
        self.T, self.C, self.relu = T, C, relu
        chans = [C] + [channels] * 4
        self.convs, self.biases = [], []
        for i in range(4):
            ci, co = chans[i], chans[i + 1]
            w = _glorot((co, ci, ksize, ksize), ci * ksize ** 2, co * ksize ** 2, T, generator,
                        scale)
            self.convs.append(w)
            self.biases.append(torch.zeros(T, co, requires_grad=True))
        side = size // 4 if relu else size
        flat = channels * side * side
        self.fc1 = _glorot((flat, hidden), flat, hidden, T, generator, scale)
        self.b1 = torch.zeros(T, hidden, requires_grad=True)
        self.fc2 = _glorot((hidden, p), hidden, p, T, generator, scale)
        self.b2 = torch.zeros(T, p, requires_grad=True)
        self.device = torch.device(device)
        if self.device.type != "cpu":  # drawn on the CPU (same numbers), then moved
            moved = [t.detach().to(self.device).requires_grad_(True) for t in self.parameters()]
            self.convs, self.biases = moved[:4], moved[4:8]
            self.fc1, self.b1, self.fc2, self.b2 = moved[8:]

    def parameters(self):
        return [*self.convs, *self.biases, self.fc1, self.b1, self.fc2, self.b2]

    def forward(self, x):
        """x (B, C, H, W) shared by all trials → (T, B, p)."""
        import torch.nn.functional as F

        T = self.T
        h = x.repeat(1, T, 1, 1)  # (B, T·C, H, W)
        for i, (w, b) in enumerate(zip(self.convs, self.biases, strict=True)):
            kh = w.shape[-1]  # Keras "same": (k−1)//2 before, the rest after
            h = F.pad(h, ((kh - 1) // 2, kh // 2, (kh - 1) // 2, kh // 2))
            h = F.conv2d(h, w.reshape(-1, *w.shape[2:]), b.reshape(-1), groups=T)
            if self.relu:
                h = F.relu(h)
                if i in (1, 3):
                    h = F.max_pool2d(h, 2)
        B = h.shape[0]
        h = h.reshape(B, T, -1).transpose(0, 1)  # (T, B, flat)
        h = torch.baddbmm(self.b1[:, None], h, self.fc1)
        if self.relu:
            h = torch.relu(h)
        return torch.baddbmm(self.b2[:, None], h, self.fc2)


def train_deep(net: DeepCNN, train_set, test_set, *, batches, batch=8, lr=1e-3,
               eval_every=500, n_eval=5000, generator=None, desc="deep CNN", checkpoint=None,
               optimizer="adam"):
    """MSE (Keras), batch 8, ``optimizer`` ``"adam"`` or ``"sgd"`` (SI K names none).

    ``"adam"``: torch's Adam at ``lr`` (Keras' defaults, lr 1e-3). ``"sgd"``: plain
    mini-batch gradient descent θ ← θ − λ∇L, the dynamics the paper's theory describes;
    ``lr`` may then be one rate per trial (a sequence of length T), so a learning-rate
    sweep runs as one batched tensor. Every trial sees the same batches.
    Every ``eval_every`` batches records train/test loss on ≤ ``n_eval`` samples and A
    (Eq. 5) of the training subset. ``checkpoint``: a path, ``False`` or ``None`` (automatic,
    :func:`freqlearn.train.resolve_checkpoint`). Returns the Recorder.
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd'; got {optimizer!r}")
    lr_t = torch.as_tensor(np.asarray(lr, dtype=np.float32))
    if lr_t.ndim > 1 or (lr_t.ndim == 1 and (optimizer != "sgd" or len(lr_t) != net.T)) \
            or not bool(torch.all(torch.isfinite(lr_t) & (lr_t > 0))):
        raise ValueError(f"lr must be a positive rate (or, with optimizer='sgd', one per "
                         f"trial, length {net.T}); got {lr!r}")
    ck = train.resolve_checkpoint(checkpoint, "train_deep", key=dict(
        net=net.parameters(), relu=net.relu, x=np.asarray(train_set.x),
        y=np.asarray(train_set.y), test=np.asarray(test_set.x).shape, batches=batches,
        batch=batch, lr=lr, eval_every=eval_every, n_eval=n_eval, generator=generator,
        desc=desc, **({} if optimizer == "adam" else {"optimizer": optimizer})))
    dev = net.device
    xtr = torch.as_tensor(train_set.x).to(dev)
    ytr = torch.eye(len(train_set.classes))[torch.as_tensor(train_set.y)].to(dev)
    xte = torch.as_tensor(test_set.x[:n_eval]).to(dev)
    yte = torch.eye(len(test_set.classes))[torch.as_tensor(test_set.y[:n_eval])].to(dev)
    xev, yev = xtr[:n_eval], ytr[:n_eval]
    svd = th.svd_yx(train_set.x.astype(np.float64), ytr.cpu().numpy())
    params = net.parameters()
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=float(lr))
    else:  # plain SGD, one rate per trial (leading axis T of every parameter)
        rates = [lr_t.to(dev).reshape(-1, *([1] * (w.dim() - 1))) for w in params]
    N = len(xtr)
    perm = {"p": torch.zeros(N, dtype=torch.long), "e": torch.full((), -1)}  # epoch's order

    @torch.no_grad()
    def pred(x):
        return torch.cat([net.forward(x[i:i + 1000]) for i in range(0, len(x), 1000)], 1)

    def lossf(x, y):
        return ((pred(x) - y[None]) ** 2).mean(-1).mean(-1)

    rec = train.Recorder({
        "loss": lambda: lossf(xev, yev), "test": lambda: lossf(xte, yte),
        "A": lambda: th.effective_A(pred(xev).double().cpu().numpy(),
                                    xev.double().cpu().numpy(), svd["U"], svd["V"])},
        steps=list(range(0, batches + 1, eval_every)) + [batches])

    def step(t):
        e, i = divmod(t * batch, N)
        if int(perm["e"]) != e:
            perm["p"].copy_(torch.randperm(N, generator=generator))
            perm["e"].fill_(e)
        idx = perm["p"][i:i + batch].to(dev)
        yh = net.forward(xtr[idx])
        loss = ((yh - ytr[idx][None]) ** 2).mean(-1).mean(-1).sum()
        if optimizer == "adam":
            opt.zero_grad()
            loss.backward()
            opt.step()
            return
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, g, r in zip(params, grads, rates, strict=True):
                w.sub_(r * g)

    gens = [generator] if generator is not None else []
    state = {f"param{i}": w for i, w in enumerate(net.parameters())}
    if optimizer == "adam":
        state["adam"] = opt
    state.update(perm=perm["p"], perm_epoch=perm["e"])
    rec = train.run(step, batches, recorder=rec, state=state, generators=gens, desc=desc,
                    checkpoint=ck)
    rec.svd = svd
    return rec

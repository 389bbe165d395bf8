"""Models for the reconstruction of Ricci, Merger & Goldt (2026) (abstract only; catalog R1–R5).

- :class:`TwoLayer` — ``T`` independent two-layer networks in one tensor (trials and
  learning rates batched on axis 0), ``ŷ = Σ_k v_k σ(w_k·x) + b`` with ReLU σ, trained by
  online SGD on the square loss with hand-written gradients (no autograd: a step is a few
  batched matrix products, which keeps the Python overhead per step small).
- :class:`SmallCNN` — a small convolutional net (two conv layers, global average pool,
  linear read-out) for the natural-image probes of R1.
- :class:`MLP` — a two-layer fully connected classifier for R1 (plain torch module).
- :class:`ResNet18` — the CIFAR ResNet-18 (3×3 stem, four stages of two basic blocks) for
  the deep-CNN runs of R5 on CIFAR-100 (paper preset only).
"""

from __future__ import annotations

import math

import torch

from .blocks import BasicBlock

__all__ = ["TwoLayer", "SmallCNN", "MLP", "ResNet18"]


class TwoLayer:
    """``T`` two-layer nets of ``K`` ReLU units on ``D`` inputs, batched on axis 0.

    ``W`` ``(T, K, D)`` rows drawn N(0, 1/D) (unit-norm pre-activations for unit-variance
    inputs), ``v`` ``(T, K)`` drawn ±1/√K, read-out bias ``b`` ``(T,)`` = 0. ``lr`` is a
    tensor ``(T,)`` of per-net learning rates for ``W``; the read-out learns at
    ``lr_v = lr · lr_ratio``.
    """

    def __init__(self, T: int, K: int, D: int, *, generator=None, dtype=torch.float32,
                 device="cpu"):
        for name, v in (("T", T), ("K", K), ("D", D)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an integer ≥ 1; got {v!r}")
        kw = dict(generator=generator, dtype=dtype, device=device)
        self.W = torch.randn(T, K, D, **kw) / math.sqrt(D)
        self.v = (torch.randint(0, 2, (T, K), generator=generator, device=device)
                  .to(dtype) * 2 - 1) / math.sqrt(K)
        self.b = torch.zeros(T, dtype=dtype, device=device)
        self.T, self.K, self.D = T, K, D

    def preact(self, x):
        """``x`` ``(T, B, D)`` (per-net batches) or ``(B, D)`` (one shared set) → ``(T, B, K)``."""
        if x.dim() == 2:
            return torch.einsum("bd,tkd->tbk", x, self.W)
        return torch.bmm(x, self.W.transpose(1, 2))

    def forward(self, x):
        h = self.preact(x)
        return torch.einsum("tbk,tk->tb", torch.relu(h), self.v) + self.b[:, None]

    def accuracy(self, x, y):
        """Test accuracy ``(T,)`` on a shared set ``x`` ``(B, D)``, ``y`` ``(B,)`` in ±1."""
        return (torch.sign(self.forward(x)) == y[None]).to(torch.float64).mean(1)

    def sgd_step(self, x, y, lr, lr_ratio: float = 1.0):
        """One SGD step on ``½(ŷ − y)²`` averaged over the batch; ``x`` ``(T, B, D)``."""
        h = self.preact(x)
        a = torch.relu(h)
        e = torch.einsum("tbk,tk->tb", a, self.v) + self.b[:, None] - y   # (T, B)
        B = x.shape[1]
        g = (e[:, :, None] * (h > 0).to(h.dtype)) * self.v[:, None, :]   # (T, B, K)
        gW = torch.bmm(g.transpose(1, 2), x) / B
        gv = torch.einsum("tb,tbk->tk", e, a) / B
        self.W -= lr[:, None, None] * gW
        self.v -= (lr * lr_ratio)[:, None] * gv
        self.b -= (lr * lr_ratio) * e.mean(1)

    def overlap(self):
        """``max_k max_d w_kd² / |w_k|²`` per net: the order parameter (1 = on one pixel)."""
        W2 = self.W ** 2
        return (W2.amax(2) / W2.sum(2)).amax(1)


class MLP(torch.nn.Module):
    """Two-layer fully connected classifier: flatten → Linear(D, K) → ReLU → Linear(K, C)."""

    def __init__(self, D: int, K: int, C: int):
        super().__init__()
        self.fc1 = torch.nn.Linear(D, K)
        self.fc2 = torch.nn.Linear(K, C)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class SmallCNN(torch.nn.Module):
    """Conv(c_in→w, 3×3) → ReLU → MaxPool 2 → Conv(w→2w, 3×3) → ReLU → global mean → Linear."""

    def __init__(self, c_in: int, C: int, width: int = 16):
        super().__init__()
        self.c1 = torch.nn.Conv2d(c_in, width, 3, padding=1)
        self.c2 = torch.nn.Conv2d(width, 2 * width, 3, padding=1)
        self.fc = torch.nn.Linear(2 * width, C)

    def forward(self, x):
        h = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        h = torch.relu(self.c2(h)).mean(dim=(2, 3))
        return self.fc(h)


class ResNet18(torch.nn.Module):
    """CIFAR ResNet-18: conv3×3(c_in→w) → BN → ReLU, stages of two :class:`BasicBlock` at
    widths ``w, 2w, 4w, 8w`` (strides 1, 2, 2, 2), global average pool, Linear(8w, C)."""

    def __init__(self, c_in: int, C: int, width: int = 64):
        super().__init__()
        for name, v in (("c_in", c_in), ("C", C), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int; got {v!r}")
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(c_in, width, 3, 1, 1, bias=False),
                                        torch.nn.BatchNorm2d(width), torch.nn.ReLU())
        blocks, c = [], width
        for i, w in enumerate((width, 2 * width, 4 * width, 8 * width)):
            blocks += [BasicBlock(c, w, 1 if i == 0 else 2), BasicBlock(w, w)]
            c = w
        self.blocks = torch.nn.Sequential(*blocks)
        self.fc = torch.nn.Linear(c, C)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))

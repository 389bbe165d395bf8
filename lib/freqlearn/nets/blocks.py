"""Building blocks shared by the models of several chapters.

- :class:`BasicBlock` — the basic residual block of He et al.'s CIFAR ResNets, used by the
  ResNet-20/-56 of Godfrey et al. Fig. 6 (:mod:`freqlearn.nets.godfrey`) and by the hub
  ResNets of Chowers & Weiss (:mod:`freqlearn.nets.chowers`).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

__all__ = ["BasicBlock"]


class BasicBlock(nn.Module):
    """conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.

    The shortcut is the identity when ``stride == 1`` and ``c_in == c_out``, otherwise a
    1×1 projection (stride ``stride``) followed by batch norm ("option B" of He et al.).
    Convolutions carry no bias (batch norm follows each).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        for name, v in (("c_in", c_in), ("c_out", c_out), ("stride", stride)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int; got {v!r}")
        self.c1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(c_out)
        self.c2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(c_out)
        self.short = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(h)) + self.short(x))

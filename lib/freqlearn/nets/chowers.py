"""Models of Chowers & Weiss (2023), plain torch.

- :func:`vgg11_bn` — VGG11 with batch norm in its CIFAR form (the authors' code uses
  ``chenyaofo/pytorch-cifar-models`` ``cifar10_vgg11_bn``: cfg A, 3×3 convs with bias → BN →
  ReLU, five max-pools, classifier 512–512–classes with dropout), with a width multiplier and
  an adjustable first-layer width; ``freeze_first=True`` keeps the first conv at its random
  initialisation (Fig. 2).
- :func:`cifar_resnet` — a CIFAR ResNet (He et al. 2016, §4.2: 3×3 bias-free ``conv1``, three
  stages of basic blocks, depth 6n+2). The paper's Table 1 says "ResNet18", but the authors'
  hub offers only the CIFAR ResNet-20/32/44/56 (16-filter ``conv1``), so that is what is built
  here (default ResNet-20); ``width`` sets ``conv1``'s filters.
- :class:`LinearGAP` — the linear model of Thm. 4.2 / App. A (Eq. 8): K filters, global
  average pooling, a *fixed* sum over filters, ``ŷ(x) = Σ_k (1/J) Σ_j p_j(x)ᵀ w_k``; batched
  over independent trials (one filter bank per trial) for many label draws at once.

:func:`first_layer` returns the first conv of any of them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import BasicBlock

__all__ = ["VGG", "vgg11_bn", "vgg_bn", "CifarResNet", "cifar_resnet", "LinearGAP",
           "first_layer", "VGG11_CFG", "VGG_CFGS"]

#: VGG "A" configuration (VGG11), channels per conv, "M" = 2×2 max-pool
VGG11_CFG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
#: Simonyan & Zisserman's configurations A, B, D, E by depth (conv layers + 3 linear)
VGG_CFGS = {
    11: VGG11_CFG,
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}


def _pos_int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an integer ≥ {lo}; got {type(v).__name__} {v!r}")
    if v < lo:
        raise ValueError(f"{name} must be an integer ≥ {lo}; got {v}")
    return v


def _width(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ValueError(f"{name} must be a number > 0; got {v!r}")
    return float(v)


class VGG(nn.Module):
    """VGG-bn in the CIFAR form; ``features[0]`` is the first conv (3→``first``, 3×3, bias)."""

    def __init__(self, cfg=VGG11_CFG, *, n_classes: int = 10, width: float = 1.0,
                 first: int | None = None, first_stride: int = 1, freeze_first: bool = False,
                 in_channels: int = 3):
        super().__init__()
        n_classes = _pos_int("n_classes", n_classes)
        width = _width("width", width)
        first_stride = _pos_int("first_stride", first_stride)
        layers, c_in, k = [], _pos_int("in_channels", in_channels), 0
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                continue
            c = max(1, round(v * width))
            if k == 0 and first is not None:
                c = _pos_int("first", first)
            stride = first_stride if k == 0 else 1
            layers += [nn.Conv2d(c_in, c, 3, stride=stride, padding=1 if stride == 1 else 0),
                       nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in, k = c, k + 1
        self.features = nn.Sequential(*layers)
        h = max(1, round(512 * width))
        self.classifier = nn.Sequential(
            nn.Linear(c_in, h), nn.ReLU(True), nn.Dropout(),
            nn.Linear(h, h), nn.ReLU(True), nn.Dropout(), nn.Linear(h, n_classes))
        for m in self.modules():  # chenyaofo's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
        if freeze_first:
            for p in self.features[0].parameters():
                p.requires_grad_(False)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


def vgg11_bn(*, n_classes: int = 10, width: float = 1.0, first: int | None = None,
             first_stride: int = 1, freeze_first: bool = False) -> VGG:
    """VGG11-bn, CIFAR form. ``width`` scales every layer (1 = 64…512 channels); ``first``
    overrides the first conv's filters; ``first_stride`` = 3 gives non-overlapping 3×3
    patches (App. D.2)."""
    return VGG(VGG11_CFG, n_classes=n_classes, width=width, first=first,
               first_stride=first_stride, freeze_first=freeze_first)


def vgg_bn(depth: int = 11, *, n_classes: int = 10, width: float = 1.0,
           first: int | None = None, first_stride: int = 1,
           freeze_first: bool = False) -> VGG:
    """VGG-``depth``-bn in the CIFAR form (``depth`` ∈ 11, 13, 16, 19: configurations A, B, D,
    E); the VGGs "of different depths" of Fig. 2 / App. F."""
    if isinstance(depth, bool) or depth not in VGG_CFGS:
        raise ValueError(f"depth must be one of {sorted(VGG_CFGS)}; got {depth!r}")
    return VGG(VGG_CFGS[depth], n_classes=n_classes, width=width, first=first,
               first_stride=first_stride, freeze_first=freeze_first)


class CifarResNet(nn.Module):
    """CIFAR ResNet (depth 6n+2): ``conv1`` 3→``width`` 3×3 bias-free, stages of width
    ×1, ×2, ×4, global average pool, linear."""

    def __init__(self, depth: int = 20, *, width: int = 16, n_classes: int = 10,
                 freeze_first: bool = False):
        super().__init__()
        depth = _pos_int("depth", depth, 8)
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 (20, 32, 44, 56); got {depth}")
        n = (depth - 2) // 6
        width = _pos_int("width", width)
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        blocks, c_in = [], width
        for s, mult in enumerate((1, 2, 4)):
            for i in range(n):
                blocks.append(BasicBlock(c_in, width * mult, 2 if (s > 0 and i == 0) else 1))
                c_in = width * mult
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, _pos_int("n_classes", n_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if freeze_first:
            self.conv1.weight.requires_grad_(False)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def cifar_resnet(depth: int = 20, *, width: int = 16, n_classes: int = 10,
                 freeze_first: bool = False) -> CifarResNet:
    """CIFAR ResNet-``depth`` (the authors' hub nets; not ImageNet's ResNet18)."""
    return CifarResNet(depth, width=width, n_classes=n_classes, freeze_first=freeze_first)


def first_layer(net: nn.Module) -> nn.Conv2d:
    """The first conv of a :class:`VGG`, :class:`CifarResNet` or :class:`LinearGAP`."""
    if isinstance(net, VGG):
        return net.features[0]
    if isinstance(net, CifarResNet):
        return net.conv1
    if isinstance(net, LinearGAP):
        return net.conv
    raise TypeError(f"net must be a VGG, CifarResNet or LinearGAP; got {type(net).__name__}")


class LinearGAP(nn.Module):
    """Thm. 4.2's linear CNN, ``trials`` independent copies at once (Eq. 8).

    ``ŷ_b(x) = Σ_k mean_j p_j(x)ᵀ w_{b,k}`` for trial ``b`` (``K`` filters of ``C×s×s``, a
    valid conv with ``stride``, global average pooling, a fixed sum over the filters).
    ``forward`` returns ``(N, trials)``. Filters start N(0, σ²) (zero-mean, variance σ²I).
    """

    def __init__(self, K: int, *, trials: int = 1, size: int = 3, channels: int = 3,
                 stride: int = 1, sigma: float = 1e-3, generator: torch.Generator | None = None,
                 dtype=torch.float64):
        super().__init__()
        self.K = _pos_int("K", K)
        self.trials = _pos_int("trials", trials)
        self.stride = _pos_int("stride", stride)
        size, channels = _pos_int("size", size), _pos_int("channels", channels)
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma < 0:
            raise ValueError(f"sigma must be a number ≥ 0; got {sigma!r}")
        w = torch.randn(trials * K, channels, size, size, generator=generator, dtype=dtype)
        self.conv = nn.Conv2d(channels, trials * K, size, stride=stride, bias=False,
                              dtype=dtype)
        with torch.no_grad():
            self.conv.weight.copy_(sigma * w)

    @property
    def filters(self) -> torch.Tensor:
        """``(trials, K, C·s·s)`` flattened in (C, s, s) order."""
        return self.conv.weight.reshape(self.trials, self.K, -1)

    def forward(self, x):
        z = self.conv(x).mean(dim=(2, 3))  # (N, trials·K): global average pooling
        return z.reshape(-1, self.trials, self.K).sum(-1)

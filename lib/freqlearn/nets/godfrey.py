"""Models of Godfrey et al. (2022): ConvActually, MyrtleCNN and the CIFAR ResNets of Fig. 6.

**ConvActually** (§5, SI C.5 table (a)): ``depth`` blocks of [full-size ``H×W`` circular
convolution (``width`` channels, bias) → ReLU], then flatten → ``Linear(width·H·W → K)``.
**Depth = number of conv blocks** (the released code's ``cnn_actually(depth=d)`` builds
``d−1`` blocks, which makes depth 1 a linear classifier on pixels, ~40 % on CIFAR-10; the
paper's 57 % at depth 1 needs one conv block). In the notation of §3 the network has
``L = depth + 1`` layers (``L`` counts the readout). The convolutions run on the **FFT path**
(:func:`freqlearn.fourier.fft_conv2d`, ``O(C_in C_out HW)`` per image and frequency
instead of ``O(C_in C_out (HW)²)`` for ``conv2d`` with a 32×32 kernel);
:class:`ConvActuallyConv2d` computes the same function with ``conv2d`` (circular padding,
flipped kernel) and exists only for the speed comparison. Eq. 3.2 is a *convolution*;
PyTorch's ``padding='same'`` cross-correlation of the released code is the same family up to
a re-indexing of the (symmetrically initialised) kernel.

Init as the released code: ``kaiming_normal_`` (ReLU gain, fan-in) for kernels and readout,
PyTorch's default uniform for biases. The model normalises its [0, 1] input with the CIFAR
mean and std (``normalize=True``), so sensitivities are w.r.t. the raw image.
``linear=True`` drops the ReLUs (the linear variant; with ``bias=False`` and
``normalize=False`` it is the linear CNN of Eq. 3.1 used for Theorem 4.9).

**MyrtleCNN** (SI C.5 table (b)): conv3×3(3→c)+ReLU, then three [conv3×3(c·2^i → c·2^{i+1})
+ReLU+MaxPool2], global max-pool (``MaxPool(4)`` at 32×32), ``Linear(8c → K)``; **no batch
norm, no residual branches** (1,556,106 parameters at c = 64, as the table).

**ResNets of Fig. 6** ("CIFAR10 resnets from [Tea21]", MosaicML composer): :class:`ResNet9`
(Myrtle-style with batch norm and two residual blocks) and :class:`ResNetCIFAR` (He et al.'s
CIFAR ResNet-20/-56, widths 16/32/64, projection shortcuts).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import fourier
from .blocks import BasicBlock

__all__ = ["CIFAR_MEAN", "CIFAR_STD", "ConvActually", "ConvActuallyConv2d",
           "ConvActuallyEnsemble", "MyrtleCNN",
           "ResNet9", "ResNetCIFAR", "resnet", "count_parameters"]

CIFAR_MEAN = (125.307 / 255, 122.961 / 255, 113.8575 / 255)
CIFAR_STD = (51.5865 / 255, 50.847 / 255, 51.255 / 255)


def _int(v, name, lo=0):
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{name} must be an integer ≥ {lo}; got {v!r}")
    return v


class _Normalize(nn.Module):
    def __init__(self, channels: int, enabled: bool):
        super().__init__()
        mean = CIFAR_MEAN if channels == 3 else (sum(CIFAR_MEAN) / 3,) * channels
        std = CIFAR_STD if channels == 3 else (sum(CIFAR_STD) / 3,) * channels
        self.enabled = enabled
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        if not self.enabled:
            return x
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)


def _set_shape(net, depth, width, in_channels, size, n_classes, linear) -> None:
    """Check and set the shape arguments shared by :class:`ConvActually` and its ensemble."""
    net.depth = _int(depth, "depth")
    net.width = _int(width, "width", 1)
    net.in_channels = _int(in_channels, "in_channels", 1)
    net.size = _int(size, "size", 1)
    net.n_classes = _int(n_classes, "n_classes", 1)
    net.linear = bool(linear)


class ConvActually(nn.Module):
    """ConvActually with full-size circular kernels on the FFT path (see module docstring).

    ``forward(x)``: ``(B, in_channels, size, size)`` → ``(B, n_classes)`` logits.
    ``kernels()`` returns the spatial kernels ``[(C_out, C_in, H, W), …]`` and
    ``weights()`` adds the readout viewed as ``(K, width, H, W)`` — the list ``ws`` of
    :mod:`freqlearn.nets.dft` (so ``dft.effective_predictor(model.weights())`` is ``v̂``).
    """

    def __init__(self, depth: int = 4, *, width: int = 64, in_channels: int = 3,
                 size: int = 32, n_classes: int = 10, bias: bool = True, linear: bool = False,
                 normalize: bool = True, init_gain: float | None = None):
        super().__init__()
        _set_shape(self, depth, width, in_channels, size, n_classes, linear)
        self.norm = _Normalize(in_channels, bool(normalize))
        gain = math.sqrt(2.0) if init_gain is None else float(init_gain)
        self.w = nn.ParameterList()
        self.b = nn.ParameterList() if bias else None
        c = in_channels
        for _ in range(depth):
            fan_in = c * size * size
            self.w.append(nn.Parameter(torch.randn(width, c, size, size) * gain
                                       / math.sqrt(fan_in)))
            if bias:
                bound = 1 / math.sqrt(fan_in)
                self.b.append(nn.Parameter(torch.empty(width).uniform_(-bound, bound)))
            c = width
        self.readout = nn.Linear(c * size * size, n_classes, bias=bias)
        with torch.no_grad():
            self.readout.weight.normal_(0.0, gain / math.sqrt(c * size * size))

    @property
    def L(self) -> int:  # noqa: N802 (the paper's symbol)
        """Number of layers in the paper's sense (convolutions + readout)."""
        return self.depth + 1

    def kernels(self) -> list[torch.Tensor]:
        return list(self.w)

    def weights(self) -> list[torch.Tensor]:
        c = self.width if self.depth else self.in_channels
        return [*self.w, self.readout.weight.view(self.n_classes, c, self.size, self.size)]

    def _conv(self, z, w):
        return fourier.fft_conv2d(z, w, mode="conv")

    def features(self, x):
        z = self.norm(x)
        for k, w in enumerate(self.w):
            z = self._conv(z, w.to(z.dtype))
            if self.b is not None:
                z = z + self.b[k].to(z.dtype)[:, None, None]
            if not self.linear:
                z = torch.relu(z)
        return z

    def forward(self, x):
        if x.ndim != 4 or x.shape[1:] != (self.in_channels, self.size, self.size):
            raise ValueError(f"x must have shape (B, {self.in_channels}, {self.size}, "
                             f"{self.size}); got {tuple(x.shape)}")
        z = self.features(x)
        return F.linear(z.flatten(1), self.readout.weight.to(z.dtype),
                        None if self.readout.bias is None else self.readout.bias.to(z.dtype))


class ConvActuallyEnsemble(nn.Module):
    """``trials`` independent ConvActually nets (same shapes, own weights) run at once.

    ``forward(x)``: ``(T, B, in_channels, size, size)`` → ``(T, B, n_classes)``; the loss
    summed over trials gives each member its own gradient (the parameters are disjoint), so
    one optimizer step is ``T`` independent steps. Init as :class:`ConvActually` (Kaiming
    normal kernels and readout, uniform biases), drawn from ``generator``. The circular
    convolutions run in the Fourier domain; :meth:`member` returns trial ``t`` as a
    :class:`ConvActually` with the same weights (the same function, tested).
    """

    def __init__(self, trials: int, depth: int = 2, *, width: int = 8, in_channels: int = 1,
                 size: int = 8, n_classes: int = 10, linear: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.trials = _int(trials, "trials", 1)
        _set_shape(self, depth, width, in_channels, size, n_classes, linear)
        self.norm = _Normalize(in_channels, True)
        T, g, gain = self.trials, generator, math.sqrt(2.0)
        self.w = nn.ParameterList()
        self.b = nn.ParameterList()
        c = in_channels
        for _ in range(depth):
            fan_in = c * size * size
            self.w.append(nn.Parameter(torch.randn(T, width, c, size, size, generator=g)
                                       * gain / math.sqrt(fan_in)))
            u = torch.rand(T, width, generator=g)
            self.b.append(nn.Parameter((2 * u - 1) / math.sqrt(fan_in)))
            c = width
        f = c * size * size
        self.readout_weight = nn.Parameter(torch.randn(T, n_classes, f, generator=g)
                                           * gain / math.sqrt(f))
        self.readout_bias = nn.Parameter((2 * torch.rand(T, n_classes, generator=g) - 1)
                                         / math.sqrt(f))

    def forward(self, x):
        if x.ndim != 5 or x.shape[0] != self.trials or x.shape[2:] != (
                self.in_channels, self.size, self.size):
            raise ValueError(f"x must have shape ({self.trials}, B, {self.in_channels}, "
                             f"{self.size}, {self.size}); got {tuple(x.shape)}")
        z = self.norm(x.flatten(0, 1)).view(x.shape)
        hw = (self.size, self.size)
        for w, b in zip(self.w, self.b, strict=True):
            zf = torch.fft.rfft2(z).permute(0, 3, 4, 1, 2)          # (T, H, W', B, C)
            wf = torch.fft.rfft2(w.to(z.dtype)).permute(0, 3, 4, 2, 1)  # (T, H, W', C, O)
            z = torch.fft.irfft2((zf @ wf).permute(0, 3, 4, 1, 2), s=hw)
            z = z + b.to(z.dtype)[:, None, :, None, None]
            if not self.linear:
                z = torch.relu(z)
        return (torch.einsum("tbf,tkf->tbk", z.flatten(2), self.readout_weight.to(z.dtype))
                + self.readout_bias.to(z.dtype)[:, None])

    def member(self, t: int) -> ConvActually:
        """Trial ``t`` as a :class:`ConvActually` (same weights, same function)."""
        m = ConvActually(self.depth, width=self.width, in_channels=self.in_channels,
                         size=self.size, n_classes=self.n_classes, linear=self.linear)
        with torch.no_grad():
            for k in range(self.depth):
                m.w[k].copy_(self.w[k][t])
                m.b[k].copy_(self.b[k][t])
            m.readout.weight.copy_(self.readout_weight[t])
            m.readout.bias.copy_(self.readout_bias[t])
        return m


def flipped_kernel(w: torch.Tensor) -> torch.Tensor:
    """``k'[m] = k[−m mod H]``: conv2d (a cross-correlation) with ``k'`` is convolution with k."""
    return torch.roll(torch.flip(w, (-2, -1)), (1, 1), (-2, -1))


class ConvActuallyConv2d(ConvActually):
    """The same network computed with ``F.conv2d`` and circular padding (speed benchmark only).

    Never use it for training: a 32×32 kernel makes ``conv2d`` ~1000× the FFT path's work.
    """

    def _conv(self, z, w):
        H, W = z.shape[-2:]
        zp = F.pad(z, (0, W - 1, 0, H - 1), mode="circular")
        return F.conv2d(zp, flipped_kernel(w))


class MyrtleCNN(nn.Module):
    """Myrtle CNN of SI C.5 table (b), ``c`` base channels, no batch norm (see module doc)."""

    def __init__(self, c: int = 64, *, in_channels: int = 3, n_classes: int = 10,
                 normalize: bool = True):
        super().__init__()
        c = _int(c, "c", 1)
        self.norm = _Normalize(in_channels, bool(normalize))
        layers = [nn.Conv2d(in_channels, c, 3, padding=1), nn.ReLU()]
        for i in range(3):
            layers += [nn.Conv2d(c * 2**i, c * 2 ** (i + 1), 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveMaxPool2d(1)   # = MaxPool2d(4) on 32×32 inputs
        self.readout = nn.Linear(8 * c, n_classes)

    def forward(self, x):
        return self.readout(self.pool(self.body(self.norm(x))).flatten(1))


def _conv_bn(ci, co, pool=False):
    layers = [nn.Conv2d(ci, co, 3, padding=1, bias=False), nn.BatchNorm2d(co, momentum=0.9),
              nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class _Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.f = nn.Sequential(_conv_bn(c, c), _conv_bn(c, c))

    def forward(self, x):
        return x + self.f(x)


class ResNet9(nn.Module):
    """composer's CIFAR ResNet-9 (Myrtle-style; batch norm with PyTorch momentum 0.9 as there)."""

    def __init__(self, *, width: int = 64, in_channels: int = 3, n_classes: int = 10,
                 normalize: bool = True):
        super().__init__()
        w = _int(width, "width", 1)
        self.norm = _Normalize(in_channels, bool(normalize))
        self.body = nn.Sequential(
            _conv_bn(in_channels, w), _conv_bn(w, 2 * w, pool=True), _Residual(2 * w),
            _conv_bn(2 * w, 4 * w, pool=True), _conv_bn(4 * w, 4 * w, pool=True),
            _Residual(4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.readout = nn.Linear(4 * w, n_classes)

    def forward(self, x):
        return self.readout(self.body(self.norm(x)))


class ResNetCIFAR(nn.Module):
    """He et al.'s CIFAR ResNet (depth = 6n+2: 20, 56, …), widths ``width·(1, 2, 4)``."""

    def __init__(self, depth: int = 20, *, width: int = 16, in_channels: int = 3,
                 n_classes: int = 10, normalize: bool = True):
        super().__init__()
        depth = _int(depth, "depth", 8)
        if (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 (20, 32, 44, 56, …); got {depth}")
        n = (depth - 2) // 6
        self.norm = _Normalize(in_channels, bool(normalize))
        layers = [nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                  nn.ReLU()]
        c = width
        for s, co in enumerate((width, 2 * width, 4 * width)):
            for k in range(n):
                layers.append(BasicBlock(c, co, 2 if (k == 0 and s > 0) else 1))
                c = co
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.readout = nn.Linear(c, n_classes)

    def forward(self, x):
        return self.readout(self.body(self.norm(x)))


def resnet(depth: int, **kw) -> nn.Module:
    """ResNet-9 (:class:`ResNet9`) or ResNet-20/-56 (:class:`ResNetCIFAR`) by depth."""
    return ResNet9(**kw) if depth == 9 else ResNetCIFAR(depth, **kw)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

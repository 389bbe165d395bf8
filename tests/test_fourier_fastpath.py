"""The fast path of ``fourier.fft_conv2d`` (issue 13, performance) against its definitions.

The optimised path (2-D transposes, a custom backward of ``rfft2``, conjugations moved off
``bmm``, batch slices on a CPU) must give the numbers of the plain expression
``irfft2(rfft2(x) @ rfft2(w))`` — forward and gradients — in float64 to 1e-10, and the
direct O(n⁴) definition; float32 to 1e-6 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqlearn import fourier as ff

TOL = 1e-10


def plain(x, w, mode):
    """The reference: torch's own ops and autograd, no custom Function, no layout tricks."""
    H, W = x.shape[-2:]
    X = torch.fft.rfft2(x)
    K = torch.fft.rfft2(w, s=(H, W))
    if mode == "corr":
        K = K.conj()
    Y = torch.einsum("...bihw,...oihw->...bohw", X, K)
    return torch.fft.irfft2(Y, s=(H, W))


def direct(x, w, mode):
    """out[b, o] = Σ_i x[b, i] ⊛/⋆ w[o, i] by the O(n⁴) definition (numpy, float64)."""
    op = ff.conv2d_direct if mode == "conv" else ff.corr2d_direct
    H, W = x.shape[-2:]
    wp = np.zeros(w.shape[:-2] + (H, W))
    wp[..., :w.shape[-2], :w.shape[-1]] = w
    return op(x[..., :, None, :, :, :], wp[..., None, :, :, :, :]).sum(axis=-3)


CASES = [  # x shape, w shape
    ((3, 2, 8, 8), (4, 2, 8, 8)),
    ((2, 2, 6, 5), (3, 2, 6, 5)),        # odd width: no Nyquist column
    ((3, 2, 8, 6), (4, 2, 3, 2)),        # small kernels, zero-padded
    ((2, 3, 2, 7, 9), (3, 1, 4, 2, 3, 4)),  # leading axes that broadcast both ways
    ((1, 1, 1, 1), (1, 1, 1, 1)),
    ((2, 1, 4, 2), (1, 1, 4, 2)),        # W = 2: DC and Nyquist only
]


@pytest.mark.parametrize("mode", ["conv", "corr"])
@pytest.mark.parametrize("xs,ws", CASES)
def test_forward_and_gradients_equal_plain_expression(xs, ws, mode):
    g = torch.Generator().manual_seed(sum(xs) + sum(ws))
    x = torch.randn(*xs, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*ws, generator=g, dtype=torch.float64, requires_grad=True)
    y, y0 = ff.fft_conv2d(x, w, mode=mode), plain(x, w, mode)
    assert y.shape == y0.shape
    torch.testing.assert_close(y, y0, atol=TOL, rtol=0)
    np.testing.assert_allclose(y.detach().numpy(),
                               direct(x.detach().numpy(), w.detach().numpy(), mode), atol=TOL)
    G = torch.randn(y.shape, generator=g, dtype=torch.float64)  # not Hermitian-friendly
    got = torch.autograd.grad((y * G).sum(), (x, w))
    ref = torch.autograd.grad((y0 * G).sum(), (x, w))
    for a, b in zip(got, ref, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, atol=TOL, rtol=0)


@pytest.mark.parametrize("mode", ["conv", "corr"])
def test_gradcheck_through_kernel_hat_and_user_layout(mode):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w: ff.fft_conv2d(x, w_hat=ff.kernel_hat(w), mode=mode), (x, w))
    # a transform stored in the plain (…, Ci, Co)-contiguous layout works the same
    wh = ff.kernel_hat(w.detach())
    wh2 = ff.SpectralKernel(hat=wh.hat.contiguous(), size=(6, 7), c_in=3, c_out=4)
    assert torch.autograd.gradcheck(lambda x: ff.fft_conv2d(x, w_hat=wh2, mode=mode), (x,))
    torch.testing.assert_close(ff.fft_conv2d(x, w_hat=wh2, mode=mode),
                               ff.fft_conv2d(x, w_hat=wh, mode=mode), atol=TOL, rtol=0)


@pytest.mark.parametrize("shape,s", [((3, 5, 7), (5, 7)), ((2, 3, 4), (6, 9)),
                                     ((4, 4), (4, 4)), ((3, 3), (8, 8)), ((2, 1, 1), (1, 1))])
def test_rfft2_backward_equals_torch(shape, s):
    g = torch.Generator().manual_seed(len(shape) + s[0])
    z = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    out = ff._Rfft2.apply(z, *s)
    ref = torch.fft.rfft2(z, s=s)
    torch.testing.assert_close(out, ref, atol=0, rtol=0)
    G = torch.randn(out.shape, generator=g, dtype=torch.complex128)
    (a,) = torch.autograd.grad((out * G.conj()).real.sum(), z)
    (b,) = torch.autograd.grad((ref * G.conj()).real.sum(), z)
    torch.testing.assert_close(a, b, atol=TOL, rtol=0)


@pytest.mark.parametrize("mode", ["conv", "corr"])
def test_batch_slices_give_the_same_images(mode, monkeypatch):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(11, 3, 8, 8, generator=g, dtype=torch.float64)
    w = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64)
    whole = ff.fft_conv2d(x, w, mode=mode)
    monkeypatch.setattr(ff, "_CHUNK_BYTES", 1)  # one image per slice
    with torch.no_grad():
        sliced = ff.fft_conv2d(x, w, mode=mode)
    torch.testing.assert_close(sliced, whole, atol=TOL, rtol=0)
    np.testing.assert_allclose(sliced.numpy(), direct(x.numpy(), w.numpy(), mode), atol=TOL)


def test_float32_matches_float64_and_kernel_hat_values():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(16, 8, 16, 16, generator=g)
    w = torch.randn(8, 8, 16, 16, generator=g) / 16
    y32 = ff.fft_conv2d(x, w, mode="corr")
    y64 = ff.fft_conv2d(x.double(), w.double(), mode="corr")
    assert y32.dtype == torch.float32
    assert float((y32.double() - y64).abs().max() / y64.abs().max()) < 1e-6
    ref = torch.fft.rfft2(w).movedim((-4, -3), (-1, -2))  # (H, Wr, Ci, Co)
    torch.testing.assert_close(ff.kernel_hat(w).hat, ref, atol=0, rtol=0)


def test_transpose_helper_on_every_dtype():
    for dt in (torch.float32, torch.float64, torch.complex64, torch.complex128):
        t = torch.randn(7, 5, dtype=dt)
        torch.testing.assert_close(ff._transpose_last2(t), t.t().contiguous(), atol=0, rtol=0)
        t3 = torch.randn(2, 7, 5, dtype=dt)
        torch.testing.assert_close(ff._transpose_last2(t3), t3.mT.contiguous(), atol=0, rtol=0)
